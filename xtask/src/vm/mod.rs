//! The qemu testbed (`cargo xtask vm ...`): a VM with mac80211_hwsim radios, hostapd access
//! points and a station, in which scenarios (tests/scenarios/*.toml) are run and measured.
//!
//! Host side only; the guest side is the `roam-testbed` crate (tests/testbed), which also holds
//! the types both sides share (scenario format, run plan, report).
//!
//! Other commands can run VM sessions with more programs in the guest: put them in an
//! [`ImageSpec`] (`roam` for the agent, `extra` for anything else, each with its shared
//! libraries) and call [`run_plan`], or [`build_image`] to only build.

mod apt;
mod boot;
mod cpio;
mod fault_checks;
mod hang;
mod image;
mod kernel;
mod packages;
mod qemu;
mod release;
mod roam_checks;
pub mod scenarios;
mod session;
mod shared_libs;
mod suite;
mod summary;

use std::{fs, path::PathBuf, time::Duration};

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use roam_testbed::{
    plan::Plan,
    scenario::{Band, ChannelPlan, Security},
    stack::Stack,
};

use crate::cmd::{note, step};
pub use boot::{run_plan, RunOptions, PLAN_FILE};
pub use image::{Debian, GuestBinary, ImageSpec};

pub const DEFAULT_PROBE_INTERVAL_MS: u64 = 10;

#[derive(Args)]
pub struct VmArgs {
    #[command(subcommand)]
    command: VmCommand,
}

#[derive(Subcommand)]
enum VmCommand {
    /// Build (or refresh) the guest kernel and initramfs under target/vm.
    Build(ImageArgs),
    /// Boot the image to an interactive shell on the serial console (Ctrl-A X quits qemu).
    Shell(ImageArgs),
    /// Run scenarios in one boot and report the traffic gaps.
    Run(RunArgs),
    /// Run the VM suite of `cargo xtask test` alone (ROAM_VM_SUITE_REPEATS runs per case).
    Suite(SuiteArgs),
}

#[derive(Args)]
struct SuiteArgs {
    /// Security of every scenario's network (the open-* ones of the nl80211 stack excepted),
    /// whatever its file says: wpa3-sae, ft-psk, wpa2-eap, ...
    #[arg(long)]
    security: Option<Security>,
    /// Band of every scenario's named channel layouts: 2.4, 5 or mixed.
    #[arg(long)]
    band: Option<Band>,
    /// The Debian release of the guest's kernel and programs.
    #[arg(long, value_enum, default_value_t)]
    debian: Debian,
    /// Run one part of the suite alone (a roam part's ratios then lack stock's: use it for
    /// the stacks' own checks, or with `security`, which brings its stock runs).
    #[arg(long, value_enum)]
    only: Option<suite::SuitePart>,
}

#[derive(Args)]
struct ImageArgs {
    /// The roam agent to put in the image [default: the newest of target/{release,debug}/roam].
    #[arg(long, value_name = "PATH")]
    roam: Option<PathBuf>,
    /// Another host binary for the guest, at the same path or at GUEST_PATH.
    #[arg(long = "with", value_name = "HOST_PATH[:GUEST_PATH]")]
    with: Vec<String>,
    /// The Debian release of the guest's kernel and programs: bookworm (the host's own
    /// packages), trixie or sid (fetched from Debian's archive by a private apt, cached under
    /// target/vm/<release>).
    #[arg(long, value_enum, default_value_t)]
    debian: Debian,
}

impl ImageArgs {
    fn spec(&self) -> Result<ImageSpec> {
        let extra = self
            .with
            .iter()
            .map(|arg| {
                let (host, guest) = arg.split_once(':').unwrap_or((arg, arg));
                let host = fs::canonicalize(host)
                    .with_context(|| format!("--with {arg}: {host} does not exist"))?;
                if !guest.starts_with('/') {
                    bail!("--with {arg}: the guest path must be absolute");
                }
                Ok(GuestBinary { host, guest: guest.to_owned() })
            })
            .collect::<Result<_>>()?;
        Ok(ImageSpec { roam: self.roam.clone(), extra, debian: self.debian })
    }
}

#[derive(Args)]
struct RunArgs {
    /// Scenario name (tests/scenarios/NAME.toml or tests/faults/NAME.toml), scenario file path, or `all`. Repeatable.
    #[arg(long, required = true, value_name = "NAME|FILE")]
    scenario: Vec<String>,
    /// Station stack: wpa_supplicant (stock), roam, iwd. Repeatable; stock runs first.
    #[arg(long = "stack", default_value = "wpa_supplicant")]
    stacks: Vec<Stack>,
    /// Runs per scenario, channel layout and stack.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    repeats: u32,
    /// Channel layout for every scenario: same, different or a list like 1,6
    /// [default: each scenario's own list, usually both same and different].
    #[arg(long)]
    channels: Option<ChannelPlan>,
    /// Security of every scenario's network, whatever its file says: open, wpa2-psk,
    /// wpa2-psk-pmf, wpa3-sae, wpa2-wpa3, ft-psk, ft-sae, wpa2-eap or ft-eap.
    #[arg(long)]
    security: Option<Security>,
    /// Band of every scenario's named channel layouts, whatever its file says: 2.4, 5 or mixed
    /// (the first AP on 2.4 GHz, the others on 5 GHz).
    #[arg(long)]
    band: Option<Band>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Interval between two traffic probes.
    #[arg(long, default_value_t = DEFAULT_PROBE_INTERVAL_MS)]
    interval_ms: u64,
    /// A second probe over IPv6 (unique local addresses on the bridge and the station) beside
    /// the IPv4 one: each run's gap is reported per address family.
    #[arg(long)]
    ipv6: bool,
    /// Kill the VM after this long [default: computed from the plan].
    #[arg(long)]
    timeout_s: Option<u64>,
    #[command(flatten)]
    image: ImageArgs,
}

pub fn run(args: VmArgs) -> Result<()> {
    match args.command {
        VmCommand::Build(image_args) => {
            let image = build_image(&image_args.spec()?)?;
            let accelerator = qemu::accelerator(&image::vm_dir())?;
            step("Image ready");
            note(format!("kernel: {}", image.kernel.display()));
            for layer in &image.archives {
                note(format!("initramfs layer: {}", layer.display()));
            }
            note(format!("accelerator: {accelerator:?}"));
            Ok(())
        }
        VmCommand::Shell(image_args) => shell(&image_args.spec()?),
        VmCommand::Run(run_args) => run_scenarios(&run_args),
        VmCommand::Suite(args) => suite::run(args.security, args.band, args.debian, args.only),
    }
}

/// Builds (or refreshes) the image with `spec`'s binaries; returns the kernel and initramfs
/// layers.
pub fn build_image(spec: &ImageSpec) -> Result<image::Image> {
    image::build(spec)
}

/// How the testbed's VM runs on this machine (accelerator, vCPUs, memory, qemu), for reports.
pub fn machine_description() -> Result<String> {
    qemu::describe(&image::vm_dir())
}

/// The VM suite run by `cargo xtask test`.
pub fn test_suite() -> Result<()> {
    suite::run(None, None, Debian::default(), None)
}

fn shell(spec: &ImageSpec) -> Result<()> {
    let image = image::build(spec)?;
    let vm = image::vm_dir();
    let accelerator = qemu::accelerator(&vm)?;
    let initrd = vm.join("shell-initrd.img");
    image.write_initrd(&[], &initrd)?;
    step(format!(
        "Booting a shell ({accelerator:?}); `roam-testbed up` builds the topology; Ctrl-A X quits"
    ));
    qemu::run_interactive(&qemu::Boot {
        accelerator,
        kernel: &image.kernel,
        initrd: &initrd,
        mode: "shell",
        results_disk: None,
    })
}

fn run_scenarios(args: &RunArgs) -> Result<()> {
    let mut scenarios = Vec::new();
    for name in &args.scenario {
        if name == "all" {
            scenarios.extend(scenarios::all()?);
        } else {
            scenarios.push(scenarios::load(name)?);
        }
    }
    if let Some(security) = args.security {
        scenarios::with_security(&mut scenarios, security);
    }
    if let Some(band) = args.band {
        scenarios.iter_mut().for_each(|scenario| scenario.band = band);
    }
    let selection = scenarios::Selection {
        scenarios,
        stacks: args.stacks.clone(),
        channels: args.channels.clone(),
        repeats: args.repeats,
        probe_interval_ms: args.interval_ms,
    };
    let plan = Plan { ipv6_probe: args.ipv6, ..scenarios::plan(&selection)? };
    let options =
        RunOptions { timeout: args.timeout_s.map(Duration::from_secs), ..RunOptions::default() };
    let outcome = run_plan(&args.image.spec()?, &plan, &options)?;
    if let Some(path) = &args.json {
        fs::write(path, serde_json::to_vec_pretty(&outcome.report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        note(format!("JSON report: {}", path.display()));
    }
    if !outcome.failures.is_empty() {
        for failure in &outcome.failures {
            note(format!("FAILED {failure}"));
        }
        bail!(
            "{} failure(s); session logs in {}",
            outcome.failures.len(),
            outcome.session.dir.display()
        );
    }
    Ok(())
}
