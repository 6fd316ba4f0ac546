//! 9001 sign-in and 9002 sign-out.

use super::{done, Ctx, Done};
use crate::error::{biz, Result};
use crate::input::object;
use serde_json::json;
use yibao_store::settlement as st;
use yibao_store::Tx;

pub fn sign_in(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "signIn")?;
    let d = data.node();
    let opter_no = d.str_max("opter_no", 20)?;
    d.opt_str_max("mac", 20)?;
    d.opt_str_max("ip", 20)?;
    let sign_no = ctx.new_id();
    st::sign_in(tx, &sign_no, &ctx.env.fixmedins_code, &opter_no, ctx.now.0)?;
    let out = json!({ "signinoutb": { "sign_time": ctx.now.to_string(), "sign_no": sign_no } });
    Ok(done(out, None, Some(&sign_no)))
}

pub fn sign_out(ctx: &Ctx, tx: &mut dyn Tx) -> Result<Done> {
    let data = object(&ctx.env.input, "signOut")?;
    let d = data.node();
    let sign_no = d.str_max("sign_no", 30)?;
    d.str_max("opter_no", 20)?;
    if !st::sign_out(tx, &sign_no, &ctx.env.fixmedins_code, ctx.now.0)? {
        return Err(biz(format!("sign_no {sign_no}: no open sign-in of this institution")));
    }
    Ok(done(json!({ "signoutoutb": { "sign_time": ctx.now.to_string() } }), None, Some(&sign_no)))
}
