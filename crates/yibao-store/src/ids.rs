//! Application-generated ids, so rows can later be spread over shards without a shared sequence:
//! milliseconds since 2020-01-01 (41 bits) | node (6 bits) | counter (16 bits). Monotonic per
//! process even if the clock steps back.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const EPOCH_MS: u64 = 1_577_836_800_000;

#[derive(Debug)]
pub struct IdGen {
    node: u64,
    last: Mutex<u64>,
}

impl IdGen {
    pub fn new() -> IdGen {
        IdGen::with_node(std::env::var("YIBAO_NODE").ok().and_then(|v| v.parse().ok()).unwrap_or(0))
    }
    pub fn with_node(node: u64) -> IdGen {
        IdGen { node: node & 0x3f, last: Mutex::new(0) }
    }
    pub fn next(&self) -> i64 {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(EPOCH_MS)
            .saturating_sub(EPOCH_MS);
        let candidate = (now << 22) | (self.node << 16);
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let id = if candidate > *last { candidate } else { *last + 1 };
        *last = id;
        id as i64
    }
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen::new()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_increase() {
        let g = super::IdGen::with_node(3);
        let mut prev = 0;
        for _ in 0..100_000 {
            let id = g.next();
            assert!(id > prev);
            prev = id;
        }
    }
}
