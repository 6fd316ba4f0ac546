//! Group commit for the single SQLite writer connection.
//!
//! Why: with `synchronous=FULL` every COMMIT waits for an fsync of the WAL, and the disk we run
//! on does a few hundred to a few thousand of those a second, depending on what else writes to
//! it (BENCHMARKS.md). Committing each write transaction on its own caps the platform at that
//! many writes per second, whatever the CPU could do. Batching the bodies of concurrent writers
//! into one transaction pays one fsync per batch instead.
//!
//! How:
//! * Writers take turns on the connection in arrival order (tickets). The first writer of a
//!   batch opens `BEGIN IMMEDIATE`.
//! * Each body runs inside its own `SAVEPOINT`: released when the body asks to commit, rolled
//!   back to when it asks to roll back, fails, or panics. So a refused request leaves nothing.
//! * After its body a writer hands the connection to the next ticket instead of committing —
//!   unless nobody is waiting or the batch has reached [`MAX_BODIES`] or [`MAX_AGE`]: then it
//!   issues the batch's single `COMMIT` itself.
//! * Every writer of the batch returns only after that COMMIT succeeded; if the COMMIT (or the
//!   transaction) fails, every one of them gets the error and none of their work exists.
//!
//! Durability is unchanged: `Ok` still means "on disk". Isolation between bodies is what a single
//! writer gives: bodies run one at a time and each sees the effects of the bodies before it.
//! A body may thus read a predecessor's uncommitted work; because it cannot return before that
//! predecessor is durable (same batch, same COMMIT), no answer ever rests on data that is lost.

use crate::{exec, SqliteTx};
use rusqlite::Connection;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};
use yibao_store::{DbError, TxEnd};

/// Most bodies in one transaction: bounds how long the first of them waits for its COMMIT.
pub const MAX_BODIES: usize = 64;

/// Oldest a batch may get before it is committed, whoever is waiting.
pub const MAX_AGE: Duration = Duration::from_millis(4);

/// Wait queues for turns: a writer with ticket `t` sleeps on `TURN_QUEUES[t % N]`, so handing
/// the turn on wakes (almost always) exactly the next writer rather than every waiting thread.
const TURN_QUEUES: usize = 64;

/// How a batch ended, shared by all its writers.
type Outcome = Arc<OnceLock<Result<(), DbError>>>;

struct Batch {
    outcome: Outcome,
    bodies: usize,
    opened: Instant,
}

#[derive(Default)]
struct State {
    /// The next ticket to hand out.
    next_ticket: u64,
    /// The ticket whose holder may use the connection now.
    serving: u64,
    /// The open transaction, if any.
    batch: Option<Batch>,
    /// Batches that reached COMMIT, and the bodies they carried (for [`GroupCommit::stats`]).
    commits: u64,
    committed_bodies: u64,
}

/// Shared turn-taking state of one writer connection.
pub struct GroupCommit {
    state: Mutex<State>,
    turns: [Condvar; TURN_QUEUES],
    /// Signalled whenever a batch's outcome is set.
    done: Condvar,
}

impl Default for GroupCommit {
    fn default() -> GroupCommit {
        GroupCommit { state: Mutex::default(), turns: std::array::from_fn(|_| Condvar::new()), done: Condvar::new() }
    }
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("GroupCommit")
            .field("waiting", &st.next_ticket.saturating_sub(st.serving))
            .field("open_batch", &st.batch.as_ref().map(|b| b.bodies))
            .finish()
    }
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits for this writer's turn and joins (or opens) the batch.
    fn enter(&self) -> Turn<'_> {
        let mut st = self.lock();
        let ticket = st.next_ticket;
        st.next_ticket += 1;
        let queue = &self.turns[(ticket % TURN_QUEUES as u64) as usize];
        while st.serving != ticket {
            st = queue.wait(st).unwrap_or_else(|p| p.into_inner());
        }
        let opens = st.batch.is_none();
        let batch = st.batch.get_or_insert_with(|| Batch {
            outcome: Arc::new(OnceLock::new()),
            bodies: 0,
            opened: Instant::now(),
        });
        batch.bodies += 1;
        let outcome = batch.outcome.clone();
        Turn { group: self, outcome, opens, held: true }
    }

    /// (COMMITs issued, bodies they carried) since the backend opened: their ratio is the
    /// average batch size.
    pub fn stats(&self) -> (u64, u64) {
        let st = self.lock();
        (st.commits, st.committed_bodies)
    }

    /// Blocks until `outcome` is set.
    fn wait(&self, outcome: &Outcome) -> Result<(), DbError> {
        let mut st = self.lock();
        loop {
            if let Some(r) = outcome.get() {
                return r.clone();
            }
            st = self.done.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A writer's hold on the connection. Dropping it while held (an unexpected unwind) fails the
/// open batch and passes the turn on, so one broken writer cannot stall all the others.
struct Turn<'g> {
    group: &'g GroupCommit,
    outcome: Outcome,
    /// This writer opened the batch and must BEGIN it.
    opens: bool,
    held: bool,
}

/// What to do after a body has run, decided under the state lock.
enum Next {
    /// Others are waiting and the batch has room: hand over and wait for its COMMIT.
    HandOver,
    /// Commit the batch now.
    Commit,
}

impl Turn<'_> {
    /// Decides, after a body, whether to hand the connection over (the batch stays open; the
    /// caller then calls [`Turn::hand_over`]) or to close the batch so that this writer commits it.
    fn after_body(&mut self) -> Next {
        let mut st = self.group.lock();
        let waiting = st.next_ticket - st.serving - 1;
        let full = st.batch.as_ref().is_none_or(|b| b.bodies >= MAX_BODIES || b.opened.elapsed() >= MAX_AGE);
        if waiting == 0 || full {
            if let Some(b) = st.batch.take() {
                st.commits += 1;
                st.committed_bodies += b.bodies as u64;
            }
            return Next::Commit;
        }
        Next::HandOver
    }

    /// Passes the turn to the next writer. Called once the connection's mutex is released, so
    /// the writer woken here does not block on it and need waking a second time.
    fn hand_over(&mut self) {
        let mut st = self.group.lock();
        self.pass(&mut st);
    }

    /// Sets the batch's outcome (ending it if it is still the open one) and passes the turn on.
    fn finish(&mut self, result: Result<(), DbError>) {
        let mut st = self.group.lock();
        if st.batch.as_ref().is_some_and(|b| Arc::ptr_eq(&b.outcome, &self.outcome)) {
            st.batch = None;
        }
        let _ = self.outcome.set(result);
        self.group.done.notify_all();
        self.pass(&mut st);
    }

    fn pass(&mut self, st: &mut State) {
        if self.held {
            self.held = false;
            st.serving += 1;
            self.group.turns[(st.serving % TURN_QUEUES as u64) as usize].notify_all();
        }
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        if self.held {
            self.finish(Err(DbError::Other("a writer stopped while holding the connection".into())));
        }
    }
}

/// How one body ended.
enum BodyEnd {
    Finished(Result<TxEnd, DbError>),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// Runs `body` as part of a group-committed transaction on `conn` (see the module docs).
pub fn write(
    group: &GroupCommit,
    conn: &Mutex<Connection>,
    body: &mut dyn FnMut(&mut dyn yibao_store::Tx) -> Result<TxEnd, DbError>,
) -> Result<(), DbError> {
    let mut turn = group.enter();
    // Only the turn holder locks the connection, so this never waits for long; the mutex is
    // what makes handing a `Connection` between threads safe.
    let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
    let end = match run_body(&guard, turn.opens, body) {
        Ok(end) => end,
        Err(lost) => {
            // The transaction is gone: every body of this batch is lost with it.
            rollback_all(&guard);
            drop(guard);
            turn.finish(Err(lost.clone()));
            return Err(lost);
        }
    };
    let outcome = turn.outcome.clone();
    match turn.after_body() {
        Next::Commit => {
            let committed = commit(&guard);
            drop(guard);
            turn.finish(committed);
        }
        Next::HandOver => {
            drop(guard);
            turn.hand_over();
        }
    }
    drop(turn);
    match end {
        BodyEnd::Panicked(p) => resume_unwind(p),
        BodyEnd::Finished(r) => {
            // Every writer waits for its batch, a rolled-back one too: its answer may rest on
            // what earlier bodies of the batch wrote, so it stands only if they are durable.
            group.wait(&outcome)?;
            r.map(|_| ())
        }
    }
}

/// Opens the transaction if this writer is the first of its batch, runs the body in a
/// savepoint and releases or rolls back to it. `Err` means the whole transaction is lost.
fn run_body(
    conn: &Connection,
    opens: bool,
    body: &mut dyn FnMut(&mut dyn yibao_store::Tx) -> Result<TxEnd, DbError>,
) -> Result<BodyEnd, DbError> {
    if opens {
        exec(conn, "BEGIN IMMEDIATE")?;
    }
    exec(conn, "SAVEPOINT body")?;
    let end = match catch_unwind(AssertUnwindSafe(|| body(&mut SqliteTx(conn)))) {
        Ok(r) => BodyEnd::Finished(r),
        Err(p) => BodyEnd::Panicked(p),
    };
    if conn.is_autocommit() {
        // SQLite rolls a transaction back by itself on some errors (I/O error, disk full, …);
        // a savepoint can no longer be released, and the earlier bodies are gone too.
        return Err(DbError::Other("the write transaction was rolled back by SQLite".into()));
    }
    if !matches!(end, BodyEnd::Finished(Ok(TxEnd::Commit))) {
        exec(conn, "ROLLBACK TO body")?;
    }
    exec(conn, "RELEASE body")?;
    Ok(end)
}

fn commit(conn: &Connection) -> Result<(), DbError> {
    exec(conn, "COMMIT").inspect_err(|_| {
        // A failed COMMIT can leave the transaction open (e.g. SQLITE_BUSY): end it, so the
        // next batch starts clean and nothing of this one survives.
        rollback_all(conn);
    })
}

fn rollback_all(conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
}
