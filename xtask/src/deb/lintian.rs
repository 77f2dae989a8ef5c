//! Debian's lintian over the built package: no error and no warning. What it reports below
//! that is shown; overrides live in roam-user/packaging/debian/lintian-overrides, each with
//! its reason above it.

use std::{path::Path, process::Command};

use anyhow::{bail, Result};

use crate::{
    cmd::{note, step},
    setup,
};

pub fn check(deb: &Path) -> Result<()> {
    setup::ensure_apt_packages(&["lintian"])?;
    step(format!("lintian {}", deb.display()));
    let out = Command::new("lintian")
        .args(["--fail-on", "error,warning", "--display-info", "--info"])
        .arg(deb)
        .output()?;
    let report = String::from_utf8_lossy(&out.stdout);
    // Root gets a warning of lintian's own on stderr; the tags are on stdout.
    for line in report.lines().filter(|l| !l.starts_with("N:")) {
        note(line);
    }
    if !out.status.success() {
        bail!(
            "lintian found errors or warnings in {} (above; fix them, or override one with its \
             reason in roam-user/packaging/debian/lintian-overrides)",
            deb.display()
        );
    }
    note("lintian: no error, no warning");
    Ok(())
}
