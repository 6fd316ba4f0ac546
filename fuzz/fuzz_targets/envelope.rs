//! The envelope parser and what reads an envelope before any business logic: whatever the
//! bytes, an error or an envelope, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = yibao_gateway::Envelope::parse(data) {
        let form = yibao_gateway::auth::canonical_json(&env.input);
        // The canonical form is JSON that reads back as the same value.
        let back: serde_json::Value = serde_json::from_str(&form).expect("canonical JSON parses");
        assert_eq!(yibao_gateway::auth::canonical_json(&back), form);
    }
});
