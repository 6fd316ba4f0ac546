//! Transactions by infno. State-changing transactions run in one database transaction together
//! with their msgid record, so a retry with the same msgid returns the first answer and changes
//! nothing, and a failure leaves nothing written.

mod catalog;
mod fees;
mod person;
mod query;
mod reconcile;
mod reverse;
mod settle;
mod sign;
mod visit;

use crate::clock::unix_of;
use crate::ecred;
use crate::envelope::Envelope;
use crate::error::{biz, GatewayError, Result};
use serde_json::Value;
use yibao_domain::registry::Institution;
use yibao_domain::DateTime;
use yibao_store::settlement::{self as st, MsgRecord};
use yibao_store::{audit, registry, Dialect, Store, Tx};

pub struct Ctx<'a> {
    pub store: &'a Store,
    pub env: &'a Envelope,
    pub now: DateTime,
    /// The calling institution as `caller()` checked it, so handlers need not read it again.
    pub caller: std::sync::OnceLock<Institution>,
    /// Set when a credential was refused as not the named person's (2101, 2201, 2401, 2102,
    /// 2001, 5206…): the caller counts it as a person lookup, so guessing psn_nos against
    /// numbers is limited as lookups are.
    pub credential_refused: std::sync::atomic::AtomicBool,
}

impl<'a> Ctx<'a> {
    pub fn new(store: &'a Store, env: &'a Envelope, now: DateTime) -> Ctx<'a> {
        Ctx { store, env, now, caller: std::sync::OnceLock::new(), credential_refused: Default::default() }
    }

    pub fn new_id(&self) -> String {
        self.store.ids().next().to_string()
    }

    /// An institution: the caller's from memory, any other from the store.
    pub fn institution(&self, tx: &mut dyn Tx, code: &str) -> Result<Institution> {
        match self.caller.get().filter(|i| i.fixmedins_code == code) {
            Some(i) => Ok(i.clone()),
            None => registry::institution(tx, code)?
                .ok_or_else(|| biz(format!("fixmedins_code {code} is not a designated institution"))),
        }
    }
}

/// A transaction's answer: a value, or the JSON text of one. A write's answer is its text as the
/// msgid log keeps it, so it is serialized once (and a replay is not parsed at all).
#[derive(Debug)]
pub enum Output {
    Value(Value),
    Json(String),
}

impl Output {
    /// The answer as JSON text: as stored, or serialized now.
    fn into_text(self) -> String {
        match self {
            Output::Value(v) => v.to_string(),
            Output::Json(t) => t,
        }
    }

    pub fn into_value(self) -> Result<Value> {
        match self {
            Output::Value(v) => Ok(v),
            Output::Json(t) => {
                serde_json::from_str(&t).map_err(|e| GatewayError::System(format!("an answer is not JSON: {e}")))
            }
        }
    }
}

/// What a state-changing transaction answers, plus what the msgid log indexes.
pub struct Done {
    /// The answer; JSON text when it was written before the write transaction (see
    /// [`Handler::Staged`]).
    pub output: Output,
    pub psn_no: Option<String>,
    pub ref_id: Option<String>,
}

type WriteFn = fn(&Ctx, &mut dyn Tx) -> Result<Done>;
type ReadFn = fn(&Ctx, &mut dyn Tx) -> Result<Value>;
/// A read of one person's data: its answer and the psn_no it is about (None when the answer
/// holds nothing about anyone, as a 5203 that matched no settlement).
type PersonReadFn = fn(&Ctx, &mut dyn Tx) -> Result<(Value, Option<String>)>;
type StageFn = fn(&Ctx, &mut dyn Tx) -> Result<fees::Upload>;
type ApplyFn = fn(&Ctx, &mut dyn Tx, &fees::Upload) -> Result<Done>;

enum Handler {
    Write(WriteFn),
    Read(ReadFn),
    /// A read of a person's data (see [`PERSON_LOOKUPS`]): answered only once it is in the
    /// institution's audit chain.
    PersonRead(PersonReadFn),
    /// A write whose heavy part (reference reads, classification, the answer and its JSON) is
    /// done on a read snapshot first, outside the single writer; the apply step then re-checks
    /// what may have changed and writes, answering the staged text. If staging fails, the whole
    /// write runs as usual, so a replayed msgid still gets its first answer and an error is the
    /// one the plain write gives.
    Staged(StageFn, ApplyFn, WriteFn),
}

fn handler(infno: &str) -> Option<Handler> {
    use Handler::{Read as R, Write as W};
    Some(match infno {
        "9001" => W(sign::sign_in),
        "9002" => W(sign::sign_out),
        "9101" => W(reconcile::upload_file),
        "9102" => R(reconcile::download_file),
        "1101" => Handler::PersonRead(person::info),
        "1201" => R(query::institutions),
        "2001" => Handler::PersonRead(person::benefit_check),
        "1312" => R(catalog::hilist),
        "1316" => R(catalog::medlist_map),
        "1317" => R(catalog::medins_map),
        "1318" => R(catalog::price_caps),
        "1319" => R(catalog::selfpay_props),
        "2201" => W(visit::register),
        "2202" => W(visit::cancel_register),
        "2203" | "2203A" => W(visit::outpatient_info),
        "2204" => Handler::Staged(fees::stage_outpatient, fees::apply_outpatient, fees::upload_outpatient),
        "2205" => W(fees::cancel_outpatient),
        "2206" | "2206A" => Handler::PersonRead(settle::presettle_outpatient),
        "2207" | "2207A" => W(settle::settle_outpatient),
        "2208" => W(settle::reverse_outpatient),
        "2401" => W(visit::admit),
        "2402" => W(visit::discharge),
        "2403" => W(visit::change_admission),
        "2404" => W(visit::cancel_admission),
        "2405" => W(visit::cancel_discharge),
        "2301" => Handler::Staged(fees::stage_inpatient, fees::apply_inpatient, fees::upload_inpatient),
        "2302" => W(fees::cancel_inpatient),
        "2303" => Handler::PersonRead(settle::presettle_inpatient),
        "2304" => W(settle::settle_inpatient),
        "2305" => W(settle::reverse_inpatient),
        "2101" => Handler::PersonRead(settle::presettle_pharmacy),
        "2102" => W(settle::settle_pharmacy),
        "2103" => W(settle::reverse_pharmacy),
        "2601" => W(reverse::by_msgid),
        "5201" => Handler::PersonRead(query::visits),
        "5203" => Handler::PersonRead(query::settlements),
        "5206" => Handler::PersonRead(query::cumulative),
        "3201" => R(reconcile::total),
        "3202" => W(reconcile::detail),
        _ => return None,
    })
}

/// Every infno this gateway answers, for the docs and the `/fsi/api` index.
pub const INFNOS: &[&str] = &[
    "9001", "9002", "9101", "9102", "1101", "1201", "2001", "1312", "1316", "1317", "1318", "1319", "2201", "2202",
    "2203", "2203A", "2204", "2205", "2206", "2206A", "2207", "2207A", "2208", "2401", "2402", "2403", "2404", "2405",
    "2301", "2302", "2303", "2304", "2305", "2101", "2102", "2103", "2601", "5201", "5203", "5206", "3201", "3202",
];

/// Reads about one person that need no visit of the institution (identity, entitlement,
/// totals, a pharmacy's pre-settlement with the person's identity and balance): each counts
/// against the institution's person-lookup limit ([`crate::auth::Guard::lookup_limit`]).
/// Every [`Handler::PersonRead`] is audited, these and the reads of the institution's own
/// visits (2206, 2303, 5201, 5203).
pub const PERSON_LOOKUPS: &[&str] = &["1101", "2001", "5206", "2101"];

/// Transactions that bind a presented e-credential to their visit (see [`ecred`]).
const BINDS_ECRED: &[&str] = &["2201", "2401", "2102", "2207", "2207A", "2304"];

pub fn dispatch(ctx: &Ctx) -> Result<Output> {
    let Some(h) = handler(&ctx.env.infno) else {
        return Err(biz(format!("infno {}: not a transaction this platform offers", ctx.env.infno)));
    };
    // An e-credential (mdtrt_cert_type 01) is checked whatever the transaction.
    let ec = ecred::presented(ctx.store.vault(), &ctx.env.input, unix_of(ctx.now))?;
    match h {
        Handler::Read(f) => ctx
            .store
            .read(|tx| {
                caller(ctx, tx)?;
                if let Some((field, t)) = &ec {
                    ecred::check_unused(tx, t, field, &ctx.env.input, &ctx.env.fixmedins_code, false)?;
                }
                f(ctx, tx)
            })
            .map(Output::Value),
        Handler::PersonRead(f) => {
            let (out, psn_no) = ctx.store.read(|tx| {
                caller(ctx, tx)?;
                if let Some((field, t)) = &ec {
                    ecred::check_unused(tx, t, field, &ctx.env.input, &ctx.env.fixmedins_code, false)?;
                }
                f(ctx, tx)
            })?;
            if let Some(psn_no) = psn_no {
                audit_read(ctx, &psn_no)?;
            }
            Ok(Output::Value(out))
        }
        Handler::Write(f) => write(ctx, &f, ec),
        // Staging pays off only where writes queue for one writer (SQLite). PostgreSQL writes
        // in parallel under row locks, and staging would only add a transaction's round trips.
        Handler::Staged(_, _, whole) if ctx.store.dialect() == Dialect::Postgres => write(ctx, &whole, ec),
        Handler::Staged(stage, apply, whole) => {
            let staged = ctx.store.read(|tx| {
                caller(ctx, tx)?;
                stage(ctx, tx)
            });
            match staged {
                Ok(s) => write(ctx, &|ctx: &Ctx, tx: &mut dyn Tx| apply(ctx, tx, &s), ec),
                Err(_) => write(ctx, &whole, ec),
            }
        }
    }
}

fn write(
    ctx: &Ctx,
    f: &(dyn Fn(&Ctx, &mut dyn Tx) -> Result<Done> + Sync),
    ec: Option<(String, ecred::Token)>,
) -> Result<Output> {
    let env = ctx.env;
    let input_text = env.input.to_string();
    let digest = digest(&env.infno, &input_text);
    // The audit record names the request by a keyed digest: the input holds personal data.
    let mac_key = ctx.store.vault().mac_key("audit-request");
    let req_mac = yibao_crypto::sm3::hmac_parts(&mac_key, &[env.infno.as_bytes(), &[0], input_text.as_bytes()]);
    let req_mac = yibao_crypto::hex(&req_mac[..16]);
    let actor = format!("{}/{}", env.fixmedins_code, env.opter);
    ctx.store.write(|tx| {
        // The msgid's place is taken before the work: a second copy of this request waits for
        // the first and then gets its answer (see `msg_claim`).
        let mut record = MsgRecord {
            msgid: env.msgid.clone(),
            fixmedins_code: env.fixmedins_code.clone(),
            infno: env.infno.clone(),
            req_digest: digest.clone(),
            psn_no: None,
            ref_id: None,
            response: String::new(),
            created: ctx.now.0,
            reversed: false,
        };
        if let Some(prev) = st::msg_claim(tx, &record)? {
            return replay(env, &digest, prev);
        }
        caller(ctx, tx)?;
        let binds = BINDS_ECRED.contains(&env.infno.as_str());
        if let Some((field, t)) = &ec {
            ecred::check_unused(tx, t, field, &env.input, &env.fixmedins_code, binds)?;
        }
        let done = f(ctx, tx)?;
        if let Some((field, t)) = ec.as_ref().filter(|_| binds) {
            let output = match &done.output {
                Output::Value(v) => v,
                Output::Json(_) => &Value::Null,
            };
            let mdtrt_id = ecred::visit_of(&env.input, output).unwrap_or_else(|| env.msgid.clone());
            ecred::bind(tx, t, field, &mdtrt_id, &env.fixmedins_code, &env.infno, unix_of(ctx.now))?;
        }
        let target = done.ref_id.clone().or_else(|| done.psn_no.clone()).unwrap_or_default();
        let detail = format!("msgid={} psn_no={} req={req_mac}", env.msgid, done.psn_no.as_deref().unwrap_or(""));
        audit::append(
            tx,
            &audit::Entry {
                stream: &env.fixmedins_code,
                at_time: ctx.now.0,
                actor: &actor,
                action: &env.infno,
                target: &target,
                detail: &detail,
            },
        )?;
        record.psn_no = done.psn_no;
        record.ref_id = done.ref_id;
        record.response = done.output.into_text();
        st::msg_complete(tx, &record)?;
        Ok(Output::Json(record.response))
    })
}

/// Appends a read of a person's data to the institution's audit chain: one small write (the
/// chain's head and one record), no msgid record (a read changes nothing to replay).
fn audit_read(ctx: &Ctx, psn_no: &str) -> Result<()> {
    let env = ctx.env;
    let actor = format!("{}/{}", env.fixmedins_code, env.opter);
    let detail = format!("msgid={} read psn_no={psn_no}", env.msgid);
    let entry = audit::Entry {
        stream: &env.fixmedins_code,
        at_time: ctx.now.0,
        actor: &actor,
        action: &env.infno,
        target: psn_no,
        detail: &detail,
    };
    ctx.store.write(|tx| audit::append(tx, &entry).map(drop))?;
    Ok(())
}

/// A msgid seen before: the same request gets the first answer again; anything else is refused.
fn replay(env: &Envelope, digest: &str, prev: MsgRecord) -> Result<Output> {
    if prev.req_digest == reverse::VOID_DIGEST {
        return Err(biz(format!(
            "msgid {} was reversed (2601) before it arrived; send the request again with a new msgid",
            env.msgid
        )));
    }
    if prev.fixmedins_code != env.fixmedins_code || prev.infno != env.infno || prev.req_digest != digest {
        return Err(biz(format!(
            "msgid {} was already used by another request (infno {}); every request needs a new msgid",
            env.msgid, prev.infno
        )));
    }
    Ok(Output::Json(prev.response))
}

/// The caller must be a designated institution with an agreement in force, and a given sign_no
/// must be one of its open sign-ins.
fn caller(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Institution> {
    let env = ctx.env;
    let inst = registry::institution(tx, &env.fixmedins_code)?
        .ok_or_else(|| biz(format!("fixmedins_code {} is not a designated institution", env.fixmedins_code)))?;
    if !inst.agreement_on(ctx.now.date()) {
        return Err(biz(format!(
            "the service agreement of {} is not in force on {}",
            inst.fixmedins_code,
            ctx.now.date()
        )));
    }
    if let Some(sign_no) = env.sign_no.as_deref().filter(|_| env.infno != "9001") {
        if !st::sign_in_open(tx, sign_no, &env.fixmedins_code)? {
            return Err(biz(format!(
                "sign_no {sign_no} is not an open sign-in of {}; sign in with 9001",
                env.fixmedins_code
            )));
        }
    }
    // A re-run body (PostgreSQL retry) finds the same institution already there.
    let _ = ctx.caller.set(inst.clone());
    Ok(inst)
}

/// FNV-1a over the infno and the input's JSON text: equal requests, equal digests.
fn digest(infno: &str, input_text: &str) -> String {
    let h = yibao_store::db::fnv1a(&[infno.as_bytes(), &[0], input_text.as_bytes()]);
    format!("{h:016x}")
}

fn done(output: Value, psn_no: Option<&str>, ref_id: Option<&str>) -> Done {
    Done { output: Output::Value(output), psn_no: psn_no.map(str::to_owned), ref_id: ref_id.map(str::to_owned) }
}

/// The visit, which must belong to the calling institution (and, if given, to `psn_no`).
fn own_visit(ctx: &Ctx, tx: &mut dyn Tx, mdtrt_id: &str, psn_no: Option<&str>, lock: bool) -> Result<st::Visit> {
    let v = st::visit(tx, mdtrt_id, lock)?.ok_or_else(|| biz(format!("mdtrt_id {mdtrt_id}: no such visit")))?;
    if v.fixmedins_code != ctx.env.fixmedins_code {
        return Err(biz(format!("mdtrt_id {mdtrt_id} belongs to another institution")));
    }
    if let Some(p) = psn_no {
        if p != v.psn_no {
            return Err(biz(format!("mdtrt_id {mdtrt_id} is not a visit of psn_no {p}")));
        }
    }
    Ok(v)
}

fn event(ctx: &Ctx, tx: &mut dyn Tx, admdvs: &str, event_type: &str, aggregate_id: &str, payload: Value) -> Result<()> {
    st::append_event(
        tx,
        &st::Event {
            seq: ctx.store.ids().next(),
            admdvs: admdvs.to_owned(),
            event_type: event_type.to_owned(),
            aggregate_id: aggregate_id.to_owned(),
            payload: payload.to_string(),
            created: ctx.now.0,
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// The digest of stored msgid records must not change: FNV-1a of `infno`, a zero byte and
    /// the input text (the published FNV-1a test value of "a" checks the hash itself).
    #[test]
    fn request_digests_are_stable() {
        assert_eq!(yibao_store::db::fnv1a(&[b"a"]), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(super::digest("2207", "{}"), format!("{:016x}", yibao_store::db::fnv1a(&[b"2207\0{}"])));
    }
}
