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
    let psn_no = d.str_max("psn_no", 30)?;
    let omsgid = d.str_max("omsgid", 30)?;
    let oinfno = d.str_max("oinfno", 5)?;
    let code = &ctx.env.fixmedins_code;
    if omsgid == ctx.env.msgid {
        return Err(biz(format!("{}.omsgid: a 2601 cannot reverse itself", d.path)));
    }
    // The original is looked up among this institution's own msgids only (another
    // institution's msgid is never found, and voiding it here touches only this scope). Its
    // place is taken first (before the person), so a 2601 racing its original
    // waits for it instead of voiding a msgid that is being answered; the void is written only
    // if nothing is there.
    let void = MsgRecord {
        msgid: omsgid.clone(),
        fixmedins_code: code.clone(),
        infno: oinfno.clone(),
        req_digest: VOID_DIGEST.to_owned(),
        psn_no: Some(psn_no.clone()),
        ref_id: None,
        response: "{}".to_owned(),
        created: ctx.now.0,
        reversed: true,
    };
    let Some(orig) = st::msg_claim(tx, &void)? else {
        st::msg_complete(tx, &void)?;
        return Ok(done(
            json!({ "data": { "omsgid": omsgid, "result": "original request not received; it is now void" } }),
            Some(&psn_no),
            None,
        ));
    };
    super::settle::lock_patient(tx, &d)?;
    // Read again under the person's lock: another 2601 of this omsgid may have reversed it
    // while this one waited (it commits before the lock is released).
    let orig = st::msg_get(tx, code, &omsgid)?.unwrap_or(orig);
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
    st::msg_mark_reversed(tx, code, &omsgid)?;
    Ok(done(
        json!({ "data": { "omsgid": omsgid, "result": "reversed" }, "reversal": reversed.output.into_value()? }),
        Some(&psn_no),
        reversed.ref_id.as_deref(),
    ))
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
