//! The monitor interface roam created can be deleted under it: a driver reset, a firmware
//! restart, an administrator's `iw dev roammonN del`. Its silence then means nothing. roam
//! notices the deletion (rtnetlink), creates the monitor again and binds the frame filter to
//! it; a radio that keeps losing it, or refuses a new one, leaves roam on its other liveness
//! sources (acknowledgements of its probes, the station's own traffic), which never took the
//! monitor's silence for a loss anyway.

use anyhow::Result;

use crate::presence::Presence;

/// Re-creations allowed within [`RECREATION_WINDOW_NS`]: a driver that deletes every monitor
/// at once is not fought for ever.
const MAX_RECREATIONS: usize = 3;
const RECREATION_WINDOW_NS: u64 = 60_000_000_000;

pub struct MonitorWatch {
    presence: Presence,
    ifindex: u32,
    /// When the monitor was created again (CLOCK_MONOTONIC ns), the latest last.
    recreated_ns: Vec<u64>,
}

impl MonitorWatch {
    /// Watches monitor interface `name` (index `ifindex`).
    pub fn new(name: &str, ifindex: u32) -> Result<Self> {
        Ok(MonitorWatch { presence: Presence::new(name)?, ifindex, recreated_ns: Vec::new() })
    }

    /// Resolves when the monitor is deleted. Cancel-safe.
    pub async fn removed(&mut self) -> Result<()> {
        self.presence.removed(self.ifindex).await
    }

    /// Whether the monitor may be created again now; if so, the creation is counted.
    pub fn may_recreate(&mut self, now_ns: u64) -> bool {
        self.recreated_ns.retain(|&at| now_ns.saturating_sub(at) < RECREATION_WINDOW_NS);
        let allowed = may_recreate(&self.recreated_ns, now_ns);
        if allowed {
            self.recreated_ns.push(now_ns);
        }
        allowed
    }

    /// The monitor exists again, under index `ifindex`.
    pub fn follow(&mut self, ifindex: u32) {
        self.ifindex = ifindex;
    }
}

/// At most [`MAX_RECREATIONS`] within the window before `now_ns`. Pure.
fn may_recreate(recreated_ns: &[u64], now_ns: u64) -> bool {
    let recent =
        recreated_ns.iter().filter(|&&at| now_ns.saturating_sub(at) < RECREATION_WINDOW_NS).count();
    recent < MAX_RECREATIONS
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn a_monitor_deleted_over_and_over_is_given_up_until_the_window_passes() {
        assert!(may_recreate(&[], 0));
        assert!(may_recreate(&[S, 2 * S], 3 * S));
        assert!(!may_recreate(&[S, 2 * S, 3 * S], 4 * S), "a fourth within a minute");
        assert!(may_recreate(&[S, 2 * S, 3 * S], 62 * S), "the first one is out of the window");
    }
}
