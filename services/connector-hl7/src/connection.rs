//! One MLLP connection: a reader that frames and submits messages, and a writer that sends their
//! ACKs in order as the broker confirms them.
//!
//! The reader does not wait for one message's ACK before reading the next: a sender may pipeline
//! up to `max_in_flight` messages, which are written to Kafka together; the writer awaits the
//! replies in arrival order, so ACKs leave in order. Everything is per connection, so a slow,
//! silent or half-open peer only ever holds up itself:
//! - inside a frame, each read must arrive within `read_timeout`; between frames the connection
//!   may stay silent for `idle_timeout`;
//! - an ACK must be written within `write_timeout` (a sender that never reads is dropped);
//! - more than `max_message_bytes` of garbage outside any frame closes the connection.
//!
//! - a frame takes its size from the connector-wide [`crate::budget::ByteBudget`] before it is
//!   submitted and returns it once answered: when the budget is spent, reading waits.
//!
//! On shutdown the reader stops taking new frames (complete frames already received are still
//! processed), the writer sends every remaining ACK, and the connection closes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, mpsc};
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::ingest::{Ingest, PendingReply};
use crate::mllp::{CR, EB, MllpCodec, MllpItem, SB};

/// Per-connection limits, from the listener's settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest pause between reads inside a frame.
    pub read_timeout: Duration,
    /// Longest silence between frames.
    pub idle_timeout: Duration,
    /// Longest time to write one ACK.
    pub write_timeout: Duration,
    /// Messages awaiting their ACK per connection.
    pub max_in_flight: usize,
    /// Largest message.
    pub max_message_bytes: usize,
}

/// Why a connection ended (for the log; never contains message data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The peer closed it.
    PeerClosed,
    /// Nothing arrived for `idle_timeout`.
    Idle,
    /// A frame stalled for `read_timeout`.
    ReadTimeout,
    /// The connector is shutting down.
    Shutdown,
    /// The peer did not take its ACKs, or the socket failed.
    WriteFailed,
    /// Too much data outside frames.
    Garbage,
    /// The socket failed while reading.
    ReadFailed,
}

/// A submitted frame: when it was read, the future of its reply, its share of the byte budget.
type InFlight = (Instant, PendingReply, Option<OwnedSemaphorePermit>);

/// Serves one connection until it ends; returns why.
pub async fn serve<S>(
    stream: S,
    ingest: Arc<Ingest>,
    limits: Limits,
    shutdown: CancellationToken,
) -> Ended
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (reader, writer) = tokio::io::split(stream);
    let (tx, rx) = mpsc::channel(limits.max_in_flight.max(1));
    let write_failed = CancellationToken::new();
    let metrics = ingest.metrics.clone();
    let write = write_acks(
        writer,
        rx,
        limits.write_timeout,
        metrics,
        write_failed.clone(),
    );
    let read = read_frames(reader, ingest, limits, tx, shutdown, write_failed.clone());
    let (ended, ()) = tokio::join!(read, write);
    if write_failed.is_cancelled() {
        Ended::WriteFailed
    } else {
        ended
    }
}

async fn read_frames<R: AsyncRead + Unpin>(
    mut reader: R,
    ingest: Arc<Ingest>,
    limits: Limits,
    tx: mpsc::Sender<InFlight>,
    shutdown: CancellationToken,
    write_failed: CancellationToken,
) -> Ended {
    let mut codec = MllpCodec::new(limits.max_message_bytes);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut garbage: u64 = 0;
    // Set when the stream ended (EOF, or a stalled frame): decode what is left, then stop.
    let mut finish: Option<Ended> = None;
    loop {
        loop {
            let decoded = if finish.is_some() {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            let item = match decoded {
                Ok(Some(item)) => item,
                Ok(None) | Err(_) => break,
            };
            garbage = 0;
            let size = match &item {
                MllpItem::Frame(frame) => frame.len(),
                MllpItem::TooLarge { head, .. } => head.len(),
                MllpItem::Truncated(partial) => partial.len(),
            };
            // Waits while the connector holds too many bytes; frees as ACKs go out.
            let permit = ingest.budget.take(size).await;
            let started = Instant::now();
            let pending = match item {
                MllpItem::Frame(frame) => ingest.submit(frame).await,
                MllpItem::TooLarge { head, size } => ingest.too_large(head, size).await,
                MllpItem::Truncated(partial) => ingest.truncated(partial).await,
            };
            if tx.send((started, pending, permit)).await.is_err() {
                return Ended::WriteFailed;
            }
        }
        let discarded = codec.take_discarded();
        if discarded > 0 {
            ingest.metrics.discarded.inc_by(discarded);
            garbage += discarded;
            if garbage > limits.max_message_bytes as u64 {
                return Ended::Garbage;
            }
        }
        if let Some(ended) = finish {
            return ended;
        }
        if shutdown.is_cancelled() {
            return Ended::Shutdown;
        }
        let in_frame = codec.in_frame();
        let limit = if in_frame {
            limits.read_timeout
        } else {
            limits.idle_timeout
        };
        if buf.capacity() - buf.len() < 8 * 1024 {
            buf.reserve(64 * 1024);
        }
        let read = tokio::select! {
            () = shutdown.cancelled() => return Ended::Shutdown,
            () = write_failed.cancelled() => return Ended::WriteFailed,
            read = tokio::time::timeout(limit, reader.read_buf(&mut buf)) => read,
        };
        match read {
            Ok(Ok(0)) => finish = Some(Ended::PeerClosed),
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Ended::ReadFailed,
            // The partial frame goes to the DLQ as truncated.
            Err(_elapsed) if in_frame => finish = Some(Ended::ReadTimeout),
            Err(_elapsed) => return Ended::Idle,
        }
    }
}

async fn write_acks<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<InFlight>,
    write_timeout: Duration,
    metrics: crate::metrics::ListenerMetrics,
    failed: CancellationToken,
) {
    let mut frame = Vec::with_capacity(512);
    while let Some((started, pending, permit)) = rx.recv().await {
        let reply = pending.await;
        // The bytes are no longer held once the outcome is known (the ACK is small).
        drop(permit);
        let Some(body) = reply.body else {
            continue;
        };
        if failed.is_cancelled() {
            continue; // Keep awaiting outcomes (their metrics), but the peer is gone.
        }
        frame.clear();
        frame.push(SB);
        frame.extend_from_slice(&body);
        frame.extend_from_slice(&[EB, CR]);
        let written = tokio::time::timeout(write_timeout, async {
            writer.write_all(&frame).await?;
            writer.flush().await
        })
        .await;
        match written {
            Ok(Ok(())) => {
                for code in &reply.codes {
                    metrics.ack(code.as_str());
                }
                metrics.latency.observe(started.elapsed().as_secs_f64());
            }
            Ok(Err(e)) => {
                debug!(error = %e, "Cannot write an ACK; closing the connection.");
                failed.cancel();
            }
            Err(_elapsed) => {
                info!("The sender did not take its ACK in time; closing the connection.");
                failed.cancel();
            }
        }
    }
    let _ = writer.shutdown().await;
}
