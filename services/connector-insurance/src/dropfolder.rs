//! Drop folders: each sender's `<drop_dir>/incoming/` is scanned every `poll_interval_ms`.
//!
//! **Which files are read.** `*.jsonl` (also `*.ndjson`) and `*.csv`, case-insensitive. Two rules
//! keep half-written files out, and both apply: a file still named `*.part` is never read (a
//! sender writes `name.jsonl.part` and renames it when complete: the rename is atomic), and any
//! other file is read only after its size and modification time stayed the same for
//! `stable_secs` (for senders that cannot rename). Hidden files and other extensions are ignored.
//!
//! **Where a file goes.** Files move by `rename` inside the sender's folder (one filesystem, so
//! the move is atomic), only after every record is durable:
//! - all records valid and in the raw topic -> `done/`;
//! - some records invalid -> `failed/`, with `<name>.errors.json` beside it listing each invalid
//!   line's errors (names and reasons). The valid lines *are* in the raw topic and the invalid
//!   ones in the DLQ: `failed/` means "needs a look", not "nothing stored". A corrected file can be
//!   dropped again whole: keys are deterministic and downstream de-duplicates.
//! - the file cannot be read as a whole (bad CSV header or charset) -> DLQ (whole file), then
//!   `failed/` with a sidecar; larger than `max_file_bytes` -> `failed/` with a sidecar (kept on
//!   disk, not in Kafka);
//! - the broker did not confirm every record (raw or DLQ) -> the file stays in `incoming/` and
//!   is read again at the next scan. A crash mid-file does the same. Repeats are harmless.
//!
//! A name already taken in `done/` or `failed/` gets a `<unix ms>-` prefix: nothing is
//! overwritten.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use encoding_rs::Encoding;
use hub_ingress::dropfolder::{Stability, is_candidate, move_file};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::auth::Sender;
use crate::csv_records::split_csv;
use crate::http::report;
use crate::ingest::{Ingest, Outcome, RecordOutcome, now_rfc3339};
use crate::metrics::Channel;
use crate::records::split_lines;
use crate::settings::DropFolderSettings;

/// One sender's folder.
#[derive(Debug, Clone)]
pub struct DropFolder {
    /// The sender.
    pub sender: Arc<Sender>,
    /// The folder holding `incoming/`, `done/`, `failed/`.
    pub dir: PathBuf,
    /// Charset of CSV files.
    pub csv_charset: &'static Encoding,
}

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOutcome {
    /// Moved to `done/`.
    Done,
    /// Moved to `failed/` with a sidecar.
    Failed,
    /// Left in `incoming/` (the broker did not confirm everything, or an I/O error).
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Format {
    JsonLines,
    Csv,
}

/// The format of a file named `name`, if it is to be read at all.
fn format_of(name: &str) -> Option<Format> {
    if !is_candidate(name) {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
        Some(Format::JsonLines)
    } else if lower.ends_with(".csv") {
        Some(Format::Csv)
    } else {
        None
    }
}

pub use hub_ingress::dropfolder::prepare;

/// Scans every drop folder.
#[derive(Debug)]
pub struct Scanner {
    folders: Vec<DropFolder>,
    ingest: Arc<Ingest>,
    settings: DropFolderSettings,
    /// Size, mtime and since when both were seen unchanged, per candidate file.
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
                let Some(format) = format_of(&name) else {
                    continue;
                };
                let Ok(meta) = entry.metadata().await else {
                    continue;
                };
                if !meta.is_file() {
                    continue;
                }
                let path = entry.path();
                alive.push(path.clone());
                if self.seen.is_stable(&path, meta.len(), meta.modified().ok()) {
                    ready.push((name, path, format, meta.len()));
                }
            }
            ready.sort();
            for (name, path, format, size) in ready {
                if stop.is_cancelled() {
                    return outcomes;
                }
                let outcome = self.handle(&folder, &name, &path, format, size).await;
                self.ingest
                    .metrics
                    .file(&folder.sender.code, outcome.as_str());
                if outcome != FileOutcome::Retry {
                    self.seen.forget(&path);
                }
                outcomes.push(outcome);
            }
        }
        self.seen.retain(&alive);
        outcomes
    }

    async fn handle(
        &self,
        folder: &DropFolder,
        name: &str,
        path: &Path,
        format: Format,
        size: u64,
    ) -> FileOutcome {
        let sender = &folder.sender;
        if size > self.settings.max_file_bytes {
            let errors = json!({ "file": name, "error_code": "file_too_large",
                "message": format!("the file exceeds max_file_bytes {}; nothing was read", self.settings.max_file_bytes) });
            return finish(folder, name, path, Some(&errors)).await;
        }
        let bytes = match tokio::fs::read(path).await {
            Ok(bytes) => bytes,
            Err(e) => {
                warn!(sender = %sender.code, error = %e, "Cannot read a drop file; retrying later.");
                return FileOutcome::Retry;
            }
        };
        self.ingest
            .metrics
            .bytes(&sender.code, Channel::File, bytes.len());
        let records = match format {
            Format::JsonLines => split_lines(&bytes),
            Format::Csv => match split_csv(&bytes, folder.csv_charset) {
                Ok(records) => records,
                Err(e) => {
                    let detail = e.to_string();
                    let kept = self
                        .ingest
                        .dead_letter_whole(sender, &bytes, "text/csv", e.code(), &detail)
                        .await;
                    if !kept {
                        return FileOutcome::Retry;
                    }
                    let errors = json!({ "file": name, "error_code": e.code(), "message": detail,
                        "dead_lettered": true });
                    return finish(folder, name, path, Some(&errors)).await;
                }
            },
        };
        let received_at = now_rfc3339();
        let outcomes = self
            .ingest
            .ingest(sender, Channel::File, &records, &received_at)
            .await;
        if !outcomes.iter().all(RecordOutcome::is_durable) {
            warn!(sender = %sender.code, records = outcomes.len(),
                "The broker did not confirm every record of a file; it stays in incoming/.");
            return FileOutcome::Retry;
        }
        let rejected: Vec<_> = outcomes
            .iter()
            .filter(|o| matches!(o.outcome, Outcome::Rejected { .. }))
            .map(|o| report(o, "line"))
            .collect();
        info!(sender = %sender.code, records = outcomes.len(), rejected = rejected.len(),
            "Drop file stored.");
        if rejected.is_empty() {
            return finish(folder, name, path, None).await;
        }
        let sidecar = json!({
            "file": name,
            "received_at": received_at,
            "records": outcomes.len(),
            "accepted": outcomes.len() - rejected.len(),
            "rejected": rejected.len(),
            "message": "accepted lines are stored; rejected lines are in the dead-letter topic; \
                        fix them and drop them again (resending stored lines is harmless)",
            "errors": rejected,
        });
        finish(folder, name, path, Some(&sidecar)).await
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_known_files_are_read() {
        assert_eq!(format_of("a.jsonl"), Some(Format::JsonLines));
        assert_eq!(format_of("A.NDJSON"), Some(Format::JsonLines));
        assert_eq!(format_of("b.CSV"), Some(Format::Csv));
        for skipped in ["a.jsonl.part", "a.csv.PART", ".a.jsonl", "a.json", "a.txt"] {
            assert_eq!(format_of(skipped), None, "{skipped}");
        }
    }
}
