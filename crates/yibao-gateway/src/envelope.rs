//! The national request and response envelopes (interface-spec.md §1.2, §1.3).

use crate::error::{biz, GatewayError, Result};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use yibao_domain::codes::{Admdvs, FixmedinsCode};
use yibao_domain::DateTime;

/// The request header fields the platform uses.
#[derive(Clone, Debug)]
pub struct Envelope {
    pub infno: String,
    pub msgid: String,
    pub mdtrtarea_admvs: String,
    pub insuplc_admdvs: Option<String>,
    pub recer_sys_code: Option<String>,
    pub infver: Option<String>,
    pub opter_type: String,
    pub opter: String,
    pub opter_name: Option<String>,
    pub inf_time: DateTime,
    pub fixmedins_code: String,
    pub fixmedins_name: Option<String>,
    pub sign_no: Option<String>,
    pub input: Value,
}

fn field(m: &Map<String, Value>, f: &str) -> Result<Option<String>> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(biz(format!("{f}: must be a string"))),
    }
}

fn required(m: &Map<String, Value>, f: &str, max: usize) -> Result<String> {
    let v = field(m, f)?.ok_or_else(|| biz(format!("{f}: required")))?;
    if v.chars().count() > max {
        return Err(biz(format!("{f}: at most {max} characters")));
    }
    Ok(v)
}

/// An optional field with the spec's length limit (interface-spec.md §1.2).
fn optional(m: &Map<String, Value>, f: &str, max: usize) -> Result<Option<String>> {
    let v = field(m, f)?;
    if v.as_ref().is_some_and(|v| v.chars().count() > max) {
        return Err(biz(format!("{f}: at most {max} characters")));
    }
    Ok(v)
}

/// Optional fields the platform does not use, checked for length only.
const UNUSED_LIMITS: &[(&str, usize)] =
    &[("dev_no", 100), ("dev_safe_info", 2000), ("cainfo", 1024), ("signtype", 10), ("enctype", 10)];

impl Envelope {
    /// Parses the envelope. Extra keys are ignored (regions add their own); the input may be an
    /// object or a JSON string holding one (some HIS double-encode it).
    pub fn parse(body: &[u8]) -> Result<Envelope> {
        let v: Value = serde_json::from_slice(body).map_err(|e| biz(format!("request body is not valid JSON: {e}")))?;
        let Value::Object(m) = v else {
            return Err(biz("request body must be a JSON object"));
        };
        Self::from_map(m)
    }

    pub fn from_map(mut m: Map<String, Value>) -> Result<Envelope> {
        let infno = required(&m, "infno", 5)?;
        let msgid = required(&m, "msgid", 30)?;
        let mdtrtarea_admvs = required(&m, "mdtrtarea_admvs", 6)?;
        Admdvs::parse(&mdtrtarea_admvs).map_err(|e| biz(format!("mdtrtarea_admvs: {e}")))?;
        let insuplc_admdvs = field(&m, "insuplc_admdvs")?;
        if let Some(a) = &insuplc_admdvs {
            Admdvs::parse(a).map_err(|e| biz(format!("insuplc_admdvs: {e}")))?;
        }
        let fixmedins_code = required(&m, "fixmedins_code", 30)?;
        FixmedinsCode::parse(&fixmedins_code).map_err(|e| biz(format!("fixmedins_code: {e}")))?;
        // Msgids are kept per institution; the spec's shape begins with the sender's code, which
        // keeps one institution from naming (and voiding or squatting) another's msgids.
        if !msgid.starts_with(&fixmedins_code) || msgid.len() == fixmedins_code.len() {
            return Err(biz(format!(
                "msgid: {msgid} does not begin with the sender's fixmedins_code {fixmedins_code} (fixmedins_code + yyyyMMddHHmmss + 4-digit serial)"
            )));
        }
        let inf_time_s = required(&m, "inf_time", 19)?;
        let inf_time = DateTime::parse(&inf_time_s).map_err(|e| biz(format!("inf_time: {inf_time_s:?}: {e}")))?;
        let opter_type = required(&m, "opter_type", 3)?;
        if !["1", "2", "3"].contains(&opter_type.as_str()) {
            return Err(biz(format!("opter_type: {opter_type:?} is not one of 1 (operator), 2 (kiosk), 3 (mobile)")));
        }
        for (f, max) in UNUSED_LIMITS {
            optional(&m, f, *max)?;
        }
        let input = match m.remove("input") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Map::new()),
            Some(Value::String(s)) => {
                serde_json::from_str(&s).map_err(|e| biz(format!("input: a string that is not JSON: {e}")))?
            }
            Some(o @ Value::Object(_)) => o,
            Some(_) => return Err(biz("input: must be an object")),
        };
        Ok(Envelope {
            infno,
            msgid,
            mdtrtarea_admvs,
            insuplc_admdvs,
            recer_sys_code: optional(&m, "recer_sys_code", 10)?,
            infver: optional(&m, "infver", 6)?,
            opter_type,
            opter: required(&m, "opter", 30)?,
            opter_name: optional(&m, "opter_name", 50)?,
            inf_time,
            fixmedins_code,
            fixmedins_name: optional(&m, "fixmedins_name", 200)?,
            sign_no: optional(&m, "sign_no", 30)?,
            input,
        })
    }
}

static SERIAL: AtomicU64 = AtomicU64::new(0);

/// Receiver message id: receiver division (6) + time (14) + serial (10).
pub fn inf_refmsgid(admdvs: &str, now: DateTime) -> String {
    let serial = SERIAL.fetch_add(1, Ordering::Relaxed) % 10_000_000_000;
    format!("{admdvs:0>6}{}{serial:010}", now.compact())
}

/// yyyyMMddHHmmssSSS
pub fn stamp_ms(now: DateTime, ms: u32) -> String {
    format!("{}{ms:03}", now.compact())
}

pub struct Answer {
    pub refmsg_time: String,
    pub respond_time: String,
    pub inf_refmsgid: String,
}

/// The response envelope's JSON text. The output goes in as text: a write's answer is the text
/// the msgid log keeps, so it is not serialized twice.
pub fn response(a: &Answer, result: std::result::Result<crate::txn::Output, GatewayError>) -> String {
    use crate::txn::Output;
    let (infcode, err_msg, output) = match result {
        Ok(Output::Json(text)) => (0, Value::Null, text),
        Ok(Output::Value(v)) => (0, Value::Null, v.to_string()),
        Err(e) => (e.infcode(), Value::String(e.to_string()), "{}".to_owned()),
    };
    let text = |s: &str| Value::String(s.to_owned()).to_string();
    format!(
        "{{\"infcode\":{infcode},\"inf_refmsgid\":{},\"refmsg_time\":{},\"respond_time\":{},\"err_msg\":{err_msg},\"warn_msg\":null,\"cainfo\":null,\"signtype\":null,\"output\":{output}}}",
        text(&a.inf_refmsgid),
        text(&a.refmsg_time),
        text(&a.respond_time),
    )
}

#[cfg(test)]
mod tests {
    use super::{response, Answer};
    use crate::error::GatewayError;
    use crate::txn::Output;
    use serde_json::{json, Value};

    fn answer() -> Answer {
        Answer {
            refmsg_time: "20261122120000000".into(),
            respond_time: "20261122120000001".into(),
            inf_refmsgid: "110000\"x\\".into(),
        }
    }

    /// The envelope is written as text around the answer's text: it must still be one JSON
    /// object with every field, escaped where needed, whichever form the answer takes.
    #[test]
    fn the_response_envelope_is_json_for_every_kind_of_answer() {
        let stored = Output::Json(r#"{"data":{"mdtrt_id":"M1","n":12.30}}"#.into());
        let ok: Value = serde_json::from_str(&response(&answer(), Ok(stored))).unwrap();
        assert_eq!(ok["infcode"], 0);
        assert_eq!(ok["inf_refmsgid"], "110000\"x\\");
        assert_eq!(ok["output"]["data"]["mdtrt_id"], "M1");
        assert_eq!(ok["output"]["data"]["n"].to_string(), "12.30");
        let keys: Vec<&String> = ok.as_object().unwrap().keys().collect();
        let want = [
            "infcode",
            "inf_refmsgid",
            "refmsg_time",
            "respond_time",
            "err_msg",
            "warn_msg",
            "cainfo",
            "signtype",
            "output",
        ];
        assert_eq!(keys, want);

        let read: Value =
            serde_json::from_str(&response(&answer(), Ok(Output::Value(json!({ "a": [1, "b"] }))))).unwrap();
        assert_eq!(read["output"], json!({ "a": [1, "b"] }));

        let refused = Err(GatewayError::Business("mdtrt_id \"M1\"\nis settled".into()));
        let err: Value = serde_json::from_str(&response(&answer(), refused)).unwrap();
        assert_eq!(err["infcode"], -2);
        assert_eq!(err["err_msg"], "mdtrt_id \"M1\"\nis settled");
        assert_eq!(err["output"], json!({}));
    }
}
