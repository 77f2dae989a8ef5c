//! What the agent reads of the conductor, and the few settings it changes from outside.

use roam_common::{policy::Machine, MacAddr};

use super::Conductor;
#[cfg(test)]
use crate::agent::transition::Transition;

impl Conductor {
    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn current_bss(&self) -> Option<MacAddr> {
        self.machine.current_bss()
    }

    #[cfg(test)]
    pub fn transition(&self) -> Option<&Transition> {
        self.transition.as_ref()
    }

    /// Whether the kernel should report the first data frame: the transition reached its
    /// connection and waits for it.
    pub fn awaits_first_data(&self) -> bool {
        self.transition.as_ref().is_some_and(|t| t.marks.connected != 0)
    }

    /// Whether `generation` is the latest roam (a late report of an earlier one is ignored).
    pub fn is_latest_roam(&self, generation: u64) -> bool {
        generation == self.roam_generation
    }

    /// The earliest deadline the agent must wake for with [`Input::Tick`].
    pub fn next_deadline(&self) -> Option<u64> {
        [self.roam_deadline, self.first_data_deadline, self.retry_at].into_iter().flatten().min()
    }

    /// Holds every loss from now on (`true`), or acts again: the configuration, or a backend
    /// that cannot act on the station's network.
    pub fn set_observe_only(&mut self, observe_only: bool) {
        self.machine.set_observe_only(observe_only);
    }

    /// The agent is stopping and puts back every change itself.
    pub fn forget_changes(&mut self) {
        self.changed_by = None;
    }
}
