//! `cargo xtask fuzz`: libFuzzer (cargo-fuzz, nightly) on roam's parsers of untrusted input,
//! started from the seeds in tests/fuzz/seeds (`--capture-seeds` records frames and events in
//! the VM testbed into it).
//!
//! The fuzz crate (tests/fuzz) is outside the workspace: it builds with the nightly toolchain
//! and sanitizers, and without the eBPF object (`AYA_BUILD_SKIP=1`: no target parses it).

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{bail, Context as _, Result};

use crate::{
    cmd::{self, note, step},
    setup,
};

mod seeds;

/// The targets, as tests/fuzz/Cargo.toml names them.
pub const TARGETS: &[&str] = &["frame", "wpa_event", "netlink_event", "config"];
const CARGO_FUZZ_VERSION: &str = "0.13.2";

#[derive(clap::Args)]
pub struct FuzzArgs {
    /// Targets to run [default: all: frame, wpa_event, netlink_event, config].
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Executions per target.
    #[arg(long, default_value_t = 10_000_000)]
    runs: u64,
    /// Stop a target after this many seconds even if its runs are not done.
    #[arg(long, value_name = "SECONDS")]
    max_time: Option<u64>,
    /// First record new seeds in the VM testbed (its frames and supplicant events) into
    /// tests/fuzz/seeds.
    #[arg(long)]
    capture_seeds: bool,
}

pub fn fuzz_dir() -> PathBuf {
    cmd::workspace_root().join("tests/fuzz")
}

pub fn run(args: &FuzzArgs) -> Result<()> {
    let targets: Vec<&str> = if args.targets.is_empty() {
        TARGETS.to_vec()
    } else {
        args.targets.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = targets.iter().find(|t| !TARGETS.contains(t)) {
        bail!("no fuzz target `{unknown}` (known: {})", TARGETS.join(", "));
    }
    if args.capture_seeds {
        seeds::capture(&fuzz_dir().join("seeds"))?;
    }
    ensure_tools()?;
    let mut summary = Vec::new();
    for target in targets {
        summary.push(run_target(target, args)?);
    }
    step("Fuzzing done: no crash");
    for line in summary {
        note(line);
    }
    Ok(())
}

/// The nightly toolchain (rustup's, installed with the machine) and cargo-fuzz.
fn ensure_tools() -> Result<()> {
    let nightly = Command::new("rustup").args(["run", "nightly", "rustc", "--version"]).output();
    if !nightly.is_ok_and(|o| o.status.success()) {
        bail!("cargo-fuzz needs the nightly toolchain: rustup toolchain install nightly");
    }
    setup::ensure_cargo_subcommand("fuzz", CARGO_FUZZ_VERSION)
}

/// Runs one target from its seeds; its working corpus grows under target/fuzz.
fn run_target(target: &str, args: &FuzzArgs) -> Result<String> {
    let corpus = cmd::workspace_root().join("target/fuzz/corpus").join(target);
    let seeds = fuzz_dir().join("seeds").join(target);
    std::fs::create_dir_all(&corpus)?;
    // Built first, so that the time reported is the fuzzing's alone.
    step(format!("Building the fuzz target {target}"));
    cmd::run(cargo_fuzz("build").arg(target))?;
    step(format!("Fuzzing {target}: {} executions", args.runs));
    let started = Instant::now();
    let mut command = cargo_fuzz("run");
    command.arg(target).arg(&corpus);
    if seeds.is_dir() {
        command.arg(&seeds);
    }
    command.arg("--").arg(format!("-runs={}", args.runs));
    if let Some(seconds) = args.max_time {
        command.arg(format!("-max_total_time={seconds}"));
    }
    // Crashes go to target/fuzz/artifacts (printed by libFuzzer with the input's path).
    command.arg(format!(
        "-artifact_prefix={}/",
        ensure_dir(&cmd::workspace_root().join("target/fuzz/artifacts").join(target))?.display()
    ));
    cmd::run(&mut command).with_context(|| {
        format!("fuzz target {target} failed: the crashing input is under target/fuzz/artifacts/{target}; make it a unit test")
    })?;
    Ok(format!(
        "{target}: {} executions in {:.0} s, corpus {} inputs",
        args.runs,
        started.elapsed().as_secs_f64(),
        std::fs::read_dir(&corpus).map_or(0, |d| d.count())
    ))
}

/// `cargo +nightly fuzz SUBCOMMAND --fuzz-dir tests/fuzz`, building into target/fuzz/build
/// without the eBPF object (the fuzzed code is all host-side).
fn cargo_fuzz(subcommand: &str) -> Command {
    let mut command = Command::new("cargo");
    command
        .current_dir(fuzz_dir())
        .env("AYA_BUILD_SKIP", "1")
        .env("CARGO_TARGET_DIR", cmd::workspace_root().join("target/fuzz/build"))
        .args(["+nightly", "fuzz", subcommand, "--fuzz-dir"])
        .arg(fuzz_dir());
    command
}

fn ensure_dir(dir: &Path) -> Result<&Path> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
