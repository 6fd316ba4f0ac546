//! A yibao server run by the bench as a child process (`yibao serve --demo` of this very
//! binary), so that it can be killed with SIGKILL and started again on the same store.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for a server to answer /health: seeding a large demo world takes a while.
const START_TIMEOUT: Duration = Duration::from_secs(900);

pub struct Server {
    exe: PathBuf,
    args: Vec<OsString>,
    log: PathBuf,
    pub addr: SocketAddr,
    child: Option<Child>,
}

impl Server {
    /// Prepares `yibao --db <db> serve --listen <free port> --demo --persons <n>`.
    pub fn new(db: &str, persons: usize, log: &Path) -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the yibao binary: {e}"))?;
        let addr = free_port()?;
        let args: Vec<OsString> =
            ["--db", db, "serve", "--listen", &addr.to_string(), "--demo", "--persons", &persons.to_string()]
                .iter()
                .map(OsString::from)
                .collect();
        Ok(Server { exe, args, log: log.to_owned(), addr, child: None })
    }

    /// Starts the process; its output goes to the log file.
    pub fn start(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: {e}", self.log.display()))?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.exe);
        cmd.args(&self.args).stdin(Stdio::null()).stdout(log).stderr(err);
        // Unless told otherwise: no per-request log lines, no x-tif authentication and no rate
        // limit — the bench measures settlement, and one generator speaks for every institution.
        // (Environment variables rather than flags: a server that lacks the setting ignores it.)
        for (k, v) in [("YIBAO_LOG", "warn"), ("YIBAO_AUTH", "off"), ("YIBAO_RATE_LIMIT", "0")] {
            if std::env::var_os(k).is_none() {
                cmd.env(k, v);
            }
        }
        let child = cmd.spawn().map_err(|e| format!("starting {}: {e}", self.exe.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// Waits until /health answers, or the process exits, or [`START_TIMEOUT`].
    pub async fn wait_ready(&mut self, client: &crate::http::Client) -> Result<Duration, String> {
        let t = Instant::now();
        while t.elapsed() < START_TIMEOUT {
            if client.healthy("/health").await {
                return Ok(t.elapsed());
            }
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    return Err(format!("the server exited ({status}) before it answered; see {}", self.log.display()));
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("the server did not answer within {} s; see {}", START_TIMEOUT.as_secs(), self.log.display()))
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: the process gets no chance to finish anything.
    pub fn kill(&mut self) -> Result<(), String> {
        if let Some(mut c) = self.child.take() {
            c.kill().map_err(|e| format!("killing the server: {e}"))?;
            let _ = c.wait();
        }
        Ok(())
    }

    /// Asks the server to stop (SIGTERM, graceful) and waits a little; kills it if it lingers.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else { return };
        if let Ok(pid) = i32::try_from(c.id()) {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
            for _ in 0..50 {
                if matches!(c.try_wait(), Ok(Some(_))) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port on loopback that is free right now.
fn free_port() -> Result<SocketAddr, String> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port on 127.0.0.1: {e}"))?;
    l.local_addr().map_err(|e| e.to_string())
}
