//! Differential tests against the OpenSSL command line on this machine (OpenSSL 3 has SM2, SM3
//! and SM4; it has no SM4-GCM, which is covered by the RFC 8998 vector in the unit tests).
//! Without an `openssl` that knows SM3, each test prints a notice and passes; with
//! `YIBAO_REQUIRE_OPENSSL=1` that is a failure instead.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use yibao_crypto::{hex, sm2, sm3, sm4, unhex};

fn openssl(args: &[&str], stdin: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(stdin).ok()?;
    let out = child.wait_with_output().ok()?;
    if !out.status.success() {
        eprintln!("openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(out.stdout)
}

/// True when the local openssl computes SM3; otherwise prints why the test is skipped.
fn have_sm() -> bool {
    let ok = openssl(&["dgst", "-sm3"], b"abc").is_some_and(|o| String::from_utf8_lossy(&o).contains("66c7f0f4"));
    if !ok {
        if std::env::var("YIBAO_REQUIRE_OPENSSL").is_ok_and(|v| v == "1") {
            panic!("openssl with SM2/SM3/SM4 is required (YIBAO_REQUIRE_OPENSSL=1) but not available");
        }
        eprintln!("NOTICE: skipping OpenSSL differential test: no `openssl` with SM3 support on PATH");
    }
    ok
}

/// Deterministic test data without a random crate.
fn bytes(seed: u64, n: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("yibao-crypto-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn last_word(out: &[u8]) -> String {
    String::from_utf8_lossy(out).split_whitespace().last().unwrap_or_default().to_lowercase()
}

#[test]
fn sm3_matches_openssl() {
    if !have_sm() {
        return;
    }
    for (i, n) in [0usize, 1, 3, 55, 56, 63, 64, 65, 1000, 4097].into_iter().enumerate() {
        let m = bytes(i as u64, n);
        assert_eq!(sm3::hash_hex(&m), last_word(&openssl(&["dgst", "-sm3"], &m).unwrap()), "length {n}");
    }
}

#[test]
fn hmac_sm3_matches_openssl() {
    if !have_sm() {
        return;
    }
    for (i, (kn, n)) in [(3usize, 5usize), (16, 0), (32, 100), (64, 64), (100, 1000)].into_iter().enumerate() {
        let k = bytes(100 + i as u64, kn);
        let m = bytes(200 + i as u64, n);
        let macopt = format!("hexkey:{}", hex(&k));
        let theirs = last_word(&openssl(&["mac", "-digest", "sm3", "-macopt", &macopt, "HMAC"], &m).unwrap());
        assert_eq!(hex(&sm3::hmac(&k, &m)), theirs, "key {kn} bytes, message {n} bytes");
    }
}

#[test]
fn sm4_ecb_and_cbc_match_openssl_both_ways() {
    if !have_sm() {
        return;
    }
    for (i, n) in [0usize, 1, 15, 16, 17, 31, 32, 500].into_iter().enumerate() {
        let key: [u8; 16] = bytes(300 + i as u64, 16).try_into().unwrap();
        let iv: [u8; 16] = bytes(400 + i as u64, 16).try_into().unwrap();
        let m = bytes(500 + i as u64, n);
        let (k, v) = (hex(&key), hex(&iv));
        let ecb = openssl(&["enc", "-sm4-ecb", "-K", &k], &m).unwrap();
        assert_eq!(sm4::ecb_encrypt(&key, &m), ecb, "ECB, {n} bytes");
        assert_eq!(sm4::ecb_decrypt(&key, &ecb).unwrap(), m);
        let cbc = openssl(&["enc", "-sm4-cbc", "-K", &k, "-iv", &v], &m).unwrap();
        assert_eq!(sm4::cbc_encrypt(&key, &iv, &m), cbc, "CBC, {n} bytes");
        let back = openssl(&["enc", "-d", "-sm4-cbc", "-K", &k, "-iv", &v], &sm4::cbc_encrypt(&key, &iv, &m)).unwrap();
        assert_eq!(back, m, "openssl decrypts our CBC");
    }
    // The GB/T 32907 block through OpenSSL (one block, no padding).
    let k = "0123456789abcdeffedcba9876543210";
    let c = openssl(&["enc", "-sm4-ecb", "-nopad", "-K", k], &unhex(k).unwrap()).unwrap();
    assert_eq!(hex(&c), "681edf34d206965e86b3e94f536e4246");
}

/// OpenSSL 3.0 signs with an empty user id unless told; GB/T 35276 and yibao use this one.
const DISTID: &str = "distid:1234567812345678";

#[test]
fn sm2_signatures_verify_across_openssl_both_ways() {
    if !have_sm() {
        return;
    }
    let dir = tmpdir("sm2");
    let msg = "yibao-sign-v1\n1700000000\nnonce\n示例".as_bytes();
    std::fs::write(dir.join("msg"), msg).unwrap();

    // Ours → OpenSSL.
    let ours = sm2::KeyPair::generate();
    std::fs::write(dir.join("pub.pem"), ours.public().to_pem()).unwrap();
    std::fs::write(dir.join("sig.der"), sm2::sig_to_der(&ours.sign(msg))).unwrap();
    let p = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let verified = openssl(
        &[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            &p("pub.pem"),
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            DISTID,
            "-in",
            &p("msg"),
            "-sigfile",
            &p("sig.der"),
        ],
        b"",
    )
    .unwrap();
    assert!(String::from_utf8_lossy(&verified).contains("Signature Verified Successfully"));
    let mut forged = ours.sign(msg);
    forged[5] ^= 1;
    std::fs::write(dir.join("bad.der"), sm2::sig_to_der(&forged)).unwrap();
    assert!(
        openssl(
            &[
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                &p("pub.pem"),
                "-rawin",
                "-digest",
                "sm3",
                "-pkeyopt",
                DISTID,
                "-in",
                &p("msg"),
                "-sigfile",
                &p("bad.der")
            ],
            b""
        )
        .is_none(),
        "OpenSSL refuses a changed signature"
    );

    // OpenSSL → ours.
    openssl(&["genpkey", "-algorithm", "SM2", "-out", &p("key.pem")], b"").unwrap();
    let spki = openssl(&["pkey", "-in", &p("key.pem"), "-pubout", "-outform", "DER"], b"").unwrap();
    let theirs = sm2::PublicKey::from_spki_der(&spki).unwrap();
    openssl(
        &[
            "pkeyutl",
            "-sign",
            "-inkey",
            &p("key.pem"),
            "-rawin",
            "-digest",
            "sm3",
            "-pkeyopt",
            DISTID,
            "-in",
            &p("msg"),
            "-out",
            &p("theirs.der"),
        ],
        b"",
    )
    .unwrap();
    let sig = sm2::sig_from_der(&std::fs::read(dir.join("theirs.der")).unwrap()).unwrap();
    assert!(theirs.verify(msg, &sig), "we verify OpenSSL's SM2 signature");
    assert!(!theirs.verify(b"another message", &sig));

    // OpenSSL's private key gives the same public key here.
    let text = String::from_utf8(openssl(&["pkey", "-in", &p("key.pem"), "-text", "-noout"], b"").unwrap()).unwrap();
    let priv_hex: String = text
        .split("priv:")
        .nth(1)
        .and_then(|s| s.split("pub:").next())
        .unwrap()
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    let raw = unhex(&priv_hex).unwrap();
    let raw: Vec<u8> = raw.iter().copied().skip_while(|b| *b == 0).collect();
    let mut secret = [0u8; 32];
    secret[32 - raw.len()..].copy_from_slice(&raw);
    assert_eq!(sm2::KeyPair::from_bytes(&secret).unwrap().public(), theirs);
    let _ = std::fs::remove_dir_all(&dir);
}
