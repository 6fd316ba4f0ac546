//! Latencies, error counts and throughput of a run, live counters for the progress line, and
//! the final report (text and JSON).

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Kinds of flow the generator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FlowKind {
    Outpatient,
    Pharmacy,
    Inpatient,
}

impl FlowKind {
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Outpatient => "outpatient visits",
            FlowKind::Pharmacy => "pharmacy sales",
            FlowKind::Inpatient => "inpatient stays",
        }
    }
}

#[derive(Default)]
struct Samples {
    /// Latency of every answered request, in microseconds, by infno.
    latency: BTreeMap<String, Vec<u32>>,
    /// Answers by infno and infcode ("io" for requests that never got one).
    codes: BTreeMap<String, BTreeMap<String, u64>>,
    /// Completed flows by kind, with their end-to-end latency in microseconds.
    flows: BTreeMap<FlowKind, Vec<u32>>,
}

/// Everything measured during a run. Shared by all flows.
pub struct Stats {
    pub started: Instant,
    /// Requests started before this are run but not counted (connections, caches warming up).
    pub measure_from: Instant,
    samples: Mutex<Samples>,
    // Live counters for the progress line (whole run, warm-up included).
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub flows_done: AtomicU64,
    pub visits_done: AtomicU64,
    pub inflight: AtomicU64,
    pub shed: AtomicU64,
    pub retries: AtomicU64,
    pub refusals_shown: AtomicU64,
    /// Worst latency since the last progress line, in microseconds.
    pub window_max_us: AtomicU64,
}

impl Stats {
    pub fn new(warmup: Duration) -> Stats {
        let started = Instant::now();
        Stats {
            started,
            measure_from: started + warmup,
            samples: Mutex::default(),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            flows_done: AtomicU64::new(0),
            visits_done: AtomicU64::new(0),
            inflight: AtomicU64::new(0),
            shed: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            refusals_shown: AtomicU64::new(0),
            window_max_us: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Samples> {
        self.samples.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One request's answer: its infcode (or "io") and, if answered, its latency.
    pub fn request(&self, infno: &str, code: &str, began: Instant, latency: Option<Duration>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        if code != "0" {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(l) = latency {
            self.window_max_us.fetch_max(l.as_micros() as u64, Ordering::Relaxed);
        }
        if began < self.measure_from {
            return;
        }
        let mut s = self.lock();
        *s.codes.entry(infno.to_owned()).or_default().entry(code.to_owned()).or_default() += 1;
        if let Some(l) = latency {
            s.latency.entry(infno.to_owned()).or_default().push(micros(l));
        }
    }

    /// A flow that reached its end.
    pub fn flow(&self, kind: FlowKind, began: Instant, ended: Instant, deadline: Instant) {
        self.flows_done.fetch_add(1, Ordering::Relaxed);
        if kind == FlowKind::Outpatient {
            self.visits_done.fetch_add(1, Ordering::Relaxed);
        }
        // Throughput counts flows that began in the measured window and ended before its end.
        if began >= self.measure_from && ended <= deadline {
            self.lock().flows.entry(kind).or_default().push(micros(ended - began));
        }
    }
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

/// p50/p95/p99/max in milliseconds of a sample set.
fn percentiles(v: &mut [u32]) -> Value {
    v.sort_unstable();
    let at = |q: f64| -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
        v[i] as f64 / 1000.0
    };
    json!({ "count": v.len(), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99), "max_ms": at(1.0) })
}

/// The final figures as JSON: throughput over the measured window, latency per infno and per
/// flow, answers per infno and infcode.
pub fn report(stats: &Stats, measured: Duration) -> Value {
    let mut s = stats.lock();
    let secs = measured.as_secs_f64().max(1e-9);
    let mut throughput = serde_json::Map::new();
    let mut flows = serde_json::Map::new();
    for (kind, v) in s.flows.iter_mut() {
        throughput.insert(kind.name().replace(' ', "_") + "_per_s", json!(round1(v.len() as f64 / secs)));
        flows.insert(kind.name().replace(' ', "_"), percentiles(v));
    }
    let answered: usize = s.latency.values().map(Vec::len).sum();
    throughput.insert("requests_per_s".into(), json!(round1(answered as f64 / secs)));
    let latency: serde_json::Map<String, Value> =
        s.latency.iter_mut().map(|(k, v)| (k.clone(), percentiles(v))).collect();
    json!({
        "measured_s": round1(secs),
        "throughput": throughput,
        "latency_by_infno": latency,
        "latency_by_flow": flows,
        "answers_by_infno": s.codes,
        "transport_retries": stats.retries.load(Ordering::Relaxed),
        "flows_shed": stats.shed.load(Ordering::Relaxed),
    })
}

pub fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Prints the report as a table.
pub fn print(report: &Value) {
    println!("measured window: {} s", report["measured_s"]);
    if let Some(t) = report["throughput"].as_object() {
        for (k, v) in t {
            println!("  {k:<28} {v}");
        }
    }
    println!(
        "{:<8} {:>9} {:>9} {:>9} {:>9} {:>9}   answers (infcode: count)",
        "infno", "count", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    let rows = report["latency_by_infno"].as_object().cloned().unwrap_or_default();
    for (infno, l) in &rows {
        let codes = report["answers_by_infno"][infno].as_object().map(codes_text).unwrap_or_default();
        println!(
            "{infno:<8} {:>9} {:>9.2} {:>9.2} {:>9.2} {:>9.2}   {codes}",
            l["count"],
            num(&l["p50_ms"]),
            num(&l["p95_ms"]),
            num(&l["p99_ms"]),
            num(&l["max_ms"])
        );
    }
    for (flow, l) in report["latency_by_flow"].as_object().cloned().unwrap_or_default() {
        println!(
            "flow {flow:<22} n={} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            l["count"],
            num(&l["p50_ms"]),
            num(&l["p99_ms"]),
            num(&l["max_ms"])
        );
    }
    println!(
        "transport retries: {}, flows shed (open loop over --max-inflight): {}",
        report["transport_retries"], report["flows_shed"]
    );
    println!("CPU seconds: {}", report["cpu_s"]);
}

fn codes_text(m: &serde_json::Map<String, Value>) -> String {
    m.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or(0.0)
}

/// Prints one progress line a second until `stop` says so.
pub async fn progress(stats: std::sync::Arc<Stats>, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) {
    let counters = |s: &Stats| {
        (s.requests.load(Ordering::Relaxed), s.visits_done.load(Ordering::Relaxed), s.failures.load(Ordering::Relaxed))
    };
    // The counters run over the whole bench (all cycles): rates are differences.
    let mut last = counters(&stats);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let now = counters(&stats);
        let worst = stats.window_max_us.swap(0, Ordering::Relaxed) as f64 / 1000.0;
        eprintln!(
            "[{:>5.1} s] {:>6} req/s  {:>5} visits/s  {:>4} failed/s  in flight {:>4}  slowest {:>7.1} ms  retries {}",
            stats.started.elapsed().as_secs_f64(),
            now.0 - last.0,
            now.1 - last.1,
            now.2 - last.2,
            stats.inflight.load(Ordering::Relaxed),
            worst,
            stats.retries.load(Ordering::Relaxed),
        );
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::percentiles;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        let p = percentiles(&mut v);
        assert_eq!(
            (p["p50_ms"].as_f64(), p["p99_ms"].as_f64(), p["max_ms"].as_f64()),
            (Some(50.0), Some(99.0), Some(100.0))
        );
        assert_eq!(percentiles(&mut [])["count"], 0);
    }
}
