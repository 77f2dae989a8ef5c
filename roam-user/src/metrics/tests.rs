//! What the exposition looks like after the agent's calls: names, types, labels and values.

use std::time::Duration;

use super::*;

fn assert_has(text: &str, line: &str) {
    assert!(text.lines().any(|l| l == line), "missing line {line:?} in:\n{text}");
}

fn assert_type(text: &str, name: &str, kind: &str) {
    assert_has(text, &format!("# TYPE {name} {kind}"));
}

#[test]
fn fresh_metrics_expose_info_state_and_zeroed_bounded_series() {
    let text = Metrics::new().encode();
    assert_type(&text, "roam_info", "gauge");
    assert_has(&text, &format!("roam_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION")));
    assert_type(&text, "roam_state", "gauge");
    assert_has(&text, "roam_state{state=\"init\"} 1");
    assert_has(&text, "roam_state{state=\"roaming\"} 0");
    assert_has(&text, "roam_beacon_losses_detected_total{source=\"silence\"} 0");
    assert_has(&text, "roam_carrier_transitions_total{direction=\"up\"} 0");
    // Families without series and the kernel side (no snapshot yet) stay out.
    assert!(!text.contains("roam_attempts_total"));
    assert!(!text.contains("roam_bss_info"));
    assert!(!text.contains("roam_frames_observed_total"));
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn event_metrics_have_their_names_types_and_labels() {
    let m = Metrics::new();
    m.beacon_loss_detected("mac80211");
    m.beacon_loss_detected("mac80211");
    m.deauth_received(Some(3));
    m.disassoc_received(Some(8));
    m.roam_attempt(TriggerKind::Silence, Backend::Nl80211, RoamResult::Success, "sae", "5");
    m.roam_completed(
        Duration::from_millis(180),
        &[(Phase::Detect, Duration::from_millis(40)), (Phase::Auth, Duration::from_millis(3))],
    );
    m.detection_latency(TriggerKind::Deauth, Duration::from_millis(2));
    m.drop_window(
        10,
        4,
        &[("QDISC_DROP", 2), (labels::UNANSWERED_TX, 3), ("NOT_SPECIFIED", 0)],
        Duration::from_millis(250),
    );
    m.carrier(false);
    m.state_changed(State::Run, State::Suspect);
    let text = m.encode();

    assert_type(&text, "roam_beacon_losses_detected", "counter");
    assert_has(&text, "roam_beacon_losses_detected_total{source=\"mac80211\"} 2");
    assert_type(&text, "roam_deauth_received", "counter");
    assert_has(&text, "roam_deauth_received_total{reason=\"3\"} 1");
    assert_type(&text, "roam_disassoc_received", "counter");
    assert_has(&text, "roam_disassoc_received_total{reason=\"8\"} 1");
    assert_type(&text, "roam_attempts", "counter");
    assert_has(
        &text,
        "roam_attempts_total{trigger=\"silence\",backend=\"nl80211\",result=\"success\",akm=\"sae\",band=\"5\"} 1",
    );

    assert_type(&text, "roam_duration_seconds", "histogram");
    assert_has(&text, "# UNIT roam_duration_seconds seconds");
    assert_has(&text, "roam_duration_seconds_bucket{le=\"0.15\"} 0");
    assert_has(&text, "roam_duration_seconds_bucket{le=\"0.2\"} 1");
    assert_has(&text, "roam_duration_seconds_bucket{le=\"+Inf\"} 1");
    assert_has(&text, "roam_duration_seconds_count 1");
    assert_type(&text, "roam_phase_duration_seconds", "histogram");
    assert_has(&text, "roam_phase_duration_seconds_count{phase=\"detect\"} 1");
    assert_has(&text, "roam_phase_duration_seconds_bucket{le=\"0.005\",phase=\"auth\"} 1");
    assert_type(&text, "roam_detection_latency_seconds", "histogram");
    assert_has(&text, "roam_detection_latency_seconds_count{trigger=\"deauth\"} 1");

    assert_type(&text, "roam_drop_window_packets", "counter");
    assert_has(&text, "roam_drop_window_packets_total{reason=\"QDISC_DROP\"} 2");
    assert_has(&text, "roam_drop_window_packets_total{reason=\"UNANSWERED_TX\"} 3");
    assert!(!text.contains("NOT_SPECIFIED"), "a reason without drops got a series");
    assert_type(&text, "roam_drop_window_sent_packets", "counter");
    assert_has(&text, "roam_drop_window_sent_packets_total 10");
    assert_type(&text, "roam_drop_window_held_packets", "counter");
    assert_has(&text, "roam_drop_window_held_packets_total 4");
    assert_type(&text, "roam_drop_window_duration_seconds", "histogram");
    assert_has(&text, "roam_drop_window_duration_seconds_sum 0.25");

    assert_type(&text, "roam_carrier_transitions", "counter");
    assert_has(&text, "roam_carrier_transitions_total{direction=\"down\"} 1");
    assert_has(&text, "roam_carrier_transitions_total{direction=\"up\"} 0");
    assert_type(&text, "roam_state_transitions", "counter");
    assert_has(&text, "roam_state_transitions_total{from=\"run\",to=\"suspect\"} 1");
}

#[test]
fn kernel_events_are_counted_by_kind() {
    let m = Metrics::new();
    assert!(!m.encode().contains("roam_kernel_events_total"));
    m.kernel_event("bss_silent");
    m.kernel_event("carrier_off");
    m.kernel_event("carrier_off");
    let text = m.encode();
    assert_type(&text, "roam_kernel_events", "counter");
    assert_has(&text, "roam_kernel_events_total{kind=\"bss_silent\"} 1");
    assert_has(&text, "roam_kernel_events_total{kind=\"carrier_off\"} 2");
}

/// The agent's own costs, unprefixed as every client library names them.
#[test]
fn process_metrics_have_their_conventional_names() {
    let text = Metrics::new().encode();
    assert_type(&text, "process_cpu_seconds", "counter");
    assert_type(&text, "process_resident_memory_bytes", "gauge");
    assert_type(&text, "process_resident_memory_peak_bytes", "gauge");
    assert_type(&text, "process_start_time_seconds", "gauge");
    let cpu = text
        .lines()
        .find_map(|l| l.strip_prefix("process_cpu_seconds_total "))
        .expect("a CPU sample");
    assert!(cpu.parse::<f64>().unwrap() >= 0.0);
}

#[test]
fn exactly_one_state_is_current() {
    let m = Metrics::new();
    m.state_changed(State::Init, State::Scan);
    m.state_changed(State::Scan, State::Run);
    let text = m.encode();
    let ones: Vec<_> =
        text.lines().filter(|l| l.starts_with("roam_state{") && l.ends_with(" 1")).collect();
    assert_eq!(ones, ["roam_state{state=\"run\"} 1"]);
    assert_has(&text, "roam_state{state=\"init\"} 0");
    assert_has(&text, "roam_state{state=\"scan\"} 0");
}

#[test]
fn a_bss_change_replaces_the_info_series() {
    let m = Metrics::new();
    m.set_current_bss(Some(("aa:bb:cc:00:00:01".parse().unwrap(), "home".into(), 2412)));
    let text = m.encode();
    assert_type(&text, "roam_bss_info", "gauge");
    assert_has(
        &text,
        "roam_bss_info{bssid=\"aa:bb:cc:00:00:01\",ssid=\"home\",freq_mhz=\"2412\"} 1",
    );

    m.set_current_bss(Some(("aa:bb:cc:00:00:02".parse().unwrap(), "home".into(), 5180)));
    let text = m.encode();
    assert!(!text.contains("aa:bb:cc:00:00:01"), "old BSS still exposed:\n{text}");
    assert_has(
        &text,
        "roam_bss_info{bssid=\"aa:bb:cc:00:00:02\",ssid=\"home\",freq_mhz=\"5180\"} 1",
    );

    m.set_current_bss(None);
    assert!(!m.encode().contains("roam_bss_info"));
}

#[test]
fn ssid_label_values_are_escaped() {
    let m = Metrics::new();
    m.set_current_bss(Some(("aa:bb:cc:00:00:01".parse().unwrap(), "say \"hi\"\\".into(), 2412)));
    assert!(m.encode().contains(r#"ssid="say \"hi\"\\""#));
}

#[test]
fn kernel_snapshot_values_appear_as_given() {
    let m = Metrics::new();
    let snap = KernelSnapshot {
        programs: vec![
            ProgramStats { name: "roam_rx".into(), runs: 1000, run_time_ns: 2_500_000 },
            ProgramStats { name: "roam_carrier".into(), runs: 3, run_time_ns: 0 },
        ],
        events_lost: 7,
        frames_observed: 123_456,
        frames_malformed: 2,
        bss: vec![BssRow {
            bssid: "aa:bb:cc:00:00:01".parse().unwrap(),
            freq_mhz: 5180,
            signal_dbm: -61,
            last_heard_age: Duration::from_millis(1500),
        }],
    };
    m.set_kernel_snapshot(snap);
    let text = m.encode();

    assert_type(&text, "roam_ebpf_program_runs", "counter");
    assert_has(&text, "roam_ebpf_program_runs_total{program=\"roam_rx\"} 1000");
    assert_has(&text, "roam_ebpf_program_runs_total{program=\"roam_carrier\"} 3");
    assert_type(&text, "roam_ebpf_program_run_time_seconds", "counter");
    assert_has(&text, "# UNIT roam_ebpf_program_run_time_seconds seconds");
    assert_has(&text, "roam_ebpf_program_run_time_seconds_total{program=\"roam_rx\"} 0.0025");
    assert_type(&text, "roam_ringbuf_events_lost", "counter");
    assert_has(&text, "roam_ringbuf_events_lost_total 7");
    assert_type(&text, "roam_frames_observed", "counter");
    assert_has(&text, "roam_frames_observed_total 123456");
    assert_type(&text, "roam_frames_malformed", "counter");
    assert_has(&text, "roam_frames_malformed_total 2");
    assert_type(&text, "roam_bss_signal_dbm", "gauge");
    assert_has(&text, "roam_bss_signal_dbm{bssid=\"aa:bb:cc:00:00:01\",freq_mhz=\"5180\"} -61");
    assert_type(&text, "roam_bss_last_heard_age_seconds", "gauge");
    assert_has(
        &text,
        "roam_bss_last_heard_age_seconds{bssid=\"aa:bb:cc:00:00:01\",freq_mhz=\"5180\"} 1.5",
    );

    // A new snapshot replaces the old one whole: values are absolute, gone BSSes disappear.
    m.set_kernel_snapshot(KernelSnapshot { events_lost: 9, ..Default::default() });
    let text = m.encode();
    assert_has(&text, "roam_ringbuf_events_lost_total 9");
    assert!(!text.contains("roam_bss_signal_dbm"));
    assert!(!text.contains("roam_ebpf_program_runs"));
}

#[test]
fn metrics_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Metrics>();
}

/// Every family and series name the exposition can carry once each family has a sample:
/// counters' series end in `_total`, histograms' in `_bucket`, `_sum` and `_count`.
fn exposed_series_names() -> std::collections::BTreeSet<String> {
    let m = Metrics::new();
    m.beacon_loss_detected("silence");
    m.deauth_received(Some(3));
    m.disassoc_received(Some(8));
    m.roam_attempt(TriggerKind::Silence, Backend::WpaSupplicant, RoamResult::Success, "psk", "2.4");
    m.roam_completed(Duration::from_millis(200), &[(Phase::Detect, Duration::from_millis(40))]);
    m.detection_latency(TriggerKind::Silence, Duration::from_millis(300));
    m.drop_window(4, 2, &[("QDISC_DROP", 1)], Duration::from_millis(250));
    m.carrier(true);
    m.state_changed(State::Run, State::Suspect);
    m.set_current_bss(Some(("aa:bb:cc:00:00:01".parse().unwrap(), "home".into(), 2412)));
    m.kernel_event("bss_silent");
    m.set_kernel_snapshot(KernelSnapshot {
        programs: vec![ProgramStats { name: "roam_frames".into(), runs: 1, run_time_ns: 1 }],
        events_lost: 0,
        frames_observed: 1,
        frames_malformed: 0,
        bss: vec![BssRow {
            bssid: "aa:bb:cc:00:00:01".parse().unwrap(),
            freq_mhz: 2412,
            signal_dbm: -50,
            last_heard_age: Duration::from_millis(10),
        }],
    });
    let mut names = std::collections::BTreeSet::new();
    for line in m.encode().lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else { continue };
        let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
        names.insert(name.to_owned());
        match kind {
            "counter" => names.insert(format!("{name}_total")),
            "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    names.insert(format!("{name}{suffix}"));
                }
                true
            }
            _ => true,
        };
    }
    names
}

/// The alerting rules and the dashboard in docs/monitoring, and the README's reference, name
/// only metrics roam exposes: a renamed metric fails here, not on an operator's dashboard.
#[test]
fn the_monitoring_examples_query_only_exposed_series() {
    let exposed = exposed_series_names();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/monitoring");
    let readme = std::fs::read_to_string(dir.join("../../README.md")).unwrap();
    let reference = readme.split("## Metrics\n").nth(1).unwrap().split("\n## ").next().unwrap();
    let files = [
        ("roam-alerts.yml", std::fs::read_to_string(dir.join("roam-alerts.yml")).unwrap()),
        ("grafana-roam.json", std::fs::read_to_string(dir.join("grafana-roam.json")).unwrap()),
        ("README.md's metrics reference", reference.to_owned()),
    ];
    for (file, text) in files {
        let mut queried = 0;
        for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            let is_series = (token.starts_with("roam_") || token.starts_with("process_"))
                && !token.ends_with('_')
                && token != "roam_wifi";
            if is_series {
                queried += 1;
                assert!(
                    exposed.contains(token),
                    "{file} queries {token}, which roam does not expose"
                );
            }
        }
        assert!(queried > 5, "{file}: no roam series found");
    }
    // And the reference is complete: each family is there, under a name of its series.
    for family in exposed.iter().filter(|n| !n.ends_with("_bucket") && !n.ends_with("_sum")) {
        let listed = [family.clone(), format!("{family}_total")]
            .iter()
            .any(|name| reference.contains(&format!("`{name}`")));
        let is_series_of_another =
            exposed.iter().any(|f| family.starts_with(f.as_str()) && f != family);
        assert!(listed || is_series_of_another, "README.md's metrics reference lacks {family}");
    }
}

#[test]
fn liveness_sources_and_probe_totals_are_exported() {
    use roam_proto::{
        LivenessSource, LivenessSourceStatus, LivenessStatus, ProbeTotals, SourceState,
    };
    let m = Metrics::new();
    let source = |source, state| LivenessSourceStatus { source, state, detail: String::new() };
    let mut liveness = LivenessStatus {
        sources: vec![
            source(LivenessSource::Acks, SourceState::InUse),
            source(LivenessSource::Monitor, SourceState::Off),
        ],
        probes: ProbeTotals { acked: 5, not_acked: 1, unreported: 0 },
        ..LivenessStatus::default()
    };
    m.set_liveness(&liveness);
    liveness.probes.acked = 8;
    m.set_liveness(&liveness);
    let text = m.encode();
    assert!(
        text.contains("roam_liveness_source_info{source=\"acks\",state=\"in_use\"} 1"),
        "{text}"
    );
    assert!(text.contains("roam_liveness_source_info{source=\"acks\",state=\"off\"} 0"), "{text}");
    assert!(
        text.contains("roam_liveness_source_info{source=\"monitor\",state=\"off\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("roam_liveness_probes_total{result=\"acked\"} 8"),
        "totals, not sums: {text}"
    );
    assert!(text.contains("roam_liveness_probes_total{result=\"not_acked\"} 1"), "{text}");
}

#[test]
fn reason_labels_are_a_small_set_whatever_the_air_sends() {
    let m = Metrics::new();
    for code in [3, 3, 999, 65535] {
        m.deauth_received(Some(code));
    }
    m.deauth_received(None);
    let text = m.encode();
    assert_has(&text, "roam_deauth_received_total{reason=\"3\"} 2");
    assert_has(&text, "roam_deauth_received_total{reason=\"other\"} 2");
    assert_has(&text, "roam_deauth_received_total{reason=\"protected\"} 1");
}

/// Every series of roam's own names its station, as node_exporter's `node_wifi_*` do; the
/// process's own do not (one process, one interface).
#[test]
fn an_agents_series_name_its_device() {
    let m = Metrics::for_device("wlan1");
    m.roam_attempt(TriggerKind::NoAck, Backend::WpaSupplicant, RoamResult::Success, "sae", "5");
    let text = m.encode();
    assert_has(&text, "roam_state{device=\"wlan1\",state=\"init\"} 1");
    let attempts = text.lines().find(|l| l.starts_with("roam_attempts_total{")).expect("a roam");
    assert!(attempts.contains("device=\"wlan1\""), "{attempts}");
    for line in text.lines().filter(|l| l.starts_with("roam_")) {
        assert!(line.contains("device=\"wlan1\""), "{line}");
    }
    let process = text.lines().find(|l| l.starts_with("process_")).expect("process metrics");
    assert!(!process.contains("device="), "{process}");
}
