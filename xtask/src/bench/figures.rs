//! From one run's timeline and logs to the figures the benchmark reports: the milestones of the
//! recovery on one axis for every stack, and what roam's agent said about its own transition.
//! Pure functions over the run's text, so they are tested on captured lines.

use std::collections::BTreeMap;

use roam_proto::{AgentEvent, EventLine, Phase, TransitionReport, WindowReport};
use roam_testbed::timeline::TimelineEvent;
use serde::{Deserialize, Serialize};

/// When the recovery reached each step, in ms from the trigger; `None` where the timeline does
/// not show it (a stack that logs nothing of that step, or a run that never got there).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Milestones {
    /// The station noticed: roam's detection, mac80211's beacon loss, the carrier going off,
    /// a deauth/disassoc handed up, or the manager's own beacon loss or disconnection,
    /// whichever came first.
    pub detect_ms: Option<f64>,
    /// The station sent its authentication request to the new AP (kernel).
    pub auth_ms: Option<f64>,
    /// ... its association request (kernel).
    pub assoc_ms: Option<f64>,
    /// The connection is complete, handshake included: wpa_supplicant's CONNECTED, iwd's
    /// `connected` state, or the 802.1X port authorised in mac80211.
    pub handshake_ms: Option<f64>,
    /// The first probe answered after the gap.
    pub first_data_ms: Option<f64>,
}

/// Events that mean "the station noticed".
const DETECTIONS: &[(&str, &str)] = &[
    ("roam", "roam_detect"),
    ("kernel", "beacon_loss"),
    ("kernel", "carrier_off"),
    ("kernel", "deauth_rx"),
    ("kernel", "disassoc_rx"),
    ("wpa_supplicant", "disconnected"),
    ("iwd", "beacon_loss"),
    ("iwd", "disconnected"),
];

/// Events that mean "connected, handshake done".
const CONNECTED: &[(&str, &str)] =
    &[("wpa_supplicant", "connected"), ("iwd", "connected"), ("kernel", "port_authorized")];

impl Milestones {
    /// Reads the milestones off a run's timeline. The recovery's authentication is the last
    /// one before the first answered probe (a failed attempt may come earlier); a detection
    /// counts only before it (in a deliberate roam the carrier goes off during the
    /// reassociation, which is no detection); the rest follow in order.
    pub fn of(timeline: &[TimelineEvent]) -> Milestones {
        let is = |e: &TimelineEvent, wanted: &[(&str, &str)]| {
            wanted.iter().any(|(source, event)| e.source == *source && e.event == *event)
        };
        let first_after = |from: f64, wanted: &[(&str, &str)]| {
            timeline.iter().find(|e| e.t_ms >= from && is(e, wanted)).map(|e| e.t_ms)
        };
        let first_data_ms = first_after(0.0, &[("probe", "first_probe_answered")]);
        let until = first_data_ms.unwrap_or(f64::INFINITY);
        let auth_ms = timeline
            .iter()
            .rev()
            .filter(|e| e.t_ms >= 0.0 && e.t_ms <= until)
            .find(|e| is(e, &[("kernel", "auth")]))
            .map(|e| e.t_ms);
        let detect_ms =
            first_after(0.0, DETECTIONS).filter(|&t| auth_ms.is_none_or(|auth| t <= auth));
        let assoc_ms = auth_ms.and_then(|t| first_after(t, &[("kernel", "assoc")]));
        let handshake_ms = assoc_ms.and_then(|t| first_after(t, CONNECTED));
        Milestones { detect_ms, auth_ms, assoc_ms, handshake_ms, first_data_ms }
    }
}

/// What roam's agent reported about the run's first transition (`roam events`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentAccount {
    /// Transitions the agent finished during the run.
    pub transitions: u32,
    /// The agent's detection latency: from the AP's last frame or the triggering event to its
    /// decision that the AP is lost.
    pub detection_ms: Option<f64>,
    /// The agent's phases of its first transition (detect, decide, auth, assoc, handshake,
    /// first_data), ms.
    pub phases_ms: BTreeMap<String, f64>,
    /// Drop-window packets over every transition of the run, as the kernel counted them.
    pub window_lost: u64,
    pub window_sent: u64,
    pub window_held: u64,
    pub window_dropped: u64,
}

impl AgentAccount {
    /// Reads `roam events` JSON lines; `None` if the agent finished no transition.
    pub fn of(events_jsonl: &str) -> Option<AgentAccount> {
        let finished: Vec<TransitionReport> = EventLine::parse_all(events_jsonl)
            .filter_map(|line| match line.event {
                AgentEvent::TransitionFinished(report) => Some(report),
                _ => None,
            })
            .collect();
        let first = finished.first()?;
        let phases_ms: BTreeMap<String, f64> =
            first.phases.iter().map(|(phase, ms)| (phase.name().to_owned(), *ms)).collect();
        let sum = |count: fn(&WindowReport) -> u64| finished.iter().map(|t| count(&t.window)).sum();
        Some(AgentAccount {
            transitions: finished.len() as u32,
            detection_ms: first.phases.get(&Phase::Detect).copied(),
            phases_ms,
            window_lost: sum(|w| w.lost),
            window_sent: sum(|w| w.sent),
            window_held: sum(|w| w.held),
            window_dropped: sum(|w| w.dropped),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(t_ms: f64, event: &str, source: &str) -> TimelineEvent {
        TimelineEvent::new(t_ms, event, source)
    }

    /// A roam-stack ap-disable run (session 20261121-175725), trimmed.
    fn roam_run() -> Vec<TimelineEvent> {
        vec![
            ev(-3.0, "auth", "kernel"),
            ev(7.3, "carrier_off", "kernel"),
            ev(17.1, "deauth_rx", "kernel"),
            ev(18.8, "disconnected", "wpa_supplicant"),
            ev(33.1, "roam_detect", "roam"),
            ev(88.8, "disable ap0", "runner"),
            ev(102.9, "auth", "wpa_supplicant"),
            ev(106.4, "auth", "kernel"),
            ev(201.5, "auth_rx", "kernel"),
            ev(204.6, "assoc", "kernel"),
            ev(213.0, "carrier_on", "kernel"),
            ev(288.4, "connected", "wpa_supplicant"),
            ev(323.4, "first_probe_answered", "probe"),
        ]
    }

    #[test]
    fn milestones_of_a_roam() {
        let m = Milestones::of(&roam_run());
        assert_eq!(m.detect_ms, Some(7.3), "the carrier went off first");
        assert_eq!(m.auth_ms, Some(106.4));
        assert_eq!(m.assoc_ms, Some(204.6));
        assert_eq!(m.handshake_ms, Some(288.4));
        assert_eq!(m.first_data_ms, Some(323.4));
    }

    #[test]
    fn a_failed_attempt_does_not_count_as_the_recovery() {
        let timeline = vec![
            ev(1200.0, "beacon_loss", "kernel"),
            ev(1300.0, "auth", "kernel"),
            ev(1500.0, "auth", "kernel"),
            ev(1510.0, "assoc", "kernel"),
            ev(1600.0, "connected", "iwd"),
            ev(1650.0, "first_probe_answered", "probe"),
            ev(1900.0, "auth", "kernel"),
        ];
        let m = Milestones::of(&timeline);
        assert_eq!(m.detect_ms, Some(1200.0));
        assert_eq!(m.auth_ms, Some(1500.0));
        assert_eq!(m.handshake_ms, Some(1600.0), "iwd's connected state ends a handshake");
    }

    #[test]
    fn a_deliberate_roam_has_no_detection() {
        let timeline = vec![
            ev(0.0, "roam to ap1", "runner"),
            ev(12.0, "auth", "kernel"),
            ev(30.0, "assoc", "kernel"),
            ev(33.0, "carrier_off", "kernel"),
            ev(90.0, "connected", "wpa_supplicant"),
            ev(1080.0, "first_probe_answered", "probe"),
        ];
        let m = Milestones::of(&timeline);
        assert_eq!(m.detect_ms, None, "the carrier went off after the roam began");
        assert_eq!((m.auth_ms, m.assoc_ms, m.handshake_ms), (Some(12.0), Some(30.0), Some(90.0)));
    }

    #[test]
    fn missing_steps_stay_missing() {
        let m = Milestones::of(&[ev(5.0, "first_probe_answered", "probe")]);
        assert_eq!(m, Milestones { first_data_ms: Some(5.0), ..Milestones::default() });
        assert_eq!(Milestones::of(&[]), Milestones::default());
    }

    #[test]
    fn the_agents_account_of_its_transitions() {
        let jsonl = r#"{"event":"state","from":"run","to":"init","t_us":1}
{"acted":true,"duration_ms":259.8,"event":"transition_finished","t_us":2,"phases":{"assoc":19.4,"auth":142.9,"decide":25.7,"detect":20.9,"first_data":22.8,"handshake":49.1},"window":{"dropped":1,"held":27,"lost":1,"sent":28}}
not json
{"event":"transition_finished","t_us":3,"phases":{"detect":300.0},"window":{"dropped":0,"held":3,"lost":2,"sent":5}}"#;
        let account = AgentAccount::of(jsonl).unwrap();
        assert_eq!(account.transitions, 2);
        assert_eq!(account.detection_ms, Some(20.9));
        assert_eq!(account.phases_ms.len(), 6);
        assert_eq!(account.phases_ms["auth"], 142.9);
        assert_eq!(
            (account.window_lost, account.window_sent, account.window_held, account.window_dropped),
            (3, 33, 30, 1)
        );
        assert_eq!(AgentAccount::of(r#"{"event":"state"}"#), None);
    }
}
