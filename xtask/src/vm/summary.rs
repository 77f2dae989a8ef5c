//! What a session prints: the summary table and the failures with their log directories.

use std::{fmt::Write as _, path::Path};

use roam_testbed::{
    plan::{GuestResults, Plan},
    report::{median_u64, Report},
    scenario::channels_label,
};

/// The summary table: one line per scenario, channel layout and stack.
pub fn table(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:<9} {:<15} {:>4} {:>9} {:>11} {:>11} {:>9}",
        "scenario",
        "channels",
        "stack",
        "runs",
        "recovered",
        "p50 gap ms",
        "p95 gap ms",
        "lost p50"
    );
    for s in &report.scenarios {
        let recovered = s.runs.iter().filter(|r| r.recovered).count();
        let lost: Vec<u64> = s.runs.iter().map(|r| r.lost_packets).collect();
        let ms = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.1}"));
        let _ = writeln!(
            out,
            "{:<18} {:<9} {:<15} {:>4} {:>9} {:>11} {:>11} {:>9}",
            s.name,
            channels_label(&s.channels),
            s.stack.name(),
            s.runs.len(),
            recovered,
            ms(s.p50_gap_ms),
            ms(s.p95_gap_ms),
            ms(median_u64(&lost)),
        );
    }
    out
}

/// One line per failed case or run, naming its log directory.
pub fn failures(plan: &Plan, results: &GuestResults, session_dir: &Path) -> Vec<String> {
    let mut failures = Vec::new();
    for (case, outcome) in plan.cases.iter().zip(&results.cases) {
        if let Some(error) = &outcome.error {
            failures.push(format!("{}: {error}", case.title()));
        }
        for (index, run) in outcome.runs.iter().enumerate() {
            if run.failed() {
                let why = run.error.clone().unwrap_or_else(|| {
                    format!("no recovery within {} ms", case.scenario.recovery_timeout_ms)
                });
                failures.push(format!(
                    "{} run {}: {why}\n      logs: {}",
                    case.title(),
                    index + 1,
                    session_dir.join(&run.log_dir).display()
                ));
            }
        }
    }
    if results.cases.len() < plan.cases.len() {
        failures.push(format!(
            "the guest answered {} of {} cases",
            results.cases.len(),
            plan.cases.len()
        ));
    }
    failures
}
