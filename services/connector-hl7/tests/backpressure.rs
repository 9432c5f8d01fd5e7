//! Back-pressure: the real `connector-hl7` binary, as a child process, against its own tansu
//! broker, which is frozen (`SIGSTOP`: its sockets stay open and nothing is answered, the
//! realistic "slow broker") while many connections pipeline large messages as fast as TCP lets
//! them. While the broker is frozen no message is answered `AA`, every connection keeps getting
//! `AR` within the message timeout, and the connector's resident memory stays far below what
//! holding the offered messages would take (each connection's `max_in_flight` caps what it
//! reads; the rest waits in the senders). After `SIGCONT` the connector answers `AA` again and
//! every `AA`'d message is in the raw topic.
//!
//! Bounded: 32 connections x 96 messages of 32 KiB (96 MiB offered), a 12-second freeze, two
//! minutes at most for the whole test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)] // Tests fail loudly.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use hub_kafka::KafkaSettings;
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_test_utils::child::ChildService;
use hub_test_utils::random_name;
use hub_test_utils::tansu::{Storage, Tansu, free_port, resident_bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const FACILITY: &str = "HBP001";
const CONNECTIONS: usize = 32;
const MESSAGES: usize = 96;
const MESSAGE_BYTES: usize = 32 * 1024;
const MAX_IN_FLIGHT: usize = 8;
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(3);
const FREEZE: Duration = Duration::from_secs(12);
/// Growth of the connector's RSS allowed under the frozen broker. Without the per-connection
/// cap the connector reads every offered message (96 MiB, twice that with librdkafka's copy):
/// measured 274 MiB of growth. With it, 32 x ~10 x 32 KiB of frames (twice with the copies),
/// read buffers, replaced producers and allocator slack: measured about 50 MiB.
const RSS_GROWTH_BOUND: u64 = 80 * 1024 * 1024;

/// An HL7 message of about `MESSAGE_BYTES` with control id `id`.
fn message(id: &str) -> Vec<u8> {
    let head = format!(
        "MSH|^~\\&|HIS|{FACILITY}|HUB|COUNTY|20260301083000||ADT^A08^ADT_A01|{id}|P|2.5.1\rEVN|A08|20260301083000\rPID|1||MRN{id}^^^{FACILITY}^MR||TEST^PATIENT||19800101|M\rPV1|1|O\rNTE|1||"
    );
    let mut m = head.into_bytes();
    m.resize(MESSAGE_BYTES - 1, b'x');
    m.push(b'\r');
    m
}

fn frame(message: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(message.len() + 3);
    v.push(0x0b);
    v.extend_from_slice(message);
    v.extend_from_slice(&[0x1c, 0x0d]);
    v
}

/// MSA-1 and MSA-2 of an ACK.
fn msa(ack: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(ack);
    let segment = text
        .split(['\r', '\n'])
        .find(|s| s.starts_with("MSA"))
        .unwrap_or_default();
    let mut fields = segment.split('|').skip(1);
    let code = fields.next().unwrap_or_default().to_owned();
    let id = fields.next().unwrap_or_default().to_owned();
    (code, id)
}

/// Reads one ACK frame body, or `None` when the connection closed.
async fn read_ack<R: AsyncReadExt + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
) -> std::io::Result<Option<Vec<u8>>> {
    loop {
        if let Some(start) = buf.iter().position(|&b| b == 0x0b)
            && let Some(end) = buf[start..].iter().position(|&b| b == 0x1c)
        {
            let body = buf[start + 1..start + end].to_vec();
            buf.advance((start + end + 2).min(buf.len()));
            return Ok(Some(body));
        }
        if reader.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

/// One ACK as the sender saw it.
#[derive(Debug, Clone)]
struct Ack {
    id: String,
    code: String,
    at: Instant,
}

/// Sends `ids` on `addr` without waiting for ACKs (a writer task) and collects every ACK (the
/// reader), giving up at `deadline`.
async fn firehose(addr: SocketAddr, ids: Vec<String>, deadline: Instant) -> Vec<Ack> {
    let stream = TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let count = ids.len();
    let write = tokio::spawn(async move {
        for id in ids {
            if writer.write_all(&frame(&message(&id))).await.is_err() {
                return;
            }
        }
        // Keep the write half open: closing it would end the connection before the ACKs.
        std::future::pending::<()>().await;
    });
    let mut acks = Vec::with_capacity(count);
    let mut buf = BytesMut::new();
    while acks.len() < count {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, read_ack(&mut reader, &mut buf)).await {
            Ok(Ok(Some(body))) => {
                let (code, id) = msa(&body);
                acks.push(Ack {
                    id,
                    code,
                    at: Instant::now(),
                });
            }
            _ => break,
        }
    }
    write.abort();
    acks
}

/// The connector binary against `bootstrap`, one listener on `mllp`.
fn start_connector(
    dir: &Path,
    bootstrap: &str,
    mllp: u16,
    topic: &str,
) -> anyhow::Result<ChildService> {
    let config = format!(
        "admin_listen: 127.0.0.1:{admin}\n\
         kafka:\n  bootstrap_servers: {bootstrap}\n  message_timeout_ms: {timeout}\n\
         dlq_topic: {dlq}\n\
         topic_partitions: 2\n\
         shutdown_grace_secs: 5\n\
         listeners:\n\
         \x20 - bind: 127.0.0.1:{mllp}\n\
         \x20   facility: {FACILITY}\n\
         \x20   source: his\n\
         \x20   topic: {topic}\n\
         \x20   max_connections: {connections}\n\
         \x20   max_in_flight: {MAX_IN_FLIGHT}\n",
        admin = free_port()?,
        timeout = MESSAGE_TIMEOUT.as_millis(),
        dlq = random_name("test.dlq.connector-hl7"),
        connections = CONNECTIONS + 8,
    );
    ChildService::start(
        Path::new(env!("CARGO_BIN_EXE_connector-hl7")),
        "connector-hl7",
        dir,
        &config,
        "info",
    )
}

/// Sends `id` alone and returns MSA-1 (`"none"` when there was no answer).
async fn call(addr: SocketAddr, id: &str) -> String {
    let deadline = Instant::now() + MESSAGE_TIMEOUT * 3;
    let Ok(Ok(mut stream)) =
        tokio::time::timeout(Duration::from_secs(2), TcpStream::connect(addr)).await
    else {
        return "none".into();
    };
    if stream.write_all(&frame(&message(id))).await.is_err() {
        return "none".into();
    }
    let mut buf = BytesMut::new();
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, read_ack(&mut stream, &mut buf)).await {
        Ok(Ok(Some(body))) => msa(&body).0,
        _ => "none".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_broker_slows_acks_and_memory_stays_bounded() -> anyhow::Result<()> {
    let started = Instant::now();
    let dir = std::env::temp_dir().join(random_name("hl7-backpressure"));
    std::fs::create_dir_all(&dir)?;
    let broker = Tansu::start(&dir, free_port()?, Storage::Memory)?;
    let mllp = free_port()?;
    let topic = random_name("test.raw.his");
    let connector = start_connector(&dir, &broker.bootstrap(), mllp, &topic)?;
    let pid = connector.pid();
    let addr: SocketAddr = format!("127.0.0.1:{mllp}").parse()?;

    // Ready: a message is stored (topics are created at start-up).
    let mut acked: BTreeSet<String> = BTreeSet::new();
    let ready_by = Instant::now() + Duration::from_secs(60);
    for i in 0.. {
        let id = format!("READY{i:03}");
        if call(addr, &id).await == "AA" {
            acked.insert(id);
            break;
        }
        anyhow::ensure!(Instant::now() < ready_by, "the connector never answered AA");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // Warm-up on every connection with the broker running: all AA.
    let warm_by = Instant::now() + Duration::from_secs(60);
    let warm = futures::future::join_all((0..CONNECTIONS).map(|c| {
        let ids = (0..4).map(|i| format!("W{c:02}-{i:03}")).collect();
        firehose(addr, ids, warm_by)
    }))
    .await;
    for acks in &warm {
        assert_eq!(acks.len(), 4, "{acks:?}");
        for ack in acks {
            assert_eq!(ack.code, "AA", "{ack:?} before the freeze");
            acked.insert(ack.id.clone());
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = resident_bytes(pid)?;

    // Sample the connector's memory until told to stop.
    let peak = Arc::new(AtomicU64::new(baseline));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (Arc::clone(&peak), Arc::clone(&sampling));
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                if let Ok(rss) = resident_bytes(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    // Freeze the broker and offer every connection's messages at once.
    broker.freeze()?;
    let frozen_at = Instant::now();
    let deadline = frozen_at + Duration::from_secs(90);
    let senders: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let ids = (0..MESSAGES).map(|i| format!("F{c:02}-{i:03}")).collect();
            tokio::spawn(firehose(addr, ids, deadline))
        })
        .collect();
    tokio::time::sleep(FREEZE).await;
    let frozen_peak = peak.load(Ordering::Relaxed);
    let thawed_at = Instant::now();
    broker.thaw()?;
    let mut results = Vec::new();
    for sender in senders {
        results.push(sender.await?);
    }
    sampling.store(false, Ordering::Relaxed);
    sampler.await?;
    let overall_peak = peak.load(Ordering::Relaxed);

    let all: Vec<&Ack> = results.iter().flatten().collect();
    let during: Vec<&Ack> = all.iter().copied().filter(|a| a.at < thawed_at).collect();
    let early_aa: Vec<&&Ack> = during.iter().filter(|a| a.code == "AA").collect();
    let count = |code: &str| all.iter().filter(|a| a.code == code).count();
    eprintln!(
        "frozen {:.1} s: {} ACKs during the freeze (all AR: {}), after it {} AA / {} AR of {} \
         offered; RSS baseline {} KiB, peak frozen {} KiB, peak overall {} KiB",
        FREEZE.as_secs_f64(),
        during.len(),
        during.iter().all(|a| a.code == "AR"),
        count("AA"),
        count("AR"),
        CONNECTIONS * MESSAGES,
        baseline / 1024,
        frozen_peak / 1024,
        overall_peak / 1024,
    );

    // Nothing is acknowledged while the broker cannot have it.
    assert!(early_aa.is_empty(), "AA while frozen: {early_aa:?}");
    // Every connection is answered (AR) within the message timeout, again and again: ACKs are
    // slowed to the timeout, never held indefinitely.
    let slack = Duration::from_secs(4);
    for (c, acks) in results.iter().enumerate() {
        let mut last = frozen_at;
        for ack in acks.iter().filter(|a| a.at < thawed_at) {
            assert!(
                ack.at - last <= MESSAGE_TIMEOUT + slack,
                "connection {c}: {:?} without an ACK while frozen",
                ack.at - last
            );
            last = ack.at;
        }
        assert!(
            thawed_at - last <= MESSAGE_TIMEOUT + slack,
            "connection {c}: no ACK in the last {:?} of the freeze",
            thawed_at - last
        );
    }
    // Memory: bounded by the per-connection cap, not by what was offered.
    let offered = (CONNECTIONS * MESSAGES * MESSAGE_BYTES) as u64;
    assert!(
        frozen_peak.saturating_sub(baseline) < RSS_GROWTH_BOUND,
        "RSS grew by {} KiB under the frozen broker ({} KiB offered)",
        frozen_peak.saturating_sub(baseline) / 1024,
        offered / 1024
    );
    // After the thaw: every connection is answered for every message, and ends with AA.
    for (c, acks) in results.iter().enumerate() {
        assert_eq!(acks.len(), MESSAGES, "connection {c} lost ACKs");
        assert_eq!(
            acks.last().map(|a| a.code.as_str()),
            Some("AA"),
            "connection {c}"
        );
    }
    acked.extend(all.iter().filter(|a| a.code == "AA").map(|a| a.id.clone()));
    assert_eq!(call(addr, "AFTER000").await, "AA");
    acked.insert("AFTER000".into());

    // Every AA'd message is in the raw topic.
    let settings = KafkaSettings::with_bootstrap(broker.bootstrap());
    let consumer = HubConsumer::subscribe(
        &settings,
        "test",
        &random_name("backpressure"),
        &[topic.as_str()],
        Isolation::ReadUncommitted,
    )?;
    let mut missing: BTreeSet<String> = acked.iter().map(|id| format!("{FACILITY}:{id}")).collect();
    let read_by = tokio::time::Instant::now() + Duration::from_secs(60);
    while !missing.is_empty() {
        let Ok(message) = tokio::time::timeout_at(read_by, consumer.recv()).await else {
            break;
        };
        let message = message?;
        missing.remove(String::from_utf8_lossy(message.key().unwrap_or_default()).as_ref());
    }
    assert!(missing.is_empty(), "AA'd but not stored: {missing:?}");
    drop(consumer);

    let status = connector.stop(Duration::from_secs(30))?;
    assert!(status.success(), "connector exit: {status}");
    broker.kill()?;
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "back-pressure test in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
