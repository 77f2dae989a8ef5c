//! The benchmark's JSON report. Its schema is `docs/bench.schema.json` (a test validates a
//! report against it); fields are only ever added.
//!
//! ```json
//! {"schema_version":1, "command", "machine":{...}, "repeats", "probe_interval_ms", "session",
//!  "scenarios":[{"name","channels","stack","runs":[{"gap_ms","lost_packets","recovered",...}],
//!                "p50_gap_ms","p95_gap_ms","max_gap_ms","p50_lost_packets","p50_lossy_ms",
//!                "max_connections","recovered",
//!                "ratio_to_stock","ratio_to_iwd"}],
//!  "costs":{...}, "stack_costs":[{"stack","costs":{...}}],
//!  "daemons":[{"stack","process","rss_bytes","peak_rss_bytes",...}]}
//! ```

use std::path::Path;

use roam_testbed::{
    plan::{GuestResults, Plan, ProcessWindow, Software},
    report::{median_u64, percentile, Addressing},
    scenario::Security,
    stack::Stack,
    timeline::TimelineEvent,
};
use serde::{Deserialize, Serialize};

use super::{
    costs::{Costs, DaemonCosts, Scrape, Window, WindowKind},
    figures::{AgentAccount, Milestones},
    plan::{is_idle_station, is_quiet},
};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    pub schema_version: u32,
    /// The command line that produced the report.
    pub command: String,
    pub machine: Machine,
    pub repeats: u32,
    pub probe_interval_ms: u64,
    /// The directory every run's `log_dir` is relative to: the VM session directory, or for a
    /// report assembled from several boots their common parent.
    pub session: String,
    /// The boots a report was assembled from (`--from-session` given more than once); empty
    /// for a report of one boot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<ReportPart>,
    pub scenarios: Vec<ScenarioFigures>,
    /// The costs of the `roam` stack (the agent's own metrics, its wake-ups); null figures
    /// where nothing was measured.
    pub costs: Costs,
    /// The costs of every stack that runs the agent (`roam`'s again, `roam-no-monitor`...),
    /// in the plan's order.
    #[serde(default)]
    pub stack_costs: Vec<StackCosts>,
    /// Every stack's daemons side by side (memory and wake-ups, from /proc).
    #[serde(default)]
    pub daemons: Vec<DaemonCosts>,
}

/// One boot of a report assembled from several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPart {
    /// Its VM session directory.
    pub session: String,
    /// Its start, UTC, RFC 3339.
    pub date: String,
    /// The command that ran it.
    pub command: String,
    /// The commit the agent it measured was built from, where recorded.
    #[serde(default)]
    pub commit: Option<String>,
    /// The run sets (scenario, channels, network) it measured again in place of an earlier
    /// boot's (`--later-replaces`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replaces: Vec<String>,
}

/// One stack's costs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackCosts {
    pub stack: Stack,
    pub costs: Costs,
}

/// Where the benchmark ran.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// `date -u` of the start, RFC 3339.
    pub date: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub host_kernel: String,
    /// How the VM ran: accelerator (tcg or kvm), vCPUs, memory, qemu's version.
    pub vm: String,
    /// The guest kernel's version line.
    pub guest_kernel: String,
    /// The versions the guest's kernel and daemons report (absent before they were recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guest_software: Option<Software>,
}

/// One scenario on one channel layout with one stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScenarioFigures {
    pub name: String,
    pub channels: Vec<u8>,
    pub stack: Stack,
    /// The network's security (a report may hold one scenario under several).
    #[serde(default)]
    pub security: Security,
    pub runs: Vec<RunFigures>,
    pub recovered: usize,
    pub p50_gap_ms: Option<f64>,
    pub p95_gap_ms: Option<f64>,
    pub max_gap_ms: Option<f64>,
    pub p50_lost_packets: Option<f64>,
    /// Median time from the trigger with more than 5 % of the probes lost (a walk's measure).
    #[serde(default)]
    pub p50_lossy_ms: Option<f64>,
    /// Most connections the manager completed after the trigger in one run.
    #[serde(default)]
    pub max_connections: Option<u32>,
    /// This stack's median gap over the same host's without the agent (stock wpa_supplicant,
    /// or the stack's connection manager alone), same scenario and channels.
    pub ratio_to_stock: Option<f64>,
    /// The IPv6 probe's median gap and its ratio to stock's, where one ran (`bench --ipv6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_gap_ms_ipv6: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_to_stock_ipv6: Option<f64>,
    /// ... over iwd's.
    pub ratio_to_iwd: Option<f64>,
    /// Nothing happens to the APs in this scenario: its runs measure costs and false alarms,
    /// and its gaps are jitter.
    pub quiet: bool,
}

impl ScenarioFigures {
    /// The same scenario, channel layout and security (another stack's figures of it).
    pub fn same_case_as(&self, other: &ScenarioFigures) -> bool {
        self.name == other.name
            && self.channels == other.channels
            && self.security == other.security
    }
}

/// One run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    pub gap_ms: f64,
    /// The IPv6 probe's gap, where one ran beside the IPv4 one (whose `gap_ms` is above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_ms_ipv6: Option<f64>,
    pub lost_packets: u64,
    /// Time from the trigger with more than 5 % of the probes lost.
    #[serde(default)]
    pub lossy_ms: f64,
    /// Connections the manager completed after the trigger (roams and reconnections).
    #[serde(default)]
    pub connections: u32,
    /// In a walk: the percentage of the probes lost in each half second from the trigger on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loss_timeline: Vec<f64>,
    pub recovered: bool,
    pub bssid_before: Option<String>,
    pub bssid_after: Option<String>,
    pub milestones: Milestones,
    /// roam's own account (roam stack only).
    pub agent: Option<AgentAccount>,
    /// The run's logs, relative to the session directory.
    pub log_dir: String,
    pub timeline: Vec<TimelineEvent>,
    /// The longest time a vCPU of the guest stood still inside the gap (the machine's share
    /// of it, whatever the stack); null where it was not measured.
    pub guest_stall_ms: Option<f64>,
    /// For a DHCP stack (the manager stacks): whether the station kept its lease and
    /// addresses over the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressing: Option<Addressing>,
}

/// Files of a run's log directory the report reads.
pub trait RunLogs {
    fn read(&self, log_dir: &str, file: &str) -> Option<String>;
}

/// The run logs of a session directory on disk.
pub struct SessionDir<'a>(pub &'a Path);

impl RunLogs for SessionDir<'_> {
    fn read(&self, log_dir: &str, file: &str) -> Option<String> {
        std::fs::read_to_string(self.0.join(log_dir).join(file)).ok()
    }
}

/// What [`build`] makes of a benchmark's runs.
pub struct Built {
    pub scenarios: Vec<ScenarioFigures>,
    pub stack_costs: Vec<StackCosts>,
    pub daemons: Vec<DaemonCosts>,
}

/// Groups the plan's one-run cases by scenario, channels and stack (in plan order), computes
/// each group's figures and ratios, each agent stack's costs over every window its agent was
/// scraped in, and every stack's daemons' memory and wake-ups.
pub fn build(plan: &Plan, results: &GuestResults, logs: &dyn RunLogs) -> Built {
    let mut groups: Vec<ScenarioFigures> = Vec::new();
    let mut windows: Vec<(Stack, Window)> = Vec::new();
    let mut daemon_windows: Vec<(Stack, WindowKind, &ProcessWindow)> = Vec::new();
    for (case, outcome) in plan.cases.iter().zip(&results.cases) {
        let quiet = is_quiet(&case.scenario);
        let kind = match (quiet, is_idle_station(&case.scenario)) {
            (true, true) => WindowKind::IdleStation,
            (true, false) => WindowKind::Idle,
            (false, _) => WindowKind::Roaming,
        };
        let index = groups
            .iter()
            .position(|g| {
                g.name == case.scenario.name
                    && g.channels == case.channels
                    && g.stack == case.stack
                    && g.security == case.scenario.security
            })
            .unwrap_or_else(|| {
                groups.push(ScenarioFigures {
                    name: case.scenario.name.clone(),
                    channels: case.channels.clone(),
                    stack: case.stack,
                    security: case.scenario.security,
                    runs: Vec::new(),
                    recovered: 0,
                    p50_gap_ms: None,
                    p95_gap_ms: None,
                    max_gap_ms: None,
                    p50_lost_packets: None,
                    p50_lossy_ms: None,
                    max_connections: None,
                    ratio_to_stock: None,
                    p50_gap_ms_ipv6: None,
                    ratio_to_stock_ipv6: None,
                    ratio_to_iwd: None,
                    quiet,
                });
                groups.len() - 1
            });
        for run in outcome.runs.iter().filter(|run| run.measured) {
            let report = &run.report;
            let agent = case
                .stack
                .runs_roam()
                .then(|| logs.read(&run.log_dir, "roam-events.jsonl"))
                .flatten()
                .and_then(|text| AgentAccount::of(&text));
            groups[index].runs.push(RunFigures {
                gap_ms: report.gap_ms,
                gap_ms_ipv6: report.ipv6.as_ref().map(|v6| v6.gap_ms),
                lost_packets: report.lost_packets,
                lossy_ms: report.lossy_ms,
                connections: report.connections,
                loss_timeline: super::walk::is_walk(&case.scenario.name)
                    .then(|| logs.read(&run.log_dir, "probe.csv"))
                    .flatten()
                    .map(|csv| super::walk::loss_timeline(&csv))
                    .unwrap_or_default(),
                recovered: report.recovered,
                bssid_before: report.bssid_before.clone(),
                bssid_after: report.bssid_after.clone(),
                milestones: Milestones::of(&report.timeline),
                agent,
                log_dir: run.log_dir.clone(),
                timeline: report.timeline.clone(),
                guest_stall_ms: run.guest_stall_ms,
                addressing: report.addressing,
            });
            daemon_windows.extend(run.processes.iter().map(|p| (case.stack, kind, p)));
            let agent = run.processes.iter().find(|p| p.process == AGENT_PROCESS);
            let scrapes = (
                logs.read(&run.log_dir, "metrics-before.txt"),
                logs.read(&run.log_dir, "metrics.txt"),
                run.metrics_window_ms,
            );
            if let (Some(before), Some(after), Some(duration_ms)) = scrapes {
                windows.push((
                    case.stack,
                    Window {
                        before: Scrape::parse(&before),
                        after: Scrape::parse(&after),
                        duration_ms,
                        wakeups: agent.and_then(|p| p.wakeups).map(|n| n as f64),
                        rss_bytes: agent.map(|p| p.rss_bytes),
                        kind,
                    },
                ));
            }
        }
    }
    for group in &mut groups {
        let gaps: Vec<f64> = group.runs.iter().map(|r| r.gap_ms).collect();
        let lost: Vec<u64> = group.runs.iter().map(|r| r.lost_packets).collect();
        group.recovered = group.runs.iter().filter(|r| r.recovered).count();
        group.p50_gap_ms = percentile(&gaps, 50.0);
        group.p95_gap_ms = percentile(&gaps, 95.0);
        group.max_gap_ms = gaps.iter().copied().reduce(f64::max);
        group.p50_lost_packets = median_u64(&lost);
        let lossy: Vec<f64> = group.runs.iter().map(|r| r.lossy_ms).collect();
        group.p50_lossy_ms = percentile(&lossy, 50.0);
        group.max_connections = group.runs.iter().map(|r| r.connections).max();
        let gaps6: Vec<f64> = group.runs.iter().filter_map(|r| r.gap_ms_ipv6).collect();
        group.p50_gap_ms_ipv6 = percentile(&gaps6, 50.0);
    }
    // Ratios within a scenario, channel layout and security: stock on the same network.
    let medians: Vec<ScenarioFigures> =
        groups.iter().map(|g| ScenarioFigures { runs: Vec::new(), ..g.clone() }).collect();
    let of_stack = |g: &ScenarioFigures, stack: Stack| {
        medians.iter().find(|m| m.same_case_as(g) && m.stack == stack)
    };
    let ratio = |ours: Option<f64>, theirs: Option<f64>| match (ours, theirs) {
        (Some(ours), Some(theirs)) if theirs > 0.0 => Some(ours / theirs),
        _ => None,
    };
    for group in &mut groups {
        let stock = of_stack(group, group.stack.without_agent());
        group.ratio_to_stock = ratio(group.p50_gap_ms, stock.and_then(|s| s.p50_gap_ms));
        group.ratio_to_stock_ipv6 =
            ratio(group.p50_gap_ms_ipv6, stock.and_then(|s| s.p50_gap_ms_ipv6));
        group.ratio_to_iwd =
            ratio(group.p50_gap_ms, of_stack(group, Stack::Iwd).and_then(|s| s.p50_gap_ms));
    }
    let mut stacks: Vec<Stack> = Vec::new();
    for (stack, _) in &windows {
        if stack.runs_roam() && !stacks.contains(stack) {
            stacks.push(*stack);
        }
    }
    let costs = stacks
        .into_iter()
        .map(|stack| {
            let own: Vec<Window> =
                windows.iter().filter(|(s, _)| *s == stack).map(|(_, w)| w.clone()).collect();
            StackCosts { stack, costs: Costs::of(&own) }
        })
        .collect();
    let mut daemons: Vec<(Stack, &str)> = Vec::new();
    for (stack, _, window) in &daemon_windows {
        if !daemons.contains(&(*stack, window.process.as_str())) {
            daemons.push((*stack, &window.process));
        }
    }
    let daemons = daemons
        .into_iter()
        .map(|(stack, process)| {
            let own: Vec<(WindowKind, &ProcessWindow)> = daemon_windows
                .iter()
                .filter(|(s, _, w)| *s == stack && w.process == process)
                .map(|(_, kind, w)| (*kind, *w))
                .collect();
            DaemonCosts::of(stack, process, &own)
        })
        .collect();
    Built { scenarios: groups, stack_costs: costs, daemons }
}

/// The agent's name among a stack's daemons (see the testbed's `proc_stats`).
const AGENT_PROCESS: &str = "roam";

/// The `roam` stack's costs among every stack's (none measured: all null).
pub fn roam_costs(stack_costs: &[StackCosts]) -> Costs {
    stack_costs.iter().find(|c| c.stack == Stack::Roam).map(|c| c.costs.clone()).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::HashMap;

    use roam_testbed::{
        plan::{CaseOutcome, RunOutcome},
        report::{FamilyFigures, RunReport},
        scenario::Scenario,
    };

    use super::*;
    use crate::bench::plan::{interleaved, IdleWindows};

    /// Logs kept in memory: (log_dir, file) -> text.
    pub struct MemoryLogs(pub HashMap<(String, String), String>);

    impl RunLogs for MemoryLogs {
        fn read(&self, log_dir: &str, file: &str) -> Option<String> {
            self.0.get(&(log_dir.to_owned(), file.to_owned())).cloned()
        }
    }

    pub fn outcome(log_dir: &str, gap_ms: f64, lost: u64, window: Option<f64>) -> RunOutcome {
        RunOutcome {
            report: RunReport {
                gap_ms,
                lost_packets: lost,
                lossy_ms: 0.0,
                connections: 0,
                recovered: true,
                bssid_before: Some("02:00:00:00:00:00".into()),
                bssid_after: Some("02:00:00:00:01:00".into()),
                timeline: vec![
                    TimelineEvent::new(12.0, "carrier_off", "kernel"),
                    TimelineEvent::new(40.0, "auth", "kernel"),
                    TimelineEvent::new(gap_ms, "first_probe_answered", "probe"),
                ],
                ipv6: None,
                addressing: None,
            },
            measured: true,
            log_dir: log_dir.into(),
            error: None,
            roam_window_lost: None,
            roam_transitions: 0,
            kernel_text_patches: Some(0),
            metrics_window_ms: window,
            processes: window
                .map(|window_ms| ProcessWindow {
                    process: "roam".into(),
                    window_ms,
                    wakeups: Some(600),
                    rss_bytes: 12 << 20,
                    peak_rss_bytes: 20 << 20,
                })
                .into_iter()
                .collect(),
            guest_stall_ms: Some(0.0),
        }
    }

    /// A two-round benchmark of one scenario with all three stacks, plus roam's idle windows.
    pub fn sample() -> (Plan, GuestResults, MemoryLogs) {
        let scenario = Scenario::from_toml(
            "name = \"ap-deauth\"\nchannels = [\"same\"]\ntrigger = [{ action = \"deauth\", reason = 3 }]",
        )
        .unwrap();
        let stacks = [Stack::WpaSupplicant, Stack::Roam, Stack::Iwd];
        let plan = interleaved(&[scenario], &stacks, 2, 10, IdleWindows::Add).unwrap();
        let gaps = [1000.0, 200.0, 400.0, 1100.0, 180.0, 500.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let mut logs = HashMap::new();
        let cases = plan
            .cases
            .iter()
            .zip(gaps)
            .map(|(case, gap)| {
                let dir = format!("runs/{}", case.run_dir_name(case.first_run));
                let window = case.stack.runs_roam().then_some(30_000.0);
                if case.stack.runs_roam() {
                    let scrape = |cpu: f64, events: u32| {
                        format!(
                            "process_cpu_seconds_total {cpu}\nroam_kernel_events_total{{kind=\"deauth\"}} {events}\n# EOF\n"
                        )
                    };
                    logs.insert((dir.clone(), "metrics-before.txt".into()), scrape(1.0, 0));
                    logs.insert((dir.clone(), "metrics.txt".into()), scrape(1.05, 3));
                    logs.insert(
                        (dir.clone(), "roam-events.jsonl".into()),
                        r#"{"event":"transition_finished","t_us":1,"phases":{"detect":20.0},"window":{"lost":0,"sent":4,"held":4,"dropped":0}}"#.into(),
                    );
                }
                let mut run = outcome(&dir, gap, 0, window);
                if case.stack.runs_wpa_supplicant() {
                    run.processes.push(ProcessWindow {
                        process: "wpa_supplicant".into(),
                        window_ms: 30_000.0,
                        wakeups: Some(30),
                        rss_bytes: 5 << 20,
                        peak_rss_bytes: 6 << 20,
                    });
                }
                CaseOutcome { error: None, runs: vec![run] }
            })
            .collect();
        (plan, GuestResults { cases, ..GuestResults::default() }, MemoryLogs(logs))
    }

    #[test]
    fn ratios_compare_stacks_on_the_same_network() {
        let (mut plan, mut results, logs) = sample();
        // The same runs again on an FT-SAE network where stock takes twice as long.
        let ft: Vec<(roam_testbed::plan::Case, CaseOutcome)> = plan
            .cases
            .iter()
            .zip(&results.cases)
            .map(|(case, outcome)| {
                let mut case = case.clone();
                case.scenario.security = Security::FtSae;
                let mut outcome = outcome.clone();
                if case.stack == Stack::WpaSupplicant {
                    outcome.runs.iter_mut().for_each(|run| run.report.gap_ms *= 2.0);
                }
                (case, outcome)
            })
            .collect();
        for (case, outcome) in ft {
            plan.cases.push(case);
            results.cases.push(outcome);
        }
        let groups = build(&plan, &results, &logs).scenarios;
        let roam_on = |security| {
            groups
                .iter()
                .find(|g| g.name == "ap-deauth" && g.stack == Stack::Roam && g.security == security)
                .and_then(|g| g.ratio_to_stock)
                .map(|r| (r * 100.0).round() / 100.0)
        };
        assert_eq!(roam_on(Security::Wpa2Psk), Some(0.18));
        assert_eq!(roam_on(Security::FtSae), Some(0.09), "against FT-SAE's own stock");
    }

    #[test]
    fn the_ipv6_probe_has_its_own_medians_and_ratios() {
        let (plan, mut results, logs) = sample();
        for (case, outcome) in plan.cases.iter().zip(&mut results.cases) {
            for run in &mut outcome.runs {
                let gap_ms = match case.stack {
                    Stack::WpaSupplicant => 2000.0,
                    _ => 100.0,
                };
                run.report.ipv6 = Some(FamilyFigures { gap_ms, lost_packets: 0, recovered: true });
            }
        }
        let groups = build(&plan, &results, &logs).scenarios;
        let roam = groups.iter().find(|g| g.name == "ap-deauth" && g.stack == Stack::Roam).unwrap();
        assert_eq!(roam.p50_gap_ms_ipv6, Some(100.0));
        assert_eq!(roam.ratio_to_stock_ipv6, Some(0.05));
        assert_eq!(roam.runs[0].gap_ms_ipv6, Some(100.0));
    }

    #[test]
    fn runs_are_grouped_per_stack_with_figures_and_ratios() {
        let (plan, results, logs) = sample();
        let Built { scenarios: groups, stack_costs, daemons } = build(&plan, &results, &logs);
        let names: Vec<String> = groups.iter().map(|g| format!("{} {}", g.name, g.stack)).collect();
        assert_eq!(
            names,
            [
                "ap-deauth wpa_supplicant",
                "ap-deauth roam",
                "ap-deauth iwd",
                "idle wpa_supplicant",
                "idle roam",
                "idle iwd",
                "idle-station wpa_supplicant",
                "idle-station roam",
                "idle-station iwd",
            ]
        );
        let roam = &groups[1];
        assert_eq!(roam.runs.len(), 2);
        assert_eq!(roam.p50_gap_ms, Some(190.0));
        assert_eq!(roam.max_gap_ms, Some(200.0));
        assert_eq!(roam.ratio_to_stock, Some(190.0 / 1050.0));
        assert_eq!(roam.ratio_to_iwd, Some(190.0 / 450.0));
        assert_eq!(roam.runs[0].milestones.detect_ms, Some(12.0));
        assert_eq!(roam.runs[0].agent.as_ref().unwrap().detection_ms, Some(20.0));
        assert!(groups[0].runs[0].agent.is_none());
        assert_eq!(groups[0].ratio_to_stock, Some(1.0));
        assert!(groups[3].quiet && groups[4].quiet && !roam.quiet);
        // Every stack's daemons, in order of appearance; wake-ups from the idle windows.
        let names: Vec<String> =
            daemons.iter().map(|d| format!("{} {}", d.stack, d.process)).collect();
        assert_eq!(names, ["wpa_supplicant wpa_supplicant", "roam roam", "roam wpa_supplicant"]);
        assert_eq!(daemons[0].rss_bytes, Some(5 << 20));
        assert_eq!(daemons[0].wakeups_per_minute_idle, Some(60.0));
        assert_eq!(daemons[1].peak_rss_bytes, Some(20 << 20));
        // Two roaming windows of 30 s (0.05 s CPU, 3 events each), one idle one, one idle
        // station; costs for the one stack with an agent.
        assert_eq!(stack_costs.len(), 1);
        let costs = roam_costs(&stack_costs);
        assert_eq!(stack_costs[0].stack, Stack::Roam);
        assert_eq!(costs.roaming_runs, 2);
        assert!((costs.agent_cpu_ms_per_minute_roaming.unwrap() - 100.0).abs() < 1e-6);
        assert_eq!(costs.ringbuf_events_per_roaming_run, Some(3.0));
        assert!((costs.idle_minutes - 0.5).abs() < 1e-9);
        assert!((costs.idle_station_minutes - 0.5).abs() < 1e-9);
        assert_eq!(costs.agent_wakeups_per_minute_idle_station, Some(1200.0));
    }

    #[test]
    fn each_agent_stack_has_its_own_costs() {
        let scenario =
            Scenario::from_toml("name = \"calm\"\ntrigger = [{ action = \"wait\", ms = 10 }]")
                .unwrap();
        let stacks = [Stack::WpaSupplicant, Stack::Roam, Stack::RoamNoMonitor];
        let plan = interleaved(&[scenario], &stacks, 1, 10, IdleWindows::Add).unwrap();
        let mut logs = HashMap::new();
        let cases = plan
            .cases
            .iter()
            .map(|case| {
                let dir = format!("runs/{}", case.run_dir_name(case.first_run));
                let cpu = if case.stack == Stack::RoamNoMonitor { 2.0 } else { 1.5 };
                logs.insert(
                    (dir.clone(), "metrics-before.txt".into()),
                    "process_cpu_seconds_total 1\n".into(),
                );
                logs.insert(
                    (dir.clone(), "metrics.txt".into()),
                    format!("process_cpu_seconds_total {cpu}\n"),
                );
                let window = case.stack.runs_roam().then_some(60_000.0);
                CaseOutcome { error: None, runs: vec![outcome(&dir, 10.0, 0, window)] }
            })
            .collect();
        let results = GuestResults { cases, ..GuestResults::default() };
        let stack_costs = build(&plan, &results, &MemoryLogs(logs)).stack_costs;
        let cpu: Vec<(Stack, Option<f64>)> =
            stack_costs.iter().map(|c| (c.stack, c.costs.agent_cpu_ms_per_minute_idle)).collect();
        assert_eq!(cpu, [(Stack::Roam, Some(500.0)), (Stack::RoamNoMonitor, Some(1000.0))]);
        assert_eq!(roam_costs(&stack_costs).agent_cpu_ms_per_minute_idle, Some(500.0));
        assert_eq!(roam_costs(&[]), Costs::default());
    }
}
