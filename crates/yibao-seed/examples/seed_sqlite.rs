//! Seeds a fresh SQLite database and reports the time taken:
//! `cargo run --release -p yibao-seed --example seed_sqlite -- /tmp/demo.db 100000`

use std::sync::Arc;
use std::time::Instant;
use yibao_seed::{seed_demo, SeedOptions};
use yibao_store::Store;
use yibao_store_sqlite::SqliteBackend;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_else(|| "demo.db".into());
    let persons = match args.next() {
        Some(n) => n.parse().map_err(|e| format!("persons {n:?}: {e}"))?,
        None => 100_000,
    };
    let store = Store::new(Arc::new(SqliteBackend::open(&path)?));
    let started = Instant::now();
    let report = seed_demo(&store, &SeedOptions { persons, ..SeedOptions::default() })?;
    println!("{report:#?}");
    println!("seeded {persons} persons into {path} in {:.2?}", started.elapsed());
    Ok(())
}
