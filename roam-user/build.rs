//! Builds roam-ebpf for the BPF target with aya-build and embeds it (see `ebpf::OBJECT`).
//!
//! The eBPF crate is compiled by Debian's rustc-web (`/usr`, LLVM matching the packaged
//! llvm-N-dev) with `-Z build-std=core`, and linked by the project-local bpf-linker that
//! `cargo xtask setup` installs. Set AYA_BUILD_SKIP=1 to skip (e.g. for clippy on the host only).

use std::{env, path::PathBuf};

use anyhow::{anyhow, bail, Context as _};
use aya_build::{Package, Toolchain};

/// Where Debian's rustc-web lives (a rustup "custom toolchain" path).
const EBPF_TOOLCHAIN: &str = "/usr";

fn main() -> anyhow::Result<()> {
    let metadata =
        cargo_metadata::MetadataCommand::new().no_deps().exec().context("cargo metadata failed")?;
    let ebpf = metadata
        .packages
        .iter()
        .find(|p| p.name.as_str() == "roam-ebpf")
        .ok_or_else(|| anyhow!("roam-ebpf is not in the workspace"))?;
    let root_dir = ebpf.manifest_path.parent().expect("a manifest has a directory").to_string();

    let workspace = PathBuf::from(metadata.workspace_root.as_std_path());
    let tools = env::var_os("ROAM_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join(".tools"));
    println!("cargo:rerun-if-env-changed=ROAM_TOOLS_DIR");
    println!("cargo:rerun-if-changed={}", workspace.join("roam-common/src").display());

    let skip = env::var("AYA_BUILD_SKIP").is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    if !skip {
        preflight(&tools)?;
    }

    // Children (cargo for the BPF target, rustc, bpf-linker) inherit this process's environment.
    let mut path = vec![tools.join("bin")];
    path.extend(env::split_paths(&env::var_os("PATH").unwrap_or_default()));
    env::set_var("PATH", env::join_paths(path)?);
    // rustc-web is a stable compiler; build-std needs the unstable flag.
    env::set_var("RUSTC_BOOTSTRAP", "1");

    aya_build::build_ebpf(
        [Package { name: "roam-ebpf", root_dir: &root_dir, ..Default::default() }],
        Toolchain::Custom(EBPF_TOOLCHAIN),
    )?;
    if skip {
        // Nothing was built: an empty object keeps `ebpf::OBJECT` compiling (clippy, the fuzz
        // targets), and the agent says what it lacks if it is ever run.
        let out_dir = PathBuf::from(env::var_os("OUT_DIR").context("cargo sets OUT_DIR")?);
        std::fs::write(out_dir.join("roam"), [])?;
    }
    Ok(())
}

/// Names the missing piece and its fix instead of a linker error deep in a nested build.
fn preflight(tools: &std::path::Path) -> anyhow::Result<()> {
    let rustc = PathBuf::from(EBPF_TOOLCHAIN).join("bin/rustc");
    if !rustc.is_file() {
        bail!("{} is missing: run `cargo xtask setup` (installs rustc-web)", rustc.display());
    }
    let linker = tools.join("bin/bpf-linker");
    if !linker.is_file() {
        bail!("{} is missing: run `cargo xtask setup` (builds bpf-linker)", linker.display());
    }
    Ok(())
}
