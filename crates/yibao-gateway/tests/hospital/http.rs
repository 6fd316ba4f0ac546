//! The real HTTP endpoint, on a port of its own: the generic path and an older per-service path.

use crate::client::*;
use serde_json::{json, Value};
use std::io::{Read, Write};

fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> (String, Value) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let req = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn the_interface_answers_over_http() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let code = hospital(&store, "110100", "01");
    let h = Hospital::new(&store, &code);
    let psn = person(&store, "110100", "310", "11", 0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = yibao_gateway::App::with_auth((*store).clone(), yibao_gateway::AuthMode::Off, Default::default());
    rt.spawn(async move { axum::serve(listener, yibao_gateway::router(app)).await });

    let env = h.envelope("1101", &h.msgid(), by_id_card(&store, &psn));
    let (status, r) = post(addr, "/fsi/api/rsfComIfsService/callService", &env.to_string());
    assert!(status.contains("200"), "{status}");
    assert_eq!(r["infcode"], 0, "{r}");
    assert_eq!(r["output"]["baseinfo"]["psn_no"], psn.0.as_str());
    let refid = r["inf_refmsgid"].as_str().unwrap();
    assert_eq!(refid.len(), 30);
    assert!(refid.starts_with("110100"));
    assert_eq!(r["refmsg_time"].as_str().unwrap().len(), 17);

    let mut env = h.envelope("", &h.msgid(), by_id_card(&store, &psn));
    env.as_object_mut().unwrap().remove("infno");
    let (_, r) = post(addr, "/fsi/api/fsiPsnInfoService/queryPsnInfo", &env.to_string());
    assert_eq!(r["infcode"], 0, "the old path supplies infno 1101: {r}");
    let (_, r) = post(addr, "/fsi/api/rsfComIfsService/callService", "{\"infno\":");
    assert_eq!(r["infcode"], -2);
    assert!(r["err_msg"].as_str().unwrap().contains("not valid JSON"));
}

#[test]
fn the_calculator_answers_over_http() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let store = yibao_store_tests::sqlite_store();
    let app = yibao_gateway::App::with_auth((*store).clone(), yibao_gateway::AuthMode::Off, Default::default());
    std::thread::spawn(move || rt.block_on(async move { axum::serve(listener, yibao_gateway::router(app)).await }));
    let policy: Value = serde_json::from_str(include_str!("../../../../policies/shanghai-310.json")).unwrap();
    let case = json!({ "policy": policy, "person": { "psn_type": "1101" }, "visit": { "med_type": "21", "grade": 3 }, "lines": [ { "amount": "20000", "item": { "chrgitm_lv": "01" } } ] });
    let (status, r) = post(addr, "/api/calc", &case.to_string());
    assert!(status.contains("200"), "{status} {r}");
    assert_eq!(r["outcome"]["hifp_pay"].to_string(), "15725.00", "WE-25 through the endpoint");
    let (status, r) = post(
        addr,
        "/api/calc",
        r#"{"policy": {"admdvs": "x"}, "person": {"psn_type": "1101"}, "visit": {"med_type": "21", "grade": 3}, "lines": []}"#,
    );
    assert!(status.contains("400"), "{status}");
    assert_eq!(r["code"], "CALC_BAD_POLICY");
}

/// Sends the head of a request announcing `announced` body bytes, then only `sent` of them, and
/// reads the answer for at most 20 s. None when the server did not answer in that time (it is
/// waiting for the rest of the body).
fn announce(addr: std::net::SocketAddr, head: &str, announced: usize, sent: usize) -> Option<(String, Value)> {
    announce_to(addr, "/fsi/api/rsfComIfsService/callService", head, announced, sent)
}

fn announce_to(
    addr: std::net::SocketAddr,
    path: &str,
    head: &str,
    announced: usize,
    sent: usize,
) -> Option<(String, Value)> {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let req = format!("POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{head}Content-Length: {announced}\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(&vec![b' '; sent]);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => return None,
            Err(_) => break,
        }
        // One answer is enough: its body is as long as its Content-Length.
        let text = String::from_utf8_lossy(&out);
        if let Some((h, b)) = text.split_once("\r\n\r\n") {
            let len = h.lines().find_map(|l| {
                l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>().unwrap())
            });
            if len.is_some_and(|n| b.len() >= n) {
                break;
            }
        }
    }
    let out = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = out.split_once("\r\n\r\n")?;
    Some((head.lines().next().unwrap_or_default().to_owned(), serde_json::from_str(body).unwrap_or(Value::Null)))
}

fn x_tif(hd: &yibao_gateway::AuthHeaders) -> String {
    [
        ("x-tif-paasid", &hd.paasid),
        ("x-tif-timestamp", &hd.timestamp),
        ("x-tif-nonce", &hd.nonce),
        ("x-tif-signature", &hd.signature),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}: {v}\r\n")))
    .collect()
}

/// The x-tif headers are checked before the body is read: a sender without a valid credential
/// that announces a 100 MB body and sends a few KB is refused at once with its 401 (the
/// platform neither waits for nor buffers the rest); an authenticated sender's body is read and
/// held to the limit as before (413 `BODY_TOO_LARGE`, then a normal answer).
#[test]
fn an_unauthenticated_body_is_not_read() {
    let store = yibao_store_tests::sqlite_store();
    seed(&store);
    let h = Hospital::new(&store, &hospital(&store, "110100", "01"));
    let psn = person(&store, "110100", "310", "11", 0);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut app = h.app.clone();
    app.body_max = 64 * 1024;
    rt.spawn(async move { axum::serve(listener, yibao_gateway::router(app)).await });

    let huge = 100 * 1024 * 1024;
    let refusals = [
        (String::new(), "AUTH_MISSING"),
        (
            x_tif(&yibao_gateway::AuthHeaders::sign(&h.paasid, "not the secret", unix_now(), &nonce())),
            "AUTH_BAD_SIGNATURE",
        ),
        (
            x_tif(&yibao_gateway::AuthHeaders::sign("H11010000001-00000000", "x", unix_now(), &nonce())),
            "AUTH_UNKNOWN_PAASID",
        ),
        (x_tif(&yibao_gateway::AuthHeaders::sign(&h.paasid, &h.secret, unix_now() - 301, &nonce())), "AUTH_STALE"),
    ];
    for (head, code) in &refusals {
        let started = std::time::Instant::now();
        let (status, r) = announce(addr, head, huge, 8 * 1024)
            .unwrap_or_else(|| panic!("{code}: no answer within 20 s: the server is waiting for the body"));
        assert!(status.starts_with("HTTP/1.1 401"), "{code}: {status} {r}");
        assert_eq!(r["infcode"], -2, "{r}");
        assert!(r["err_msg"].as_str().unwrap_or_default().starts_with(&format!("{code}: ")), "{code}: {r}");
        assert_eq!(r["inf_refmsgid"].as_str().map(str::len), Some(30), "{r}");
        println!("{code} answered in {:?}", started.elapsed());
    }

    // An authenticated sender: a body over the limit is still refused with 413 BODY_TOO_LARGE
    // as soon as it passes the limit, without waiting for the rest.
    let (status, r) =
        announce(addr, &x_tif(&h.headers()), huge, 128 * 1024).expect("an answer to an authenticated request");
    assert!(status.contains("413"), "{status} {r}");
    assert!(r["err_msg"].as_str().unwrap_or_default().starts_with("BODY_TOO_LARGE: "), "{r}");
    // And a body within the limit is read and answered.
    let body = h.envelope("1101", &h.msgid(), by_id_card(&store, &psn)).to_string();
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let req = format!("POST /fsi/api/rsfComIfsService/callService HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", x_tif(&h.headers()), body.len());
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, answer) = out.split_once("\r\n\r\n").unwrap();
    let r: Value = serde_json::from_str(answer).unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head} {r}");
    assert_eq!(r["output"]["baseinfo"]["psn_no"], psn.0.as_str(), "{r}");
}

/// The admin API and the calculator take small bodies: they are not read past their own limits
/// (64 KiB, 8 MiB), whoever sends them, and the answers stay what they were (400 BAD_REQUEST for
/// the admin API, after the token; 413 BODY_TOO_LARGE for the calculator).
#[test]
fn admin_and_calculator_bodies_are_bounded() {
    let store = yibao_store_tests::sqlite_store();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let app = yibao_gateway::App::new((*store).clone());
    rt.spawn(async move { axum::serve(listener, yibao_gateway::router(app)).await });
    let huge = 100 * 1024 * 1024;

    let (status, r) =
        announce_to(addr, "/admin/login", "", huge, 100 * 1024).expect("no answer: /admin/login waits for the body");
    assert!(status.contains("400"), "{status} {r}");
    assert_eq!(r["code"], "BAD_REQUEST", "{r}");
    assert_eq!(r["message"], "body: at most 64 KiB", "{r}");
    // Without a token the token is what is refused, as before.
    let (status, r) = announce_to(addr, "/admin/operators", "", huge, 100 * 1024)
        .expect("no answer: /admin/operators waits for the body");
    assert!(status.contains("401"), "{status} {r}");
    assert_eq!(r["code"], "TOKEN_MISSING", "{r}");
    let (status, r) = announce_to(addr, "/api/calc", "", huge, 8 * 1024 * 1024 + 4096)
        .expect("no answer: /api/calc waits for the body");
    assert!(status.contains("413"), "{status} {r}");
    assert_eq!(r["code"], "BODY_TOO_LARGE", "{r}");
}
