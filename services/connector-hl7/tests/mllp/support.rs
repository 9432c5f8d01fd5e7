//! Shared test support: start the connector in-process on port 0 with random topics, a small
//! MLLP client, ACK parsing, and reading topics back with the hub's consumer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use bytes::{Buf, BytesMut};
use connector_hl7::{Connector, ListenerSettings, RunError, Settings, SourceKind};
use hub_kafka::KafkaSettings;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_kafka::rdkafka::message::Headers;
use hub_telemetry::Telemetry;
use hub_test_utils::random_name;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A listener with a random raw topic on port 0.
pub fn listener(facility: &str, source: SourceKind) -> ListenerSettings {
    let mut l = ListenerSettings::new("127.0.0.1:0", facility, source);
    l.topic = Some(random_name(&format!("test.raw.{}", source.as_str())));
    l.read_timeout_secs = 5;
    l
}

/// Settings for `listeners` against `bootstrap`, with a random DLQ topic.
pub fn settings(bootstrap: &str, listeners: Vec<ListenerSettings>) -> Settings {
    Settings {
        admin_listen: "127.0.0.1:0".into(),
        kafka: KafkaSettings::with_bootstrap(bootstrap),
        dlq_topic: random_name("test.dlq.connector-hl7"),
        topic_partitions: 2,
        shutdown_grace_secs: 10,
        listeners,
        ..Settings::default()
    }
}

/// A connector running in the background.
pub struct Running {
    /// MLLP addresses, in listener order.
    pub addrs: Vec<SocketAddr>,
    /// The metrics registry.
    pub telemetry: Telemetry,
    /// The settings it runs with.
    pub settings: Settings,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RunError>>>,
}

impl Running {
    /// Binds and runs `settings`.
    pub async fn start(settings: Settings) -> anyhow::Result<Self> {
        hub_telemetry::init_tracing(hub_telemetry::LogFormat::Plain);
        let connector = Connector::bind(settings.clone()).await?;
        let addrs = connector.mllp_addrs();
        let telemetry = connector.telemetry().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(connector.run(async {
            let _ = stopped.await;
        }));
        Ok(Self {
            addrs,
            telemetry,
            settings,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The raw topic of listener `i`.
    pub fn topic(&self, i: usize) -> String {
        self.settings.listeners[i].topic()
    }

    /// Asks the connector to stop and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(Duration::from_secs(60), task).await???;
        }
        Ok(())
    }

    /// Sum of a metric's samples whose labels include every `(name, value)` of `labels`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let mut total = 0.0;
        for family in self.telemetry.registry().gather() {
            if family.name() != name {
                continue;
            }
            for m in family.get_metric() {
                let matches = labels.iter().all(|(k, v)| {
                    m.get_label()
                        .iter()
                        .any(|l| l.name() == *k && l.value() == *v)
                });
                if matches {
                    total += m.get_counter().get_value() + m.get_gauge().get_value();
                    total += m.get_histogram().get_sample_count() as f64;
                }
            }
        }
        total
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A minimal MLLP client (the interop test uses a third-party one).
pub struct Client {
    /// The socket.
    pub stream: TcpStream,
    buf: BytesMut,
}

impl Client {
    /// Connects to `addr`.
    pub async fn connect(addr: SocketAddr) -> anyhow::Result<Self> {
        Ok(Self {
            stream: TcpStream::connect(addr).await?,
            buf: BytesMut::new(),
        })
    }

    /// Sends one framed message without waiting.
    pub async fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(&frame(message)).await?;
        Ok(())
    }

    /// Reads one response frame (its body), or `None` if the server closed the connection.
    pub async fn recv(&mut self, timeout: Duration) -> anyhow::Result<Option<Vec<u8>>> {
        tokio::time::timeout(timeout, async {
            loop {
                if let Some(start) = self.buf.iter().position(|&b| b == 0x0b)
                    && let Some(end) = self.buf[start..].iter().position(|&b| b == 0x1c)
                {
                    let body = self.buf[start + 1..start + end].to_vec();
                    self.buf.advance((start + end + 2).min(self.buf.len()));
                    return Ok(Some(body));
                }
                if self.stream.read_buf(&mut self.buf).await? == 0 {
                    return Ok(None);
                }
            }
        })
        .await
        .context("no ACK in time")?
    }

    /// Sends `message` and returns its ACK.
    pub async fn call(&mut self, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.send(message).await?;
        match self.recv(Duration::from_secs(30)).await? {
            Some(ack) => Ok(ack),
            None => bail!("connection closed instead of an ACK"),
        }
    }
}

/// `message` in an MLLP frame.
pub fn frame(message: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(message.len() + 3);
    v.push(0x0b);
    v.extend_from_slice(message);
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

/// Field `n` (1-based) of the first segment named `name` of an ACK (separator `|`).
pub fn field(ack: &[u8], name: &str, n: usize) -> String {
    let text = String::from_utf8_lossy(ack);
    text.split(['\r', '\n'])
        .find(|s| s.starts_with(name))
        .and_then(|s| s.split('|').nth(n))
        .unwrap_or_default()
        .to_owned()
}

/// MSA-1 and MSA-2 of an ACK.
pub fn msa(ack: &[u8]) -> (String, String) {
    (field(ack, "MSA", 1), field(ack, "MSA", 2))
}

/// A record read back from a topic.
#[derive(Debug, Clone)]
pub struct Record {
    /// Key as text.
    pub key: String,
    /// Value bytes.
    pub value: Vec<u8>,
    /// Headers as text.
    pub headers: BTreeMap<String, String>,
}

/// Reads `topic` from the beginning until `count` records arrived or `timeout` passed.
pub async fn consume(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> anyhow::Result<Vec<Record>> {
    let settings = KafkaSettings::with_bootstrap(bootstrap);
    let group = random_name("test-hl7-reader");
    let consumer = HubConsumer::subscribe(
        &settings,
        "test",
        &group,
        &[topic],
        Isolation::ReadUncommitted,
    )?;
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < count {
        let Ok(message) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            break;
        };
        let message = message?;
        let mut headers = BTreeMap::new();
        if let Some(h) = message.headers() {
            for header in h.iter() {
                let value = String::from_utf8_lossy(header.value.unwrap_or_default()).into_owned();
                headers.insert(header.key.to_owned(), value);
            }
        }
        out.push(Record {
            key: String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
            value: message.payload().unwrap_or_default().to_vec(),
            headers,
        });
    }
    Ok(out)
}

/// A minimal valid message with control id `id`.
pub fn adt(id: &str) -> Vec<u8> {
    format!(
        "MSH|^~\\&|HIS|H001|HUB|COUNTY|20240501083000||ADT^A01^ADT_A01|{id}|P|2.5.1\rEVN|A01|20240501083000\rPID|1||MRN{id}^^^H001^MR||TEST^PATIENT||19800101|M\rPV1|1|O\r"
    )
    .into_bytes()
}
