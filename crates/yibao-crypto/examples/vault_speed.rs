//! What sealing costs per person (4 sealed fields and a blind index) and per stored answer:
//! `cargo run --release -p yibao-crypto --example vault_speed`
use std::time::Instant;
use yibao_crypto::Vault;

fn main() {
    let v = Vault::from_hex_list(&Vault::generate_hex()).expect("key");
    let n = 100_000;
    let t = Instant::now();
    for i in 0..n {
        let psn = format!("110100{i:09}");
        for (col, text) in [
            ("certno", "11010519491231002X"),
            ("psn_name", "张伟"),
            ("tel", "13912345678"),
            ("addr", "北京市东城区某街1号"),
        ] {
            std::hint::black_box(v.seal(&format!("person.{col}|{psn}"), text));
        }
        std::hint::black_box(v.blind_index("person.certno", "11010519491231002X"));
    }
    println!("{n} persons sealed and indexed in {:.2?}", t.elapsed());
    let body = "x".repeat(6_000);
    let t = Instant::now();
    for i in 0..10_000 {
        let s = v.seal(&format!("settlement.body|{i}"), &body);
        std::hint::black_box(v.open(&format!("settlement.body|{i}"), &s).expect("opens"));
    }
    println!("10000 answers of 6 KB sealed and opened in {:.2?}", t.elapsed());
}
