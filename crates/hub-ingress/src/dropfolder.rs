//! Drop-folder mechanics shared by the connectors that read files senders drop.
//!
//! A sender's folder holds `incoming/` (where it drops files), `done/` and `failed/`. Two rules
//! keep half-written files out, and a connector applies both: a file still named `*.part` (or a
//! hidden file) is never read, because senders write `name.ext.part` and rename it when complete
//! (the rename is atomic); and any other file is read only once its size and modification time
//! stayed the same for a while ([`Stability`]), for senders that cannot rename.
//!
//! Files leave `incoming/` by `rename` inside the sender's folder (one filesystem, so the move is
//! atomic), only after their content is durable ([`move_file`]). A name already taken in the
//! target folder gets a `<unix ms>-` prefix: nothing is overwritten. A file moved to `failed/`
//! gets a `<name>.errors.json` sidecar, written under a temporary name and renamed, so that an
//! operator never sees half of one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The sub-folders of a sender's drop folder.
pub const SUBFOLDERS: [&str; 3] = ["incoming", "done", "failed"];

/// Creates `incoming/`, `done/` and `failed/` under `dir`.
///
/// # Errors
/// A folder cannot be created.
pub fn prepare(dir: &Path) -> std::io::Result<()> {
    for sub in SUBFOLDERS {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    Ok(())
}

/// Whether a file named `name` may be read at all: not hidden, not a `.part` file still being
/// written (case-insensitive).
pub fn is_candidate(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !lower.starts_with('.') && !lower.ends_with(".part")
}

/// Remembers each candidate file's size and modification time, and since when both are
/// unchanged.
#[derive(Debug, Default)]
pub struct Stability {
    stable_for: Duration,
    seen: HashMap<PathBuf, (u64, SystemTime, Instant)>,
}

impl Stability {
    /// A tracker that calls a file stable after `stable_for` without change (zero: at once).
    pub fn new(stable_for: Duration) -> Self {
        Self {
            stable_for,
            seen: HashMap::new(),
        }
    }

    /// Whether the file at `path`, now `size` bytes with modification time `mtime`, has been
    /// unchanged for long enough. The first sighting (or any change) starts the clock.
    pub fn is_stable(&mut self, path: &Path, size: u64, mtime: Option<SystemTime>) -> bool {
        if self.stable_for.is_zero() {
            return true;
        }
        let mtime = mtime.unwrap_or(SystemTime::UNIX_EPOCH);
        let now = Instant::now();
        match self.seen.get(path) {
            Some((s, m, since)) if *s == size && *m == mtime => {
                now.duration_since(*since) >= self.stable_for
            }
            _ => {
                self.seen.insert(path.to_path_buf(), (size, mtime, now));
                false
            }
        }
    }

    /// Forgets `path` (it was moved away).
    pub fn forget(&mut self, path: &Path) {
        self.seen.remove(path);
    }

    /// Forgets every file not in `alive` (files that disappeared between scans).
    pub fn retain(&mut self, alive: &[PathBuf]) {
        self.seen.retain(|p, _| alive.contains(p));
    }
}

/// Moves the file at `path` (named `name`) into `dir/<sub>/`, first writing
/// `<name>.errors.json` with `sidecar` beside its new place when one is given. Returns the new
/// path.
///
/// # Errors
/// The sidecar cannot be written or the file cannot be moved; the file then stays where it was.
pub async fn move_file(
    dir: &Path,
    sub: &str,
    name: &str,
    path: &Path,
    sidecar: Option<&serde_json::Value>,
) -> std::io::Result<PathBuf> {
    let target_dir = dir.join(sub);
    let mut target_name = name.to_owned();
    if tokio::fs::try_exists(target_dir.join(&target_name))
        .await
        .unwrap_or(true)
    {
        let ms = chrono::Utc::now().timestamp_millis();
        target_name = format!("{ms}-{name}");
    }
    if let Some(errors) = sidecar {
        let sidecar = target_dir.join(format!("{target_name}.errors.json"));
        let tmp = target_dir.join(format!(".{target_name}.errors.json.tmp"));
        let text = serde_json::to_vec_pretty(errors).unwrap_or_default();
        tokio::fs::write(&tmp, &text).await?;
        tokio::fs::rename(&tmp, &sidecar).await?;
    }
    let target = target_dir.join(&target_name);
    tokio::fs::rename(path, &target).await?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_and_hidden_files_are_never_candidates() {
        assert!(is_candidate("a.dcm"));
        assert!(is_candidate("IM000001"));
        for skipped in ["a.dcm.part", "a.PART", ".a.dcm"] {
            assert!(!is_candidate(skipped), "{skipped}");
        }
    }

    #[test]
    fn a_file_is_stable_only_after_it_stopped_changing() {
        let mut s = Stability::new(Duration::from_millis(30));
        let p = Path::new("/x/a");
        let t = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(5));
        assert!(!s.is_stable(p, 10, t));
        std::thread::sleep(Duration::from_millis(40));
        assert!(!s.is_stable(p, 11, t), "a change restarts the clock");
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.is_stable(p, 11, t));
        assert!(Stability::new(Duration::ZERO).is_stable(p, 1, None));
    }

    #[tokio::test]
    async fn moves_never_overwrite_and_write_the_sidecar_first() {
        let dir = std::env::temp_dir().join(format!("hub-ingress-{}", std::process::id()));
        prepare(&dir).unwrap();
        for content in ["one", "two"] {
            let p = dir.join("incoming/f.dcm");
            std::fs::write(&p, content).unwrap();
            let side = serde_json::json!({"error_code": "x"});
            move_file(&dir, "failed", "f.dcm", &p, Some(&side))
                .await
                .unwrap();
        }
        let mut names: Vec<String> = std::fs::read_dir(dir.join("failed"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), 4, "{names:?}");
        assert!(names.contains(&"f.dcm".to_owned()));
        assert!(names.contains(&"f.dcm.errors.json".to_owned()));
        assert_eq!(
            std::fs::read_to_string(dir.join("failed/f.dcm")).unwrap(),
            "one"
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
