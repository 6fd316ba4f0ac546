//! The policy documents shipped with yibao (the /policies folder, built in so a fresh install
//! can seed the demo world without the source tree).

use yibao_domain::policy::{Policy, PolicyError};
use yibao_store::policy::{put_policy, PolicyStoreError};
use yibao_store::Store;

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
