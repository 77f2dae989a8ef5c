//! What a session prints: the summary table and the failures with their log directories.

use std::{fmt::Write as _, path::Path};

use roam_testbed::{
    plan::{GuestResults, Plan},
    report::{median_u64, percentile, Addressing, Report, RunReport},
    scenario::channels_label,
    timeline::TimelineEvent,
};

/// The summary table: one line per scenario, channel layout and stack.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<28} {:<9} {:<15} {:>4} {:>9} {:>11} {:>11} {:>9}",
        "scenario",
        "channels",
        "stack",
        "runs",
        "recovered",
        "p50 gap ms",
        "p95 gap ms",
        "lost p50"
    );
    let ipv6 = report.scenarios.iter().any(|s| s.p50_gap_ms_ipv6.is_some());
    if ipv6 {
        out.pop();
        out.push_str(&format!(" {:>13}\n", "IPv6 p50 ms"));
    }
    let addressing = report.scenarios.iter().flat_map(|s| &s.runs).any(|r| r.addressing.is_some());
    if addressing {
        out.pop();
        out.push_str(&format!(" {:>15}\n", "addresses kept"));
    }
    let agent = report.scenarios.iter().any(|s| s.stack.runs_roam());
    if agent {
        out.pop();
        out.push_str(&format!(" {:>16}\n", "roam detect p50"));
    }
    for s in &report.scenarios {
        let recovered = s.runs.iter().filter(|r| r.recovered).count();
        let lost: Vec<u64> = s.runs.iter().map(|r| r.lost_packets).collect();
        let ms = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
        let _ = write!(
            out,
            "{:<28} {:<9} {:<15} {:>4} {:>9} {:>11} {:>11} {:>9}",
            match roam_testbed::security::distinct_name(s.security) {
                Some(security) => format!("{} ({security})", s.name),
                None => s.name.clone(),
            },
            channels_label(&s.channels),
            s.stack.name(),
            s.runs.len(),
            recovered,
            ms(s.p50_gap_ms),
            ms(s.p95_gap_ms),
            ms(median_u64(&lost)),
        );
        if ipv6 {
            let _ = write!(out, " {:>13}", ms(s.p50_gap_ms_ipv6));
        }
        if addressing {
            let _ = write!(out, " {:>15}", addresses_kept(&s.runs));
        }
        if agent {
            let detected: Vec<f64> = s.runs.iter().filter_map(|r| r.roam_detected_ms()).collect();
            let _ = write!(out, " {:>16}", ms(percentile(&detected, 50.0)));
        }
        out.push('\n');
    }
    out
}

/// For a DHCP stack's runs: in how many the station kept its lease and addresses (no DHCP
/// DISCOVER, its IPv4 address and IPv6 default route there at the end); `-` for the others.
fn addresses_kept(runs: &[RunReport]) -> String {
    Addressing::kept_of(runs.iter().filter_map(|r| r.addressing))
}

/// A case or run that failed, with the line that says so.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The plan's case it belongs to (none: the cases the guest never answered).
    pub case: Option<usize>,
    /// The run was carried out and measured, but its traffic did not come back in time: a
    /// result about the stack. Every other failure is the testbed's (a step it could not take).
    pub no_recovery: bool,
    line: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// Timeline events named at the end of a no-recovery line: enough to see where the stack
/// stopped (a scan with no results, an authentication never answered, ...).
const LAST_EVENTS: usize = 10;

/// Every failed case and run, each naming its log directory.
pub fn failures(plan: &Plan, results: &GuestResults, session_dir: &Path) -> Vec<Failure> {
    let mut failures = Vec::new();
    for (index, (case, outcome)) in plan.cases.iter().zip(&results.cases).enumerate() {
        if let Some(error) = &outcome.error {
            failures.push(Failure {
                case: Some(index),
                no_recovery: false,
                line: format!("{}: {error}", case.title()),
            });
        }
        for (run_index, run) in outcome.runs.iter().enumerate() {
            if !run.failed() {
                continue;
            }
            let why = run.error.clone().unwrap_or_else(|| {
                format!(
                    "no recovery within {} ms; last events: {}",
                    case.scenario.recovery_timeout_ms,
                    last_events(&run.report.timeline)
                )
            });
            failures.push(Failure {
                case: Some(index),
                no_recovery: run.error.is_none(),
                line: format!(
                    "{} run {}: {why}\n      logs: {}",
                    case.title(),
                    run_index + 1,
                    session_dir.join(&run.log_dir).display()
                ),
            });
        }
    }
    if results.cases.len() < plan.cases.len() {
        failures.push(Failure {
            case: None,
            no_recovery: false,
            line: format!(
                "the guest answered {} of {} cases",
                results.cases.len(),
                plan.cases.len()
            ),
        });
    }
    failures
}

/// The last events of a run's timeline, as `t s event (source)`.
fn last_events(timeline: &[TimelineEvent]) -> String {
    if timeline.is_empty() {
        return "none recorded".into();
    }
    let tail = &timeline[timeline.len().saturating_sub(LAST_EVENTS)..];
    tail.iter()
        .map(|e| format!("{:.2} s {} ({})", e.t_ms / 1e3, e.event, e.source))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use roam_testbed::{report::ScenarioReport, scenario::Security, stack::Stack};

    use super::*;

    fn run_detected_at(t_ms: Option<f64>) -> RunReport {
        RunReport {
            gap_ms: 200.0,
            lost_packets: 0,
            lossy_ms: 0.0,
            connections: 1,
            recovered: true,
            bssid_before: None,
            bssid_after: None,
            timeline: t_ms
                .map(|t| TimelineEvent::new(t, "roam_detect", "roam"))
                .into_iter()
                .collect(),
            ipv6: None,
            addressing: None,
        }
    }

    #[test]
    fn the_table_shows_roams_detection_for_the_stacks_that_run_the_agent() {
        let case = |stack, runs| ScenarioReport {
            name: "silent-ap-loss".into(),
            channels: vec![1, 1],
            stack,
            security: Security::default(),
            p50_gap_ms: Some(200.0),
            p95_gap_ms: Some(200.0),
            p50_gap_ms_ipv6: None,
            runs,
        };
        let detected = [Some(150.0), Some(80.0), Some(120.0), None];
        let report = Report {
            scenarios: vec![
                case(Stack::WpaSupplicant, vec![run_detected_at(None)]),
                case(Stack::RoamNoMonitor, detected.map(run_detected_at).to_vec()),
            ],
            software: None,
        };
        let text = table(&report);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("roam detect p50"), "{text}");
        assert!(lines[1].ends_with(" -"), "stock has no detection: {text}");
        assert!(lines[2].ends_with(" 120.0"), "the median of the runs that detected: {text}");
    }

    #[test]
    fn the_last_events_name_time_event_and_source() {
        let timeline: Vec<TimelineEvent> = (0..12)
            .map(|i| TimelineEvent::new(f64::from(i) * 1500.0, format!("e{i}"), "wpa_supplicant"))
            .collect();
        let text = last_events(&timeline);
        assert!(text.starts_with("3.00 s e2 (wpa_supplicant), "), "{text}");
        assert!(text.ends_with("16.50 s e11 (wpa_supplicant)"), "{text}");
        assert_eq!(last_events(&[]), "none recorded");
    }
}
