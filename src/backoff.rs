//! Capped exponential backoff with jitter, for reconnects and retries.

use std::time::Duration;

use rand::Rng;

/// Backoff state for one kind of retry.
#[derive(Debug, Clone)]
pub struct Backoff {
    /// First delay.
    base: Duration,
    /// Never wait longer than this.
    cap: Duration,
    /// Failures in a row so far.
    failures: u32,
}

impl Backoff {
    /// A backoff starting at `base`, doubling up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The next delay: `min(cap, base * 2^failures)`, with "full jitter" in the
    /// upper half so that many clients do not retry in lockstep.
    pub fn next_delay(&mut self) -> Duration {
        let exp = self.base.saturating_mul(1u32 << self.failures.min(20));
        let d = exp.min(self.cap);
        self.failures = self.failures.saturating_add(1);
        let half = d / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }

    /// Forget past failures after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// Delay before retry number `attempts` of a queued mail: 30 s doubling to 1 h.
pub fn mail_retry_delay(attempts: i64) -> chrono::Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(0, 7));
    chrono::Duration::seconds(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_capped() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let d: Vec<Duration> = (0..8).map(|_| b.next_delay()).collect();
        assert!(d[0] >= Duration::from_millis(50) && d[0] <= Duration::from_millis(100));
        assert!(d[3] >= Duration::from_millis(400) && d[3] <= Duration::from_millis(800));
        assert!(d.iter().all(|x| *x <= Duration::from_secs(2)));
        assert!(d[7] >= Duration::from_secs(1));
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
        assert_eq!(mail_retry_delay(0).num_seconds(), 30);
        assert_eq!(mail_retry_delay(20).num_seconds(), 3600);
    }
}
