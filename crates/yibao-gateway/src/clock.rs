//! Local time. The interface carries times without a zone; China is UTC+8 all year.

use std::time::{SystemTime, UNIX_EPOCH};
use yibao_domain::DateTime;

const OFFSET_SECS: i64 = 8 * 3600;

/// Now as local DateTime and the millisecond part.
pub fn now() -> (DateTime, u32) {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    (DateTime(d.as_secs() as i64 + OFFSET_SECS), d.subsec_millis())
}

/// Unix seconds of a local DateTime.
pub fn unix_of(local: DateTime) -> i64 {
    local.0 - OFFSET_SECS
}
