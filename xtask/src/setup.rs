//! `cargo xtask setup`: idempotent provisioning of the eBPF toolchain on Debian/Ubuntu.
//!
//! The eBPF crate is built with Debian's rustc-web (a stable rustc whose LLVM matches a packaged
//! llvm-N-dev, with library source for `-Z build-std=core`) and linked by bpf-linker built
//! against that same LLVM. Each step checks first and skips what is already in place.

use std::{fs, path::Path, process::Command};

use anyhow::{bail, Context as _, Result};

use crate::cmd::{self, note, step};

/// The rustc that builds the eBPF crate (via aya-build's `Toolchain::Custom`).
pub const EBPF_TOOLCHAIN: &str = "/usr";
const BPF_LINKER_VERSION: &str = "0.13.0";
/// rustc and cargo for the BPF target, library source for `-Z build-std=core`, and clippy for
/// the eBPF crate's lint.
const RUST_PACKAGES: &[&str] = &["rustc-web", "cargo-web", "rust-web-src", "rust-web-clippy"];

pub fn run() -> Result<()> {
    step("Provisioning the eBPF toolchain");
    ensure_apt_packages(RUST_PACKAGES)?;
    let llvm = llvm_major_of_debian_rustc()?;
    note(format!("/usr/bin/rustc uses LLVM {llvm}"));
    ensure_apt_packages(&[&format!("llvm-{llvm}-dev")])?;
    ensure_bpf_linker(llvm)?;
    step("Toolchain ready");
    Ok(())
}

/// Runs `setup` only if something is missing; called by every other command.
pub fn ensure() -> Result<()> {
    if is_complete() {
        return Ok(());
    }
    run()
}

fn is_complete() -> bool {
    let Ok(llvm) = llvm_major_of_debian_rustc() else {
        return false;
    };
    RUST_PACKAGES.iter().all(|p| apt_installed(p))
        && apt_installed(&format!("llvm-{llvm}-dev"))
        && bpf_linker_matches(llvm)
}

/// Debian's cargo (the eBPF toolchain, run as rustup's custom toolchain `/usr`, as aya-build
/// does), with unstable flags allowed (`-Z build-std`) and the BPF target's cfg.
pub fn ebpf_cargo() -> Command {
    let mut cargo = Command::new("rustup");
    cargo.args(["run", EBPF_TOOLCHAIN, "cargo"]);
    cargo
        .current_dir(cmd::workspace_root())
        .env("PATH", cmd::path_with_tools())
        .env("RUSTC_BOOTSTRAP", "1")
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            format!("--cfg=bpf_target_arch=\"{}\"", std::env::consts::ARCH),
        )
        .env_remove("RUSTC")
        .env_remove("RUSTC_WORKSPACE_WRAPPER");
    cargo
}

/// Installs cargo subcommand `cargo-<subcommand>` at `version` unless `cargo <subcommand>`
/// already runs (into ~/.cargo/bin, as `cargo install` does).
pub fn ensure_cargo_subcommand(subcommand: &str, version: &str) -> Result<()> {
    let installed = Command::new("cargo").args([subcommand, "--version"]).output();
    if installed.is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    let package = format!("cargo-{subcommand}");
    step(format!("Installing {package} {version} (a few minutes)"));
    cmd::run(Command::new("cargo").args(["install", &package, "--locked", "--version", version]))
}

/// Installs the packages that are not installed yet (one `apt-get update` first).
pub fn ensure_apt_packages(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !apt_installed(p)).collect();
    for p in packages.iter().filter(|p| !missing.contains(p)) {
        note(format!("{p}: installed"));
    }
    if missing.is_empty() {
        return Ok(());
    }
    if !cmd::is_root() {
        bail!(
            "apt packages missing: {}; run `sudo cargo xtask setup` or install them with apt-get",
            missing.join(" ")
        );
    }
    step(format!("apt-get install {}", missing.join(" ")));
    cmd::run(Command::new("apt-get").args(["update", "-q"]))?;
    cmd::run(
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

pub fn apt_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
}

/// The LLVM major version the Debian rustc was built with (`LLVM version: 22.1.8` -> 22).
pub fn llvm_major_of_debian_rustc() -> Result<u32> {
    let rustc = Path::new(EBPF_TOOLCHAIN).join("bin/rustc");
    let out = Command::new(&rustc)
        .arg("-vV")
        .output()
        .with_context(|| format!("{} is missing (apt package rustc-web)", rustc.display()))?;
    parse_llvm_major(&String::from_utf8_lossy(&out.stdout))
        .with_context(|| format!("{} -vV reports no LLVM version", rustc.display()))
}

fn parse_llvm_major(rustc_vv: &str) -> Option<u32> {
    let version = rustc_vv.lines().find_map(|l| l.strip_prefix("LLVM version: "))?;
    version.split('.').next()?.trim().parse().ok()
}

/// bpf-linker is built against the LLVM that rustc-web emits bitcode for; a stamp records which.
fn ensure_bpf_linker(llvm: u32) -> Result<()> {
    if bpf_linker_matches(llvm) {
        note(format!("bpf-linker {BPF_LINKER_VERSION} (LLVM {llvm}): installed"));
        return Ok(());
    }
    let root = cmd::tools_dir();
    step(format!(
        "Building bpf-linker {BPF_LINKER_VERSION} against LLVM {llvm} into {} (a few minutes)",
        root.display()
    ));
    let prefix = format!("/usr/lib/llvm-{llvm}");
    cmd::run(
        Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["install", "bpf-linker", "--locked", "--force", "--version", BPF_LINKER_VERSION])
            .args(["--no-default-features", "--features", &format!("llvm-{llvm}")])
            .arg("--root")
            .arg(&root)
            .env("LLVM_PREFIX", &prefix)
            .env(format!("LLVM_SYS_{llvm}1_PREFIX"), &prefix),
    )?;
    fs::write(linker_stamp(), format!("{BPF_LINKER_VERSION} llvm-{llvm}\n"))?;
    Ok(())
}

fn linker_stamp() -> std::path::PathBuf {
    cmd::tools_dir().join("bpf-linker.stamp")
}

fn bpf_linker_matches(llvm: u32) -> bool {
    cmd::tools_dir().join("bin/bpf-linker").is_file()
        && fs::read_to_string(linker_stamp())
            .is_ok_and(|s| s.trim() == format!("{BPF_LINKER_VERSION} llvm-{llvm}"))
}

#[cfg(test)]
mod tests {
    use super::parse_llvm_major;

    #[test]
    fn llvm_major_from_rustc_verbose_version() {
        let vv = "rustc 1.96.0 (ac68faa20 2026-05-25)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.96.0\nLLVM version: 22.1.8\n";
        assert_eq!(parse_llvm_major(vv), Some(22));
        assert_eq!(parse_llvm_major("rustc 1.0\n"), None);
    }
}
