//! `cargo xtask bench`: roam against stock wpa_supplicant and iwd, in one VM boot, as ratios.
//!
//! Every scenario runs on each of its channel layouts with each stack, the stacks taking turns
//! run by run (see [`plan`]). The report is the JSON file (schema: docs/bench.schema.json), the
//! tables on the terminal and in `summary.md`, and one SVG per run set; all of it lands in
//! `--out` (default `target/bench/<session>`).
//!
//! - [`figures`]: per-run milestones and roam's own account, from the run's timeline and logs;
//! - [`costs`]: roam's CPU, memory, wake-ups, probe frames and eBPF run time, per agent stack;
//! - [`report`]: grouping runs into figures per scenario and stack, the JSON shape;
//! - [`table`], [`chart`]: the two renderings.

mod chart;
mod costs;
mod figures;
mod merge;
mod plan;
mod report;
mod table;
mod walk;

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};
use clap::Args;
use roam_testbed::{
    plan::{GuestResults, Plan, Software, RESULTS_FILE},
    scenario::{Band, ChannelPlan, Scenario, Security},
    stack::Stack,
};

use crate::{build, cmd, vm};
use report::{BenchReport, Machine, ReportPart, SessionDir, SCHEMA_VERSION};

const DEFAULT_REPEATS: u32 = 10;
const QUICK_REPEATS: u32 = 3;
const QUICK_SCENARIOS: &[&str] = &["silent-ap-loss", "ap-deauth"];
/// The benchmark's command line, kept in its session directory.
const COMMAND_FILE: &str = "bench-command.txt";
/// The commit the measured agent was built from (`git describe --always --dirty`), kept
/// beside it: a report assembled from several boots says what each measured.
const COMMIT_FILE: &str = "bench-commit.txt";
const STACKS: [Stack; 4] = [Stack::WpaSupplicant, Stack::Roam, Stack::RoamNoMonitor, Stack::Iwd];

#[derive(Args)]
pub struct BenchArgs {
    /// Runs per scenario, channel layout and stack [default: 10, or 3 with --quick].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: Option<u32>,
    /// Scenarios, comma-separated [default: every scenario in tests/scenarios, or
    /// silent-ap-loss,ap-deauth with --quick].
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    scenarios: Vec<String>,
    /// Stacks to compare [default: wpa_supplicant, roam, roam-no-monitor and iwd].
    #[arg(long = "stack", value_name = "STACK")]
    stacks: Vec<Stack>,
    /// Also write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Directory for the report, its tables and pictures [default: target/bench/<session>].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// 3 runs of silent-ap-loss and ap-deauth with every stack: the run CI can afford.
    #[arg(long)]
    quick: bool,
    /// Leave out the idle windows that measure the stacks' costs (two minutes per stack): for
    /// a part of a benchmark whose costs another boot measures (a security mode, a band).
    #[arg(long, conflicts_with = "from_session")]
    no_idle: bool,
    /// Interval between two traffic probes.
    #[arg(long, default_value_t = vm::DEFAULT_PROBE_INTERVAL_MS)]
    interval_ms: u64,
    /// Security of every scenario's network (open, wpa2-psk, wpa2-psk-pmf, wpa3-sae,
    /// wpa2-wpa3, ft-psk, ft-sae, wpa2-eap, ft-eap), whatever its file says; the report's
    /// command names it.
    #[arg(long, conflicts_with = "from_session")]
    security: Option<Security>,
    /// Band of every scenario's named channel layouts: 2.4, 5 or mixed.
    #[arg(long, conflicts_with = "from_session")]
    band: Option<Band>,
    /// Channel layout of every scenario instead of its own: same, different or a list such as
    /// 1,36. Given more than once, each layout runs in the same boot: `--channels 1,6
    /// --channels 1,36` compares a change of band with one band. Each run starts a fresh stack,
    /// which joins the AP it prefers (in a mixed layout the 5 GHz one), so every run goes the
    /// same way; `cargo xtask vm run` keeps a stack running, and its runs take turns.
    #[arg(long = "channels", value_name = "LAYOUT", conflicts_with = "from_session")]
    channels: Vec<ChannelPlan>,
    /// A second probe over IPv6 beside the IPv4 one: the gaps are reported per address family.
    #[arg(long, conflicts_with = "from_session")]
    ipv6: bool,
    /// The Debian release of the guest's kernel and programs (bookworm, trixie, sid); the
    /// report's command names it.
    #[arg(long, value_enum, default_value_t, conflicts_with = "from_session")]
    debian: vm::Debian,
    /// Run nothing: make the report again from an earlier benchmark's session directory
    /// (target/vm/runs/<stamp>), e.g. after a change to the figures or pictures. Given more
    /// than once, one report from several boots (each run with its own --scenarios).
    #[arg(long, value_name = "SESSION_DIR", conflicts_with_all = ["repeats", "scenarios", "stacks", "quick"])]
    from_session: Vec<PathBuf>,
    /// With --from-session: a scenario a later session measured again replaces the earlier
    /// session's runs of it (for an agent changed in between; the report lists what each
    /// boot replaced). Without it such a pair is refused.
    #[arg(long, requires = "from_session")]
    later_replaces: bool,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if !args.from_session.is_empty() {
        return report_again(args, &args.from_session);
    }
    let date = utc_now_rfc3339();
    let repeats = args.repeats.unwrap_or(if args.quick { QUICK_REPEATS } else { DEFAULT_REPEATS });
    let scenarios = selected_scenarios(args)?;
    let stacks = if args.stacks.is_empty() { STACKS.to_vec() } else { args.stacks.clone() };
    if stacks.contains(&Stack::RoamNl80211) {
        bail!("the benchmark compares wpa_supplicant, roam and iwd; roam-nl80211 runs in `cargo xtask vm run`");
    }
    let plan = Plan {
        ipv6_probe: args.ipv6,
        ..plan::interleaved(
            &scenarios,
            &stacks,
            repeats,
            args.interval_ms,
            if args.no_idle { plan::IdleWindows::Skip } else { plan::IdleWindows::Add },
        )?
    };
    cmd::step(format!(
        "Benchmark: {} scenarios x their channel layouts x {} stacks, {repeats} runs each, stacks taking turns",
        scenarios.len(),
        stacks.len()
    ));

    let commit = git_commit();
    let roam = build::build(true)?;
    let spec = vm::ImageSpec { roam: Some(roam), extra: Vec::new(), debian: args.debian };
    let options = vm::RunOptions { no_summary: true, ..vm::RunOptions::default() };
    let outcome = vm::run_plan(&spec, &plan, &options)?;

    // For --from-session: the report made again names the command that ran the benchmark.
    fs::write(outcome.session.dir.join(COMMAND_FILE), command_line())?;
    fs::write(outcome.session.dir.join(COMMIT_FILE), &commit)?;
    let part = ReportPart {
        session: outcome.session.dir.display().to_string(),
        date: date.clone(),
        command: command_line(),
        commit: Some(commit),
        replaces: Vec::new(),
    };
    let sessions = Sessions { root: &outcome.session.dir, parts: vec![part] };
    let report = assemble(&plan, &outcome.results, &sessions, repeats, command_line());
    publish(&report, args, &outcome.session.dir)?;

    // A run that did not recover is a result; one the testbed could not carry out is not.
    let results = &outcome.results;
    let not_carried_out = plan.cases.len().saturating_sub(results.cases.len())
        + results.cases.iter().filter(|c| c.error.is_some()).count()
        + results.cases.iter().flat_map(|c| &c.runs).filter(|r| r.error.is_some()).count();
    if not_carried_out > 0 {
        for failure in &outcome.failures {
            cmd::note(format!("FAILED {failure}"));
        }
        bail!("{not_carried_out} run(s) could not be carried out; the report leaves them out");
    }
    Ok(())
}

/// Where a report's runs are: the directory their `log_dir`s are relative to, and the boots.
struct Sessions<'a> {
    root: &'a Path,
    parts: Vec<ReportPart>,
}

/// The report of one or more sessions: figures, costs, and where and how it ran.
fn assemble(
    plan: &Plan,
    results: &GuestResults,
    sessions: &Sessions,
    repeats: u32,
    command: String,
) -> BenchReport {
    let report::Built { scenarios, stack_costs, daemons } =
        report::build(plan, results, &SessionDir(sessions.root));
    let first = sessions.parts.first();
    let date = first.map(|p| p.date.clone()).unwrap_or_default();
    let first_session = first.map_or(sessions.root, |p| Path::new(&p.session));
    BenchReport {
        schema_version: SCHEMA_VERSION,
        command,
        machine: machine(date, first_session),
        repeats,
        probe_interval_ms: plan.probe_interval_ms,
        session: sessions.root.display().to_string(),
        parts: if sessions.parts.len() > 1 { sessions.parts.clone() } else { Vec::new() },
        scenarios,
        costs: report::roam_costs(&stack_costs),
        stack_costs,
        daemons,
    }
}

/// Writes the report's files and prints its tables.
fn publish(report: &BenchReport, args: &BenchArgs, session: &Path) -> Result<()> {
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => {
            let stamp = session.file_name().context("session directory")?;
            cmd::workspace_root().join("target/bench").join(stamp)
        }
    };
    write_outputs(report, &out, args.json.as_deref())?;
    cmd::step("Traffic gaps (roam/stock and roam/iwd: ratios of the medians)");
    print!("{}", table::gaps(report).text());
    let walks = table::walks(report);
    if !walks.rows.is_empty() {
        cmd::step("Walks (median probes lost over the walk / median time with over 5 % lost / most roams in a run)");
        print!("{}", walks.text());
    }
    cmd::step("roam's own account of its roams (medians; drop window against the probe)");
    print!("{}", table::roam_detail(report).text());
    cmd::step("roam's costs, per stack that runs the agent");
    print!("{}", table::costs(report).text());
    cmd::step("Every stack's daemons (from /proc)");
    print!("{}", table::daemons(report).text());
    cmd::step(format!("vCPU stalls of {:.0} ms or more inside a gap", table::NOTABLE_STALL_MS));
    print!("{}", stall_table_text(report));
    cmd::note(format!("report, tables and pictures: {}", out.display()));
    Ok(())
}

/// `--from-session`: the plans and the guest's results as the sessions kept them, one report.
fn report_again(args: &BenchArgs, dirs: &[PathBuf]) -> Result<()> {
    let mut parts = Vec::new();
    let mut described = Vec::new();
    for dir in dirs {
        let (part, description) = read_session(dir)?;
        parts.push(part);
        described.push(description);
    }
    let twice =
        if args.later_replaces { merge::Twice::LaterReplaces } else { merge::Twice::Refuse };
    let merged = merge::merge(parts, twice)?;
    for (part, replaces) in described.iter_mut().zip(&merged.replaced) {
        part.replaces = replaces.clone();
    }
    let repeats = merged.plan.cases.iter().map(|c| c.first_run + c.repeats - 1).max().unwrap_or(0);
    let command = match described.as_slice() {
        [one] => format!("{} (report: {})", one.command, command_line()),
        _ => command_line(),
    };
    let sessions = Sessions { root: &merged.root, parts: described };
    let report = assemble(&merged.plan, &merged.results, &sessions, repeats, command);
    let out_stamp = dirs.last().context("a session directory")?;
    publish(&report, args, out_stamp)
}

/// One session directory's plan and results, and what ran it.
fn read_session(dir: &Path) -> Result<(merge::Part, ReportPart)> {
    let read = |name: &str| -> Result<String> {
        let path = dir.join(name);
        fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a benchmark's session directory?)",
                path.display(),
                dir.display()
            )
        })
    };
    let plan: Plan = serde_json::from_str(&read(vm::PLAN_FILE)?)
        .with_context(|| format!("the plan of {}", dir.display()))?;
    let results: GuestResults = serde_json::from_str(&read(RESULTS_FILE)?)
        .with_context(|| format!("the results of {}", dir.display()))?;
    let stamp = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let description = ReportPart {
        session: dir.display().to_string(),
        date: stamp_to_rfc3339(&stamp).unwrap_or(stamp),
        command: fs::read_to_string(dir.join(COMMAND_FILE))
            .map(|c| c.trim().to_owned())
            .unwrap_or_else(|_| "(not recorded)".to_owned()),
        commit: fs::read_to_string(dir.join(COMMIT_FILE)).ok().map(|c| c.trim().to_owned()),
        replaces: Vec::new(),
    };
    Ok((merge::Part { dir: dir.to_path_buf(), plan, results }, description))
}

fn selected_scenarios(args: &BenchArgs) -> Result<Vec<Scenario>> {
    let scenarios = match (args.scenarios.is_empty(), args.quick) {
        (true, false) => vm::scenarios::all()?,
        (true, true) => {
            QUICK_SCENARIOS.iter().map(|name| vm::scenarios::load(name)).collect::<Result<_>>()?
        }
        (false, _) => {
            args.scenarios.iter().map(|name| vm::scenarios::load(name)).collect::<Result<_>>()?
        }
    };
    Ok(with_overrides(scenarios, args))
}

/// `--security`, `--band` and `--channels` applied to every scenario.
fn with_overrides(mut scenarios: Vec<Scenario>, args: &BenchArgs) -> Vec<Scenario> {
    if let Some(security) = args.security {
        vm::scenarios::with_security(&mut scenarios, security);
    }
    if let Some(band) = args.band {
        scenarios.iter_mut().for_each(|scenario| scenario.band = band);
    }
    if !args.channels.is_empty() {
        scenarios.iter_mut().for_each(|scenario| scenario.channels = args.channels.clone());
    }
    scenarios
}

/// report.json, summary.md and one SVG per run set into `out`; the JSON also to `json`.
fn write_outputs(report: &BenchReport, out: &Path, json: Option<&Path>) -> Result<()> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let text = serde_json::to_vec_pretty(report)?;
    fs::write(out.join("report.json"), &text)?;
    if let Some(path) = json {
        fs::write(path, &text).with_context(|| format!("cannot write {}", path.display()))?;
        cmd::note(format!("JSON report: {}", path.display()));
    }
    let charts = chart::all(report)?;
    for (name, svg) in &charts {
        fs::write(out.join(name), svg)?;
    }
    fs::write(out.join("summary.md"), summary_markdown(report, &charts))?;
    Ok(())
}

/// The Markdown that docs/benchmarks.md carries: command, machine, tables, pictures.
fn summary_markdown(report: &BenchReport, charts: &[(String, String)]) -> String {
    let m = &report.machine;
    let mut md = String::new();
    let _ = writeln!(md, "Command: `{}` ({} runs per case).\n", report.command, report.repeats);
    let _ = writeln!(
        md,
        "Machine: {} ({} CPUs), host kernel {}; VM: {}; guest: {}. Run on {}.\n",
        m.cpu_model, m.cpus, m.host_kernel, m.vm, m.guest_kernel, m.date
    );
    if let Some(s) = &m.guest_software {
        let _ = writeln!(md, "Guest software: {}.\n", s.describe());
    }
    if !report.parts.is_empty() {
        let _ = writeln!(
            md,
            "Assembled from {} boots; each scenario's runs, and so each ratio, come from one of them:\n",
            report.parts.len()
        );
        for part in &report.parts {
            let commit = part.commit.as_deref().unwrap_or("commit not recorded");
            let _ = writeln!(md, "- {}: `{}` (agent at {commit})", part.date, part.command);
            if !part.replaces.is_empty() {
                let _ = writeln!(
                    md,
                    "  - measured again, replacing an earlier boot's runs: {}",
                    part.replaces.join("; ")
                );
            }
        }
        md.push('\n');
    }
    let securities = table::securities(report);
    if securities.len() > 1 {
        // One table per network type: each mode's stacks side by side.
        for security in securities {
            let gaps = table::gaps_on(report, security).markdown();
            let _ = writeln!(md, "### Traffic gaps, {}\n\n{gaps}", security.name());
        }
    } else {
        let _ = writeln!(md, "### Traffic gaps\n\n{}", table::gaps(report).markdown());
    }
    let walks = table::walks(report);
    if !walks.rows.is_empty() {
        let _ = writeln!(
            md,
            "### Walks\n\nPer stack: the median probes lost over the whole walk, the median \
             time with more than 5 % of the probes lost, and the fewest and most connections \
             (roams) the station made in one run.\n\n{}",
            walks.markdown()
        );
    }
    let _ = writeln!(
        md,
        "### roam's account of its roams\n\n{}",
        table::roam_detail(report).markdown()
    );
    let _ = writeln!(md, "### roam's costs\n\n{}", table::costs(report).markdown());
    let _ = writeln!(
        md,
        "### Every stack's daemons\n\nResident memory at the end of each run (median) and its \
         peak, and wake-ups per minute in the idle windows, from /proc.\n\n{}",
        table::daemons(report).markdown()
    );
    let stalls = table::stalls(report);
    let _ = writeln!(
        md,
        "### vCPU stalls inside the gaps\n\nRuns whose gap held a stall of a vCPU of {:.0} ms or more \
         (its real-time watcher woke that late): the machine's share of those gaps.\n\n{}",
        table::NOTABLE_STALL_MS,
        if stalls.rows.is_empty() { "None.\n".to_owned() } else { stalls.markdown() }
    );
    for (name, _) in charts {
        let _ = writeln!(md, "![{name}]({name})\n");
    }
    md
}

fn stall_table_text(report: &BenchReport) -> String {
    let stalls = table::stalls(report);
    if stalls.rows.is_empty() {
        "none\n".to_owned()
    } else {
        stalls.text()
    }
}

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

fn machine(date: String, session: &Path) -> Machine {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?.split_once(':').map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    // The serial console starts with the guest kernel's version line (the kernel log at the
    // end of a long session has wrapped past it).
    let guest_kernel = fs::read_to_string(session.join("console.log"))
        .ok()
        .and_then(|log| {
            let line = log.lines().find(|l| l.contains("Linux version"))?;
            let version = line.split("Linux version ").nth(1)?;
            Some(version.split_whitespace().next()?.to_owned())
        })
        .unwrap_or_default();
    Machine {
        date,
        cpu_model,
        cpus: std::thread::available_parallelism().map_or(0, usize::from),
        host_kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        vm: vm::machine_description().unwrap_or_default(),
        guest_kernel,
        guest_software: guest_software(session),
    }
}

/// What the session's guest ran, from its results (None for sessions before it was recorded).
fn guest_software(session: &Path) -> Option<Software> {
    let text = fs::read_to_string(session.join(RESULTS_FILE)).ok()?;
    let results: GuestResults = serde_json::from_str(&text).ok()?;
    Some(results.software).filter(|s| *s != Software::default())
}

/// A session directory's name (its start, UTC: `20261121-194739`) as RFC 3339.
fn stamp_to_rfc3339(stamp: &str) -> Option<String> {
    let (day, time) = stamp.get(..15)?.split_once('-')?;
    if day.len() != 8
        || time.len() != 6
        || !(day.to_owned() + time).bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(format!(
        "{}-{}-{}T{}:{}:{}Z",
        &day[..4],
        &day[4..6],
        &day[6..],
        &time[..2],
        &time[2..4],
        &time[4..]
    ))
}

/// The workspace's commit, `-dirty` with uncommitted changes; empty without git.
fn git_commit() -> String {
    let mut git = Command::new("git");
    git.arg("-C").arg(cmd::workspace_root()).args(["describe", "--always", "--dirty"]);
    cmd::output(&mut git).map(|s| s.trim().to_owned()).unwrap_or_default()
}

fn utc_now_rfc3339() -> String {
    cmd::output(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::stamp_to_rfc3339;

    #[test]
    fn session_stamps_become_dates() {
        assert_eq!(stamp_to_rfc3339("20261121-194739").as_deref(), Some("2026-11-21T19:47:39Z"));
        assert_eq!(stamp_to_rfc3339("20261121-194739-2").as_deref(), Some("2026-11-21T19:47:39Z"));
        assert_eq!(stamp_to_rfc3339("my-bench"), None);
    }
}
