//! The benchmark's tables, for the terminal and as Markdown (docs/benchmarks.md): one model,
//! two renderings.

use std::fmt::Write as _;

use roam_testbed::{report::percentile, scenario::channels_label, stack::Stack};

use super::{
    costs::Costs,
    report::{BenchReport, ScenarioFigures},
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

/// The run sets with a disruption, in report order: (scenario, channels).
pub fn run_sets(report: &BenchReport) -> Vec<(&str, &[u8])> {
    let mut sets: Vec<(&str, &[u8])> = Vec::new();
    for g in report.scenarios.iter().filter(|g| !g.quiet) {
        if !sets.contains(&(g.name.as_str(), g.channels.as_slice())) {
            sets.push((g.name.as_str(), g.channels.as_slice()));
        }
    }
    sets
}

pub fn group<'a>(
    report: &'a BenchReport,
    name: &str,
    channels: &[u8],
    stack: Stack,
) -> Option<&'a ScenarioFigures> {
    report.scenarios.iter().find(|g| g.name == name && g.channels == channels && g.stack == stack)
}

/// Gaps per scenario: each stack's p50 / p95, roam's ratios, and probes lost.
pub fn gaps(report: &BenchReport) -> Table {
    let stacks = stacks_of(report);
    let mut header = vec!["scenario".to_owned(), "channels".to_owned()];
    for stack in &stacks {
        header.push(format!("{stack} p50/p95 ms"));
    }
    header.extend(["roam/stock".into(), "roam/iwd".into(), "lost p50".into(), "recovered".into()]);
    let rows = run_sets(report)
        .into_iter()
        .map(|(name, channels)| {
            let groups: Vec<Option<&ScenarioFigures>> =
                stacks.iter().map(|&s| group(report, name, channels, s)).collect();
            let mut row = vec![name.to_owned(), channels_label(channels)];
            for g in &groups {
                row.push(g.map_or_else(
                    || "-".into(),
                    |g| format!("{} / {}", ms(g.p50_gap_ms), ms(g.p95_gap_ms)),
                ));
            }
            let roam = group(report, name, channels, Stack::Roam);
            row.push(ratio(roam.and_then(|g| g.ratio_to_stock)));
            row.push(ratio(roam.and_then(|g| g.ratio_to_iwd)));
            let per_stack = |f: &dyn Fn(&ScenarioFigures) -> String| {
                groups
                    .iter()
                    .map(|g| g.map_or_else(|| "-".into(), f))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            row.push(per_stack(&|g| count(g.p50_lost_packets)));
            row.push(per_stack(&|g| format!("{}/{}", g.recovered, g.runs.len())));
            row
        })
        .collect();
    Table { header, rows }
}

/// roam's view of its roams: detection latency, phase medians, and its drop-window count
/// against the probe's.
pub fn roam_detail(report: &BenchReport) -> Table {
    let phases = ["detect", "decide", "auth", "assoc", "handshake", "first_data"];
    let mut header = vec!["scenario".to_owned(), "channels".to_owned()];
    header.extend(phases.iter().map(|p| format!("{p} ms")));
    header.extend(["window lost / probe lost".into(), "agree (±1)".into()]);
    let rows = run_sets(report)
        .into_iter()
        .filter_map(|(name, channels)| group(report, name, channels, Stack::Roam))
        .map(|g| {
            let mut row = vec![g.name.clone(), channels_label(&g.channels)];
            for phase in phases {
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
            row.push(format!("{agree}/{}", g.runs.len()));
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

/// roam's costs, one line each.
pub fn costs(costs: &Costs) -> Table {
    let num =
        |v: Option<f64>, unit: &str| v.map_or_else(|| "-".into(), |v| format!("{v:.1} {unit}"));
    let mut rows = vec![
        vec!["agent CPU, idle".into(), num(costs.agent_cpu_ms_per_minute_idle, "ms/min")],
        vec![
            "agent CPU, runs with a roam".into(),
            num(costs.agent_cpu_ms_per_minute_roaming, "ms/min"),
        ],
        vec![
            "agent peak RSS".into(),
            num(costs.agent_peak_rss_bytes.map(|b| b as f64 / (1024.0 * 1024.0)), "MiB"),
        ],
        vec!["ring-buffer events, idle".into(), num(costs.ringbuf_events_per_minute_idle, "/min")],
        vec![
            "ring-buffer events, run with a roam".into(),
            num(costs.ringbuf_events_per_roaming_run, "/run"),
        ],
        vec!["ring-buffer events lost".into(), costs.ringbuf_events_lost.to_string()],
        vec![
            "measured".into(),
            format!(
                "{:.1} min idle, {} runs with a roam ({:.1} min)",
                costs.idle_minutes, costs.roaming_runs, costs.roaming_minutes
            ),
        ],
    ];
    for p in &costs.programs {
        rows.push(vec![
            format!("eBPF {}", p.name),
            format!(
                "{} runs, {} ns/run",
                p.runs,
                p.ns_per_run.map_or_else(|| "-".into(), |v| format!("{v:.0}"))
            ),
        ]);
    }
    Table { header: vec!["cost".into(), "value".into()], rows }
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
    use crate::bench::report::{build, tests::sample, Machine, SCHEMA_VERSION};

    pub fn sample_report() -> BenchReport {
        let (plan, results, logs) = sample();
        let (scenarios, costs) = build(&plan, &results, &logs);
        BenchReport {
            schema_version: SCHEMA_VERSION,
            command: "cargo xtask bench --quick".into(),
            machine: Machine::default(),
            repeats: 2,
            probe_interval_ms: 10,
            session: "target/vm/runs/x".into(),
            scenarios,
            costs,
        }
    }

    /// The JSON shape is documented in docs/bench.schema.json; every object there is closed
    /// (`additionalProperties: false`), so a field added here without the schema fails too.
    #[test]
    fn a_report_validates_against_the_documented_schema() {
        let path = crate::cmd::workspace_root().join("docs/bench.schema.json");
        let schema: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
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
    fn gap_table_has_a_row_per_run_set_and_the_ratios() {
        let table = gaps(&sample_report());
        assert_eq!(table.rows.len(), 1, "the idle window is no run set");
        let row = &table.rows[0];
        assert_eq!(row[0], "ap-deauth");
        assert_eq!(row[2], "1050 / 1095", "wpa_supplicant p50 / p95");
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
        assert_eq!(table.rows[0][2], "20", "detect p50");
        assert_eq!(table.rows[0][8], "0 / 0");
        assert_eq!(table.rows[0][9], "2/2");
    }
}
