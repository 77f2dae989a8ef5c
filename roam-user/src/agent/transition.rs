//! One link transition, from the moment the old AP was lost to the first data after the new
//! connection: its timeline (the roam's phases) and its drop window (what the station sent and
//! lost meanwhile, from the kernel's counters).

use std::collections::BTreeMap;

use roam_common::{maps::WindowCounters, policy::Trigger, MacAddr};
use roam_proto::{Phase, TransitionStep, WindowReport};

/// Timestamps of a transition, CLOCK_MONOTONIC ns (0: not reached).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// The old AP's last frame (silence) or the frame/event that ended the link.
    pub lost: u64,
    pub detected: u64,
    pub acted: u64,
    /// The station left the old AP (carrier off).
    pub left: u64,
    pub auth: u64,
    pub assoc: u64,
    pub associated: u64,
    pub eap_started: u64,
    pub eap_done: u64,
    pub connected: u64,
    /// mac80211 opened the port to the new AP (data may flow; neighbours are put back).
    pub authorized: u64,
    pub first_data: u64,
}

/// A transition in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub trigger: Option<Trigger>,
    pub from: Option<MacAddr>,
    pub to: Option<MacAddr>,
    pub marks: Marks,
    /// (CLOCK_MONOTONIC ns, step) in the order they were marked, for `roam status`.
    pub steps: Vec<(u64, TransitionStep)>,
}

impl Transition {
    pub fn new(trigger: Option<Trigger>, from: Option<MacAddr>, lost_ns: u64) -> Self {
        Transition {
            trigger,
            from,
            to: None,
            marks: Marks { lost: lost_ns, ..Marks::default() },
            steps: vec![(lost_ns, TransitionStep::Lost)],
        }
    }

    /// Records a step once (the first time wins: a repeated event is not a new phase).
    pub fn mark(&mut self, step: TransitionStep, at_ns: u64) {
        let m = &mut self.marks;
        let slot = match step {
            // The loss opens the transition: it is marked at its start.
            TransitionStep::Lost => return,
            TransitionStep::Detected => &mut m.detected,
            TransitionStep::Acted => &mut m.acted,
            TransitionStep::Left => &mut m.left,
            TransitionStep::Auth => &mut m.auth,
            TransitionStep::Assoc => &mut m.assoc,
            TransitionStep::Associated => &mut m.associated,
            TransitionStep::EapStarted => &mut m.eap_started,
            TransitionStep::EapDone => &mut m.eap_done,
            TransitionStep::Connected => &mut m.connected,
            TransitionStep::Authorized => &mut m.authorized,
            TransitionStep::FirstData => &mut m.first_data,
        };
        if *slot == 0 {
            *slot = at_ns;
            self.steps.push((at_ns, step));
        }
    }

    /// The roam's phases in seconds, for those whose ends were both seen.
    pub fn phases(&self) -> Vec<(Phase, f64)> {
        let m = &self.marks;
        let start_auth = if m.acted != 0 { m.acted } else { m.left.max(m.detected) };
        let spans = [
            (Phase::Detect, m.lost, m.detected),
            (Phase::Decide, m.detected, m.acted),
            (Phase::Auth, start_auth, if m.assoc != 0 { m.assoc } else { m.associated }),
            (Phase::Assoc, m.assoc, m.associated),
            (Phase::Handshake, m.associated, m.connected),
            (Phase::Eap, m.eap_started, m.eap_done),
            (Phase::FirstData, m.connected, m.first_data),
        ];
        spans
            .iter()
            .filter(|(_, a, b)| *a != 0 && *b != 0 && b >= a)
            .map(|(phase, a, b)| (*phase, (b - a) as f64 / 1e9))
            .collect()
    }

    /// From detection (or the loss, for transitions roam did not detect) to the first data.
    pub fn duration_ns(&self) -> Option<u64> {
        let start = if self.marks.detected != 0 { self.marks.detected } else { self.marks.lost };
        (self.marks.first_data != 0).then(|| self.marks.first_data.saturating_sub(start))
    }

    /// Steps as (ms from the loss, step), in time order.
    pub fn timeline_ms(&self) -> Vec<(f64, TransitionStep)> {
        let mut steps: Vec<_> = self
            .steps
            .iter()
            .map(|(at, s)| ((*at as f64 - self.marks.lost as f64) / 1e6, *s))
            .collect();
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        steps
    }
}

/// What a transition cost, from the kernel's counters.
pub fn window_report(
    counters: &WindowCounters,
    unanswered: u64,
    dropped_by_reason: BTreeMap<String, u64>,
    duration_ns: u64,
) -> WindowReport {
    let dropped = counters.dropped_packets;
    WindowReport {
        sent: counters.tx_packets,
        unanswered,
        dropped_by_reason,
        dropped,
        held: counters.held_packets,
        lost: unanswered + dropped,
        duration_ms: duration_ns as f64 / 1e6,
    }
}

/// Drops per reason between two snapshots of the cumulative table.
pub fn reasons_since(now: &[(u32, u64)], before: &[(u32, u64)]) -> Vec<(u32, u64)> {
    now.iter()
        .filter_map(|(reason, count)| {
            let earlier = before.iter().find(|(r, _)| r == reason).map_or(0, |(_, c)| *c);
            let delta = count.saturating_sub(earlier);
            (delta > 0).then_some((*reason, delta))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn phases_come_from_the_marks_seen() {
        let mut t = Transition::new(Some(Trigger::Silence), None, 1_000 * MS);
        t.mark(TransitionStep::Detected, 1_310 * MS);
        t.mark(TransitionStep::Acted, 1_312 * MS);
        t.mark(TransitionStep::Auth, 1_315 * MS);
        t.mark(TransitionStep::Assoc, 1_340 * MS);
        t.mark(TransitionStep::Associated, 1_360 * MS);
        t.mark(TransitionStep::Connected, 1_450 * MS);
        t.mark(TransitionStep::Connected, 1_999 * MS); // repeated: ignored
        t.mark(TransitionStep::FirstData, 1_460 * MS);
        let phases = t.phases();
        let get = |n| phases.iter().find(|(p, _)| *p == n).unwrap().1;
        assert!((get(Phase::Detect) - 0.310).abs() < 1e-9);
        assert!((get(Phase::Decide) - 0.002).abs() < 1e-9);
        assert!((get(Phase::Auth) - 0.028).abs() < 1e-9);
        assert!((get(Phase::Handshake) - 0.090).abs() < 1e-9);
        assert!((get(Phase::FirstData) - 0.010).abs() < 1e-9);
        assert_eq!(t.duration_ns(), Some(150 * MS));
        assert_eq!(t.timeline_ms().last().unwrap().1, TransitionStep::FirstData);
    }

    #[test]
    fn an_eap_exchange_is_a_phase_of_its_own_inside_the_handshake() {
        let mut t = Transition::new(Some(Trigger::Silence), None, 0);
        t.mark(TransitionStep::Associated, 100 * MS);
        t.mark(TransitionStep::EapStarted, 102 * MS);
        t.mark(TransitionStep::EapDone, 352 * MS);
        t.mark(TransitionStep::Connected, 400 * MS);
        let phases = t.phases();
        let get = |n| phases.iter().find(|(p, _)| *p == n).map(|(_, s)| *s);
        assert!((get(Phase::Eap).unwrap() - 0.250).abs() < 1e-9);
        assert!((get(Phase::Handshake).unwrap() - 0.300).abs() < 1e-9);
        let without = Transition::new(Some(Trigger::Silence), None, 0);
        assert!(without.phases().iter().all(|(p, _)| *p != Phase::Eap));
    }

    #[test]
    fn drop_reasons_are_differences() {
        let before = [(2, 5), (77, 1)];
        let now = [(2, 9), (77, 1), (5, 3)];
        assert_eq!(reasons_since(&now, &before), vec![(2, 4), (5, 3)]);
    }
}
