//! The backend contract itself: values, errors, transactions, locking, schema parity.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use yibao_store::{params, Counts, DbError, Dialect, Store, Tx, Value};
use yibao_store_tests::{conformance, postgres_store, sqlite_store};

fn create_t(store: &Store) {
    store
        .write(|tx| tx.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, n BIGINT)", &[]))
        .expect("create table t");
}

fn count_t(store: &Store) -> i64 {
    store.read(|tx| tx.query("SELECT COUNT(*) FROM t", &[])?[0].i64(0)).expect("count t")
}

fn insert(tx: &mut dyn Tx, id: i64, name: Option<&str>, n: Option<i64>) -> Result<u64, DbError> {
    tx.execute("INSERT INTO t (id, name, n) VALUES ($1, $2, $3)", params![id, name, n])
}

conformance! {
    /// The store counts every statement a body runs, and the backend the transaction control
    /// around it (each a round trip on PostgreSQL); clones of a store share the counts.
    fn statements_and_transaction_control_are_counted(store: &Store) -> Result<(), DbError> {
        create_t(store);
        let pg = store.dialect() == Dialect::Postgres;
        let before = store.counts();
        store.clone().write(|tx| {
            insert(tx, 1, Some("a"), None)?;
            insert(tx, 2, None, Some(2))?;
            tx.query_opt("SELECT name FROM t WHERE id = $1", params![1i64]).map(drop)
        })?;
        let wrote = store.counts() - before;
        // PostgreSQL: BEGIN, COMMIT. SQLite, a batch of one body: BEGIN, SAVEPOINT, RELEASE, COMMIT.
        let control = if pg { 2 } else { 4 };
        assert_eq!(wrote, Counts { statements: 3, control, writes: 1, reads: 0 });

        let before = store.counts();
        assert_eq!(count_t(store), 2);
        // PostgreSQL: BEGIN, ROLLBACK. SQLite: BEGIN, the snapshot's read, COMMIT.
        let control = if pg { 2 } else { 3 };
        assert_eq!(store.counts() - before, Counts { statements: 1, control, writes: 0, reads: 1 });

        let before = store.counts();
        let refused = store.write(|tx| {
            insert(tx, 3, None, None)?;
            Err::<(), _>(DbError::Other("refused".into()))
        });
        assert!(refused.is_err());
        // PostgreSQL: BEGIN, ROLLBACK. SQLite: BEGIN, SAVEPOINT, ROLLBACK TO, RELEASE, COMMIT.
        let control = if pg { 2 } else { 5 };
        assert_eq!(store.counts() - before, Counts { statements: 1, control, writes: 1, reads: 0 });
        Ok(())
    }

    fn values_round_trip(store: &Store) -> Result<(), DbError> {
        create_t(store);
        let rows: &[(i64, Option<&str>, Option<i64>)] = &[
            (1, Some("plain ascii"), Some(i64::MAX)),
            (2, Some("医保结算 — 职工基本医疗保险 🏥"), Some(i64::MIN)),
            (3, None, None),
            (4, Some(""), Some(0)),
            (5, Some("quote ' and \\ backslash\nnewline"), Some(-1)),
        ];
        store.write(|tx| {
            for &(id, name, n) in rows {
                assert_eq!(insert(tx, id, name, n)?, 1);
            }
            Ok::<_, DbError>(())
        })?;
        let got = store.read(|tx| tx.query("SELECT id, name, n FROM t ORDER BY id", &[]))?;
        assert_eq!(got.len(), rows.len());
        for (row, &(id, name, n)) in got.iter().zip(rows) {
            assert_eq!(row.i64(0)?, id);
            assert_eq!(row.opt_str(1)?.as_deref(), name);
            assert_eq!(row.opt_i64(2)?, n);
        }
        // Typed NULL parameters, and lookups by text and by extreme integers.
        store.read(|tx| {
            let r = tx.query_opt("SELECT id FROM t WHERE name IS NULL AND n IS NULL", &[])?;
            assert_eq!(r.expect("row 3").i64(0)?, 3);
            let r = tx.query_opt("SELECT id FROM t WHERE name = $1", params!["医保结算 — 职工基本医疗保险 🏥"])?;
            assert_eq!(r.expect("row 2").i64(0)?, 2);
            let r = tx.query_opt("SELECT id FROM t WHERE n = $1", params![i64::MIN])?;
            assert_eq!(r.expect("row 2").i64(0)?, 2);
            let r = tx.query_opt("SELECT COALESCE($1, n) FROM t WHERE id = 1", &[Value::Int(None)])?;
            assert_eq!(r.expect("row 1").i64(0)?, i64::MAX);
            let r = tx.query_opt("SELECT COALESCE($1, name) FROM t WHERE id = 3", &[Value::Text(None)])?;
            assert_eq!(r.expect("row 3").opt_str(0)?, None);
            Ok::<_, DbError>(())
        })?;
        Ok(())
    }

    fn execute_counts_rows_and_returning_works(store: &Store) -> Result<(), DbError> {
        create_t(store);
        store.write(|tx| {
            for id in 1..=3 {
                insert(tx, id, Some("x"), Some(id * 10))?;
            }
            assert_eq!(tx.execute("UPDATE t SET n = n + $1 WHERE id >= $2", params![1i64, 2i64])?, 2);
            let r = tx.query(
                "INSERT INTO t (id, name, n) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET n = excluded.n RETURNING id, n",
                params![3i64, "y", 99i64],
            )?;
            assert_eq!(r.len(), 1);
            assert_eq!((r[0].i64(0)?, r[0].i64(1)?), (3, 99));
            assert_eq!(tx.execute("DELETE FROM t WHERE id = $1", params![42i64])?, 0);
            Ok::<_, DbError>(())
        })?;
        let n = store.read(|tx| tx.query("SELECT n FROM t ORDER BY id", &[]))?;
        let n: Vec<i64> = n.iter().map(|r| r.i64(0)).collect::<Result<_, _>>()?;
        assert_eq!(n, [10, 21, 99]);
        Ok(())
    }

    fn unique_violation_is_reported(store: &Store) {
        create_t(store);
        store.write(|tx| insert(tx, 1, Some("first"), Some(1))).unwrap();
        let err = store.write(|tx| insert(tx, 1, Some("again"), Some(2))).unwrap_err();
        assert!(matches!(err, DbError::Unique(_)), "expected Unique, got {err:?}");
        // The store is still usable afterwards, and the first row is intact.
        store.write(|tx| insert(tx, 2, Some("second"), None)).unwrap();
        let name = store
            .read(|tx| tx.query("SELECT name FROM t WHERE id = 1", &[])?[0].str(0))
            .unwrap();
        assert_eq!(name, "first");
        assert_eq!(count_t(store), 2);
    }

    fn rollback_leaves_nothing(store: &Store) {
        create_t(store);
        #[derive(Debug, PartialEq)]
        enum E {
            Db(DbError),
            Refused,
        }
        impl From<DbError> for E {
            fn from(e: DbError) -> E {
                E::Db(e)
            }
        }
        let r: Result<(), E> = store.write(|tx| {
            for id in 1..=3 {
                insert(tx, id, Some("doomed"), Some(id))?;
            }
            assert_eq!(tx.query("SELECT COUNT(*) FROM t", &[])?[0].i64(0)?, 3, "own writes visible inside");
            Err(E::Refused)
        });
        assert_eq!(r, Err(E::Refused));
        assert_eq!(count_t(store), 0);
        // A failing statement's error propagated with `?` rolls back the earlier ones too.
        let r = store.write(|tx| {
            insert(tx, 10, None, None)?;
            tx.execute("INSERT INTO no_such_table VALUES ($1)", params![1i64])
        });
        assert!(r.is_err());
        assert_eq!(count_t(store), 0);
    }

    fn read_sees_committed_and_cannot_write(store: &Store) {
        create_t(store);
        store.write(|tx| insert(tx, 7, Some("committed"), Some(70))).unwrap();
        let row = store
            .read(|tx| tx.query_opt("SELECT name, n FROM t WHERE id = $1", params![7i64]))
            .unwrap()
            .expect("committed row visible to read");
        assert_eq!(row.str(0).unwrap(), "committed");
        assert_eq!(row.i64(1).unwrap(), 70);
        let r = store.read(|tx| insert(tx, 8, None, None));
        assert!(r.is_err(), "a read transaction must refuse writes, got {r:?}");
        assert_eq!(count_t(store), 1);
    }

    fn query_opt_refuses_many_rows(store: &Store) {
        create_t(store);
        store
            .write(|tx| {
                insert(tx, 1, None, None)?;
                insert(tx, 2, None, None)
            })
            .unwrap();
        let r = store.read(|tx| tx.query_opt("SELECT id FROM t", &[]));
        assert!(matches!(r, Err(DbError::Other(_))), "{r:?}");
        let r = store.read(|tx| tx.query_opt("SELECT id FROM t WHERE id = 3", &[])).unwrap();
        assert_eq!(r, None);
    }

    fn writers_serialize_on_locked_row(store: &Store) {
        create_t(store);
        store.write(|tx| insert(tx, 1, Some("counter"), Some(0))).unwrap();
        const THREADS: i64 = 8;
        const EACH: i64 = 200;
        let lock = store.dialect().for_update();
        let select = format!("SELECT n FROM t WHERE id = $1{lock}");
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    for _ in 0..EACH {
                        store
                            .write(|tx| {
                                let n = tx.query(&select, params![1i64])?[0].i64(0)?;
                                tx.execute("UPDATE t SET n = $1 WHERE id = $2", params![n + 1, 1i64])
                            })
                            .unwrap();
                    }
                });
            }
        });
        let n = store
            .read(|tx| tx.query("SELECT n FROM t WHERE id = 1", &[])?[0].i64(0))
            .unwrap();
        assert_eq!(n, THREADS * EACH);
    }

    fn cast_sum_decodes(store: &Store) -> Result<(), DbError> {
        create_t(store);
        let empty = store.read(|tx| tx.query("SELECT CAST(SUM(n) AS BIGINT), COUNT(*) FROM t", &[]))?;
        assert_eq!(empty[0].opt_i64(0)?, None);
        assert_eq!(empty[0].i64(1)?, 0);
        store.write(|tx| {
            insert(tx, 1, Some("a"), Some(i64::MAX / 2))?;
            insert(tx, 2, Some("a"), Some(i64::MAX / 2))?;
            insert(tx, 3, Some("b"), Some(-5))
        })?;
        let rows = store.read(|tx| {
            tx.query("SELECT name, CAST(SUM(n) AS BIGINT), COUNT(*) FROM t GROUP BY name ORDER BY name", &[])
        })?;
        assert_eq!(rows.len(), 2);
        assert_eq!((rows[0].str(0)?, rows[0].i64(1)?, rows[0].i64(2)?), ("a".to_owned(), i64::MAX - 1, 2));
        assert_eq!((rows[1].str(0)?, rows[1].i64(1)?, rows[1].i64(2)?), ("b".to_owned(), -5, 1));
        Ok(())
    }
}

/// Table → column names in declaration order, all lowercase.
type Schema = BTreeMap<String, Vec<String>>;

fn schema_of(store: &Store, sql: &str) -> Schema {
    let rows = store.read(|tx| tx.query(sql, &[])).expect("list columns");
    let mut out = Schema::new();
    for r in rows {
        let (table, column) = (r.str(0).unwrap().to_lowercase(), r.str(1).unwrap().to_lowercase());
        out.entry(table).or_default().push(column);
    }
    out
}

/// Each backend owns its migrations; they must define the same tables and columns.
#[test]
#[cfg_attr(yibao_skip_pg, ignore = "YIBAO_SKIP_PG=1: PostgreSQL skipped")]
fn schema_is_the_same_on_both_backends() {
    let Some(pg) = postgres_store() else { return };
    let lite = sqlite_store();
    let lite_schema = schema_of(
        &lite,
        "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' ORDER BY m.name, p.cid",
    );
    let pg_schema = schema_of(
        &pg,
        "SELECT CAST(c.table_name AS TEXT), CAST(c.column_name AS TEXT) FROM information_schema.columns c \
         JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' \
         ORDER BY c.table_name, c.ordinal_position",
    );
    assert!(lite_schema.contains_key("schema_migrations"), "{lite_schema:?}");
    for (table, cols) in &lite_schema {
        assert_eq!(pg_schema.get(table), Some(cols), "table {table}: SQLite and PostgreSQL migrations disagree");
    }
    let only_pg: Vec<&String> = pg_schema.keys().filter(|t| !lite_schema.contains_key(*t)).collect();
    assert!(only_pg.is_empty(), "tables only in the PostgreSQL migrations: {only_pg:?}");
}

// PostgreSQL-only behaviour: what SQLite cannot produce (it has one writer, and it decodes any
// integer expression), checked here so the PostgreSQL backend's promises are proven too.

/// An un-cast SUM is NUMERIC on PostgreSQL: refused with a hint instead of decoded lossily.
#[test]
#[cfg_attr(yibao_skip_pg, ignore = "YIBAO_SKIP_PG=1: PostgreSQL skipped")]
fn postgres_refuses_numeric_with_a_hint() {
    let Some(store) = postgres_store() else {
        return;
    };
    create_t(&store);
    let err = store.read(|tx| tx.query("SELECT SUM(n) AS total FROM t", &[])).unwrap_err();
    match err {
        DbError::Decode(msg) => assert!(msg.contains("total") && msg.contains("CAST"), "{msg}"),
        other => panic!("expected Decode, got {other:?}"),
    }
}

/// How two colliding writers set up their conflict before meeting at a barrier.
#[derive(Clone, Copy)]
enum Collision {
    /// Each locks its first row, then wants the other's: a deadlock (40P01).
    Deadlock,
    /// Both take a REPEATABLE READ snapshot, then update the same rows: the second to update
    /// gets a serialization failure (40001) once the first commits.
    StaleSnapshot,
}

/// Runs two writers that collide on rows 1 and 2 (meeting at a barrier on their first attempt
/// only); returns how many times the bodies ran in total.
fn collide(store: &Store, how: Collision) -> usize {
    store
        .write(|tx| {
            insert(tx, 1, None, Some(0))?;
            insert(tx, 2, None, Some(0))
        })
        .unwrap();
    let orders = match how {
        Collision::Deadlock => [[1i64, 2i64], [2, 1]],
        Collision::StaleSnapshot => [[1, 2], [1, 2]],
    };
    let runs = AtomicUsize::new(0);
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        for order in orders {
            let (runs, barrier) = (&runs, &barrier);
            s.spawn(move || {
                let bump = "UPDATE t SET n = n + 1 WHERE id = $1";
                let mut attempt = 0;
                store
                    .write(|tx| {
                        attempt += 1;
                        runs.fetch_add(1, Ordering::SeqCst);
                        match how {
                            Collision::Deadlock => {
                                tx.execute(bump, params![order[0]])?;
                                if attempt == 1 {
                                    barrier.wait();
                                }
                                tx.execute(bump, params![order[1]])
                            }
                            Collision::StaleSnapshot => {
                                tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ", &[])?;
                                tx.query("SELECT n FROM t WHERE id = $1", params![order[0]])?;
                                if attempt == 1 {
                                    barrier.wait();
                                }
                                tx.execute(bump, params![order[0]])?;
                                tx.execute(bump, params![order[1]])
                            }
                        }
                    })
                    .unwrap();
            });
        }
    });
    let n = store.read(|tx| tx.query("SELECT n FROM t ORDER BY id", &[])).unwrap();
    assert_eq!((n[0].i64(0).unwrap(), n[1].i64(0).unwrap()), (2, 2), "both writers applied once");
    runs.into_inner()
}

#[test]
#[cfg_attr(yibao_skip_pg, ignore = "YIBAO_SKIP_PG=1: PostgreSQL skipped")]
fn postgres_retries_deadlocks() {
    let Some(store) = postgres_store() else {
        return;
    };
    create_t(&store);
    // PostgreSQL kills one of the two after deadlock_timeout (1 s by default).
    assert_eq!(collide(&store, Collision::Deadlock), 3);
}

#[test]
#[cfg_attr(yibao_skip_pg, ignore = "YIBAO_SKIP_PG=1: PostgreSQL skipped")]
fn postgres_retries_serialization_failures() {
    let Some(store) = postgres_store() else {
        return;
    };
    create_t(&store);
    assert_eq!(collide(&store, Collision::StaleSnapshot), 3);
}

/// Processes starting together apply each migration once (the advisory lock serializes them).
#[test]
#[cfg_attr(yibao_skip_pg, ignore = "YIBAO_SKIP_PG=1: PostgreSQL skipped")]
fn postgres_migrations_tolerate_concurrent_starts() {
    let Some(store) = postgres_store() else {
        return;
    };
    let url = store.postgres_url().expect("postgres url");
    // Back to an empty database, so that the opens below race to apply everything.
    store
        .write(|tx| {
            tx.execute("DROP SCHEMA public CASCADE", &[])?;
            tx.execute("CREATE SCHEMA public", &[])
        })
        .unwrap();
    std::thread::scope(|s| {
        let opens: Vec<_> = (0..4).map(|_| s.spawn(|| yibao_store_postgres::PgBackend::open(&url).map(drop))).collect();
        for o in opens {
            o.join().unwrap().expect("concurrent open");
        }
    });
    let applied = store.read(|tx| tx.query("SELECT name FROM schema_migrations ORDER BY name", &[])).unwrap();
    let names: Vec<String> = applied.iter().map(|r| r.str(0).unwrap()).collect();
    assert_eq!(names, ["0001_schema", "0002_msg_log_by_institution", "0003_lookup_indexes"]);
}

/// PostgreSQL aborts a transaction at its first failed statement; a body that swallows that
/// error and asks to commit gets the error back, not a silent rollback.
#[test]
#[cfg_attr(yibao_skip_pg, ignore = "YIBAO_SKIP_PG=1: PostgreSQL skipped")]
fn postgres_refuses_to_commit_after_a_swallowed_error() {
    let Some(store) = postgres_store() else {
        return;
    };
    create_t(&store);
    store.write(|tx| insert(tx, 1, None, None)).unwrap();
    let r = store.write(|tx| {
        insert(tx, 2, None, None)?;
        let dup = insert(tx, 1, None, None);
        assert!(matches!(dup, Err(DbError::Unique(_))), "{dup:?}");
        Ok::<_, DbError>(())
    });
    assert!(matches!(r, Err(DbError::Unique(_))), "{r:?}");
    assert_eq!(count_t(&store), 1);
}
