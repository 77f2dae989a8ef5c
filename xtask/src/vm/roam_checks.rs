//! What the VM suite asserts about the roam stack, against stock wpa_supplicant in the same
//! boot. Thresholds are tolerant on purpose (a few runs per case under TCG): they catch an agent
//! that does not act or does not help, while the benchmark measures the real ratios.

use roam_proto::{AgentEvent, EventLine};
use roam_testbed::{
    plan::{Case, Plan, RunOutcome},
    report::{Report, ScenarioReport},
    scenario::{Scenario, Security, Step},
    stack::Stack,
};

use super::{
    boot::SessionOutcome,
    fault_checks::{self, Fault},
};
use crate::scrape::Scrape;

/// roam's median gap must be at most this fraction of stock's (the targets, measured over ten
/// runs outside the suite, are 0.25 for a silent AP and 0.3 for the others, and roam's medians
/// sit at 0.12-0.21). The guard is loose on purpose: a TCG host has slow phases in which two of
/// three runs take twice as long (CI has failed at 0.52 on runs of 230 and 860 ms), while an
/// agent that never acts stays near 1 (AP-ended cases without the neighbour put-back) or above
/// 0.6 (a silent AP, left to mac80211 and the supplicant); that it acted at all is checked in
/// its metrics.
const MAX_GAP_RATIO: f64 = 0.6;
/// Where the scenario itself keeps the station off the air (its only AP switched off for
/// seconds), roam can only reconnect sooner once the AP is back: never worse than stock.
const NEVER_WORSE_RATIO: f64 = 1.0;

/// The largest median gap ratio against stock allowed in `scenario`.
fn max_gap_ratio(scenario: &str) -> f64 {
    match scenario {
        // The station moves itself (to another network): roam can only keep out of the way.
        "open-single-ap-reboot" | "ssid-switch" => NEVER_WORSE_RATIO,
        _ => MAX_GAP_RATIO,
    }
}
/// The agent's window losses may differ from the probe's by this much in a case's median run
/// (the target is one packet per roam, measured over ten runs outside the suite; one run of a
/// few under a stalling TCG host must not decide alone).
const WINDOW_SLACK_PACKETS: u64 = 2;
/// The scenario that takes the station away from its AP and back (tests/scenarios).
pub const ROAM_BACK: &str = "roam-back";
/// A metric every roam run must leave in the scrape.
const ROAM_ATTEMPTS: &str = "roam_attempts_total";
/// roam's default `act.max_roams_per_minute` (the suite runs the agent without a config file).
const DEFAULT_ROAMS_PER_MINUTE: usize = 6;

/// What roam must do in a scenario of the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// Recover faster than stock, account the drop window, show the roam in its metrics.
    Recovery { metrics: bool },
    /// Nothing is wrong: no loss detected, no roam.
    NoRoam,
    /// Losses come faster than the cap allows: act, but at most `per_minute` times a minute.
    Capped { per_minute: usize },
    /// A fault test: roam must survive it, as its own checks say (`fault_checks`).
    Survive,
}

impl Expectation {
    pub fn of(scenario: &str) -> Expectation {
        match scenario {
            "healthy-ap"
            | "beacons-lost-ap-alive"
            | "lossy-link"
            | "forged-beacon-interval"
            | "forged-beacon-interval-pmf" => Expectation::NoRoam,
            "ap-flapping" | "ap-flapping-long" | "spoofed-deauth" => {
                Expectation::Capped { per_minute: DEFAULT_ROAMS_PER_MINUTE }
            }
            name if Fault::of(name).is_some() => Expectation::Survive,
            // A roam the station starts itself has nothing for roam to act on.
            "deliberate-roam" | "ssid-switch" => Expectation::Recovery { metrics: false },
            _ => Expectation::Recovery { metrics: true },
        }
    }
}

pub fn check(plan: &Plan, outcome: &SessionOutcome) -> Vec<String> {
    let mut problems = gap_ratios(&outcome.report);
    for (case, case_outcome) in plan.cases.iter().zip(&outcome.results.cases) {
        if !case.stack.runs_roam() {
            continue;
        }
        let runs: Vec<&RunOutcome> = case_outcome.runs.iter().filter(|r| r.measured).collect();
        match Expectation::of(&case.scenario.name) {
            Expectation::Recovery { metrics } => {
                problems.extend(window_accounting(&runs));
                if metrics {
                    problems.extend(metrics_show_roams(case, &runs, &outcome.session.dir));
                }
            }
            Expectation::NoRoam => problems.extend(runs.iter().filter_map(|r| no_roam(r))),
            Expectation::Capped { per_minute } => {
                problems.extend(runs.iter().filter_map(|r| within_cap(r, per_minute)))
            }
            Expectation::Survive => {}
        }
        if case.scenario.name == ROAM_BACK && case.scenario.security == Security::Wpa2Eap {
            problems.extend(runs.iter().filter_map(|r| no_eap_on_the_way_back(r)));
        }
        if let Some(fault) = Fault::of(&case.scenario.name) {
            problems.extend(fault_checks::check(fault, case, &runs, &outcome.session.dir));
        }
        let ghosts = forged_bssids(&case.scenario);
        if !ghosts.is_empty() {
            for run in &runs {
                let events = std::fs::read_to_string(
                    outcome.session.dir.join(&run.log_dir).join("roam-events.jsonl"),
                )
                .unwrap_or_default();
                problems.extend(never_went_to(run, &ghosts, &events));
            }
        }
    }
    problems
}

/// roam's median gap against stock's, per scenario, channel layout and security.
pub fn gap_ratios(report: &Report) -> Vec<String> {
    let mut problems = Vec::new();
    let recovery = |s: &&ScenarioReport| {
        s.stack.runs_roam() && matches!(Expectation::of(&s.name), Expectation::Recovery { .. })
    };
    for roam in report.scenarios.iter().filter(recovery) {
        let Some(stock) = report.scenarios.iter().find(|s| {
            s.stack == Stack::WpaSupplicant
                && s.name == roam.name
                && s.channels == roam.channels
                && s.security == roam.security
        }) else {
            continue;
        };
        let max = max_gap_ratio(&roam.name);
        match ratio(roam, stock) {
            Some(r) if r <= max => {}
            Some(r) => problems.push(format!(
                "{} {:?} {}: {}'s median gap is {r:.2}x stock's (at most {max} expected)",
                roam.name,
                roam.channels,
                roam.security.name(),
                roam.stack
            )),
            None => problems.push(format!(
                "{} {:?} {}: no gap to compare",
                roam.name,
                roam.channels,
                roam.security.name()
            )),
        }
    }
    problems
}

fn ratio(roam: &ScenarioReport, stock: &ScenarioReport) -> Option<f64> {
    let (r, s) = (roam.p50_gap_ms?, stock.p50_gap_ms?);
    (s > 0.0).then(|| r / s)
}

/// The agent's drop-window losses against the probe's lost packets, in the median run.
fn window_accounting(runs: &[&RunOutcome]) -> Option<String> {
    let mut differences = Vec::new();
    for run in runs {
        match run.roam_window_lost {
            // A transition the agent never finished (no first data seen) reported no window.
            Some(agent) if run.roam_transitions > 0 => {
                differences.push(agent.abs_diff(run.report.lost_packets))
            }
            _ => return Some(format!("{}: no drop window from the agent", run.log_dir)),
        }
    }
    differences.sort_unstable();
    let median = *differences.get(differences.len() / 2)?;
    (median > WINDOW_SLACK_PACKETS).then(|| {
        let runs: Vec<String> = runs
            .iter()
            .map(|r| format!("{} agent {:?} probe {}", r.log_dir, r.roam_window_lost, r.report.lost_packets))
            .collect();
        format!(
            "the agent's drop window differs from the probe's loss by {median} packets in the median run: {}",
            runs.join("; ")
        )
    })
}

/// The last run of a case must have left a scrape that shows a roam attempt.
fn metrics_show_roams(
    case: &Case,
    runs: &[&RunOutcome],
    session: &std::path::Path,
) -> Option<String> {
    let run = runs.last()?;
    let path = session.join(&run.log_dir).join("metrics.txt");
    match std::fs::read_to_string(&path) {
        Ok(text) if Scrape::parse(&text).has(ROAM_ATTEMPTS) => None,
        Ok(_) => {
            Some(format!("{}: no roam attempt in the metrics ({})", path.display(), case.title()))
        }
        Err(err) => Some(format!("{}: {err}", path.display())),
    }
}

/// The BSSes a scenario's forged beacons invent (a BSS nobody serves), lower case.
fn forged_bssids(scenario: &Scenario) -> Vec<String> {
    scenario
        .trigger
        .iter()
        .filter_map(|step| match step {
            Step::ForgeBeacon { bssid: Some(bssid), .. } => Some(bssid.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// Neither roam's target nor the station's BSS at the end was a BSS nobody serves.
fn never_went_to(run: &RunOutcome, ghosts: &[String], events: &str) -> Option<String> {
    let is_ghost = |bssid: &str| ghosts.contains(&bssid.to_ascii_lowercase());
    let targeted = EventLine::parse_all(events).find_map(|line| match line.event {
        AgentEvent::RoamStarted { target, .. } if is_ghost(&target.to_string()) => Some(target),
        _ => None,
    });
    if let Some(target) = targeted {
        return Some(format!("{}: roam targeted {target}, a BSS nobody serves", run.log_dir));
    }
    match &run.report.bssid_after {
        Some(after) if is_ghost(after) => {
            Some(format!("{}: the station ended on {after}, a BSS nobody serves", run.log_dir))
        }
        _ => None,
    }
}

/// roam-back on WPA2-Enterprise: the way back leads to the AP of the station's first EAP
/// exchange, whose PMKSA the station keeps, so no EAP exchange may follow the second silence,
/// and the station must end where it started. (FT-EAP is not asked this in the suite, for its
/// time: there roam's way back is a fast transition, no EAP either, while stock's runs EAP, as
/// wpa_supplicant turns PMKSA caching off for FT-EAP unless `ft_eap_pmksa_caching` is set.)
fn no_eap_on_the_way_back(run: &RunOutcome) -> Option<String> {
    let report = &run.report;
    let silences: Vec<f64> = report
        .timeline
        .iter()
        .filter(|e| e.source == "runner" && e.event.starts_with("silence"))
        .map(|e| e.t_ms)
        .collect();
    let Some(way_back) = silences.iter().copied().reduce(f64::max).filter(|_| silences.len() == 2)
    else {
        return Some(format!(
            "{}: {} silences in the timeline, not 2",
            run.log_dir,
            silences.len()
        ));
    };
    let exchanges =
        report.timeline.iter().filter(|e| e.event == "eap_started" && e.t_ms > way_back).count();
    if exchanges > 0 {
        return Some(format!(
            "{}: the way back ran {exchanges} EAP exchange(s), though the station holds that AP's PMKSA",
            run.log_dir
        ));
    }
    (report.bssid_after != report.bssid_before).then(|| {
        format!(
            "{}: the station ended on {:?}, not back on {:?}",
            run.log_dir, report.bssid_after, report.bssid_before
        )
    })
}

/// Times (ms from the trigger) of roam's events of one kind in a run.
fn roam_events(run: &RunOutcome, event: &str) -> Vec<f64> {
    let mut times: Vec<f64> =
        run.report.timeline.iter().filter(|e| e.event == event).map(|e| e.t_ms).collect();
    times.sort_by(f64::total_cmp);
    times
}

/// A healthy AP: no loss detected, no roam.
fn no_roam(run: &RunOutcome) -> Option<String> {
    let detected = roam_events(run, "roam_detect").len();
    let acted = roam_events(run, "roam_act").len();
    (detected + acted > 0).then(|| {
        format!(
            "{}: false alarm: roam detected {detected} losses and roamed {acted} times \
             with a healthy AP",
            run.log_dir
        )
    })
}

/// Flapping APs: roam acts, at most `per_minute` times in any minute.
fn within_cap(run: &RunOutcome, per_minute: usize) -> Option<String> {
    let acted = roam_events(run, "roam_act");
    let busiest = busiest_minute(&acted);
    if acted.is_empty() {
        Some(format!("{}: roam never acted on the flapping APs", run.log_dir))
    } else if busiest.len() > per_minute {
        let at: Vec<String> = busiest.iter().map(|t| format!("{:.3}", t / 1000.0)).collect();
        Some(format!(
            "{}: roam acted {} times within one minute (cap {per_minute}), at {} s",
            run.log_dir,
            busiest.len(),
            at.join(", ")
        ))
    } else {
        None
    }
}

/// How much earlier than its decision a roam's event may be stamped, against another's. The
/// agent's cap counts the minute on its own clock, at the decision; a roam the cap held is
/// retried the moment the oldest leaves the minute, 60.000 s after it, and each event is
/// stamped a moment after its decision, by a delay that varies (TCG): two such roams can be
/// stamped 59.99 s apart. Far less than any interval a broken cap would show.
const STAMP_SLACK_MS: f64 = 250.0;

/// The most times that fall in one minute (`times` in ms, ascending), give or take the stamps'
/// slack: the earliest such run of them.
fn busiest_minute(times: &[f64]) -> &[f64] {
    let mut first = 0;
    let mut busiest = &times[..0];
    for (last, t) in times.iter().enumerate() {
        while t - times[first] >= 60_000.0 - STAMP_SLACK_MS {
            first += 1;
        }
        if last + 1 - first > busiest.len() {
            busiest = &times[first..=last];
        }
    }
    busiest
}

#[cfg(test)]
mod tests {
    use roam_testbed::scenario::Security;

    use super::*;

    fn scenario(stack: Stack, p50: f64) -> ScenarioReport {
        ScenarioReport {
            name: "silent-ap-loss".into(),
            channels: vec![1, 6],
            stack,
            security: Security::default(),
            p50_gap_ms: Some(p50),
            p95_gap_ms: Some(p50),
            p50_gap_ms_ipv6: None,
            runs: Vec::new(),
        }
    }

    #[test]
    fn a_roam_to_a_ghost_is_a_failure() {
        let scenario = Scenario::from_toml(
            "name = \"g\"\n[[trigger]]\naction = \"forge-beacon\"\nbssid = \"02:00:00:00:00:80\"\nper_second = 1\nms = 1\n",
        )
        .unwrap();
        let ghosts = forged_bssids(&scenario);
        assert_eq!(ghosts, ["02:00:00:00:00:80"]);
        let run = |after: &str| {
            let mut outcome = run(None, 0);
            outcome.report.bssid_after = Some(after.into());
            outcome
        };
        let started = |target: &str| {
            let event = AgentEvent::RoamStarted {
                trigger: roam_proto::TriggerKind::Deauth,
                target: target.parse().unwrap(),
                freq_mhz: 2412,
                scan_first: false,
                reconnect: true,
                backend: roam_proto::Backend::WpaSupplicant,
                fallback: false,
            };
            EventLine::now(event).to_json()
        };
        assert_eq!(
            never_went_to(&run("02:00:00:00:01:00"), &ghosts, &started("02:00:00:00:01:00")),
            None
        );
        let targeted =
            never_went_to(&run("02:00:00:00:01:00"), &ghosts, &started("02:00:00:00:00:80"));
        assert!(targeted.is_some_and(|p| p.contains("targeted 02:00:00:00:00:80")));
        let ended = never_went_to(&run("02:00:00:00:00:80"), &ghosts, "");
        assert!(ended.is_some_and(|p| p.contains("ended on")));
    }

    #[test]
    fn the_way_back_to_a_cached_ap_runs_no_eap_exchange() {
        use roam_testbed::timeline::TimelineEvent;
        let run = |events: &[(f64, &str, &str)], after: &str| {
            let mut outcome = run(None, 0);
            outcome.report.bssid_before = Some("02:00:00:00:00:00".into());
            outcome.report.bssid_after = Some(after.into());
            outcome.report.timeline = events
                .iter()
                .map(|&(t, event, source)| TimelineEvent::new(t, event, source))
                .collect();
            outcome
        };
        let away = [
            (0.0, "silence ap0", "runner"),
            (400.0, "eap_started", "wpa_supplicant"),
            (6000.0, "silence ap1", "runner"),
        ];
        assert_eq!(no_eap_on_the_way_back(&run(&away, "02:00:00:00:00:00")), None);
        let mut full = away.to_vec();
        full.push((6300.0, "eap_started", "wpa_supplicant"));
        let problem = no_eap_on_the_way_back(&run(&full, "02:00:00:00:00:00"));
        assert!(problem.is_some_and(|p| p.contains("ran 1 EAP exchange")));
        let elsewhere = no_eap_on_the_way_back(&run(&away, "02:00:00:00:01:00"));
        assert!(elsewhere.is_some_and(|p| p.contains("not back on")));
        let one_silence = no_eap_on_the_way_back(&run(&away[..2], "02:00:00:00:00:00"));
        assert!(one_silence.is_some_and(|p| p.contains("1 silences")));
    }

    #[test]
    fn a_roam_gap_above_the_ratio_is_a_problem() {
        let fast = Report {
            scenarios: vec![scenario(Stack::WpaSupplicant, 2000.0), scenario(Stack::Roam, 500.0)],
            ..Report::default()
        };
        assert!(gap_ratios(&fast).is_empty());
        let slow = Report {
            scenarios: vec![scenario(Stack::WpaSupplicant, 2000.0), scenario(Stack::Roam, 1500.0)],
            ..Report::default()
        };
        let problems = gap_ratios(&slow);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("0.75x"), "{problems:?}");
    }

    #[test]
    fn roam_is_compared_with_stock_on_the_same_security() {
        let ft = |stack, p50| ScenarioReport { security: Security::FtSae, ..scenario(stack, p50) };
        let report = Report {
            scenarios: vec![
                scenario(Stack::WpaSupplicant, 2000.0),
                ft(Stack::WpaSupplicant, 600.0),
                ft(Stack::Roam, 500.0),
            ],
            ..Report::default()
        };
        let problems = gap_ratios(&report);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("ft-sae"), "{problems:?}");
    }

    #[test]
    fn where_the_scenario_keeps_the_station_off_roam_must_only_not_be_worse() {
        let reboot = |stack, p50| ScenarioReport {
            name: "open-single-ap-reboot".into(),
            ..scenario(stack, p50)
        };
        let sooner = Report {
            scenarios: vec![
                reboot(Stack::WpaSupplicant, 5100.0),
                reboot(Stack::RoamNl80211, 4500.0),
            ],
            ..Report::default()
        };
        assert!(gap_ratios(&sooner).is_empty());
        let later = Report {
            scenarios: vec![
                reboot(Stack::WpaSupplicant, 5100.0),
                reboot(Stack::RoamNl80211, 5300.0),
            ],
            ..Report::default()
        };
        assert!(gap_ratios(&later)[0].contains("at most 1 expected"), "{:?}", gap_ratios(&later));
    }

    fn run(agent: Option<u64>, probe: u64) -> RunOutcome {
        RunOutcome {
            report: roam_testbed::report::RunReport {
                gap_ms: 100.0,
                lost_packets: probe,
                lossy_ms: 0.0,
                connections: 0,
                recovered: true,
                bssid_before: None,
                bssid_after: None,
                timeline: Vec::new(),
                ipv6: None,
                addressing: None,
            },
            measured: true,
            log_dir: format!("runs/x-{probe}"),
            error: None,
            roam_window_lost: agent,
            roam_transitions: 1,
            kernel_text_patches: None,
            metrics_window_ms: None,
            processes: Vec::new(),
            guest_stall_ms: None,
        }
    }

    #[test]
    fn window_accounting_is_judged_on_the_median_run() {
        let (a, b, c) = (run(Some(11), 6), run(Some(3), 3), run(Some(0), 1));
        assert_eq!(window_accounting(&[&a, &b, &c]), None, "one run off by 5 does not decide");
        let d = run(Some(12), 6);
        let problem = window_accounting(&[&a, &d, &c]).expect("two of three off");
        assert!(problem.contains("by 5 packets"), "{problem}");
        assert!(window_accounting(&[&run(None, 2)]).unwrap().contains("no drop window"));
        let unfinished = RunOutcome { roam_transitions: 0, ..run(Some(0), 2) };
        assert!(
            window_accounting(&[&unfinished]).unwrap().contains("no drop window"),
            "a run whose transition never finished has no window, not an empty one"
        );
    }

    #[test]
    fn the_busiest_minute_is_counted() {
        let most = |times: &[f64]| busiest_minute(times).len();
        assert_eq!(most(&[]), 0);
        assert_eq!(most(&[0.0, 59_700.0]), 2);
        assert_eq!(most(&[0.0, 60_000.0]), 1, "60 s apart: two minutes");
        // A roam the cap held, retried as the oldest left the minute, its event stamped sooner.
        assert_eq!(most(&[0.0, 59_990.0]), 1, "the cap's own boundary");
        let every_ten_s: Vec<f64> = (0..13).map(|i| i as f64 * 10_000.0).collect();
        assert_eq!(busiest_minute(&every_ten_s), &every_ten_s[..6]);
    }

    #[test]
    fn scenarios_have_expectations() {
        assert_eq!(Expectation::of("healthy-ap"), Expectation::NoRoam);
        assert!(matches!(Expectation::of("ap-flapping"), Expectation::Capped { .. }));
        assert_eq!(Expectation::of("ap-deauth"), Expectation::Recovery { metrics: true });
        assert_eq!(Expectation::of("agent-killed"), Expectation::Survive);
        assert!(matches!(Expectation::of("ap-flapping-long"), Expectation::Capped { .. }));
    }
}
