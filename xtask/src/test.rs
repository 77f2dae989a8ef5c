//! `cargo xtask test`: the lint gate, unit tests, host eBPF integration tests (root), then the VM
//! suite.

use anyhow::{bail, Result};
use clap::Args;

use crate::{cmd, deb, lint, monitoring, setup, vm};

#[derive(Args)]
pub struct TestArgs {
    /// Skip the VM suite (unit and host integration tests only).
    #[arg(long)]
    pub no_vm: bool,
}

pub fn run(args: &TestArgs) -> Result<()> {
    setup::ensure()?;
    if !cmd::is_root() {
        bail!("the host eBPF tests load programs into the kernel: run `sudo cargo xtask test`");
    }

    lint::run()?;

    cmd::step("Building (the eBPF object is compiled by roam-user/build.rs)");
    cmd::run(cmd::cargo().args(["build", "--bins"]))?;

    cmd::step("Unit tests");
    // roam-ebpf builds only for the BPF target (through roam-user), never for the host.
    cmd::run(cmd::cargo().args([
        "test",
        "--workspace",
        "--exclude",
        "roam-ebpf",
        "--exclude",
        "integration-test",
    ]))?;

    cmd::step(
        "Monitoring examples (promtool: scrape configuration, alerting rules and their tests)",
    );
    monitoring::check()?;

    cmd::step("The Debian package");
    deb::check(&deb::build()?)?;

    cmd::step("Host eBPF integration tests (real verifier, private network namespaces)");
    // One at a time: the tests count roam's programs loaded in the kernel.
    cmd::run(cmd::cargo().args([
        "test",
        "--package",
        "integration-test",
        "--",
        "--test-threads=1",
    ]))?;

    if args.no_vm {
        cmd::note("VM suite skipped (--no-vm)");
        return Ok(());
    }
    vm::test_suite()
}
