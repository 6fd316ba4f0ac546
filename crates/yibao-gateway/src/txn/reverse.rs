//! 2601 reversal by original msgid: when the HIS does not know whether a request took effect,
//! it asks for that request to be undone. A msgid never seen is recorded as void, so the
//! original arriving late is refused instead of taking effect after its reversal.

use super::settle::{own_settlement, reverse_settlement};
use super::{done, Ctx, Done};
use crate::error::{biz, Result};
use crate::input::object;
use serde_json::json;
use yibao_store::settlement::{self as st, MsgRecord};
use yibao_store::Tx;

/// The digest a void msgid carries; `replay` recognises it.
pub const VOID_DIGEST: &str = "void";

pub fn by_msgid(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "data")?;
    let d = data.node();
    super::settle::lock_patient(tx, &d)?;
    let psn_no = d.str_max("psn_no", 30)?;
    let omsgid = d.str_max("omsgid", 30)?;
    let oinfno = d.str_max("oinfno", 5)?;
    let Some(orig) = st::msg_get(tx, &omsgid)? else {
        void(ctx, tx, &omsgid, &oinfno, &psn_no)?;
        return Ok(done(
            json!({ "data": { "omsgid": omsgid, "result": "original request not received; it is now void" } }),
            Some(&psn_no),
            None,
        ));
    };
    if orig.fixmedins_code != ctx.env.fixmedins_code {
        return Err(biz(format!("omsgid {omsgid} was sent by another institution")));
    }
    if orig.infno != oinfno || orig.psn_no.as_deref().is_some_and(|p| p != psn_no) {
        return Err(biz(format!("omsgid {omsgid} was infno {} for another person or transaction", orig.infno)));
    }
    if orig.reversed || orig.req_digest == VOID_DIGEST {
        return Ok(done(
            json!({ "data": { "omsgid": omsgid, "result": "already reversed" } }),
            Some(&psn_no),
            orig.ref_id.as_deref(),
        ));
    }
    let reversed = reverse_effect(ctx, tx, &orig)?;
    st::msg_mark_reversed(tx, &omsgid)?;
    Ok(done(
        json!({ "data": { "omsgid": omsgid, "result": "reversed" }, "reversal": reversed.output.into_value()? }),
        Some(&psn_no),
        reversed.ref_id.as_deref(),
    ))
}

fn void(ctx: &Ctx, tx: &mut dyn Tx, omsgid: &str, oinfno: &str, psn_no: &str) -> Result<()> {
    st::msg_put(
        tx,
        &MsgRecord {
            msgid: omsgid.to_owned(),
            fixmedins_code: ctx.env.fixmedins_code.clone(),
            infno: oinfno.to_owned(),
            req_digest: VOID_DIGEST.to_owned(),
            psn_no: Some(psn_no.to_owned()),
            ref_id: None,
            response: "{}".to_owned(),
            created: ctx.now.0,
            reversed: true,
        },
    )?;
    Ok(())
}

fn reverse_effect(ctx: &Ctx, tx: &mut dyn Tx, orig: &MsgRecord) -> Result<Done> {
    let ref_id =
        orig.ref_id.clone().ok_or_else(|| biz(format!("omsgid {}: the original changed nothing", orig.msgid)))?;
    match orig.infno.as_str() {
        "2207" | "2207A" | "2304" | "2102" => {
            let s = own_settlement(ctx, tx, &ref_id)?;
            if s.revs_setl_id.is_some() {
                return Ok(done(json!({}), Some(&s.psn_no), s.revs_setl_id.as_deref()));
            }
            reverse_settlement(ctx, tx, s)
        }
        "2208" | "2305" | "2103" => {
            let mirror = own_settlement(ctx, tx, &ref_id)?;
            super::settle::reinstate(ctx, tx, mirror)
        }
        "2401" | "2201" => super::visit::cancel_by_id(ctx, tx, &ref_id),
        other => Err(biz(format!(
            "oinfno {other} cannot be reversed by 2601 (reversible: 2201, 2207, 2208, 2304, 2305, 2401, 2102, 2103)"
        ))),
    }
}
