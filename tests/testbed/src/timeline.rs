//! Timeline events: what wpa_supplicant and the kernel said around a trigger, in ms from it.
//!
//! The sources parsed here (pure functions, so they are unit-tested on captured lines):
//! - wpa_supplicant's debug log written with `-t` (`<seconds>.<micros>: <iface>: <message>`),
//!   timestamps from CLOCK_REALTIME;
//! - iwd's debug log (`iwd -d`), whose lines the testbed stamps with CLOCK_REALTIME as it reads
//!   them (`<seconds>.<micros>: <file>:<function>() <message>`);
//! - the ftrace buffer with `trace_clock=mono` (`... <seconds>.<micros>: <event>: <fields>`),
//!   timestamps from CLOCK_MONOTONIC.
//!
//! The runner records the trigger on both clocks, so both map onto one axis.

use roam_proto::{AgentEvent, EventLine};
use serde::{Deserialize, Serialize};

/// One event of a run's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEvent {
    /// Milliseconds from the trigger (negative: before it).
    pub t_ms: f64,
    /// What happened: `beacon_loss`, `disconnected`, `scan_started`, `auth`, `4way_done`, ...
    pub event: String,
    /// Who reported it: `wpa_supplicant`, `kernel`, `probe`, `runner`, ...
    pub source: String,
}

impl TimelineEvent {
    /// An event at `t_ms`, kept to the microsecond (the sources' resolution).
    pub fn new(t_ms: f64, event: impl Into<String>, source: impl Into<String>) -> Self {
        let t_ms = (t_ms * 1e3).round() / 1e3;
        TimelineEvent { t_ms, event: event.into(), source: source.into() }
    }
}

/// Connections the station completed after the trigger (roams and reconnections), as the
/// connection manager reported them (wpa_supplicant's `CTRL-EVENT-CONNECTED`, iwd's
/// `connected` state).
pub fn connections_after_trigger(events: &[TimelineEvent]) -> u32 {
    let by_manager = |e: &&TimelineEvent| e.source == "wpa_supplicant" || e.source == "iwd";
    events.iter().filter(by_manager).filter(|e| e.t_ms > 0.0 && e.event == "connected").count()
        as u32
}

/// Sorts events by time (stable, so same-time events keep their source order).
pub fn sort(events: &mut [TimelineEvent]) {
    events.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
}

/// wpa_supplicant messages worth a timeline entry: message prefix -> event name.
const WPA_SUPPLICANT_EVENTS: &[(&str, &str)] = &[
    ("CTRL-EVENT-BEACON-LOSS", "beacon_loss"),
    ("CTRL-EVENT-DISCONNECTED", "disconnected"),
    // Scan events reach only control-interface clients, not the log: use the driver events.
    ("Event SCAN_STARTED", "scan_started"),
    ("Event SCAN_RESULTS", "scan_results"),
    ("SME: Trying to authenticate with", "auth"),
    ("Trying to associate with", "assoc"),
    ("Associated with", "associated"),
    ("CTRL-EVENT-EAP-STARTED", "eap_started"),
    ("CTRL-EVENT-EAP-SUCCESS", "eap_done"),
    ("WPA: Key negotiation completed with", "4way_done"),
    ("CTRL-EVENT-CONNECTED", "connected"),
];

/// Parses one line of `wpa_supplicant -t` output about `iface`: (CLOCK_REALTIME µs, event).
pub fn parse_wpa_supplicant_line(line: &str, iface: &str) -> Option<(i64, &'static str)> {
    let (stamp, rest) = line.split_once(": ")?;
    let message = rest.strip_prefix(iface)?.strip_prefix(": ")?;
    let event = WPA_SUPPLICANT_EVENTS.iter().find(|(prefix, _)| message.starts_with(prefix))?.1;
    Some((parse_seconds_as_micros(stamp)?, event))
}

/// Parses `1700000000.123456` into microseconds without going through f64 (which would round
/// epoch times at the microsecond).
pub fn parse_seconds_as_micros(stamp: &str) -> Option<i64> {
    let (seconds, fraction) = stamp.trim().split_once('.').unwrap_or((stamp.trim(), "0"));
    if fraction.is_empty() || fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: i64 = seconds.parse().ok()?;
    let padded = format!("{fraction:0<6}");
    let micros: i64 = padded[..6].parse().ok()?;
    Some(seconds * 1_000_000 + micros)
}

/// iwd debug messages worth a timeline entry: message prefix -> event. iwd logs no auth or
/// assoc of its own worth the name (the kernel's `rdev_auth`/`rdev_assoc` give them); its
/// station states tell what it decided.
const IWD_EVENTS: &[(&str, &str)] = &[
    ("Beacon lost event", "beacon_loss"),
    // mac80211's CQM packet-loss report; iwd starts a roam from 10 lost packets.
    ("Packets lost event", "packet_loss"),
    ("Scan notification Trigger Scan", "scan_started"),
    ("Scan notification New Scan Results", "scan_results"),
];

/// iwd station states (`station_enter_state()`'s "new state") -> event.
const IWD_STATES: &[(&str, &str)] = &[
    ("disconnected", "disconnected"),
    ("autoconnect_quick", "autoconnect_quick"),
    ("autoconnect_full", "autoconnect_full"),
    ("connecting", "connecting"),
    ("connecting (auto)", "connecting"),
    ("connected", "connected"),
    ("disconnecting", "disconnecting"),
    ("roaming", "roaming"),
    ("ft-roaming", "roaming"),
    ("fw-roaming", "roaming"),
];

/// Parses one line of iwd's debug log as the testbed writes it (each line stamped when read):
/// (CLOCK_REALTIME µs, event).
pub fn parse_iwd_line(line: &str) -> Option<(i64, &'static str)> {
    let (stamp, rest) = line.split_once(": ")?;
    // `src/station.c:station_enter_state() Old State: connected, new state: roaming`
    let (_function, message) = rest.split_once("() ")?;
    let event = match message.split_once("new state: ") {
        Some((_, state)) => IWD_STATES.iter().find(|(name, _)| *name == state.trim())?.1,
        None => IWD_EVENTS.iter().find(|(prefix, _)| message.starts_with(prefix))?.1,
    };
    Some((parse_seconds_as_micros(stamp)?, event))
}

/// roam's agent events worth a timeline entry, by their timeline name.
fn roam_timeline_event(event: &AgentEvent) -> Option<&'static str> {
    Some(match event {
        AgentEvent::LossDetected { .. } => "roam_detect",
        // A fallback is the same roam again, another way: not a second action.
        AgentEvent::RoamStarted { fallback: true, .. } => "roam_fallback",
        AgentEvent::RoamStarted { .. } => "roam_act",
        AgentEvent::RoamHeld { .. } => "roam_held",
        AgentEvent::RoamActionFailed { .. } => "roam_failed",
        AgentEvent::FalseAlarm { .. } => "roam_false_alarm",
        AgentEvent::TransitionFinished(_) => "roam_traffic_flowing",
        AgentEvent::RoamResult { .. } => "roam_result",
        AgentEvent::ManagerRestarted { .. } => "roam_followed_restart",
        AgentEvent::StationRemoved { .. } => "roam_detached",
        AgentEvent::Reattached(_) => "roam_reattached",
        _ => return None,
    })
}

/// Parses one line of `roam events`: (CLOCK_REALTIME µs, event).
pub fn parse_roam_event_line(line: &str) -> Option<(i64, &'static str)> {
    let line = EventLine::parse(line)?;
    Some((line.t_us, roam_timeline_event(&line.event)?))
}

/// Packets the agent counted as lost in the drop windows of the transitions in `text` (lines
/// of `roam events`), and how many transitions there were.
pub fn roam_window_losses(text: &str) -> (u64, u32) {
    EventLine::parse_all(text)
        .filter_map(|line| match line.event {
            AgentEvent::TransitionFinished(report) => Some(report.window.lost),
            _ => None,
        })
        .fold((0, 0), |(lost, n), window_lost| (lost + window_lost, n + 1))
}

/// Parses one ftrace line that concerns the station (its netdev or phy is named in the fields):
/// (CLOCK_MONOTONIC µs, event).
pub fn parse_ftrace_line(line: &str, station_names: &[&str]) -> Option<(i64, &'static str)> {
    // `<task>-<pid> [cpu] <flags> <stamp>: <event>: <fields>`
    let (head, rest) = line.split_once(": ")?;
    let stamp = head.split_whitespace().last()?;
    let (name, fields) = rest.split_once(": ").unwrap_or((rest, ""));
    // Only the station scans, and scan_done names no interface.
    let anyones = name == "cfg80211_scan_done";
    if !anyones && !station_names.iter().any(|n| mentions(fields, n)) {
        return None;
    }
    let event = match name {
        "api_cqm_beacon_loss_notify" => "beacon_loss",
        "carrier_off" => "carrier_off",
        "carrier_on" => "carrier_on",
        "rdev_auth" => "auth",
        "rdev_assoc" => "assoc",
        "rdev_scan" => "scan_started",
        "cfg80211_scan_done" => "scan_done",
        "cfg80211_rx_mlme_mgmt" => match frame_subtype(fields)? {
            0xc0 => "deauth_rx",
            0xa0 => "disassoc_rx",
            0xb0 => "auth_rx",
            0x10 | 0x30 => "assoc_rx",
            _ => return None,
        },
        "cfg80211_tx_mlme_mgmt" => match frame_subtype(fields)? {
            0xc0 => "deauth_tx",
            0xa0 => "disassoc_tx",
            _ => return None,
        },
        _ => return None,
    };
    Some((parse_seconds_as_micros(stamp)?, event))
}

/// The frame type/subtype byte: `ftype:0xc0` (6.1) or the first byte of `frame: {0xc0,...}`.
fn frame_subtype(fields: &str) -> Option<u8> {
    let value = match fields.split_once("ftype:") {
        Some((_, rest)) => rest,
        None => fields.split_once("frame: ")?.1.trim_start_matches(['{', '[', ' ']),
    };
    let byte = value.split([',', ' ', '}', ']']).next()?;
    u8::from_str_radix(byte.trim_start_matches("0x"), 16).ok()
}

/// Whether `text` names `name` as a whole word (`sta0` in `netdev:sta0(5)`, not in `sta01`).
fn mentions(text: &str, name: &str) -> bool {
    text.match_indices(name).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        !is_word(before) && !is_word(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_the_managers_after_the_trigger() {
        let events = [
            TimelineEvent::new(-50.0, "connected", "wpa_supplicant"),
            TimelineEvent::new(120.0, "connected", "wpa_supplicant"),
            TimelineEvent::new(125.0, "roam_result", "roam"),
            TimelineEvent::new(900.0, "connected", "iwd"),
            TimelineEvent::new(950.0, "connected", "roam"),
        ];
        assert_eq!(connections_after_trigger(&events), 2);
    }

    #[test]
    fn wpa_supplicant_lines() {
        let line = "1700000000.250000: sta0: CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:00:00 reason=4 locally_generated=1";
        assert_eq!(
            parse_wpa_supplicant_line(line, "sta0"),
            Some((1_700_000_000_250_000, "disconnected"))
        );
        let line = "1700000001.000001: sta0: WPA: Key negotiation completed with 02:00:00:00:01:00 [PTK=CCMP GTK=CCMP]";
        assert_eq!(
            parse_wpa_supplicant_line(line, "sta0"),
            Some((1_700_000_001_000_001, "4way_done"))
        );
        let line = "1795246616.263981: sta0: Event SCAN_STARTED (47) received";
        assert_eq!(
            parse_wpa_supplicant_line(line, "sta0"),
            Some((1_795_246_616_263_981, "scan_started"))
        );
        let line = "1700000001.5: sta0: SME: Trying to authenticate with 02:00:00:00:01:00 (SSID='roam' freq=2437 MHz)";
        assert_eq!(parse_wpa_supplicant_line(line, "sta0"), Some((1_700_000_001_500_000, "auth")));
        // Debug lines that merely quote an event, and other interfaces, are not events.
        assert_eq!(parse_wpa_supplicant_line("1.0: nl80211: Associated with 02:00", "sta0"), None);
        assert_eq!(parse_wpa_supplicant_line("1.0: ap0: CTRL-EVENT-CONNECTED - x", "sta0"), None);
        assert_eq!(parse_wpa_supplicant_line("garbage", "sta0"), None);
    }

    #[test]
    fn seconds_parse_exactly() {
        assert_eq!(parse_seconds_as_micros("12.000034"), Some(12_000_034));
        assert_eq!(parse_seconds_as_micros("12.5"), Some(12_500_000));
        assert_eq!(parse_seconds_as_micros("12.123456789"), Some(12_123_456));
        assert_eq!(parse_seconds_as_micros("12"), Some(12_000_000));
        assert_eq!(parse_seconds_as_micros("1x.5"), None);
    }

    #[test]
    fn ftrace_lines() {
        let names = ["sta0", "phy2"];
        let line = "  wpa_supplicant-231     [001] .....    42.100200: rdev_auth: phy2, netdev:sta0(5), bssid: 02:00:00:00:01:00, auth type: 0";
        assert_eq!(parse_ftrace_line(line, &names), Some((42_100_200, "auth")));
        let line = "          <idle>-0       [000] ..s1.    41.000001: cfg80211_rx_mlme_mgmt: netdev:sta0(5), len: 26, frame: {0xc0,0x00,0x3a,0x01}";
        assert_eq!(parse_ftrace_line(line, &names), Some((41_000_001, "deauth_rx")));
        let line = "    kworker/u4:0-9       [000] .....    12.209933: cfg80211_tx_mlme_mgmt: netdev:sta0(5), ftype:0xc0 reconnect:0";
        assert_eq!(parse_ftrace_line(line, &names), Some((12_209_933, "deauth_tx")));
        let line = "    kworker/u4:0-9       [000] .....    12.364463: cfg80211_scan_done: aborted: false, scan start (TSF): 0, tsf_bssid: 00:00:00:00:00:00";
        assert_eq!(parse_ftrace_line(line, &names), Some((12_364_463, "scan_done")));
        let line = " kworker/u4:2-40 [000] d..1. 40.5: carrier_off: (netif_carrier_off+0x0/0x40) name=\"sta0\"";
        assert_eq!(parse_ftrace_line(line, &names), Some((40_500_000, "carrier_off")));
        // The APs' own events are not the station's.
        let line = " hostapd-200 [000] ..... 40.5: rdev_auth: phy0, netdev:ap0(3), bssid: x";
        assert_eq!(parse_ftrace_line(line, &names), None);
        let line = " x-1 [000] ..... 40.5: carrier_on: (netif_carrier_on+0x0/0x40) name=\"sta01\"";
        assert_eq!(parse_ftrace_line(line, &names), None);
    }

    #[test]
    fn iwd_lines() {
        let line = "1700000000.250000: src/station.c:station_enter_state() Old State: connected, new state: roaming";
        assert_eq!(parse_iwd_line(line), Some((1_700_000_000_250_000, "roaming")));
        let line = "1700000000.5: src/station.c:station_enter_state() Old State: disconnected, new state: connecting (auto)";
        assert_eq!(parse_iwd_line(line), Some((1_700_000_000_500_000, "connecting")));
        let line = "1700000001.000001: src/netdev.c:netdev_cqm_event() Beacon lost event";
        assert_eq!(parse_iwd_line(line), Some((1_700_000_001_000_001, "beacon_loss")));
        let line = "1700000001.2: src/scan.c:scan_notify() Scan notification New Scan Results(34)";
        assert_eq!(parse_iwd_line(line), Some((1_700_000_001_200_000, "scan_results")));
        let line = "1700000001.2: src/station.c:station_packets_lost() Packets lost event: 12";
        assert_eq!(parse_iwd_line(line), Some((1_700_000_001_200_000, "packet_loss")));
        // Other debug lines, unknown states and unstamped lines are not events.
        let line = "1700000001.2: src/station.c:station_connect_cb() 5, result: 0";
        assert_eq!(parse_iwd_line(line), None);
        let line = "1.0: src/station.c:station_enter_state() Old State: x, new state: sleeping";
        assert_eq!(parse_iwd_line(line), None);
        assert_eq!(parse_iwd_line("Wireless daemon version 2.3"), None);
    }

    #[test]
    fn roam_event_lines() {
        let line = r#"{"event":"false_alarm","t_us":1700000000250000,"trigger":"silence"}"#;
        assert_eq!(parse_roam_event_line(line), Some((1_700_000_000_250_000, "roam_false_alarm")));
        let subscribed = r#"{"event":"subscribed","t_us":1,"iface":"sta0","version":1}"#;
        assert_eq!(parse_roam_event_line(subscribed), None);
        assert_eq!(parse_roam_event_line("not json"), None);
        let started = |fallback| {
            let event = AgentEvent::RoamStarted {
                trigger: roam_proto::TriggerKind::NoAck,
                target: "02:00:00:00:01:00".parse().unwrap(),
                freq_mhz: 2412,
                scan_first: true,
                reconnect: fallback,
                backend: roam_proto::Backend::WpaSupplicant,
                fallback,
            };
            EventLine { t_us: 7, event }.to_json()
        };
        assert_eq!(parse_roam_event_line(&started(false)), Some((7, "roam_act")));
        assert_eq!(parse_roam_event_line(&started(true)), Some((7, "roam_fallback")));
        let finished = |t_us, lost| {
            let report = roam_proto::TransitionReport {
                window: roam_proto::WindowReport { lost, ..Default::default() },
                ..Default::default()
            };
            EventLine { t_us, event: AgentEvent::TransitionFinished(report) }.to_json()
        };
        let text = format!("{line}\n{}\n{}\n", finished(2, 31), finished(3, 2));
        assert_eq!(roam_window_losses(&text), (33, 2));
    }

    #[test]
    fn events_sort_by_time() {
        let mut events =
            vec![TimelineEvent::new(5.0, "b", "x"), TimelineEvent::new(-1.0, "a", "x")];
        sort(&mut events);
        assert_eq!(events[0].event, "a");
    }
}
