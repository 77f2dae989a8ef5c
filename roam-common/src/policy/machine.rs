//! The agent's state machine: events in, at most one action out, every transition explicit.
//!
//! Pure: time comes in with each input, candidates come in with a loss, and the machine never
//! performs I/O. The agent feeds it supplicant and kernel events, performs the [`Action`] it
//! returns, and reports back with [`Input::ActionFailed`] or [`Input::RoamTimeout`].

use super::{
    candidate::Candidate,
    limiter::{Limiter, LimiterConfig, Refusal},
    state::State,
    trigger::Trigger,
};
use crate::MacAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MachineConfig {
    /// Measure and report, never act.
    pub observe_only: bool,
    pub limiter: LimiterConfig,
    /// The connection manager reconnects to the same BSS by itself, at once, when the AP
    /// ends the association with a reason that says it may take the station back
    /// ([`Trigger::ap_may_take_it_back`]): wpa_supplicant does. roam leaves that reconnection
    /// alone: a roam started at the same moment breaks it (in the testbed, a REASSOCIATE
    /// during wpa_supplicant's own reconnection cost a 4 s handshake timeout).
    pub manager_reconnects_recoverable: bool,
}

/// What happened, as the machine needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// The station started a scan (supplicant or kernel).
    Scanning,
    Authenticating {
        bssid: MacAddr,
    },
    Associating {
        bssid: MacAddr,
    },
    Associated {
        bssid: MacAddr,
    },
    /// Association and key handshake complete: the port is open.
    Connected {
        bssid: MacAddr,
    },
    /// The station left its BSS (its own doing or the AP's).
    Disconnected,
    /// A loss signal about `bssid`, with the best candidate the agent found at that moment.
    Loss {
        trigger: Trigger,
        bssid: MacAddr,
        best: Option<&'a Candidate>,
    },
    /// The AP reported lost was heard again.
    ApHeard {
        bssid: MacAddr,
    },
    /// Try again on the loss roam is holding (after a failure, a backoff, or with no candidate
    /// before). Only a connection layer that never reconnects by itself needs this (bare
    /// nl80211); wpa_supplicant retries on its own, and roam watches.
    Retry {
        best: Option<&'a Candidate>,
    },
    /// The action in flight failed at once (command refused, backend error).
    ActionFailed,
    /// The roam in flight did not reach a connection in time.
    RoamTimeout,
}

/// What the agent must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Move to `target`. `scan_first`: the connection layer does not know the target (or its
    /// entry is about to expire): scan its one channel, then connect.
    Roam { trigger: Trigger, target: Candidate, scan_first: bool },
}

/// Why roam did not act on a loss.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hold {
    ObserveOnly,
    /// The manager reconnects to the same BSS by itself (see
    /// [`MachineConfig::manager_reconnects_recoverable`]).
    ManagerReconnects,
    NoCandidate,
    BackingOff {
        until_ns: u64,
    },
    Capped {
        until_ns: u64,
    },
}

/// How a loss ended, for logs, metrics and `roam status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// roam's action brought the station to `reached` (usually its target).
    Succeeded {
        trigger: Trigger,
        target: MacAddr,
        reached: MacAddr,
    },
    Failed {
        trigger: Trigger,
        target: MacAddr,
    },
    TimedOut {
        trigger: Trigger,
        target: MacAddr,
    },
    /// roam saw the loss and did not act, for this reason.
    Held {
        trigger: Trigger,
        hold: Hold,
    },
    /// A loss turned out to be a false alarm: the AP was heard again.
    FalseAlarm {
        trigger: Trigger,
    },
}

/// The result of one input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    pub transition: Option<(State, State)>,
    pub action: Option<Action>,
    pub outcome: Option<Outcome>,
}

/// The roam in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InFlight {
    trigger: Trigger,
    target: MacAddr,
    /// The manager has authenticated (or tried to) with the target.
    tried: bool,
    /// The next scan is roam's own (the way the attempt goes on), not the manager looking
    /// elsewhere.
    own_scan_next: bool,
}

/// How long a connection may seem to be in progress before the manager's own state is believed
/// over its (lost) events.
pub const CATCH_UP_AFTER_NS: u64 = 5_000_000_000;

#[derive(Clone, Debug)]
pub struct Machine {
    config: MachineConfig,
    state: State,
    since_ns: u64,
    /// The BSS the station is connected to, or was last connected to.
    current: Option<MacAddr>,
    /// The loss roam is holding on (Suspect), or acting on (Roaming).
    pending: Option<Trigger>,
    in_flight: Option<InFlight>,
    limiter: Limiter,
}

impl Machine {
    pub fn new(config: MachineConfig, now_ns: u64) -> Self {
        Machine {
            config,
            state: State::Init,
            since_ns: now_ns,
            current: None,
            pending: None,
            in_flight: None,
            limiter: Limiter::new(config.limiter),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// When the current state was entered (CLOCK_MONOTONIC ns).
    pub fn since_ns(&self) -> u64 {
        self.since_ns
    }

    /// Whether the machine missed a connection the manager reports to `reported` (its events
    /// can be lost: wpa_supplicant drops event messages while any of its monitors lags): still
    /// connecting after [`CATCH_UP_AFTER_NS`], which no connection takes, or running on another
    /// BSS. Never while roam drives a roam or holds a loss (the manager may not know yet).
    pub fn missed_connection(&self, reported: MacAddr, now_ns: u64) -> bool {
        match self.state {
            State::Init | State::Scan | State::Auth | State::Assoc => {
                now_ns.saturating_sub(self.since_ns) >= CATCH_UP_AFTER_NS
            }
            State::Run => self.current != Some(reported),
            State::Suspect | State::Roaming => false,
        }
    }

    pub fn current_bss(&self) -> Option<MacAddr> {
        self.current
    }

    /// The target of the roam in flight.
    pub fn roam_target(&self) -> Option<MacAddr> {
        self.in_flight.map(|f| f.target)
    }

    pub fn config(&self) -> &MachineConfig {
        &self.config
    }

    /// Holds every loss from now on as observe-only (`true`), or acts again (`false`): the
    /// configuration's `act.observe_only`, or a backend that cannot act on the network the
    /// station is on (bare nl80211 on a protected one).
    pub fn set_observe_only(&mut self, observe_only: bool) {
        self.config.observe_only = observe_only;
    }

    pub fn handle(&mut self, input: Input<'_>, now_ns: u64) -> Step {
        let mut step = Step::default();
        match input {
            Input::Scanning => {
                if self.state == State::Init {
                    self.go(State::Scan, now_ns, &mut step);
                } else if let Some(flight) = self.in_flight.as_mut().filter(|f| f.own_scan_next) {
                    flight.own_scan_next = false;
                } else if self.in_flight.is_some_and(|f| f.tried) {
                    // The manager tried the target and is looking elsewhere: the attempt
                    // failed, whether or not it said so (an authentication that timed out is
                    // no event of wpa_supplicant's). Ended now, before the manager chooses
                    // from this scan, so that roam's pin to the target is gone by then.
                    self.attempt_ended(Input::ActionFailed, now_ns, &mut step);
                }
            }
            Input::Authenticating { bssid } => {
                if let Some(flight) = &mut self.in_flight {
                    flight.tried |= flight.target == bssid;
                }
                self.progress(State::Auth, now_ns, &mut step)
            }
            Input::Associating { .. } | Input::Associated { .. } => {
                self.progress(State::Assoc, now_ns, &mut step)
            }
            Input::Connected { bssid } => self.connected(bssid, now_ns, &mut step),
            Input::Disconnected => {
                // Our own roam disconnects from the old AP first: that is progress, not loss.
                if self.state != State::Roaming {
                    self.go(State::Init, now_ns, &mut step);
                }
            }
            Input::Loss { trigger, bssid, best } => {
                self.loss(trigger, bssid, best, now_ns, &mut step)
            }
            Input::Retry { best } => {
                // A held loss survives the scan roam asks for while it holds it (SCAN).
                let holding = matches!(self.state, State::Suspect | State::Init | State::Scan);
                if let (true, None, Some(trigger)) = (holding, self.in_flight, self.pending) {
                    self.decide(trigger, best, now_ns, &mut step);
                }
            }
            Input::ApHeard { bssid } => {
                if self.state == State::Suspect && self.current == Some(bssid) {
                    if let Some(trigger) = self.pending.take() {
                        if !trigger.ap_ended_association() {
                            step.outcome = Some(Outcome::FalseAlarm { trigger });
                            self.go(State::Run, now_ns, &mut step);
                        } else {
                            self.pending = Some(trigger);
                        }
                    }
                }
            }
            Input::ActionFailed | Input::RoamTimeout => {
                self.attempt_ended(input, now_ns, &mut step)
            }
        }
        step
    }

    /// The roam in flight failed (`ActionFailed`) or timed out (`RoamTimeout`): the loss is
    /// held again.
    fn attempt_ended(&mut self, how: Input<'_>, now_ns: u64, step: &mut Step) {
        if let Some(flight) = self.in_flight.take() {
            self.limiter.failed(now_ns);
            step.outcome = Some(if how == Input::RoamTimeout {
                Outcome::TimedOut { trigger: flight.trigger, target: flight.target }
            } else {
                Outcome::Failed { trigger: flight.trigger, target: flight.target }
            });
            self.pending = Some(flight.trigger);
            self.go(State::Suspect, now_ns, step);
        }
    }

    /// The manager tried the roam's target (a scan from now on means it gave up on it).
    pub fn target_tried(&self) -> bool {
        self.in_flight.is_some_and(|f| f.tried)
    }

    /// The roam in flight goes on another way to the same target, scanning first where
    /// `scans_first`: that scan is not a sign of failure, even after the manager tried the
    /// target again meanwhile on its own (wpa_supplicant retrying with SAE after its PMKSA
    /// was refused).
    pub fn attempt_again(&mut self, scans_first: bool) {
        if let Some(flight) = &mut self.in_flight {
            flight.tried = false;
            flight.own_scan_next = scans_first;
        }
    }

    /// Connection progress reported by the supplicant: a state of its own unless roam is
    /// driving (then it is a phase of the roam).
    fn progress(&mut self, to: State, now_ns: u64, step: &mut Step) {
        if self.state != State::Roaming {
            self.pending = None;
            self.go(to, now_ns, step);
        }
    }

    fn connected(&mut self, bssid: MacAddr, now_ns: u64, step: &mut Step) {
        self.current = Some(bssid);
        self.pending = None;
        if let Some(flight) = self.in_flight.take() {
            self.limiter.succeeded();
            step.outcome = Some(Outcome::Succeeded {
                trigger: flight.trigger,
                target: flight.target,
                reached: bssid,
            });
        }
        self.go(State::Run, now_ns, step);
    }

    fn loss(
        &mut self,
        trigger: Trigger,
        bssid: MacAddr,
        best: Option<&Candidate>,
        now_ns: u64,
        step: &mut Step,
    ) {
        // Only the BSS the station is on (or was on until the AP ended it) can be lost, and
        // only once: one action in flight, and a loss already being handled stays handled.
        if self.current != Some(bssid) || self.state == State::Roaming || self.pending.is_some() {
            return;
        }
        let connected_or_just_ended = self.state == State::Run
            || (trigger.ap_ended_association() && self.state == State::Init);
        if !connected_or_just_ended {
            return;
        }
        self.decide(trigger, best, now_ns, step);
    }

    /// Acts on `trigger` with `best`, or says why not (and keeps holding the loss).
    fn decide(&mut self, trigger: Trigger, best: Option<&Candidate>, now_ns: u64, step: &mut Step) {
        let hold = if self.config.observe_only {
            Some(Hold::ObserveOnly)
        } else if self.config.manager_reconnects_recoverable && trigger.ap_may_take_it_back() {
            Some(Hold::ManagerReconnects)
        } else if best.is_none() {
            Some(Hold::NoCandidate)
        } else {
            match self.limiter.check(now_ns) {
                Ok(()) => None,
                Err(Refusal::BackingOff { until_ns }) => Some(Hold::BackingOff { until_ns }),
                Err(Refusal::Capped { until_ns }) => Some(Hold::Capped { until_ns }),
            }
        };
        self.pending = Some(trigger);
        match (hold, best) {
            (None, Some(target)) => {
                self.limiter.started(now_ns);
                self.in_flight = Some(InFlight {
                    trigger,
                    target: target.bssid,
                    tried: false,
                    own_scan_next: false,
                });
                step.action = Some(Action::Roam {
                    trigger,
                    target: *target,
                    scan_first: !target.roamable_without_scan(),
                });
                self.go(State::Roaming, now_ns, step);
            }
            (hold, _) => {
                step.outcome =
                    Some(Outcome::Held { trigger, hold: hold.unwrap_or(Hold::NoCandidate) });
                // After the AP ended it, the station is not connected: INIT says so; roam
                // watches the supplicant reconnect.
                if self.state == State::Run {
                    self.go(State::Suspect, now_ns, step);
                }
            }
        }
    }

    fn go(&mut self, to: State, now_ns: u64, step: &mut Step) {
        if to == self.state {
            return;
        }
        let from = self.state;
        self.state = to;
        self.since_ns = now_ns;
        step.transition = Some(match step.transition {
            // Two transitions in one input (rare): report the whole move.
            Some((first_from, _)) => (first_from, to),
            None => (from, to),
        });
    }
}
