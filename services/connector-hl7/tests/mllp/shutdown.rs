//! Graceful shutdown: messages already received are stored and acknowledged before the
//! connector exits, and no new connection is accepted.

use std::time::Duration;

use connector_hl7::SourceKind;
use hub_test_utils::kafka_bootstrap;
use tokio::net::TcpStream;

use crate::support::{Client, Running, adt, consume, listener, msa, settings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_messages() -> anyhow::Result<()> {
    let bootstrap = kafka_bootstrap();
    let connector =
        Running::start(settings(&bootstrap, vec![listener("H7", SourceKind::His)])).await?;
    let addr = connector.addrs[0];
    let topic = connector.topic(0);
    let mut client = Client::connect(addr).await?;
    // Warm up the producer's connection so that the pipelined burst below is in flight together.
    assert_eq!(msa(&client.call(&adt("WARM")).await?).0, "AA");
    let count = 200;
    for i in 0..count {
        client.send(&adt(&format!("S{i:04}"))).await?;
    }
    // Wait until the connector has read every message, then stop it while ACKs are pending.
    for _ in 0..200 {
        if connector.metric("hub_hl7_messages_received_total", &[]) >= f64::from(count + 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let acked_before = connector.metric("hub_hl7_acks_total", &[]);
    let stopping = tokio::spawn(connector.stop());
    for i in 0..count {
        let ack = client
            .recv(Duration::from_secs(30))
            .await?
            .expect("an ACK, not a close");
        assert_eq!(msa(&ack), ("AA".to_owned(), format!("S{i:04}")));
    }
    assert_eq!(
        client.recv(Duration::from_secs(10)).await?,
        None,
        "then the connection closes"
    );
    stopping.await??;
    eprintln!(
        "ACKs sent before the stop began: {acked_before} of {}",
        count + 1
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
    let records = consume(
        &bootstrap,
        &topic,
        count as usize + 1,
        Duration::from_secs(30),
    )
    .await?;
    assert_eq!(records.len(), count as usize + 1);
    Ok(())
}
