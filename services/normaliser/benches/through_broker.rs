//! End-to-end normaliser throughput through a real broker: raw HL7 messages already on a raw
//! topic, the normaliser started in-process (EMPI on the local PostgreSQL, the hub's registry),
//! timed until its consumer group has committed past every message, i.e. until every canonical
//! event of every message was acknowledged by the broker. Offsets are committed every second, so
//! the figure is a slight underestimate. Not a test:
//! `scripts/stack.sh broker-start 19093 memory /tmp/bench-broker`, then
//! `HUB_BENCH_KAFKA=127.0.0.1:19093 cargo bench -p normaliser --bench through_broker`.
//! Writes the figures to `target/bench/normalise_broker.txt`.

use std::time::{Duration, Instant};

use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::headers;
use hub_kafka::rdkafka::consumer::{BaseConsumer, Consumer};
use hub_kafka::rdkafka::message::{Header, OwnedHeaders};
use hub_kafka::rdkafka::{Offset, TopicPartitionList};
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_test_utils::{TestDatabase, random_name};
use normaliser::Settings;

const MESSAGES: usize = 20_000;
const FACILITY: &str = "H21028100001";

fn golden(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../../crates/hub-hl7/tests/golden/{name}.hl7",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).expect("golden message")
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let kafka = KafkaSettings::with_bootstrap(
        std::env::var("HUB_BENCH_KAFKA").unwrap_or_else(|_| "127.0.0.1:19092".into()),
    );
    let registry_db = TestDatabase::create().await?;
    let empi_db = TestDatabase::create().await?;
    let registry = schema_registry::spawn(schema_registry::Settings {
        database_url: registry_db.url().to_owned().into(),
        ..schema_registry::Settings::default()
    })
    .await?;
    let raw_topic = format!("raw.{}.hl7v2", random_name("bench"));
    ensure_topics(&kafka, &[TopicSpec::new(&raw_topic, 1)]).await?;

    // 3 in 4 admissions (person, encounter, 3 diagnoses), 1 in 4 lab panels (13 results), all for a
    // handful of patients the EMPI learns on first sight, as in a county's day.
    let (adt, oru) = (golden("adt_a01_inpatient_dg1"), golden("oru_r01_lab_panel"));
    let producer = EventProducer::new(&kafka, "bench", ProducerProfile::Throughput)?;
    let ids: Vec<String> = (0..MESSAGES).map(|i| format!("BENCH-{i}")).collect();
    let records = ids.iter().enumerate().map(|(i, id)| {
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: headers::FACILITY,
                value: Some(FACILITY),
            })
            .insert(Header {
                key: headers::SOURCE,
                value: Some("his"),
            })
            .insert(Header {
                key: headers::CHARSET,
                value: Some("UTF-8"),
            })
            .insert(Header {
                key: headers::RECEIVED_AT,
                value: Some("2026-11-23T08:00:00+08:00"),
            })
            .insert(Header {
                key: headers::MESSAGE_ID,
                value: Some(id.as_str()),
            });
        OutRecord {
            topic: &raw_topic,
            key: id.as_bytes(),
            payload: if i % 4 == 3 { &oru } else { &adt },
            headers: Some(headers),
        }
    });
    for outcome in producer.send_all(records).await {
        outcome?;
    }

    let group = random_name("bench-norm");
    let settings = Settings {
        kafka: kafka.clone(),
        registry_url: registry.url.clone(),
        database_url: empi_db.url().to_owned().into(),
        pseudonym_key: "bench-pseudonym-key-0123456789".to_owned().into(),
        terminology_dir: concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/terminology").into(),
        input_topics: vec![raw_topic.clone()],
        group_id: group.clone(),
        ..Settings::default()
    };
    let watcher: BaseConsumer = {
        let mut config = kafka.client_config("bench-watch");
        config.set("group.id", &group);
        config.create()?
    };
    let mut partitions = TopicPartitionList::new();
    partitions.add_partition(&raw_topic, 0);

    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let started = Instant::now();
    let service = tokio::spawn(normaliser::run(
        settings,
        admin,
        std::future::pending::<()>(),
    ));
    let deadline = started + Duration::from_secs(300);
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let committed = watcher.committed_offsets(partitions.clone(), Duration::from_secs(5))?;
        let done = matches!(committed.find_partition(&raw_topic, 0).map(|p| p.offset()),
            Some(Offset::Offset(o)) if o >= MESSAGES as i64);
        if done {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "not caught up within 300 s");
        anyhow::ensure!(!service.is_finished(), "the normaliser stopped");
    }
    let seconds = started.elapsed().as_secs_f64();
    service.abort();
    let events = (MESSAGES / 4) * 3 * 6 + (MESSAGES / 4) * 14;
    let line = format!(
        "{MESSAGES} HL7 messages (3/4 ADT^A01, 1/4 ORU^R01 x13) through {}: {:.1} s, {:.0} msg/s, {:.0} canonical events/s ({})",
        kafka.bootstrap_servers,
        seconds,
        MESSAGES as f64 / seconds,
        events as f64 / seconds,
        if cfg!(debug_assertions) {
            "debug build"
        } else {
            "release build"
        }
    );
    eprintln!("{line}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("normalise_broker.txt"), line + "\n")?;
    Ok(())
}
