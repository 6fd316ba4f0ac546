//! `yibao bench --disk`: the physical limit beside the figures. How many write+fdatasync pairs
//! the disk does a second, and how many tiny write transactions the embedded store commits a
//! second from one writer (one fsync each) and from many concurrent writers (group commit).

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};
use yibao_store::Store;

/// How long each probe runs.
const PROBE: Duration = Duration::from_secs(5);

/// Writers of the concurrent store probe.
const WRITERS: usize = 16;

pub fn run(dir: &Path, open_store: crate::OpenStore) -> Result<(), String> {
    let (n, each) = fsyncs(&dir.join("fsync.probe"))?;
    println!("disk: write(4 KiB) + fdatasync: {n:.0}/s ({each:.0} µs each)");
    let store = open_store(&format!("sqlite://{}", dir.join("probe.db").display()))?;
    store
        .write(|tx| tx.execute("CREATE TABLE IF NOT EXISTS bench_probe (id BIGINT PRIMARY KEY, v TEXT NOT NULL)", &[]))
        .map_err(|e| e.to_string())?;
    let one = commits(&store, 1, 0)?;
    println!("store (SQLite, WAL, each write synced), 1 writer: {one:.0} write transactions/s");
    let many = commits(&store, WRITERS, 1_000_000)?;
    println!("store (SQLite), {WRITERS} concurrent writers (group commit): {many:.0} write transactions/s");
    Ok(())
}

/// (pairs per second, microseconds each) of 4 KiB writes each followed by fdatasync.
fn fsyncs(path: &Path) -> Result<(f64, f64), String> {
    let mut f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let page = [0x5au8; 4096];
    let (t, mut n) = (Instant::now(), 0u64);
    while t.elapsed() < PROBE {
        f.write_all(&page).and_then(|()| f.sync_data()).map_err(|e| e.to_string())?;
        n += 1;
    }
    let _ = std::fs::remove_file(path);
    let secs = t.elapsed().as_secs_f64();
    Ok((n as f64 / secs, secs / n as f64 * 1e6))
}

/// Write transactions per second from `threads` writers, each inserting one small row per
/// transaction; ids start at `base` so probes do not collide.
fn commits(store: &Store, threads: usize, base: i64) -> Result<f64, String> {
    let t = Instant::now();
    let done: Result<Vec<i64>, String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..threads)
            .map(|k| {
                s.spawn(move || {
                    let mut n = 0i64;
                    while t.elapsed() < PROBE {
                        let id = base + (k as i64) * 10_000_000 + n;
                        store
                            .write(|tx| {
                                tx.execute("INSERT INTO bench_probe (id, v) VALUES ($1, 'x')", yibao_store::params![id])
                            })
                            .map_err(|e| e.to_string())?;
                        n += 1;
                    }
                    Ok(n)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().map_err(|_| "probe thread panicked".to_owned())?).collect()
    });
    Ok(done?.iter().sum::<i64>() as f64 / t.elapsed().as_secs_f64())
}
