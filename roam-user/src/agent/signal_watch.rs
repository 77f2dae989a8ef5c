//! Watching the serving AP's signal while it is weak: the kernel says when its smoothed level
//! falls below the watch level (a few dB above the threshold, so the trend has samples by the
//! time the threshold is reached); from then the agent samples it twice a second into the
//! trend that `policy::signal` judges, until it is well above again. A strong link costs no
//! wake-up at all.

use roam_common::{
    bss::WEAK_REARM_X16,
    maps::{BssRecord, BSS_FLAG_HAS_SIGNAL},
    policy::{signal, Candidate, SignalConfig, SignalTrend, SignalVerdict},
    MacAddr,
};

/// The kernel reports the signal this far above the threshold.
const WATCH_ABOVE_DB: i32 = 6;
/// How often a weak signal is sampled.
const SAMPLE_EVERY_NS: u64 = 500_000_000;
/// At most one refresh scan of the candidates this often while the signal falls.
const LOOK_EVERY_NS: u64 = 2_000_000_000;

pub struct SignalWatch {
    config: SignalConfig,
    trend: SignalTrend,
    /// The next sample; none while the signal is strong.
    next_sample_ns: Option<u64>,
    last_look_ns: Option<u64>,
}

impl SignalWatch {
    pub fn new(config: SignalConfig) -> Self {
        SignalWatch {
            config,
            trend: SignalTrend::default(),
            next_sample_ns: None,
            last_look_ns: None,
        }
    }

    /// The level below which the kernel wakes the agent (dBm x 16), for the frame filter.
    pub fn watch_level_x16(&self) -> i32 {
        (self.config.threshold_dbm + WATCH_ABOVE_DB) * 16
    }

    /// A new association: its trend starts afresh; watched at once if its row is weak already
    /// (the kernel reports a fall only once per weak spell of a row).
    pub fn associated(&mut self, row: Option<&BssRecord>, now_ns: u64) {
        self.trend.clear();
        self.next_sample_ns = None;
        self.last_look_ns = None;
        if average_x16(row).is_some_and(|avg| avg < self.watch_level_x16()) {
            self.next_sample_ns = Some(now_ns);
        }
    }

    /// The kernel reported the signal weak: sample from now.
    pub fn weak(&mut self, now_ns: u64) {
        self.next_sample_ns.get_or_insert(now_ns);
    }

    pub fn next_wakeup_ns(&self) -> Option<u64> {
        self.next_sample_ns
    }

    /// Takes a sample of the serving AP's row; samples on while it stays below the watch
    /// level (and a little above, as the kernel's spell does), stops once it is well above.
    pub fn sample(&mut self, row: Option<&BssRecord>, now_ns: u64) {
        let Some(avg) = average_x16(row) else {
            self.next_sample_ns = None;
            return;
        };
        self.trend.add(now_ns, avg);
        self.next_sample_ns =
            (avg < self.watch_level_x16() + WEAK_REARM_X16).then_some(now_ns + SAMPLE_EVERY_NS);
    }

    /// What the trend says, given the candidates of the network.
    pub fn judge(&self, serving: MacAddr, candidates: &[Candidate], now_ns: u64) -> SignalVerdict {
        signal::judge(&self.config, &self.trend, serving, candidates, now_ns)
    }

    /// Whether a refresh scan of the candidates may go out now (at most one per
    /// [`LOOK_EVERY_NS`]); counts it if so.
    pub fn may_look(&mut self, now_ns: u64) -> bool {
        if self.last_look_ns.is_some_and(|at| now_ns.saturating_sub(at) < LOOK_EVERY_NS) {
            return false;
        }
        self.last_look_ns = Some(now_ns);
        true
    }
}

fn average_x16(row: Option<&BssRecord>) -> Option<i32> {
    row.filter(|r| r.flags & BSS_FLAG_HAS_SIGNAL != 0).map(|r| r.signal_avg_x16)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const CONFIG: SignalConfig = SignalConfig { threshold_dbm: -70, hysteresis_db: 8 };

    fn row(dbm: i32) -> BssRecord {
        BssRecord { signal_avg_x16: dbm * 16, flags: BSS_FLAG_HAS_SIGNAL, ..BssRecord::default() }
    }

    #[test]
    fn a_strong_link_is_not_sampled_and_a_weak_one_until_it_recovers() {
        let mut watch = SignalWatch::new(CONFIG);
        watch.associated(Some(&row(-50)), 0);
        assert_eq!(watch.next_wakeup_ns(), None, "strong: no wake-up");
        watch.weak(1_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(1_000 * MS));
        watch.sample(Some(&row(-66)), 1_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(1_500 * MS));
        watch.sample(Some(&row(-62)), 1_500 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(2_000 * MS), "not well above yet");
        watch.sample(Some(&row(-55)), 2_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), None, "recovered");
        watch.associated(Some(&row(-68)), 3_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(3_000 * MS), "weak on arrival");
        watch.sample(None, 3_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), None, "nothing to sample");
    }

    #[test]
    fn looks_are_spaced() {
        let mut watch = SignalWatch::new(CONFIG);
        assert!(watch.may_look(0));
        assert!(!watch.may_look(1_999 * MS));
        assert!(watch.may_look(2_000 * MS));
        assert_eq!(watch.watch_level_x16(), -64 * 16);
    }
}
