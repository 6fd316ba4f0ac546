//! The national institution interface over HTTP. One endpoint takes every transaction
//! (`POST /fsi/api/rsfComIfsService/callService`); the older per-service paths are accepted too.
//! Store work runs on blocking threads; the store serializes what must be serialized.

mod clock;
mod envelope;
mod error;
mod input;
mod paths;
mod txn;

pub use envelope::Envelope;
pub use error::GatewayError;
pub use txn::INFNOS;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};
use std::time::Instant;
use yibao_store::Store;

/// Largest request body: a fee upload of thousands of lines fits well within it.
const BODY_MAX_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct App {
    pub store: Store,
}

pub fn router(app: App) -> Router {
    Router::new()
        .route("/fsi/api/rsfComIfsService/callService", post(call))
        .route("/fsi/api/{*rest}", post(call_path))
        .route("/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(BODY_MAX_BYTES))
        .with_state(app)
}

async fn call(State(app): State<App>, body: Bytes) -> Json<Value> {
    Json(run(app, body, None).await)
}

async fn call_path(State(app): State<App>, Path(rest): Path<String>, body: Bytes) -> Json<Value> {
    Json(run(app, body, paths::infno_of(&rest)).await)
}

async fn run(app: App, body: Bytes, path_infno: Option<&'static str>) -> Value {
    let started = Instant::now();
    let (now, ms) = clock::now();
    let refmsg_time = envelope::stamp_ms(now, ms);
    let task = tokio::task::spawn_blocking(move || handle(&app.store, &body, path_infno, now));
    let (admdvs, result, label) = match task.await {
        Ok(r) => r,
        Err(e) => (
            "000000".to_owned(),
            Err(GatewayError::System(format!("the request failed inside the platform: {e}"))),
            String::new(),
        ),
    };
    let (end, end_ms) = clock::now();
    let answer = envelope::Answer {
        refmsg_time,
        respond_time: envelope::stamp_ms(end, end_ms),
        inf_refmsgid: envelope::inf_refmsgid(&admdvs, end),
    };
    let code = result.as_ref().map_or_else(|e| e.infcode(), |_| 0);
    tracing::info!(target: "yibao::call", request = %label, infcode = code, micros = started.elapsed().as_micros() as u64, "handled");
    envelope::response(&answer, &result)
}

/// Parses and dispatches one request; returns the receiver division for inf_refmsgid, the
/// result, and a log label without personal data.
pub fn handle(
    store: &Store,
    body: &[u8],
    path_infno: Option<&str>,
    now: yibao_domain::DateTime,
) -> (String, Result<Value, GatewayError>, String) {
    let mut map: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return ("000000".into(), Err(error::biz("request body must be a JSON object")), String::new()),
        Err(e) => {
            return ("000000".into(), Err(error::biz(format!("request body is not valid JSON: {e}"))), String::new())
        }
    };
    if let Some(infno) = path_infno {
        let sent = map.get("infno").and_then(Value::as_str).map(str::to_owned);
        match sent {
            None => {
                map.insert("infno".into(), Value::String(infno.to_owned()));
            }
            Some(s) if s != infno && !s.starts_with(infno) => {
                return (
                    "000000".into(),
                    Err(error::biz(format!("infno {s} was sent to the path of {infno}"))),
                    String::new(),
                );
            }
            Some(_) => {}
        }
    }
    let env = match Envelope::from_map(map) {
        Ok(e) => e,
        Err(e) => return ("000000".into(), Err(e), String::new()),
    };
    let label = format!("{} {} {}", env.infno, env.msgid, env.fixmedins_code);
    let ctx = txn::Ctx { store, env: &env, now };
    let result = txn::dispatch(&ctx);
    (env.mdtrtarea_admvs.clone(), result, label)
}

/// Serves until the process is told to stop (Ctrl-C or SIGTERM).
pub async fn serve(app: App, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router(app)).with_graceful_shutdown(shutdown()).await
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
