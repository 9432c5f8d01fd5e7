//! A hub service binary run as a child process, with its settings file and log in a test's
//! directory: for tests that watch the process from outside (its memory, its exit status) or
//! signal it, as an operator would.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::tansu::signal;

/// A running service binary; killed when dropped.
#[derive(Debug)]
pub struct ChildService {
    child: Child,
    log: PathBuf,
}

impl ChildService {
    /// Writes `config` to `dir/<name>.yaml` and starts `binary --config <that file>` with
    /// `RUST_LOG=<log_filter>`, stdout and stderr in `dir/<name>.log`.
    ///
    /// # Errors
    /// The files cannot be written or the binary cannot start.
    pub fn start(
        binary: &Path,
        name: &str,
        dir: &Path,
        config: &str,
        log_filter: &str,
    ) -> anyhow::Result<Self> {
        let file = dir.join(format!("{name}.yaml"));
        std::fs::write(&file, config)?;
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log)?;
        let child = Command::new(binary)
            .arg("--config")
            .arg(&file)
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::from(out.try_clone()?))
            .stderr(Stdio::from(out))
            .spawn()?;
        Ok(Self { child, log })
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the service logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `SIGTERM` and waits up to `timeout` for the exit status.
    ///
    /// # Errors
    /// The signal cannot be sent, or the process is still running after `timeout`.
    pub fn stop(mut self, timeout: Duration) -> anyhow::Result<ExitStatus> {
        signal(self.pid(), "TERM")?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            anyhow::ensure!(Instant::now() < deadline, "the service did not stop");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ChildService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
