//! A roam decided: the order the agent performs, and what the core keeps of it (its number,
//! its deadline, the change to the manager it will make).

use roam_common::policy::{candidate::SCAN_ENTRY_USABLE_MS, Candidate, Trigger};
use roam_proto::TransitionStep;

use super::{Command, Conductor, RoamOrder, World};

impl Conductor {
    pub(super) fn roam(
        &mut self,
        trigger: Trigger,
        target: Candidate,
        scan_first: bool,
        now: u64,
        world: &dyn World,
        out: &mut Vec<Command>,
    ) {
        let entry_age_ms = world.scan_entry_age_ms(&target.bssid);
        let scan_first = if self.config.reads_table_whole {
            // cfg80211 connects only to a BSS in its table: scan when the entry is missing or
            // about to expire.
            entry_age_ms.is_none_or(|age| age > SCAN_ENTRY_USABLE_MS)
        } else {
            // wpa_supplicant rescans an expired cfg80211 entry by itself; roam scans only for
            // a target missing from its own table.
            scan_first && entry_age_ms.is_none()
        };
        self.roam_generation += 1;
        self.roam_freq_mhz = target.freq_mhz;
        let generation = self.roam_generation;
        // After a deauthentication or disassociation the station is disconnected; otherwise it
        // reassociates, a fast transition on 802.11r networks (see `ft`).
        let reconnect = trigger.ap_ended_association();
        self.fast_roam = (!reconnect && trigger.ap_is_gone()).then_some((trigger, target));
        if let Some(t) = &mut self.transition {
            t.mark(TransitionStep::Acted, now);
            t.to = Some(target.bssid);
        }
        if reconnect {
            // The reconnection pins the manager to the target: this roam's change to undo.
            self.changed_by = Some(generation);
        }
        self.roam_deadline = Some(now + self.config.roam_timeout_ns);
        // A reconnection pins the manager to its target, and a target that has gone too costs
        // the manager's own recovery (the VM, no monitor: the other AP switched off 2.5 s
        // before the serving one, a pinned attempt at it from its scan entry, and
        // wpa_supplicant's next scans fell 5 s behind stock's). Unless the kernel hears it now,
        // or the scan first finds it, the target is asked first whether it is there.
        let confirm_first = reconnect && !scan_first && !target.heard_alive();
        let order = RoamOrder {
            generation,
            trigger,
            target,
            scan_first,
            confirm_first,
            reconnect,
            leave_first: false,
            fallback: false,
        };
        out.push(Command::Roam(order));
    }
}
