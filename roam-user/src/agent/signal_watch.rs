//! Watching the serving AP's signal while it is weak, from one of two sources:
//! - the monitor's frames, where the monitor hears the AP: the kernel says when the smoothed
//!   level falls below the watch level (a few dB above the threshold, so the trend has samples
//!   by the time the threshold is reached), and the agent samples the kernel's row twice a
//!   second until it is well above again; a strong link costs no wake-up at all;
//! - the station's own measurement (nl80211 GET_STATION), where the monitor hears nothing of
//!   the AP (iwlwifi and mt7921 filter its beacons in firmware) or there is no monitor: polled,
//!   the less often the stronger the link.
//!
//! Either way the samples go into the trend that `policy::signal` judges.

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
/// How often the station's measurement is read while the link is above the watch level, and
/// while it is far above it.
const POLL_NEAR_NS: u64 = 2_000_000_000;
const POLL_FAR_NS: u64 = 5_000_000_000;
/// "Far above": this many dB over the watch level (-54 dBm at the default threshold, where a
/// walking station needs seconds to reach the watch level).
const FAR_ABOVE_X16: i32 = 10 * 16;
/// At most one refresh scan of the candidates this often while the signal falls.
const LOOK_EVERY_NS: u64 = 2_000_000_000;
/// At most one look this often at a candidate that would be worth a roam had it been measured
/// since the fall: the roam waits on it, yet one scan must end before the next is worth asking.
const RECHECK_EVERY_NS: u64 = 1_000_000_000;

/// Where the serving AP's signal comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalSource {
    /// The kernel table (frames the monitor hears); the kernel wakes the agent when weak.
    Monitor,
    /// The station's own measurement, polled.
    Station,
}

pub struct SignalWatch {
    config: SignalConfig,
    source: SignalSource,
    trend: SignalTrend,
    /// The next sample; none while the kernel watches for the agent.
    next_sample_ns: Option<u64>,
    last_look_ns: Option<u64>,
}

impl SignalWatch {
    pub fn new(config: SignalConfig, source: SignalSource) -> Self {
        SignalWatch {
            config,
            source,
            trend: SignalTrend::default(),
            next_sample_ns: None,
            last_look_ns: None,
        }
    }

    pub fn source(&self) -> SignalSource {
        self.source
    }

    /// The monitor turned out deaf to the AP, went away, or came back hearing it.
    pub fn use_source(&mut self, source: SignalSource, now_ns: u64) {
        if source == self.source {
            return;
        }
        self.source = source;
        self.trend.clear();
        self.next_sample_ns = match source {
            SignalSource::Station => Some(now_ns),
            SignalSource::Monitor => None,
        };
    }

    /// The level below which the kernel wakes the agent (dBm x 16), for the frame filter.
    pub fn watch_level_x16(&self) -> i32 {
        (self.config.threshold_dbm + WATCH_ABOVE_DB) * 16
    }

    /// A new association: its trend starts afresh. Sampled at once if its row is weak already
    /// (the kernel reports a fall only once per weak spell of a row), or if the station's
    /// measurement is the source.
    pub fn associated(&mut self, row: Option<&BssRecord>, now_ns: u64) {
        self.trend.clear();
        self.last_look_ns = None;
        let weak = average_x16(row).is_some_and(|avg| avg < self.watch_level_x16());
        self.next_sample_ns = (self.source == SignalSource::Station || weak).then_some(now_ns);
    }

    /// The kernel reported the signal weak: sample from now.
    pub fn weak(&mut self, now_ns: u64) {
        if self.source == SignalSource::Monitor {
            self.next_sample_ns.get_or_insert(now_ns);
        }
    }

    pub fn next_wakeup_ns(&self) -> Option<u64> {
        self.next_sample_ns
    }

    /// Takes a sample (dBm x 16; none: nothing to read) and says when the next is due:
    /// twice a second while weak (and a little above, as the kernel's spell does); otherwise
    /// never (the kernel watches) or after a poll interval that grows with the margin.
    pub fn sample(&mut self, avg_x16: Option<i32>, now_ns: u64) {
        let Some(avg) = avg_x16 else {
            self.next_sample_ns = match self.source {
                SignalSource::Monitor => None,
                SignalSource::Station => Some(now_ns + POLL_NEAR_NS),
            };
            return;
        };
        self.trend.add(now_ns, avg);
        let watch = self.watch_level_x16();
        let wait = if avg < watch + WEAK_REARM_X16 {
            Some(SAMPLE_EVERY_NS)
        } else {
            match self.source {
                SignalSource::Monitor => None,
                SignalSource::Station if avg >= watch + FAR_ABOVE_X16 => Some(POLL_FAR_NS),
                SignalSource::Station => Some(POLL_NEAR_NS),
            }
        };
        self.next_sample_ns = wait.map(|wait| now_ns + wait);
    }

    /// For `roam status`.
    pub fn status(&self, now_ns: u64) -> roam_proto::SignalStatus {
        roam_proto::SignalStatus {
            source: match self.source {
                SignalSource::Monitor => "monitor",
                SignalSource::Station => "station",
            }
            .to_owned(),
            threshold_dbm: self.config.threshold_dbm,
            hysteresis_db: self.config.hysteresis_db,
            level_dbm: self
                .next_sample_ns
                .and(self.trend.level_x16(now_ns))
                .map(|x16| f64::from(x16) / 16.0),
            trend_db_per_s: self.trend.slope_x16_per_s(now_ns).map(|x16| x16 as f64 / 16.0),
        }
    }

    /// A station standing still in a weak spot (see `policy::signal::is_weak_and_steady`):
    /// the periodic refresh scans pause.
    pub fn weak_and_steady(&self, now_ns: u64) -> bool {
        self.next_sample_ns.is_some()
            && signal::is_weak_and_steady(&self.config, &self.trend, now_ns)
    }

    /// What the trend says, given the candidates of the network.
    pub fn judge(&self, serving: MacAddr, candidates: &[Candidate], now_ns: u64) -> SignalVerdict {
        signal::judge(&self.config, &self.trend, serving, candidates, now_ns)
    }

    /// Whether a refresh scan of the candidates may go out now (at most one per
    /// [`LOOK_EVERY_NS`]); counts it if so.
    pub fn may_look(&mut self, now_ns: u64) -> bool {
        self.may_scan(now_ns, LOOK_EVERY_NS)
    }

    /// Whether a look at a candidate measured before the fall may go out now (at most one per
    /// [`RECHECK_EVERY_NS`], refresh scans included); counts it if so.
    pub fn may_recheck(&mut self, now_ns: u64) -> bool {
        self.may_scan(now_ns, RECHECK_EVERY_NS)
    }

    fn may_scan(&mut self, now_ns: u64, every_ns: u64) -> bool {
        if self.last_look_ns.is_some_and(|at| now_ns.saturating_sub(at) < every_ns) {
            return false;
        }
        self.last_look_ns = Some(now_ns);
        true
    }
}

/// A row's smoothed signal, dBm x 16, if it holds one.
pub fn average_x16(row: Option<&BssRecord>) -> Option<i32> {
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
        let mut watch = SignalWatch::new(CONFIG, SignalSource::Monitor);
        watch.associated(Some(&row(-50)), 0);
        assert_eq!(watch.next_wakeup_ns(), None, "strong: no wake-up");
        watch.weak(1_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(1_000 * MS));
        watch.sample(Some(-66 * 16), 1_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(1_500 * MS));
        watch.sample(Some(-62 * 16), 1_500 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(2_000 * MS), "not well above yet");
        watch.sample(Some(-55 * 16), 2_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), None, "recovered");
        watch.associated(Some(&row(-68)), 3_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(3_000 * MS), "weak on arrival");
        watch.sample(None, 3_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), None, "nothing to sample");
    }

    #[test]
    fn the_stations_measurement_is_polled_less_often_the_stronger_the_link() {
        let mut watch = SignalWatch::new(CONFIG, SignalSource::Station);
        watch.associated(None, 0);
        assert_eq!(watch.next_wakeup_ns(), Some(0), "read at once");
        watch.sample(Some(-40 * 16), 0);
        assert_eq!(watch.next_wakeup_ns(), Some(5_000 * MS), "far above the watch level");
        watch.sample(Some(-60 * 16), 5_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(7_000 * MS));
        watch.sample(Some(-66 * 16), 7_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(7_500 * MS), "weak: twice a second");
        watch.sample(None, 7_500 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(9_500 * MS), "not associated yet: ask again");
        watch.weak(9_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), Some(9_500 * MS), "the kernel's word is not its");
    }

    #[test]
    fn a_deaf_monitor_hands_over_to_the_stations_measurement() {
        let mut watch = SignalWatch::new(CONFIG, SignalSource::Monitor);
        watch.associated(Some(&row(-50)), 0);
        watch.use_source(SignalSource::Station, 3_000 * MS);
        assert_eq!(watch.source(), SignalSource::Station);
        assert_eq!(watch.next_wakeup_ns(), Some(3_000 * MS));
        watch.use_source(SignalSource::Monitor, 4_000 * MS);
        assert_eq!(watch.next_wakeup_ns(), None);
    }

    #[test]
    fn looks_are_spaced() {
        let mut watch = SignalWatch::new(CONFIG, SignalSource::Monitor);
        assert!(watch.may_look(0));
        assert!(!watch.may_look(1_999 * MS));
        assert!(watch.may_look(2_000 * MS));
        assert!(!watch.may_recheck(2_999 * MS), "a recheck waits for the last scan too");
        assert!(watch.may_recheck(3_000 * MS));
        assert!(!watch.may_look(4_999 * MS), "and counts as one");
        assert_eq!(watch.watch_level_x16(), -64 * 16);
    }
}
