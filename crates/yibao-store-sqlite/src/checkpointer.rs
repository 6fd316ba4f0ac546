//! WAL checkpoints on a thread of their own.
//!
//! Why: SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, on the
//! writer connection, and copies ≈ 1,000 pages into the database file and syncs it: while it
//! runs, no write proceeds, and the requests of that batch see it as latency. Here a separate
//! connection checkpoints `PASSIVE`ly (never blocking the writer or readers) every
//! [`INTERVAL`]; SQLite then restarts the WAL from its start at a later write, so the file stays
//! small. With `synchronous=NORMAL` a checkpoint syncs the WAL before and the database after.

use rusqlite::Connection;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

/// Between checkpoints: at a few thousand pages written a second, the WAL stays in the tens of
/// megabytes at most.
pub const INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug)]
pub struct Checkpointer {
    /// Dropped to stop the thread.
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(conn: Connection) -> Result<Checkpointer, yibao_store::DbError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || loop {
                match stopped.recv_timeout(INTERVAL) {
                    Err(RecvTimeoutError::Timeout) => {
                        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                            tracing::warn!(error = %e, "WAL checkpoint failed; retrying later");
                        }
                    }
                    _ => {
                        // A last one, so a closed store leaves little WAL to replay.
                        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                        return;
                    }
                }
            })
            .map_err(|e| yibao_store::DbError::Unavailable(format!("starting the checkpoint thread: {e}")))?;
        Ok(Checkpointer { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
