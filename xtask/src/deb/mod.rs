//! `cargo xtask deb`: the Debian package, built by cargo-deb from roam-user's
//! `[package.metadata.deb]`: the agent, /etc/roam/roam.toml as a conffile, the `roam@.service`
//! template unit with its maintainer scripts, and the manual pages and shell completions the
//! agent prints itself; then md5sums added, and checked: its files, its scripts, lintian.

mod lintian;
mod md5sums;
mod scripts;

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

use crate::{
    build,
    cmd::{self, note, step},
    setup,
};

const CARGO_DEB_VERSION: &str = "3.8.0";
/// Subcommands with a manual page of their own (`roam-run.1`, ...).
const MAN_PAGES: &[&str] = &["check", "run", "status", "events", "man", "completions"];
/// Shells and where Debian looks for their completions.
const COMPLETIONS: &[(&str, &str)] =
    &[("bash", "roam.bash"), ("zsh", "_roam"), ("fish", "roam.fish")];
/// What the package must hold (path, as `dpkg-deb -c` lists it, without the leading `.`;
/// cargo-deb compresses manual pages).
const EXPECTED_FILES: &[&str] = &[
    "/usr/bin/roam",
    "/etc/roam/roam.toml",
    "/usr/lib/systemd/system/roam@.service",
    "/usr/share/doc/roam/changelog.Debian.gz",
    "/usr/share/lintian/overrides/roam",
    "/usr/share/man/man1/roam.1.gz",
    "/usr/share/man/man1/roam-run.1.gz",
    "/usr/share/bash-completion/completions/roam",
    "/usr/share/zsh/vendor-completions/_roam",
    "/usr/share/fish/vendor_completions.d/roam.fish",
];

/// The generated files cargo-deb's assets point at (roam-user/Cargo.toml).
pub fn generated_dir() -> PathBuf {
    cmd::workspace_root().join("target/package")
}

/// Builds the package; returns its path.
pub fn build() -> Result<PathBuf> {
    setup::ensure_cargo_subcommand("deb", CARGO_DEB_VERSION)?;
    let roam = build::build(true)?;
    step("Manual pages and shell completions, from the agent itself");
    generate(&roam, &generated_dir())?;
    step("Packaging with cargo-deb");
    let out_dir = cmd::workspace_root().join("target/debian");
    let printed = cmd::output(
        cmd::cargo()
            .args(["deb", "--package", "roam-user", "--no-build", "--output"])
            .arg(&out_dir),
    )?;
    let deb = PathBuf::from(printed.lines().last().unwrap_or_default().trim());
    if !deb.is_file() {
        bail!("cargo deb printed no package path ({printed:?})");
    }
    md5sums::add(&deb, &out_dir.join("md5sums-work"))?;
    note(format!("built {}", deb.display()));
    Ok(deb)
}

/// `cargo xtask deb`: builds it and checks what it holds.
pub fn run() -> Result<()> {
    let deb = build()?;
    check(&deb)
}

fn generate(roam: &Path, dir: &Path) -> Result<()> {
    let man = dir.join("man");
    let completions = dir.join("completions");
    fs::create_dir_all(&man)?;
    fs::create_dir_all(&completions)?;
    let print = |args: &[&str]| cmd::output(Command::new(roam).args(args));
    fs::write(man.join("roam.1"), print(&["man"])?)?;
    for sub in MAN_PAGES {
        fs::write(man.join(format!("roam-{sub}.1")), print(&["man", sub])?)?;
    }
    for (shell, file) in COMPLETIONS {
        fs::write(completions.join(file), print(&["completions", shell])?)?;
    }
    Ok(())
}

/// The package holds every expected file and marks the configuration as a conffile; its
/// maintainer scripts do what they say to running agents; lintian finds no error or warning.
pub fn check(deb: &Path) -> Result<()> {
    check_contents(deb)?;
    let work = deb.with_extension("scripts-work");
    scripts::check(deb, &work)?;
    lintian::check(deb)
}

fn check_contents(deb: &Path) -> Result<()> {
    step(format!("Checking {}", deb.display()));
    let listing = cmd::output(Command::new("dpkg-deb").arg("--contents").arg(deb))?;
    let problems = missing_files(&listing);
    if !problems.is_empty() {
        bail!("{} lacks {}", deb.display(), problems.join(", "));
    }
    let conffiles = cmd::output(Command::new("dpkg-deb").arg("--info").arg(deb).arg("conffiles"))
        .context("reading the package's conffiles")?;
    if !conffiles.lines().any(|l| l.trim() == "/etc/roam/roam.toml") {
        bail!(
            "/etc/roam/roam.toml is not a conffile of {} (conffiles: {conffiles:?})",
            deb.display()
        );
    }
    note(format!("{} files in place; /etc/roam/roam.toml is a conffile", EXPECTED_FILES.len()));
    Ok(())
}

/// Expected files absent from a `dpkg-deb --contents` listing. Pure.
fn missing_files(listing: &str) -> Vec<&'static str> {
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(|path| path.trim_start_matches('.'))
        .collect();
    EXPECTED_FILES.iter().copied().filter(|f| !paths.contains(f)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_checked_for_every_expected_file() {
        let line = |path: &str| format!("-rw-r--r-- root/root 1234 2026-11-21 10:00 .{path}\n");
        let full: String = EXPECTED_FILES.iter().map(|f| line(f)).collect();
        assert!(missing_files(&full).is_empty());
        let partial: String = EXPECTED_FILES[1..].iter().map(|f| line(f)).collect();
        assert_eq!(missing_files(&partial), vec!["/usr/bin/roam"]);
    }
}
