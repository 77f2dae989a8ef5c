//! One report from several benchmark boots: the full benchmark outgrew one session of the
//! machine (every scenario x 4 stacks x 10 runs is over four hours under TCG), so it runs in
//! parts (`--scenarios` per boot) and `--from-session A --from-session B` assembles them.
//!
//! A ratio is only honest within one boot, so every scenario and channel layout that measures a
//! gap must come from a single part; only the quiet windows (idle, idle station, healthy-ap),
//! which measure costs, may repeat across parts, and their windows are pooled.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use roam_testbed::{
    plan::{GuestResults, Plan},
    scenario::Security,
};

use super::plan::is_quiet;

/// One boot's benchmark, as its session directory kept it.
pub struct Part {
    pub dir: PathBuf,
    pub plan: Plan,
    pub results: GuestResults,
}

/// The parts as one plan and its results, every run's `log_dir` made relative to `root` (the
/// parts' common parent directory).
#[derive(Debug)]
pub struct Merged {
    pub root: PathBuf,
    pub plan: Plan,
    pub results: GuestResults,
    /// Per part, in order: the run sets it measured again in place of an earlier part's.
    pub replaced: Vec<Vec<String>>,
}

/// What to do with a run set two parts measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Twice {
    /// Refuse the merge: a ratio holds within one boot.
    Refuse,
    /// The later part's runs replace the earlier one's (the agent changed in between).
    LaterReplaces,
}

/// A scenario on a channel layout and network: what one boot alone may measure.
type RunSetKey = (String, Vec<u8>, Security);

/// Joins the parts in the order given. Refuses parts that do not share a parent directory,
/// that were run at different probe intervals, or that both measured the same scenario on
/// the same channels and network (unless `twice` lets the later one replace the earlier's).
pub fn merge(parts: Vec<Part>, twice: Twice) -> Result<Merged> {
    let Some(first) = parts.first() else { bail!("no benchmark session to report on") };
    let root = parent(&first.dir)?.to_path_buf();
    let first_dir = first.dir.clone();
    let probe_interval_ms = first.plan.probe_interval_ms;
    let mut plan = Plan {
        probe_interval_ms,
        cases: Vec::new(),
        capture_frames: false,
        ipv6_probe: first.plan.ipv6_probe,
    };
    let mut results = GuestResults::default();
    let mut measured_in: Vec<(RunSetKey, PathBuf)> = Vec::new();
    let mut replaced = Vec::new();
    for part in parts {
        if parent(&part.dir)? != root {
            bail!(
                "{} and {} are not in one directory: give sessions of one target/vm/runs",
                first_dir.display(),
                part.dir.display()
            );
        }
        if part.plan.probe_interval_ms != probe_interval_ms {
            bail!(
                "{} probed every {} ms, the first session every {probe_interval_ms} ms: gaps at two \
                 intervals do not compare; give sessions run with the same --interval-ms",
                part.dir.display(),
                part.plan.probe_interval_ms
            );
        }
        if part.plan.cases.len() != part.results.cases.len() {
            bail!(
                "{} has results for {} of its {} cases (the boot ended early?): run those \
                 scenarios again",
                part.dir.display(),
                part.results.cases.len(),
                part.plan.cases.len()
            );
        }
        let stamp = part.dir.file_name().context("session directory")?.to_owned();
        let mut replaces = Vec::new();
        for case in part.plan.cases.iter().filter(|c| !is_quiet(&c.scenario)) {
            let key = (case.scenario.name.clone(), case.channels.clone(), case.scenario.security);
            let name = format!("{} on channels {:?} ({})", key.0, key.1, key.2.name());
            match measured_in.iter_mut().find(|(k, _)| *k == key) {
                Some((_, dir)) if *dir != part.dir => {
                    if twice == Twice::Refuse {
                        bail!(
                            "{name} was measured in both {} and {}: a ratio holds within one \
                             boot; leave it out of one part's --scenarios, or give \
                             --later-replaces if the agent changed in between",
                            dir.display(),
                            part.dir.display()
                        );
                    }
                    drop_run_set(&mut plan, &mut results, &key);
                    *dir = part.dir.clone();
                    replaces.push(name);
                }
                Some(_) => {}
                None => measured_in.push((key, part.dir.clone())),
            }
        }
        replaced.push(replaces);
        plan.cases.extend(part.plan.cases);
        for mut case in part.results.cases {
            for run in &mut case.runs {
                run.log_dir = Path::new(&stamp).join(&run.log_dir).display().to_string();
            }
            results.cases.push(case);
        }
        results.leftovers.extend(part.results.leftovers);
    }
    Ok(Merged { root, plan, results, replaced })
}

/// Removes an earlier part's cases of one run set, with their results (the two lists run in
/// step).
fn drop_run_set(plan: &mut Plan, results: &mut GuestResults, key: &RunSetKey) {
    let keep: Vec<bool> = plan
        .cases
        .iter()
        .map(|c| (&c.scenario.name, &c.channels, c.scenario.security) != (&key.0, &key.1, key.2))
        .collect();
    let mut flags = keep.iter();
    plan.cases.retain(|_| *flags.next().unwrap_or(&true));
    let mut flags = keep.iter();
    results.cases.retain(|_| *flags.next().unwrap_or(&true));
}

fn parent(dir: &Path) -> Result<&Path> {
    dir.parent().filter(|p| !p.as_os_str().is_empty()).with_context(|| {
        format!("{} has no parent directory: give target/vm/runs/<stamp>", dir.display())
    })
}

#[cfg(test)]
mod tests {
    use roam_testbed::{
        plan::{Case, CaseOutcome},
        scenario::Scenario,
        stack::Stack,
    };

    use super::*;

    fn case(name: &str, trigger: &str) -> Case {
        let scenario =
            Scenario::from_toml(&format!("name = \"{name}\"\ntrigger = [{trigger}]")).unwrap();
        Case { scenario, stack: Stack::Roam, channels: vec![1, 1], repeats: 1, first_run: 1 }
    }

    fn part(dir: &str, cases: Vec<Case>) -> Part {
        let results = GuestResults {
            cases: cases.iter().map(|_| CaseOutcome::default()).collect(),
            ..GuestResults::default()
        };
        Part {
            dir: dir.into(),
            plan: Plan { probe_interval_ms: 10, cases, capture_frames: false, ipv6_probe: false },
            results,
        }
    }

    const KILL: &str = "{ action = \"kill\" }";
    const WAIT: &str = "{ action = \"wait\", ms = 1000 }";

    #[test]
    fn parts_join_in_order_and_quiet_windows_may_repeat() {
        let merged = merge(
            vec![
                part("runs/a", vec![case("kill", KILL), case("idle", WAIT)]),
                part("runs/b", vec![case("deauth", KILL), case("idle", WAIT)]),
            ],
            Twice::Refuse,
        )
        .unwrap();
        assert_eq!(merged.root, Path::new("runs"));
        let names: Vec<&str> = merged.plan.cases.iter().map(|c| c.scenario.name.as_str()).collect();
        assert_eq!(names, ["kill", "idle", "deauth", "idle"]);
        assert_eq!(merged.results.cases.len(), 4);
    }

    #[test]
    fn a_scenario_measured_in_two_boots_is_refused() {
        let err = merge(
            vec![
                part("runs/a", vec![case("kill", KILL)]),
                part("runs/b", vec![case("kill", KILL)]),
            ],
            Twice::Refuse,
        )
        .unwrap_err();
        assert!(err.to_string().contains("measured in both"), "{err}");
        assert!(err.to_string().contains("--later-replaces"), "{err}");
    }

    /// With `--later-replaces`, the later boot's runs stand alone, and the report says so.
    #[test]
    fn a_later_boot_may_replace_an_earlier_ones_runs() {
        let mut earlier = part("runs/a", vec![case("kill", KILL), case("deauth", KILL)]);
        earlier.results.cases[0].error = Some("the earlier boot's".to_owned());
        let merged =
            merge(vec![earlier, part("runs/b", vec![case("kill", KILL)])], Twice::LaterReplaces)
                .unwrap();
        let names: Vec<&str> = merged.plan.cases.iter().map(|c| c.scenario.name.as_str()).collect();
        assert_eq!(names, ["deauth", "kill"]);
        assert_eq!(merged.results.cases.len(), 2);
        assert!(merged.results.cases.iter().all(|c| c.error.is_none()), "the earlier one went");
        assert_eq!(merged.replaced[0], Vec::<String>::new());
        assert_eq!(merged.replaced[1].len(), 1);
        assert!(merged.replaced[1][0].starts_with("kill on channels [1, 1]"));
    }

    #[test]
    fn one_scenario_on_two_networks_may_come_from_two_boots() {
        let mut ft = case("kill", KILL);
        ft.scenario.security = Security::FtPsk;
        let merged = merge(
            vec![part("runs/a", vec![case("kill", KILL)]), part("runs/b", vec![ft])],
            Twice::Refuse,
        );
        assert!(merged.is_ok(), "{:?}", merged.err());
    }

    #[test]
    fn parts_of_different_directories_or_intervals_are_refused() {
        let err = merge(
            vec![part("x/a", vec![case("a", KILL)]), part("y/b", vec![case("b", KILL)])],
            Twice::Refuse,
        )
        .unwrap_err();
        assert!(err.to_string().contains("not in one directory"), "{err}");
        let mut slow = part("x/b", vec![case("b", KILL)]);
        slow.plan.probe_interval_ms = 1000;
        let err = merge(vec![part("x/a", vec![case("a", KILL)]), slow], Twice::Refuse).unwrap_err();
        assert!(err.to_string().contains("--interval-ms"), "{err}");
    }

    #[test]
    fn a_part_cut_short_is_refused() {
        let mut short = part("x/a", vec![case("a", KILL), case("b", KILL)]);
        short.results.cases.pop();
        let err = merge(vec![short], Twice::Refuse).unwrap_err();
        assert!(err.to_string().contains("1 of its 2 cases"), "{err}");
    }
}
