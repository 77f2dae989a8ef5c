//! Finding scenario files and turning a selection into a run plan.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{bail, Context as _, Result};
use roam_testbed::{
    plan::{Case, Plan},
    scenario::{ChannelPlan, Scenario, Security, Step},
    stack::Stack,
};

use crate::cmd;

/// tests/scenarios: one `<name>.toml` per scenario.
pub fn dir() -> PathBuf {
    cmd::workspace_root().join("tests/scenarios")
}

/// tests/faults: scenarios of what roam must survive (the roam stack only; see its README).
pub fn faults_dir() -> PathBuf {
    cmd::workspace_root().join("tests/faults")
}

/// A scenario by name (tests/scenarios/<name>.toml, then tests/faults/<name>.toml) or by file
/// path (anywhere).
pub fn load(name_or_path: &str) -> Result<Scenario> {
    let as_path = Path::new(name_or_path);
    if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
        return load_file(as_path);
    }
    let file_name = format!("{name_or_path}.toml");
    let Some(file) =
        [dir(), faults_dir()].map(|d| d.join(&file_name)).into_iter().find(|f| f.exists())
    else {
        let known: Vec<String> = all()?.into_iter().chain(faults()?).map(|s| s.name).collect();
        bail!(
            "no scenario `{name_or_path}` in {} or {} (known: {}, or pass a file path)",
            dir().display(),
            faults_dir().display(),
            known.join(", ")
        );
    };
    load_file(&file)
}

fn load_file(path: &Path) -> Result<Scenario> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Scenario::from_toml(&text).with_context(|| format!("in {}", path.display()))
}

/// Sets every scenario's network to `security` (`--security`); beacons an attacker forges
/// with the network's own security (no `security` of their own) follow it.
pub fn with_security(scenarios: &mut [Scenario], security: Security) {
    for scenario in scenarios {
        scenario.security = security;
    }
}

/// Every scenario in tests/scenarios, by file name.
pub fn all() -> Result<Vec<Scenario>> {
    every_file_in(&dir())
}

/// Every fault scenario in tests/faults, by file name.
pub fn faults() -> Result<Vec<Scenario>> {
    every_file_in(&faults_dir())
}

fn every_file_in(dir: &Path) -> Result<Vec<Scenario>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files.iter().map(|f| load_file(f)).collect()
}

/// What to run: scenarios x stacks x channel layouts.
#[derive(Clone)]
pub struct Selection {
    pub scenarios: Vec<Scenario>,
    pub stacks: Vec<Stack>,
    /// Overrides every scenario's own channel plans.
    pub channels: Option<ChannelPlan>,
    /// Overrides... nothing: every case runs this many times.
    pub repeats: u32,
    pub probe_interval_ms: u64,
}

/// Orders cases so consecutive ones share a topology (stack, then channel layout), stock
/// wpa_supplicant first: one topology serves many scenarios within a boot.
pub fn plan(selection: &Selection) -> Result<Plan> {
    let mut stacks = selection.stacks.clone();
    stacks.sort();
    stacks.dedup();
    let mut cases = Vec::new();
    for &stack in &stacks {
        let mut layouts: Vec<(ChannelPlan, usize)> = Vec::new();
        for scenario in &selection.scenarios {
            let plans = match &selection.channels {
                Some(plan) => vec![plan.clone()],
                None => scenario.channels.clone(),
            };
            for plan in plans {
                if !layouts.contains(&(plan.clone(), scenario.aps)) {
                    layouts.push((plan, scenario.aps));
                }
            }
        }
        for (layout, aps) in &layouts {
            for scenario in &selection.scenarios {
                let applies = match &selection.channels {
                    Some(_) => true,
                    None => scenario.channels.contains(layout),
                };
                if applies && scenario.aps == *aps {
                    if stack == Stack::RoamNl80211 && scenario.security != Security::Open {
                        bail!(
                            "scenario {} is {:?}: the roam-nl80211 stack has no supplicant and joins open networks only (use the open-* scenarios)",
                            scenario.name, scenario.security
                        );
                    }
                    let steps = scenario.trigger.iter().chain(&scenario.restore);
                    if !stack.runs_roam() && steps.clone().any(|step| step.needs_agent()) {
                        bail!(
                            "scenario {} acts on the roam agent: run it with --stack roam",
                            scenario.name
                        );
                    }
                    let kills_an_ap = steps
                        .clone()
                        .any(|step| matches!(step, Step::Kill { .. } | Step::Start { .. }));
                    if kills_an_ap
                        && roam_testbed::security::aps_share_one_hostapd(scenario.security)
                    {
                        bail!(
                            "scenario {} kills or starts one AP's hostapd, but on {} the APs share one hostapd (for the keys they share): run it with another --security",
                            scenario.name,
                            scenario.security.name()
                        );
                    }
                    cases.push(Case {
                        scenario: scenario.clone(),
                        stack,
                        channels: layout
                            .resolve_in(scenario.aps, scenario.band)
                            .with_context(|| format!("scenario {}", scenario.name))?,
                        repeats: selection.repeats,
                        first_run: 1,
                    });
                }
            }
        }
    }
    Ok(Plan {
        probe_interval_ms: selection.probe_interval_ms,
        cases,
        capture_frames: false,
        ipv6_probe: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(name: &str, channels: &str) -> Scenario {
        Scenario::from_toml(&format!(
            "name = \"{name}\"\nchannels = {channels}\ntrigger = [{{ action = \"kill\" }}]"
        ))
        .unwrap()
    }

    #[test]
    fn cases_are_grouped_by_stack_then_layout() {
        let selection = Selection {
            scenarios: vec![
                scenario("a", "[\"same\", \"different\"]"),
                scenario("b", "[\"different\"]"),
            ],
            stacks: vec![Stack::Roam, Stack::WpaSupplicant],
            channels: None,
            repeats: 3,
            probe_interval_ms: 10,
        };
        let plan = plan(&selection).unwrap();
        let titles: Vec<String> = plan.cases.iter().map(Case::title).collect();
        assert_eq!(
            titles,
            [
                "a [1-1] wpa_supplicant",
                "a [1-6] wpa_supplicant",
                "b [1-6] wpa_supplicant",
                "a [1-1] roam",
                "a [1-6] roam",
                "b [1-6] roam",
            ]
        );
        assert!(plan.cases.iter().all(|c| c.repeats == 3));
    }

    #[test]
    fn a_channel_override_applies_to_every_scenario() {
        let selection = Selection {
            scenarios: vec![scenario("a", "[\"same\"]"), scenario("b", "[\"different\"]")],
            stacks: vec![Stack::WpaSupplicant],
            channels: Some(ChannelPlan::List(vec![1, 11])),
            repeats: 1,
            probe_interval_ms: 10,
        };
        let plan = plan(&selection).unwrap();
        assert_eq!(plan.cases.len(), 2);
        assert!(plan.cases.iter().all(|c| c.channels == [1, 11]));
    }

    #[test]
    fn killing_one_ap_of_a_network_that_shares_one_hostapd_is_refused() {
        let scenario = Scenario::from_toml(
            "name = \"k\"\nsecurity = \"wpa2-eap\"\ntrigger = [{ action = \"kill\" }]",
        )
        .unwrap();
        let selection = Selection {
            scenarios: vec![scenario.clone()],
            stacks: vec![Stack::WpaSupplicant],
            channels: None,
            repeats: 1,
            probe_interval_ms: 10,
        };
        let refused = plan(&selection).err().map(|e| e.to_string());
        assert!(refused.is_some_and(|e| e.contains("share one hostapd")));
        for own_hostapds in [Security::FtPsk, Security::Wpa3Sae] {
            let scenario = Scenario { security: own_hostapds, ..scenario.clone() };
            assert!(plan(&Selection { scenarios: vec![scenario], ..selection.clone() }).is_ok());
        }
    }

    /// The scenario files of the repository parse, and the eight names are all there.
    #[test]
    fn repository_scenarios_parse() {
        let names: Vec<String> = all().unwrap().into_iter().map(|s| s.name).collect();
        for expected in [
            "silent-ap-loss",
            "ap-deauth",
            "ap-disassoc",
            "ap-disable",
            "ap-kill",
            "ap-link-down",
            "deliberate-roam",
            "ap-flap",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} missing");
        }
    }
}
