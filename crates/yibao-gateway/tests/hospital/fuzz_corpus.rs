//! The fuzz corpus (`fuzz/corpus/envelope`) as a normal test. `*.json` are the seeds, real-shaped
//! envelopes of every area; `afl-*` are inputs AFL++ found (new paths, not all of them JSON; see
//! docs/security.md, "Fuzzing"). The envelope parser and the fuzz target's check run over every
//! file, every truncation and many byte flips of it; then the whole gateway runs over every seed
//! with each input field replaced by values of other shapes. Any shape gets an answer (an error
//! naming the field), never a panic.

use crate::client::*;
use serde_json::Value;
use yibao_gateway::Envelope;

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/corpus/envelope");

fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("{CORPUS}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn the_envelope_parser_survives_the_corpus_truncated_and_flipped() {
    let files = corpus();
    let seeds = files.iter().filter(|(name, _)| is_seed(name)).count();
    assert!(seeds >= 25, "the seeds cover every area: {seeds}");
    let mut parsed = 0;
    for (name, bytes) in &files {
        if fuzz_check(name, bytes) {
            parsed += 1;
        }
        for n in 0..bytes.len() {
            fuzz_check(name, &bytes[..n]);
        }
        for i in (0..bytes.len()).step_by(7) {
            for x in [0x01u8, 0x20, 0x80, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= x;
                fuzz_check(name, &b);
            }
        }
    }
    assert!(parsed >= 25, "real-shaped envelopes parse: {parsed}");
}

fn is_seed(name: &str) -> bool {
    name.ends_with(".json")
}

/// What `fuzz/fuzz_targets/envelope.rs` checks: parsing gives an error or an envelope, and the
/// canonical form of its input is JSON that reads back as the same form. True if it parsed.
fn fuzz_check(name: &str, bytes: &[u8]) -> bool {
    let Ok(env) = Envelope::parse(bytes) else { return false };
    let form = yibao_gateway::auth::canonical_json(&env.input);
    let back: Value = serde_json::from_str(&form).unwrap_or_else(|e| panic!("{name}: {form}: {e}"));
    assert_eq!(yibao_gateway::auth::canonical_json(&back), form, "{name}");
    true
}

/// Every leaf of `v`, as JSON pointers.
fn leaves(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| leaves(x, format!("{at}/{i}"), out)),
        _ => out.push(at),
    }
}

#[test]
fn the_gateway_answers_every_shape_of_input() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let code = hospital(&store, "110100", "01");
    let shop = pharmacy(&store, "110100");
    let (psn_no, certno) = person(&store, "110100", "310", "11", 0);
    let shapes: Vec<Value> = ["null", "\"\"", "-1", "1e400", "123456789012345678901234567890.123", "{}", "[]", "true"]
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .chain([Value::String("字".repeat(3000)), Value::String("\u{0}\u{1f}\\\"".into())])
        .collect();
    let (mut calls, mut ok) = (0, 0);
    for (name, bytes) in corpus().into_iter().filter(|(name, _)| is_seed(name)) {
        let text = String::from_utf8(bytes).unwrap();
        let text = text
            .replace("H11010000001", &code)
            .replace("P11010000001", &shop)
            .replace("110100000000123", &psn_no)
            .replace("11010519491231002X", &certno);
        let env: Value = serde_json::from_str(&text).unwrap();
        let mut paths = Vec::new();
        leaves(&env["input"], "/input".into(), &mut paths);
        paths.truncate(40);
        for p in paths.iter().map(Some).chain([None]) {
            for shape in &shapes {
                let mut e = env.clone();
                // A fresh msgid each time, so that writes reach their handlers.
                e["msgid"] = Value::String(format!(
                    "{}{calls:018}",
                    &e["fixmedins_code"].as_str().unwrap_or("H00000000000")
                        [..12.min(e["fixmedins_code"].as_str().unwrap_or("").len())]
                ));
                if let Some(p) = p {
                    *e.pointer_mut(p).unwrap() = shape.clone();
                }
                let (_, r, _) = yibao_gateway::handle(&store, e.to_string().as_bytes(), None, now());
                match r {
                    Err(err) => assert!(!err.to_string().is_empty(), "{name} {p:?}: an empty error"),
                    Ok(_) => ok += 1,
                }
                calls += 1;
                if p.is_none() {
                    break;
                }
            }
        }
    }
    assert!(calls > 1000, "{calls}");
    assert!(ok > 10, "unmutated envelopes and harmless mutations succeed: {ok}");
}
