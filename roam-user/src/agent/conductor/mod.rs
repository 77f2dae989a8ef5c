//! The agent's decisions, in one pure core: events with their time in, [`Command`]s out.
//!
//! No I/O and no clock here: every input comes with its CLOCK_MONOTONIC time, what the core
//! reads of the world (the candidates, the scan table's ages) it asks of a [`World`], and what
//! it decides the agent's I/O loop performs (agent/mod.rs and its `on_*` handlers). The state
//! machine proper ([`Machine`], in roam-common) decides between acting and holding; this core
//! owns what surrounds it: interpreting losses, the transition being measured, the one roam in
//! flight with its number and deadline, the changes it made to the manager, and the retries.
//!
//! # What happens when the AP goes silent
//! 1. Something hints at it: the monitor stops hearing the AP, frames the station sends go
//!    unanswered, mac80211 reports beacon loss. A hint is never a loss: the agent's liveness
//!    watch asks the AP (probes whose 802.11 acknowledgement the driver reports) and only its
//!    verdict, [`Input::Liveness`] with [`Change::Lost`], is one ([`Self::loss`]). mac80211
//!    giving up on the AP ([`Input::ConnectionLoss`]) is one too.
//! 2. The loss opens a transition ([`Command::OpenWindow`]: the kernel counts what the station
//!    loses, the neighbour task gets ready to put flushed entries back), is reported
//!    ([`Notice::LossDetected`]) and goes to the machine with the best candidate of the network.
//! 3. The machine acts, [`Command::Roam`], numbered (a late report of an earlier roam is not
//!    taken for this one) and with a deadline; or it holds, for a reason ([`Notice::RoamHeld`]).
//!    Where nobody else reconnects (bare nl80211) a held loss is tried again: when its backoff
//!    ends, after a wait that doubles while nowhere is known to go (a scan is asked for,
//!    [`Command::Scan`]: of the lost AP's channel and of every channel in turn), as soon as a
//!    scan finds somewhere, or when the lost AP is heard again.
//! 4. The roam ends with a connection, a refusal, or its deadline ([`Notice::RoamEnded`]); what
//!    it changed in the manager (a reconnection's BSSID pin) is then put back, for that roam's
//!    number only ([`Command::PutBack`]).
//! 5. The transition ends at the first data frame from the new AP, or [`FIRST_DATA_WAIT_NS`] after
//!    the connection ([`Command::FinishTransition`]). An AP heard again before roam acted was a
//!    false alarm: the transition is dropped ([`Command::AbandonWindow`]).
//!
//! A fading signal is no loss: the serving AP's trend, judged by `policy::signal`, brings
//! [`Input::SignalFading`] with a target enough stronger, and roam moves the station while its
//! link still works (the same one roam at a time, number, deadline and limiter).
//!
//! An AP that ends the association (deauthentication, disassociation) is seen by the kernel
//! first ([`Input::Leave`]) and processed by the manager after ([`Input::Disconnected`]): the
//! loss is acted on once the manager has processed it (a roam started earlier would race it),
//! with the kernel's kind and time and the manager's reason.

mod ap_ended;
mod ft;
mod io;
mod order;
mod retry;
#[cfg(test)]
mod tests;
mod view;

use roam_common::{
    event::{Leave, LeaveKind},
    policy::{
        self, Action, Backoff, Candidate, Hold, Input as MachineInput, Machine, Outcome, State,
        Step, Trigger,
    },
    MacAddr,
};
use roam_proto::{LossSource, RoamResult, TransitionStep};

pub use io::{Choice, Command, Config, Input, Notice, RoamOrder, ScanScope, SignalLevels, World};

use super::{liveness::Change, transition::Transition};

/// After the connection completes, the transition ends at the first data frame from the AP, or
/// after this long if none comes (an idle station).
pub const FIRST_DATA_WAIT_NS: u64 = 2_000_000_000;
/// With no candidate known and nobody else reconnecting, look again (a scan of every channel)
/// after this long, doubling up to the maximum until the station connects.
const NO_CANDIDATE_RETRY_NS: u64 = 2_000_000_000;
const NO_CANDIDATE_RETRY_MAX_NS: u64 = 60_000_000_000;

pub struct Conductor {
    config: Config,
    machine: Machine,
    /// The transition being measured, from the loss to the first data after the connection.
    transition: Option<Transition>,
    /// A deauthentication or disassociation the kernel saw, waiting for the manager to
    /// process it.
    ap_ended: Option<(Trigger, u64)>,
    /// The latest roam's number.
    roam_generation: u64,
    /// The roam whose changes to the manager may be in place.
    changed_by: Option<u64>,
    /// The roam in flight reassociates after the AP went away: if it fails at the target, it
    /// goes on once as a full reconnection (see `ft`).
    fast_roam: Option<(Trigger, Candidate)>,
    /// The latest roam's target frequency (its outcome is labelled with its band).
    roam_freq_mhz: u32,
    roam_deadline: Option<u64>,
    first_data_deadline: Option<u64>,
    /// A held loss is tried again then (only where the manager does not reconnect by itself).
    retry_at: Option<u64>,
    /// The wait before looking again when nowhere is known to go.
    no_candidate: Backoff,
    /// Scans asked for since the last connection with nowhere to go (they alternate between
    /// the lost AP's channel and every channel).
    empty_scans: u32,
}

impl Conductor {
    pub fn new(config: Config, now_ns: u64) -> Self {
        Conductor {
            config,
            machine: Machine::new(config.machine, now_ns),
            transition: None,
            ap_ended: None,
            roam_generation: 0,
            changed_by: None,
            fast_roam: None,
            roam_freq_mhz: 0,
            roam_deadline: None,
            first_data_deadline: None,
            retry_at: None,
            no_candidate: Backoff::new(NO_CANDIDATE_RETRY_NS, NO_CANDIDATE_RETRY_MAX_NS),
            empty_scans: 0,
        }
    }

    // ---- events ----

    pub fn handle(&mut self, input: Input, now: u64, world: &mut dyn World) -> Vec<Command> {
        let mut out = Vec::new();
        if self.fast_roam_given_up(&input) {
            self.fall_back_to_reconnection(now, &mut out);
            return out;
        }
        match input {
            Input::Connected { bssid } => self.connected(bssid, now, world, &mut out),
            Input::FoundConnected { bssid } => {
                if self.machine.current_bss().is_none() {
                    let step = self.machine.handle(MachineInput::Connected { bssid }, now);
                    self.apply(step, now, world, &mut out);
                }
            }
            Input::ConnectFailed { bssid } => {
                // A refusal by another BSS than roam's target is not the roam's.
                let ours = bssid.is_none_or(|b| Some(b) == self.machine.roam_target());
                if self.machine.state() == State::Roaming && ours {
                    let step = self.machine.handle(MachineInput::ActionFailed, now);
                    self.apply(step, now, world, &mut out);
                }
            }
            Input::Disconnected { bssid, reason, by_ap } => {
                let was = self.machine.current_bss();
                self.mark(TransitionStep::Left, now);
                let step = self.machine.handle(MachineInput::Disconnected, now);
                self.apply(step, now, world, &mut out);
                if by_ap && was.is_some() && bssid.is_none_or(|b| Some(b) == was) {
                    let (trigger, at) = ap_ended::trigger(self.ap_ended.take(), reason, now);
                    out.push(Command::Notify(Notice::ApEnded(trigger)));
                    self.loss(trigger, at, now, LossSource::Ap, world, &mut out);
                }
            }
            Input::Connecting { step, bssid } => {
                // A transition the manager began on its own (a deliberate roam, a reconnection
                // roam did not trigger) is measured too.
                if self.transition.is_none() && self.machine.state() == State::Run {
                    self.start_transition(None, now, &mut out);
                }
                self.mark(step, now);
                let bssid = bssid.unwrap_or(MacAddr::UNSET);
                let input = match step {
                    TransitionStep::Auth => MachineInput::Authenticating { bssid },
                    TransitionStep::Assoc => MachineInput::Associating { bssid },
                    _ => MachineInput::Associated { bssid },
                };
                let step = self.machine.handle(input, now);
                self.apply(step, now, world, &mut out);
            }
            Input::Scanning => {
                let step = self.machine.handle(MachineInput::Scanning, now);
                self.apply(step, now, world, &mut out);
            }
            Input::ScanDone => {
                // A held loss goes on at once if the scan found somewhere to go; otherwise its
                // timer stands (retrying now would start the next full scan right away).
                if self.config.reads_table_whole
                    && self.retry_at.is_some()
                    && self.machine.roam_target().is_none()
                    && self.choose(now, world).is_some_and(|c| c.best.is_some())
                {
                    self.retry(now, world, &mut out);
                }
            }
            Input::Leave { leave, station } => self.ap_ended_seen(leave, station, now),
            Input::Carrier { up } => {
                if !up {
                    // The manager started this one (a deliberate roam): measure it too.
                    if self.transition.is_none() {
                        self.start_transition(None, now, &mut out);
                    }
                    self.mark(TransitionStep::Left, now);
                }
            }
            Input::PortAuthorized => self.mark(TransitionStep::Authorized, now),
            Input::Step(step) => self.mark(step, now),
            Input::FirstData => {
                if self.transition.as_ref().is_some_and(|t| t.marks.connected != 0) {
                    self.mark(TransitionStep::FirstData, now);
                    self.finish_transition(&mut out);
                }
            }
            Input::BssHeard { bssid } => {
                if self.retry_at.is_some()
                    && self.transition.as_ref().is_some_and(|t| t.from == Some(bssid))
                {
                    // The lost BSS is back while roam holds the loss for want of somewhere to
                    // go (nobody else reconnects): try now, not at the next retry.
                    self.retry(now, world, &mut out);
                } else if Some(bssid) == self.machine.current_bss() {
                    let step = self.machine.handle(MachineInput::ApHeard { bssid }, now);
                    self.apply(step, now, world, &mut out);
                }
            }
            Input::ConnectionLoss { last_heard_ns } => {
                let lost = last_heard_ns.unwrap_or(now);
                self.loss(Trigger::BeaconLoss, lost, now, LossSource::Mac80211, world, &mut out);
            }
            Input::Liveness(Change::Lost { last_alive_ns }) => {
                self.loss(Trigger::NoAck, last_alive_ns, now, LossSource::Ack, world, &mut out)
            }
            Input::SignalFading { target, serving_x16 } => {
                self.fading(target, serving_x16, now, world, &mut out)
            }
            Input::Liveness(Change::Back) => {
                if let Some(bssid) = self.machine.current_bss() {
                    let step = self.machine.handle(MachineInput::ApHeard { bssid }, now);
                    self.apply(step, now, world, &mut out);
                }
            }
            Input::ActionFailed { generation } => {
                if self.is_latest_roam(generation) {
                    let step = self.machine.handle(MachineInput::ActionFailed, now);
                    self.apply(step, now, world, &mut out);
                }
            }
            Input::Tick => self.tick(now, world, &mut out),
        }
        out
    }

    fn tick(&mut self, now: u64, world: &mut dyn World, out: &mut Vec<Command>) {
        let due = |deadline: Option<u64>| deadline.is_some_and(|at| at <= now);
        if due(self.roam_deadline) {
            self.roam_deadline = None;
            if self.fast_roam.is_some() {
                self.fall_back_to_reconnection(now, out);
            } else {
                let step = self.machine.handle(MachineInput::RoamTimeout, now);
                self.apply(step, now, world, out);
            }
        }
        if due(self.first_data_deadline) {
            self.finish_transition(out);
        }
        if due(self.retry_at) {
            self.retry(now, world, out);
        }
    }

    fn connected(
        &mut self,
        bssid: MacAddr,
        now: u64,
        world: &mut dyn World,
        out: &mut Vec<Command>,
    ) {
        self.retry_at = None;
        self.fast_roam = None;
        // A deauthentication seen before this connection is not the next one's.
        self.ap_ended = None;
        self.no_candidate.reset();
        self.empty_scans = 0;
        if let Some(t) = &mut self.transition {
            t.to = Some(bssid);
            t.mark(TransitionStep::Connected, now);
            self.first_data_deadline = Some(now + FIRST_DATA_WAIT_NS);
        }
        let step = self.machine.handle(MachineInput::Connected { bssid }, now);
        self.apply(step, now, world, out);
    }

    /// The kernel saw the AP end the association: kept until the manager has processed it.
    fn ap_ended_seen(&mut self, leave: Leave, station: MacAddr, now: u64) {
        let current = self.machine.current_bss();
        if !leave.from_ap || Some(leave.bssid) != current || leave.transmitter == station {
            return;
        }
        // Under PMF the reason is encrypted: what the air shows of it means nothing.
        let reason = if leave.protected { 0 } else { leave.reason };
        let trigger = match leave.kind {
            LeaveKind::Deauth => Trigger::Deauth { reason },
            LeaveKind::Disassoc => Trigger::Disassoc { reason },
        };
        self.ap_ended = ap_ended::first_sighting(self.ap_ended, (trigger, now));
    }

    // ---- from a loss to an action ----

    /// A loss of the serving AP, last known alive at `lost_ns`, detected at `now`.
    fn loss(
        &mut self,
        trigger: Trigger,
        lost_ns: u64,
        now: u64,
        source: LossSource,
        world: &mut dyn World,
        out: &mut Vec<Command>,
    ) {
        let Some(bssid) = self.machine.current_bss() else { return };
        // A transition the manager began (carrier off first) keeps its start.
        let since = self.transition.as_ref().map_or(lost_ns, |t| t.marks.lost);
        let lost = policy::Lost { bssid, since_ms: now.saturating_sub(since) / 1_000_000 };
        let Some(choice) = world.choose(lost) else { return };
        match &mut self.transition {
            Some(t) => {
                t.trigger.get_or_insert(trigger);
            }
            None => self.start_transition(Some(trigger), lost_ns, out),
        }
        self.mark(TransitionStep::Detected, now);
        out.push(Command::Notify(Notice::LossDetected {
            trigger,
            bssid,
            source,
            lost_ns,
            detected_ns: now,
            best: choice.best.map(|c| c.bssid),
            known: choice.known,
            signal: None,
        }));
        let best = choice.best;
        let step =
            self.machine.handle(MachineInput::Loss { trigger, bssid, best: best.as_ref() }, now);
        self.apply(step, now, world, out);
    }

    /// The serving AP's signal is fading with `target` enough stronger: a roam from a live
    /// link, decided by the signal rule rather than the loss ranking (the link is not lost).
    fn fading(
        &mut self,
        target: Candidate,
        serving_x16: i32,
        now: u64,
        world: &mut dyn World,
        out: &mut Vec<Command>,
    ) {
        let Some(bssid) = self.machine.current_bss() else { return };
        if self.machine.state() != State::Run || self.transition.is_some() {
            return;
        }
        let trigger = Trigger::Signal;
        self.start_transition(Some(trigger), now, out);
        self.mark(TransitionStep::Detected, now);
        out.push(Command::Notify(Notice::LossDetected {
            trigger,
            bssid,
            source: LossSource::Signal,
            lost_ns: now,
            detected_ns: now,
            best: Some(target.bssid),
            known: 1,
            signal: target.signal_dbm.map(|target_dbm| SignalLevels { serving_x16, target_dbm }),
        }));
        let step =
            self.machine.handle(MachineInput::Loss { trigger, bssid, best: Some(&target) }, now);
        self.apply(step, now, world, out);
    }

    /// The candidates, the lost BSS ranked as lost since the transition began.
    fn choose(&self, now: u64, world: &mut dyn World) -> Option<Choice> {
        let bssid = self.machine.current_bss()?;
        let since = self.transition.as_ref().map_or(now, |t| t.marks.lost);
        world.choose(policy::Lost { bssid, since_ms: now.saturating_sub(since) / 1_000_000 })
    }

    fn apply(&mut self, step: Step, now: u64, world: &mut dyn World, out: &mut Vec<Command>) {
        if let Some((from, to)) = step.transition {
            out.push(Command::Notify(Notice::State { from, to }));
        }
        if let Some(outcome) = step.outcome {
            self.outcome(outcome, now, out);
        }
        if let Some(Action::Roam { trigger, target, scan_first }) = step.action {
            self.roam(trigger, target, scan_first, now, &*world, out);
        }
    }

    fn outcome(&mut self, outcome: Outcome, now: u64, out: &mut Vec<Command>) {
        let (trigger, result) = match outcome {
            Outcome::Succeeded { trigger, .. } => (trigger, RoamResult::Success),
            Outcome::Failed { trigger, .. } => (trigger, RoamResult::Failure),
            Outcome::TimedOut { trigger, .. } => (trigger, RoamResult::Timeout),
            Outcome::Held { trigger, hold } => {
                let until = match hold {
                    Hold::BackingOff { until_ns } | Hold::Capped { until_ns } => Some(until_ns),
                    Hold::ObserveOnly | Hold::ManagerReconnects | Hold::NoCandidate => None,
                };
                out.push(Command::Notify(Notice::RoamHeld {
                    trigger,
                    hold,
                    retry_in_ns: until.map(|at| at.saturating_sub(now)),
                }));
                match hold {
                    Hold::BackingOff { until_ns } | Hold::Capped { until_ns } => {
                        self.schedule_retry(Some(until_ns), now)
                    }
                    Hold::NoCandidate => self.schedule_retry(None, now),
                    Hold::ObserveOnly | Hold::ManagerReconnects => {}
                }
                return;
            }
            Outcome::FalseAlarm { trigger } => {
                out.push(Command::Notify(Notice::FalseAlarm { trigger }));
                if self.transition.take().is_some() {
                    out.push(Command::AbandonWindow);
                }
                return;
            }
        };
        self.roam_deadline = None;
        self.fast_roam = None;
        if result != RoamResult::Success {
            // The backoff the failure started is checked by the retry itself.
            self.schedule_retry(Some(now), now);
        }
        if let Some(generation) = self.changed_by.take() {
            out.push(Command::PutBack { generation });
        }
        out.push(Command::Notify(Notice::RoamEnded {
            trigger,
            result,
            target_freq_mhz: self.roam_freq_mhz,
        }));
    }

    // ---- the transition ----

    fn start_transition(&mut self, trigger: Option<Trigger>, lost_ns: u64, out: &mut Vec<Command>) {
        let from = self.machine.current_bss();
        self.transition = Some(Transition::new(trigger, from, lost_ns));
        out.push(Command::OpenWindow { lost_ns });
    }

    fn mark(&mut self, step: TransitionStep, at_ns: u64) {
        if let Some(t) = &mut self.transition {
            t.mark(step, at_ns);
        }
    }

    fn finish_transition(&mut self, out: &mut Vec<Command>) {
        self.first_data_deadline = None;
        if let Some(t) = self.transition.take() {
            out.push(Command::FinishTransition(Box::new(t)));
        }
    }
}
