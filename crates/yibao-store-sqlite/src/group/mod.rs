//! Group commit for the single SQLite writer connection, by flat combining.
//!
//! Why: an acknowledged write must be on disk, so its COMMIT must be followed by a sync of the
//! WAL, and the disk we run on does a few hundred to a few thousand syncs a second, depending on
//! what else writes to it (BENCHMARKS.md). Syncing each write transaction on its own caps the
//! platform at that many writes per second, whatever the CPU could do. Batching the bodies of
//! concurrent writers into one transaction pays one sync per batch instead.
//!
//! Why combining: SQLite admits one writer, so bodies run one after another on one connection.
//! When each writer ran its own body and then woke the next writer's thread, the connection sat
//! idle for every wake-up (a scheduler round trip on a busy 2-core VM) — idle time that bounded
//! the platform, not the CPU (BENCHMARKS.md).
//!
//! How:
//! * A writer queues its body and waits. One thread at a time is the *combiner*: it opens
//!   `BEGIN IMMEDIATE` and runs queued bodies, its own and other writers', back to back on its
//!   own thread, until the queue is empty or the batch holds [`MAX_BODIES`] or is [`MAX_AGE`]
//!   old; then it issues the batch's single `COMMIT` and wakes the batch's writers.
//! * Each body runs inside its own `SAVEPOINT`: released when the body asks to commit, rolled
//!   back to when it asks to roll back, fails, or panics. So a refused request leaves nothing;
//!   a panic is carried back to the body's own thread and resumed there.
//! * After a batch the combiner hands the role to the writer at the head of the queue (one
//!   wake-up per batch instead of one per body) or, with nothing queued, gives it up.
//! * The connection runs `synchronous=NORMAL`: COMMIT writes the WAL but does not sync it, so the
//!   combiner goes on with the next batch at once. The woken writers sync the WAL file
//!   themselves ([`GroupCommit::wait_durable`]): the first one syncs for every COMMIT ended so
//!   far, the others wait for that sync (or take the next). A writer returns `Ok` only after a
//!   sync that began after its COMMIT ended; if the COMMIT (or the transaction) fails, every
//!   writer of the batch gets the error and none of their work exists; if a sync fails, no write
//!   is acknowledged again until the store is reopened.
//! * Readers take their snapshot and then wait the same way ([`GroupCommit::barrier`]), so no
//!   reader answers from a COMMIT that a power loss could still undo.
//!
//! Durability is thus as with `synchronous=FULL`: `Ok` means "on disk" (a sync of the file after
//! the COMMIT's writes covers them; SQLite's WAL recovery keeps every frame up to the last
//! commit frame whose checksum holds). Isolation between bodies is what a single writer gives:
//! bodies run one at a time and each sees the effects of the bodies before it. A body may read a
//! predecessor's work before it is durable; because it cannot return before that predecessor is
//! durable (same or earlier COMMIT, later sync), no answer ever rests on data that is lost.
//!
//! A body may run on another writer's thread: the store requires bodies to be `Send`. A write
//! started from inside a body is refused (it would wait for the batch that runs it).

use crate::{exec, SqliteTx};
use rusqlite::Connection;
use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use yibao_store::{DbError, TxEnd};

/// Most bodies in one transaction: bounds how long the first of them waits for its COMMIT.
pub const MAX_BODIES: usize = 64;

/// Oldest a batch may get before it is committed, whoever is waiting.
pub const MAX_AGE: Duration = Duration::from_millis(4);

type Body<'a> = dyn FnMut(&mut dyn yibao_store::Tx) -> Result<TxEnd, DbError> + Send + 'a;

/// How one body ended.
enum BodyEnd {
    Finished(Result<TxEnd, DbError>),
    Panicked(Box<dyn std::any::Any + Send>),
}

/// One writer's request, on that writer's stack for as long as it waits. The combiner reaches
/// it through a [`JobPtr`]; see there why that is sound.
struct Job {
    /// The body, its lifetime erased: it outlives the job because its owner waits for the job.
    body: *mut Body<'static>,
    /// Set under the state lock with `outcome`: how the body ended.
    end: Option<BodyEnd>,
    /// Set under the state lock: the batch's outcome (its COMMIT's number), and that the owner
    /// may stop waiting for the combiner.
    outcome: Option<Result<u64, DbError>>,
    /// Set under the state lock: the owner is now the combiner.
    promoted: bool,
    wake: Condvar,
}

/// A queued job. Sound to send because (1) the job's owner blocks in [`write`] until the job is
/// done and touches it only under the state lock meanwhile, so the job outlives every use and
/// no two threads access it at once; (2) the state mutex orders the combiner's writes before
/// the owner's reads. The body itself runs on the combiner's thread while its owner sleeps.
#[derive(Clone, Copy)]
struct JobPtr(*mut Job);

// SAFETY: see the type's documentation.
unsafe impl Send for JobPtr {}

#[derive(Default)]
struct State {
    queue: VecDeque<JobPtr>,
    /// Some thread holds (or has been handed) the combiner role.
    combining: bool,
    /// Batches that reached COMMIT, and the bodies they carried (for [`GroupCommit::stats`]).
    commits: u64,
    committed_bodies: u64,
    /// COMMITs started (each one's number), whether the last is still running, and up to which
    /// number the WAL is known to be on disk.
    commit_started: u64,
    commit_running: bool,
    durable: u64,
    /// A thread is syncing the WAL now.
    syncing: bool,
    /// Once a sync failed nothing more is acknowledged: what the OS kept of the WAL is unknown.
    sync_failed: Option<DbError>,
    syncs: u64,
}

/// Shared state of one writer connection.
pub struct GroupCommit {
    state: Mutex<State>,
    /// Signalled when a sync ends or a COMMIT ends.
    synced: Condvar,
    /// The WAL file, synced to make COMMITs durable (see [`GroupCommit::wait_durable`]).
    wal: PathBuf,
    /// Transaction control run so far ([`yibao_store::Backend::control_statements`]).
    pub(crate) control: AtomicU64,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let st = self.lock();
        f.debug_struct("GroupCommit").field("queued", &st.queue.len()).field("combining", &st.combining).finish()
    }
}

impl GroupCommit {
    /// `wal`: the database's WAL file (`<db>-wal`).
    pub fn new(wal: PathBuf) -> GroupCommit {
        GroupCommit { state: Mutex::default(), synced: Condvar::new(), wal, control: AtomicU64::new(0) }
    }

    /// Runs a transaction-control statement and counts it.
    pub(crate) fn control(&self, conn: &Connection, sql: &str) -> Result<(), DbError> {
        self.control.fetch_add(1, Ordering::Relaxed);
        exec(conn, sql)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// (COMMITs issued, bodies they carried, WAL syncs) since the backend opened: commits per
    /// sync and bodies per commit are how well the two stages batch.
    pub fn stats(&self) -> (u64, u64, u64) {
        let st = self.lock();
        (st.commits, st.committed_bodies, st.syncs)
    }

    /// Returns once COMMIT number `seq` is on disk. The connection commits with
    /// `synchronous=NORMAL`, which writes the WAL but does not sync it; durability comes from
    /// here instead: the first waiter syncs the WAL file for every COMMIT ended so far, and the
    /// others wait for that sync or take the next. So the single writer goes on with the next
    /// batch while the disk flushes the last one, and one sync covers several COMMITs.
    fn wait_durable(&self, seq: u64) -> Result<(), DbError> {
        let mut st = self.lock();
        loop {
            if st.durable >= seq {
                return Ok(());
            }
            if let Some(e) = &st.sync_failed {
                return Err(e.clone());
            }
            let ended = st.commit_started - u64::from(st.commit_running);
            if !st.syncing && ended >= seq {
                st.syncing = true;
                drop(st);
                let synced = std::fs::File::open(&self.wal).and_then(|f| f.sync_data());
                st = self.lock();
                st.syncing = false;
                st.syncs += 1;
                match synced {
                    Ok(()) => st.durable = st.durable.max(ended),
                    Err(e) => {
                        tracing::error!(wal = %self.wal.display(), error = %e, "syncing the WAL failed: no further write is acknowledged");
                        st.sync_failed = Some(DbError::Unavailable(format!("syncing {}: {e}", self.wal.display())));
                    }
                }
                self.synced.notify_all();
                continue;
            }
            st = self.synced.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// For a reader that has taken its snapshot: waits until everything the snapshot can see is
    /// on disk, so that no answer rests on a COMMIT a crash could still undo.
    pub fn barrier(&self) -> Result<(), DbError> {
        let seq = self.lock().commit_started;
        self.wait_durable(seq)
    }
}

thread_local! {
    /// This thread is running bodies as the combiner.
    static COMBINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the thread as the combiner while alive.
struct Combining;

impl Combining {
    fn enter() -> Combining {
        COMBINING.with(|c| c.set(true));
        Combining
    }
}

impl Drop for Combining {
    fn drop(&mut self) {
        COMBINING.with(|c| c.set(false));
    }
}

/// Runs `body` as part of a group-committed transaction on `conn` (see the module docs).
pub fn write(group: &GroupCommit, conn: &Mutex<Connection>, body: &mut Body<'_>) -> Result<(), DbError> {
    if COMBINING.with(std::cell::Cell::get) {
        // A write from inside a write body would queue behind the very batch that runs it.
        return Err(DbError::Other("a write inside a write transaction: SQLite has one writer".into()));
    }
    // SAFETY: only the lifetime is erased; the job (and with it every use of the pointer) ends
    // before this function returns, see `JobPtr`.
    let body: *mut Body<'static> = unsafe { std::mem::transmute::<*mut Body<'_>, *mut Body<'static>>(body) };
    let mut job = Job { body, end: None, outcome: None, promoted: false, wake: Condvar::new() };
    let me = JobPtr(&mut job);
    let mut st = group.lock();
    st.queue.push_back(me);
    let mut combine = !st.combining;
    st.combining = true;
    loop {
        if combine {
            drop(st);
            combine_batches(group, conn, me);
            st = group.lock();
        }
        // SAFETY: under the state lock, the only time the combiner writes the job too.
        if let Some(outcome) = unsafe { (*me.0).outcome.take() } {
            // SAFETY: done: the combiner no longer touches the job.
            let end = unsafe { (*me.0).end.take() };
            drop(st);
            // Every writer waits for its batch to be durable, a rolled-back one too: its answer
            // may rest on what earlier bodies of the batch wrote.
            let durable = outcome.and_then(|seq| group.wait_durable(seq));
            return match end {
                Some(BodyEnd::Panicked(p)) => resume_unwind(p),
                Some(BodyEnd::Finished(r)) => durable.and(r.map(drop)),
                None => durable.and(Err(DbError::Other("the write was not run".into()))),
            };
        }
        // SAFETY: as above.
        if unsafe { std::mem::take(&mut (*me.0).promoted) } {
            combine = true;
            continue;
        }
        // SAFETY: the job outlives this wait; the condvar is only shared, never written.
        let wake = unsafe { &(*me.0).wake };
        st = wake.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// Runs batches as the combiner until `me`'s job is done, then hands the role on.
fn combine_batches(group: &GroupCommit, conn: &Mutex<Connection>, me: JobPtr) {
    // Only the combiner locks the connection; the mutex is what makes handing a `Connection`
    // between threads safe.
    // The role before the guard: should this unwind, the guard is released first and the
    // role's drop can take the connection to roll back.
    let mut role = Role { group, conn, me, batch: Vec::new(), held: true };
    let guard = conn.lock().unwrap_or_else(|p| p.into_inner());
    let _combining = Combining::enter();
    loop {
        let outcome = run_batch(group, &guard, &mut role.batch);
        let mut st = group.lock();
        if outcome.is_ok() {
            st.commits += 1;
            st.committed_bodies += role.batch.len() as u64;
        }
        let checkpoint = outcome.is_ok() && st.commits.is_multiple_of(CHECKPOINT_EVERY);
        role.finish(&mut st, outcome);
        if checkpoint {
            drop(st);
            finish_checkpoint(&guard);
            st = group.lock();
        }
        // SAFETY: under the state lock, see `JobPtr`.
        let mine_done = unsafe { (*me.0).outcome.is_some() };
        if mine_done {
            drop(guard);
            role.pass(&mut st);
            return;
        }
    }
}

/// COMMITs between the writer's own checkpoints (see [`finish_checkpoint`]).
const CHECKPOINT_EVERY: u64 = 64;

/// Checkpoints from the writer connection, between transactions, after the batch's writers were
/// woken (so none of them waits for it; an automatic checkpoint runs inside a COMMIT). Only a
/// checkpoint that reaches the WAL's end lets the next transaction start the WAL over, and one
/// taken between batches does, as nothing is appended meanwhile. (A checkpointing thread of its
/// own never got there under load — the WAL grew by ≈ 65 MB/s — and with this in place it made
/// no measurable difference, so it was removed.)
fn finish_checkpoint(conn: &Connection) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(error = %e, "WAL checkpoint from the writer failed; retrying later");
    }
}

/// Opens a transaction, runs queued bodies into it and commits it. The jobs taken and how their
/// bodies ended are left in `batch` (at least one job, when any was queued); the result is the
/// batch's outcome.
fn run_batch(
    group: &GroupCommit,
    conn: &Connection,
    batch: &mut Vec<(JobPtr, Option<BodyEnd>)>,
) -> Result<u64, DbError> {
    let take = || {
        let mut st = group.lock();
        // SAFETY: under the state lock; the body pointer is copied, the body is not touched.
        st.queue.pop_front().map(|job| (job, unsafe { (*job.0).body }))
    };
    if let Err(e) = group.control(conn, "BEGIN IMMEDIATE") {
        // A transaction left open would make every later BEGIN fail too: end it. Fail the head
        // of the queue with this error, so that its writer (the combiner) returns.
        rollback_all(group, conn);
        batch.extend(take().map(|(job, _)| (job, None)));
        return Err(e);
    }
    let opened = Instant::now();
    while batch.len() < MAX_BODIES && (batch.is_empty() || opened.elapsed() < MAX_AGE) {
        let Some((job, body)) = take() else { break };
        // In the batch before it runs, so that whatever happens its writer gets an outcome.
        batch.push((job, None));
        // SAFETY: the body outlives its job, whose owner waits and does not run it (see
        // `JobPtr`); no lock is held while it runs.
        let (end, lost) = run_body(group, conn, unsafe { &mut *body });
        if let Some(last) = batch.last_mut() {
            last.1 = Some(end);
        }
        if let Some(lost) = lost {
            // The transaction is gone: every body of this batch is lost with it.
            rollback_all(group, conn);
            return Err(lost);
        }
    }
    let seq = {
        let mut st = group.lock();
        st.commit_started += 1;
        st.commit_running = true;
        st.commit_started
    };
    let r = group.control(conn, "COMMIT");
    let mut st = group.lock();
    st.commit_running = false;
    // Readers may be waiting for this COMMIT to end before they can ask for a sync.
    group.synced.notify_all();
    drop(st);
    r.map(|()| seq).inspect_err(|_| {
        // A failed COMMIT can leave the transaction open (e.g. SQLITE_BUSY): end it, so the
        // next batch starts clean and nothing of this one survives.
        rollback_all(group, conn);
    })
}

/// Runs the body in a savepoint and releases or rolls back to it. The second value is set when
/// the whole transaction is lost.
fn run_body(group: &GroupCommit, conn: &Connection, body: &mut Body<'_>) -> (BodyEnd, Option<DbError>) {
    if let Err(e) = group.control(conn, "SAVEPOINT body") {
        return (BodyEnd::Finished(Err(e.clone())), Some(e));
    }
    let end = match catch_unwind(AssertUnwindSafe(|| body(&mut SqliteTx(conn)))) {
        Ok(r) => BodyEnd::Finished(r),
        Err(p) => BodyEnd::Panicked(p),
    };
    if conn.is_autocommit() {
        // SQLite rolls a transaction back by itself on some errors (I/O error, disk full, …);
        // a savepoint can no longer be released, and the earlier bodies are gone too.
        return (end, Some(DbError::Other("the write transaction was rolled back by SQLite".into())));
    }
    let undo = if matches!(end, BodyEnd::Finished(Ok(TxEnd::Commit))) {
        Ok(())
    } else {
        group.control(conn, "ROLLBACK TO body")
    };
    match undo.and_then(|_| group.control(conn, "RELEASE body")) {
        Ok(()) => (end, None),
        Err(e) => (end, Some(e)),
    }
}

fn rollback_all(group: &GroupCommit, conn: &Connection) {
    if !conn.is_autocommit() {
        let _ = group.control(conn, "ROLLBACK");
    }
}

/// The combiner role while held. Dropping it while held (an unexpected unwind outside a body)
/// fails the batch in progress and passes the role on, so the other writers cannot hang.
struct Role<'g> {
    group: &'g GroupCommit,
    conn: &'g Mutex<Connection>,
    /// The combiner's own job.
    me: JobPtr,
    batch: Vec<(JobPtr, Option<BodyEnd>)>,
    held: bool,
}

impl Role<'_> {
    /// Gives every job of the batch how its body ended and the batch's outcome, and wakes its
    /// owner.
    fn finish(&mut self, _st: &mut State, outcome: Result<u64, DbError>) {
        for (job, end) in self.batch.drain(..) {
            // SAFETY: under the state lock (`_st`), see `JobPtr`.
            unsafe {
                (*job.0).end = end;
                (*job.0).outcome = Some(outcome.clone());
                (*job.0).wake.notify_one();
            }
        }
    }

    /// Hands the role to the writer at the head of the queue, or gives it up.
    fn pass(&mut self, st: &mut State) {
        if !self.held {
            return;
        }
        self.held = false;
        match st.queue.front() {
            // SAFETY: under the state lock, see `JobPtr`.
            Some(next) => unsafe {
                (*next.0).promoted = true;
                (*next.0).wake.notify_one();
            },
            None => st.combining = false,
        }
    }
}

impl Drop for Role<'_> {
    fn drop(&mut self) {
        if self.held {
            // The batch's transaction must not outlive it (see `combine_batches` for the order).
            rollback_all(self.group, &self.conn.lock().unwrap_or_else(|p| p.into_inner()));
            let mut st = self.group.lock();
            let lost = Err(DbError::Other("the writer combining this batch stopped".into()));
            self.finish(&mut st, lost);
            // The combiner's own job must not stay queued: its stack frame is unwinding.
            let me = self.me.0;
            st.queue.retain(|j| j.0 != me);
            self.pass(&mut st);
        }
    }
}
