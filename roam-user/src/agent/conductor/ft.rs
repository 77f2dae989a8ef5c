//! 802.11r fast transitions when the AP went away.
//!
//! On a network with FT, wpa_supplicant's reassociation (`ROAM`) is a fast transition over the
//! air: no EAP exchange, no 4-way handshake. The target needs the station's PMK-R1. With FT-PSK
//! it may derive it itself; with FT-SAE and FT-EAP it gets it from the key holder (R0KH), the
//! AP of the station's last full authentication: pushed at that authentication where the APs
//! are set up so (hostapd's `pmk_r1_push`, controllers), or pulled over the wired side when the
//! station arrives.
//!
//! When the key holder is the AP that went away, the fast transition still succeeds where the
//! keys were pushed or that AP still answers on the wire (a radio gone silent). In the VM's
//! benchmark, FT-EAP silent-ap-loss: 227 ms so (0.10 of stock's gap), against 358 ms (0.17)
//! for a full reconnection with its EAP exchange. Where neither holds (an AP that lost power,
//! pull only), the target leaves the authentication unanswered, wpa_supplicant gives up on it
//! after ~430 ms (measured in the VM for 61fa72d, when no key reached another AP) and tries
//! the next BSS it knows, and the roam goes on once as a full reconnection to the same target,
//! leaving the dead AP first: the cost of trying, still well ahead of stock's scan.

use roam_common::{
    policy::{Candidate, Trigger},
    MacAddr,
};
use roam_proto::TransitionStep;

use super::{Command, Conductor, Input, RoamOrder, State};

impl Conductor {
    /// Whether `input` says the manager gave up on the fast roam's target: it authenticates
    /// with another BSS, the target refused it, or it scans after trying the target.
    pub(super) fn fast_roam_given_up(&self, input: &Input) -> bool {
        let Some((_, target)) = self.fast_roam else { return false };
        if self.machine.state() != State::Roaming {
            return false;
        }
        let elsewhere = |bssid: MacAddr| bssid != target.bssid;
        match *input {
            Input::Connecting { step: TransitionStep::Auth, bssid: Some(bssid) } => {
                elsewhere(bssid)
            }
            Input::ConnectFailed { bssid } => !bssid.is_some_and(elsewhere),
            Input::Scanning => self.machine.target_tried(),
            _ => false,
        }
    }

    /// The fast roam's second way, to the same target: a full reconnection, numbered anew (a
    /// late report of the first way is not this one's) and with its own deadline. The station
    /// leaves whatever wpa_supplicant is trying meanwhile (the dead AP), and the target's
    /// channel is scanned first: wpa_supplicant chooses from its last scan's results, which
    /// after its own attempts may hold the dead AP alone (the VM, FT-EAP: the pinned
    /// reconnection found nothing, and wpa_supplicant scanned every channel, 3.8 s).
    pub(super) fn fall_back_to_reconnection(&mut self, now: u64, out: &mut Vec<Command>) {
        let Some((trigger, target)) = self.fast_roam.take() else { return };
        self.roam_generation += 1;
        let generation = self.roam_generation;
        // The reconnection pins the manager to the target: this roam's change to undo.
        self.changed_by = Some(generation);
        self.roam_deadline = Some(now + self.config.roam_timeout_ns);
        let order = full_reconnection(generation, trigger, target);
        self.machine.attempt_again(order.scan_first);
        out.push(Command::Roam(order));
    }
}

fn full_reconnection(generation: u64, trigger: Trigger, target: Candidate) -> RoamOrder {
    // The scan of the target's channel is the check.
    RoamOrder {
        generation,
        trigger,
        target,
        scan_first: true,
        confirm_first: false,
        reconnect: true,
        leave_first: true,
        fallback: true,
    }
}
