//! The admin/query API over HTTP (see [`crate::admin`] for roles and scopes). JSON in and out;
//! errors are `{"code", "message"}` with HTTP 400/401/403/404/409/429/500. Every call but login
//! needs `Authorization: Bearer <token>` from `POST /admin/login`.
//!
//! | call | body / query | who |
//! |---|---|---|
//! | `POST /admin/login` | `{opter_id, password}` | anyone |
//! | `GET /admin/persons/{psn_no}` | `?reveal=certno` | every role, own region |
//! | `GET /admin/settlements/{setl_id}` | | every role, own region |
//! | `POST /admin/operators` | `{opter_id, opter_name, role, admdvs, password}` | administrators |
//! | `POST /admin/credentials` | `{fixmedins_code, sm2_pubkey?}` | administrators, own region |
//! | `POST /admin/credentials/{paasid}/rotate` | `{overlap_secs?}` | administrators, own region |
//! | `POST /admin/credentials/{paasid}/revoke` | | administrators, own region |
//! | `POST /admin/ec` | `{psn_no, ttl_secs?}` | clerks and administrators, own region |
//! | `GET /admin/audit/verify` | | auditors, national administrators |
//! | `GET /ec/public-key` | | anyone: the key that verifies e-credentials |

use crate::admin::{self, Actor, AdminError, AdminResult};
use crate::App;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/admin/login", post(login))
        .route("/admin/persons/{psn_no}", get(person))
        .route("/admin/settlements/{setl_id}", get(settlement))
        .route("/admin/operators", post(add_operator))
        .route("/admin/credentials", post(issue_credential))
        .route("/admin/credentials/{paasid}/rotate", post(rotate_credential))
        .route("/admin/credentials/{paasid}/revoke", post(revoke_credential))
        .route("/admin/ec", post(issue_ec))
        .route("/admin/audit/verify", get(verify_audit))
        .route("/ec/public-key", get(ec_public_key))
        // Admin bodies are small; nothing past this is read, before or after the token.
        .layer(DefaultBodyLimit::max(BODY_MAX))
}

/// Largest admin request body.
const BODY_MAX: usize = 64 * 1024;

/// A body as read: a longer one (or one that broke off) is refused as it was before the limit
/// stopped reading it.
type Body = Result<Bytes, BytesRejection>;

type Answer = (StatusCode, Json<Value>);

fn answer(r: AdminResult<Value>) -> Answer {
    match r {
        Ok(v) => (StatusCode::OK, Json(v)),
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(target: "yibao::admin", code = e.code, "admin call failed: {}", e.message);
            }
            let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, Json(json!({ "code": e.code, "message": e.message })))
        }
    }
}

fn body_bytes(body: &Body) -> AdminResult<&[u8]> {
    match body {
        Ok(b) if b.len() <= BODY_MAX => Ok(b),
        Err(r) if r.status() != StatusCode::PAYLOAD_TOO_LARGE => Err(AdminError {
            status: 400,
            code: "BAD_REQUEST",
            message: format!("the body could not be read: {}", r.body_text()),
        }),
        _ => Err(AdminError { status: 400, code: "BAD_REQUEST", message: "body: at most 64 KiB".into() }),
    }
}

fn body_json(body: &Body) -> AdminResult<Value> {
    let body = body_bytes(body)?;
    match serde_json::from_slice(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(AdminError { status: 400, code: "BAD_REQUEST", message: "body: a JSON object".into() }),
        Err(e) => Err(AdminError { status: 400, code: "BAD_REQUEST", message: format!("body is not valid JSON: {e}") }),
    }
}

fn text(v: &Value, k: &str) -> AdminResult<String> {
    match v.get(k) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(AdminError { status: 400, code: "BAD_REQUEST", message: format!("{k}: required") })
        }
        Some(_) => Err(AdminError { status: 400, code: "BAD_REQUEST", message: format!("{k}: must be a string") }),
    }
}

/// Runs `f` for the operator the bearer token names, on a blocking thread.
async fn as_operator(
    app: App,
    headers: HeaderMap,
    f: impl FnOnce(&App, &Actor) -> AdminResult<Value> + Send + 'static,
) -> Answer {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(str::to_owned);
    let task = tokio::task::spawn_blocking(move || {
        let token = token.ok_or_else(|| AdminError {
            status: 401,
            code: "TOKEN_MISSING",
            message: "Authorization: Bearer <token> from POST /admin/login is required".into(),
        })?;
        let s = admin::session(&app.store, &token)?;
        app.guard.rate_limit(&format!("operator:{}", s.opter_id))?;
        f(&app, &Actor::Operator(s))
    });
    answer(task.await.unwrap_or_else(|e| Err(AdminError { status: 500, code: "INTERNAL", message: e.to_string() })))
}

async fn login(State(app): State<App>, body: Body) -> Answer {
    let task = tokio::task::spawn_blocking(move || {
        let v = body_json(&body)?;
        let id = text(&v, "opter_id")?;
        let (token, s) = admin::login(&app.store, &app.logins, &id, &text(&v, "password")?)?;
        Ok(
            json!({ "token": token, "opter_id": s.opter_id, "role": s.role.as_str(), "admdvs": s.scope, "expires": s.expires }),
        )
    });
    answer(task.await.unwrap_or_else(|e| Err(AdminError { status: 500, code: "INTERNAL", message: e.to_string() })))
}

async fn person(
    State(app): State<App>,
    Path(psn_no): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let reveal = q.get("reveal").is_some_and(|r| r == "certno");
    as_operator(app, headers, move |app, a| admin::read_person(&app.store, a, &psn_no, reveal)).await
}

async fn settlement(State(app): State<App>, Path(setl_id): Path<String>, headers: HeaderMap) -> Answer {
    as_operator(app, headers, move |app, a| admin::read_settlement(&app.store, a, &setl_id)).await
}

async fn add_operator(State(app): State<App>, headers: HeaderMap, body: Body) -> Answer {
    as_operator(app, headers, move |app, a| {
        let v = body_json(&body)?;
        let n = admin::NewOperator {
            opter_id: text(&v, "opter_id")?,
            opter_name: v.get("opter_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            role: text(&v, "role")?,
            admdvs: text(&v, "admdvs")?,
            password: text(&v, "password")?,
        };
        admin::add_operator(&app.store, a, &n)
    })
    .await
}

async fn issue_credential(State(app): State<App>, headers: HeaderMap, body: Body) -> Answer {
    as_operator(app, headers, move |app, a| {
        let v = body_json(&body)?;
        let pk = v.get("sm2_pubkey").and_then(Value::as_str).map(str::to_owned);
        admin::issue_credential(&app.store, a, &text(&v, "fixmedins_code")?, pk.as_deref())
    })
    .await
}

async fn rotate_credential(
    State(app): State<App>,
    Path(paasid): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    as_operator(app, headers, move |app, a| {
        let overlap = if body_bytes(&body)?.is_empty() {
            None
        } else {
            body_json(&body)?.get("overlap_secs").and_then(Value::as_i64)
        };
        let r = admin::rotate_credential(&app.store, a, &paasid, overlap.unwrap_or(admin::ROTATE_OVERLAP_SECS));
        app.guard.forget_credential(&paasid);
        r
    })
    .await
}

async fn revoke_credential(State(app): State<App>, Path(paasid): Path<String>, headers: HeaderMap) -> Answer {
    as_operator(app, headers, move |app, a| {
        let r = admin::revoke_credential(&app.store, a, &paasid);
        app.guard.forget_credential(&paasid);
        r
    })
    .await
}

async fn issue_ec(State(app): State<App>, headers: HeaderMap, body: Body) -> Answer {
    as_operator(app, headers, move |app, a| {
        let v = body_json(&body)?;
        let ttl = v.get("ttl_secs").and_then(Value::as_i64).unwrap_or(crate::ecred::DEFAULT_TTL_SECS);
        admin::issue_ec(&app.store, a, &text(&v, "psn_no")?, ttl)
    })
    .await
}

async fn verify_audit(State(app): State<App>, headers: HeaderMap) -> Answer {
    as_operator(app, headers, |app, a| admin::verify_audit(&app.store, a)).await
}

async fn ec_public_key(State(app): State<App>) -> Answer {
    let pk = crate::ecred::public_key(app.store.vault());
    answer(Ok(
        json!({ "algorithm": "SM2 with SM3, user id 1234567812345678", "public_key": pk.to_hex(), "pem": pk.to_pem() }),
    ))
}
