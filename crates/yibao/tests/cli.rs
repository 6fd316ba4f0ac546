//! The binary as an operator runs it: which commands may create a store, the data key file
//! across a rekey, a key that cannot open the store, owner-only exports of personal data, and
//! the policy command.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("yibao-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch { dir }
    }

    fn db(&self) -> String {
        self.path("yibao.db").display().to_string()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `yibao --db <db> <args>` with the key from the key file unless `key` is given.
    fn cmd(&self, db: &str, key: Option<&str>, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_yibao"));
        c.current_dir(&self.dir).arg("--db").arg(db).args(args).stdin(Stdio::null());
        c.env_remove("YIBAO_DB").env_remove("YIBAO_AUTH").env("YIBAO_LOG", "warn");
        match key {
            Some(k) => c.env("YIBAO_DATA_KEY", k),
            None => c.env_remove("YIBAO_DATA_KEY"),
        };
        c
    }

    fn run(&self, db: &str, key: Option<&str>, args: &[&str]) -> Run {
        Run(self.cmd(db, key, args).output().expect("run yibao"))
    }

    /// A small demo world in this directory's store.
    fn seeded(name: &str) -> Scratch {
        let s = Scratch::new(name);
        s.run(&s.db(), None, &["seed", "--demo", "--persons", "20"]).ok();
        s
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct Run(Output);

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }
    fn ok(&self) -> &Run {
        assert!(self.0.status.success(), "expected success, got {}:\n{}", self.0.status, self.stderr());
        self
    }
    /// Fails (exit code ≠ 0) with a message containing `needle`.
    fn fails_with(&self, needle: &str) -> &Run {
        assert!(!self.0.status.success(), "expected a failure:\n{}{}", self.stdout(), self.stderr());
        assert!(self.stderr().contains(needle), "expected {needle:?} in:\n{}", self.stderr());
        self
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// A mistyped --db: every command that reads refuses, naming the path, and leaves no store and
/// no key file behind; only the commands that create may create, and only when told to.
#[test]
fn a_mistyped_db_creates_nothing() {
    let s = Scratch::new("typo");
    let typo = s.path("yibao.dbb").display().to_string();
    let csv = s.path("out.csv").display().to_string();
    for args in [
        &["policy", "list"][..],
        &["audit", "verify"],
        &["credential", "list", "H11010000001"],
        &["export", "persons", &csv],
        &["rekey"],
        &["import", "persons", &csv],
        &["serve", "--listen", "127.0.0.1:0"],
    ] {
        s.run(&typo, None, args).fails_with(&format!("{typo}: no such store"));
        assert_eq!(files_in(&s.dir), Vec::<String>::new(), "{args:?} left files behind");
    }
    // Told to: `import --create` makes the store (and its key), then imports.
    std::fs::write(s.path("inst.csv"), "fixmedins_code,fixmedins_name,fixmedins_type,hosp_lv,admdvs,uscc\n").unwrap();
    let inst = s.path("inst.csv").display().to_string();
    s.run(&typo, None, &["import", "institutions", &inst, "--create"]).ok();
    assert!(s.path("yibao.dbb").exists() && s.path("yibao.dbb.key").exists());
    s.run(&typo, None, &["policy", "list"]).ok();
    // `seed --demo` creates as it always did.
    let fresh = s.path("fresh.db").display().to_string();
    s.run(&fresh, None, &["seed", "--demo", "--persons", "5"]).ok();
    assert!(s.run(&fresh, None, &["policy", "list"]).ok().stdout().contains("110100\t310"));
}

/// A store that exists without its key file is refused instead of getting a new key that
/// cannot open it.
#[test]
fn a_store_without_its_key_file_is_refused() {
    let s = Scratch::seeded("nokey");
    std::fs::rename(s.path("yibao.db.key"), s.path("saved.key")).unwrap();
    s.run(&s.db(), None, &["policy", "list"]).fails_with("yibao.db.key: no data key");
    assert!(!s.path("yibao.db.key").exists(), "no new key file was made");
}

/// Rotation with the key file: `YIBAO_DATA_KEY=<new>,<old> yibao rekey` leaves the key file
/// holding the new key, so the next start without YIBAO_DATA_KEY opens the re-sealed data.
#[test]
fn rekey_updates_the_key_file() {
    let s = Scratch::seeded("rekey");
    let old = std::fs::read_to_string(s.path("yibao.db.key")).unwrap().trim().to_owned();
    let new = s.run(&s.db(), None, &["keygen"]).ok().stdout().trim().to_owned();
    s.run(&s.db(), Some(&format!("{new},{old}")), &["rekey"]).ok();
    assert_eq!(std::fs::read_to_string(s.path("yibao.db.key")).unwrap().trim(), new);
    let csv = s.path("persons.csv").display().to_string();
    s.run(&s.db(), None, &["export", "persons", &csv]).ok();
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 21, "every person opens under the new key");
    // The old key alone no longer opens the store: refused before anything runs.
    s.run(&s.db(), Some(&old), &["export", "persons", &csv]).fails_with("sealed under key id(s)");
    assert!(!s.path("yibao.db.key.new").exists());
    // Rotation written into the key file itself: `<newer>,<new>`, then rekey, then `<newer>`.
    let newer = s.run(&s.db(), None, &["keygen"]).ok().stdout().trim().to_owned();
    std::fs::write(s.path("yibao.db.key"), format!("{newer},{new}\n")).unwrap();
    s.run(&s.db(), None, &["rekey"]).ok();
    assert_eq!(std::fs::read_to_string(s.path("yibao.db.key")).unwrap().trim(), newer);
    s.run(&s.db(), Some(&newer), &["export", "persons", &csv]).ok();
}

/// A key that cannot open the sealed data stops `serve` at startup (it used to serve, with
/// /health ok, and fail every request about a person).
#[test]
fn serve_refuses_a_key_that_cannot_open_the_store() {
    let s = Scratch::seeded("wrongkey");
    let other = s.run(&s.db(), None, &["keygen"]).ok().stdout().trim().to_owned();
    let mut child = s
        .cmd(&s.db(), Some(&other), &["serve", "--listen", "127.0.0.1:0", "--auth", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break Some(st);
        }
        if started.elapsed() > Duration::from_secs(30) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if status.is_none() {
        child.kill().unwrap();
    }
    let out = Run(child.wait_with_output().unwrap());
    assert!(status.is_some(), "the server started with a key that cannot open its data");
    out.fails_with("sealed under key id(s)");
}

/// `export persons` writes clear personal data: owner-only, even over a file that was
/// world-readable, and with a warning; other kinds keep the usual mode.
#[cfg(unix)]
#[test]
fn export_of_persons_is_owner_only_and_warns() {
    use std::os::unix::fs::PermissionsExt;
    let s = Scratch::seeded("export");
    let csv = s.path("persons.csv");
    std::fs::write(&csv, "old").unwrap();
    std::fs::set_permissions(&csv, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = s.run(&s.db(), None, &["export", "persons", &csv.display().to_string()]);
    assert!(r.ok().stderr().contains("personal data in clear"), "{}", r.stderr());
    assert_eq!(std::fs::metadata(&csv).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 21);
    let cat = s.path("catalog.csv");
    let r = s.run(&s.db(), None, &["export", "catalog", &cat.display().to_string()]);
    assert!(!r.ok().stderr().contains("personal data"));
}

/// `policy` needs a path; `policy list` and `policy show` read what is stored.
#[test]
fn policy_requires_a_path_and_lists_and_shows() {
    let s = Scratch::seeded("policy");
    s.run(&s.db(), None, &["policy"]).fails_with("<PATH>");
    std::fs::create_dir(s.path("empty")).unwrap();
    s.run(&s.db(), None, &["policy", "empty"]).fails_with("no *.json policy documents");
    let list = s.run(&s.db(), None, &["policy", "list"]).ok().stdout();
    assert_eq!(list.lines().count(), 10, "{list}");
    assert!(list.contains("110100\t310\t2024-01-01\topen\tBJ-310-2024.1"), "{list}");
    let shown = s.run(&s.db(), None, &["policy", "show", "110100", "310", "--on", "2024-06-01"]).ok().stdout();
    let doc: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!((doc["admdvs"].as_str(), doc["ver"].as_str()), (Some("110100"), Some("BJ-310-2024.1")));
    s.run(&s.db(), None, &["policy", "show", "999999", "310"]).fails_with("no 310 policy is stored for region 999999");
    // Loading the shown document back is the same policy (a round trip through `show`).
    std::fs::write(s.path("bj.json"), &shown).unwrap();
    s.run(&s.db(), None, &["policy", "bj.json"]).ok();
    assert_eq!(s.run(&s.db(), None, &["policy", "list"]).ok().stdout(), list);
}

/// `calc` runs a sequence — settle, reverse 1, settle again — as an analyst checks it: the
/// reversal mirrors the settlement and puts the person back where they started; the
/// single-settlement example still runs as before.
#[test]
fn calc_settles_reverses_and_settles_again() {
    let s = Scratch::new("calc");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let case = examples.join("beijing-reversal.json").display().to_string();
    let out = s.run("unused.db", None, &["calc", &case]).ok().stdout();
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!((steps[1]["op"].as_str(), steps[1]["reverses"].as_u64()), (Some("reverse"), Some(1)));
    for k in ["medfee_sumamt", "hifp_pay", "fund_pay_sumamt", "acct_pay", "psn_cash_pay"] {
        let (a, b) = (steps[0]["outcome"][k].as_f64().unwrap(), steps[1]["outcome"][k].as_f64().unwrap());
        assert!(a != 0.0 || k == "psn_cash_pay", "{k} moves money in the example");
        assert_eq!(a, -b, "{k}");
    }
    assert_eq!(steps[1]["after"], r["start"], "the reversal restores every accumulator and balance");
    assert_eq!(steps[2]["outcome"]["act_pay_dedc"], steps[0]["outcome"]["act_pay_dedc"], "admission #2 again");
    assert!(!s.path("unused.db").exists(), "calc needs no store");
    let single = examples.join("beijing-inpatient.json").display().to_string();
    let r: serde_json::Value =
        serde_json::from_str(&s.run("unused.db", None, &["calc", &single]).ok().stdout()).unwrap();
    assert!(r["outcome"]["hifp_pay"].as_f64().unwrap() > 0.0);
}

/// A server on its own port, started by this test and killed when dropped.
struct Server(std::process::Child, u16);

impl Server {
    fn start(s: &Scratch, args: &[&str]) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["serve", "--listen", &listen];
        all.extend_from_slice(args);
        let log = std::fs::File::create(s.path("server.log")).unwrap();
        let child = s.cmd(&s.db(), None, &all).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
        let mut server = Server(child, port);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(server.0.try_wait().unwrap().is_none(), "the server exited: {}", s.log());
            assert!(started.elapsed() < Duration::from_secs(60), "the server did not start: {}", s.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Scratch {
    fn log(&self) -> String {
        std::fs::read_to_string(self.path("server.log")).unwrap_or_default()
    }
}

/// `bench --url` against a server that requires x-tif signatures (the default): it signs with
/// the demo credentials beside the store (or `--credentials FILE`); without credentials it stops
/// at the first refusal and says what to do, instead of firing refused requests for the whole run.
#[test]
fn bench_signs_or_stops_at_the_first_refusal() {
    let s = Scratch::new("bench");
    let server = Server::start(&s, &["--demo", "--persons", "30"]);
    let creds = s.path("yibao.db.demo-credentials.json");
    assert!(creds.exists(), "serve --demo wrote the credentials: {}", s.log());
    let bench = |extra: &[&str]| {
        let url = server.url();
        let mut args = vec!["bench", "--url", &url, "--duration", "1", "--warmup", "0", "--concurrency", "2"];
        args.extend_from_slice(extra);
        let started = Instant::now();
        (s.run(&s.db(), None, &args), started.elapsed())
    };
    let (r, _) = bench(&["--mix", "outpatient"]);
    assert!(r.ok().stderr().contains("signing requests with the"), "{}", r.stderr());
    assert!(r.stdout().contains("money check: passed"), "{}", r.stdout());

    let moved = s.path("elsewhere.json");
    std::fs::rename(&creds, &moved).unwrap();
    let (r, took) = bench(&["--mix", "outpatient"]);
    r.fails_with("stopped at the first refusal (HTTP 401: ").fails_with("pass --credentials FILE");
    assert!(!r.stderr().contains("flow failed"), "no flow ran: {}", r.stderr());
    assert!(took < Duration::from_secs(30), "it stopped at once ({took:?})");

    let moved = moved.display().to_string();
    bench(&["--mix", "outpatient", "--credentials", &moved]).0.ok();
    std::fs::write(
        s.path("wrong.json"),
        r#"{"credentials":[{"fixmedins_code":"H11010000001","paasid":"x","secret":"y"}]}"#,
    )
    .unwrap();
    let wrong = s.path("wrong.json").display().to_string();
    bench(&["--credentials", &wrong])
        .0
        .fails_with("stopped at the first refusal")
        .fails_with("are not accepted by this server");
}

/// A reader that goes away (`yibao policy list | head -1`) ends a printing command quietly with
/// success: no panic, no "Broken pipe" error.
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let s = Scratch::seeded("pipe");
    s.run(&s.db(), None, &["credential", "issue", "H11010000001"]).ok();
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/beijing-reversal.json").display().to_string();
    let commands: [&[&str]; 7] = [
        &["policy", "list"],
        &["policy", "show", "110100", "310"],
        &["credential", "list", "H11010000001"],
        &["audit", "verify"],
        &["calc", &case],
        &["keygen"],
        &["credential", "issue", "H11010000001"],
    ];
    for args in commands {
        let mut child = s.cmd(&s.db(), None, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        // Close the read end before the command prints anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked:\n{stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
        assert!(out.status.success(), "{args:?} exits quietly with success, got {}:\n{stderr}", out.status);
        assert!(!stderr.contains("Broken pipe"), "{args:?}:\n{stderr}");
    }
}

/// A PostgreSQL URL's password is never printed: not when the key is missing, not when the
/// database cannot be opened.
#[test]
fn errors_do_not_print_the_urls_password() {
    let s = Scratch::new("redact");
    let url = "postgres://postgres:hunter2@127.0.0.1:5432/yibao_no_such_database_for_redaction";
    let key = s.run(&s.db(), None, &["keygen"]).ok().stdout().trim().to_owned();
    for key in [None, Some(key.as_str())] {
        let r = s.run(url, key, &["policy", "list"]);
        r.fails_with("postgres://postgres:***@127.0.0.1:5432/");
        assert!(!r.stderr().contains("hunter2"), "{}", r.stderr());
    }
}
