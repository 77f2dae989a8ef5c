//! Project automation: `cargo xtask <command>`.
//!
//! Every command provisions what it needs first (`setup` is idempotent and cheap when all is in
//! place), so a fresh Debian/Ubuntu machine needs no manual step.

mod bench;
mod build;
mod cmd;
mod deb;
mod demo;
mod fuzz;
mod lint;
mod monitoring;
mod scrape;
mod setup;
mod test;
mod vm;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Build, provision and test roam")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// roam against stock wpa_supplicant and iwd, every scenario in one VM boot: gap ratios,
    /// roam's phases and costs, a JSON report and SVG pictures.
    Bench(bench::BenchArgs),
    /// The Debian package (cargo-deb): the agent, its configuration, the systemd unit, manual
    /// pages and shell completions; checks what it holds.
    Deb,
    /// The testbed's AP goes silent, once with stock wpa_supplicant and once with roam: both
    /// timelines, both traffic gaps, and roam's metrics (no Wi-Fi hardware needed).
    Demo,
    /// libFuzzer on the parsers of untrusted input (frames, supplicant events, netlink, the
    /// configuration), from the seeds in tests/fuzz/seeds; needs the nightly toolchain.
    Fuzz(fuzz::FuzzArgs),
    /// Install the eBPF toolchain (Debian rustc-web, LLVM, bpf-linker, clippy for the BPF target).
    Setup,
    /// Build the agent (and with it the eBPF object).
    Build(build::BuildArgs),
    /// Lint, then unit tests, host eBPF integration tests (root) and the VM suite.
    Test(test::TestArgs),
    /// Formatting and clippy with warnings denied, over every crate (the eBPF one included).
    Lint,
    /// The qemu testbed: mac80211_hwsim radios, hostapd APs, a wpa_supplicant station.
    Vm(vm::VmArgs),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(&args),
        Command::Deb => deb::run(),
        Command::Demo => demo::run(),
        Command::Fuzz(args) => fuzz::run(&args),
        Command::Lint => lint::run(),
        Command::Setup => setup::run(),
        Command::Build(args) => build::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Vm(args) => vm::run(args),
    }
}
