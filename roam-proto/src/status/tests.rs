//! The human form of `roam status` and the leniency of its JSON.

use roam_common::policy::{CandidateSource, State, TriggerKind};

use super::*;
use crate::event::{Backend, RoamResult};

fn sample_status() -> Status {
    Status {
        iface: "wlan0".into(),
        state: State::Run,
        state_since_ms: 12_345,
        observe_only: false,
        observe_only_why: None,
        backend: Backend::WpaSupplicant,
        bss: Some(CurrentBss {
            bssid: "02:00:00:00:01:00".parse().unwrap(),
            ssid: "roam-testbed".into(),
            freq_mhz: 2412,
            band: "2.4".into(),
            akm: "psk".into(),
            signal_dbm: Some(-40),
            last_heard_ms: Some(20),
        }),
        candidates: vec![Candidate {
            bssid: "02:00:00:00:02:00".parse().unwrap(),
            freq_mhz: 2437,
            signal_dbm: Some(-45),
            last_heard_ms: Some(1_234),
            source: CandidateSource::Both,
            usable: true,
            score: 55,
        }],
        last_roam: Some(RoamRecord {
            trigger: TriggerKind::Silence,
            from: Some("02:00:00:00:00:00".parse().unwrap()),
            to: Some("02:00:00:00:01:00".parse().unwrap()),
            acted: true,
            backend: Backend::WpaSupplicant,
            result: RoamResult::Success,
            duration_ms: Some(512.0),
            timeline: vec![
                RoamStep { t_ms: 0.0, step: TransitionStep::Detected },
                RoamStep { t_ms: 3.0, step: TransitionStep::Acted },
                RoamStep { t_ms: 511.5, step: TransitionStep::Connected },
            ],
            drop_window: Some(DropWindow {
                sent: 31,
                dropped: 30,
                held: 3,
                dropped_by_reason: [("UNANSWERED_TX".into(), 28), ("QDISC_DROP".into(), 2)]
                    .into_iter()
                    .collect(),
                duration_ms: 480.0,
            }),
        }),
        counters: Counters {
            roams: 3,
            roam_failures: 0,
            beacon_losses: 2,
            deauths: 1,
            disassocs: 0,
        },
        liveness: LivenessStatus::default(),
        signal: Some(SignalStatus {
            source: "monitor".into(),
            threshold_dbm: -70,
            hysteresis_db: 8,
            level_dbm: Some(-66.4),
            trend_db_per_s: Some(-3.1),
        }),
    }
}

#[test]
fn bands_come_from_the_frequency() {
    assert_eq!(
        [2412, 2484, 5180, 5825, 5955, 900].map(band_of),
        ["2.4", "2.4", "5", "5", "6", "?"]
    );
}

#[test]
fn status_reads_like_the_manual() {
    let text = sample_status().to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "roam on wlan0: run for 12.3 s (backend wpa_supplicant)");
    for expected in [
        "  connected to 02:00:00:00:01:00 \"roam-testbed\" 2412 MHz (2.4 GHz, psk), -40 dBm, heard \
         20 ms ago",
        "  candidates:",
        "    02:00:00:00:02:00  2437 MHz  -45 dBm  heard 1.2 s ago  kernel+supplicant  usable  \
         score 55",
        "  last roam: silence 02:00:00:00:00:00 -> 02:00:00:00:01:00 via wpa_supplicant: \
         success in 512 ms",
        "    +0 ms detected, +3 ms acted, +511.5 ms connected",
        "  signal: -66 dBm, -3.1 dB/s from the monitor; roams below -70 dBm when falling, to an \
         AP 8 dB stronger",
        "    drop window: 31 sent, 30 dropped (UNANSWERED_TX 28, QDISC_DROP 2), 3 held, 480 ms",
        "  totals: 3 roams, 0 failures, 2 beacon losses, 1 deauth, 0 disassocs",
    ] {
        assert!(lines.contains(&expected), "missing line {expected:?} in:\n{text}");
    }
    assert!(!text.ends_with('\n'), "Display leaves the final newline to println!");
}

#[test]
fn status_before_any_association() {
    let status = Status {
        iface: "wlan1".into(),
        state: State::Scan,
        state_since_ms: 250,
        observe_only: true,
        observe_only_why: Some("iwd runs, and no wpa_supplicant control socket answers".into()),
        backend: Backend::Nl80211,
        ..Status::default()
    };
    let text = status.to_string();
    assert!(text.starts_with(
        "roam on wlan1: scan for 250 ms (backend nl80211) \
         (observe only: roam measures, does not act)\n  \
         observing only: iwd runs, and no wpa_supplicant control socket answers\n"
    ));
    assert!(text.contains("\n  not connected\n"));
    assert!(text.contains("\n  candidates: none\n"));
    assert!(text.contains("\n  last roam: none yet\n"));
    assert!(text.ends_with("totals: 0 roams, 0 failures, 0 beacon losses, 0 deauths, 0 disassocs"));
}

#[test]
fn durations_read_naturally() {
    assert_eq!(human_ms(999), "999 ms");
    assert_eq!(human_ms(59_999), "59.9 s");
    assert_eq!(human_ms(61_000), "1 min 1 s");
    assert_eq!(human_ms(7_500_000), "2 h 5 min");
}

#[test]
fn status_json_tolerates_missing_and_unknown_fields() {
    let status: Status = serde_json::from_str(r#"{"iface": "wlan0", "state": "run", "future": 1}"#)
        .expect("lenient");
    assert_eq!(status.iface, "wlan0");
    assert_eq!(status.bss, None);
    let back: Status =
        serde_json::from_str(&serde_json::to_string(&sample_status()).unwrap()).unwrap();
    assert_eq!(back, sample_status());
}

#[test]
fn the_liveness_sources_are_listed_with_their_state() {
    let mut status = sample_status();
    status.liveness = LivenessStatus {
        sources: vec![
            LivenessSourceStatus {
                source: LivenessSource::Acks,
                state: SourceState::InUse,
                detail: "a probe every 150 ms".into(),
            },
            LivenessSourceStatus {
                source: LivenessSource::Monitor,
                state: SourceState::Off,
                detail: "detect.monitor = false".into(),
            },
        ],
        verdict: LivenessVerdict::Alive,
        probes: ProbeTotals { acked: 12, not_acked: 1, unreported: 0 },
    };
    let text = status.to_string();
    assert!(
        text.contains("\n  liveness: alive; probes 12 acked, 1 not acked, 0 unreported\n"),
        "{text}"
    );
    assert!(text.contains("\n    acks: in use (a probe every 150 ms)\n"), "{text}");
    assert!(text.contains("\n    monitor: off (detect.monitor = false)\n"), "{text}");
    let json = serde_json::to_string(&status).unwrap();
    assert!(json.contains(r#""source":"station_traffic""#) || json.contains(r#""source":"acks""#));
    assert!(json.contains(r#""state":"in_use""#), "{json}");
}

#[test]
fn a_watched_transition_says_so() {
    let mut status = sample_status();
    if let Some(roam) = &mut status.last_roam {
        roam.acted = false;
        roam.trigger = TriggerKind::Supplicant;
    }
    let text = status.to_string();
    assert!(text.contains("  last roam: supplicant 02:00:00:00:00:00 -> 02:00:00:00:01:00 via supplicant (watched): success"), "{text}");
}
