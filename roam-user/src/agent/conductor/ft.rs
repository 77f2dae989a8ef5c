//! 802.11r fast transitions when the AP went away.
//!
//! On a network with FT, wpa_supplicant's reassociation (`ROAM`) is a fast transition: the
//! target needs the station's PMK-R1, which the key holder (R0KH) of its last full
//! authentication derives, and asks that AP for it over the wired side. With FT-SAE and FT-EAP
//! the key holder is the AP the station authenticated with in full, and when that is the AP
//! that went away, the target gets no answer and leaves the station's authentication
//! unanswered; wpa_supplicant, its attempt timed out, tries the next BSS it knows (the dead
//! one), then scans every channel. Seen in the VM with FT-SAE: 5.2 s against stock's 2.5 s.
//!
//! So the core knows the key holder (the AP of the last connection after a disconnection or a
//! reconnection: a full authentication), and after such an AP went away the station leaves it
//! and reconnects in full ([`RoamOrder::leave_first`]). Where the key holder is elsewhere, or
//! unknown to the core (FT-PSK: every AP may derive the keys itself), the fast transition is
//! tried; if it fails at the target, it goes on once as the same full reconnection.

use roam_common::{
    policy::{Candidate, Trigger},
    MacAddr,
};
use roam_proto::TransitionStep;

use super::{Command, Conductor, Input, RoamOrder, State, World};

impl Conductor {
    /// A connection to `bssid` completed: after a full authentication its AP holds the
    /// station's FT keys (the first connection seen is taken for one).
    pub(super) fn note_key_holder(&mut self, bssid: MacAddr) {
        if self.full_auth_coming || self.key_holder.is_none() {
            self.key_holder = Some(bssid);
        }
        self.full_auth_coming = false;
    }

    /// The AP that went away (`trigger`) held the keys the network's fast transitions need.
    pub(super) fn keys_went_with_the_ap(&self, trigger: Trigger, world: &dyn World) -> bool {
        trigger.ap_is_gone()
            && world.ft_keys_from_first_ap()
            && self.key_holder.is_some_and(|holder| Some(holder) == self.machine.current_bss())
    }

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
        self.full_auth_coming = true;
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
