//! Exponential backoff, the one rule for waiting longer after each failure in a row: the roam
//! limiter's wait after failed roams, the agent's wait before looking again for somewhere to go.

/// Waits `initial` after the first failure in a row, twice that after the second, and so on
/// up to `max` (nanoseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    initial_ns: u64,
    max_ns: u64,
    failures: u32,
}

impl Backoff {
    pub const fn new(initial_ns: u64, max_ns: u64) -> Self {
        Backoff { initial_ns, max_ns, failures: 0 }
    }

    /// Counts a failure; returns how long to wait before the next try.
    pub fn failed(&mut self) -> u64 {
        self.failures = self.failures.saturating_add(1);
        let doublings = (self.failures - 1).min(63);
        self.initial_ns.saturating_mul(1u64 << doublings).min(self.max_ns)
    }

    /// A success: the next failure waits `initial` again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    #[test]
    fn doubles_up_to_the_maximum_and_starts_over_after_a_success() {
        let mut backoff = Backoff::new(500, 3_000);
        let waits: Vec<u64> = (0..5).map(|_| backoff.failed()).collect();
        assert_eq!(waits, [500, 1_000, 2_000, 3_000, 3_000]);
        assert_eq!(backoff.failures(), 5);
        backoff.reset();
        assert_eq!(backoff.failed(), 500);
    }

    #[test]
    fn many_failures_do_not_overflow() {
        let mut backoff = Backoff::new(u64::MAX / 2, u64::MAX);
        for _ in 0..100 {
            assert!(backoff.failed() >= u64::MAX / 2);
        }
    }
}
