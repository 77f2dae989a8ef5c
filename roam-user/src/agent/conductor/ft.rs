//! A fast roam that fails after the AP went away goes on, once, as a full reconnection.
//!
//! On a network with 802.11r, wpa_supplicant's reassociation (`ROAM`) is a fast transition: the
//! target needs the station's PMK-R1 from the key holder (R0KH) of its first association in the
//! mobility domain, which is most often the very AP that went away. The target asks it, gets no
//! answer, and leaves the station's authentication unanswered; wpa_supplicant, its attempt
//! timed out, tries the next BSS it knows (the dead one), then scans every channel. Seen in the
//! VM with FT-SAE: 5.2 s against stock's 2.5 s. A reconnection (the BSSID pin and REASSOCIATE
//! of a deauthentication) starts from a disconnected station, so it authenticates in full,
//! with nothing of the AP that went away.

use roam_common::MacAddr;
use roam_proto::TransitionStep;

use super::{Command, Conductor, Input, RoamOrder, State};

impl Conductor {
    /// Whether `input` says the manager gave up on the fast roam's target: it authenticates
    /// with another BSS, or the target refused it.
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
            _ => false,
        }
    }

    /// The fast roam's second way, to the same target: a full reconnection, numbered anew (a
    /// late report of the first way is not this one's) and with its own deadline. Its channel
    /// is scanned first: wpa_supplicant chooses from its last scan's results, which after its
    /// own attempts may hold the dead AP alone (the VM, FT-EAP: the pinned reconnection found
    /// nothing, and wpa_supplicant scanned every channel, 3.8 s).
    pub(super) fn fall_back_to_reconnection(&mut self, now: u64, out: &mut Vec<Command>) {
        let Some((trigger, target)) = self.fast_roam.take() else { return };
        self.roam_generation += 1;
        let generation = self.roam_generation;
        // The reconnection pins the manager to the target: this roam's change to undo.
        self.changed_by = Some(generation);
        self.roam_deadline = Some(now + self.config.roam_timeout_ns);
        let order = RoamOrder { generation, trigger, target, scan_first: true, reconnect: true };
        out.push(Command::Roam(order));
    }
}
