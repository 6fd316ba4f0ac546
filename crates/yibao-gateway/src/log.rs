//! What the interface logs about a request: every refusal with its reason (an operator must see
//! why an institution is refused without asking it), and a line per request at debug level only.
//! Never personal data: reasons are the err_msg the institution gets, with any long run of
//! digits (a certificate, phone or birth date echoed back) masked.

use crate::error::GatewayError;
use std::time::Instant;

/// Logs the outcome of one request. `label` is `infno msgid fixmedins_code` (or the paasid).
pub(crate) fn outcome<T>(label: &str, status: u16, result: &Result<T, GatewayError>, started: Instant) {
    let micros = started.elapsed().as_micros() as u64;
    match result {
        Ok(_) => {}
        Err(GatewayError::Refused { code, msg, .. }) => {
            tracing::warn!(target: "yibao::auth", request = %label, status, refused = code, reason = %masked(msg), "refused");
        }
        Err(GatewayError::System(msg)) => {
            tracing::warn!(target: "yibao::call", request = %label, infcode = -1, reason = %masked(msg), "system error");
        }
        Err(GatewayError::Business(msg)) => {
            tracing::info!(target: "yibao::call", request = %label, infcode = -2, reason = %masked(msg), "refused");
        }
    }
    let infcode = result.as_ref().map_or_else(|e| e.infcode(), |_| 0);
    tracing::debug!(target: "yibao::call", request = %label, infcode, micros, "handled");
}

/// Masks every run of 8 or more digits (an ID number's check letter counts as one) but its
/// first and last two: `19491331` → `19****31`. Already-masked numbers (`110101********1234`),
/// codes that start with a letter (`H11010000001`, msgids) and amounts pass unchanged.
pub(crate) fn masked(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let digit = |c: char| c.is_ascii_digit() || c == 'X' || c == 'x';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && digit(chars[i]) {
            i += 1;
        }
        // A run must hold a digit (not only X's) to be a number; one right after a letter is a
        // code (an institution code, a msgid), not a person's number.
        let run = &chars[start..i];
        let after_letter = start > 0 && chars[start - 1].is_ascii_alphabetic();
        if run.len() >= 8 && run.iter().any(char::is_ascii_digit) && !after_letter {
            out.extend(&run[..2]);
            out.extend(std::iter::repeat_n('*', run.len() - 4));
            out.extend(&run[run.len() - 2..]);
        } else {
            out.extend(run);
        }
        if i < chars.len() {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{App, AuthMode};
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Runs requests through the real request path with a subscriber at `level` on this
    /// thread, and returns what was logged.
    fn logged(level: tracing::Level, mode: AuthMode, bodies: &[&str]) -> String {
        let logs = Captured::default();
        let sink = logs.clone();
        let subscriber =
            tracing_subscriber::fmt().with_max_level(level).with_writer(move || sink.clone()).with_ansi(false).finish();
        let store = yibao_store_tests::sqlite_store();
        let app = App::with_auth((*store).clone(), mode, Default::default());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        tracing::subscriber::with_default(subscriber, || {
            for body in bodies {
                let req = axum::http::Request::post("/").body(axum::body::Body::from(body.to_string())).unwrap();
                rt.block_on(crate::interface(app.clone(), req, None));
            }
        });
        let text = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
        text
    }

    /// A request the platform refuses (-2), one it cannot parse, and one refused by
    /// authentication are logged at info/warn with their reason; no per-request line at info.
    #[test]
    fn refusals_are_logged_with_their_reason_and_requests_at_debug() {
        let envelope = serde_json::json!({
            "infno": "1101", "msgid": "H11010000001202401011200000001", "mdtrtarea_admvs": "110100",
            "insuplc_admdvs": "110100", "recer_sys_code": "YBXT", "infver": "V1.0", "opter_type": "1",
            "opter": "B001", "opter_name": "t", "inf_time": "2024-01-01 12:00:00",
            "fixmedins_code": "H11010000001", "fixmedins_name": "t", "sign_no": "",
            "input": { "data": { "mdtrt_cert_type": "02", "mdtrt_cert_no": "110101194913310012" } },
        })
        .to_string();
        let text = logged(tracing::Level::INFO, AuthMode::Off, &[&envelope, "{\"infno\":"]);
        assert!(text.contains("refused") && text.contains("infcode=-2"), "{text}");
        assert!(text.contains("is not a designated institution"), "the reason is logged: {text}");
        assert!(text.contains("not valid JSON"), "the parse error's reason is logged: {text}");
        assert!(!text.contains("19491331") && !text.contains("110101194913310012"), "a number was logged: {text}");
        assert!(!text.contains("handled"), "per-request lines are debug: {text}");
        let text = logged(tracing::Level::INFO, AuthMode::Required, &[&envelope]);
        assert!(text.contains("WARN") && text.contains("AUTH_MISSING") && text.contains("reason="), "{text}");
        let text = logged(tracing::Level::DEBUG, AuthMode::Off, &[&envelope]);
        assert!(text.contains("handled"), "{text}");
    }

    #[test]
    fn long_numbers_are_masked() {
        assert_eq!(masked("birth date 19491331 is not real"), "birth date 19****31 is not real");
        assert_eq!(masked("110101194912310012 and 11010519491231002X"), "11**************12 and 11**************2X");
        assert_eq!(masked("110101********1234 H11010000001 20000.00"), "110101********1234 H11010000001 20000.00");
        assert_eq!(masked("XXXXXXXXXX 1234567 中文"), "XXXXXXXXXX 1234567 中文");
    }
}
