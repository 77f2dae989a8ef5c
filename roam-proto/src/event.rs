//! The agent's events: what `roam events` streams, one JSON object per line, and what the agent
//! logs at info. Every line carries `event` (the kind, snake case) and `t_us` (CLOCK_REALTIME
//! µs, comparable with other daemons' logs); the rest are the kind's own fields.
//!
//! Readers skip kinds they do not know ([`AgentEvent::Unknown`]) and fields they do not know,
//! so an agent may add both without breaking older consumers.

use std::{
    collections::BTreeMap,
    net::IpAddr,
    time::{SystemTime, UNIX_EPOCH},
};

use roam_common::{
    policy::{State, TriggerKind},
    MacAddr,
};
use serde::{Deserialize, Serialize};

/// One line of `roam events`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventLine {
    /// When it happened: CLOCK_REALTIME, µs since the epoch.
    pub t_us: i64,
    #[serde(flatten)]
    pub event: AgentEvent,
}

impl EventLine {
    /// `event`, stamped now.
    pub fn now(event: AgentEvent) -> EventLine {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        EventLine { t_us: i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX), event }
    }

    /// Parses one line; `None` for anything that is not an event line.
    pub fn parse(line: &str) -> Option<EventLine> {
        serde_json::from_str(line).ok()
    }

    /// Every event line of `text` (lines that are not events are skipped).
    pub fn parse_all(text: &str) -> impl Iterator<Item = EventLine> + '_ {
        text.lines().filter_map(EventLine::parse)
    }

    /// The line as the agent writes it, without the newline.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event always serializes")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum AgentEvent {
    /// The first line of an events stream: from here on the client receives every event.
    Subscribed { iface: String, version: u64 },
    /// Stands in for the `missed` events a slow client lost when the agent's buffer wrapped.
    Lagged { missed: u64 },
    /// The agent is on duty: programs attached, manager followed, control socket served.
    Started(Attached),
    /// On duty again after the station interface came back.
    Reattached(Attached),
    /// The station interface went away; everything attached to it is gone.
    StationRemoved { iface: String },
    /// The agent stopped (SIGINT/SIGTERM) and detached everything.
    Stopped,
    /// The connection manager restarted; the agent follows the new one.
    ManagerRestarted { backend: Backend },
    /// A transition of the state machine.
    State { from: State, to: State },
    /// The current AP is taken for lost.
    LossDetected {
        trigger: TriggerKind,
        bssid: MacAddr,
        source: LossSource,
        /// From the AP's last frame (or the event) to the detection.
        unheard_ms: f64,
        /// Where roam would go now, if anywhere.
        best: Option<MacAddr>,
        /// Candidates of the network known at that moment.
        candidates: usize,
        /// For a roam on a fading signal: the levels it compared.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signal: Option<FadingSignal>,
    },
    /// roam acts on a loss.
    RoamStarted {
        trigger: TriggerKind,
        target: MacAddr,
        freq_mhz: u32,
        /// The target's one channel is scanned first (the manager does not know it yet).
        scan_first: bool,
        /// The AP ended the association: roam makes the manager reconnect, pinned to `target`.
        reconnect: bool,
        backend: Backend,
        /// The same roam again, another way: a full reconnection to the same target after the
        /// fast roam failed there. Not a roam of its own: the per-minute cap counted the first.
        #[serde(default)]
        fallback: bool,
    },
    /// The manager refused roam's request, or it failed at once.
    RoamActionFailed { error: String },
    /// roam saw a loss and does not act (yet).
    RoamHeld {
        trigger: TriggerKind,
        why: HoldReason,
        /// When roam may try again, if it will (backoff, cap).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_in_ms: Option<u64>,
    },
    /// The AP taken for lost was heard again before roam acted.
    FalseAlarm { trigger: TriggerKind },
    /// How roam's action ended.
    RoamResult { trigger: TriggerKind, result: RoamResult },
    /// A transition is over: traffic flows again (or the wait for it ended).
    TransitionFinished(TransitionReport),
    /// Neighbour entries flushed at the carrier loss were put back at the new AP's port opening.
    NeighboursRestored {
        bssid: MacAddr,
        addresses: Vec<IpAddr>,
        confirmed_by: ConfirmedBy,
        after_port_open_ms: f64,
    },
    /// The transition took the station's IPv6 default route, and roam asked the routers to
    /// advertise again after the port opened.
    RouterSolicited {
        bssid: MacAddr,
        solicitations: u32,
        /// When a default route was back, from the port opening; `None` if none came back
        /// before roam stopped waiting.
        route_restored_after_ms: Option<f64>,
    },
    /// A kind this build does not know (from a newer agent).
    #[serde(other)]
    Unknown,
}

impl AgentEvent {
    /// The `event` field.
    pub fn name(&self) -> &'static str {
        match self {
            AgentEvent::Subscribed { .. } => "subscribed",
            AgentEvent::Lagged { .. } => "lagged",
            AgentEvent::Started(_) => "started",
            AgentEvent::Reattached(_) => "reattached",
            AgentEvent::StationRemoved { .. } => "station_removed",
            AgentEvent::Stopped => "stopped",
            AgentEvent::ManagerRestarted { .. } => "manager_restarted",
            AgentEvent::State { .. } => "state",
            AgentEvent::LossDetected { .. } => "loss_detected",
            AgentEvent::RoamStarted { .. } => "roam_started",
            AgentEvent::RoamActionFailed { .. } => "roam_action_failed",
            AgentEvent::RoamHeld { .. } => "roam_held",
            AgentEvent::FalseAlarm { .. } => "false_alarm",
            AgentEvent::RoamResult { .. } => "roam_result",
            AgentEvent::TransitionFinished(_) => "transition_finished",
            AgentEvent::NeighboursRestored { .. } => "neighbours_restored",
            AgentEvent::RouterSolicited { .. } => "router_solicited",
            AgentEvent::Unknown => "unknown",
        }
    }
}

/// `started` and `reattached`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attached {
    pub iface: String,
    pub observe_only: bool,
    pub backend: Backend,
    /// Kernel hooks attached.
    pub hooks: usize,
}

/// What roam drives roams through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// wpa_supplicant's control socket.
    #[default]
    WpaSupplicant,
    /// cfg80211's own SME through nl80211 (no supplicant).
    Nl80211,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::WpaSupplicant => "wpa_supplicant",
            Backend::Nl80211 => "nl80211",
        }
    }
}

/// Who told roam the AP was lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossSource {
    /// roam's kernel program: the AP unheard for N beacon intervals.
    Silence,
    /// roam's probes: the AP stopped acknowledging them.
    Ack,
    /// mac80211 (or the driver) declared beacon or connection loss.
    Mac80211,
    /// The AP ended the association (deauthentication, disassociation).
    Ap,
    /// The serving AP's signal is fading below `detect.signal_threshold_dbm` and another AP of
    /// the network is stronger by the hysteresis: a roam before the link breaks.
    Signal,
}

impl LossSource {
    /// The `source` label of `roam_beacon_losses_detected_total`.
    pub fn name(self) -> &'static str {
        match self {
            LossSource::Silence => "silence",
            LossSource::Ack => "ack",
            LossSource::Mac80211 => "mac80211",
            LossSource::Ap => "ap",
            LossSource::Signal => "signal",
        }
    }
}

/// Why roam holds a loss instead of acting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// `--observe-only` / `act.observe_only`.
    ObserveOnly,
    /// The AP ended the association with a reason that lets the station straight back in (4,
    /// 6, 7), and wpa_supplicant reconnects to it at once by itself: roam stays out of its way.
    ManagerReconnects,
    /// No usable BSS of the network is known.
    NoCandidate,
    /// Backing off after failed roams.
    BackingOff,
    /// `act.max_roams_per_minute` reached.
    Capped,
}

/// How roam's action on a loss ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoamResult {
    #[default]
    Success,
    Failure,
    Timeout,
}

impl RoamResult {
    pub const ALL: [RoamResult; 3] =
        [RoamResult::Success, RoamResult::Failure, RoamResult::Timeout];

    /// The `result` label of `roam_attempts_total`.
    pub fn name(self) -> &'static str {
        match self {
            RoamResult::Success => "success",
            RoamResult::Failure => "failure",
            RoamResult::Timeout => "timeout",
        }
    }
}

/// What released the traffic held behind flushed neighbour entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmedBy {
    /// The gateway answered roam's ARP request through the new AP (the first neighbour to).
    ArpReply(IpAddr),
    /// An IPv6 neighbour (the router) answered roam's neighbour solicitation through the new AP
    /// (the first neighbour to).
    NeighbourAdvertisement(IpAddr),
    /// Nothing to ask (no flushed neighbour, or no address to ask from): nothing went back.
    Settle,
    /// Nobody answered: nothing went back (the kernel resolves the entries as without roam).
    NoAnswer,
}

/// A roam's phases, in the order they happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// The AP's last frame (or the event) to roam's detection.
    Detect,
    /// Detection to roam's action.
    Decide,
    /// The action to the association request.
    Auth,
    /// The association request to the association.
    Assoc,
    /// The association to the connection (key handshake).
    Handshake,
    /// The EAP exchange, inside the handshake, when one happened (802.1X networks).
    Eap,
    /// The connection to the first data frame from the new AP.
    FirstData,
}

impl Phase {
    pub const ALL: [Phase; 7] = [
        Phase::Detect,
        Phase::Decide,
        Phase::Auth,
        Phase::Assoc,
        Phase::Handshake,
        Phase::Eap,
        Phase::FirstData,
    ];

    /// The `phase` label of `roam_phase_duration_seconds`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Detect => "detect",
            Phase::Decide => "decide",
            Phase::Auth => "auth",
            Phase::Assoc => "assoc",
            Phase::Handshake => "handshake",
            Phase::Eap => "eap",
            Phase::FirstData => "first_data",
        }
    }
}

/// Why the signal rule roamed: the serving AP's level (the mean of its last second) and the
/// target's, which was better by the hysteresis.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FadingSignal {
    pub serving_dbm: f64,
    pub target_dbm: i32,
}

/// `transition_finished`: one link transition, from the loss of the old AP to the first data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransitionReport {
    /// Why it began; `supplicant` when the manager moved on its own and roam measured it.
    pub trigger: TriggerKind,
    /// roam acted (otherwise it watched).
    pub acted: bool,
    pub from: Option<MacAddr>,
    pub to: Option<MacAddr>,
    /// Detection (or the loss, if roam did not detect it) to the first data.
    pub duration_ms: Option<f64>,
    /// The phases whose both ends were seen, in ms.
    pub phases: BTreeMap<Phase, f64>,
    pub window: WindowReport,
}

/// What a transition cost the station's traffic, from the kernel's counters. Packets are the
/// station's data packets (IP datagrams).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowReport {
    /// Handed to the station interface during the window.
    pub sent: u64,
    /// Put on the air after the AP was last heard and before the station left it: transmitted,
    /// but nobody was there to receive them.
    pub unanswered: u64,
    /// Of the station's sockets, dropped by the kernel on its interface, by drop reason.
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub dropped: u64,
    /// Queued behind an unresolved neighbour (delayed, not lost).
    pub held: u64,
    /// Lost in all: unanswered + dropped.
    pub lost: u64,
    pub duration_ms: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    const AP: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);

    fn round_trip(event: AgentEvent) -> String {
        let line = EventLine { t_us: 1_700_000_000_250_000, event };
        let json = line.to_json();
        assert_eq!(EventLine::parse(&json).as_ref(), Some(&line), "{json}");
        json
    }

    #[test]
    fn lines_are_flat_objects_named_by_event() {
        let json = round_trip(AgentEvent::LossDetected {
            trigger: TriggerKind::Silence,
            bssid: AP,
            source: LossSource::Silence,
            unheard_ms: 307.5,
            best: None,
            candidates: 2,
            signal: None,
        });
        assert_eq!(
            json,
            r#"{"t_us":1700000000250000,"event":"loss_detected","trigger":"silence","bssid":"02:00:00:00:01:00","source":"silence","unheard_ms":307.5,"best":null,"candidates":2}"#
        );
        let fading = round_trip(AgentEvent::LossDetected {
            trigger: TriggerKind::Signal,
            bssid: AP,
            source: LossSource::Signal,
            unheard_ms: 0.0,
            best: Some(AP),
            candidates: 1,
            signal: Some(FadingSignal { serving_dbm: -73.5, target_dbm: -64 }),
        });
        assert!(
            fading.ends_with(r#""signal":{"serving_dbm":-73.5,"target_dbm":-64}}"#),
            "{fading}"
        );
        assert_eq!(
            round_trip(AgentEvent::Stopped),
            r#"{"t_us":1700000000250000,"event":"stopped"}"#
        );
    }

    #[test]
    fn every_kind_round_trips_under_its_name() {
        let attached = Attached {
            iface: "wlan0".into(),
            observe_only: false,
            backend: Backend::Nl80211,
            hooks: 9,
        };
        let report = TransitionReport {
            trigger: TriggerKind::Supplicant,
            acted: false,
            from: Some(AP),
            to: None,
            duration_ms: Some(120.0),
            phases: [(Phase::Auth, 30.5), (Phase::FirstData, 9.0)].into_iter().collect(),
            window: WindowReport {
                sent: 3,
                dropped_by_reason: [("QDISC_DROP".to_owned(), 1)].into_iter().collect(),
                dropped: 1,
                lost: 1,
                ..WindowReport::default()
            },
        };
        let events = [
            AgentEvent::Subscribed { iface: "wlan0".into(), version: 1 },
            AgentEvent::Lagged { missed: 3 },
            AgentEvent::Started(attached.clone()),
            AgentEvent::Reattached(attached),
            AgentEvent::StationRemoved { iface: "wlan0".into() },
            AgentEvent::Stopped,
            AgentEvent::ManagerRestarted { backend: Backend::WpaSupplicant },
            AgentEvent::State { from: State::Run, to: State::Roaming },
            AgentEvent::RoamStarted {
                trigger: TriggerKind::Deauth,
                target: AP,
                freq_mhz: 2437,
                scan_first: false,
                reconnect: true,
                backend: Backend::WpaSupplicant,
                fallback: false,
            },
            AgentEvent::RoamActionFailed { error: "FAIL".into() },
            AgentEvent::RoamHeld {
                trigger: TriggerKind::Silence,
                why: HoldReason::Capped,
                retry_in_ms: Some(40_000),
            },
            AgentEvent::FalseAlarm { trigger: TriggerKind::Silence },
            AgentEvent::RoamResult { trigger: TriggerKind::Deauth, result: RoamResult::Timeout },
            AgentEvent::TransitionFinished(report),
            AgentEvent::NeighboursRestored {
                bssid: AP,
                addresses: vec!["10.0.0.1".parse().unwrap()],
                confirmed_by: ConfirmedBy::ArpReply("10.0.0.1".parse().unwrap()),
                after_port_open_ms: 4.5,
            },
            AgentEvent::RouterSolicited {
                bssid: AP,
                solicitations: 1,
                route_restored_after_ms: Some(12.0),
            },
        ];
        for event in events {
            let name = event.name();
            let json = round_trip(event);
            assert!(json.contains(&format!(r#""event":"{name}""#)), "{json}");
        }
    }

    #[test]
    fn the_wire_format_of_nested_values() {
        let json = round_trip(AgentEvent::NeighboursRestored {
            bssid: AP,
            addresses: vec![],
            confirmed_by: ConfirmedBy::ArpReply("10.0.0.1".parse().unwrap()),
            after_port_open_ms: 1.0,
        });
        assert!(json.contains(r#""confirmed_by":{"arp_reply":"10.0.0.1"}"#), "{json}");
        let json = round_trip(AgentEvent::NeighboursRestored {
            bssid: AP,
            addresses: vec![],
            confirmed_by: ConfirmedBy::Settle,
            after_port_open_ms: 1.0,
        });
        assert!(json.contains(r#""confirmed_by":"settle""#), "{json}");
        let report = TransitionReport {
            phases: [(Phase::FirstData, 9.0)].into_iter().collect(),
            ..TransitionReport::default()
        };
        let json = round_trip(AgentEvent::TransitionFinished(report));
        assert!(json.contains(r#""phases":{"first_data":9.0}"#), "{json}");
    }

    #[test]
    fn unknown_kinds_and_fields_are_tolerated_and_junk_is_not_an_event() {
        let line = EventLine::parse(r#"{"event":"from_the_future","t_us":5,"x":1}"#).unwrap();
        assert_eq!(line, EventLine { t_us: 5, event: AgentEvent::Unknown });
        let line =
            EventLine::parse(r#"{"event":"false_alarm","t_us":5,"trigger":"silence","new":[1]}"#);
        assert_eq!(line.unwrap().event, AgentEvent::FalseAlarm { trigger: TriggerKind::Silence });
        assert_eq!(EventLine::parse("not json"), None);
        assert_eq!(EventLine::parse(r#"{"event":"stopped"}"#), None, "no t_us");
        assert_eq!(EventLine::parse_all("x\n{\"event\":\"stopped\",\"t_us\":1}\n").count(), 1);
    }

    #[test]
    fn label_names_match_the_json() {
        for phase in Phase::ALL {
            assert_eq!(serde_json::to_string(&phase).unwrap(), format!("\"{}\"", phase.name()));
        }
        for result in RoamResult::ALL {
            assert_eq!(serde_json::to_string(&result).unwrap(), format!("\"{}\"", result.name()));
        }
        for source in [LossSource::Silence, LossSource::Ack, LossSource::Mac80211, LossSource::Ap] {
            assert_eq!(serde_json::to_string(&source).unwrap(), format!("\"{}\"", source.name()));
        }
        for backend in [Backend::WpaSupplicant, Backend::Nl80211] {
            assert_eq!(serde_json::to_string(&backend).unwrap(), format!("\"{}\"", backend.name()));
        }
    }
}
