//! The national institution interface over HTTP. One endpoint takes every transaction
//! (`POST /fsi/api/rsfComIfsService/callService`); the older per-service paths are accepted too.
//! Store work runs on blocking threads; the store serializes what must be serialized.

pub mod admin;
mod admin_http;
pub mod auth;
mod clock;
pub mod ecred;
mod envelope;
mod error;
mod input;
mod log;
mod paths;
mod txn;

pub use auth::{AuthHeaders, AuthMode, Guard, Limits};
pub use envelope::Envelope;
pub use error::GatewayError;
pub use input::ROWS_MAX;
pub use txn::{INFNOS, PERSON_LOOKUPS};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Instant;
use yibao_store::Store;

/// Largest request body. The largest valid request is a fee upload (2204) of `ROWS_MAX`
/// (10,000) lines with every field of interface-spec.md §4.1 at its width: 573 characters of
/// codes, flags and times, four decimals of 18 and 6 characters, 900 characters of names and
/// descriptions and the 4,000 of `exp_content`, text as CJK characters in UTF-8 (3 bytes, as
/// the usual JSON writers send them), plus the keys: 15,895 bytes a line, 159 MB in all
/// (the test `wire::the_largest_fee_upload_fits_the_body_limit` builds that line). 192 MiB
/// (201 MB) leaves 26% for pretty-printed JSON and escapes. A real upload is far smaller (under
/// 1 KB a line); the limit only has to refuse what cannot be a request before it is parsed.
pub const BODY_MAX_BYTES: usize = 192 * 1024 * 1024;

/// Largest calculator case (`POST /api/calc`, unauthenticated): a policy (a few KB) and
/// thousands of lines fit many times over.
pub const CALC_BODY_MAX: usize = 8 * 1024 * 1024;

/// What every request shares: the store, the guard (authentication, nonces, rate limits) and
/// the operators' login throttle.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub guard: Arc<Guard>,
    pub logins: Arc<admin::Logins>,
    /// Largest request body ([`BODY_MAX_BYTES`]; tests lower it).
    pub body_max: usize,
}

impl App {
    /// Authentication required, default limits.
    pub fn new(store: Store) -> App {
        App::with_auth(store, AuthMode::Required, Limits::default())
    }

    pub fn with_auth(store: Store, mode: AuthMode, limits: Limits) -> App {
        App { store, guard: Arc::new(Guard::new(mode, limits)), logins: Arc::default(), body_max: BODY_MAX_BYTES }
    }
}

pub fn router(app: App) -> Router {
    let body_max = app.body_max;
    Router::new()
        .route("/fsi/api/rsfComIfsService/callService", post(call))
        .route("/fsi/api/{*rest}", post(call_path))
        .route("/health", get(|| async { "ok" }))
        .merge(admin_http::routes())
        .route("/api/calc", post(calc).layer(DefaultBodyLimit::max(CALC_BODY_MAX)))
        .layer(DefaultBodyLimit::max(body_max))
        .with_state(app)
}

/// A response: its status and the envelope's JSON text.
type Reply = (StatusCode, [(axum::http::header::HeaderName, &'static str); 1], String);

async fn call(State(app): State<App>, req: Request) -> Reply {
    interface(app, req, None).await
}

async fn call_path(State(app): State<App>, Path(rest): Path<String>, req: Request) -> Reply {
    interface(app, req, paths::infno_of(&rest)).await
}

/// One interface request over HTTP. The x-tif headers are checked (and the rate limit taken)
/// before the body is read, so a sender without a valid credential is refused without the
/// platform waiting for or buffering its body (up to `body_max`); what depends on the body
/// (the institution, the envelope signature) is checked once it is read.
async fn interface(app: App, req: Request, path_infno: Option<&'static str>) -> Reply {
    let started = Instant::now();
    let (now, ms) = clock::now();
    let refmsg_time = envelope::stamp_ms(now, ms);
    let headers = AuthHeaders::from_map(req.headers());
    let caller = match app.guard.mode {
        AuthMode::Off => Ok(None),
        // Blocking: the credential may be read from the store.
        AuthMode::Required => {
            let (app, headers) = (app.clone(), headers.clone());
            tokio::task::spawn_blocking(move || authenticate(&app, &headers, now))
                .await
                .unwrap_or_else(|e| Err(GatewayError::System(format!("the request failed inside the platform: {e}"))))
        }
    };
    let caller = match caller {
        Ok(c) => c,
        Err(e) => return reply(started, refmsg_time, ("000000".into(), Err(e), headers.paasid.unwrap_or_default())),
    };
    let body = match Bytes::from_request(req, &()).await {
        Ok(body) => body,
        Err(r) => return unreadable(&app, &r),
    };
    // The business clock starts once the request has arrived (a large upload takes a while).
    let (now, _) = clock::now();
    let task = tokio::task::spawn_blocking(move || handle_as(&app, caller.as_ref(), &body, path_infno, now));
    let outcome = task.await.unwrap_or_else(|e| {
        (
            "000000".to_owned(),
            Err(GatewayError::System(format!("the request failed inside the platform: {e}"))),
            String::new(),
        )
    });
    reply(started, refmsg_time, outcome)
}

/// A body too large (or broken off) is refused with the national envelope, as every other
/// refusal is, so the HIS reads infcode -2 and a stable code instead of a bare HTTP error.
fn unreadable(app: &App, r: &BytesRejection) -> Reply {
    let (now, ms) = clock::now();
    let e = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        error::refused(413, "BODY_TOO_LARGE", format!("the request body is larger than {} bytes", app.body_max))
    } else {
        error::refused(400, "BODY_UNREADABLE", format!("the request body could not be read: {}", r.body_text()))
    };
    let status = e.http_status();
    if let GatewayError::Refused { code, .. } = &e {
        tracing::warn!(target: "yibao::auth", status, refused = code, "refused");
    }
    let stamp = envelope::stamp_ms(now, ms);
    let answer = envelope::Answer {
        refmsg_time: stamp.clone(),
        respond_time: stamp,
        inf_refmsgid: envelope::inf_refmsgid("000000", now),
    };
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], envelope::response(&answer, Err(e)))
}

/// The envelope of an answer: (receiver division, result, log label) as the handlers return it.
fn reply(started: Instant, refmsg_time: String, outcome: (String, Result<txn::Output, GatewayError>, String)) -> Reply {
    let (admdvs, result, label) = outcome;
    let (end, end_ms) = clock::now();
    let answer = envelope::Answer {
        refmsg_time,
        respond_time: envelope::stamp_ms(end, end_ms),
        inf_refmsgid: envelope::inf_refmsgid(&admdvs, end),
    };
    let status = result.as_ref().err().map_or(200, GatewayError::http_status);
    log::outcome(&label, status, &result, started);
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], envelope::response(&answer, result))
}

/// Authenticates (as the app's guard says), rate-limits, parses and dispatches one request.
/// `handle` without the checks is for callers that authenticated otherwise (tests, tools).
pub fn handle_request(
    app: &App,
    headers: &AuthHeaders,
    body: &[u8],
    path_infno: Option<&str>,
    now: yibao_domain::DateTime,
) -> (String, Result<Value, GatewayError>, String) {
    let (admdvs, result, label) = handle_output(app, headers, body, path_infno, now);
    (admdvs, result.and_then(txn::Output::into_value), label)
}

/// As [`handle_request`], with the answer as the server sends it (a write's as JSON text).
fn handle_output(
    app: &App,
    headers: &AuthHeaders,
    body: &[u8],
    path_infno: Option<&str>,
    now: yibao_domain::DateTime,
) -> (String, Result<txn::Output, GatewayError>, String) {
    match authenticate(app, headers, now) {
        Ok(caller) => handle_as(app, caller.as_ref(), body, path_infno, now),
        Err(e) => ("000000".into(), Err(e), headers.paasid.clone().unwrap_or_default()),
    }
}

/// What can be decided from the headers alone: the x-tif checks (credential, signature,
/// timestamp, nonce) and the institution's rate limit. None when authentication is off.
fn authenticate(
    app: &App,
    headers: &AuthHeaders,
    now: yibao_domain::DateTime,
) -> Result<Option<auth::Caller>, GatewayError> {
    let guard = &app.guard;
    match guard.mode {
        AuthMode::Required => {
            let c = guard.authenticate(&app.store, headers, now.0 - 8 * 3600)?;
            guard.rate_limit(&c.fixmedins_code)?;
            Ok(Some(c))
        }
        AuthMode::Off => Ok(None),
    }
}

/// Parses and dispatches a request whose headers passed [`authenticate`] as `caller`; checks
/// what depends on the body (the institution, the envelope signature, the lookup limit).
fn handle_as(
    app: &App,
    caller: Option<&auth::Caller>,
    body: &[u8],
    path_infno: Option<&str>,
    now: yibao_domain::DateTime,
) -> (String, Result<txn::Output, GatewayError>, String) {
    let guard = &app.guard;
    let counted = |env: &Envelope| {
        // A credential refused as not the person's is a lookup too (a guess of who holds a
        // number): it takes from the bucket, and is refused already whatever the bucket says.
        let _ = guard.lookup_limit(&env.fixmedins_code);
    };
    handle_checked(&app.store, body, path_infno, now, counted, |raw, env| {
        match caller {
            Some(c) => c.check_envelope(&auth::Signed {
                infno: &env.infno,
                msgid: &env.msgid,
                fixmedins_code: &env.fixmedins_code,
                signtype: raw.signtype.as_deref(),
                cainfo: raw.cainfo.as_deref(),
                input: raw.input.as_ref(),
            })?,
            None => guard.rate_limit(&env.fixmedins_code)?,
        }
        if txn::PERSON_LOOKUPS.contains(&env.infno.as_str()) {
            guard.lookup_limit(&env.fixmedins_code)?;
        }
        Ok(())
    })
}

/// The envelope fields the checks need before [`Envelope::from_map`] takes the map apart.
struct Raw {
    signtype: Option<String>,
    cainfo: Option<String>,
    /// The input as sent, kept only when the envelope is signed.
    input: Option<Value>,
}

impl Raw {
    fn of(map: &Map<String, Value>) -> Raw {
        let text =
            |k: &str| map.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let signtype = text("signtype");
        let input = if signtype.is_some() { map.get("input").cloned() } else { None };
        Raw { signtype, cainfo: text("cainfo"), input }
    }
}

/// Parses and dispatches one request without authentication; returns the receiver division for
/// inf_refmsgid, the result, and a log label without personal data.
pub fn handle(
    store: &Store,
    body: &[u8],
    path_infno: Option<&str>,
    now: yibao_domain::DateTime,
) -> (String, Result<Value, GatewayError>, String) {
    let (admdvs, result, label) = handle_checked(store, body, path_infno, now, |_| (), |_, _| Ok(()));
    (admdvs, result.and_then(txn::Output::into_value), label)
}

fn handle_checked(
    store: &Store,
    body: &[u8],
    path_infno: Option<&str>,
    now: yibao_domain::DateTime,
    credential_refused: impl FnOnce(&Envelope),
    check: impl FnOnce(&Raw, &Envelope) -> Result<(), GatewayError>,
) -> (String, Result<txn::Output, GatewayError>, String) {
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
    let raw = Raw::of(&map);
    let env = match Envelope::from_map(map) {
        Ok(e) => e,
        Err(e) => return ("000000".into(), Err(e), String::new()),
    };
    let label = format!("{} {} {}", env.infno, env.msgid, env.fixmedins_code);
    if let Err(e) = check(&raw, &env) {
        return (env.mdtrtarea_admvs.clone(), Err(e), label);
    }
    let ctx = txn::Ctx::new(store, &env, now);
    let result = txn::dispatch(&ctx);
    if ctx.credential_refused.load(std::sync::atomic::Ordering::Relaxed)
        && !txn::PERSON_LOOKUPS.contains(&env.infno.as_str())
    {
        credential_refused(&env);
    }
    (env.mdtrtarea_admvs.clone(), result, label)
}

/// The policy calculator over HTTP: a case (docs/calc-format.md) with its policy inline.
/// Answers 200 with the settlement and trace, or 400 with a stable code and the reason.
async fn calc(body: Result<Bytes, BytesRejection>) -> (axum::http::StatusCode, Json<Value>) {
    let body = match body {
        Ok(b) => b,
        Err(r) => {
            let (code, message) = if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ("BODY_TOO_LARGE", format!("the case is larger than {CALC_BODY_MAX} bytes"))
            } else {
                ("BODY_UNREADABLE", format!("the case could not be read: {}", r.body_text()))
            };
            return (r.status(), Json(serde_json::json!({ "code": code, "message": message })));
        }
    };
    match calc_case(&body) {
        Ok(v) => (axum::http::StatusCode::OK, Json(v)),
        Err((code, message)) => {
            (axum::http::StatusCode::BAD_REQUEST, Json(serde_json::json!({ "code": code, "message": message })))
        }
    }
}

fn calc_case(body: &[u8]) -> Result<Value, (&'static str, String)> {
    use yibao_domain::{case, policy::Policy};
    let c: case::Case = serde_json::from_slice(body).map_err(|e| ("CALC_BAD_CASE", e.to_string()))?;
    if !c.policy.is_object() {
        return Err(("CALC_BAD_POLICY", "policy: give the policy document inline".into()));
    }
    let p = Policy::from_json(&c.policy.to_string()).map_err(|e| ("CALC_BAD_POLICY", e.to_string()))?;
    if !c.steps.is_empty() {
        let r = case::run_steps(&c, &p).map_err(|e| ("CALC_FAILED", e.to_string()))?;
        return serde_json::to_value(&r).map_err(|e| ("CALC_FAILED", e.to_string()));
    }
    let r = case::run(&c, &p).map_err(|e| ("CALC_FAILED", e.to_string()))?;
    serde_json::to_value(&r).map_err(|e| ("CALC_FAILED", e.to_string()))
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
