//! A held loss tried again, where nobody else reconnects (bare nl80211): when its backoff
//! ends, after a wait that doubles while nowhere is known to go, with a scan asked for first.

use super::{Command, Conductor, MachineInput, ScanScope, World};

impl Conductor {
    /// Tries the held loss again (where nobody else reconnects); with nowhere known to go, a
    /// scan is asked for first: the lost AP's channel, then every channel, in turn (an AP that
    /// rebooted comes back where it was; one that is gone for good leaves the station to find
    /// another anywhere).
    pub(super) fn retry(&mut self, now: u64, world: &mut dyn World, out: &mut Vec<Command>) {
        self.retry_at = None;
        let Some(choice) = self.choose(now, world) else { return };
        if choice.best.is_none() {
            let scope = if self.empty_scans.is_multiple_of(2) {
                ScanScope::LostChannel
            } else {
                ScanScope::Every
            };
            self.empty_scans += 1;
            out.push(Command::Scan(scope));
        }
        let step = self.machine.handle(MachineInput::Retry { best: choice.best.as_ref() }, now);
        self.apply(step, now, world, out);
    }

    /// After an outcome that leaves a loss held: when to try again, if roam must.
    pub(super) fn schedule_retry(&mut self, until_ns: Option<u64>, now: u64) {
        if self.config.manager_reconnects || self.machine.config().observe_only {
            return;
        }
        self.retry_at = Some(until_ns.unwrap_or_else(|| now + self.no_candidate.failed()));
    }
}
