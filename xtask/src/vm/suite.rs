//! The VM suite of `cargo xtask test`: every scenario with stock wpa_supplicant, on both
//! channel layouts, in one boot; each case must recover (see [`is_a_stock_miss`]), and each
//! run's traffic gap must agree with wpa_supplicant's own timeline. Then the scenarios roam
//! exists for, with the roam stack in the same boot: roam must recover faster than stock
//! (tolerant thresholds: the exact ratios are the benchmark's), its drop-window accounting must
//! agree with the probe, and its metrics must show the roams; the same for the agent alone on
//! an open network (roam-nl80211), and with its monitor off (roam-no-monitor, what a host whose
//! monitor hears nothing gets); the fault tests; silent-ap-loss and ap-deauth on every network
//! type users run. Then a smoke run on each newer Debian release, a boot each.

use anyhow::{bail, Result};
use roam_testbed::{
    plan::{GuestResults, Plan},
    report::{RunReport, ScenarioReport},
    scenario::{Band, ChannelPlan, Scenario, Security},
    stack::Stack,
};

use super::{
    image::{Debian, ImageSpec},
    roam_checks, scenarios,
    session::Session,
    summary::Failure,
    RunOptions,
};
use crate::cmd::{self, note, step};

/// The scenarios run with the roam stack in the suite: those it acts on, and those where it
/// must hold back (see `roam_checks::Expectation`).
const ROAM_SCENARIOS: &[&str] = &[
    "silent-ap-loss",
    "ap-deauth",
    "ap-disassoc",
    "ap-disable",
    "deliberate-roam",
    "healthy-ap",
    "ap-flapping",
    "beacons-lost-ap-alive",
    "forged-beacon-interval",
    "forged-beacon-interval-pmf",
    "ghost-bss",
    "ssid-switch",
];

/// The scenarios run with the roam-no-monitor stack: liveness from acknowledgements alone.
const NO_MONITOR_SCENARIOS: &[&str] = &["silent-ap-loss", "beacons-lost-ap-alive"];

/// Scenarios of a minute or more where nothing may happen: once per roam stack, not for stock
/// (which has nothing to hold back), so the suite fits in CI.
const LONG_HOLDS: &[&str] = &["lossy-link"];

/// Long walks measured by the benchmark (`cargo xtask bench --scenarios ...`), not the suite:
/// over a minute each per stack and layout, more than CI's budget has left.
const BENCH_ONLY: &[&str] = &["boundary", "walk-and-return"];

/// The scenarios run with the roam-nl80211 stack (the agent alone on an open network, acting
/// through bare nl80211), against stock wpa_supplicant on the same open network.
const NL80211_SCENARIOS: &[&str] =
    &["open-silent-ap-loss", "open-ap-deauth", "open-single-ap-reboot"];

/// Scenarios in which the station's AP vanishes again and again: the longest gap can span
/// several reconnections (to an AP that vanishes before traffic flows), so the one-outage
/// consistency check below does not apply to them.
const REPEATED_OUTAGES: &[&str] = &["ap-flapping", roam_checks::ROAM_BACK];

/// The networks users run besides WPA2-PSK and open: each once with the two scenarios below,
/// stock and roam on the same channel, so every mode is seen to recover, with roam ahead; on
/// WPA2-Enterprise roam-back too (see `security_cases`).
const SECURITY_MODES: [Security; 6] = roam_testbed::security::USERS_NETWORKS;
const SECURITY_SCENARIOS: &[&str] = &["silent-ap-loss", "ap-deauth"];
/// One run per stack and mode: the ratio guard is loose enough for one, and CI's 60 minutes
/// leave room for no more (26 runs with roam-back, 2.5 minutes under TCG).
const SECURITY_REPEATS: u32 = 1;

/// Runs of each fault test (tests/faults): each checks what roam does, not how fast.
const FAULT_REPEATS: u32 = 1;
/// Runs per case in the suite; `ROAM_VM_SUITE_REPEATS` overrides (the suite must fit in CI).
const DEFAULT_REPEATS: u32 = 2;
/// Extra runs of the roam stack where its median gap is compared with stock's: with an odd
/// count the median is one run, so a single slow run under TCG (a busy CI host) cannot decide
/// the check alone; a real regression still moves the majority.
const EXTRA_RECOVERY_RUNS: u32 = 1;
/// Clock mapping and probe granularity between the log's and the probe's view.
const TOLERANCE_MS: f64 = 100.0;
/// After reconnecting, the station may wait for the 1 s ARP retry (its neighbour entry for the
/// bridge went with the carrier), plus scheduling under TCG.
const ARP_STALL_MS: f64 = 1500.0;

/// Runs the suite; with `security`, every scenario whose network is protected runs with that
/// security instead (the open ones stay open: the nl80211 stack joins nothing else), and with
/// `band` every one in that band.
/// A part of the suite, to run alone while working on it (`cargo xtask vm suite --only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SuitePart {
    /// Every scenario with stock wpa_supplicant.
    Stock,
    /// The roam stacks: roam, roam-no-monitor, roam-nl80211.
    Roam,
    /// The fault tests (tests/faults).
    Faults,
    /// silent-ap-loss and ap-deauth per security mode, stock and roam.
    Security,
    /// The newer Debian releases' smoke runs, a boot each (see [`RELEASE_SMOKE`]).
    Releases,
}

/// The Debian releases besides bookworm that `cargo xtask test` boots once each: the whole
/// suite on them is `cargo xtask vm suite --debian <release>`, on demand (over CI's budget).
pub const SMOKE_RELEASES: [Debian; 2] = [Debian::Trixie, Debian::Sid];
/// What a release's smoke run runs: one silent AP and one deauthentication, stock and roam, one
/// run each on one channel; every hook must attach, roam must recover ahead of stock, and
/// nothing of roam's may stay.
pub const RELEASE_SMOKE: &[&str] = &["silent-ap-loss", "ap-deauth"];

/// The smoke run of `debian` (a boot of its own).
pub fn release_smoke(debian: Debian) -> Result<()> {
    step(format!("VM smoke run on Debian {}", debian.suite()));
    let selection = scenarios::Selection {
        scenarios: RELEASE_SMOKE.iter().map(|name| scenarios::load(name)).collect::<Result<_>>()?,
        stacks: vec![Stack::WpaSupplicant, Stack::Roam],
        channels: Some(ChannelPlan::Same),
        repeats: 1,
        probe_interval_ms: super::DEFAULT_PROBE_INTERVAL_MS,
    };
    let plan = scenarios::plan(&selection)?;
    let image = ImageSpec { roam: Some(release_agent()?), debian, ..ImageSpec::default() };
    let outcome = super::run_plan(&image, &plan, &RunOptions::default())?;
    let mut problems: Vec<String> = outcome
        .failures
        .iter()
        .filter(|failure| !is_a_stock_miss(&plan, &outcome.results, failure))
        .map(|failure| failure.to_string())
        .collect();
    problems.extend(roam_checks::gap_ratios(&outcome.report));
    problems.extend(check_roam_hooks(&outcome.session));
    problems.extend(outcome.results.leftovers.iter().map(|found| format!("left behind {found}")));
    report_problems(&outcome.session, &problems)?;
    note(format!("smoke run on Debian {} passed", debian.suite()));
    Ok(())
}

/// The agent users install: the release build (a debug agent is ~40 ms slower per roam under
/// TCG, which the suite's ratios would measure instead of roam).
fn release_agent() -> Result<std::path::PathBuf> {
    step("Building the release agent for the VM");
    cmd::run(cmd::cargo().args(["build", "--release", "--package", "roam-user", "--bin", "roam"]))?;
    Ok(cmd::workspace_root().join("target/release/roam"))
}

pub fn run(
    security: Option<Security>,
    band: Option<Band>,
    debian: Debian,
    only: Option<SuitePart>,
) -> Result<()> {
    if only == Some(SuitePart::Releases) {
        return SMOKE_RELEASES.into_iter().try_for_each(release_smoke);
    }
    let secured = |mut scenario: Scenario| {
        if let Some(security) = security.filter(|_| scenario.security != Security::Open) {
            scenario.security = security;
        }
        if let Some(band) = band {
            scenario.band = band;
        }
        scenario
    };
    let repeats = match std::env::var("ROAM_VM_SUITE_REPEATS") {
        Ok(n) => n.parse()?,
        Err(_) => DEFAULT_REPEATS,
    };
    step(match only {
        None => format!(
            "VM suite: every scenario x channel layout with stock wpa_supplicant, {repeats} runs \
             each; roam's scenarios with the roam stacks; the fault tests; each network type"
        ),
        Some(part) => format!("VM suite, one part: {part:?}"),
    });
    let stock = scenarios::Selection {
        scenarios: scenarios::all()?
            .into_iter()
            .filter(|s| !LONG_HOLDS.contains(&s.name.as_str()))
            .filter(|s| !BENCH_ONLY.contains(&s.name.as_str()))
            .map(secured)
            .collect(),
        stacks: vec![Stack::WpaSupplicant],
        channels: None,
        repeats,
        probe_interval_ms: super::DEFAULT_PROBE_INTERVAL_MS,
    };
    let (recoveries, holds) = by_expectation(ROAM_SCENARIOS);
    let (no_monitor_recoveries, no_monitor_holds) = by_expectation(NO_MONITOR_SCENARIOS);
    let with = |stack: Stack, names: &[&str], repeats: u32| -> Result<scenarios::Selection> {
        Ok(scenarios::Selection {
            scenarios: names
                .iter()
                .map(|name| scenarios::load(name).map(secured))
                .collect::<Result<_>>()?,
            stacks: vec![stack],
            repeats,
            ..stock.clone()
        })
    };
    let recovery_runs = repeats + EXTRA_RECOVERY_RUNS;
    let faults: Vec<Scenario> = scenarios::faults()?.into_iter().map(secured).collect();
    let fault_names: Vec<String> = faults.iter().map(|s| s.name.clone()).collect();
    let faults = scenarios::Selection {
        scenarios: faults,
        stacks: vec![Stack::Roam],
        repeats: FAULT_REPEATS,
        ..stock.clone()
    };
    let mut parts = vec![
        (SuitePart::Stock, stock.clone()),
        (SuitePart::Roam, with(Stack::Roam, &recoveries, recovery_runs)?),
        (SuitePart::Roam, with(Stack::Roam, &holds, repeats)?),
        (SuitePart::Roam, with(Stack::Roam, LONG_HOLDS, 1)?),
        (SuitePart::Roam, with(Stack::RoamNoMonitor, &no_monitor_recoveries, recovery_runs)?),
        (SuitePart::Roam, with(Stack::RoamNoMonitor, &no_monitor_holds, repeats)?),
        (SuitePart::Roam, with(Stack::RoamNoMonitor, LONG_HOLDS, 1)?),
        (SuitePart::Roam, with(Stack::RoamNl80211, NL80211_SCENARIOS, recovery_runs)?),
        (SuitePart::Faults, faults),
    ];
    // With --security every protected scenario already runs in that one mode.
    if security.is_none() {
        for mode in SECURITY_MODES {
            parts.push((SuitePart::Security, security_cases(mode, band, &stock)?));
        }
    }
    let mut plan = Plan { cases: Vec::new(), ..scenarios::plan(&stock)? };
    for (_, selection) in parts.iter().filter(|(part, _)| only.is_none_or(|only| only == *part)) {
        plan.cases.extend(scenarios::plan(selection)?.cases);
    }
    let image = ImageSpec { roam: Some(release_agent()?), debian, ..ImageSpec::default() };
    let outcome = super::run_plan(&image, &plan, &RunOptions::default())?;
    let mut problems = Vec::new();
    for failure in &outcome.failures {
        match is_a_stock_miss(&plan, &outcome.results, failure) {
            true => {
                note(format!("stock wpa_supplicant missed a recovery (not a failure): {failure}"))
            }
            false => problems.push(failure.to_string()),
        }
    }
    // The check reads wpa_supplicant's timeline; a stack without it has no CONNECTED to compare.
    let one_outage = |s: &&ScenarioReport| {
        !REPEATED_OUTAGES.contains(&s.name.as_str())
            && !fault_names.contains(&s.name)
            && s.stack.runs_wpa_supplicant()
    };
    for scenario in outcome.report.scenarios.iter().filter(one_outage) {
        for (index, run) in scenario.runs.iter().enumerate() {
            if let Err(problem) = check_consistency(run) {
                problems.push(format!(
                    "{} [{:?}] {} run {}: {problem}",
                    scenario.name,
                    scenario.channels,
                    scenario.stack,
                    index + 1
                ));
            }
        }
    }
    problems.extend(check_roam_hooks(&outcome.session));
    problems.extend(check_refusals(&outcome.session));
    problems.extend(outcome.results.leftovers.iter().map(|found| format!("left behind {found}")));
    problems.extend(roam_checks::check(&plan, &outcome));
    report_problems(&outcome.session, &problems)?;
    note("VM suite passed");
    // The newer releases, a boot each, where the whole suite ran on bookworm.
    if only.is_none() && debian == Debian::Bookworm && security.is_none() && band.is_none() {
        SMOKE_RELEASES.into_iter().try_for_each(release_smoke)?;
    }
    Ok(())
}

/// silent-ap-loss and ap-deauth on a `mode` network, stock and roam, on one channel.
fn security_cases(
    mode: Security,
    band: Option<Band>,
    stock: &scenarios::Selection,
) -> Result<scenarios::Selection> {
    // On WPA2-Enterprise, also the way back to an AP whose PMKSA the station holds: roam's
    // must run no EAP exchange (roam_checks::no_eap_on_the_way_back).
    let way_back = (mode == Security::Wpa2Eap).then_some(roam_checks::ROAM_BACK);
    let scenarios = SECURITY_SCENARIOS
        .iter()
        .copied()
        .chain(way_back)
        .map(|name| {
            let mut scenario = scenarios::load(name)?;
            scenario.security = mode;
            scenario.band = band.unwrap_or(scenario.band);
            Ok(scenario)
        })
        .collect::<Result<_>>()?;
    Ok(scenarios::Selection {
        scenarios,
        stacks: vec![Stack::WpaSupplicant, Stack::Roam],
        channels: Some(ChannelPlan::Same),
        repeats: SECURITY_REPEATS,
        ..stock.clone()
    })
}

/// Scenarios roam must recover from, and those where it must hold back.
fn by_expectation<'a>(names: &[&'a str]) -> (Vec<&'a str>, Vec<&'a str>) {
    names.iter().partition(|name| {
        matches!(roam_checks::Expectation::of(name), roam_checks::Expectation::Recovery { .. })
    })
}

/// Stock wpa_supplicant is the baseline, not the software under test: one of its runs that does
/// not recover in time (seen once in CI, on ap-disable, among hundreds of runs that took ~1 s)
/// is a figure about stock, printed with its last events. The case fails only if none of its
/// runs recovered, which says the testbed gave the station nowhere to go. Every run of a roam
/// stack must recover.
fn is_a_stock_miss(plan: &Plan, results: &GuestResults, failure: &Failure) -> bool {
    let Some(index) = failure.case.filter(|_| failure.no_recovery) else {
        return false;
    };
    let (Some(case), Some(outcome)) = (plan.cases.get(index), results.cases.get(index)) else {
        return false;
    };
    !case.stack.runs_roam() && outcome.runs.iter().any(|run| run.measured && !run.failed())
}

/// Every roam hook must attach on the guest kernel (it has kprobes, cfg80211, mac80211 and a
/// monitor interface). The report is there when the agent was built into the image, which
/// `cargo xtask test` does.
fn check_roam_hooks(session: &Session) -> Option<String> {
    let path = session.dir.join(roam_testbed::report::ROAM_CHECK_FILE);
    let Ok(json) = std::fs::read_to_string(&path) else {
        return Some(format!("no roam check report at {} (is roam built?)", path.display()));
    };
    match roam_testbed::report::hooks_not_attached(&json) {
        Ok(missing) if missing.is_empty() => {
            note("roam check in the VM: every kernel hook attached");
            None
        }
        Ok(missing) => Some(format!("roam hooks not attached in the VM: {}", missing.join("; "))),
        Err(problem) => Some(problem),
    }
}

/// `roam run` given a wpa_supplicant that is absent, stale or hung must refuse in one line
/// with the fix, and leave nothing (recorded in the VM beside the roam check).
fn check_refusals(session: &Session) -> Vec<String> {
    use roam_testbed::refusal::{problems, REFUSALS_FILE};
    let path = session.dir.join(REFUSALS_FILE);
    let Ok(json) = std::fs::read_to_string(&path) else {
        return vec![format!(
            "no record of roam's refusals at {} (is roam built?)",
            path.display()
        )];
    };
    match problems(&json) {
        Ok(problems) if problems.is_empty() => {
            note("roam run in the VM: absent, stale and hung supplicants refused in one line");
            Vec::new()
        }
        Ok(problems) => problems,
        Err(problem) => vec![problem],
    }
}

fn report_problems(session: &Session, problems: &[String]) -> Result<()> {
    if problems.is_empty() {
        return Ok(());
    }
    for problem in problems {
        note(format!("FAIL {problem}"));
    }
    bail!("VM suite: {} problem(s); session logs in {}", problems.len(), session.dir.display())
}

/// The probe's gap must match what wpa_supplicant says happened. The reconnection that ends
/// the outage is the first CTRL-EVENT-CONNECTED after the gap started; traffic cannot come back
/// before it, and once it is there, comes back within an ARP stall. In the gap's terms:
/// gap >= (connected - gap start) - tolerance and gap <= (connected - gap start) + ARP stall.
/// A run whose traffic came back without a reconnection (the station rode the event out) has
/// nothing to compare; a run that recovered must show its first answered probe, and a run in
/// which the station moved must show the reconnection.
pub fn check_consistency(run: &RunReport) -> Result<(), String> {
    let Some(answered) = event_time(run, "first_probe_answered") else {
        return match run.recovered {
            true => Err("recovered, but no answered probe in the timeline".into()),
            false => Ok(()),
        };
    };
    let gap_start = answered - run.gap_ms;
    let latest_relevant = answered + ARP_STALL_MS + TOLERANCE_MS;
    let Some(connected) = run
        .timeline
        .iter()
        .filter(|e| e.source == "wpa_supplicant" && e.event == "connected")
        .map(|e| e.t_ms)
        .find(|&t| t >= gap_start && t <= latest_relevant)
    else {
        return match run.bssid_before != run.bssid_after {
            true => Err(format!(
                "the station moved ({:?} -> {:?}) but no CTRL-EVENT-CONNECTED falls in the gap",
                run.bssid_before, run.bssid_after
            )),
            false => Ok(()),
        };
    };
    let to_connected = connected - gap_start;
    if run.gap_ms < to_connected - TOLERANCE_MS {
        return Err(format!(
            "gap {:.1} ms is shorter than the {to_connected:.1} ms to CTRL-EVENT-CONNECTED",
            run.gap_ms
        ));
    }
    if run.gap_ms > to_connected + ARP_STALL_MS + TOLERANCE_MS {
        return Err(format!(
            "gap {:.1} ms exceeds the {to_connected:.1} ms to CTRL-EVENT-CONNECTED by more than an ARP stall",
            run.gap_ms
        ));
    }
    Ok(())
}

fn event_time(run: &RunReport, event: &str) -> Option<f64> {
    run.timeline.iter().find(|e| e.event == event).map(|e| e.t_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use roam_testbed::{
        plan::{CaseOutcome, RunOutcome},
        timeline::TimelineEvent,
    };
    use std::path::Path;

    fn run(gap_ms: f64, connected: Option<f64>, answered: f64) -> RunReport {
        let mut timeline = vec![TimelineEvent::new(answered, "first_probe_answered", "probe")];
        if let Some(t) = connected {
            timeline.push(TimelineEvent::new(t, "connected", "wpa_supplicant"));
        }
        RunReport {
            gap_ms,
            lost_packets: 0,
            lossy_ms: 0.0,
            connections: 0,
            recovered: true,
            bssid_before: None,
            bssid_after: None,
            timeline,
            ipv6: None,
            addressing: None,
        }
    }

    #[test]
    fn the_security_cases_keep_their_own_logs_beside_the_stock_ones() {
        let stock = scenarios::Selection {
            scenarios: SECURITY_SCENARIOS.iter().map(|n| scenarios::load(n).unwrap()).collect(),
            stacks: vec![Stack::WpaSupplicant, Stack::Roam],
            channels: None,
            repeats: 1,
            probe_interval_ms: 10,
        };
        let mut dirs: Vec<String> = scenarios::plan(&stock)
            .unwrap()
            .cases
            .iter()
            .map(|case| case.run_dir_name(1))
            .collect();
        for mode in SECURITY_MODES {
            let plan = scenarios::plan(&security_cases(mode, None, &stock).unwrap()).unwrap();
            // 2 scenarios (3 on WPA2-Enterprise: roam-back) x stock and roam, one layout.
            let scenarios = if mode == Security::Wpa2Eap { 3 } else { 2 };
            assert_eq!(plan.cases.len(), 2 * scenarios, "{mode:?}");
            assert!(plan.cases.iter().all(|case| case.scenario.security == mode));
            dirs.extend(plan.cases.iter().map(|case| case.run_dir_name(1)));
        }
        let unique: std::collections::BTreeSet<&String> = dirs.iter().collect();
        assert_eq!(unique.len(), dirs.len(), "{dirs:?}");
    }

    /// One ap-disable case per stack, two runs each, the first of which did not recover; the
    /// second recovered where `second_recovers`.
    fn one_miss_per_stack(second_recovers: bool) -> (Plan, GuestResults, Vec<Failure>) {
        let selection = scenarios::Selection {
            scenarios: vec![scenarios::load("ap-disable").unwrap()],
            stacks: vec![Stack::WpaSupplicant, Stack::Roam],
            channels: Some(roam_testbed::scenario::ChannelPlan::Different),
            repeats: 2,
            probe_interval_ms: super::super::DEFAULT_PROBE_INTERVAL_MS,
        };
        let plan = scenarios::plan(&selection).unwrap();
        let outcome = |recovered: bool| -> RunOutcome {
            RunOutcome {
                report: RunReport { recovered, ..run(20_000.0, None, 0.0) },
                measured: true,
                log_dir: "runs/x".into(),
                error: None,
                roam_window_lost: None,
                roam_transitions: 0,
                kernel_text_patches: None,
                metrics_window_ms: None,
                processes: Vec::new(),
                guest_stall_ms: None,
            }
        };
        let case =
            CaseOutcome { error: None, runs: vec![outcome(false), outcome(second_recovers)] };
        let results = GuestResults { cases: vec![case.clone(), case], ..GuestResults::default() };
        let failures = super::super::summary::failures(&plan, &results, Path::new("/s"));
        (plan, results, failures)
    }

    #[test]
    fn a_stock_run_that_misses_is_a_figure_when_its_case_recovered_otherwise() {
        let (plan, results, failures) = one_miss_per_stack(true);
        assert_eq!(failures.len(), 2, "{failures:?}");
        let misses: Vec<_> = failures
            .iter()
            .map(|f| (plan.cases[f.case.unwrap()].stack, is_a_stock_miss(&plan, &results, f)))
            .collect();
        assert_eq!(misses, vec![(Stack::WpaSupplicant, true), (Stack::Roam, false)]);
    }

    #[test]
    fn a_stock_case_that_never_recovers_fails() {
        let (plan, results, failures) = one_miss_per_stack(false);
        assert_eq!(failures.len(), 4, "{failures:?}");
        assert!(failures.iter().all(|f| !is_a_stock_miss(&plan, &results, f)));
    }

    #[test]
    fn a_gap_ending_an_arp_retry_after_the_connection_is_consistent() {
        // Connected at 60 ms, traffic back at 1065 ms (ARP retry), gap started 5 ms before t0.
        assert_eq!(check_consistency(&run(1070.0, Some(60.0), 1065.0)), Ok(()));
    }

    #[test]
    fn traffic_before_the_connection_is_inconsistent() {
        // Traffic back at 495 ms, but the station only connected at 1000 ms.
        let err = check_consistency(&run(500.0, Some(1000.0), 495.0)).unwrap_err();
        assert!(err.contains("shorter"), "{err}");
    }

    #[test]
    fn traffic_long_after_the_connection_is_inconsistent() {
        let err = check_consistency(&run(4000.0, Some(1000.0), 3995.0)).unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
    }

    #[test]
    fn runs_without_a_reconnection_are_not_compared() {
        assert_eq!(check_consistency(&run(600.0, None, 595.0)), Ok(()));
    }

    #[test]
    fn a_move_without_a_reconnection_in_the_gap_is_inconsistent() {
        let moved = RunReport {
            bssid_before: Some("02:00:00:00:00:00".into()),
            bssid_after: Some("02:00:00:00:01:00".into()),
            ..run(600.0, None, 595.0)
        };
        let err = check_consistency(&moved).unwrap_err();
        assert!(err.contains("no CTRL-EVENT-CONNECTED"), "{err}");
    }

    #[test]
    fn a_recovery_without_an_answered_probe_is_inconsistent() {
        let mut silent = run(600.0, Some(60.0), 595.0);
        silent.timeline.retain(|e| e.event != "first_probe_answered");
        assert!(check_consistency(&silent).unwrap_err().contains("no answered probe"));
    }
}
