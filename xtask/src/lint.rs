//! `cargo xtask lint`: formatting and clippy, warnings denied, over every crate of the
//! workspace, the eBPF one included (for its own target, with the toolchain that builds it).
//! `cargo xtask test` runs it first, so CI holds the gate.

use anyhow::Result;

use crate::{cmd, setup};

pub fn run() -> Result<()> {
    setup::ensure()?;
    ensure_rustup_components()?;

    cmd::step("Formatting (cargo fmt --check)");
    cmd::run(cmd::cargo().args(["fmt", "--all", "--check"]))?;

    cmd::step("Clippy, warnings denied (host crates)");
    // The agent's build script would build the eBPF object; clippy checks that crate itself
    // below, for its own target.
    cmd::run(cmd::cargo().env("AYA_BUILD_SKIP", "1").args([
        "clippy",
        "--workspace",
        "--exclude",
        "roam-ebpf",
        "--all-targets",
        "--",
        "--deny",
        "warnings",
    ]))?;

    cmd::step("Clippy, warnings denied (roam-ebpf, for bpfel-unknown-none)");
    cmd::run(setup::ebpf_cargo().args([
        "clippy",
        "--package",
        "roam-ebpf",
        "--bins",
        "--release",
        "--target",
        "bpfel-unknown-none",
        "-Z",
        "build-std=core",
        "--target-dir",
        "target/ebpf-clippy",
        "--",
        "--deny",
        "warnings",
    ]))
}

/// rustup's clippy and rustfmt for the host toolchain (a minimal profile lacks them).
fn ensure_rustup_components() -> Result<()> {
    let present = |tool: &str| {
        cmd::cargo().args([tool, "--version"]).output().is_ok_and(|o| o.status.success())
    };
    if present("clippy") && present("fmt") {
        return Ok(());
    }
    cmd::step("Adding rustup's clippy and rustfmt");
    cmd::run(std::process::Command::new("rustup").args(["component", "add", "clippy", "rustfmt"]))
}
