//! The benchmark's run order: every stack once per round, round after round, so whatever drifts
//! during a long boot (the host's load, the guest's caches) weighs on every stack alike.

use anyhow::{Context as _, Result};
use roam_testbed::{
    plan::{Case, Plan},
    scenario::{Scenario, Step},
    stack::Stack,
};

/// Seconds of idle the benchmark adds when no quiet scenario is selected: the agent's idle
/// costs need a window where the station is connected and nothing happens.
const IDLE_SECONDS: u64 = 60;

/// A scenario in which nothing happens to the APs: its runs measure what the stacks cost idle.
pub fn is_quiet(scenario: &Scenario) -> bool {
    scenario
        .trigger
        .iter()
        .all(|step| matches!(step, Step::Wait { .. } | Step::PauseTraffic | Step::ResumeTraffic))
}

/// A quiet scenario whose station carries no traffic: what roam costs with nothing to go on.
pub fn is_idle_station(scenario: &Scenario) -> bool {
    is_quiet(scenario) && scenario.trigger.contains(&Step::PauseTraffic)
}

/// The window without traffic the benchmark adds for the stacks' costs: what an idle station
/// sends and wakes for.
pub fn idle_station_scenario() -> Scenario {
    Scenario::from_toml(&format!(
        "name = \"idle-station\"\n\
         description = \"Connected, no traffic, nothing happens for {IDLE_SECONDS} s: the agent's costs with nothing to go on.\"\n\
         channels = [\"same\"]\n\
         [[trigger]]\naction = \"pause-traffic\"\n\
         [[trigger]]\naction = \"wait\"\nms = {}\n\
         [[trigger]]\naction = \"resume-traffic\"\n",
        IDLE_SECONDS * 1000
    ))
    .expect("the built-in idle-station scenario is valid")
}

/// The idle window the benchmark adds for the stacks' costs (not a file of tests/scenarios: it
/// has no traffic gap to compare, and the VM suite has healthy-ap for false positives).
pub fn idle_scenario() -> Scenario {
    Scenario::from_toml(&format!(
        "name = \"idle\"\n\
         description = \"Connected, and nothing happens for {IDLE_SECONDS} s: the agent's idle costs.\"\n\
         channels = [\"same\"]\n\
         [[trigger]]\naction = \"wait\"\nms = {}\n",
        IDLE_SECONDS * 1000
    ))
    .expect("the built-in idle scenario is valid")
}

/// Whether a benchmark adds the idle windows that measure the stacks' costs (two minutes per
/// stack), or leaves them to another boot of the same benchmark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdleWindows {
    Add,
    Skip,
}

/// One case per run: for each scenario and channel layout, round `r` runs every stack once
/// (in `stacks` order) before round `r + 1` starts. Quiet scenarios run once per stack only
/// (they measure costs, not gaps); with `idle` [`IdleWindows::Add`], the idle window is added
/// unless `scenarios` has a quiet one, and the window without traffic unless it has an idle
/// station.
pub fn interleaved(
    scenarios: &[Scenario],
    stacks: &[Stack],
    repeats: u32,
    probe_interval_ms: u64,
    idle: IdleWindows,
) -> Result<Plan> {
    let mut cases = Vec::new();
    let mut push_rounds = |scenario: &Scenario, stacks: &[Stack], rounds: u32| -> Result<()> {
        for layout in &scenario.channels {
            let channels = layout
                .resolve_in(scenario.aps, scenario.band)
                .with_context(|| format!("scenario {}", scenario.name))?;
            for round in 1..=rounds {
                for &stack in stacks {
                    cases.push(Case {
                        scenario: scenario.clone(),
                        stack,
                        channels: channels.clone(),
                        repeats: 1,
                        first_run: round,
                    });
                }
            }
        }
        Ok(())
    };
    for scenario in scenarios {
        let rounds = if is_quiet(scenario) { 1 } else { repeats };
        push_rounds(scenario, stacks, rounds)?;
    }
    if idle == IdleWindows::Add && !scenarios.iter().any(is_quiet) {
        push_rounds(&idle_scenario(), stacks, 1)?;
    }
    if idle == IdleWindows::Add && !scenarios.iter().any(is_idle_station) {
        push_rounds(&idle_station_scenario(), stacks, 1)?;
    }
    Ok(Plan { probe_interval_ms, cases, capture_frames: false, ipv6_probe: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, channels: &str, trigger: &str) -> Scenario {
        Scenario::from_toml(&format!(
            "name = \"{name}\"\nchannels = {channels}\ntrigger = [{trigger}]"
        ))
        .unwrap()
    }

    fn titles(plan: &Plan) -> Vec<String> {
        plan.cases.iter().map(|c| format!("{} #{}", c.title(), c.first_run)).collect()
    }

    #[test]
    fn stacks_alternate_run_by_run_and_runs_are_numbered_on() {
        let kill = scenario("a", "[\"same\", \"different\"]", "{ action = \"kill\" }");
        let stacks = [Stack::WpaSupplicant, Stack::Roam, Stack::Iwd];
        let plan = interleaved(&[kill], &stacks, 2, 10, IdleWindows::Add).unwrap();
        assert_eq!(
            titles(&plan),
            [
                "a [1-1] wpa_supplicant #1",
                "a [1-1] roam #1",
                "a [1-1] iwd #1",
                "a [1-1] wpa_supplicant #2",
                "a [1-1] roam #2",
                "a [1-1] iwd #2",
                "a [1-6] wpa_supplicant #1",
                "a [1-6] roam #1",
                "a [1-6] iwd #1",
                "a [1-6] wpa_supplicant #2",
                "a [1-6] roam #2",
                "a [1-6] iwd #2",
                "idle [1-1] wpa_supplicant #1",
                "idle [1-1] roam #1",
                "idle [1-1] iwd #1",
                "idle-station [1-1] wpa_supplicant #1",
                "idle-station [1-1] roam #1",
                "idle-station [1-1] iwd #1",
            ]
        );
        assert!(plan.cases.iter().all(|c| c.repeats == 1));
        let dirs: std::collections::BTreeSet<String> =
            plan.cases.iter().map(|c| c.run_dir_name(c.first_run)).collect();
        assert_eq!(dirs.len(), plan.cases.len(), "every run has its own log directory");
    }

    #[test]
    fn a_quiet_scenario_runs_once_per_stack_and_replaces_the_idle_window() {
        let quiet = scenario("calm", "[\"same\"]", "{ action = \"wait\", ms = 1000 }");
        assert!(is_quiet(&quiet));
        let stacks = [Stack::WpaSupplicant, Stack::Roam];
        let plan = interleaved(&[quiet], &stacks, 5, 10, IdleWindows::Add).unwrap();
        assert_eq!(
            titles(&plan),
            [
                "calm [1-1] wpa_supplicant #1",
                "calm [1-1] roam #1",
                "idle-station [1-1] wpa_supplicant #1",
                "idle-station [1-1] roam #1"
            ]
        );
        // An idle station of the selection's own replaces the built-in one.
        let idle = idle_station_scenario();
        assert!(is_quiet(&idle) && is_idle_station(&idle));
        let plan = interleaved(&[idle], &stacks, 5, 10, IdleWindows::Add).unwrap();
        assert_eq!(
            titles(&plan),
            ["idle-station [1-1] wpa_supplicant #1", "idle-station [1-1] roam #1"]
        );
    }

    #[test]
    fn every_stack_gets_the_idle_windows() {
        let kill = scenario("a", "[\"same\"]", "{ action = \"kill\" }");
        let plan = interleaved(&[kill], &[Stack::WpaSupplicant], 1, 10, IdleWindows::Add).unwrap();
        assert_eq!(
            titles(&plan),
            [
                "a [1-1] wpa_supplicant #1",
                "idle [1-1] wpa_supplicant #1",
                "idle-station [1-1] wpa_supplicant #1"
            ]
        );
        assert!(is_quiet(&idle_scenario()) && !is_idle_station(&idle_scenario()));
    }

    #[test]
    fn a_part_may_leave_the_idle_windows_to_another_boot() {
        let kill = scenario("a", "[\"same\"]", "{ action = \"kill\" }");
        let plan = interleaved(&[kill], &[Stack::WpaSupplicant], 1, 10, IdleWindows::Skip).unwrap();
        assert_eq!(titles(&plan), ["a [1-1] wpa_supplicant #1"]);
    }
}
