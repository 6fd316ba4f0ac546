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
