//! The sender keeps every message until the hub acknowledges it: a listener that is not there
//! yet (connection refused), a connection that breaks before the ACK (the connector was killed)
//! and an `AR` (the broker is down) all lead to a resend of the same message, and only `AA`
//! counts it as acknowledged. The peer here is a bare loopback socket that plays a connector
//! dying mid-exchange; the real connectors are killed by `scripts/chaos`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hub_simulator::send::{Targets, send};
use hub_simulator::{Outgoing, Route, Source};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn message(n: usize) -> Outgoing {
    let id = format!("RESEND{n}");
    Outgoing {
        at: n as i64,
        route: Route::Mllp {
            facility: "H21028100003".into(),
            source: Source::Lab,
        },
        body: format!("MSH|^~\\&|LIS|H21028100003|HUB|HUB|20261101080000||ORU^R01|{id}|T|2.5\r"),
        id,
    }
}

/// Reads one MLLP frame; `None` at end of stream.
async fn frame(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        bytes.push(byte[0]);
        if bytes.ends_with(&[0x1c, 0x0d]) {
            let text = String::from_utf8_lossy(&bytes[1..bytes.len() - 2]).into_owned();
            return Some(text);
        }
    }
}

fn control_id(message: &str) -> String {
    message.split('|').nth(9).unwrap_or_default().to_owned()
}

async fn ack(stream: &mut TcpStream, code: &str, id: &str) {
    let text = format!(
        "\x0bMSH|^~\\&|HUB|HUB|LIS|H21028100003|20261101080000||ACK|A{id}|T|2.5\rMSA|{code}|{id}\r\x1c\x0d"
    );
    stream.write_all(text.as_bytes()).await.unwrap();
}

/// A free loopback port with nothing listening on it (yet).
async fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
}

fn targets(addr: SocketAddr, retry_for: Duration) -> Targets {
    Targets {
        lab: Some(addr),
        retry_for,
        ..Targets::default()
    }
}

#[tokio::test]
async fn refused_broken_and_ar_answers_are_resent_until_acknowledged() {
    let addr = free_addr().await;
    let received = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&received);
    let peer = tokio::spawn(async move {
        // Nothing listens for the first 600 ms: the sender's connects are refused.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let listener = TcpListener::bind(addr).await.unwrap();
        // First connection: reads the first message, then dies without an ACK.
        let (mut first, _) = listener.accept().await.unwrap();
        let id = control_id(&frame(&mut first).await.unwrap());
        log.lock().unwrap().push(id);
        drop(first);
        // Second connection: `AR` once (broker down), then `AA` for everything.
        let (mut second, _) = listener.accept().await.unwrap();
        let mut refused_once = false;
        while let Some(text) = frame(&mut second).await {
            let id = control_id(&text);
            log.lock().unwrap().push(id.clone());
            if refused_once {
                ack(&mut second, "AA", &id).await;
            } else {
                refused_once = true;
                ack(&mut second, "AR", &id).await;
            }
        }
    });
    let messages: Vec<Outgoing> = (1..=3).map(message).collect();
    let report = send(&messages, &targets(addr, Duration::from_secs(20)))
        .await
        .unwrap();
    peer.abort();
    assert_eq!(report.total_accepted(), 3);
    assert_eq!(report.total_rejected(), 0);
    let ids: Vec<&str> = report
        .acknowledged
        .iter()
        .map(|(_, id)| id.as_str())
        .collect();
    assert_eq!(ids, ["RESEND1", "RESEND2", "RESEND3"]);
    assert!(
        report
            .acknowledged
            .iter()
            .all(|(kind, _)| kind == "mllp:lab")
    );
    // The first message went out three times: lost with the connection, refused, acknowledged.
    let seen = received.lock().unwrap().clone();
    assert_eq!(
        seen,
        ["RESEND1", "RESEND1", "RESEND1", "RESEND2", "RESEND3"]
    );
    assert!(report.resent >= 3, "resent {}", report.resent);
}

#[tokio::test]
async fn without_a_retry_window_a_refused_connection_stops_delivery() {
    let addr = free_addr().await;
    let error = send(&[message(1)], &targets(addr, Duration::ZERO))
        .await
        .unwrap_err();
    assert!(error.to_string().contains(&addr.to_string()), "{error}");
}
