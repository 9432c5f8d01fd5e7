//! Drop folders of Part-10 files: each sender's `<drop_dir>/incoming/` is scanned every
//! `poll_interval_ms` ([`hub_ingress::dropfolder`] for the shared rules).
//!
//! **Which files are read.** Any file name (modalities write `IM000001`, `1.2.840….dcm`,
//! `xxx.DCM`), except hidden files, `*.part` files (renamed when complete) and files whose size
//! or modification time changed within `stable_secs`.
//!
//! **Where a file goes**, only once its outcome is durable:
//! - its metadata is in the raw topic -> `done/`;
//! - it is not a Part-10 file, cannot be parsed, or lacks its UIDs -> the DLQ (its first
//!   `dlq_max_bytes` bytes and the error code), then `failed/` with `<name>.errors.json`;
//! - larger than `max_file_bytes` -> `failed/` with a sidecar, unread;
//! - the broker did not confirm it (raw or DLQ) -> it stays in `incoming/` and is read again at
//!   the next scan. A crash mid-file does the same; repeats are harmless (same key, same ids).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hub_ingress::auth::Sender;
use hub_ingress::dropfolder::{Stability, is_candidate, move_file};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::ingest::{DICOM_PART10, Ingest, now_rfc3339};
use crate::instance::read_part10;
use crate::metrics::Channel;
use crate::settings::DropFolderSettings;

/// One sender's folder.
#[derive(Debug, Clone)]
pub struct DropFolder {
    /// The sender.
    pub sender: Arc<Sender>,
    /// The folder holding `incoming/`, `done/`, `failed/`.
    pub dir: PathBuf,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    /// Moved to `done/`.
    Done,
    /// Moved to `failed/` with a sidecar.
    Failed,
    /// Left in `incoming/` (the broker did not confirm it, or an I/O error).
    Retry,
}

impl FileOutcome {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::Failed => "failed",
            Self::Retry => "retry",
        }
    }
}

/// Scans every drop folder.
#[derive(Debug)]
pub struct Scanner {
    folders: Vec<DropFolder>,
    ingest: Arc<Ingest>,
    settings: DropFolderSettings,
    seen: Stability,
}

impl Scanner {
    /// A scanner of `folders`.
    pub fn new(
        folders: Vec<DropFolder>,
        ingest: Arc<Ingest>,
        settings: DropFolderSettings,
    ) -> Self {
        let seen = Stability::new(Duration::from_secs(settings.stable_secs));
        Self {
            folders,
            ingest,
            settings,
            seen,
        }
    }

    /// Scans until `stop` is cancelled; a file being read is finished first.
    pub async fn run(mut self, stop: CancellationToken) {
        let interval = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        while !stop.is_cancelled() {
            self.scan_once(&stop).await;
            tokio::select! {
                () = stop.cancelled() => {}
                () = tokio::time::sleep(interval) => {}
            }
        }
    }

    /// One pass over every folder; returns the outcomes of the files handled.
    pub async fn scan_once(&mut self, stop: &CancellationToken) -> Vec<FileOutcome> {
        let mut outcomes = Vec::new();
        let mut alive: Vec<PathBuf> = Vec::new();
        for folder in self.folders.clone() {
            let incoming = folder.dir.join("incoming");
            let mut entries = match tokio::fs::read_dir(&incoming).await {
                Ok(entries) => entries,
                Err(e) => {
                    warn!(sender = %folder.sender.code, error = %e, "Cannot list the drop folder.");
                    continue;
                }
            };
            let mut ready = Vec::new();
            while let Ok(Some(entry)) = entries.next_entry().await {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !is_candidate(&name) {
                    continue;
                }
                let Ok(meta) = entry.metadata().await else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                let path = entry.path();
                alive.push(path.clone());
                if self.seen.is_stable(&path, meta.len(), meta.modified().ok()) {
                    ready.push((name, path, meta.len()));
                }
            }
            ready.sort();
            for (name, path, size) in ready {
                if stop.is_cancelled() {
                    return outcomes;
                }
                let started = Instant::now();
                let outcome = self.handle(&folder, &name, &path, size).await;
                let seconds =
                    (outcome != FileOutcome::Retry).then(|| started.elapsed().as_secs_f64());
                self.ingest
                    .metrics
                    .file(&folder.sender.code, outcome.as_str(), seconds);
                if outcome != FileOutcome::Retry {
                    self.seen.forget(&path);
                }
                outcomes.push(outcome);
            }
        }
        self.seen.retain(&alive);
        outcomes
    }

    async fn handle(&self, folder: &DropFolder, name: &str, path: &Path, size: u64) -> FileOutcome {
        let sender = &folder.sender;
        if size > self.settings.max_file_bytes {
            let errors = json!({ "file": name, "error_code": "file_too_large",
                "message": format!("the file exceeds max_file_bytes {}; nothing was read", self.settings.max_file_bytes) });
            return finish(folder, name, path, Some(&errors)).await;
        }
        self.ingest.metrics.bytes(&sender.code, Channel::File, size);
        let reading = path.to_path_buf();
        let read = match tokio::task::spawn_blocking(move || read_part10(&reading)).await {
            Ok(read) => read,
            Err(e) => {
                warn!(sender = %sender.code, error = %e, "Reading a drop file panicked; retrying later.");
                return FileOutcome::Retry;
            }
        };
        match read {
            Ok(instance) => {
                let stored = self
                    .ingest
                    .store(
                        sender,
                        Channel::File,
                        std::slice::from_ref(&instance),
                        &now_rfc3339(),
                    )
                    .await;
                if !stored.iter().all(|s| *s) {
                    warn!(sender = %sender.code,
                        "The broker did not confirm a file's instance; it stays in incoming/.");
                    return FileOutcome::Retry;
                }
                info!(sender = %sender.code, bytes = size, "DICOM file stored.");
                finish(folder, name, path, None).await
            }
            Err(invalid) => {
                let head = match first_bytes(path, self.settings.dlq_max_bytes).await {
                    Ok(head) => head,
                    Err(e) => {
                        warn!(sender = %sender.code, error = %e, "Cannot read a drop file; retrying later.");
                        return FileOutcome::Retry;
                    }
                };
                let truncated = (head.len() as u64) < size;
                let detail = if truncated {
                    format!(
                        "{} (first {} of {size} bytes kept)",
                        invalid.detail,
                        head.len()
                    )
                } else {
                    invalid.detail.clone()
                };
                let kept = self
                    .ingest
                    .dead_letter(
                        sender,
                        Channel::File,
                        &head,
                        DICOM_PART10,
                        invalid.code,
                        &detail,
                    )
                    .await;
                if !kept {
                    return FileOutcome::Retry;
                }
                warn!(sender = %sender.code, error_code = invalid.code, "Unreadable DICOM file dead-lettered.");
                let errors = json!({ "file": name, "error_code": invalid.code,
                    "message": invalid.detail, "dead_lettered": true,
                    "dead_lettered_bytes": head.len(), "file_bytes": size });
                finish(folder, name, path, Some(&errors)).await
            }
        }
    }
}

/// At most `limit` bytes from the start of the file.
async fn first_bytes(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    let file = tokio::fs::File::open(path).await?;
    let mut head = Vec::new();
    file.take(limit as u64).read_to_end(&mut head).await?;
    Ok(head)
}

/// Moves the file to `done/` (no errors) or to `failed/` after writing its sidecar.
async fn finish(
    folder: &DropFolder,
    name: &str,
    path: &Path,
    errors: Option<&serde_json::Value>,
) -> FileOutcome {
    let (sub, outcome) = match errors {
        None => ("done", FileOutcome::Done),
        Some(_) => ("failed", FileOutcome::Failed),
    };
    match move_file(&folder.dir, sub, name, path, errors).await {
        Ok(_) => outcome,
        Err(e) => {
            warn!(sender = %folder.sender.code, error = %e, "Cannot move a drop file; retrying later.");
            FileOutcome::Retry
        }
    }
}
