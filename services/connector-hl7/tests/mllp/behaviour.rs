//! Protocol behaviour over a real connection: pipelined messages get their ACKs in order,
//! resends are stored again and counted, batches are split and answered with a batch ACK.

use std::time::Duration;

use connector_hl7::SourceKind;
use hub_test_utils::{kafka_bootstrap, random_name};

use crate::support::{Client, Running, adt, consume, field, listener, msa, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_messages_get_their_acks_in_order() -> anyhow::Result<()> {
    let bootstrap = kafka_bootstrap();
    let mut l = listener("H1", SourceKind::Lab);
    l.synthetic = true;
    let connector = Running::start(settings(&bootstrap, vec![l])).await?;
    let mut client = Client::connect(connector.addrs[0]).await?;
    let ids: Vec<String> = (0..300).map(|i| format!("P{i:04}")).collect();
    for id in &ids {
        client.send(&adt(id)).await?;
    }
    for id in &ids {
        let ack = client.recv(Duration::from_secs(30)).await?.expect("an ACK");
        assert_eq!(msa(&ack), ("AA".to_owned(), id.clone()));
    }
    let records = consume(
        &bootstrap,
        &connector.topic(0),
        ids.len(),
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(records.len(), ids.len());
    assert!(records.iter().all(|r| r.headers["hub-synthetic"] == "true"));
    let latency = connector.metric("hub_hl7_ack_latency_seconds", &[("facility", "H1")]);
    assert_eq!(latency, 300.0, "one latency sample per ACK");
    connector.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_are_stored_acked_and_counted() -> anyhow::Result<()> {
    let bootstrap = kafka_bootstrap();
    let connector =
        Running::start(settings(&bootstrap, vec![listener("H2", SourceKind::His)])).await?;
    let mut client = Client::connect(connector.addrs[0]).await?;
    let id = random_name("R");
    for _ in 0..2 {
        assert_eq!(msa(&client.call(&adt(&id)).await?).0, "AA");
    }
    let mut other = Client::connect(connector.addrs[0]).await?;
    assert_eq!(msa(&other.call(&adt(&id)).await?).0, "AA");
    assert_eq!(
        connector.metric("hub_hl7_duplicate_messages_total", &[]),
        2.0
    );
    let records = consume(&bootstrap, &connector.topic(0), 3, Duration::from_secs(30)).await?;
    assert!(records.iter().all(|r| r.key == format!("H2:{id}")));
    assert_eq!(
        records.len(),
        3,
        "downstream de-duplicates by key; the raw topic keeps all"
    );
    connector.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_split_and_answered_with_a_batch_ack() -> anyhow::Result<()> {
    let bootstrap = kafka_bootstrap();
    let connector =
        Running::start(settings(&bootstrap, vec![listener("L1", SourceKind::Lab)])).await?;
    let mut client = Client::connect(connector.addrs[0]).await?;
    let m1 = b"MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01|B-M1|P|2.5\rPID|1\rOBX|1|NM|K||4.1\r";
    let m2 = b"MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01|B-M2|P|2.5\rOBX|1|NM|NA||140\r";
    let bad = b"MSH|^~\\&|LIS|L1|HUB|C|20240501||ORU^R01||P|2.5\rOBX|1\r";
    let mut batch =
        b"FHS|^~\\&|LIS|L1|HUB|C|20240501||||F-9\rBHS|^~\\&|LIS|L1|HUB|C|20240501||||B-9\r"
            .to_vec();
    for m in [&m1[..], &m2[..], &bad[..]] {
        batch.extend_from_slice(m);
    }
    batch.extend_from_slice(b"BTS|3\rFTS|1\r");
    let reply = client.call(&batch).await?;
    let text = String::from_utf8_lossy(&reply).replace('\r', "\n");
    assert!(text.starts_with("FHS|^~\\&|HUB|C|LIS|L1|"), "{text}");
    assert_eq!(field(&reply, "BHS", 11), "B-9");
    let codes: Vec<&str> = text.lines().filter(|l| l.starts_with("MSA")).collect();
    assert_eq!(
        codes,
        [
            "MSA|AA|B-M1",
            "MSA|AA|B-M2",
            "MSA|AE||MSH-10 message control id is empty"
        ]
    );
    assert!(text.ends_with("BTS|3\nFTS|1\n"), "{text}");
    let records = consume(&bootstrap, &connector.topic(0), 2, Duration::from_secs(30)).await?;
    let values: Vec<&[u8]> = records.iter().map(|r| r.value.as_slice()).collect();
    assert_eq!(values, [&m1[..], &m2[..]]);
    let dlq = consume(
        &bootstrap,
        &connector.settings.dlq_topic,
        1,
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(dlq[0].value, bad);
    assert_eq!(dlq[0].headers["hub-error-code"], "hl7_missing_control_id");
    connector.stop().await
}
