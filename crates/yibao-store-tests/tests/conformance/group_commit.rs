//! Many concurrent writers, as under load: whatever a backend does to batch them (SQLite commits
//! concurrent writers' bodies together), each writer's outcome must be exactly its own — a
//! commit that is visible to others as soon as `write` returns, a rollback, an error or a panic
//! that leaves nothing — and the store must stay usable after all of them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use yibao_store::{params, DbError, Store, Tx};
use yibao_store_tests::conformance;

const THREADS: i64 = 16;
const EACH: i64 = 50;

/// What write `i` of a thread does.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    Commit,
    /// Inserts, then returns an error: rolled back.
    Refuse,
    /// Inserts, then fails on a duplicate key and propagates the database error.
    Duplicate,
    /// Inserts, then panics.
    Panic,
}

fn kind(thread: i64, i: i64) -> Kind {
    match i {
        _ if i % 7 == 3 => Kind::Refuse,
        _ if i % 11 == 5 => Kind::Duplicate,
        // One panic in each of a few threads, at different moments.
        _ if thread % 5 == 0 && i == 10 + thread => Kind::Panic,
        _ => Kind::Commit,
    }
}

fn setup(store: &Store) {
    store
        .write(|tx| {
            tx.execute("CREATE TABLE g (id BIGINT PRIMARY KEY, thread BIGINT NOT NULL, n BIGINT NOT NULL)", &[])?;
            // Row 0 is a counter every committed write increments (read-modify-write).
            tx.execute("INSERT INTO g (id, thread, n) VALUES (0, -1, 0)", &[])
        })
        .expect("create g");
}

/// One write: inserts its row and bumps the counter, then ends as `k` says.
fn one_write(tx: &mut dyn Tx, lock: &str, id: i64, thread: i64, k: Kind) -> Result<(), DbError> {
    tx.execute("INSERT INTO g (id, thread, n) VALUES ($1, $2, $3)", params![id, thread, 1i64])?;
    let n = tx.query(&format!("SELECT n FROM g WHERE id = 0{lock}"), &[])?[0].i64(0)?;
    tx.execute("UPDATE g SET n = $1 WHERE id = 0", params![n + 1])?;
    match k {
        Kind::Commit => Ok(()),
        Kind::Refuse => Err(DbError::Other("refused by the body".into())),
        Kind::Duplicate => tx.execute("INSERT INTO g (id, thread, n) VALUES (0, 0, 0)", &[]).map(drop),
        Kind::Panic => panic!("body panics on purpose"),
    }
}

/// Runs one thread's writes; returns how many committed.
fn writer(store: &Store, thread: i64) -> i64 {
    let lock = store.dialect().for_update();
    let mut committed = 0;
    for i in 0..EACH {
        let (id, k) = (thread * 1000 + i + 1, kind(thread, i));
        let r = catch_unwind(AssertUnwindSafe(|| store.write(|tx| one_write(tx, lock, id, thread, k))));
        match (k, r) {
            (Kind::Commit, Ok(Ok(()))) => committed += 1,
            (Kind::Refuse, Ok(Err(DbError::Other(m)))) => assert_eq!(m, "refused by the body"),
            (Kind::Duplicate, Ok(Err(e))) => assert!(matches!(e, DbError::Unique(_)), "{e:?}"),
            (Kind::Panic, Err(_)) => {}
            (k, r) => panic!("write {id} ({k:?}) ended unexpectedly: {:?}", r.map_err(|_| "panic")),
        }
        // Returned means durable and visible: a separate read transaction sees exactly that.
        let seen = store.read(|tx| tx.query_opt("SELECT thread FROM g WHERE id = $1", params![id])).unwrap();
        assert_eq!(seen.is_some(), k == Kind::Commit, "row {id} after a {k:?} write");
    }
    committed
}

fn expected_committed() -> i64 {
    (0..THREADS).map(|t| (0..EACH).filter(|&i| kind(t, i) == Kind::Commit).count() as i64).sum()
}

conformance! {
    /// 16 threads × 50 writes with rollbacks, database errors and panics among them.
    fn concurrent_writers_each_get_their_own_outcome(store: &Store) {
        setup(store);
        let committed: i64 = std::thread::scope(|s| {
            let hs: Vec<_> = (0..THREADS).map(|t| s.spawn(move || writer(store, t))).collect();
            hs.into_iter().map(|h| h.join().expect("writer thread")).sum()
        });
        assert_eq!(committed, expected_committed());
        let (rows, counter) = store
            .read(|tx| {
                let rows = tx.query("SELECT COUNT(*) FROM g WHERE id <> 0", &[])?[0].i64(0)?;
                let counter = tx.query("SELECT n FROM g WHERE id = 0", &[])?[0].i64(0)?;
                Ok::<_, DbError>((rows, counter))
            })
            .unwrap();
        assert_eq!((rows, counter), (committed, committed), "exactly the committed writes remain");
        let stray = store
            .read(|tx| tx.query("SELECT id, thread FROM g WHERE id <> 0 ORDER BY id", &[]))
            .unwrap()
            .into_iter()
            .map(|r| (r.i64(0).unwrap(), r.i64(1).unwrap()))
            .filter(|&(id, t)| kind(t, id - t * 1000 - 1) != Kind::Commit)
            .count();
        assert_eq!(stray, 0, "no row of a refused, failed or panicked write");
        // Still usable afterwards.
        store.write(|tx| tx.execute("INSERT INTO g (id, thread, n) VALUES (-1, -1, 0)", &[])).unwrap();
    }

    /// Concurrent writers whose bodies all fail leave the store as it was, and do not wait on
    /// each other forever.
    fn concurrent_failing_writers_change_nothing(store: &Store) {
        setup(store);
        std::thread::scope(|s| {
            for t in 0..8i64 {
                s.spawn(move || {
                    for i in 0..20 {
                        let r = store.write(|tx| one_write(tx, "", t * 1000 + i + 1, t, Kind::Refuse));
                        assert!(r.is_err());
                    }
                });
            }
        });
        let n = store.read(|tx| tx.query("SELECT COUNT(*), MAX(n) FROM g", &[])).unwrap();
        assert_eq!((n[0].i64(0).unwrap(), n[0].i64(1).unwrap()), (1, 0));
    }
}
