//! The trust commands: the data key, institution credentials, e-credentials, operators, the
//! audit chain and re-keying. They act as the system (the audit log names the OS user), through
//! the same functions as the admin API.

use clap::Subcommand;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yibao_gateway::admin::{self, Actor};
use yibao_store::{Store, Vault};

type Res = Result<(), String>;

/// A store's data key ring and where it came from.
pub struct DataKey {
    pub vault: Arc<Vault>,
    /// The current key (hex), first of the ring.
    current: String,
    /// `YIBAO_DATA_KEY`, or the key file it was read from.
    pub source: String,
    /// The key file beside a SQLite store (whether or not the key came from it).
    file: Option<PathBuf>,
}

/// Where the data key comes from: `YIBAO_DATA_KEY` (hex keys, current first, comma-separated),
/// else, for a SQLite store only, the key file beside the database — created only with a new
/// store (`create`): a store that exists without its key file could not be opened by a new key.
pub fn vault_for(url: &str, sqlite_path: Option<&Path>, create: bool) -> Result<DataKey, String> {
    let file = sqlite_path.map(key_file);
    let parse = |spec: &str, source: String| {
        let vault = Vault::from_hex_list(spec).map(Arc::new).map_err(|e| format!("{source}: {e}"))?;
        let current = spec.split(',').map(str::trim).find(|s| !s.is_empty()).unwrap_or_default().to_owned();
        Ok(DataKey { vault, current, source, file: file.clone() })
    };
    if let Ok(spec) = std::env::var("YIBAO_DATA_KEY") {
        if !spec.trim().is_empty() {
            return parse(&spec, "YIBAO_DATA_KEY".into());
        }
    }
    let Some(file) = file.clone() else {
        return Err(format!(
            "{}: set YIBAO_DATA_KEY (hex; `yibao keygen` makes one) to open a PostgreSQL store",
            redact_url(url)
        ));
    };
    match std::fs::read_to_string(&file) {
        Ok(spec) => parse(&spec, file.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && create => {
            let key = Vault::generate_hex();
            write_private(&file, &format!("{key}\n"))?;
            eprintln!(
                "generated a data key in {} (personal data is sealed with it: back it up; in production set YIBAO_DATA_KEY instead)",
                file.display()
            );
            parse(&key, file.display().to_string())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "{}: no data key: the store exists but its key file is missing and YIBAO_DATA_KEY is not set (restore the key file or set YIBAO_DATA_KEY)",
            file.display()
        )),
        Err(e) => Err(format!("{}: {e}", file.display())),
    }
}

/// Refuses a key ring that cannot open what the store holds: a platform that started anyway
/// would say it is healthy and fail every request that touches a person.
pub fn check_key(store: &Store, key: &DataKey, what: &str) -> Res {
    let mut used = store.read(yibao_store::registry::sealed_key_ids).map_err(|e| format!("{what}: {e}"))?;
    used.extend(store.read(yibao_store::credential::sealed_key_ids).map_err(|e| format!("{what}: {e}"))?);
    let ring = key.vault.key_ids();
    let mut missing: Vec<String> = used.into_iter().filter(|k| !ring.contains(&k.as_str())).collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{what}: its personal data is sealed under key id(s) {} but the data key from {} holds only {}: set YIBAO_DATA_KEY to the key(s) it was sealed with (during a rotation `<new>,<old>`)",
        missing.join(", "),
        key.source,
        ring.join(", ")
    ))
}

/// A store URL fit to print: the password of `user:password@host` and a `password=` parameter
/// are replaced by `***` (a PostgreSQL URL may carry one; errors and logs must not).
pub fn redact_url(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme) = out.find("://") {
        let start = scheme + 3;
        let end = out[start..].find(['/', '?', '#']).map_or(out.len(), |i| start + i);
        if let Some(at) = out[start..end].rfind('@').map(|i| start + i) {
            if let Some(colon) = out[start..at].find(':').map(|i| start + i) {
                out.replace_range(colon + 1..at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let params: Vec<String> = out[q + 1..]
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{}?{}", &out[..q], params.join("&"));
    }
    out
}

/// `data/yibao.db` → `data/yibao.db.key`.
pub fn key_file(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".key");
    db.with_file_name(name)
}

/// Writes a file readable by its owner only.
fn write_private(path: &Path, text: &str) -> Res {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    f.write_all(text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn system() -> Actor {
    let who = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "cli".into());
    Actor::System(who)
}

fn print(v: &serde_json::Value) -> Res {
    outln!("{}", serde_json::to_string_pretty(v).map_err(|e| e.to_string())?)?;
    Ok(())
}

#[derive(Subcommand)]
pub enum CredentialCmd {
    /// Issue a credential (x-tif-paasid + secret) for a designated institution.
    Issue {
        fixmedins_code: String,
        /// The institution's SM2 public key (SEC1 hex); envelopes must then be SM2-signed.
        #[arg(long)]
        sm2_pubkey: Option<String>,
    },
    /// Replace a credential's secret; the old one works for --overlap-secs more.
    Rotate {
        paasid: String,
        #[arg(long, default_value_t = admin::ROTATE_OVERLAP_SECS)]
        overlap_secs: i64,
    },
    /// Revoke a credential at once.
    Revoke { paasid: String },
    /// List an institution's credentials (without secrets).
    List { fixmedins_code: String },
}

pub fn credential(store: &Store, cmd: CredentialCmd) -> Res {
    let a = system();
    let v = match cmd {
        CredentialCmd::Issue { fixmedins_code, sm2_pubkey } => {
            admin::issue_credential(store, &a, &fixmedins_code, sm2_pubkey.as_deref())
        }
        CredentialCmd::Rotate { paasid, overlap_secs } => admin::rotate_credential(store, &a, &paasid, overlap_secs),
        CredentialCmd::Revoke { paasid } => admin::revoke_credential(store, &a, &paasid),
        CredentialCmd::List { fixmedins_code } => {
            let list = store
                .read(|tx| yibao_store::credential::of_institution(tx, &fixmedins_code))
                .map_err(|e| e.to_string())?;
            Ok(serde_json::json!(list
                .iter()
                .map(|c| serde_json::json!({ "paasid": c.paasid, "stas": c.stas, "created": c.created, "prev_secret_valid_until": c.prev_until, "sm2": c.sm2_pubkey.is_some() }))
                .collect::<Vec<_>>()))
        }
    }
    .map_err(|e| e.to_string())?;
    print(&v)
}

#[derive(Subcommand)]
pub enum EcCmd {
    /// Issue an e-credential token (医保电子凭证) for an insured person.
    Issue {
        psn_no: String,
        #[arg(long, default_value_t = yibao_gateway::ecred::DEFAULT_TTL_SECS)]
        ttl: i64,
    },
}

pub fn ec(store: &Store, cmd: EcCmd) -> Res {
    match cmd {
        EcCmd::Issue { psn_no, ttl } => {
            print(&admin::issue_ec(store, &system(), &psn_no, ttl).map_err(|e| e.to_string())?)
        }
    }
}

#[derive(Subcommand)]
pub enum OperatorCmd {
    /// Add an operator. The password is read from YIBAO_OPERATOR_PASSWORD, or the first line of
    /// standard input.
    Add {
        opter_id: String,
        /// clerk, auditor, regional_admin or national_admin.
        #[arg(long)]
        role: String,
        /// Region scope: 000000 national, xx0000 a province, a city code.
        #[arg(long)]
        admdvs: String,
        #[arg(long, default_value = "")]
        name: String,
    },
}

pub fn operator(store: &Store, cmd: OperatorCmd) -> Res {
    match cmd {
        OperatorCmd::Add { opter_id, role, admdvs, name } => {
            let password = match std::env::var("YIBAO_OPERATOR_PASSWORD") {
                Ok(p) if !p.is_empty() => p,
                _ => {
                    eprint!("password for {opter_id}: ");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line).map_err(|e| e.to_string())?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let n = admin::NewOperator { opter_id, opter_name: name, role, admdvs, password };
            print(&admin::add_operator(store, &system(), &n).map_err(|e| e.to_string())?)
        }
    }
}

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Walk every hash chain; name the first changed, removed or reordered record of each.
    Verify,
}

pub fn audit(store: &Store, cmd: AuditCmd) -> Res {
    match cmd {
        AuditCmd::Verify => {
            let r = store.read(yibao_store::audit::verify).map_err(|e| e.to_string())?;
            for (stream, seq, hash) in &r.heads {
                outln!("ok      {stream}: {seq} records, head {hash}")?;
            }
            for p in &r.problems {
                outln!("BROKEN  {p}")?;
            }
            outln!("{} streams, {} records, {} broken", r.streams, r.records, r.problems.len())?;
            if r.problems.is_empty() {
                Ok(())
            } else {
                Err(format!("the audit log was tampered with: {}", r.problems[0]))
            }
        }
    }
}

/// Re-seals everything sealed under an old key with the current one (run after putting the new
/// key first in YIBAO_DATA_KEY or the key file; afterwards the old key may be dropped). A key
/// file beside the store that held keys of the ring is then replaced by the current key alone,
/// so that the next start opens what was just re-sealed.
pub fn rekey(store: &Store, key: &DataKey) -> Res {
    let mut after = String::new();
    let mut persons = 0;
    loop {
        let (next, n) =
            store.write(|tx| yibao_store::registry::rekey_persons(tx, &after, 1000)).map_err(|e| e.to_string())?;
        persons += n;
        match next {
            Some(p) => after = p,
            None => break,
        }
    }
    let creds = store.write(yibao_store::credential::rekey).map_err(|e| e.to_string())?;
    let mut rest = 0;
    loop {
        let n = store.write(yibao_store::settlement::rekey).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        rest += n;
    }
    eprintln!(
        "re-sealed {persons} persons, {creds} credentials and {rest} visits, answers and settlements under key {}",
        store.vault().key_id()
    );
    update_key_file(key)
}

/// After a rekey: the key file, if it held keys of the ring (it is where this store's key came
/// from), now holds only the current key, replaced atomically (write, fsync, rename, fsync the
/// directory). A key file with a key outside the ring is not this rotation's: left, with a word.
fn update_key_file(key: &DataKey) -> Res {
    let Some(file) = &key.file else { return Ok(()) };
    let held = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    let ring = key.vault.key_ids();
    let of_ring = Vault::from_hex_list(&held).is_ok_and(|v| v.key_ids().iter().all(|k| ring.contains(k)));
    if !of_ring {
        eprintln!(
            "warning: {} holds a key outside YIBAO_DATA_KEY; left as it is, it will not open this store",
            file.display()
        );
        return Ok(());
    }
    if held.trim() == key.current {
        return Ok(());
    }
    replace_private(file, &format!("{}\n", key.current))?;
    eprintln!("{} now holds the current key {} only", file.display(), key.vault.key_id());
    Ok(())
}

/// Replaces a file readable by its owner only, atomically: a crash leaves the old or the new one.
fn replace_private(path: &Path, text: &str) -> Res {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".new");
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, text)?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Demo mode: a credential for every designated institution that has none and a national
/// administrator if there is no operator, written once to `<db>.demo-credentials.json` (owner
/// only) and summarised on standard output.
pub fn demo_credentials(store: &Store, file: &Path) -> Res {
    let a = system();
    let codes: Vec<String> = store
        .read(|tx| {
            let mut out = Vec::new();
            let mut after = String::new();
            loop {
                let page = yibao_store::registry::institutions_after(tx, &after, 500)?;
                let Some(last) = page.last() else { break };
                after = last.fixmedins_code.clone();
                for i in page {
                    if yibao_store::credential::of_institution(tx, &i.fixmedins_code)?.is_empty() {
                        out.push(i.fixmedins_code);
                    }
                }
            }
            Ok::<_, yibao_store::registry::RegistryError>(out)
        })
        .map_err(|e| e.to_string())?;
    let no_operator = store.read(yibao_store::operator::count).map_err(|e| e.to_string())? == 0;
    if codes.is_empty() && !no_operator {
        outln!("demo credentials: see {} (or `yibao credential issue <fixmedins_code>`)", file.display())?;
        return Ok(());
    }
    let mut creds = Vec::new();
    for code in &codes {
        creds.push(admin::issue_credential(store, &a, code, None).map_err(|e| e.to_string())?);
    }
    let mut doc = serde_json::json!({ "credentials": creds });
    if no_operator {
        let password = yibao_crypto::base64url(&yibao_crypto::random::<12>());
        let n = admin::NewOperator {
            opter_id: "admin".into(),
            opter_name: "demo national administrator".into(),
            role: "national_admin".into(),
            admdvs: "000000".into(),
            password: password.clone(),
        };
        admin::add_operator(store, &a, &n).map_err(|e| e.to_string())?;
        doc["operator"] = serde_json::json!({ "opter_id": "admin", "password": password, "role": "national_admin" });
    }
    let _ = std::fs::remove_file(file);
    write_private(file, &serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?)?;
    if let Some(first) = creds.first() {
        outln!(
            "demo credentials for {} institutions are in {} (owner-readable); e.g. {}: x-tif-paasid {} secret {}",
            creds.len(),
            file.display(),
            first["fixmedins_code"].as_str().unwrap_or_default(),
            first["paasid"].as_str().unwrap_or_default(),
            first["secret"].as_str().unwrap_or_default()
        )?;
    }
    if no_operator {
        outln!("demo operator: admin (national_admin), password in {}", file.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(redact_url("postgres://yibao:s3cr%40t@db:5432/yibao"), "postgres://yibao:***@db:5432/yibao");
        assert_eq!(
            redact_url("postgresql://u:p@h/d?sslmode=require&password=x"),
            "postgresql://u:***@h/d?sslmode=require&password=***"
        );
        assert_eq!(redact_url("postgres://h/d?user=u&PASSWORD=pw"), "postgres://h/d?user=u&PASSWORD=***");
        assert_eq!(
            redact_url("postgres://yibao@db/yibao"),
            "postgres://yibao@db/yibao",
            "no password, nothing changed"
        );
        assert_eq!(redact_url("data/yibao.db"), "data/yibao.db");
    }
}
