//! The envelope parser and what reads an envelope before any business logic: whatever the
//! bytes, an error or an envelope, never a panic.
//!
//! One target, two drivers: libFuzzer (`cargo fuzz`, nightly, the default feature) and AFL++
//! (`cargo afl`, stable, `--no-default-features --features afl`); see Cargo.toml.
#![cfg_attr(feature = "libfuzzer", no_main)]

fn check(data: &[u8]) {
    if let Ok(env) = yibao_gateway::Envelope::parse(data) {
        let form = yibao_gateway::auth::canonical_json(&env.input);
        // The canonical form is JSON that reads back as the same value.
        let back: serde_json::Value = serde_json::from_str(&form).expect("canonical JSON parses");
        assert_eq!(yibao_gateway::auth::canonical_json(&back), form);
    }
}

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| check(data));

#[cfg(all(feature = "afl", not(feature = "libfuzzer")))]
fn main() {
    afl::fuzz!(|data: &[u8]| check(data));
}
