//! One session: build the image, boot it once with a plan, collect the results and the report.

use std::{
    fs::{self, File},
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use roam_testbed::{
    plan::{GuestResults, Plan, PLAN_PATH, RESULTS_FILE},
    report::Report,
};

use super::{
    image::{self, ImageSpec},
    qemu,
    session::Session,
    summary,
};
use crate::cmd::{note, step};

/// The plan's copy in the session directory.
pub const PLAN_FILE: &str = "plan.json";
/// The results disk is sparse: only what the guest writes takes space.
const RESULTS_DISK_BYTES: u64 = 2 << 30;
/// Prefix of the guest's progress lines on the console (see the guest's `system::progress`).
const PROGRESS_PREFIX: &str = "roam-testbed: ";

#[derive(Default)]
pub struct RunOptions {
    pub timeout: Option<Duration>,
    /// Leave the per-case summary table out (callers that print their own).
    pub no_summary: bool,
}

/// What one boot produced.
pub struct SessionOutcome {
    pub session: Session,
    pub report: Report,
    /// Failed cases and runs, each naming its log directory.
    pub failures: Vec<summary::Failure>,
    /// The guest's raw results (log directories, the agent's window accounting).
    pub results: GuestResults,
}

/// Builds the image, boots it once with the plan, and collects the results.
pub fn run_plan(spec: &ImageSpec, plan: &Plan, options: &RunOptions) -> Result<SessionOutcome> {
    check_plan(plan)?;
    let image = image::build(spec)?;
    if image.roam.is_none() && plan.cases.iter().any(|c| c.stack.runs_roam()) {
        bail!(
            "the roam stack needs the roam agent in the image, and none is built: run \
             `cargo xtask build --release` (or pass --roam PATH)"
        );
    }
    let vm = image::vm_dir();
    let accelerator = qemu::accelerator(&vm)?;
    let session = Session::create(&vm)?;

    let plan_json = serde_json::to_vec_pretty(plan)?;
    // Kept with the results, so reports can be made again from the session alone.
    fs::write(session.dir.join(PLAN_FILE), &plan_json)?;
    let plan_layer = session.dir.join("plan.cpio");
    image::single_file_archive(&plan_layer, PLAN_PATH, &plan_json)?;
    let initrd = session.dir.join("initrd.img");
    image.write_initrd(std::slice::from_ref(&plan_layer), &initrd)?;
    let disk = qemu::create_results_disk(&session.dir.join("results.img"), RESULTS_DISK_BYTES)?;

    let runs: u32 = plan.cases.iter().map(|c| c.repeats).sum();
    let timeout = options.timeout.unwrap_or_else(|| time_budget(plan));
    step(format!(
        "Booting the VM ({accelerator:?}, Debian {}, linux {}): {} cases, {runs} runs, timeout {}s",
        image.debian.suite(),
        image.kernel_version,
        plan.cases.len(),
        timeout.as_secs()
    ));
    let started = Instant::now();
    let boot = qemu::Boot {
        accelerator,
        kernel: &image.kernel,
        initrd: &initrd,
        mode: "run",
        results_disk: Some(&disk),
    };
    let booted = boot_until_the_testbed_starts(&boot, &session, timeout);
    // Large and reproducible: not worth keeping.
    let _ = fs::remove_file(&initrd);
    let _ = fs::remove_file(&plan_layer);
    if let Err(err) = booted {
        let _ = fs::remove_file(&disk);
        print_console_tail(&session.console_log());
        return Err(err);
    }
    note(format!("VM finished in {:.0} s", started.elapsed().as_secs_f64()));

    let results = extract_results(&disk, &session)?;
    let _ = fs::remove_file(&disk);
    note(format!("guest: {}", results.software.describe()));
    let report = Report::new(plan, &results);
    fs::write(session.dir.join("report.json"), serde_json::to_vec_pretty(&report)?)?;
    if !options.no_summary {
        step("Results");
        print!("{}", summary::table(&report));
    }
    note(format!("session: {}", session.dir.display()));
    let failures = summary::failures(plan, &results, &session.dir);
    Ok(SessionOutcome { session, report, failures, results })
}

/// Boots the guest with the plan; a guest kernel that crashed before the testbed started is
/// booted once more (nothing of the plan ran, and its console log is kept beside the new one).
/// Seen with trixie's 6.12 under TCG: an int3 Oops in the kernel's boot-time text patching
/// (`sched_clock_cpu`, 2.3 s in), a race of multi-threaded TCG, gone at the next boot.
fn boot_until_the_testbed_starts(
    boot: &qemu::Boot,
    session: &Session,
    timeout: Duration,
) -> Result<()> {
    let console = session.console_log();
    let booted = qemu::run_batch(boot, &console, PROGRESS_PREFIX, timeout);
    let text = fs::read_to_string(&console).unwrap_or_default();
    let Some(crash) = crashed_before_the_testbed(&text) else { return booted };
    let kept = session.dir.join("console-crashed-boot.log");
    fs::rename(&console, &kept)?;
    note(format!(
        "the guest kernel crashed before the testbed started (`{crash}`, log in {}): \
         booting again",
        kept.display()
    ));
    if let Some(disk) = boot.results_disk {
        qemu::create_results_disk(disk, RESULTS_DISK_BYTES)?;
    }
    qemu::run_batch(boot, &console, PROGRESS_PREFIX, timeout)
}

/// The kernel's report of a crash in a console log that never got to the testbed's first line.
fn crashed_before_the_testbed(console: &str) -> Option<&str> {
    const CRASHES: &[&str] = &["Oops:", "Kernel panic - not syncing", "BUG: kernel NULL pointer"];
    let started = format!("{PROGRESS_PREFIX}booted");
    if console.lines().any(|line| line.starts_with(&started)) {
        return None;
    }
    console
        .lines()
        .find(|line| CRASHES.iter().any(|crash| line.contains(crash)))
        .map(|line| line.trim())
}

/// Fails early, before the image is built, on plans the testbed cannot run.
fn check_plan(plan: &Plan) -> Result<()> {
    if plan.cases.is_empty() {
        bail!("nothing to run: no scenario applies to the chosen channels");
    }
    Ok(())
}

/// A generous upper bound for the whole boot, so a hung guest is killed but a slow one is not.
fn time_budget(plan: &Plan) -> Duration {
    let boot = 180;
    let per_case_setup = 90;
    let cases: u64 = plan
        .cases
        .iter()
        .map(|case| {
            let s = &case.scenario;
            // healthy-ap's run is its 150 s wait: 10 runs of it outgrew a budget without it.
            let per_run =
                60 + (s.trigger_waits_ms() + s.recovery_timeout_ms + s.min_observe_ms) / 1000;
            per_case_setup + u64::from(case.repeats) * per_run
        })
        .sum();
    Duration::from_secs(boot + cases)
}

/// Unpacks the guest's tar from the results disk into the session directory.
fn extract_results(disk: &Path, session: &Session) -> Result<GuestResults> {
    let dir = &session.dir;
    tar::Archive::new(File::open(disk)?)
        .unpack(dir)
        .with_context(|| format!("cannot unpack the results disk {}", disk.display()))?;
    let results_file = dir.join(RESULTS_FILE);
    if !results_file.exists() {
        print_console_tail(&session.console_log());
        bail!("the guest wrote no results; console log: {}", session.console_log().display());
    }
    let text = fs::read_to_string(&results_file)?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid", results_file.display()))
}

fn print_console_tail(console_log: &Path) {
    let Ok(text) = fs::read_to_string(console_log) else {
        return;
    };
    let lines: Vec<&str> = text.lines().collect();
    note(format!("last lines of {}:", console_log.display()));
    for line in &lines[lines.len().saturating_sub(25)..] {
        note(format!("  | {line}"));
    }
}

#[cfg(test)]
mod tests {
    use roam_testbed::scenario::Scenario;

    use super::*;

    #[test]
    fn the_time_budget_holds_every_runs_waits() {
        let healthy =
            Scenario::from_toml("name = \"h\"\n[[trigger]]\naction = \"wait\"\nms = 150000\n")
                .unwrap();
        let case = roam_testbed::plan::Case {
            scenario: healthy,
            stack: roam_testbed::stack::Stack::Roam,
            channels: vec![1, 1],
            repeats: 10,
            first_run: 1,
        };
        let plan = Plan {
            probe_interval_ms: 10,
            cases: vec![case],
            capture_frames: false,
            ipv6_probe: false,
        };
        assert!(time_budget(&plan) >= Duration::from_secs(10 * 150), "{:?}", time_budget(&plan));
    }

    #[test]
    fn only_a_crash_before_the_testbed_started_is_booted_again() {
        let oops = "[    2.322993] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n\
                    [    2.325582] Kernel panic - not syncing: Fatal exception in interrupt\n";
        assert_eq!(
            crashed_before_the_testbed(oops),
            Some("[    2.322993] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI")
        );
        let later = format!("{PROGRESS_PREFIX}booted; running the plan\n{oops}");
        assert_eq!(crashed_before_the_testbed(&later), None, "the plan had begun: a real failure");
        assert_eq!(crashed_before_the_testbed("[ 1.0] Linux version 6.12\n"), None);
    }
}
