//! `YIBAO_SKIP_PG=1` (without `CI=true` or `YIBAO_REQUIRE_PG=1`) at build time sets the cfg
//! `yibao_skip_pg`, which marks every PostgreSQL half `#[ignore]`, so `cargo test` lists them as
//! ignored rather than ok (see the crate documentation).

fn main() {
    for var in ["YIBAO_SKIP_PG", "YIBAO_REQUIRE_PG", "CI"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rustc-check-cfg=cfg(yibao_skip_pg)");
    let is = |var: &str, v: &str| std::env::var(var).is_ok_and(|x| x.eq_ignore_ascii_case(v));
    if is("YIBAO_SKIP_PG", "1") && !is("YIBAO_REQUIRE_PG", "1") && !is("CI", "true") {
        println!("cargo:rustc-cfg=yibao_skip_pg");
    }
}
