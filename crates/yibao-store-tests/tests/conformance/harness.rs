//! The harness itself: a PostgreSQL half never passes without running unless the skip was
//! asked for.

use std::process::Command;
use yibao_store::Store;
use yibao_store_tests::conformance;

conformance! {
    /// Run by `unreachable_postgres_is_a_failure_unless_skipped` in a child process.
    fn probe(store: &Store) {
        store.read(|tx| tx.query("SELECT 1", &[]).map(drop)).unwrap();
    }
}

/// Runs `harness::probe::postgres` in a child process of this test binary against a PostgreSQL
/// that is not there; returns (passed, stderr and stdout).
fn run_probe(env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    // `--include-ignored`: a build with YIBAO_SKIP_PG=1 marks the probe ignored.
    cmd.args(["harness::probe::postgres", "--exact", "--include-ignored", "--nocapture", "--test-threads=1"]);
    for k in ["CI", "YIBAO_REQUIRE_PG", "YIBAO_SKIP_PG"] {
        cmd.env_remove(k);
    }
    // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    cmd.env("YIBAO_TEST_PG", "postgres://postgres@127.0.0.1:1/postgres");
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("run the test binary");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
    assert!(text.contains("harness::probe::postgres"), "the probe did not run: {text}");
    (out.status.success(), text)
}

#[test]
fn unreachable_postgres_is_a_failure_unless_skipped() {
    let (passed, text) = run_probe(&[]);
    assert!(!passed && text.contains("PostgreSQL is unreachable"), "passed without PostgreSQL: {text}");

    let (passed, text) = run_probe(&[("YIBAO_SKIP_PG", "1")]);
    assert!(passed && text.contains("SKIPPED"), "an explicit skip must pass and say SKIPPED: {text}");

    for required in [("YIBAO_REQUIRE_PG", "1"), ("CI", "true")] {
        let (passed, text) = run_probe(&[("YIBAO_SKIP_PG", "1"), required]);
        assert!(!passed && text.contains("PostgreSQL is unreachable"), "{required:?} must fail: {text}");
    }
}
