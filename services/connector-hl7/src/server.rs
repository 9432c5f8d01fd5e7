//! An MLLP listener: accepts connections, refuses addresses outside the allow-list and
//! connections beyond the limit, performs the TLS handshake, and serves each connection in its
//! own task.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::access::AllowList;
use crate::connection::{self, Ended, Limits};
use crate::ingest::Ingest;

/// A bound listener, ready to accept.
pub struct MllpListener {
    /// The socket.
    pub tcp: TcpListener,
    /// The facility's feed behind it.
    pub ingest: Arc<Ingest>,
    /// Who may connect.
    pub allow: AllowList,
    /// TLS, when configured.
    pub tls: Option<TlsAcceptor>,
    /// Connection limits.
    pub limits: Limits,
    /// Connections open at once.
    pub max_connections: usize,
}

impl std::fmt::Debug for MllpListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MllpListener")
            .field("tcp", &self.tcp)
            .field("facility", &self.ingest.facility)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// Decrements the open-connections gauge when a connection task ends, however it ends.
struct OpenGuard(prometheus::IntGauge);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl MllpListener {
    /// The bound address.
    ///
    /// # Errors
    /// The socket has no local address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// Accepts connections until `shutdown`, spawning each on `tracker`.
    pub async fn accept_loop(self, shutdown: CancellationToken, tracker: TaskTracker) {
        let slots = Arc::new(Semaphore::new(self.max_connections));
        let metrics = self.ingest.metrics.clone();
        let facility = self.ingest.facility.clone();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = self.tcp.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    warn!(facility = %facility, error = %e, "Accept failed.");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            if !self.allow.allows(peer.ip()) {
                metrics.refused("not_allowed");
                warn!(facility = %facility, peer = %peer.ip(), "Connection refused: address not allowed.");
                continue;
            }
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                metrics.refused("connection_limit");
                warn!(facility = %facility, peer = %peer.ip(), limit = self.max_connections,
                    "Connection refused: too many open connections.");
                continue;
            };
            let _ = stream.set_nodelay(true);
            metrics.open.inc();
            let guard = OpenGuard(metrics.open.clone());
            let ingest = Arc::clone(&self.ingest);
            let tls = self.tls.clone();
            let limits = self.limits;
            let token = shutdown.clone();
            tracker.spawn(async move {
                let _guard = guard;
                let _permit = permit;
                let ended = handle(stream, peer, tls, ingest.clone(), limits, token).await;
                match ended {
                    Ended::PeerClosed | Ended::Shutdown => {
                        debug!(facility = %ingest.facility, peer = %peer, reason = ?ended, "Connection closed.");
                    }
                    _ => {
                        info!(facility = %ingest.facility, peer = %peer, reason = ?ended, "Connection closed.");
                    }
                }
            });
        }
        info!(facility = %facility, source = self.ingest.source, "Listener stopped accepting.");
    }
}

async fn handle(
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    ingest: Arc<Ingest>,
    limits: Limits,
    shutdown: CancellationToken,
) -> Ended {
    debug!(facility = %ingest.facility, peer = %peer, "Connection accepted.");
    let Some(acceptor) = tls else {
        return connection::serve(stream, ingest, limits, shutdown).await;
    };
    match tokio::time::timeout(limits.read_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => connection::serve(stream, ingest, limits, shutdown).await,
        Ok(Err(e)) if crate::tls::is_wrong_name(&e) => {
            // The certificate's names are not logged: a CN may be a person's name.
            ingest.metrics.refused("client_certificate_name");
            warn!(facility = %ingest.facility, peer = %peer,
                "TLS client certificate refused: it does not name this listener's facility.");
            Ended::ReadFailed
        }
        Ok(Err(e)) => {
            ingest.metrics.refused("tls_handshake");
            warn!(facility = %ingest.facility, peer = %peer, error = %e, "TLS handshake failed.");
            Ended::ReadFailed
        }
        Err(_elapsed) => {
            ingest.metrics.refused("tls_handshake");
            warn!(facility = %ingest.facility, peer = %peer, "TLS handshake timed out.");
            Ended::ReadTimeout
        }
    }
}
