//! `cargo xtask build`: the agent binary, with the eBPF object embedded by roam-user/build.rs.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::{cmd, setup};

#[derive(Args, Default)]
pub struct BuildArgs {
    /// Build with the release profile.
    #[arg(long)]
    pub release: bool,
}

/// Builds every default workspace binary; returns the path of the `roam` binary.
pub fn run(args: &BuildArgs) -> Result<()> {
    build(args.release).map(|path| cmd::note(format!("built {}", path.display())))
}

pub fn build(release: bool) -> Result<PathBuf> {
    setup::ensure()?;
    cmd::step(format!("Building roam ({})", if release { "release" } else { "debug" }));
    let mut cargo = cmd::cargo();
    // The default members: roam-ebpf is built for the BPF target by roam-user's build script.
    cargo.args(["build", "--bins"]);
    if release {
        cargo.arg("--release");
    }
    cmd::run(&mut cargo)?;
    let profile = if release { "release" } else { "debug" };
    Ok(cmd::workspace_root().join("target").join(profile).join("roam"))
}
