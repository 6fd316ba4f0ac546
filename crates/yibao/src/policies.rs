//! The policy documents shipped with yibao (the /policies folder, built in so a fresh install
//! can seed the demo world without the source tree).

use std::path::PathBuf;
use yibao_domain::policy::{Policy, PolicyError};
use yibao_store::policy::{put_policy, PolicyStoreError};
use yibao_store::Store;

/// `yibao policy FILE|DIR…` loads; `policy list` and `policy show` read what is stored.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct PolicyArgs {
    #[command(subcommand)]
    cmd: Option<PolicyCmd>,
    /// Policy documents to load: files, or directories of *.json.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(clap::Subcommand)]
enum PolicyCmd {
    /// Load policy documents (the same as `policy PATH…`).
    Load {
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// One line per stored policy version: region, insurance type, period, version, name.
    List,
    /// Print the stored documents of a region and insurance type (every period, or the one in
    /// force on --on YYYY-MM-DD).
    Show {
        admdvs: String,
        insutype: String,
        #[arg(long)]
        on: Option<String>,
    },
}

pub fn run(store: &Store, args: PolicyArgs) -> Result<(), String> {
    match args.cmd {
        None => load(store, &args.paths),
        Some(PolicyCmd::Load { paths }) => load(store, &paths),
        Some(PolicyCmd::List) => {
            let all = store.read(yibao_store::policy::all_policies).map_err(|e| e.to_string())?;
            for p in &all {
                let end = p.enddate.map_or_else(|| "open".to_owned(), |d| d.to_string());
                outln!("{}\t{}\t{}\t{end}\t{}\t{}", p.admdvs, p.insutype, p.begndate, p.ver, p.name)?;
            }
            eprintln!("{} policy version(s)", all.len());
            Ok(())
        }
        Some(PolicyCmd::Show { admdvs, insutype, on }) => {
            let found = match on {
                Some(d) => {
                    let on = yibao_domain::Date::parse(&d).map_err(|e| format!("--on {d}: {e}"))?;
                    vec![store
                        .read(|tx| yibao_store::policy::policy_in_force(tx, &admdvs, &insutype, on))
                        .map_err(|e| e.to_string())?]
                }
                None => {
                    store.read(|tx| yibao_store::policy::versions(tx, &admdvs, &insutype)).map_err(|e| e.to_string())?
                }
            };
            if found.is_empty() {
                return Err(format!("no {insutype} policy is stored for region {admdvs} (`yibao policy list`)"));
            }
            let text = if found.len() == 1 {
                serde_json::to_string_pretty(&found[0])
            } else {
                serde_json::to_string_pretty(&found)
            };
            outln!("{}", text.map_err(|e| e.to_string())?)?;
            Ok(())
        }
    }
}

/// Loads every document named (a directory: its *.json, in name order). Each is validated and
/// stored in a transaction of its own; the first bad one stops the load, naming the file.
fn load(store: &Store, paths: &[PathBuf]) -> Result<(), String> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x == "json"))
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("{}: no *.json policy documents in this directory", p.display()));
            }
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
        let p = parse(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        put(store, &p).map_err(|e| format!("{}: {e}", f.display()))?;
        eprintln!("loaded {} ({} {} from {})", f.display(), p.admdvs, p.insutype, p.begndate);
    }
    Ok(())
}

const BUILTIN: &[(&str, &str)] = &[
    ("beijing-310", include_str!("../../../policies/beijing-310.json")),
    ("beijing-390", include_str!("../../../policies/beijing-390.json")),
    ("shanghai-310", include_str!("../../../policies/shanghai-310.json")),
    ("shanghai-390", include_str!("../../../policies/shanghai-390.json")),
    ("changzhou-310", include_str!("../../../policies/changzhou-310.json")),
    ("changzhou-390", include_str!("../../../policies/changzhou-390.json")),
    ("suzhou-310", include_str!("../../../policies/suzhou-310.json")),
    ("suzhou-390", include_str!("../../../policies/suzhou-390.json")),
    ("nanchang-310", include_str!("../../../policies/nanchang-310.json")),
    ("nanchang-390", include_str!("../../../policies/nanchang-390.json")),
];

pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    Policy::from_json(text)
}

pub fn put(store: &Store, p: &Policy) -> Result<(), PolicyStoreError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    store.write(|tx| put_policy(tx, p, now))
}

/// Loads the built-in policy of every (region, insurance type) target; a target without one is
/// an error, because its people could not be settled.
pub fn load_builtin(store: &Store, targets: &[(String, String)]) -> Result<usize, String> {
    let all: Vec<Policy> = BUILTIN
        .iter()
        .map(|(n, t)| parse(t).map_err(|e| format!("built-in policy {n}: {e}")))
        .collect::<Result<_, _>>()?;
    let mut n = 0;
    for (admdvs, insutype) in targets {
        let mine: Vec<&Policy> = all.iter().filter(|p| &p.admdvs == admdvs && &p.insutype == insutype).collect();
        if mine.is_empty() && yibao_domain::dict::insutype::is_primary(insutype) {
            return Err(format!("no built-in {insutype} policy for region {admdvs}"));
        }
        for p in mine {
            put(store, p).map_err(|e| e.to_string())?;
            n += 1;
        }
    }
    Ok(n)
}
