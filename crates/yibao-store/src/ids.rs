//! Application-generated ids, so rows can later be spread over shards without a shared sequence:
//! milliseconds since 2020-01-01 (41 bits) | node (6 bits) | counter (16 bits). Strictly
//! increasing per generator, and no field ever carries into another: when a millisecond's
//! 65,536 counters are used up the generator waits for the next millisecond, and when the
//! clock steps back it goes on from the last millisecond it used (taking the next one, without
//! waiting, whenever that one's counters run out) until the clock catches up.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

const EPOCH_MS: u64 = 1_577_836_800_000;
const NODE_BITS: u32 = 6;
const COUNTER_BITS: u32 = 16;
const COUNTER_MAX: u64 = (1 << COUNTER_BITS) - 1;
const MS_MAX: u64 = (1 << 41) - 1;

/// Milliseconds since [`EPOCH_MS`].
type Clock = Box<dyn Fn() -> u64 + Send + Sync>;

fn system_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(EPOCH_MS)
        .saturating_sub(EPOCH_MS)
}

pub struct IdGen {
    node: u64,
    clock: Clock,
    /// (millisecond, counter) of the last id given out.
    last: Mutex<(u64, u64)>,
}

impl std::fmt::Debug for IdGen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdGen").field("node", &self.node).finish_non_exhaustive()
    }
}

impl IdGen {
    pub fn new() -> IdGen {
        IdGen::with_node(std::env::var("YIBAO_NODE").ok().and_then(|v| v.parse().ok()).unwrap_or(0))
    }
    pub fn with_node(node: u64) -> IdGen {
        IdGen::with_clock(node, Box::new(system_ms))
    }
    fn with_clock(node: u64, clock: Clock) -> IdGen {
        IdGen { node: node & ((1 << NODE_BITS) - 1), clock, last: Mutex::new((0, 0)) }
    }

    pub fn next(&self) -> i64 {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let (mut ms, mut counter) = *last;
        let now = (self.clock)().min(MS_MAX);
        if now > ms {
            (ms, counter) = (now, 0);
        } else if counter < COUNTER_MAX {
            counter += 1;
        } else {
            // This millisecond is used up. The clock being on it: wait for the next one (under
            // the lock: every other caller would have to wait anyway). The clock behind it (a
            // step back): take the next one now rather than wait for the clock to catch up.
            let mut next = ms + 1;
            if now == ms {
                loop {
                    let t = (self.clock)().min(MS_MAX);
                    if t > ms {
                        next = t;
                        break;
                    }
                    // The clock stepped back while waiting: go on from the next millisecond
                    // now, as for a step back before the wait, instead of spinning (holding
                    // the lock) until the clock catches up.
                    if t < ms {
                        break;
                    }
                    std::thread::yield_now();
                }
            }
            (ms, counter) = (next.min(MS_MAX), 0);
        }
        *last = (ms, counter);
        ((ms << (NODE_BITS + COUNTER_BITS)) | (self.node << COUNTER_BITS) | counter) as i64
    }
}

impl Default for IdGen {
    fn default() -> Self {
        IdGen::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn fields(id: i64) -> (u64, u64, u64) {
        let id = id as u64;
        (id >> 22, (id >> 16) & 0x3f, id & 0xffff)
    }

    /// A clock that reads `f(n)` at its n-th reading.
    fn scripted(f: impl Fn(u64) -> u64 + Send + Sync + 'static) -> (Clock, Arc<AtomicU64>) {
        let reads = Arc::new(AtomicU64::new(0));
        let r = reads.clone();
        (Box::new(move || f(r.fetch_add(1, Ordering::SeqCst))), reads)
    }

    #[test]
    fn ids_increase() {
        let g = IdGen::with_node(3);
        let mut prev = 0;
        for _ in 0..100_000 {
            let id = g.next();
            assert!(id > prev);
            assert_eq!(fields(id).1, 3);
            prev = id;
        }
    }

    /// More than 65,536 ids in one millisecond: the generator waits for the next millisecond
    /// instead of carrying the counter into the node bits.
    #[test]
    fn a_full_millisecond_waits_for_the_next() {
        const T: u64 = 1_000_000;
        // The clock stays at T for 70,000 readings, then moves on to T + 1.
        let (clock, reads) = scripted(|n| if n < 70_000 { T } else { T + 1 });
        let g = IdGen::with_clock(5, clock);
        let mut prev = 0;
        for i in 0..=65_536u64 {
            let id = g.next();
            assert!(id > prev, "id {i} did not increase");
            prev = id;
            let (ms, node, counter) = fields(id);
            assert_eq!(node, 5, "id {i}: the counter carried into the node bits");
            if i < 65_536 {
                assert_eq!((ms, counter), (T, i));
            } else {
                assert_eq!((ms, counter), (T + 1, 0), "the 65,537th id is of the next millisecond");
                assert!(reads.load(Ordering::SeqCst) > 70_000, "it waited for the clock to get there");
            }
        }
    }

    /// The clock steps back an hour while the generator waits for the next millisecond: it
    /// takes the next millisecond at once instead of spinning, under its lock, until the clock
    /// catches up.
    #[test]
    fn a_step_back_during_the_wait_does_not_stall() {
        const T: u64 = 7_000_000;
        // T for the 65,536 ids of a millisecond and the first reading of the wait; then an hour
        // back for as long as anyone reads (a spinning generator would never return).
        let (clock, reads) = scripted(|n| if n <= 65_536 { T } else { T - 3_600_000 });
        let g = IdGen::with_clock(1, clock);
        for _ in 0..65_536 {
            g.next();
        }
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || tx.send(g.next()).unwrap());
        let id = rx.recv_timeout(std::time::Duration::from_secs(20)).expect("the generator stalled");
        assert_eq!(fields(id), (T + 1, 1, 0));
        assert!(
            reads.load(Ordering::SeqCst) < 65_536 + 10,
            "no spinning: {} clock readings",
            reads.load(Ordering::SeqCst)
        );
    }

    /// The clock steps back an hour: ids keep increasing from the last millisecond used, never
    /// touching the node bits, and the generator does not stall until the clock catches up;
    /// once the clock is past the milliseconds it went on to, ids follow the clock again.
    #[test]
    fn a_clock_step_back_stays_monotonic() {
        const T: u64 = 5_000_000;
        let (clock, _) = scripted(|n| match n {
            0..10 => T,
            10..200_000 => T - 3_600_000,
            _ => T + 10,
        });
        let g = IdGen::with_clock(63, clock);
        let mut prev = 0;
        for i in 0..200_010u64 {
            let id = g.next();
            assert!(id > prev, "id {i} did not increase");
            prev = id;
            let (ms, node, _) = fields(id);
            assert_eq!(node, 63, "id {i}: the counter carried into the node bits");
            if i < 200_000 {
                assert!((T..=T + 3).contains(&ms), "id {i}: millisecond {ms}");
            } else {
                assert_eq!(ms, T + 10, "id {i} follows the clock again");
            }
        }
    }
}
