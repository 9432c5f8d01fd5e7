//! Malformed input gets `AE` with an `ERR` segment (or a closed connection), its bytes land in
//! the DLQ with an error code, and the connector keeps serving another client meanwhile.

use std::time::Duration;

use connector_hl7::SourceKind;
use hub_test_utils::kafka_bootstrap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Client, Running, adt, consume, field, listener, msa, settings};

fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Everything but the MLLP block characters.
            match (state >> 7) as u8 {
                0x0b | 0x1c => b'x',
                b => b,
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_is_refused_dead_lettered_and_others_are_served() -> anyhow::Result<()> {
    let bootstrap = kafka_bootstrap();
    let mut l = listener("H9", SourceKind::His);
    l.max_message_bytes = 64 * 1024;
    let connector = Running::start(settings(&bootstrap, vec![l])).await?;
    let addr = connector.addrs[0];

    // A well-behaved client keeps sending throughout.
    let good = tokio::spawn(async move {
        let mut client = Client::connect(addr).await?;
        for i in 0..40 {
            let ack = client.call(&adt(&format!("GOOD{i}"))).await?;
            anyhow::ensure!(msa(&ack).0 == "AA", "good client got {:?}", msa(&ack));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        anyhow::Ok(())
    });

    let mut bad = Client::connect(addr).await?;
    let mut oversize = b"MSH|^~\\&|HIS|H9|HUB|C|20240501||ORU^R01|BIG-1|P|2.5\r".to_vec();
    oversize.extend(std::iter::repeat_n(b'A', 100 * 1024));
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        (
            "no MSH",
            b"PID|1||X\rPV1|1\r".to_vec(),
            "hl7_missing_msh",
            "100",
        ),
        (
            "bad encoding characters",
            b"MSH|^^|HIS|H9|HUB|C|20240501||ADT^A01|X1|P|2.5\r".to_vec(),
            "hl7_bad_delimiters",
            "102",
        ),
        (
            "empty MSH-10",
            b"MSH|^~\\&|HIS|H9|HUB|C|20240501||ADT^A01||P|2.5\r".to_vec(),
            "hl7_missing_control_id",
            "101",
        ),
        (
            "unknown charset",
            b"MSH|^~\\&|HIS|H9|HUB|C|20240501||ADT^A01|CS-1|P|2.5||||||KLINGON\r".to_vec(),
            "hl7_unsupported_charset",
            "103",
        ),
        ("binary noise", noise(3000, 7), "hl7_missing_msh", "100"),
        ("oversize", oversize.clone(), "hl7_message_too_large", "207"),
    ];
    for (what, bytes, code, hl7_code) in &cases {
        let ack = bad.call(bytes).await?;
        assert_eq!(msa(&ack).0, "AE", "{what}");
        let err3 = field(&ack, "ERR", 3);
        assert!(
            err3.starts_with(&format!("{hl7_code}^")),
            "{what}: ERR-3 {err3}"
        );
        assert!(!field(&ack, "ERR", 8).is_empty(), "{what}: ERR-8 explains");
        let _ = code;
    }
    // Garbage before a frame is dropped and counted; the frame itself is fine.
    bad.stream.write_all(b"\r\nGET / HTTP/1.1\r\n\r\n").await?;
    assert_eq!(msa(&bad.call(&adt("AFTER-GARBAGE")).await?).0, "AA");
    assert!(connector.metric("hub_hl7_discarded_bytes_total", &[]) >= 18.0);

    // A frame cut short by the sender closing: kept in the DLQ as truncated.
    let mut cut = Client::connect(addr).await?;
    cut.stream
        .write_all(b"\x0bMSH|^~\\&|HIS|H9|HUB|C|20240501||ADT^A01|CUT-1|P|2.5\rPID|1||")
        .await?;
    cut.stream.shutdown().await?;
    assert_eq!(
        cut.recv(Duration::from_secs(10)).await?,
        None,
        "no ACK for a truncated frame"
    );

    // Endless noise without any frame: the connection is closed.
    let mut noisy = Client::connect(addr).await?;
    let written = noisy.stream.write_all(&noise(200 * 1024, 3)).await;
    let mut sink = Vec::new();
    let closed =
        tokio::time::timeout(Duration::from_secs(10), noisy.stream.read_to_end(&mut sink)).await;
    assert!(
        written.is_err() || matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "noise connection closed"
    );

    good.await??;

    let mut expected: Vec<(&str, Vec<u8>)> =
        cases.iter().map(|(_, b, c, _)| (*c, b.clone())).collect();
    expected.push((
        "mllp_truncated_frame",
        b"MSH|^~\\&|HIS|H9|HUB|C|20240501||ADT^A01|CUT-1|P|2.5\rPID|1||".to_vec(),
    ));
    let dlq = consume(
        &bootstrap,
        &connector.settings.dlq_topic,
        expected.len(),
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(dlq.len(), expected.len());
    for (code, bytes) in &expected {
        let record = dlq
            .iter()
            .find(|r| {
                r.headers["hub-error-code"] == *code
                    && (r.value == *bytes || *code == "hl7_message_too_large")
            })
            .unwrap_or_else(|| panic!("no DLQ record for {code}"));
        assert_eq!(record.headers["hub-error-stage"], "connector-hl7");
        assert_eq!(record.headers["hub-facility"], "H9");
        assert_eq!(record.headers["hub-source-topic"], connector.topic(0));
        assert!(record.key.starts_with("H9:"));
        if *code == "hl7_message_too_large" {
            assert_eq!(
                record.value,
                oversize[..64 * 1024],
                "the head of the message"
            );
            assert!(
                record.headers["hub-error-detail"].contains(&format!("{} bytes", oversize.len()))
            );
        }
    }
    assert_eq!(
        connector.metric(
            "hub_hl7_rejected_total",
            &[("error_code", "hl7_missing_msh")]
        ),
        2.0
    );
    assert_eq!(
        connector.metric("hub_hl7_acks_total", &[("code", "AE")]),
        6.0
    );
    connector.stop().await
}
