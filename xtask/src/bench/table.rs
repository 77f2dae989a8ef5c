//! The benchmark's tables, for the terminal and as Markdown (docs/benchmarks.md): one model,
//! two renderings.

use std::fmt::Write as _;

use roam_proto::Phase;
use roam_testbed::{
    report::{percentile, Addressing},
    scenario::{channels_label, Security},
    stack::Stack,
};

use super::{
    costs::Costs,
    report::{BenchReport, ScenarioFigures, StackCosts},
};

/// Rows of cells under a header.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns padded to their widest cell; the first two left-aligned (names), the rest right.
    pub fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.header.len())
            .map(|c| {
                std::iter::once(&self.header)
                    .chain(&self.rows)
                    .map(|row| row.get(c).map_or(0, |cell| cell.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(
                    |(c, (cell, &w))| {
                        if c < 2 {
                            format!("{cell:<w$}")
                        } else {
                            format!("{cell:>w$}")
                        }
                    },
                )
                .collect();
            let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        }
        out
    }

    pub fn markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(self.header.len()));
        for row in &self.rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out
    }
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.0}"))
}

fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2}"))
}

fn count(v: Option<f64>) -> String {
    v.map_or_else(
        || "-".into(),
        |v| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") },
    )
}

/// One scenario on one channel layout and network, every stack's runs of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSet<'a> {
    pub name: &'a str,
    pub channels: &'a [u8],
    pub security: Security,
}

impl RunSet<'_> {
    /// `silent-ap-loss`, or `silent-ap-loss (ft-sae)` on a network other than the testbed's
    /// WPA2-PSK (or an open scenario's open one).
    pub fn label(&self) -> String {
        match roam_testbed::security::distinct_name(self.security) {
            Some(security) => format!("{} ({security})", self.name),
            None => self.name.to_owned(),
        }
    }
}

/// The run sets with a disruption, in report order.
pub fn run_sets(report: &BenchReport) -> Vec<RunSet<'_>> {
    let mut sets: Vec<RunSet> = Vec::new();
    for g in report.scenarios.iter().filter(|g| !g.quiet) {
        let set = RunSet { name: &g.name, channels: &g.channels, security: g.security };
        if !sets.contains(&set) {
            sets.push(set);
        }
    }
    sets
}

/// The securities of a report's run sets, in report order.
pub fn securities(report: &BenchReport) -> Vec<Security> {
    let mut out: Vec<Security> = Vec::new();
    for set in run_sets(report) {
        if !out.contains(&set.security) {
            out.push(set.security);
        }
    }
    out
}

pub fn group<'a>(
    report: &'a BenchReport,
    set: RunSet,
    stack: Stack,
) -> Option<&'a ScenarioFigures> {
    report.scenarios.iter().find(|g| {
        g.name == set.name
            && g.channels == set.channels
            && g.security == set.security
            && g.stack == stack
    })
}

/// What an agent stack's ratio is to: "stock" (wpa_supplicant alone), or its manager alone.
fn baseline_name(stack: Stack) -> String {
    match stack.without_agent() {
        Stack::WpaSupplicant => "stock".to_owned(),
        manager => manager.to_string(),
    }
}

/// Gaps per scenario: each stack's p50 / p95, each roam stack's ratio to stock (and roam's to
/// iwd), and probes lost.
pub fn gaps(report: &BenchReport) -> Table {
    gaps_where(report, |_| true)
}

/// [`gaps`] of the run sets on `security` networks only: docs/benchmarks.md has a table per
/// network type.
pub fn gaps_on(report: &BenchReport, security: Security) -> Table {
    gaps_where(report, |set| set.security == security)
}

fn gaps_where(report: &BenchReport, wanted: impl Fn(&RunSet) -> bool) -> Table {
    let stacks = stacks_of(report);
    let agents = agent_stacks(report);
    let mut header = vec!["scenario".to_owned(), "channels".to_owned()];
    for stack in &stacks {
        header.push(format!("{stack} p50/p95 ms"));
    }
    header.extend(agents.iter().map(|&stack| format!("{stack}/{}", baseline_name(stack))));
    header.push("roam/iwd".into());
    // With the IPv6 probe (bench --ipv6): each agent stack's ratio on that family too.
    let ipv6 = report.scenarios.iter().any(|g| g.p50_gap_ms_ipv6.is_some());
    if ipv6 {
        header.extend(agents.iter().map(|&stack| format!("{stack}/{} IPv6", baseline_name(stack))));
    }
    header.extend(["lost p50".into(), "recovered".into()]);
    // With the manager stacks (DHCP): in how many runs each kept its lease and addresses.
    let addressing = report.scenarios.iter().flat_map(|g| &g.runs).any(|r| r.addressing.is_some());
    if addressing {
        header.push("addresses kept".into());
    }
    let rows = run_sets(report)
        .into_iter()
        .filter(|set| wanted(set))
        .map(|set| {
            let groups: Vec<Option<&ScenarioFigures>> =
                stacks.iter().map(|&s| group(report, set, s)).collect();
            let mut row = vec![set.label(), channels_label(set.channels)];
            for g in &groups {
                row.push(g.map_or_else(
                    || "-".into(),
                    |g| format!("{} / {}", ms(g.p50_gap_ms), ms(g.p95_gap_ms)),
                ));
            }
            for &stack in &agents {
                row.push(ratio(group(report, set, stack).and_then(|g| g.ratio_to_stock)));
            }
            let roam = group(report, set, Stack::Roam);
            row.push(ratio(roam.and_then(|g| g.ratio_to_iwd)));
            if ipv6 {
                for &stack in &agents {
                    row.push(ratio(group(report, set, stack).and_then(|g| g.ratio_to_stock_ipv6)));
                }
            }
            let per_stack = |f: &dyn Fn(&ScenarioFigures) -> String| {
                groups
                    .iter()
                    .map(|g| g.map_or_else(|| "-".into(), f))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            row.push(per_stack(&|g| count(g.p50_lost_packets)));
            row.push(per_stack(&|g| format!("{}/{}", g.recovered, g.runs.len())));
            if addressing {
                row.push(per_stack(&|g| {
                    Addressing::kept_of(g.runs.iter().filter_map(|r| r.addressing))
                }));
            }
            row
        })
        .collect();
    Table { header, rows }
}

/// The walks: per stack, the median probes lost over the whole walk, the median time with more
/// than 5 % loss, and the fewest and most connections (roams) in one run ("2" when every run
/// made two, "1-3" otherwise).
pub fn walks(report: &BenchReport) -> Table {
    let stacks = stacks_of(report);
    let mut header = vec!["scenario".to_owned(), "channels".to_owned()];
    header.extend(stacks.iter().map(|stack| format!("{stack} lost / lossy ms / roams")));
    let rows = run_sets(report)
        .into_iter()
        .filter(|set| super::walk::is_walk(set.name))
        .map(|set| {
            let mut row = vec![set.label(), channels_label(set.channels)];
            for &stack in &stacks {
                row.push(group(report, set, stack).map_or_else(
                    || "-".into(),
                    |g| {
                        let fewest = g.runs.iter().map(|r| r.connections).min();
                        let roams = match (fewest, g.max_connections) {
                            (Some(fewest), Some(most)) if fewest < most => {
                                format!("{fewest}-{most}")
                            }
                            (_, Some(most)) => most.to_string(),
                            _ => "-".into(),
                        };
                        format!("{} / {} / {roams}", count(g.p50_lost_packets), ms(g.p50_lossy_ms))
                    },
                ));
            }
            row
        })
        .collect();
    Table { header, rows }
}

/// roam's view of its roams, per stack that runs the agent: detection latency, phase medians,
/// and its drop-window count against the probe's. The EAP exchange (part of the handshake)
/// gets a column where a run had one: on an enterprise network, a roam no cached key spared.
pub fn roam_detail(report: &BenchReport) -> Table {
    let any_eap = report.scenarios.iter().flat_map(|g| &g.runs).any(|r| {
        r.agent.as_ref().is_some_and(|agent| agent.phases_ms.contains_key(Phase::Eap.name()))
    });
    let phases: Vec<&str> = Phase::ALL
        .into_iter()
        .filter(|&phase| phase != Phase::Eap || any_eap)
        .map(Phase::name)
        .collect();
    let mut header = vec!["scenario".to_owned(), "channels".to_owned(), "stack".to_owned()];
    header.extend(phases.iter().map(|p| format!("{p} ms")));
    header.extend(["window lost / probe lost".into(), "agree (±1)".into()]);
    let agents = agent_stacks(report);
    let rows = run_sets(report)
        .into_iter()
        .flat_map(|set| {
            agents.iter().filter_map(move |&stack| Some((set, group(report, set, stack)?)))
        })
        .map(|(set, g)| {
            let mut row = vec![set.label(), channels_label(&g.channels), g.stack.to_string()];
            for &phase in &phases {
                let values: Vec<f64> = g
                    .runs
                    .iter()
                    .filter_map(|r| r.agent.as_ref()?.phases_ms.get(phase).copied())
                    .collect();
                row.push(ms(percentile(&values, 50.0)));
            }
            let window: u64 =
                g.runs.iter().filter_map(|r| Some(r.agent.as_ref()?.window_lost)).sum();
            let probe: u64 = g.runs.iter().map(|r| r.lost_packets).sum();
            let agree = g
                .runs
                .iter()
                .filter(|r| {
                    r.agent.as_ref().is_some_and(|a| a.window_lost.abs_diff(r.lost_packets) <= 1)
                })
                .count();
            row.push(format!("{window} / {probe}"));
            // A scenario where the agent never moved (boundary) has nothing to agree on.
            let accounted = g.runs.iter().any(|r| r.agent.is_some());
            row.push(if accounted { format!("{agree}/{}", g.runs.len()) } else { "-".into() });
            row
        })
        .collect();
    Table { header, rows }
}

/// A vCPU stall inside a gap at least this long is a figure of the machine worth naming.
pub const NOTABLE_STALL_MS: f64 = 50.0;

/// The runs whose gap a vCPU stall of the guest lengthened by [`NOTABLE_STALL_MS`] or more,
/// per scenario and stack: how many, the longest stall, and those runs' gaps (to read against
/// the p95 of their row in [`gaps`]). No rows: no gap held such a stall.
pub fn stalls(report: &BenchReport) -> Table {
    let header = ["scenario", "channels", "stack", "runs", "longest stall ms", "their gaps ms"];
    let rows = report
        .scenarios
        .iter()
        .filter(|g| !g.quiet)
        .filter_map(|g| {
            let stalled: Vec<_> = g
                .runs
                .iter()
                .filter(|r| r.guest_stall_ms.is_some_and(|ms| ms >= NOTABLE_STALL_MS))
                .collect();
            let longest = stalled.iter().filter_map(|r| r.guest_stall_ms).reduce(f64::max)?;
            let gaps: Vec<String> = stalled.iter().map(|r| format!("{:.0}", r.gap_ms)).collect();
            Some(vec![
                g.name.clone(),
                channels_label(&g.channels),
                g.stack.to_string(),
                format!("{}/{}", stalled.len(), g.runs.len()),
                format!("{longest:.0}"),
                gaps.join(", "),
            ])
        })
        .collect();
    Table { header: header.map(String::from).to_vec(), rows }
}

/// The costs of each stack that runs the agent, one line per cost and a column per stack.
pub fn costs(report: &BenchReport) -> Table {
    // A report from before per-stack costs has the roam stack's only.
    let fallback = [StackCosts { stack: Stack::Roam, costs: report.costs.clone() }];
    let columns: &[StackCosts] =
        if report.stack_costs.is_empty() { &fallback } else { &report.stack_costs };
    let num =
        |v: Option<f64>, unit: &str| v.map_or_else(|| "-".into(), |v| format!("{v:.1} {unit}"));
    let mib = |b: Option<u64>| b.map(|b| b as f64 / (1024.0 * 1024.0));
    type Cell = dyn Fn(&Costs) -> String;
    let lines: Vec<(&str, Box<Cell>)> = vec![
        ("agent CPU, idle", Box::new(move |c| num(c.agent_cpu_ms_per_minute_idle, "ms/min"))),
        (
            "agent CPU, idle station",
            Box::new(move |c| num(c.agent_cpu_ms_per_minute_idle_station, "ms/min")),
        ),
        (
            "agent CPU, runs with a roam",
            Box::new(move |c| num(c.agent_cpu_ms_per_minute_roaming, "ms/min")),
        ),
        ("agent wake-ups, idle", Box::new(move |c| num(c.agent_wakeups_per_minute_idle, "/min"))),
        (
            "agent wake-ups, idle station",
            Box::new(move |c| num(c.agent_wakeups_per_minute_idle_station, "/min")),
        ),
        (
            "probe frames on air, with traffic",
            Box::new(move |c| num(c.probe_frames_per_second_with_traffic, "/s")),
        ),
        (
            "probe frames on air, idle station",
            Box::new(move |c| num(c.probe_frames_per_second_idle_station, "/s")),
        ),
        ("agent RSS, running", Box::new(move |c| num(mib(c.agent_rss_bytes), "MiB"))),
        ("agent peak RSS", Box::new(move |c| num(mib(c.agent_peak_rss_bytes), "MiB"))),
        (
            "ring-buffer events, idle",
            Box::new(move |c| num(c.ringbuf_events_per_minute_idle, "/min")),
        ),
        (
            "ring-buffer events, run with a roam",
            Box::new(move |c| num(c.ringbuf_events_per_roaming_run, "/run")),
        ),
        ("ring-buffer events lost", Box::new(|c| c.ringbuf_events_lost.to_string())),
        (
            "measured",
            Box::new(|c| {
                format!(
                    "{:.1} min idle, {:.1} min idle station, {} runs with a roam ({:.1} min)",
                    c.idle_minutes, c.idle_station_minutes, c.roaming_runs, c.roaming_minutes
                )
            }),
        ),
    ];
    let mut rows: Vec<Vec<String>> = lines
        .iter()
        .map(|(name, cell)| {
            std::iter::once(name.to_string())
                .chain(columns.iter().map(|c| cell(&c.costs)))
                .collect()
        })
        .collect();
    // eBPF programs, in the order of the first stack that ran each.
    let mut programs: Vec<&str> = Vec::new();
    for column in columns {
        for p in &column.costs.programs {
            if !programs.contains(&p.name.as_str()) {
                programs.push(&p.name);
            }
        }
    }
    for name in programs {
        let mut row = vec![format!("eBPF {name}")];
        row.extend(columns.iter().map(|c| {
            c.costs.programs.iter().find(|p| p.name == name).map_or_else(
                || "-".into(),
                |p| {
                    format!(
                        "{} runs, {} ns/run",
                        p.runs,
                        p.ns_per_run.map_or_else(|| "-".into(), |v| format!("{v:.0}"))
                    )
                },
            )
        }));
        rows.push(row);
    }
    let mut header = vec!["cost".to_owned()];
    header.extend(columns.iter().map(|c| c.stack.to_string()));
    Table { header, rows }
}

/// Every stack's daemons, one row each: memory and wake-ups side by side.
pub fn daemons(report: &BenchReport) -> Table {
    let mib = |b: Option<u64>| {
        b.map_or_else(|| "-".into(), |b| format!("{:.1}", b as f64 / (1024.0 * 1024.0)))
    };
    let rate = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.0}"));
    let header = [
        "stack",
        "daemon",
        "RSS MiB",
        "peak RSS MiB",
        "wake-ups/min, idle",
        "wake-ups/min, idle station",
    ];
    let rows = report
        .daemons
        .iter()
        .map(|d| {
            vec![
                d.stack.to_string(),
                d.process.clone(),
                mib(d.rss_bytes),
                mib(d.peak_rss_bytes),
                rate(d.wakeups_per_minute_idle),
                rate(d.wakeups_per_minute_idle_station),
            ]
        })
        .collect();
    Table { header: header.map(String::from).to_vec(), rows }
}

/// The stacks in the report that run the agent, in the order of `Stack`.
fn agent_stacks(report: &BenchReport) -> Vec<Stack> {
    stacks_of(report).into_iter().filter(|s| s.runs_roam()).collect()
}

/// The stacks in the report, stock first (the order of `Stack`).
fn stacks_of(report: &BenchReport) -> Vec<Stack> {
    let mut stacks: Vec<Stack> = report.scenarios.iter().map(|g| g.stack).collect();
    stacks.sort();
    stacks.dedup();
    stacks
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bench::report::{build, tests::sample, Built, Machine, SCHEMA_VERSION};

    pub fn sample_report() -> BenchReport {
        let (plan, results, logs) = sample();
        let Built { scenarios, stack_costs, daemons } = build(&plan, &results, &logs);
        BenchReport {
            schema_version: SCHEMA_VERSION,
            command: "cargo xtask bench --quick".into(),
            machine: Machine {
                // Every version the guest reports, so that the schema must know each field.
                guest_software: Some(roam_testbed::plan::Software {
                    kernel: "6.12.117+deb13-amd64".into(),
                    hostapd: "2.10".into(),
                    wpa_supplicant: "2.10".into(),
                    iwd: "3.8".into(),
                    network_manager: "1.52.1".into(),
                    systemd_networkd: "257.13-1~deb13u1".into(),
                    dnsmasq: "2.91".into(),
                }),
                ..Machine::default()
            },
            repeats: 2,
            probe_interval_ms: 10,
            session: "target/vm/runs".into(),
            parts: ["20261206-062000", "20261207-062000"]
                .map(|stamp| crate::bench::report::ReportPart {
                    session: format!("target/vm/runs/{stamp}"),
                    date: "2026-12-06T06:20:00Z".into(),
                    command: "cargo xtask bench --scenarios a".into(),
                    commit: Some("bb8e779".into()),
                    replaces: vec!["silent-ap-loss on channels [1, 1] (wpa2-psk)".into()],
                })
                .to_vec(),
            scenarios,
            costs: crate::bench::report::roam_costs(&stack_costs),
            stack_costs,
            daemons,
        }
    }

    /// The validator of docs/bench.schema.json.
    fn schema() -> jsonschema::Validator {
        let path = crate::cmd::workspace_root().join("docs/bench.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::validator_for(&schema).expect("a valid JSON Schema")
    }

    /// The JSON shape is documented in docs/bench.schema.json; every object there is closed
    /// (`additionalProperties: false`), so a field added here without the schema fails too.
    #[test]
    fn a_report_validates_against_the_documented_schema() {
        let validator = schema();
        let report = serde_json::to_value(sample_report()).unwrap();
        let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "the sample report breaks the schema: {errors:#?}");

        let mut broken = report.clone();
        broken["scenarios"][0]["runs"][0]["gap_ms"] = serde_json::json!("fast");
        assert!(!validator.is_valid(&broken));
        let mut unknown = report;
        unknown["costs"]["surprise"] = serde_json::json!(1);
        assert!(!validator.is_valid(&unknown));
    }

    #[test]
    fn a_report_with_ipv6_figures_validates_too() {
        let validator = schema();
        let mut report = sample_report();
        let group = &mut report.scenarios[0];
        group.p50_gap_ms_ipv6 = Some(120.0);
        group.ratio_to_stock_ipv6 = Some(0.12);
        group.runs[0].gap_ms_ipv6 = Some(120.0);
        let report = serde_json::to_value(report).unwrap();
        let errors: Vec<String> = validator.iter_errors(&report).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    #[test]
    fn gap_table_has_a_row_per_run_set_and_the_ratios() {
        let table = gaps(&sample_report());
        assert_eq!(table.rows.len(), 1, "the idle window is no run set");
        let row = &table.rows[0];
        assert_eq!(row[0], "ap-deauth");
        assert_eq!(row[2], "1050 / 1095", "wpa_supplicant p50 / p95");
        assert_eq!(table.header[5], "roam/stock");
        assert_eq!(row[5], "0.18", "roam / stock");
        assert_eq!(row[6], "0.42", "roam / iwd");
        assert_eq!(row[8], "2/2 / 2/2 / 2/2");
        let text = table.text();
        assert!(text.lines().all(|l| !l.ends_with(' ')));
        assert_eq!(text.lines().count(), 2);
        let md = table.markdown();
        assert!(md.starts_with("| scenario | channels |"));
        assert_eq!(md.lines().count(), 3);
    }

    #[test]
    fn a_dhcp_stack_s_runs_say_whether_they_kept_the_addresses() {
        let mut report = sample_report();
        assert!(!gaps(&report).header.iter().any(|h| h == "addresses kept"));
        let kept = Addressing {
            dhcp_discovers: 0,
            dhcp_requests: 1,
            ipv4_kept: true,
            ipv6_default_route: true,
        };
        let roam = report.scenarios.iter_mut().find(|g| g.stack == Stack::Roam).unwrap();
        roam.runs[0].addressing = Some(kept);
        roam.runs[1].addressing = Some(Addressing { dhcp_discovers: 1, ..kept });
        let table = gaps(&report);
        assert_eq!(table.header.last().unwrap(), "addresses kept");
        assert_eq!(table.rows[0].last().unwrap(), "- / 1/2 / -", "wpa_supplicant, roam, iwd");
    }

    #[test]
    fn each_network_gets_its_own_rows_and_table() {
        let mut report = sample_report();
        let ft: Vec<ScenarioFigures> = report
            .scenarios
            .iter()
            .map(|g| ScenarioFigures { security: Security::FtPsk, ..g.clone() })
            .collect();
        report.scenarios.extend(ft);
        assert_eq!(securities(&report), [Security::Wpa2Psk, Security::FtPsk]);
        let all = gaps(&report);
        let labels: Vec<&str> = all.rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(labels, ["ap-deauth", "ap-deauth (ft-psk)"]);
        let ft_only = gaps_on(&report, Security::FtPsk);
        assert_eq!(ft_only.rows.len(), 1);
        assert_eq!(ft_only.rows[0][0], "ap-deauth (ft-psk)");
    }

    #[test]
    fn the_walk_table_lists_only_the_walks() {
        let mut report = sample_report();
        assert!(walks(&report).rows.is_empty(), "ap-deauth is no walk");
        for g in &mut report.scenarios {
            g.name = "walk-away".into();
            g.p50_lossy_ms = Some(400.0);
            for run in &mut g.runs {
                run.connections = 1;
            }
            g.max_connections = Some(1);
        }
        let table = walks(&report);
        assert_eq!(table.rows.len(), 1);
        assert!(table.rows[0][2].ends_with("/ 400 / 1"), "{:?}", table.rows[0]);
    }

    #[test]
    fn the_walk_table_gives_the_fewest_and_most_roams_of_a_run() {
        let mut report = sample_report();
        for g in &mut report.scenarios {
            g.name = "walk-and-return".into();
            for (i, run) in g.runs.iter_mut().enumerate() {
                run.connections = 2 + i as u32;
            }
            g.max_connections = g.runs.iter().map(|r| r.connections).max();
        }
        let table = walks(&report);
        assert!(table.rows[0][2].ends_with("/ 2-3"), "{:?}", table.rows[0]);
        for g in &mut report.scenarios {
            for run in &mut g.runs {
                run.connections = 2;
            }
            g.max_connections = Some(2);
        }
        assert!(walks(&report).rows[0][2].ends_with("/ 2"), "{:?}", walks(&report).rows[0]);
    }

    #[test]
    fn the_stall_table_names_only_runs_a_stall_lengthened() {
        let mut report = sample_report();
        assert!(stalls(&report).rows.is_empty(), "the sample's runs have no stall");
        report.scenarios[1].runs[1].guest_stall_ms = Some(212.4);
        report.scenarios[1].runs[0].guest_stall_ms = Some(NOTABLE_STALL_MS - 1.0);
        let table = stalls(&report);
        assert_eq!(table.rows, [["ap-deauth", "1-1", "roam", "1/2", "212", "180"]]);
    }

    #[test]
    fn roam_detail_counts_agreeing_runs() {
        let table = roam_detail(&sample_report());
        assert_eq!(table.rows[0][2], "roam");
        assert_eq!(table.rows[0][3], "20", "detect p50");
        assert_eq!(table.rows[0][9], "0 / 0");
        assert_eq!(table.rows[0][10], "2/2");
        let mut still = sample_report();
        still.scenarios.iter_mut().flat_map(|s| &mut s.runs).for_each(|r| r.agent = None);
        assert_eq!(roam_detail(&still).rows[0][10], "-", "never moved: nothing to agree on");
    }

    #[test]
    fn an_eap_exchange_gets_a_column_where_a_run_had_one() {
        assert!(!roam_detail(&sample_report()).header.contains(&"eap ms".to_owned()));
        let mut enterprise = sample_report();
        let agent = enterprise.scenarios[1].runs[0].agent.as_mut().unwrap();
        agent.phases_ms.insert("eap".into(), 93.0);
        let table = roam_detail(&enterprise);
        let column = table.header.iter().position(|h| h == "eap ms").unwrap();
        assert_eq!(table.header[column - 1], "handshake ms", "a part of the handshake");
        assert!(table.rows.iter().any(|row| row[column] == "93"));
    }

    #[test]
    fn every_daemon_has_a_row() {
        let table = daemons(&sample_report());
        assert_eq!(table.rows.len(), 3);
        assert_eq!(table.rows[0], ["wpa_supplicant", "wpa_supplicant", "5.0", "6.0", "60", "60"]);
        assert_eq!(table.rows[1][..4], ["roam", "roam", "12.0", "20.0"]);
    }

    #[test]
    fn costs_have_a_column_per_agent_stack() {
        let mut report = sample_report();
        let table = costs(&report);
        assert_eq!(table.header, ["cost", "roam"]);
        let row =
            |table: &Table, name: &str| table.rows.iter().find(|r| r[0] == name).cloned().unwrap();
        assert_eq!(row(&table, "agent wake-ups, idle station")[1], "1200.0 /min");
        let mut blind = report.stack_costs[0].clone();
        blind.stack = Stack::RoamNoMonitor;
        blind.costs.agent_wakeups_per_minute_idle_station = Some(2400.0);
        report.stack_costs.push(blind);
        let table = costs(&report);
        assert_eq!(table.header, ["cost", "roam", "roam-no-monitor"]);
        assert_eq!(
            row(&table, "agent wake-ups, idle station")[1..],
            ["1200.0 /min", "2400.0 /min"]
        );
        // A report from before per-stack costs: roam's column from `costs`.
        report.stack_costs.clear();
        assert_eq!(costs(&report).header, ["cost", "roam"]);
    }
}
