//! `cargo xtask demo`: roam's point in one command, without Wi-Fi hardware. Boots the VM
//! testbed, makes the serving AP go silent once with stock wpa_supplicant and once with roam,
//! and prints both timelines, the two traffic gaps, and roam's metrics after its roam.

use std::fmt::Write as _;

use anyhow::{Context as _, Result};
use roam_testbed::{
    plan::GuestResults,
    report::{Report, RunReport},
    scenario::ChannelPlan,
    stack::Stack,
};

use crate::{build, cmd, setup, vm};

const SCENARIO: &str = "silent-ap-loss";

pub fn run() -> Result<()> {
    setup::ensure()?;
    build::build(false)?;
    let selection = vm::scenarios::Selection {
        scenarios: vec![vm::scenarios::load(SCENARIO)?],
        stacks: vec![Stack::WpaSupplicant, Stack::Roam],
        channels: Some(ChannelPlan::Different),
        repeats: 1,
        probe_interval_ms: vm::DEFAULT_PROBE_INTERVAL_MS,
    };
    let plan = vm::scenarios::plan(&selection)?;
    let outcome = vm::run_plan(&vm::ImageSpec::default(), &plan, &vm::RunOptions::default())?;
    let stock = run_of(&outcome.report, Stack::WpaSupplicant)?;
    let roam = run_of(&outcome.report, Stack::Roam)?;

    cmd::step(format!("The serving AP went silent at t=0 ({SCENARIO}, APs on channels 1 and 6)"));
    print!("{}", side_by_side(stock, roam));
    println!();
    println!(
        "traffic gap   stock wpa_supplicant: {:>7.0} ms ({} probes lost)",
        stock.gap_ms, stock.lost_packets
    );
    println!(
        "              roam:                 {:>7.0} ms ({} probes lost)",
        roam.gap_ms, roam.lost_packets
    );
    if stock.gap_ms > 0.0 {
        println!("              roam / stock:         {:>7.2}", roam.gap_ms / stock.gap_ms);
    }
    cmd::step("roam's metrics after its roam (non-zero series)");
    match roam_metrics(&outcome.results, &outcome.session.dir) {
        Some(text) => print!("{text}"),
        None => println!("(no scrape was recorded)"),
    }
    cmd::note(format!("every log of both runs: {}", outcome.session.dir.display()));
    Ok(())
}

fn run_of(report: &Report, stack: Stack) -> Result<&RunReport> {
    report
        .scenarios
        .iter()
        .find(|s| s.stack == stack)
        .and_then(|s| s.runs.first())
        .with_context(|| format!("the {stack} run did not complete: see the session logs"))
}

/// Both timelines in two columns, by time.
fn side_by_side(stock: &RunReport, roam: &RunReport) -> String {
    let column = |run: &RunReport| -> Vec<String> {
        run.timeline
            .iter()
            .filter(|e| e.t_ms >= 0.0)
            .map(|e| format!("{:>8.1} ms  {:<22} {}", e.t_ms, e.event, e.source))
            .collect()
    };
    let (left, right) = (column(stock), column(roam));
    let mut out = format!("{:<50}{}\n", "stock wpa_supplicant", "roam");
    for i in 0..left.len().max(right.len()) {
        let l = left.get(i).map_or("", String::as_str);
        let r = right.get(i).map_or("", String::as_str);
        let _ = writeln!(out, "{l:<50}{r}");
    }
    out
}

/// The roam run's scrape, without comments, histogram buckets and zero series.
fn roam_metrics(results: &GuestResults, session: &std::path::Path) -> Option<String> {
    let run = results.cases.iter().flat_map(|c| &c.runs).find(|r| r.log_dir.contains("-roam-"))?;
    let text = std::fs::read_to_string(session.join(&run.log_dir).join("metrics.txt")).ok()?;
    let interesting = text
        .lines()
        .filter(|l| l.starts_with("roam_") && !l.contains("_bucket{"))
        .filter(|l| !l.ends_with(" 0") && !l.ends_with(" 0.0"))
        .fold(String::new(), |mut out, l| {
            let _ = writeln!(out, "  {l}");
            out
        });
    Some(interesting)
}
