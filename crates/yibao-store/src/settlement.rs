//! Visits, fee lines, settlements and everything a settlement moves: accumulators and the
//! outbox (the idempotency log is [`crate::msg_log`], re-exported here). All functions run inside the caller's transaction, so one
//! settlement (or reversal) is one atomic unit of work.

use crate::db::{vault_of, DbError, Row, Tx};
use crate::params;
use std::collections::BTreeMap;
use yibao_crypto::Vault;
use yibao_domain::settle::FundRow;
use yibao_domain::Fen;

// Personal data: a stored answer (msg_log.response, settlement.body) may hold the person's name
// and certificate number, and a visit the number it was registered with, so these columns are
// sealed with the store's vault (SM4-GCM, bound to column and row) like the person table;
// msg_log answers without personal data (fee results, ids) are kept as JSON.

pub(crate) fn open_col(v: &Vault, col: &str, key: &str, sealed: &str) -> Result<String, DbError> {
    v.open(&format!("{col}|{key}"), sealed).map_err(|e| DbError::Decode(format!("{col} of {key}: {e}")))
}

pub(crate) fn seal_col(v: &Vault, col: &str, key: &str, text: &str) -> String {
    v.seal(&format!("{col}|{key}"), text)
}

pub use crate::msg_log::{msg_claim, msg_complete, msg_get, msg_mark_reversed, msg_put, MsgRecord};

// ---- sign-in ----------------------------------------------------------------------------------

pub fn sign_in(tx: &mut dyn Tx, sign_no: &str, fixmedins_code: &str, opter_no: &str, now: i64) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO sign_in (sign_no, fixmedins_code, opter_no, sign_time) VALUES ($1, $2, $3, $4)",
        params![sign_no, fixmedins_code, opter_no, now],
    )?;
    Ok(())
}

/// Signs out; returns false if the sign-in is unknown, another institution's, or already closed.
pub fn sign_out(tx: &mut dyn Tx, sign_no: &str, fixmedins_code: &str, now: i64) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE sign_in SET sign_out_time = $3 WHERE sign_no = $1 AND fixmedins_code = $2 AND sign_out_time IS NULL",
        params![sign_no, fixmedins_code, now],
    )?;
    Ok(n == 1)
}

pub fn sign_in_open(tx: &mut dyn Tx, sign_no: &str, fixmedins_code: &str) -> Result<bool, DbError> {
    let r = tx.query_opt(
        "SELECT 1 FROM sign_in WHERE sign_no = $1 AND fixmedins_code = $2 AND sign_out_time IS NULL",
        params![sign_no, fixmedins_code],
    )?;
    Ok(r.is_some())
}

// ---- visits ------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub mdtrt_id: String,
    pub psn_no: String,
    pub insutype: String,
    pub fixmedins_code: String,
    pub admdvs: String,
    pub insuplc_admdvs: String,
    pub med_type: String,
    pub ipt_otp_no: String,
    pub begntime: i64,
    pub endtime: Option<i64>,
    pub stas: String,
    pub mdtrt_cert_type: String,
    pub mdtrt_cert_no: Option<String>,
    pub dise_codg: Option<String>,
    pub dise_name: Option<String>,
    pub adm_seq: Option<i64>,
    /// JSON object: diagnoses, department, doctor, discharge data.
    pub info: String,
    pub updt_time: i64,
}

pub mod visit_stas {
    pub const OPEN: &str = "open";
    pub const CANCELLED: &str = "cancelled";
    pub const DISCHARGED: &str = "discharged";
    pub const SETTLED: &str = "settled";
}

const VISIT_COLS: &str = "mdtrt_id, psn_no, insutype, fixmedins_code, admdvs, insuplc_admdvs, med_type, ipt_otp_no, begntime, endtime, stas, mdtrt_cert_type, mdtrt_cert_no, dise_codg, dise_name, adm_seq, info, updt_time";

fn visit_from(v: &Vault, r: &Row) -> Result<Visit, DbError> {
    let mdtrt_id = r.str(0)?;
    Ok(Visit {
        mdtrt_cert_no: r.opt_str(12)?.map(|c| open_col(v, "visit.mdtrt_cert_no", &mdtrt_id, &c)).transpose()?,
        mdtrt_id,
        psn_no: r.str(1)?,
        insutype: r.str(2)?,
        fixmedins_code: r.str(3)?,
        admdvs: r.str(4)?,
        insuplc_admdvs: r.str(5)?,
        med_type: r.str(6)?,
        ipt_otp_no: r.str(7)?,
        begntime: r.i64(8)?,
        endtime: r.opt_i64(9)?,
        stas: r.str(10)?,
        mdtrt_cert_type: r.str(11)?,
        dise_codg: r.opt_str(13)?,
        dise_name: r.opt_str(14)?,
        adm_seq: r.opt_i64(15)?,
        info: r.str(16)?,
        updt_time: r.i64(17)?,
    })
}

pub fn insert_visit(tx: &mut dyn Tx, v: &Visit) -> Result<(), DbError> {
    let vault = vault_of(tx, "visit")?;
    let cert_no = v.mdtrt_cert_no.as_deref().map(|c| seal_col(&vault, "visit.mdtrt_cert_no", &v.mdtrt_id, c));
    tx.execute(
        &format!("INSERT INTO visit ({VISIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)"),
        params![
            v.mdtrt_id.as_str(), v.psn_no.as_str(), v.insutype.as_str(), v.fixmedins_code.as_str(), v.admdvs.as_str(),
            v.insuplc_admdvs.as_str(), v.med_type.as_str(), v.ipt_otp_no.as_str(), v.begntime, v.endtime, v.stas.as_str(),
            v.mdtrt_cert_type.as_str(), cert_no, v.dise_codg.clone(), v.dise_name.clone(), v.adm_seq,
            v.info.as_str(), v.updt_time
        ],
    )?;
    Ok(())
}

/// Reads a visit; with `lock`, holds its row until the transaction ends (PostgreSQL).
pub fn visit(tx: &mut dyn Tx, mdtrt_id: &str, lock: bool) -> Result<Option<Visit>, DbError> {
    let v = vault_of(tx, "visit")?;
    let suffix = if lock { tx.dialect().for_update() } else { "" };
    let row =
        tx.query_opt(&format!("SELECT {VISIT_COLS} FROM visit WHERE mdtrt_id = $1{suffix}"), params![mdtrt_id])?;
    row.as_ref().map(|r| visit_from(&v, r)).transpose()
}

/// Whether an institution has a current visit of a person: one still open or discharged (not
/// yet settled), or any not cancelled that began at or after `since` (local seconds). This is
/// the relation that lets it ask about the person by psn_no without the patient's credential.
pub fn has_current_visit(tx: &mut dyn Tx, psn_no: &str, fixmedins_code: &str, since: i64) -> Result<bool, DbError> {
    let row = tx.query_opt(
        "SELECT 1 FROM visit WHERE psn_no = $1 AND fixmedins_code = $2 AND stas <> $3
           AND (stas = $4 OR stas = $5 OR begntime >= $6) LIMIT 1",
        params![psn_no, fixmedins_code, visit_stas::CANCELLED, visit_stas::OPEN, visit_stas::DISCHARGED, since],
    )?;
    Ok(row.is_some())
}

/// Rewrites the mutable part of a visit.
pub fn update_visit(tx: &mut dyn Tx, v: &Visit) -> Result<(), DbError> {
    tx.execute(
        "UPDATE visit SET med_type = $2, endtime = $3, stas = $4, dise_codg = $5, dise_name = $6, adm_seq = $7, info = $8, updt_time = $9 WHERE mdtrt_id = $1",
        params![v.mdtrt_id.as_str(), v.med_type.as_str(), v.endtime, v.stas.as_str(), v.dise_codg.clone(), v.dise_name.clone(), v.adm_seq, v.info.as_str(), v.updt_time],
    )?;
    Ok(())
}

pub fn visits_of_person(tx: &mut dyn Tx, psn_no: &str, from: i64, to: i64, limit: i64) -> Result<Vec<Visit>, DbError> {
    let v = vault_of(tx, "visit")?;
    let rows = tx.query(
        &format!("SELECT {VISIT_COLS} FROM visit WHERE psn_no = $1 AND begntime >= $2 AND begntime < $3 ORDER BY begntime LIMIT $4"),
        params![psn_no, from, to, limit],
    )?;
    rows.iter().map(|r| visit_from(&v, r)).collect()
}

/// Serializes all settlement work on one person until the transaction ends (a PostgreSQL row
/// lock; SQLite has one writer, so there is nothing to do).
pub fn lock_person(tx: &mut dyn Tx, psn_no: &str) -> Result<(), DbError> {
    let suffix = tx.dialect().for_update();
    if !suffix.is_empty() {
        tx.query_opt(&format!("SELECT psn_no FROM person WHERE psn_no = $1{suffix}"), params![psn_no])?;
    }
    Ok(())
}

// ---- fee lines ---------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeeLineRow {
    pub mdtrt_id: String,
    pub feedetl_sn: String,
    pub psn_no: String,
    pub admdvs: String,
    pub chrg_bchno: Option<String>,
    pub init_feedetl_sn: Option<String>,
    pub med_list_codg: String,
    pub medins_list_codg: String,
    pub fee_ocur_time: i64,
    pub cnt: i64,
    pub pric: i64,
    pub det_item_fee_sumamt: Fen,
    pub hosp_appr_flag: Option<String>,
    pub chrgitm_lv: String,
    pub list_type: String,
    pub med_chrgitm_type: String,
    pub selfpay_prop: i64,
    pub pric_uplmt: Option<i64>,
    pub lmt_used_flag: bool,
    pub fulamt_ownpay_amt: Fen,
    pub overlmt_amt: Fen,
    pub preselfpay_amt: Fen,
    pub inscp_scp_amt: Fen,
    pub memo: Option<String>,
    pub setl_id: Option<String>,
    pub stas: String,
    pub upld_time: i64,
}

const LINE_COLS: &str = "mdtrt_id, feedetl_sn, psn_no, admdvs, chrg_bchno, init_feedetl_sn, med_list_codg, medins_list_codg, fee_ocur_time, cnt, pric, det_item_fee_sumamt, hosp_appr_flag, chrgitm_lv, list_type, med_chrgitm_type, selfpay_prop, pric_uplmt, lmt_used_flag, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt, memo, setl_id, stas, upld_time";

fn line_from(r: &Row) -> Result<FeeLineRow, DbError> {
    Ok(FeeLineRow {
        mdtrt_id: r.str(0)?,
        feedetl_sn: r.str(1)?,
        psn_no: r.str(2)?,
        admdvs: r.str(3)?,
        chrg_bchno: r.opt_str(4)?,
        init_feedetl_sn: r.opt_str(5)?,
        med_list_codg: r.str(6)?,
        medins_list_codg: r.str(7)?,
        fee_ocur_time: r.i64(8)?,
        cnt: r.i64(9)?,
        pric: r.i64(10)?,
        det_item_fee_sumamt: r.fen(11)?,
        hosp_appr_flag: r.opt_str(12)?,
        chrgitm_lv: r.str(13)?,
        list_type: r.str(14)?,
        med_chrgitm_type: r.str(15)?,
        selfpay_prop: r.i64(16)?,
        pric_uplmt: r.opt_i64(17)?,
        lmt_used_flag: r.bool(18)?,
        fulamt_ownpay_amt: r.fen(19)?,
        overlmt_amt: r.fen(20)?,
        preselfpay_amt: r.fen(21)?,
        inscp_scp_amt: r.fen(22)?,
        memo: r.opt_str(23)?,
        setl_id: r.opt_str(24)?,
        stas: r.str(25)?,
        upld_time: r.i64(26)?,
    })
}

fn line_values(l: &FeeLineRow) -> [crate::Value; 27] {
    use crate::Value as V;
    [
        V::from(l.mdtrt_id.as_str()),
        V::from(l.feedetl_sn.as_str()),
        V::from(l.psn_no.as_str()),
        V::from(l.admdvs.as_str()),
        V::from(l.chrg_bchno.clone()),
        V::from(l.init_feedetl_sn.clone()),
        V::from(l.med_list_codg.as_str()),
        V::from(l.medins_list_codg.as_str()),
        V::from(l.fee_ocur_time),
        V::from(l.cnt),
        V::from(l.pric),
        V::from(l.det_item_fee_sumamt),
        V::from(l.hosp_appr_flag.clone()),
        V::from(l.chrgitm_lv.as_str()),
        V::from(l.list_type.as_str()),
        V::from(l.med_chrgitm_type.as_str()),
        V::from(l.selfpay_prop),
        V::from(l.pric_uplmt),
        V::from(l.lmt_used_flag),
        V::from(l.fulamt_ownpay_amt),
        V::from(l.overlmt_amt),
        V::from(l.preselfpay_amt),
        V::from(l.inscp_scp_amt),
        V::from(l.memo.clone()),
        V::from(l.setl_id.clone()),
        V::from(l.stas.as_str()),
        V::from(l.upld_time),
    ]
}

pub fn insert_line(tx: &mut dyn Tx, l: &FeeLineRow) -> Result<(), DbError> {
    insert_lines(tx, std::slice::from_ref(l))
}

/// Inserts an upload's lines with a few multi-row statements rather than one per line.
pub fn insert_lines(tx: &mut dyn Tx, lines: &[FeeLineRow]) -> Result<(), DbError> {
    let values: Vec<crate::Value> = lines.iter().flat_map(line_values).collect();
    static HEAD: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("INSERT INTO fee_line ({LINE_COLS})"));
    let n = crate::db::insert_many(tx, &HEAD, "", LINE_COLS.split(',').count(), &values)?;
    if n != lines.len() as u64 {
        return Err(DbError::Other(format!("{} fee lines inserted of {}", n, lines.len())));
    }
    Ok(())
}

/// Which of `sns` a visit already holds (in any state): one statement for a whole upload.
pub fn existing_sns(tx: &mut dyn Tx, mdtrt_id: &str, sns: &[&str]) -> Result<Vec<String>, DbError> {
    if sns.is_empty() {
        return Ok(Vec::new());
    }
    let sql =
        format!("SELECT feedetl_sn FROM fee_line WHERE mdtrt_id = $1 AND feedetl_sn {}", tx.dialect().in_json_texts(2));
    let rows = tx.query(&sql, &[mdtrt_id.into(), crate::db::json_texts(sns)])?;
    rows.iter().map(|r| r.str(0)).collect()
}

pub fn line(tx: &mut dyn Tx, mdtrt_id: &str, feedetl_sn: &str) -> Result<Option<FeeLineRow>, DbError> {
    let r = tx.query_opt(
        &format!("SELECT {LINE_COLS} FROM fee_line WHERE mdtrt_id = $1 AND feedetl_sn = $2"),
        params![mdtrt_id, feedetl_sn],
    )?;
    r.as_ref().map(line_from).transpose()
}

/// Active lines not yet consumed by a settlement, optionally of one charge batch.
pub fn unsettled_lines(tx: &mut dyn Tx, mdtrt_id: &str, chrg_bchno: Option<&str>) -> Result<Vec<FeeLineRow>, DbError> {
    let rows = match chrg_bchno {
        Some(b) => tx.query(
            &format!("SELECT {LINE_COLS} FROM fee_line WHERE mdtrt_id = $1 AND stas = 'active' AND setl_id IS NULL AND chrg_bchno = $2 ORDER BY feedetl_sn"),
            params![mdtrt_id, b],
        )?,
        None => tx.query(
            &format!("SELECT {LINE_COLS} FROM fee_line WHERE mdtrt_id = $1 AND stas = 'active' AND setl_id IS NULL ORDER BY feedetl_sn"),
            params![mdtrt_id],
        )?,
    };
    rows.iter().map(line_from).collect()
}

/// Cancels unsettled lines: one by serial number, a charge batch, or all ("0000"). Returns how many.
pub fn cancel_lines(
    tx: &mut dyn Tx,
    mdtrt_id: &str,
    feedetl_sn: Option<&str>,
    chrg_bchno: Option<&str>,
) -> Result<u64, DbError> {
    let base = "UPDATE fee_line SET stas = 'cancelled' WHERE mdtrt_id = $1 AND stas = 'active' AND setl_id IS NULL";
    match (feedetl_sn, chrg_bchno) {
        (Some(sn), _) => tx.execute(&format!("{base} AND feedetl_sn = $2"), params![mdtrt_id, sn]),
        (None, Some(b)) => tx.execute(&format!("{base} AND chrg_bchno = $2"), params![mdtrt_id, b]),
        (None, None) => tx.execute(base, params![mdtrt_id]),
    }
}

/// Marks the lines a settlement consumed, with one statement; every one of them must still be
/// active and unsettled, or nothing is accepted (the caller's transaction rolls back).
pub fn mark_lines(tx: &mut dyn Tx, mdtrt_id: &str, sns: &[String], setl_id: &str) -> Result<(), DbError> {
    let sql = format!(
        "UPDATE fee_line SET setl_id = $2 WHERE mdtrt_id = $1 AND setl_id IS NULL AND stas = 'active' AND feedetl_sn {}",
        tx.dialect().in_json_texts(3)
    );
    let n = tx.execute(&sql, &[mdtrt_id.into(), setl_id.into(), crate::db::json_texts(sns)])?;
    if n != sns.len() as u64 {
        return Err(DbError::Other(format!(
            "{} of {} fee lines of visit {mdtrt_id} changed during settlement",
            sns.len() as u64 - n.min(sns.len() as u64),
            sns.len()
        )));
    }
    Ok(())
}

/// Frees the lines a settlement consumed. By visit and settlement: fee_line has no index on
/// setl_id alone, and by setl_id only this would read the whole table.
pub fn unmark_lines(tx: &mut dyn Tx, mdtrt_id: &str, setl_id: &str) -> Result<u64, DbError> {
    tx.execute("UPDATE fee_line SET setl_id = NULL WHERE mdtrt_id = $1 AND setl_id = $2", params![mdtrt_id, setl_id])
}

// ---- settlements ------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettlementRow {
    pub setl_id: String,
    pub mdtrt_id: String,
    pub psn_no: String,
    pub fixmedins_code: String,
    pub admdvs: String,
    pub insuplc_admdvs: String,
    pub insutype: String,
    pub med_type: String,
    pub clr_type: String,
    pub setl_time: i64,
    pub setl_year: i64,
    pub msgid: String,
    pub refd_setl_flag: bool,
    pub orig_setl_id: Option<String>,
    pub revs_setl_id: Option<String>,
    pub mid_setl_flag: bool,
    /// The amounts, in national field order (see AMOUNT_COLS).
    pub amounts: [Fen; 20],
    /// The full stored answer (JSON).
    pub body: String,
}

/// setlinfo amount columns, in the order of `SettlementRow::amounts`.
pub const AMOUNT_COLS: [&str; 20] = [
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
    "inscp_scp_amt",
    "act_pay_dedc",
    "hifp_pay",
    "cvlserv_pay",
    "hifes_pay",
    "hifmi_pay",
    "hifob_pay",
    "maf_pay",
    "oth_pay",
    "fund_pay_sumamt",
    "psn_part_amt",
    "acct_pay",
    "acct_mulaid_pay",
    "psn_cash_pay",
    "hosp_part_amt",
    "balc",
];

impl SettlementRow {
    pub fn amount(&self, col: &str) -> Fen {
        AMOUNT_COLS.iter().position(|c| *c == col).map(|i| self.amounts[i]).unwrap_or_default()
    }
}

const SETL_HEAD: &str = "setl_id, mdtrt_id, psn_no, fixmedins_code, admdvs, insuplc_admdvs, insutype, med_type, clr_type, setl_time, setl_year, msgid, refd_setl_flag, orig_setl_id, revs_setl_id, mid_setl_flag";

/// The settlement columns, in `settlement_from` order (built once: it is on every settlement).
fn setl_cols() -> &'static str {
    static COLS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| format!("{}, body", head_cols()));
    &COLS
}

/// The settlement columns without `body`, for reads that leave it empty: the body is the widest
/// column, and the settlement path reads a visit's earlier settlements on every settlement.
fn head_cols() -> &'static str {
    static COLS: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| format!("{SETL_HEAD}, {}", AMOUNT_COLS.join(", ")));
    &COLS
}

fn insert_settlement_sql() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let n = SETL_HEAD.split(',').count() + AMOUNT_COLS.len() + 1;
        let placeholders: Vec<String> = (1..=n).map(|i| format!("${i}")).collect();
        format!("INSERT INTO settlement ({}) VALUES ({})", setl_cols(), placeholders.join(", "))
    });
    &SQL
}

/// A settlement row; its body is read and opened only when `v` is given (the row then comes
/// from [`setl_cols`], otherwise from [`head_cols`] and the body is left empty).
fn settlement_from(v: Option<&Vault>, r: &Row) -> Result<SettlementRow, DbError> {
    let setl_id = r.str(0)?;
    let body = match v {
        Some(v) => open_col(v, "settlement.body", &setl_id, &r.str(36)?)?,
        None => String::new(),
    };
    let mut amounts = [Fen::ZERO; 20];
    for (i, a) in amounts.iter_mut().enumerate() {
        *a = r.fen(16 + i)?;
    }
    Ok(SettlementRow {
        setl_id,
        mdtrt_id: r.str(1)?,
        psn_no: r.str(2)?,
        fixmedins_code: r.str(3)?,
        admdvs: r.str(4)?,
        insuplc_admdvs: r.str(5)?,
        insutype: r.str(6)?,
        med_type: r.str(7)?,
        clr_type: r.str(8)?,
        setl_time: r.i64(9)?,
        setl_year: r.i64(10)?,
        msgid: r.str(11)?,
        refd_setl_flag: r.bool(12)?,
        orig_setl_id: r.opt_str(13)?,
        revs_setl_id: r.opt_str(14)?,
        mid_setl_flag: r.bool(15)?,
        amounts,
        body,
    })
}

pub fn insert_settlement(tx: &mut dyn Tx, s: &SettlementRow, funds: &[FundRow]) -> Result<(), DbError> {
    let mut ps = params![
        s.setl_id.as_str(),
        s.mdtrt_id.as_str(),
        s.psn_no.as_str(),
        s.fixmedins_code.as_str(),
        s.admdvs.as_str(),
        s.insuplc_admdvs.as_str(),
        s.insutype.as_str(),
        s.med_type.as_str(),
        s.clr_type.as_str(),
        s.setl_time,
        s.setl_year,
        s.msgid.as_str(),
        s.refd_setl_flag,
        s.orig_setl_id.clone(),
        s.revs_setl_id.clone(),
        s.mid_setl_flag
    ]
    .to_vec();
    ps.extend(s.amounts.iter().map(|a| crate::Value::from(*a)));
    ps.push(crate::Value::from(seal_col(&*vault_of(tx, "settlement")?, "settlement.body", &s.setl_id, &s.body)));
    debug_assert_eq!(ps.len(), insert_settlement_sql().matches('$').count());
    tx.execute(insert_settlement_sql(), &ps)?;
    let mut rows = Vec::with_capacity(funds.len() * 8);
    for (i, f) in funds.iter().enumerate() {
        rows.extend_from_slice(params![
            s.setl_id.as_str(),
            i as i64,
            s.insuplc_admdvs.as_str(),
            f.fund_pay_type.as_str(),
            f.inscp_scp_amt,
            f.crt_payb_lmt_amt,
            f.fund_payamt,
            f.setl_proc_info.as_str()
        ]);
    }
    crate::db::insert_many(
        tx,
        "INSERT INTO settlement_fund (setl_id, seq, admdvs, fund_pay_type, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, setl_proc_info)",
        "",
        8,
        &rows,
    )?;
    Ok(())
}

pub fn settlement(tx: &mut dyn Tx, setl_id: &str, lock: bool) -> Result<Option<SettlementRow>, DbError> {
    let v = vault_of(tx, "settlement")?;
    let suffix = if lock { tx.dialect().for_update() } else { "" };
    let r =
        tx.query_opt(&format!("SELECT {} FROM settlement WHERE setl_id = $1{suffix}", setl_cols()), params![setl_id])?;
    r.as_ref().map(|r| settlement_from(Some(&v), r)).transpose()
}

/// A visit's settlements and mirrors, amounts and ids only: `body` is left empty, because
/// opening sealed bodies costs a decryption each and the settlement path needs only amounts.
pub fn settlements_of_visit(tx: &mut dyn Tx, mdtrt_id: &str) -> Result<Vec<SettlementRow>, DbError> {
    visit_settlements(tx, mdtrt_id, None)
}

/// As [`settlements_of_visit`], with the stored answers opened (for queries that return them).
pub fn settlements_of_visit_with_bodies(tx: &mut dyn Tx, mdtrt_id: &str) -> Result<Vec<SettlementRow>, DbError> {
    let v = vault_of(tx, "settlement")?;
    visit_settlements(tx, mdtrt_id, Some(&v))
}

fn visit_settlements(tx: &mut dyn Tx, mdtrt_id: &str, v: Option<&Vault>) -> Result<Vec<SettlementRow>, DbError> {
    let cols = if v.is_some() { setl_cols() } else { head_cols() };
    let sql = format!("SELECT {cols} FROM settlement WHERE mdtrt_id = $1 ORDER BY setl_time, setl_id");
    tx.query(&sql, params![mdtrt_id])?.iter().map(|r| settlement_from(v, r)).collect()
}

/// Settlements (and mirrors) of an institution whose settlement time lies in [from, to), for
/// reconciliation: amounts and ids only, `body` is left empty (bodies are sealed personal data).
pub fn settlements_of_institution(
    tx: &mut dyn Tx,
    fixmedins_code: &str,
    from: i64,
    to: i64,
) -> Result<Vec<SettlementRow>, DbError> {
    let rows = tx.query(
        &format!("SELECT {} FROM settlement WHERE fixmedins_code = $1 AND setl_time >= $2 AND setl_time < $3 ORDER BY setl_time, setl_id", head_cols()),
        params![fixmedins_code, from, to],
    )?;
    rows.iter().map(|r| settlement_from(None, r)).collect()
}

pub fn mark_reversed(tx: &mut dyn Tx, setl_id: &str, revs_setl_id: &str) -> Result<bool, DbError> {
    let n = tx.execute(
        "UPDATE settlement SET revs_setl_id = $2 WHERE setl_id = $1 AND revs_setl_id IS NULL",
        params![setl_id, revs_setl_id],
    )?;
    Ok(n == 1)
}

pub fn fund_rows(tx: &mut dyn Tx, setl_id: &str) -> Result<Vec<FundRow>, DbError> {
    let rows = tx.query(
        "SELECT fund_pay_type, inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, setl_proc_info FROM settlement_fund WHERE setl_id = $1 ORDER BY seq",
        params![setl_id],
    )?;
    rows.iter()
        .map(|r| {
            let code = r.str(0)?;
            Ok(FundRow {
                fund_pay_type_name: yibao_domain::dict::fund::name(&code).to_owned(),
                fund_pay_type: code,
                inscp_scp_amt: r.fen(1)?,
                crt_payb_lmt_amt: r.fen(2)?,
                fund_payamt: r.fen(3)?,
                setl_proc_info: r.str(4)?,
            })
        })
        .collect()
}

/// Totals for reconciliation (3201): count, medfee, fund, account over [from, to).
pub struct Totals {
    pub count: i64,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
}

pub fn totals(
    tx: &mut dyn Tx,
    fixmedins_code: &str,
    insutype: &str,
    clr_type: &str,
    from: i64,
    to: i64,
    refd: Option<bool>,
) -> Result<Totals, DbError> {
    let refd_sql = match refd {
        Some(true) => " AND refd_setl_flag = 1",
        Some(false) => " AND refd_setl_flag = 0",
        None => "",
    };
    let r = tx.query_opt(
        &format!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(acct_pay), 0) AS BIGINT)
             FROM settlement WHERE fixmedins_code = $1 AND insutype = $2 AND clr_type = $3 AND setl_time >= $4 AND setl_time < $5{refd_sql}"
        ),
        params![fixmedins_code, insutype, clr_type, from, to],
    )?;
    let r = r.ok_or_else(|| DbError::Other("aggregate returned no row".into()))?;
    Ok(Totals { count: r.i64(0)?, medfee_sumamt: r.fen(1)?, fund_pay_sumamt: r.fen(2)?, acct_pay: r.fen(3)? })
}

// ---- accumulators -----------------------------------------------------------------------------

pub fn accumulators(
    tx: &mut dyn Tx,
    psn_no: &str,
    insutype: &str,
    year: i64,
) -> Result<BTreeMap<String, Fen>, DbError> {
    let rows = tx.query(
        "SELECT cum_type_code, cum FROM accumulator WHERE psn_no = $1 AND insutype = $2 AND cum_year = $3",
        params![psn_no, insutype, year],
    )?;
    rows.iter().map(|r| Ok((r.str(0)?, r.fen(1)?))).collect()
}

/// All accumulators of a person in a year, across insurance types (5206).
pub fn accumulators_of_year(tx: &mut dyn Tx, psn_no: &str, year: i64) -> Result<Vec<(String, String, Fen)>, DbError> {
    let rows = tx.query("SELECT insutype, cum_type_code, cum FROM accumulator WHERE psn_no = $1 AND cum_year = $2 ORDER BY insutype, cum_type_code", params![psn_no, year])?;
    rows.iter().map(|r| Ok((r.str(0)?, r.str(1)?, r.fen(2)?))).collect()
}

pub fn apply_deltas(
    tx: &mut dyn Tx,
    psn_no: &str,
    insutype: &str,
    year: i64,
    admdvs: &str,
    deltas: &BTreeMap<String, Fen>,
) -> Result<(), DbError> {
    // One upsert for all of a settlement's accumulators (their codes are distinct, as one
    // statement must have them on PostgreSQL).
    let mut rows = Vec::with_capacity(deltas.len() * 6);
    for (code, d) in deltas {
        rows.extend_from_slice(params![psn_no, insutype, year, code.as_str(), *d, admdvs]);
    }
    crate::db::insert_many(
        tx,
        "INSERT INTO accumulator (psn_no, insutype, cum_year, cum_type_code, cum, admdvs)",
        "ON CONFLICT (psn_no, insutype, cum_year, cum_type_code) DO UPDATE SET cum = accumulator.cum + excluded.cum",
        6,
        &rows,
    )?;
    Ok(())
}

// ---- outbox -----------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: i64,
    pub admdvs: String,
    pub event_type: String,
    pub aggregate_id: String,
    pub payload: String,
    pub created: i64,
}

pub fn append_event(tx: &mut dyn Tx, e: &Event) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO outbox (seq, admdvs, event_type, aggregate_id, payload, created) VALUES ($1, $2, $3, $4, $5, $6)",
        params![
            e.seq,
            e.admdvs.as_str(),
            e.event_type.as_str(),
            e.aggregate_id.as_str(),
            e.payload.as_str(),
            e.created
        ],
    )?;
    Ok(())
}

/// Events after `after_seq`, in order: how followers (clearing, monitoring) read the outbox.
pub fn events_after(tx: &mut dyn Tx, after_seq: i64, limit: i64) -> Result<Vec<Event>, DbError> {
    let rows = tx.query("SELECT seq, admdvs, event_type, aggregate_id, payload, created FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2", params![after_seq, limit])?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                seq: r.i64(0)?,
                admdvs: r.str(1)?,
                event_type: r.str(2)?,
                aggregate_id: r.str(3)?,
                payload: r.str(4)?,
                created: r.i64(5)?,
            })
        })
        .collect()
}

// ---- files (9101/9102) --------------------------------------------------------------------------

pub fn put_file(
    tx: &mut dyn Tx,
    file_qury_no: &str,
    fixmedins_code: &str,
    filename: &str,
    content: &str,
    now: i64,
) -> Result<(), DbError> {
    tx.execute(
        "INSERT INTO file_store (file_qury_no, fixmedins_code, filename, content, created) VALUES ($1, $2, $3, $4, $5)",
        params![file_qury_no, fixmedins_code, filename, content, now],
    )?;
    Ok(())
}

/// A stored file, only to the institution that owns it.
pub fn get_file(
    tx: &mut dyn Tx,
    file_qury_no: &str,
    fixmedins_code: &str,
) -> Result<Option<(String, String)>, DbError> {
    let r = tx.query_opt(
        "SELECT filename, content FROM file_store WHERE file_qury_no = $1 AND fixmedins_code = $2",
        params![file_qury_no, fixmedins_code],
    )?;
    r.map(|r| Ok((r.str(0)?, r.str(1)?))).transpose()
}

/// Re-seals up to `limit` sealed values per table (visit.mdtrt_cert_no, msg_log.response,
/// settlement.body) that are under an old key. Returns how many; call until it returns 0.
pub fn rekey(tx: &mut dyn Tx) -> Result<u64, DbError> {
    rekey_some(tx, 1000)
}

fn rekey_some(tx: &mut dyn Tx, limit: i64) -> Result<u64, DbError> {
    let v = vault_of(tx, "rekey")?;
    let current = format!("{}:%", v.key_id());
    let mut n = 0;
    // (table, row key, sealed column, the column the key is unique within): a msgid is unique
    // per institution, and its sealed answer is bound to the msgid alone.
    let tables = [
        ("visit", "mdtrt_id", "mdtrt_cert_no", "mdtrt_id"),
        ("msg_log", "msgid", "response", "fixmedins_code"),
        ("settlement", "setl_id", "body", "setl_id"),
    ];
    for (table, key, col, scope) in tables {
        let rows = tx.query(
            &format!("SELECT {key}, {col}, {scope} FROM {table} WHERE {col} IS NOT NULL AND {col} NOT LIKE $1 AND {col} NOT LIKE '{{%' LIMIT $2"),
            params![current.as_str(), limit],
        )?;
        let label = format!("{table}.{col}");
        for r in &rows {
            let id = r.str(0)?;
            let clear = open_col(&v, &label, &id, &r.str(1)?)?;
            tx.execute(
                &format!("UPDATE {table} SET {col} = $2 WHERE {key} = $1 AND {scope} = $3"),
                params![id.as_str(), seal_col(&v, &label, &id, &clear), r.str(2)?],
            )?;
            n += 1;
        }
    }
    Ok(n)
}
