//! How often roam may act: exponential backoff after failures, and a cap on roams per minute so
//! a flapping AP cannot make the station ping-pong.

use super::Backoff;

/// Limits, in nanoseconds of CLOCK_MONOTONIC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimiterConfig {
    /// Wait after the first failure; doubles with each further failure.
    pub backoff_initial_ns: u64,
    pub backoff_max_ns: u64,
    /// Roams started in any sliding minute, at most (0: no cap).
    pub max_roams_per_minute: u32,
}

impl Default for LimiterConfig {
    fn default() -> Self {
        LimiterConfig {
            backoff_initial_ns: 500_000_000,
            backoff_max_ns: 30_000_000_000,
            max_roams_per_minute: 6,
        }
    }
}

const MINUTE_NS: u64 = 60_000_000_000;
/// Start times remembered for the cap (the cap is at most this).
pub const MAX_CAP: usize = 64;

/// Why an action may not start now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Backing off after failures until this time.
    BackingOff { until_ns: u64 },
    /// The per-minute cap is reached; the oldest roam leaves the window at this time.
    Capped { until_ns: u64 },
}

#[derive(Clone, Debug)]
pub struct Limiter {
    config: LimiterConfig,
    backoff: Backoff,
    not_before_ns: u64,
    /// Start times of recent roams (a ring; the cap bounds how many matter).
    starts: [u64; MAX_CAP],
    next: usize,
}

impl Limiter {
    pub fn new(mut config: LimiterConfig) -> Self {
        config.max_roams_per_minute = config.max_roams_per_minute.min(MAX_CAP as u32);
        Limiter {
            config,
            backoff: Backoff::new(config.backoff_initial_ns, config.backoff_max_ns),
            not_before_ns: 0,
            starts: [0; MAX_CAP],
            next: 0,
        }
    }

    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// Whether a roam may start at `now_ns`.
    pub fn check(&self, now_ns: u64) -> Result<(), Refusal> {
        if now_ns < self.not_before_ns {
            return Err(Refusal::BackingOff { until_ns: self.not_before_ns });
        }
        let cap = self.config.max_roams_per_minute as usize;
        if cap > 0 {
            // The roam `cap` starts ago must have left the sliding minute.
            let oldest = self.starts[(self.next + MAX_CAP - cap) % MAX_CAP];
            if oldest != 0 && now_ns < oldest + MINUTE_NS {
                return Err(Refusal::Capped { until_ns: oldest + MINUTE_NS });
            }
        }
        Ok(())
    }

    /// Records a roam starting at `now_ns` (call only after `check` passed).
    pub fn started(&mut self, now_ns: u64) {
        // 0 marks an unused slot; a start at exactly 0 ns of uptime does not happen.
        self.starts[self.next] = now_ns.max(1);
        self.next = (self.next + 1) % MAX_CAP;
    }

    pub fn succeeded(&mut self) {
        self.backoff.reset();
        self.not_before_ns = 0;
    }

    /// Records a failure at `now_ns`: the next roam waits initial x 2^(failures-1), capped.
    pub fn failed(&mut self, now_ns: u64) {
        self.not_before_ns = now_ns + self.backoff.failed();
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.backoff.failures()
    }
}
