//! What the VM suite asserts about the roam stack, against stock wpa_supplicant in the same
//! boot. Thresholds are tolerant on purpose (two runs per case under TCG): they catch an agent
//! that does not act or does not help, while the benchmark measures the real ratios.

use roam_testbed::{
    plan::{GuestResults, Plan},
    report::{Report, ScenarioReport},
    stack::Stack,
};

use super::boot::SessionOutcome;

/// roam's median gap must be at most this fraction of stock's (the targets are 0.25 for a
/// silent AP and 0.3 for the others).
const MAX_GAP_RATIO: f64 = 0.5;
/// The agent's window losses may differ from the probe's by this much per run (the target is
/// one packet; received frames the kernel drops during the handshake are still counted).
const WINDOW_SLACK_PACKETS: u64 = 8;
/// A metric every roam run must leave in the scrape.
const ROAM_SUCCESS_SERIES: &str = "roam_attempts_total{";

pub fn check(plan: &Plan, outcome: &SessionOutcome) -> Vec<String> {
    let mut problems = gap_ratios(&outcome.report);
    problems.extend(window_accounting(plan, &outcome.results));
    problems.extend(metrics_show_roams(plan, &outcome.results, &outcome.session.dir));
    problems
}

/// roam's median gap against stock's, per scenario and channel layout.
pub fn gap_ratios(report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    for roam in report.scenarios.iter().filter(|s| s.stack == Stack::Roam) {
        let Some(stock) = report.scenarios.iter().find(|s| {
            s.stack == Stack::WpaSupplicant && s.name == roam.name && s.channels == roam.channels
        }) else {
            continue;
        };
        match ratio(roam, stock) {
            Some(r) if r <= MAX_GAP_RATIO => {}
            Some(r) => problems.push(format!(
                "{} {:?}: roam's median gap is {r:.2}x stock's (at most {MAX_GAP_RATIO} expected)",
                roam.name, roam.channels
            )),
            None => problems.push(format!("{} {:?}: no gap to compare", roam.name, roam.channels)),
        }
    }
    problems
}

fn ratio(roam: &ScenarioReport, stock: &ScenarioReport) -> Option<f64> {
    let (r, s) = (roam.p50_gap_ms?, stock.p50_gap_ms?);
    (s > 0.0).then(|| r / s)
}

/// The agent's drop-window losses against the probe's lost packets, run by run.
pub fn window_accounting(plan: &Plan, results: &GuestResults) -> Vec<String> {
    let mut problems = Vec::new();
    for (case, outcome) in plan.cases.iter().zip(&results.cases) {
        if case.stack != Stack::Roam {
            continue;
        }
        for run in outcome.runs.iter().filter(|r| r.measured) {
            let probe = run.report.lost_packets;
            match run.roam_window_lost {
                Some(agent) if agent.abs_diff(probe) <= WINDOW_SLACK_PACKETS => {}
                Some(agent) => problems.push(format!(
                    "{}: the agent counted {agent} packets lost, the probe {probe}",
                    run.log_dir
                )),
                None => problems.push(format!("{}: no drop window from the agent", run.log_dir)),
            }
        }
    }
    problems
}

/// The last run of each roam case must have left a scrape that shows a roam attempt.
fn metrics_show_roams(
    plan: &Plan,
    results: &GuestResults,
    session: &std::path::Path,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (case, outcome) in plan.cases.iter().zip(&results.cases) {
        if case.stack != Stack::Roam || case.scenario.name == "deliberate-roam" {
            continue;
        }
        let Some(run) = outcome.runs.iter().rev().find(|r| r.measured) else { continue };
        let path = session.join(&run.log_dir).join("metrics.txt");
        match std::fs::read_to_string(&path) {
            Ok(text) if text.lines().any(|l| l.starts_with(ROAM_SUCCESS_SERIES)) => {}
            Ok(_) => problems.push(format!("{}: no roam attempt in the metrics", path.display())),
            Err(err) => problems.push(format!("{}: {err}", path.display())),
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(stack: Stack, p50: f64) -> ScenarioReport {
        ScenarioReport {
            name: "silent-ap-loss".into(),
            channels: vec![1, 6],
            stack,
            p50_gap_ms: Some(p50),
            p95_gap_ms: Some(p50),
            runs: Vec::new(),
        }
    }

    #[test]
    fn a_roam_gap_above_the_ratio_is_a_problem() {
        let fast = Report {
            scenarios: vec![scenario(Stack::WpaSupplicant, 2000.0), scenario(Stack::Roam, 500.0)],
        };
        assert!(gap_ratios(&fast).is_empty());
        let slow = Report {
            scenarios: vec![scenario(Stack::WpaSupplicant, 2000.0), scenario(Stack::Roam, 1500.0)],
        };
        let problems = gap_ratios(&slow);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("0.75x"), "{problems:?}");
    }
}
