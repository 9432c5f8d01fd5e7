//! A private tansu broker for one test: started as a child process on a free loopback port, with
//! memory or SQLite storage, and stopped (killed) when dropped. Tests of faults use it to kill,
//! restart, freeze (`SIGSTOP`, a stalled broker: connections stay open, nothing is answered) and
//! thaw (`SIGCONT`) the broker without disturbing the shared one of `HUB_TEST_KAFKA`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Environment variable naming the tansu binary.
pub const TANSU_ENV: &str = "HUB_TANSU_BIN";

/// The tansu binary: `HUB_TANSU_BIN`, else the setup script's cache.
pub fn tansu_bin() -> PathBuf {
    std::env::var_os(TANSU_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/county-health-hub/tansu-0.6.0/bin/tansu")
        })
}

/// A free TCP port on 127.0.0.1 (free when asked; a test binds it soon after).
///
/// # Errors
/// No port can be bound.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Where the broker keeps its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// In memory: lost when the broker stops.
    Memory,
    /// `broker.db` in the broker's directory: survives a restart.
    Sqlite,
}

/// A running tansu broker.
#[derive(Debug)]
pub struct Tansu {
    child: Child,
    port: u16,
}

impl Tansu {
    /// Starts a broker on `port` with its log (and SQLite file) in `dir`, and waits until it
    /// accepts connections.
    ///
    /// # Errors
    /// tansu is not built, cannot start, or does not open its port within 20 seconds.
    pub fn start(dir: &Path, port: u16, storage: Storage) -> anyhow::Result<Self> {
        let bin = tansu_bin();
        anyhow::ensure!(
            bin.exists(),
            "tansu not found at {} (set {TANSU_ENV} or run scripts/setup.sh)",
            bin.display()
        );
        std::fs::create_dir_all(dir)?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("broker.log"))?;
        let url = format!("tcp://127.0.0.1:{port}");
        // A relative SQLite path: tansu mangles absolute ones (it is relative to `dir`).
        let engine = match storage {
            Storage::Memory => "memory://tansu/",
            Storage::Sqlite => "sqlite://broker.db",
        };
        let child = Command::new(bin)
            .current_dir(dir)
            .args(["broker", "--cluster-id", "hub-test", "--listener-url", &url])
            .args([
                "--advertised-listener-url",
                &url,
                "--storage-engine",
                engine,
            ])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()?;
        let mut broker = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = broker.child.try_wait()? {
                anyhow::bail!("tansu exited ({status}); see {}", dir.display());
            }
            anyhow::ensure!(Instant::now() < deadline, "tansu did not open port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(broker)
    }

    /// `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the broker's process (`SIGSTOP`): its sockets stay open and nothing is answered,
    /// as with a broker stalled on its disk.
    ///
    /// # Errors
    /// The signal cannot be sent.
    pub fn freeze(&self) -> anyhow::Result<()> {
        signal(self.pid(), "STOP")
    }

    /// Resumes a frozen broker (`SIGCONT`).
    ///
    /// # Errors
    /// The signal cannot be sent.
    pub fn thaw(&self) -> anyhow::Result<()> {
        signal(self.pid(), "CONT")
    }

    /// Kills the broker hard (no clean shutdown) and waits for it.
    ///
    /// # Errors
    /// The process cannot be killed or waited for.
    pub fn kill(mut self) -> anyhow::Result<()> {
        let _ = signal(self.pid(), "CONT");
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        // A frozen process dies on SIGKILL too, but continue it first so nothing lingers.
        let _ = signal(self.child.id(), "CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `SIG<name>` to `pid` with kill(1) (the tests forbid unsafe code, so no libc call).
///
/// # Errors
/// kill(1) cannot run or reports a failure.
pub fn signal(pid: u32, name: &str) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "kill -{name} {pid} failed: {status}");
    Ok(())
}

/// Resident memory of process `pid` in bytes (`VmRSS` of `/proc/<pid>/status`).
///
/// # Errors
/// The process is gone, or the file has no `VmRSS` line.
pub fn resident_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for process {pid}"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse()?;
    Ok(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_resident_memory() {
        let rss = resident_bytes(std::process::id()).unwrap();
        assert!(rss > 1024 * 1024, "{rss}");
    }
}
