//! `yibao bench`: a load generator that speaks the national interface over HTTP to a yibao
//! server on loopback — one it is given (`--url`) or one it starts on a store of its own — and
//! then checks that the money in the store is exactly the money the server acknowledged.
//! `--crash` kills the server with SIGKILL under load, restarts it, and checks again.
//!
//! The generator runs on one thread (a current-thread runtime), so that on a small machine it
//! leaves the rest to the server it measures; it reports its own CPU time beside the server's.

mod check;
mod disk;
mod flows;
mod his;
mod http;

mod server;
mod sign;
mod stats;
mod world;

use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use yibao_store::Store;

pub use flows::Mix;

/// What `yibao bench` accepts.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// A running server, on loopback only (e.g. http://127.0.0.1:8080); `--db` must name its
    /// store, for the money check. Without it the bench starts a server itself on `--db`, or on
    /// a temporary SQLite file when no `--db` is given, seeding a demo world if the store is empty.
    #[arg(long)]
    pub url: Option<String>,
    /// Credentials to sign requests with (x-tif headers), as `serve --demo` writes them. With
    /// --url the default is the server's `<db>.demo-credentials.json` if there is one.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Open loop: flows started per second, whatever the answers take.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Closed loop (without --rate): concurrent sessions, each running flows back to back.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds of measured load.
    #[arg(long, default_value_t = 20.0)]
    pub duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// `outpatient` (visits only: 2201 → 2204 → 2206 → 2207) or `mixed` (plus pharmacy sales,
    /// inpatient stays, reversals, 2601 and duplicate deliveries).
    #[arg(long, default_value = "mixed")]
    pub mix: String,
    /// Write the result as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Insured persons of the demo world a started server seeds (only if its store is empty).
    #[arg(long, default_value_t = 20_000)]
    pub persons: usize,
    /// Empty the store named by --db first (delete the SQLite file, or drop and create the
    /// PostgreSQL database).
    #[arg(long)]
    pub fresh: bool,
    /// Kill the server with SIGKILL at a random moment under load, restart it, check the money.
    #[arg(long)]
    pub crash: bool,
    /// With --crash: how many kill–restart–check cycles, each --duration long.
    #[arg(long, default_value_t = 3)]
    pub crashes: u32,
    /// Open loop: flows in flight beyond which new arrivals are shed (and counted).
    #[arg(long, default_value_t = 4096)]
    pub max_inflight: usize,
    /// Seed of the generator (which persons, items, prices, steps).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the temporary store afterwards.
    #[arg(long)]
    pub keep: bool,
    /// Only measure the physical limit: the disk's write+fdatasync rate and the embedded
    /// store's commit rate with one and with many writers (in a temporary directory).
    #[arg(long)]
    pub disk: bool,
}

/// Opens a store by URL (the binary's own `open_store`).
pub type OpenStore = fn(&str) -> Result<Store, String>;

/// Runs the bench; `Err` (non-zero exit) if the load could not run or the money check failed.
pub fn run(db: &str, args: BenchArgs, open_store: OpenStore) -> Result<(), String> {
    if args.disk {
        return disk_probe(open_store);
    }
    let mix = match args.mix.as_str() {
        "outpatient" => Mix::OUTPATIENT,
        "mixed" => Mix::MIXED,
        other => return Err(format!("--mix {other}: expected outpatient or mixed")),
    };
    if args.crash && args.url.is_some() {
        return Err("--crash starts and kills its own server: leave out --url".into());
    }
    if !(args.duration > 0.0 && args.duration < 86_400.0 && args.warmup >= 0.0 && args.warmup < 3_600.0) {
        return Err("--duration must be in (0, 86400) s and --warmup in [0, 3600) s".into());
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r <= 1_000_000.0)) || args.concurrency == 0 {
        return Err("--rate must be in (0, 1000000] and --concurrency at least 1".into());
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let target = Target::choose(db, &args)?;
    // Opened here, outside the runtime, and dropped here too: the PostgreSQL client is
    // synchronous and may not be created or dropped on the generator's runtime. (A store opened
    // before the server starts is fine: whoever opens first applies the migrations.)
    let result = open_store(&target.db).and_then(|store| {
        let r = rt.block_on(bench(&target, &args, mix, &store));
        drop(rt);
        drop(store);
        r
    });
    match (&target.temp, args.keep) {
        (Some(dir), true) => eprintln!("the store and the server's log are kept in {}", dir.display()),
        _ => target.clean_up(),
    }
    result
}

fn disk_probe(open_store: OpenStore) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("yibao-disk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let r = disk::run(&dir, open_store);
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// Where the store is, and who made it.
struct Target {
    db: String,
    /// A temporary directory the bench created (removed unless --keep).
    temp: Option<PathBuf>,
    url: Option<SocketAddr>,
}

impl Target {
    fn choose(db: &str, args: &BenchArgs) -> Result<Target, String> {
        let url = args.url.as_deref().map(loopback).transpose()?;
        if url.is_some() || db_given() {
            if args.fresh {
                if url.is_some() {
                    return Err("--fresh would empty the store of a running server: leave it out with --url".into());
                }
                reset_store(db)?;
            }
            return Ok(Target { db: db.to_owned(), temp: None, url });
        }
        let dir = std::env::temp_dir().join(format!("yibao-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let db = format!("sqlite://{}", dir.join("yibao.db").display());
        Ok(Target { db, temp: Some(dir), url })
    }

    fn clean_up(&self) {
        if let Some(d) = &self.temp {
            let _ = std::fs::remove_dir_all(d);
        }
    }

    fn log_path(&self) -> PathBuf {
        match &self.temp {
            Some(d) => d.join("server.log"),
            None => std::env::temp_dir().join(format!("yibao-bench-server-{}.log", std::process::id())),
        }
    }
}

/// Whether `--db` (or YIBAO_DB) was given: without it the bench must not touch the default store.
fn db_given() -> bool {
    std::env::var_os("YIBAO_DB").is_some()
        || std::env::args_os().any(|a| a == "--db" || a.to_string_lossy().starts_with("--db="))
}

/// The server address of a loopback URL; anything else is refused.
fn loopback(url: &str) -> Result<SocketAddr, String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("--url {url}: only http:// is spoken"))?;
    let hostport = rest.split('/').next().unwrap_or(rest);
    let hostport = hostport.replacen("localhost", "127.0.0.1", 1);
    let addr: SocketAddr = hostport.parse().map_err(|_| format!("--url {url}: expected http://127.0.0.1:PORT"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("--url {url}: the bench only drives servers on loopback"));
    }
    Ok(addr)
}

/// Deletes a SQLite file (and its WAL), or drops and recreates a PostgreSQL database.
fn reset_store(db: &str) -> Result<(), String> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return reset_postgres(db);
    }
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    let path = path.split('?').next().unwrap_or(path);
    for suffix in ["", "-wal", "-shm"] {
        let p = format!("{path}{suffix}");
        if let Err(e) = std::fs::remove_file(&p) {
            if e.kind() != std::io::ErrorKind::NotFound {
                return Err(format!("{p}: {e}"));
            }
        }
    }
    Ok(())
}

fn reset_postgres(url: &str) -> Result<(), String> {
    let config: postgres::Config = url.parse().map_err(|e| format!("{url}: {e}"))?;
    let name = config.get_dbname().ok_or_else(|| format!("{url}: no database name"))?.to_owned();
    if name == "postgres" || name.contains('"') {
        return Err(format!("--fresh will not drop the database {name:?}"));
    }
    let mut admin_cfg = config.clone();
    admin_cfg.dbname("postgres");
    let mut admin = admin_cfg.connect(postgres::NoTls).map_err(|e| format!("connecting to PostgreSQL: {e}"))?;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .and_then(|()| admin.batch_execute(&format!("CREATE DATABASE \"{name}\"")))
        .map_err(|e| format!("recreating database {name}: {e}"))
}

async fn bench(target: &Target, args: &BenchArgs, mix: Mix, store: &Store) -> Result<(), String> {
    let mut server = None;
    let addr = match target.url {
        Some(a) => a,
        None => {
            let mut s = server::Server::new(&target.db, args.persons, &target.log_path())?;
            s.start()?;
            let probe = http::Client::new(s.addr, "/");
            let took = s.wait_ready(&probe).await?;
            eprintln!("server on {} ({}) ready after {:.1} s", s.addr, target.db, took.as_secs_f64());
            let a = s.addr;
            server = Some(s);
            a
        }
    };
    let st = store.clone();
    let world = Arc::new(blocking(move || world::World::load(&st, his::now(), 5_000)).await?);
    eprintln!(
        "world: {} hospitals, {} pharmacies, {} persons",
        world.hospitals.len(),
        world.pharmacies.len(),
        world.person_count()
    );
    let st = store.clone();
    let before = Arc::new(blocking(move || check::before(&st)).await?);
    let stats = Arc::new(stats::Stats::new(Duration::from_secs_f64(args.warmup)));
    let signer = signer(target, args)?;
    let client = http::Client::new(addr, "/fsi/api/rsfComIfsService/callService").signed(signer);
    if let Some(code) = world.hospitals.first().map(|h| h.code.clone()) {
        preflight(&client, &code, target, args).await?;
    }
    let retry_for = Duration::from_secs(if args.crash { 120 } else { 30 });
    let ctx = Arc::new(his::Ctx::new(client, stats.clone(), retry_for));
    let mut cpu = CpuTally::default();
    let cycles = if args.crash { args.crashes.max(1) } else { 1 };
    let mut verdicts = Vec::new();
    let mut measured = Duration::ZERO;
    for cycle in 0..cycles {
        let plan =
            LoadPlan { args, mix, world: world.clone(), ctx: ctx.clone(), seed: args.seed.wrapping_add(cycle as u64) };
        let at_start = cpu.snapshot(&server);
        let (took, crash) = match server.as_mut().filter(|_| args.crash) {
            Some(s) => with_crash(plan, s, &ctx).await?,
            None => (load(plan).await, None),
        };
        cpu.add(at_start, cpu.snapshot(&server));
        measured += took;
        if let Some(r) = ctx.client.refusal() {
            if let Some(mut s) = server.take() {
                s.stop();
            }
            return Err(refused_message(&r, target, args));
        }
        let (st, b, c) = (store.clone(), before.clone(), ctx.clone());
        let verdict = blocking(move || check::run(&st, &b, &c.ledger())).await?;
        report_check(cycle, crash, &verdict);
        verdicts.push(json!({ "cycle": cycle, "killed_after_s": crash, "findings": verdict.findings, "figures": verdict.figures }));
    }
    let mut report = stats::report(&stats, measured);
    // The server's CPU time is its process's: meaningless across a restart.
    report["cpu_s"] = cpu.report(!args.crash);
    report["config"] = json!({ "db": target.db, "rate": args.rate, "concurrency": args.concurrency, "duration_s": args.duration, "warmup_s": args.warmup, "mix": args.mix, "crash": args.crash, "crashes": cycles, "persons_in_world": world.person_count() });
    report["money_check"] = Value::Array(verdicts);
    println!();
    stats::print(&report);
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(mut s) = server {
        s.stop();
    }
    let failed: usize = report["money_check"]
        .as_array()
        .map_or(0, |v| v.iter().filter(|c| c["findings"].as_array().is_some_and(|f| !f.is_empty())).count());
    if failed > 0 {
        return Err(format!("money check failed in {failed} of {cycles} cycle(s)"));
    }
    println!("money check: passed ({cycles} cycle(s))");
    // Every flow the generator sends is valid: a refusal, an HTTP error or a run that settled
    // nothing means the figures do not measure what they claim to.
    let refused = stats.failures.load(Ordering::Relaxed);
    let acked = ctx.ledger().acks.len();
    if refused > 0 || acked == 0 {
        return Err(format!("{refused} request(s) failed and {acked} settlement(s) were acknowledged: see above"));
    }
    Ok(())
}

/// The credentials to sign with: `--credentials`, else (driving a server given by --url) the
/// demo credentials file beside its store, if there is one.
fn signer(target: &Target, args: &BenchArgs) -> Result<Option<sign::Signer>, String> {
    let path = match (&args.credentials, &target.url) {
        (Some(p), _) => p.clone(),
        (None, Some(_)) => match demo_credentials(&target.db) {
            p if p.exists() => p,
            _ => return Ok(None),
        },
        (None, None) => return Ok(None),
    };
    let s = sign::Signer::load(&path)?;
    eprintln!("signing requests with the {} credentials in {}", s.len(), path.display());
    Ok(Some(s))
}

/// Where `serve --demo` writes the demo credentials of the store `db`: beside a SQLite file,
/// else in the working directory (the CLI and the bench share this).
pub fn demo_credentials(db: &str) -> PathBuf {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        return PathBuf::from("yibao.demo-credentials.json");
    }
    let path = db.strip_prefix("sqlite://").unwrap_or(db);
    PathBuf::from(format!("{}.demo-credentials.json", path.split('?').next().unwrap_or(path)))
}

/// One request before the load: a server that refuses the bench (authentication, rate limit)
/// is reported at once, instead of with thousands of refused requests.
async fn preflight(client: &http::Client, code: &str, target: &Target, args: &BenchArgs) -> Result<(), String> {
    let probe = json!({ "fixmedins_code": code }).to_string();
    match client.post(probe.as_bytes()).await {
        Ok(_) => match client.refusal() {
            Some(r) => Err(refused_message(&r, target, args)),
            None => Ok(()),
        },
        Err(e) => Err(format!("the server does not answer: {e}")),
    }
}

fn refused_message(refusal: &str, target: &Target, args: &BenchArgs) -> String {
    let hint = match &args.credentials {
        Some(p) => format!("the credentials in {} are not accepted by this server", p.display()),
        None if demo_credentials(&target.db).exists() && target.url.is_some() => format!(
            "the demo credentials in {} are not accepted by this server",
            demo_credentials(&target.db).display()
        ),
        None => format!(
            "it requires signed requests: pass --credentials FILE (`serve --demo` writes {}), or start it with --auth off",
            demo_credentials(&target.db).display()
        ),
    };
    format!("stopped at the first refusal ({refusal}): {hint}")
}

/// Runs store work (synchronous, and on PostgreSQL driving a runtime of its own) off the
/// generator's runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, String> {
    tokio::task::spawn_blocking(f).await.map_err(|e| format!("store work failed: {e}"))?
}

fn report_check(cycle: u32, crash: Option<f64>, v: &check::Verdict) {
    let when = crash.map(|s| format!(" (server killed at {s:.1} s and restarted)")).unwrap_or_default();
    if v.findings.is_empty() {
        eprintln!("money check, cycle {}{when}: OK — {}", cycle + 1, v.figures);
    } else {
        eprintln!("money check, cycle {}{when}: {} finding(s) — {}", cycle + 1, v.findings.len(), v.figures);
        for f in v.findings.iter().take(30) {
            eprintln!("  {f}");
        }
    }
}

/// One stretch of load.
struct LoadPlan<'a> {
    args: &'a BenchArgs,
    mix: Mix,
    world: Arc<world::World>,
    ctx: Arc<his::Ctx>,
    seed: u64,
}

/// Runs the load for warm-up + duration, then lets the flows in flight finish; returns the
/// measured duration.
async fn load(plan: LoadPlan<'_>) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let progress = tokio::spawn(stats::progress(plan.ctx.stats.clone(), stop.clone()));
    let warmup = Duration::from_secs_f64(plan.args.warmup);
    let measured = Duration::from_secs_f64(plan.args.duration);
    let start = Instant::now();
    let deadline = start + warmup + measured;
    let tasks = match plan.args.rate {
        Some(rate) => open_loop(&plan, rate, deadline).await,
        None => closed_loop(&plan, deadline),
    };
    for t in tasks {
        let _ = t.await;
    }
    stop.store(true, Ordering::Relaxed);
    let _ = progress.await;
    measured
}

/// Starts flows at `rate` a second until `deadline`; returns their tasks.
async fn open_loop(plan: &LoadPlan<'_>, rate: f64, deadline: Instant) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let mut sweep_at = 4096;
    let mut rng = yibao_seed::rng::Rng::new(plan.seed);
    let start = Instant::now();
    let every = Duration::from_secs_f64(1.0 / rate);
    let stats = &plan.ctx.stats;
    for k in 0u64.. {
        let due = start + every.mul_f64(k as f64);
        if due >= deadline {
            break;
        }
        tokio::time::sleep_until(due.into()).await;
        if plan.ctx.client.refusal().is_some() {
            break;
        }
        if stats.inflight.load(Ordering::Relaxed) as usize >= plan.args.max_inflight {
            stats.shed.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let kind = plan.mix.pick(&mut rng);
        tasks.push(spawn_flow(plan, kind, rng.next_u64(), due, deadline));
        // Forget finished flows now and then; the next sweep waits until the list has doubled,
        // so sweeping stays cheap even when many flows are in flight.
        if tasks.len() >= sweep_at {
            tasks.retain(|t| !t.is_finished());
            sweep_at = (tasks.len() * 2).max(4096);
        }
    }
    tasks
}

fn closed_loop(plan: &LoadPlan<'_>, deadline: Instant) -> Vec<tokio::task::JoinHandle<()>> {
    (0..plan.args.concurrency)
        .map(|i| {
            let (ctx, world, mix) = (plan.ctx.clone(), plan.world.clone(), plan.mix);
            let mut rng = yibao_seed::rng::Rng::new(plan.seed.wrapping_mul(1_000_003).wrapping_add(i as u64));
            tokio::spawn(async move {
                while Instant::now() < deadline && ctx.client.refusal().is_none() {
                    let kind = mix.pick(&mut rng);
                    one_flow(&ctx, &world, mix, kind, rng.next_u64(), Instant::now(), deadline).await;
                }
            })
        })
        .collect()
}

fn spawn_flow(
    plan: &LoadPlan<'_>,
    kind: stats::FlowKind,
    seed: u64,
    due: Instant,
    deadline: Instant,
) -> tokio::task::JoinHandle<()> {
    let (ctx, world, mix) = (plan.ctx.clone(), plan.world.clone(), plan.mix);
    tokio::spawn(async move { one_flow(&ctx, &world, mix, kind, seed, due, deadline).await })
}

async fn one_flow(
    ctx: &his::Ctx,
    world: &world::World,
    mix: Mix,
    kind: stats::FlowKind,
    seed: u64,
    due: Instant,
    deadline: Instant,
) {
    ctx.stats.inflight.fetch_add(1, Ordering::Relaxed);
    let r = flows::run(ctx, world, mix, kind, seed, due).await;
    ctx.stats.inflight.fetch_sub(1, Ordering::Relaxed);
    match r {
        Ok(()) => ctx.stats.flow(kind, due, Instant::now(), deadline),
        Err(his::Failure::Garbled(m)) => {
            ctx.stats.failures.fetch_add(1, Ordering::Relaxed);
            eprintln!("flow failed: {m}");
        }
        Err(his::Failure::Refused(code, msg)) => {
            // Counted with the request; the first few are shown, since none is expected.
            if ctx.stats.refusals_shown.fetch_add(1, Ordering::Relaxed) < 10 {
                eprintln!("{} refused (infcode {code}): {msg}", kind.name());
            }
        }
        // Counted with the request that was never answered.
        Err(his::Failure::NoAnswer) => {}
    }
}

/// Runs the load and, at a random moment of it, kills the server and starts it again on the
/// same store. Returns the measured duration and when the kill happened.
async fn with_crash(
    plan: LoadPlan<'_>,
    server: &mut server::Server,
    ctx: &his::Ctx,
) -> Result<(Duration, Option<f64>), String> {
    let mut rng = yibao_seed::rng::Rng::new(plan.seed ^ 0xC0FFEE);
    let total = plan.args.warmup + plan.args.duration;
    let at = total * (0.25 + 0.5 * rng.below(1000) as f64 / 1000.0);
    let killer = async {
        tokio::time::sleep(Duration::from_secs_f64(at)).await;
        server.kill()?;
        eprintln!("killed the server (SIGKILL) at {at:.1} s; restarting it on the same store");
        ctx.client.reset();
        server.start()?;
        let took = server.wait_ready(&ctx.client).await?;
        eprintln!("server back after {:.1} s", took.as_secs_f64());
        Ok::<_, String>(())
    };
    let (took, killed) = tokio::join!(load(plan), killer);
    killed?;
    Ok((took, Some(at)))
}

/// CPU seconds (user + system) of a process from /proc, if readable. Assumes 100 ticks a second,
/// the Linux default.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// CPU used during the load phases only (not seeding, not the money checks).
#[derive(Default)]
struct CpuTally {
    bench: f64,
    server: f64,
    machine_busy: f64,
    machine_total: f64,
}

/// (bench CPU s, server CPU s, machine (busy, total) ticks) at one moment.
type CpuSnapshot = (Option<f64>, Option<f64>, Option<(f64, f64)>);

impl CpuTally {
    fn snapshot(&self, server: &Option<server::Server>) -> CpuSnapshot {
        (cpu_seconds("self"), server_cpu(server), machine_cpu())
    }

    fn add(&mut self, a: CpuSnapshot, b: CpuSnapshot) {
        self.bench += delta(a.0, b.0).unwrap_or(0.0);
        self.server += delta(a.1, b.1).unwrap_or(0.0);
        if let (Some((b0, t0)), Some((b1, t1))) = (a.2, b.2) {
            self.machine_busy += b1 - b0;
            self.machine_total += t1 - t0;
        }
    }

    fn report(&self, with_server: bool) -> Value {
        let busy = (self.machine_total > 0.0).then(|| stats::round1(100.0 * self.machine_busy / self.machine_total));
        json!({
            "bench": stats::round1(self.bench),
            "server": with_server.then(|| stats::round1(self.server)),
            "machine_busy_percent": busy,
        })
    }
}

/// (busy, total) CPU time of the whole machine from /proc/stat: with the server, its database
/// and this generator on the same cores, how close to saturation the run was.
fn machine_cpu() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    let total: f64 = v.iter().sum();
    let idle = v.get(3)? + v.get(4).unwrap_or(&0.0);
    Some((total - idle, total))
}

fn server_cpu(s: &Option<server::Server>) -> Option<f64> {
    s.as_ref().and_then(|s| s.pid()).and_then(|p| cpu_seconds(&p.to_string()))
}

fn delta(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some(stats::round1(b? - a?))
}

#[cfg(test)]
mod tests {
    use super::loopback;

    #[test]
    fn only_loopback_urls() {
        assert_eq!(loopback("http://127.0.0.1:8080").unwrap().port(), 8080);
        assert_eq!(loopback("http://localhost:9000/").unwrap().port(), 9000);
        assert!(loopback("http://[::1]:8080").is_ok());
        assert!(loopback("http://10.0.0.1:8080").is_err());
        assert!(loopback("https://127.0.0.1:8080").is_err());
        assert!(loopback("http://example.com:80").is_err());
    }
}
