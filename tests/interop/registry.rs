//! Starts the hub's schema registry in-process on a free loopback port, on a test database.

use hub_test_utils::TestDatabase;
use schema_registry::Settings;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running registry; it stops when this value is dropped.
pub struct Registry {
    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub url: String,
    _stop: oneshot::Sender<()>,
}

/// Starts a registry on `db` and waits until it answers `/readyz`.
pub async fn start(db: &TestDatabase) -> anyhow::Result<Registry> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let settings = Settings {
        database_url: db.url().to_owned().into(),
        seed_canonical: false,
        ..Settings::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = schema_registry::run(settings, listener, shutdown).await {
            eprintln!("registry failed: {e}");
        }
    });
    for _ in 0..100 {
        if let Ok(true) = ready(&format!("{url}/readyz")).await {
            return Ok(Registry { url, _stop: stop });
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the registry did not become ready")
}

/// A minimal readiness probe over a plain TCP connection (keeps this crate free of an HTTP
/// client): true when the response status is 200.
async fn ready(url: &str) -> anyhow::Result<bool> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    stream
        .write_all(
            format!("GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await?;
    Ok(&head[9..12] == b"200")
}
