//! Broker outage mid-stream, against a private tansu broker with durable (SQLite) storage: while
//! it is down the sender gets `AR` (never `AA`); after it returns, every message that got `AA`
//! is in the topic. Zero acknowledged messages lost.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connector_hl7::SourceKind;
use hub_kafka::KafkaSettings;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_test_utils::random_name;

use crate::support::{Client, Running, adt, listener, msa, settings};

/// The tansu binary: `HUB_TANSU_BIN`, else the setup script's cache.
fn tansu_bin() -> PathBuf {
    std::env::var_os("HUB_TANSU_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/county-health-hub/tansu-0.6.0/bin/tansu")
        })
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A tansu broker on `port` storing in `dir/broker.db`.
struct Broker {
    child: Child,
}

impl Broker {
    fn start(dir: &Path, port: u16) -> anyhow::Result<Self> {
        let bin = tansu_bin();
        anyhow::ensure!(
            bin.exists(),
            "tansu not found at {} (set HUB_TANSU_BIN)",
            bin.display()
        );
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("broker.log"))?;
        let url = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(bin)
            .current_dir(dir)
            .args([
                "broker",
                "--cluster-id",
                "hl7-outage",
                "--listener-url",
                &url,
            ])
            .args([
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                "sqlite://broker.db",
            ])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(Instant::now() < deadline, "tansu did not open port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { child })
    }

    /// Kills the broker hard (no clean shutdown).
    fn kill(mut self) -> anyhow::Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `id` and returns MSA-1 (or `"none"` when the connection failed or timed out).
async fn send(client: &mut Client, id: &str) -> String {
    match client.call(&adt(id)).await {
        Ok(ack) => msa(&ack).0,
        Err(_) => "none".to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_outage_loses_no_acknowledged_message() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(random_name("hl7-outage"));
    std::fs::create_dir_all(&dir)?;
    let port = free_port()?;
    let bootstrap = format!("127.0.0.1:{port}");
    let broker = Broker::start(&dir, port)?;

    let mut s = settings(&bootstrap, vec![listener("H8", SourceKind::His)]);
    s.kafka.message_timeout_ms = 2000;
    let connector = Running::start(s).await?;
    let topic = connector.topic(0);
    let mut client = Client::connect(connector.addrs[0]).await?;
    let mut acked = BTreeSet::new();
    let mut outcomes = Vec::new();

    for i in 0..20 {
        let id = format!("UP{i:03}");
        let code = send(&mut client, &id).await;
        assert_eq!(code, "AA", "{id} before the outage");
        acked.insert(id);
    }

    broker.kill()?;
    for i in 0..4 {
        let id = format!("DOWN{i:03}");
        let code = send(&mut client, &id).await;
        assert_ne!(
            code, "AA",
            "{id} was acknowledged while the broker was down"
        );
        if code == "AA" {
            acked.insert(id.clone());
        }
        outcomes.push((id, code));
    }
    assert!(outcomes.iter().any(|(_, c)| c == "AR"), "{outcomes:?}");

    let _broker = Broker::start(&dir, port)?;
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut streak = 0;
    let mut i = 0;
    while streak < 20 {
        anyhow::ensure!(
            Instant::now() < deadline,
            "no recovery after the broker restart: {outcomes:?}"
        );
        let id = format!("BACK{i:03}");
        i += 1;
        let code = send(&mut client, &id).await;
        if code == "none" {
            client = Client::connect(connector.addrs[0]).await?;
        }
        if code == "AA" {
            streak += 1;
            acked.insert(id.clone());
        } else {
            streak = 0;
        }
        outcomes.push((id, code));
    }
    eprintln!("outcomes during and after the outage: {outcomes:?}");

    // Every acknowledged message is in the topic.
    let settings = KafkaSettings::with_bootstrap(&bootstrap);
    let consumer = HubConsumer::subscribe(
        &settings,
        "test",
        &random_name("outage"),
        &[topic.as_str()],
        Isolation::ReadUncommitted,
    )?;
    let mut missing: BTreeSet<String> = acked.iter().map(|id| format!("H8:{id}")).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !missing.is_empty() {
        let Ok(message) = tokio::time::timeout_at(deadline, consumer.recv()).await else {
            break;
        };
        let message = message?;
        let key = String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned();
        missing.remove(&key);
    }
    assert!(
        missing.is_empty(),
        "acknowledged but not stored: {missing:?}"
    );
    connector.stop().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
