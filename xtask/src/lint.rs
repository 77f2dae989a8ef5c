//! `cargo xtask lint`: formatting and clippy, warnings denied, over every crate of the
//! workspace, the eBPF one included (for its own target, with the toolchain that builds it),
//! and the agent's modules kept small. `cargo xtask test` runs it first, so CI holds the gate.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::{cmd, setup};

pub fn run() -> Result<()> {
    setup::ensure()?;
    ensure_rustup_components()?;

    cmd::step(format!("Module size (the agent's files at most {AGENT_MAX_LINES} lines)"));
    let oversized = oversized(&cmd::workspace_root().join(AGENT_DIR), AGENT_MAX_LINES)?;
    if !oversized.is_empty() {
        let list: Vec<String> =
            oversized.iter().map(|(path, n)| format!("{} ({n} lines)", path.display())).collect();
        bail!(
            "{} over {AGENT_MAX_LINES} lines: split by job (the agent's decisions live in \
             agent/conductor, its I/O in the handlers)",
            list.join(", ")
        );
    }

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

/// The agent: small modules with one job each, so no file grows into the 1,000-line loop it
/// once was.
const AGENT_DIR: &str = "roam-user/src/agent";
const AGENT_MAX_LINES: usize = 500;

/// The Rust files under `dir` longer than `limit` lines, with their length.
fn oversized(dir: &Path, limit: usize) -> Result<Vec<(PathBuf, usize)>> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let lines = std::fs::read_to_string(&path)?.lines().count();
                if lines > limit {
                    found.push((path, lines));
                }
            }
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_over_the_limit_are_named_in_subdirectories_too() {
        let dir = std::env::temp_dir().join(format!("roam-lint-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("core")).unwrap();
        std::fs::write(dir.join("small.rs"), "a\nb\n").unwrap();
        std::fs::write(dir.join("core/big.rs"), "x\n".repeat(4)).unwrap();
        std::fs::write(dir.join("notes.md"), "x\n".repeat(9)).unwrap();
        let found = oversized(&dir, 3).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, vec![(dir.join("core/big.rs"), 4)]);
    }

    #[test]
    fn the_agent_is_within_the_limit() {
        let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(AGENT_DIR);
        assert_eq!(oversized(&agent, AGENT_MAX_LINES).unwrap(), vec![]);
    }
}
