//! `yibao calc`: the JSON answer prints counters as counts; `--format text` prints a report an
//! analyst reads.

use std::process::Command;

fn calc(args: &[&str]) -> String {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/beijing-inpatient.json");
    let out = Command::new(env!("CARGO_BIN_EXE_yibao")).arg("calc").arg(example).args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn calc_prints_counts_as_counts_and_a_plain_text_report() {
    let json: serde_json::Value = serde_json::from_str(&calc(&[])).unwrap();
    assert_eq!(json["outcome"]["deltas"]["ADM"], serde_json::json!(1), "{}", json["outcome"]["deltas"]);
    assert_eq!(json["outcome"]["hifp_pay"].to_string(), "21983.00");
    let text = calc(&["--format", "text"]);
    for want in [
        "Settlement under policy BJ-310-2024.1\n",
        "  pooled fund:                                   21983.00  [hifp_pay]\n",
        "  3. pooled fund pays 21983.00  (parameter BJ-310-2024.1:pools[inpatient].bands)\n",
        "49450.00 × 0.9700 = 47966.50, capped: pays 21983.00 of 47966.50, all the annual cap had left",
        "  admissions this year [ADM]: +1\n",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    for unwanted in ["WithDeductible", "Admission scope", "0.9400=0.00", "{"] {
        assert!(!text.contains(unwanted), "{unwanted:?} in\n{text}");
    }
}
