//! A consumer killed with SIGKILL and started again must get its partitions back. The killed
//! member never leaves its group; with static membership (`kafka.group_instance_id`) the new
//! process takes over its identity at once. (Without it, tansu 0.6 hands the whole group to the
//! dead member's stale assignment when that member expires, and the new one never reads again;
//! see docs/chaos.md.) The killed consumer is this test binary run again as a child process, so
//! the kill is a real one: no LeaveGroup, no commit at exit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // Tests fail loudly.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hub_kafka::admin::{TopicSpec, ensure_topics};
use hub_kafka::consumer::{HubConsumer, Isolation};
use hub_kafka::rdkafka::Message;
use hub_kafka::{EventProducer, KafkaSettings, OutRecord, ProducerProfile};
use hub_test_utils::{kafka_bootstrap, random_name};

const CHILD_ENV: &str = "HUB_KAFKA_TEST_CHILD";

fn settings(instance: &str) -> KafkaSettings {
    let mut settings = KafkaSettings::with_bootstrap(kafka_bootstrap());
    settings.group_instance_id = Some(instance.to_owned());
    settings
}

async fn produce(topic: &str, count: usize) {
    let producer = EventProducer::new(
        &settings("unused"),
        "it-static",
        ProducerProfile::Throughput,
    )
    .unwrap();
    let payloads: Vec<String> = (0..count).map(|i| format!("m{i}")).collect();
    let outcomes = producer
        .send_all(payloads.iter().map(|p| OutRecord {
            topic,
            key: p.as_bytes(),
            payload: p.as_bytes(),
            headers: None,
        }))
        .await;
    assert!(outcomes.iter().all(Result::is_ok));
}

/// The child: joins the group, reads and marks done until it is killed. Runs only when the
/// parent test starts this binary with `CHILD_ENV` set.
#[tokio::test]
async fn child_consumer_reads_until_killed() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let (topic, group, instance) = {
        let mut parts = spec.split(',');
        (
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
            parts.next().unwrap().to_owned(),
        )
    };
    let consumer = HubConsumer::subscribe(
        &settings(&instance),
        "it-static-child",
        &group,
        &[&topic],
        Isolation::ReadUncommitted,
    )
    .unwrap();
    loop {
        let message = consumer.recv().await.unwrap();
        consumer.done(&message).unwrap();
        println!("read {}", message.offset());
    }
}

#[tokio::test]
async fn a_killed_static_member_is_replaced_by_its_restart_at_once() {
    let topic = random_name("it-static");
    let group = random_name("it-static-group");
    let instance = "normaliser-it-1";
    ensure_topics(&settings(instance), &[TopicSpec::new(&topic, 3)])
        .await
        .unwrap();
    produce(&topic, 30).await;

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_consumer_reads_until_killed",
            "--nocapture",
        ])
        .env(CHILD_ENV, format!("{topic},{group},{instance}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the child has joined and read: its first line.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stdout).lines();
        lines.find(|l| l.as_ref().is_ok_and(|l| l.starts_with("read ")))
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !reader.is_finished() {
        assert!(Instant::now() < deadline, "the child never read a message");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(reader.join().unwrap().is_some(), "the child read nothing");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    produce(&topic, 30).await;
    let started = Instant::now();
    let consumer = HubConsumer::subscribe(
        &settings(instance),
        "it-static",
        &group,
        &[&topic],
        Isolation::ReadUncommitted,
    )
    .unwrap();
    // The restarted member reads again well within the 10 s session timeout plus tansu's pause
    // for static members; the 30 new messages are on every partition, so all three came back.
    let mut partitions = std::collections::BTreeSet::new();
    let mut read = 0;
    while partitions.len() < 3 {
        let message = tokio::time::timeout(Duration::from_secs(40), consumer.recv())
            .await
            .expect("the restarted consumer reads within 40 s")
            .unwrap();
        partitions.insert(message.partition());
        consumer.done(&message).unwrap();
        read += 1;
    }
    println!(
        "restarted member read {read} messages from all 3 partitions after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
