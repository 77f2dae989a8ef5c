//! Does the monitor interface hear the station's AP? Many chips (Intel's iwlwifi, MediaTek's
//! mt7921, Realtek's with firmware beacon filters) pass the serving AP's beacons to the host
//! only when something in them changes: a monitor beside the station then hears almost none, and
//! its silence says nothing about the AP. After each association roam counts the beacons the
//! monitor hears against those the AP's beacon interval promises.

use crate::bss::NS_PER_TU;

/// How long the count runs after an association.
pub const WINDOW_NS: u64 = 3_000_000_000;

/// What the count found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorHealth {
    /// Not counted yet (not associated, or the window still running).
    Unknown,
    /// Heard at least half the beacons the AP's interval promises.
    Hears { heard: u64, expected: u64 },
    /// Heard fewer: the driver filters them, or the monitor hears nothing at all.
    Deaf { heard: u64, expected: u64 },
}

/// The count of one association.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorCheck {
    started_ns: u64,
    beacons_at_start: u64,
    health: MonitorHealth,
}

impl MonitorCheck {
    /// Counting starts at `now_ns`, the AP's row then showing `beacons` (0 without a row).
    pub fn start(now_ns: u64, beacons: u64) -> Self {
        MonitorCheck {
            started_ns: now_ns,
            beacons_at_start: beacons,
            health: MonitorHealth::Unknown,
        }
    }

    /// When the verdict is due.
    pub fn due_ns(&self) -> Option<u64> {
        (self.health == MonitorHealth::Unknown).then_some(self.started_ns + WINDOW_NS)
    }

    /// The verdict once the window is over: the AP's row now shows `beacons`, and the AP
    /// announces beacons every `interval_tu` (100 when unknown).
    pub fn finish(&mut self, now_ns: u64, beacons: u64, interval_tu: u16) -> MonitorHealth {
        if now_ns < self.started_ns + WINDOW_NS || self.health != MonitorHealth::Unknown {
            return self.health;
        }
        let interval_ns = u64::from(if interval_tu == 0 { 100 } else { interval_tu }) * NS_PER_TU;
        let expected = (now_ns - self.started_ns) / interval_ns;
        let heard = beacons.saturating_sub(self.beacons_at_start);
        self.health = if heard * 2 >= expected {
            MonitorHealth::Hears { heard, expected }
        } else {
            MonitorHealth::Deaf { heard, expected }
        };
        self.health
    }

    pub fn health(&self) -> MonitorHealth {
        self.health
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_monitor_that_hears_the_beacons_hears_and_one_that_filters_them_is_deaf() {
        let mut check = MonitorCheck::start(10 * S, 500);
        assert_eq!(check.due_ns(), Some(13 * S));
        assert_eq!(check.finish(12 * S, 520, 100), MonitorHealth::Unknown, "too early");
        // 3 s at 100 TU promise 29 beacons.
        assert_eq!(
            check.finish(13 * S, 528, 100),
            MonitorHealth::Hears { heard: 28, expected: 29 }
        );
        assert_eq!(check.due_ns(), None);
        let mut check = MonitorCheck::start(10 * S, 500);
        assert_eq!(check.finish(13 * S, 502, 100), MonitorHealth::Deaf { heard: 2, expected: 29 });
        // A monitor hearing nothing at all (no row): deaf.
        let mut check = MonitorCheck::start(10 * S, 0);
        assert!(matches!(check.finish(13 * S, 0, 0), MonitorHealth::Deaf { heard: 0, .. }));
        // A long interval promises fewer beacons.
        let mut check = MonitorCheck::start(10 * S, 0);
        assert_eq!(check.finish(13 * S, 9, 300), MonitorHealth::Hears { heard: 9, expected: 9 });
    }
}
