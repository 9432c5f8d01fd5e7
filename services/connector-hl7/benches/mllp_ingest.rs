//! MLLP ingest benchmark (not a test): commit-then-ACK throughput and latency of the connector
//! against a real broker, and a bare rdkafka producer with the same payloads as the ceiling.
//!
//! `cargo bench -p connector-hl7 --bench mllp_ingest` against `HUB_BENCH_KAFKA` (default
//! `127.0.0.1:19092`, the broker `scripts/hub test` starts). Loopback only; each phase is bounded
//! in messages and time. Senders work in original mode: each waits for its ACK before sending the
//! next message. Figures are printed and written to `target/bench/mllp_ingest.txt`.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs
)]

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use connector_hl7::{Connector, ListenerSettings, Settings, SourceKind};
use hdrhistogram::Histogram;
use hub_kafka::KafkaSettings;
use hub_kafka::rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PHASE_MAX_MESSAGES: u64 = 60_000;
const PHASE_MAX_TIME: Duration = Duration::from_secs(8);
const PACED_RATE: u64 = 1_000;
const PACED_TIME: Duration = Duration::from_secs(6);

/// A 1-2 KB ORU^R01 with control id `id`; the size varies with `n`.
fn message(id: &str, n: u64) -> Vec<u8> {
    let mut m = format!(
        "MSH|^~\\&|LIS|H21028100001|HUB|COUNTY|20240501101500||ORU^R01^ORU_R01|{id}|P|2.5.1\r\
PID|1||MRN{n:06}^^^H21028100001^MR||TEST^PATIENT||19800101|M\rOBR|1|ORD{n}|LIS{n}|CBC^Complete blood count^LOCAL|||20240501090000\r"
    );
    let target = 1024 + (n % 1024) as usize;
    let mut i = 1;
    while m.len() < target {
        let _ = write!(
            m,
            "OBX|{i}|NM|T{i:03}^Test {i}^LOCAL||{}.{}|mmol/L|3.5-5.3|N|||F\r",
            i % 9 + 1,
            n % 10
        );
        i += 1;
    }
    m.into_bytes()
}

struct Conn {
    stream: TcpStream,
    buf: BytesMut,
    out: Vec<u8>,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            buf: BytesMut::with_capacity(4096),
            out: Vec::with_capacity(4096),
        }
    }

    /// Sends one message and waits for its ACK; returns whether it was AA.
    async fn call(&mut self, message: &[u8]) -> bool {
        self.out.clear();
        self.out.push(0x0b);
        self.out.extend_from_slice(message);
        self.out.extend_from_slice(&[0x1c, 0x0d]);
        self.stream.write_all(&self.out).await.unwrap();
        loop {
            if let Some(end) = self.buf.iter().position(|&b| b == 0x1c) {
                let ok = self.buf[..end].windows(7).any(|w| w == b"\rMSA|AA");
                self.buf.advance((end + 2).min(self.buf.len()));
                return ok;
            }
            assert!(
                self.stream.read_buf(&mut self.buf).await.unwrap() > 0,
                "connection closed"
            );
        }
    }
}

struct Figures {
    sent: u64,
    elapsed: Duration,
    latency: Histogram<u64>,
}

impl Figures {
    fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64()
    }
    fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap()
}

/// `senders` connections, each sending and waiting for its ACK, until the phase bound.
async fn closed_loop(addr: SocketAddr, senders: u64, tag: &str) -> Figures {
    let started = Instant::now();
    let per_sender = PHASE_MAX_MESSAGES / senders;
    let mut tasks = Vec::new();
    for s in 0..senders {
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await;
            let mut h = histogram();
            let mut sent = 0;
            while sent < per_sender && started.elapsed() < PHASE_MAX_TIME {
                let n = s * per_sender + sent;
                let m = message(&format!("{tag}-{s}-{sent}"), n);
                let t = Instant::now();
                assert!(conn.call(&m).await, "not AA");
                h.record(t.elapsed().as_micros() as u64).unwrap();
                sent += 1;
            }
            (sent, h)
        }));
    }
    let mut figures = Figures {
        sent: 0,
        elapsed: Duration::ZERO,
        latency: histogram(),
    };
    for task in tasks {
        let (sent, h) = task.await.unwrap();
        figures.sent += sent;
        figures.latency.add(h).unwrap();
    }
    figures.elapsed = started.elapsed();
    figures
}

/// A fixed total rate spread over 16 connections; latency counted from each scheduled send
/// time (no coordinated omission).
async fn paced(addr: SocketAddr, tag: &str) -> Figures {
    let senders = 16;
    let interval = Duration::from_micros(1_000_000 * senders / PACED_RATE);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let tag = tag.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::connect(addr).await;
            let mut h = histogram();
            let offset = interval * s as u32 / senders as u32;
            let mut next = tokio::time::Instant::now() + offset;
            let mut sent = 0u64;
            while started.elapsed() < PACED_TIME {
                tokio::time::sleep_until(next).await;
                let m = message(&format!("{tag}-{s}-{sent}"), sent);
                assert!(conn.call(&m).await, "not AA");
                h.record(next.elapsed().as_micros() as u64).unwrap();
                next += interval;
                sent += 1;
            }
            (sent, h)
        }));
    }
    let mut figures = Figures {
        sent: 0,
        elapsed: Duration::ZERO,
        latency: histogram(),
    };
    for task in tasks {
        let (sent, h) = task.await.unwrap();
        figures.sent += sent;
        figures.latency.add(h).unwrap();
    }
    figures.elapsed = started.elapsed();
    figures
}

/// The ceiling: a bare rdkafka idempotent acks=all producer, `senders` tasks each producing and
/// awaiting one record at a time (`senders == 0`: everything enqueued at once, then awaited).
async fn bare(producer: &FutureProducer, topic: &str, senders: u64) -> Figures {
    let started = Instant::now();
    let mut figures = Figures {
        sent: 0,
        elapsed: Duration::ZERO,
        latency: histogram(),
    };
    if senders == 0 {
        let payloads: Vec<Vec<u8>> = (0..20_000)
            .map(|n| message(&format!("bulk-{n}"), n))
            .collect();
        let mut pending = Vec::new();
        for (n, p) in payloads.iter().enumerate() {
            let key = format!("H:bulk-{n}");
            pending.push((
                Instant::now(),
                producer
                    .send_result(FutureRecord::to(topic).key(&key).payload(p))
                    .unwrap(),
            ));
        }
        for (t, d) in pending {
            d.await.unwrap().unwrap();
            figures
                .latency
                .record(t.elapsed().as_micros() as u64)
                .unwrap();
            figures.sent += 1;
        }
        figures.elapsed = started.elapsed();
        return figures;
    }
    let per_sender = PHASE_MAX_MESSAGES / senders;
    let mut tasks = Vec::new();
    for s in 0..senders {
        let producer = producer.clone();
        let topic = topic.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut h = histogram();
            let mut sent = 0;
            while sent < per_sender && started.elapsed() < PHASE_MAX_TIME {
                let n = s * per_sender + sent;
                let payload = message(&format!("bare-{s}-{sent}"), n);
                let key = format!("H:bare-{s}-{sent}");
                let t = Instant::now();
                producer
                    .send(
                        FutureRecord::to(&topic).key(&key).payload(&payload),
                        Duration::from_secs(30),
                    )
                    .await
                    .unwrap();
                h.record(t.elapsed().as_micros() as u64).unwrap();
                sent += 1;
            }
            (sent, h)
        }));
    }
    for task in tasks {
        let (sent, h) = task.await.unwrap();
        figures.sent += sent;
        figures.latency.add(h).unwrap();
    }
    figures.elapsed = started.elapsed();
    figures
}

fn line(out: &mut String, label: &str, f: &Figures) {
    let text = format!(
        "{label:<44} {:>9.0} msg/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} msgs in {:.1} s)",
        f.rate(),
        f.ms(0.5),
        f.ms(0.99),
        f.sent,
        f.elapsed.as_secs_f64()
    );
    println!("{text}");
    out.push_str(&text);
    out.push('\n');
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let bootstrap = std::env::var("HUB_BENCH_KAFKA").unwrap_or_else(|_| "127.0.0.1:19092".into());
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    );
    let topic = format!("bench.raw.lab.hl7v2.{run}");
    let mut listener = ListenerSettings::new("127.0.0.1:0", "H21028100001", SourceKind::Lab);
    listener.topic = Some(topic.clone());
    let settings = Settings {
        admin_listen: "127.0.0.1:0".into(),
        kafka: KafkaSettings::with_bootstrap(&bootstrap),
        dlq_topic: format!("bench.dlq.connector-hl7.{run}"),
        listeners: vec![listener],
        ..Settings::default()
    };
    let connector = Connector::bind(settings).await.expect("connector binds");
    let addr = connector.mllp_addrs()[0];
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let service = tokio::spawn(connector.run(async {
        let _ = stopped.await;
    }));

    let mut out = format!(
        "MLLP ingest (commit-then-ACK) against {bootstrap}, 1-2 KB ORU^R01, {} cores, original mode\n",
        std::thread::available_parallelism().map_or(0, usize::from)
    );
    println!("{out}");
    // Warm up: topic creation, producer connection, metadata.
    let _ = closed_loop(addr, 4, "warm").await;

    let mut connector_rates = Vec::new();
    for senders in [1, 8, 64] {
        let f = closed_loop(addr, senders, &format!("c{senders}")).await;
        line(
            &mut out,
            &format!("connector, {senders:>2} senders (wait for each ACK)"),
            &f,
        );
        connector_rates.push((senders, f.rate()));
    }
    let f = paced(addr, "paced").await;
    line(
        &mut out,
        &format!("connector, paced {PACED_RATE} msg/s over 16 senders"),
        &f,
    );

    let mut config = KafkaSettings::with_bootstrap(&bootstrap).client_config("bench-bare");
    config
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("compression.type", "lz4")
        .set("linger.ms", "2");
    let producer: FutureProducer = config.create().unwrap();
    for senders in [1, 8, 64] {
        let f = bare(&producer, &topic, senders).await;
        line(
            &mut out,
            &format!("bare rdkafka, {senders:>2} senders (wait for each)"),
            &f,
        );
        if let Some((_, rate)) = connector_rates.iter().find(|(s, _)| *s == senders) {
            let ratio = format!(
                "  ratio connector/bare at {senders} senders: {:.2}\n",
                rate / f.rate()
            );
            print!("{ratio}");
            out.push_str(&ratio);
        }
    }
    let f = bare(&producer, &topic, 0).await;
    line(&mut out, "bare rdkafka, all enqueued at once (ceiling)", &f);
    let _ = producer.flush(Duration::from_secs(10));

    let _ = stop.send(());
    service.await.unwrap().unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("mllp_ingest.txt"), &out).unwrap();
    let file = dir.canonicalize().unwrap_or(dir).join("mllp_ingest.txt");
    println!("written to {}", file.display());
}
