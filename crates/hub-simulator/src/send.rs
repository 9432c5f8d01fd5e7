//! Delivery of a simulation through the hub's real interfaces: HL7 v2 over MLLP (one connection
//! per route, each message waits for its ACK, routes in parallel) and settlement batches over
//! HTTP (`POST /v1/settlements`, bearer token, per-record answers). Messages leave in send
//! order, paced to at most `rate` per second. Within [`Targets::retry_for`] a message whose
//! connection is refused or breaks, or that gets `AR`/503, is resent (same id) until the hub
//! acknowledges it; the [`Report`] lists every acknowledged id for reconciliation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use crate::generate::{Outgoing, Route, Source};

/// Where each route is delivered.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    /// MLLP address of each HIS facility's listener.
    pub his: HashMap<String, SocketAddr>,
    /// A listener for every HIS facility without its own (its events then carry the listener's
    /// facility code, so the expected values no longer hold).
    pub his_default: Option<SocketAddr>,
    /// The shared lab centre's LIS listener.
    pub lab: Option<SocketAddr>,
    /// The shared imaging centre's RIS listener.
    pub imaging: Option<SocketAddr>,
    /// `http(s)://host:port/v1/settlements`.
    pub settlements_url: Option<String>,
    /// Bearer token of the settlement API.
    pub token: Option<String>,
    /// Most messages per second (0: as fast as the receivers answer).
    pub rate: f64,
    /// Settlement records per HTTP request.
    pub batch: usize,
    /// The imaging connector's drop folder of the shared imaging centre (files go to its
    /// `incoming/`).
    pub dicom_drop: Option<std::path::PathBuf>,
    /// PostgreSQL URL of the front-end-processor database holding the visit tables.
    pub table_url: Option<String>,
    /// How long one message (or settlement batch) is retried when the connection is refused or
    /// breaks, no ACK comes, or the hub answers `AR`/`CR`/503, before delivery gives up: a
    /// source system's interface engine keeps resending until the hub is back. Zero: a broken
    /// connection stops delivery at once and `AR` is resent only a few times.
    pub retry_for: Duration,
}

/// What happened to the messages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Messages acknowledged (`AA`/`CA`, or `accepted`), by route kind.
    pub accepted: HashMap<String, u64>,
    /// Messages refused (`AE`/`AR`/`CE`/`CR`, or `rejected`), by route kind.
    pub rejected: HashMap<String, u64>,
    /// Messages without a configured target.
    pub skipped: u64,
    /// Seconds taken.
    pub seconds: f64,
    /// Resends after a refused or broken connection, a missing ACK, `AR`/`CR` or a 503.
    pub resent: u64,
    /// Every acknowledged message: its route kind and its id as the hub names it (MSH-10, the
    /// settlement API's `message_id`, the SOP instance UID, the visit table's primary key).
    #[serde(skip)]
    pub acknowledged: Vec<(String, String)>,
}

impl Report {
    /// Total accepted.
    pub fn total_accepted(&self) -> u64 {
        self.accepted.values().sum()
    }

    /// Total refused.
    pub fn total_rejected(&self) -> u64 {
        self.rejected.values().sum()
    }
}

/// Why delivery stopped.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// A connection or request failed.
    #[error("{route}: {message}")]
    Transport {
        /// The route (`mllp:<facility>`, `settlements`).
        route: String,
        /// What failed.
        message: String,
    },
}

const START: u8 = 0x0b;
const END: [u8; 2] = [0x1c, 0x0d];

/// A blocking MLLP client: one message, one ACK.
struct MllpClient {
    stream: TcpStream,
    buffer: Vec<u8>,
}

impl MllpClient {
    async fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(1024),
        })
    }

    /// Sends one message and returns the ACK code (MSA-1).
    async fn exchange(&mut self, message: &str) -> std::io::Result<String> {
        let mut frame = Vec::with_capacity(message.len() + 3);
        frame.push(START);
        frame.extend_from_slice(message.as_bytes());
        frame.extend_from_slice(&END);
        self.stream.write_all(&frame).await?;
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == END) {
                let ack: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&ack);
                let code = text
                    .split(['\r', '\n'])
                    .find(|s| s.starts_with("MSA|"))
                    .and_then(|s| s.split('|').nth(1))
                    .unwrap_or("")
                    .to_owned();
                return Ok(code);
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(30), self.stream.read(&mut chunk))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "no ACK in 30 s")
                })??;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed before the ACK",
                ));
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }
}

fn route_name(route: &Route) -> String {
    match route {
        Route::Mllp { facility, source } => format!("mllp:{source:?}:{facility}").to_lowercase(),
        Route::Settlement => "settlements".to_owned(),
        Route::DicomFile { facility } => format!("dicom:{facility}"),
        Route::TableRow { facility } => format!("table:{facility}"),
    }
}

impl Targets {
    fn mllp_addr(&self, facility: &str, source: Source) -> Option<SocketAddr> {
        match source {
            Source::His => self.his.get(facility).copied().or(self.his_default),
            Source::Lab => self.lab,
            Source::Imaging => self.imaging,
        }
    }
}

/// A connection to open for a route.
enum Worker {
    /// Route name and listener address.
    Mllp(String, SocketAddr),
    /// URL and token.
    Settlement(String, String),
    /// A drop folder.
    Dicom(std::path::PathBuf),
    /// A front-end database.
    Table(String),
}

/// Outcome of one worker, under its route name.
#[derive(Default)]
struct Tally {
    name: String,
    ok: u64,
    refused: u64,
    resent: u64,
    acknowledged: Vec<String>,
}

impl Tally {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    fn accept(&mut self, id: String) {
        self.ok += 1;
        self.acknowledged.push(id);
    }
}

/// Waits before a resend (doubling from 100 ms to 2 s), or says that `deadline` has passed.
async fn back_off(pause: &mut Duration, deadline: Instant) -> bool {
    if Instant::now() >= deadline {
        return false;
    }
    tokio::time::sleep(*pause).await;
    *pause = (*pause * 2).min(Duration::from_secs(2));
    true
}

async fn mllp_worker(
    name: String,
    addr: SocketAddr,
    retry_for: Duration,
    mut rx: mpsc::Receiver<Outgoing>,
) -> Result<Tally, SendError> {
    let fail = |message: String| SendError::Transport {
        route: name.clone(),
        message,
    };
    let mut client: Option<MllpClient> = None;
    let mut tally = Tally::new(&name);
    while let Some(message) = rx.recv().await {
        let deadline = Instant::now() + retry_for;
        let mut pause = Duration::from_millis(100);
        let mut refusals = 0;
        loop {
            let answer = match client.as_mut() {
                Some(c) => c.exchange(&message.body).await,
                None => match MllpClient::connect(addr).await {
                    Ok(c) => client.insert(c).exchange(&message.body).await,
                    Err(e) => Err(e),
                },
            };
            let code = match answer {
                Ok(code) => code,
                Err(e) => {
                    // Stored or not, the hub did not acknowledge it: reconnect and resend
                    // (the same message id, so a stored copy and the resent one converge).
                    client = None;
                    if !back_off(&mut pause, deadline).await {
                        return Err(fail(format!("{addr}: {e}")));
                    }
                    tracing::debug!(route = %name, error = %e, "Connection lost; resending.");
                    tally.resent += 1;
                    continue;
                }
            };
            match code.as_str() {
                "AA" | "CA" => {
                    tally.accept(message.id.clone());
                    break;
                }
                // AR/CR: the hub could not store it now (broker down): resend.
                "AR" | "CR" if refusals < 5 || Instant::now() < deadline => {
                    refusals += 1;
                    tally.resent += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                _ => {
                    tracing::warn!(route = %name, message_id = %message.id, code = %code, "Message refused.");
                    tally.refused += 1;
                    break;
                }
            }
        }
    }
    Ok(tally)
}

async fn settlement_worker(
    url: String,
    token: String,
    batch: usize,
    retry_for: Duration,
    mut rx: mpsc::Receiver<Outgoing>,
) -> Result<Tally, SendError> {
    let name = "settlements".to_owned();
    let fail = |message: String| SendError::Transport {
        route: name.clone(),
        message,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut tally = Tally::new(&name);
    let mut open = true;
    while open {
        let mut records = Vec::with_capacity(batch);
        match rx.recv().await {
            Some(m) => records.push(m.body),
            None => break,
        }
        while records.len() < batch {
            match rx.try_recv() {
                Ok(m) => records.push(m.body),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let body = format!("[{}]", records.join(","));
        let deadline = Instant::now() + retry_for;
        let mut pause = Duration::from_millis(100);
        let mut attempts = 0;
        loop {
            // Resending the whole batch is safe: keys and event ids are deterministic.
            let sent = client
                .post(&url)
                .bearer_auth(&token)
                .header("Content-Type", "application/json")
                .body(body.clone())
                .send()
                .await;
            let (status, answer) = match sent {
                Ok(response) => {
                    let status = response.status();
                    (status, response.json::<serde_json::Value>().await)
                }
                Err(e) => {
                    if !back_off(&mut pause, deadline).await {
                        return Err(fail(e.to_string()));
                    }
                    tally.resent += 1;
                    continue;
                }
            };
            if status.as_u16() == 503 && (attempts < 5 || Instant::now() < deadline) {
                attempts += 1;
                tally.resent += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => {
                    // The connection broke while the answer was read.
                    if !back_off(&mut pause, deadline).await {
                        return Err(fail(e.to_string()));
                    }
                    tally.resent += 1;
                    continue;
                }
            };
            if !status.is_success() {
                return Err(fail(format!("HTTP {status}: {answer}")));
            }
            for record in answer["records"].as_array().into_iter().flatten() {
                if record["status"] == "accepted" {
                    let id = record["message_id"].as_str().unwrap_or_default();
                    tally.accept(id.to_owned());
                } else {
                    tracing::warn!(answer = %record, "Settlement refused.");
                    tally.refused += 1;
                }
            }
            break;
        }
    }
    Ok(tally)
}

async fn dicom_worker(
    dir: std::path::PathBuf,
    mut rx: mpsc::Receiver<Outgoing>,
) -> Result<Tally, SendError> {
    let name = "dicom:files".to_owned();
    let fail = |message: String| SendError::Transport {
        route: name.clone(),
        message,
    };
    let mut tally = Tally::new(&name);
    while let Some(message) = rx.recv().await {
        let instance: crate::dicom::Instance =
            serde_json::from_str(&message.body).map_err(|e| fail(e.to_string()))?;
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || instance.write_into(&dir))
            .await
            .map_err(|e| fail(e.to_string()))?
            .map_err(|e| fail(e.to_string()))?;
        tally.accept(message.id.clone());
    }
    Ok(tally)
}

async fn table_worker(url: String, mut rx: mpsc::Receiver<Outgoing>) -> Result<Tally, SendError> {
    let name = "table:rows".to_owned();
    let fail = |message: String| SendError::Transport {
        route: name.clone(),
        message,
    };
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(&url)
        .await
        .map_err(|e| fail(format!("front-end database: {e}")))?;
    let mut created = std::collections::HashSet::new();
    let mut tally = Tally::new(&name);
    while let Some(message) = rx.recv().await {
        let Route::TableRow { facility } = &message.route else {
            continue;
        };
        if created.insert(facility.clone()) {
            crate::table::create(&pool, facility)
                .await
                .map_err(|e| fail(e.to_string()))?;
        }
        let row: serde_json::Value =
            serde_json::from_str(&message.body).map_err(|e| fail(e.to_string()))?;
        crate::table::upsert(&pool, facility, &row)
            .await
            .map_err(|e| fail(e.to_string()))?;
        tally.accept(message.id.clone());
    }
    pool.close().await;
    Ok(tally)
}

/// The most a paced run sends at once to make up for slots it missed.
const CATCH_UP: Duration = Duration::from_secs(1);

/// Sends `messages` (in order) to `targets`.
///
/// # Errors
/// A connection could not be made, broke, or the settlement API answered with an error.
pub async fn send(messages: &[Outgoing], targets: &Targets) -> Result<Report, SendError> {
    let started = Instant::now();
    let mut report = Report::default();
    let mut senders: HashMap<String, mpsc::Sender<Outgoing>> = HashMap::new();
    let mut workers = tokio::task::JoinSet::new();
    let interval = (targets.rate > 0.0).then(|| Duration::from_secs_f64(1.0 / targets.rate));
    let mut next_slot = tokio::time::Instant::now();
    for message in messages {
        // One connection per listener address (a default HIS listener is shared).
        let worker = match &message.route {
            Route::Mllp { facility, source } => targets
                .mllp_addr(facility, *source)
                .map(|addr| Worker::Mllp(route_name(&message.route), addr)),
            Route::Settlement => match (&targets.settlements_url, &targets.token) {
                (Some(url), Some(token)) => Some(Worker::Settlement(url.clone(), token.clone())),
                _ => None,
            },
            Route::DicomFile { .. } => targets.dicom_drop.clone().map(Worker::Dicom),
            Route::TableRow { .. } => targets.table_url.clone().map(Worker::Table),
        };
        let Some(worker) = worker else {
            report.skipped += 1;
            continue;
        };
        if let Some(interval) = interval {
            // An absolute schedule: slots missed to timer granularity or a busy machine are made
            // up at once (at most a second's worth), so the average rate is the one asked for.
            tokio::time::sleep_until(next_slot).await;
            let now = tokio::time::Instant::now();
            next_slot = next_slot.max(now.checked_sub(CATCH_UP).unwrap_or(now)) + interval;
        }
        let key = match &worker {
            Worker::Mllp(_, addr) => format!("mllp:{addr}"),
            Worker::Settlement(..) => "settlements".to_owned(),
            Worker::Dicom(dir) => format!("dicom:{}", dir.display()),
            Worker::Table(_) => "table".to_owned(),
        };
        let tx = senders.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::channel(1024);
            match worker {
                Worker::Mllp(name, addr) => {
                    workers.spawn(mllp_worker(name, addr, targets.retry_for, rx))
                }
                Worker::Settlement(url, token) => workers.spawn(settlement_worker(
                    url,
                    token,
                    targets.batch.max(1),
                    targets.retry_for,
                    rx,
                )),
                Worker::Dicom(dir) => workers.spawn(dicom_worker(dir, rx)),
                Worker::Table(url) => workers.spawn(table_worker(url, rx)),
            };
            tx
        });
        if tx.send(message.clone()).await.is_err() {
            // The worker stopped on an error: collect it below.
            break;
        }
    }
    drop(senders);
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(tally)) => {
                let kind = tally.name.split(':').take(2).collect::<Vec<_>>().join(":");
                *report.accepted.entry(kind.clone()).or_default() += tally.ok;
                *report.rejected.entry(kind.clone()).or_default() += tally.refused;
                report.resent += tally.resent;
                let ids = tally.acknowledged.into_iter();
                report.acknowledged.extend(ids.map(|id| (kind.clone(), id)));
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
            }
            Err(e) => {
                first_error.get_or_insert(SendError::Transport {
                    route: "worker".into(),
                    message: e.to_string(),
                });
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
