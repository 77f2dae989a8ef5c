//! The qemu testbed (`cargo xtask vm ...`). Owned by the VM testbed work; see tests/scenarios.

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct VmArgs {}

pub fn run(_args: VmArgs) -> Result<()> {
    anyhow::bail!("the VM testbed is not built yet")
}

/// The VM suite run by `cargo xtask test`.
pub fn test_suite() -> Result<()> {
    crate::cmd::note("VM suite: not built yet");
    Ok(())
}
