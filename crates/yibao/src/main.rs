//! `yibao`: one binary for the platform. `serve` answers the national institution interface;
//! `seed`, `import`, `export` and `policy` fill and read the store; `calc` settles a case file
//! without any store.

#[macro_use]
mod out;
mod policies;
mod trust;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;
use yibao_store::Store;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "yibao",
    version,
    about = "National healthcare-security platform: identify, enrol and settle in real time"
)]
struct Cli {
    /// Store: a SQLite file (`sqlite://data/yibao.db`, or a plain path) or `postgres://user@host/db`.
    #[arg(long, env = "YIBAO_DB", default_value = "sqlite://data/yibao.db", global = true)]
    db: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Serve the national institution interface over HTTP.
    Serve {
        #[arg(long, env = "YIBAO_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed the demo world and its policies first if the store is empty (creates the store
        /// if there is none).
        #[arg(long)]
        demo: bool,
        /// Create the store (and, without YIBAO_DATA_KEY, its key file) if there is none.
        #[arg(long)]
        create: bool,
        /// Persons in the demo world (with --demo).
        #[arg(long, default_value_t = 100_000)]
        persons: usize,
        /// `required`: every interface request must carry valid x-tif headers (docs/interface.md);
        /// `off`: nothing is checked but the rate limit (demos, benchmarks).
        #[arg(long, env = "YIBAO_AUTH", default_value = "required")]
        auth: yibao_gateway::AuthMode,
        /// Requests per second per institution (token bucket, burst twice that); 0: no limit.
        #[arg(long, env = "YIBAO_RATE_LIMIT", default_value_t = 500.0)]
        rate_limit: f64,
        /// Person lookups (1101, 2001, 5206, 2101) per institution per minute; 0: no limit.
        #[arg(long, env = "YIBAO_LOOKUP_LIMIT", default_value_t = 300.0)]
        lookup_limit: f64,
    },
    /// Institution credentials (x-tif-paasid and secret): issue, rotate, revoke, list.
    #[command(subcommand)]
    Credential(trust::CredentialCmd),
    /// E-credential tokens (医保电子凭证).
    #[command(subcommand)]
    Ec(trust::EcCmd),
    /// Platform operators.
    #[command(subcommand)]
    Operator(trust::OperatorCmd),
    /// The tamper-evident audit log.
    #[command(subcommand)]
    Audit(trust::AuditCmd),
    /// Re-seal personal data under the current data key (the first of YIBAO_DATA_KEY).
    Rekey,
    /// Print a new random data key (hex) for YIBAO_DATA_KEY.
    Keygen,
    /// Create the deterministic demo world (regions, institutions, catalog, persons, policies),
    /// creating the store if there is none.
    Seed {
        #[arg(long)]
        demo: bool,
        #[arg(long, default_value_t = 100_000)]
        persons: usize,
        #[arg(long, default_value_t = 2024)]
        seed: u64,
    },
    /// Load policy documents (`policy FILE|DIR…`), or list or show the stored ones.
    Policy(policies::PolicyArgs),
    /// Import catalog items, code lists, mappings, institutions or persons (docs/import-format.md).
    Import {
        kind: String,
        path: PathBuf,
        /// Write nothing if any row is bad.
        #[arg(long)]
        strict: bool,
        /// Create the store (and, without YIBAO_DATA_KEY, its key file) if there is none.
        #[arg(long)]
        create: bool,
    },
    /// Export a kind in the import format (CSV or JSON by the file extension).
    Export { kind: String, path: PathBuf },
    /// Settle a case file (docs/calc-format.md) and print the settlement and its trace.
    Calc {
        case: PathBuf,
        /// `json` (the settlement as data) or `text` (a report an analyst reads).
        #[arg(long, default_value = "json", value_parser = ["json", "text"])]
        format: String,
    },
    /// Load generator, money check and crash check against a server on loopback (yibao-bench).
    Bench(yibao_bench::BenchArgs),
}

fn main() -> ExitCode {
    init_logs();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Not eprintln!: a closed stderr must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YIBAO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

type Res = Result<(), String>;

fn run(cli: Cli) -> Res {
    match cli.cmd {
        Cmd::Calc { case, format } => calc(&case, &format),
        Cmd::Serve { listen, demo, create, persons, auth, rate_limit, lookup_limit } => {
            let store = open(&cli.db, demo || create)?;
            if demo {
                seed_if_empty(&store, persons)?;
                if auth == yibao_gateway::AuthMode::Required {
                    trust::demo_credentials(&store, &yibao_bench::demo_credentials(&cli.db))?;
                }
            }
            let limits = yibao_gateway::Limits {
                rate_per_sec: rate_limit,
                burst: (rate_limit * 2.0).max(1.0),
                lookups_per_min: lookup_limit,
                ..Default::default()
            };
            serve(yibao_gateway::App::with_auth(store, auth, limits), &listen)
        }
        Cmd::Credential(c) => trust::credential(&open_store(&cli.db)?, c),
        Cmd::Ec(c) => trust::ec(&open_store(&cli.db)?, c),
        Cmd::Operator(c) => trust::operator(&open_store(&cli.db)?, c),
        Cmd::Audit(c) => trust::audit(&open_store(&cli.db)?, c),
        Cmd::Rekey => {
            let (store, key) = open_keyed(&cli.db, false)?;
            trust::rekey(&store, &key)
        }
        Cmd::Keygen => {
            outln!("{}", yibao_store::Vault::generate_hex())
        }
        Cmd::Seed { demo, persons, seed } => {
            if !demo {
                return Err("only the demo world can be seeded: pass --demo".into());
            }
            seed_demo(&open(&cli.db, true)?, persons, seed)
        }
        Cmd::Policy(args) => policies::run(&open_store(&cli.db)?, args),
        Cmd::Import { kind, path, strict, create } => import(&open(&cli.db, create)?, &kind, &path, strict),
        Cmd::Export { kind, path } => export(&open_store(&cli.db)?, &kind, &path),
        // A bench that starts its own server creates its store; one given --url reads the
        // running server's, which must exist.
        Cmd::Bench(args) => {
            let opener = if args.url.is_some() { open_store } else { open_or_create };
            yibao_bench::run(&cli.db, args, opener)
        }
    }
}

/// Opens the store the URL names, which must exist (migrating it if needed), with the data key
/// of `YIBAO_DATA_KEY` (or, for SQLite, the key file beside the database).
pub fn open_store(url: &str) -> Result<Store, String> {
    open(url, false)
}

/// As [`open_store`], creating a SQLite store and its key file if there is none.
fn open_or_create(url: &str) -> Result<Store, String> {
    open(url, true)
}

fn open(url: &str, create: bool) -> Result<Store, String> {
    open_keyed(url, create).map(|(store, _)| store)
}

/// Opens a store and says where its key came from. A SQLite file that is not there is created
/// only when `create` says so: a mistyped `--db` must not leave an empty store and a key file
/// behind. A key that cannot open what the store holds is refused here, before anything runs.
fn open_keyed(url: &str, create: bool) -> Result<(Store, trust::DataKey), String> {
    let store = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let key = trust::vault_for(url, None, create)?;
        let pg = yibao_store_postgres::PgBackend::open(url).map_err(|e| format!("{}: {e}", trust::redact_url(url)))?;
        (Store::with_vault(Arc::new(pg), key.vault.clone()), key)
    } else {
        let path = sqlite_path(url);
        let exists = Path::new(path).exists();
        if !exists && !create {
            return Err(format!(
                "{path}: no such store (a mistyped --db?); `serve --demo`, `seed --demo`, `serve --create` or `import --create` creates one"
            ));
        }
        let key = trust::vault_for(url, Some(Path::new(path)), !exists)?;
        let lite = yibao_store_sqlite::SqliteBackend::open(path).map_err(|e| format!("{path}: {e}"))?;
        (Store::with_vault(Arc::new(lite), key.vault.clone()), key)
    };
    trust::check_key(&store.0, &store.1, &trust::redact_url(sqlite_path(url)))?;
    Ok(store)
}

fn sqlite_path(url: &str) -> &str {
    let path = url.strip_prefix("sqlite://").unwrap_or(url);
    path.split('?').next().unwrap_or(path)
}

fn serve(app: yibao_gateway::App, listen: &str) -> Res {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("listen on {listen}: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%addr, "yibao serving the national interface at POST /fsi/api/rsfComIfsService/callService");
        let mode = app.guard.mode;
        tracing::info!(auth = ?mode, rate_limit = app.guard.limits.rate_per_sec, "request authentication");
        yibao_gateway::serve(app, listener).await.map_err(|e| e.to_string())
    })
}

fn seed_if_empty(store: &Store, persons: usize) -> Res {
    let n = store.read(|tx| yibao_store::registry::count_persons(tx)).map_err(|e| e.to_string())?;
    if n > 0 {
        tracing::info!(persons = n, "store already holds data; not seeding");
        return Ok(());
    }
    seed_demo(store, persons, 2024)
}

fn seed_demo(store: &Store, persons: usize, seed: u64) -> Res {
    let started = Instant::now();
    let opts = yibao_seed::SeedOptions { persons, seed, ..Default::default() };
    let report = yibao_seed::seed_demo(store, &opts).map_err(|e| e.to_string())?;
    let loaded = policies::load_builtin(store, &report.policy_targets)?;
    eprintln!(
        "seeded {} regions, {} institutions, {} catalog items, {} persons, {} enrollments, {} account entries, {loaded} policies in {:.1} s",
        report.regions,
        report.institutions,
        report.catalog_items,
        report.persons,
        report.enrollments,
        report.account_entries,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn import(store: &Store, kind: &str, path: &Path, strict: bool) -> Res {
    let kind: yibao_import::Kind = kind.parse().map_err(|e| format!("{e}"))?;
    let opts = yibao_import::ImportOptions { strict, ..Default::default() };
    let report = match yibao_import::import_path(store, kind, path, &opts) {
        Ok(r) => r,
        Err(yibao_import::ImportError::Strict(r)) => r,
        Err(e) => return Err(e.to_string()),
    };
    for r in &report.rejected {
        eprintln!("{}:{}: {}", path.display(), r.line, r.reason);
    }
    let written = if strict && !report.rejected.is_empty() { 0 } else { report.imported };
    eprintln!("{}: read {}, imported {written}, rejected {}", path.display(), report.read, report.rejected.len());
    if report.rejected.is_empty() {
        Ok(())
    } else {
        Err(format!("{} row(s) rejected", report.rejected.len()))
    }
}

fn export(store: &Store, kind: &str, path: &Path) -> Res {
    let kind: yibao_import::Kind = kind.parse().map_err(|e| format!("{e}"))?;
    let format = yibao_import::Format::from_path(path).map_err(|e| e.to_string())?;
    let n = yibao_import::export_path(store, kind, path, format).map_err(|e| e.to_string())?;
    eprintln!("exported {n} rows to {}", path.display());
    if kind.is_personal() {
        eprintln!(
            "warning: {} holds personal data in clear (names, ID and phone numbers, addresses); it is readable by you only (0600): keep it so, and delete it when done",
            path.display()
        );
    }
    Ok(())
}

fn calc(case_path: &Path, format: &str) -> Res {
    let text = std::fs::read_to_string(case_path).map_err(|e| format!("{}: {e}", case_path.display()))?;
    let case: yibao_domain::case::Case =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", case_path.display()))?;
    let policy = match &case.policy {
        serde_json::Value::String(rel) => {
            let p = case_path.parent().unwrap_or(Path::new(".")).join(rel);
            let t = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            policies::parse(&t).map_err(|e| format!("{}: {e}", p.display()))?
        }
        inline => policies::parse(&inline.to_string()).map_err(|e| format!("{}: policy: {e}", case_path.display()))?,
    };
    // A sequence (settle / reverse N / settle…) prints every step and the person after it.
    if !case.steps.is_empty() {
        if format == "text" {
            return Err(format!(
                "{}: --format text prints one settlement; a sequence of steps prints as JSON",
                case_path.display()
            ));
        }
        let r = yibao_domain::case::run_steps(&case, &policy).map_err(|e| e.to_string())?;
        return outln!("{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?);
    }
    let r = yibao_domain::case::run(&case, &policy).map_err(|e| e.to_string())?;
    if format == "text" {
        // The report ends with its own newline.
        let text = yibao_domain::case_text::render(&case, &r);
        return outln!("{}", text.trim_end_matches('\n'));
    }
    outln!("{}", serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?)
}
