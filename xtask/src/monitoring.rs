//! docs/monitoring checked with promtool: the scrape configuration, the alerting rules, and
//! the rules' unit tests (which alert fires on which series).
//!
//! promtool comes from Debian's prometheus package, unpacked into the project's tools rather
//! than installed: installing the package would also set up and start a Prometheus server.

use std::{fs, path::PathBuf, process::Command};

use anyhow::{Context as _, Result};

use crate::cmd;

pub fn check() -> Result<()> {
    let promtool = promtool()?;
    let dir = cmd::workspace_root().join("docs/monitoring");
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "roam-alerts.yml"],
        &["test", "rules", "roam-alerts.test.yml"],
    ] {
        cmd::run(Command::new(&promtool).args(args).current_dir(&dir))
            .with_context(|| format!("promtool {} in {}", args.join(" "), dir.display()))?;
    }
    Ok(())
}

/// promtool on PATH, or the one unpacked earlier, or one unpacked now from Debian's package.
fn promtool() -> Result<PathBuf> {
    if let Ok(path) = cmd::output(Command::new("sh").args(["-c", "command -v promtool"])) {
        if !path.trim().is_empty() {
            return Ok(PathBuf::from(path.trim()));
        }
    }
    let unpacked = cmd::tools_dir().join("bin/promtool");
    if unpacked.exists() {
        return Ok(unpacked);
    }
    cmd::step("Unpacking promtool from Debian's prometheus package");
    let work = cmd::tools_dir().join("prometheus-deb");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work)?;
    cmd::run(Command::new("apt-get").args(["download", "prometheus"]).current_dir(&work))
        .context("downloading Debian's prometheus package (apt sources must be reachable)")?;
    let deb = fs::read_dir(&work)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "deb"))
        .context("apt-get download left no .deb")?;
    let root = work.join("root");
    cmd::run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
    fs::create_dir_all(unpacked.parent().expect("tools/bin"))?;
    fs::copy(root.join("usr/bin/promtool"), &unpacked)
        .with_context(|| format!("{} has no usr/bin/promtool", deb.display()))?;
    let _ = fs::remove_dir_all(&work);
    Ok(unpacked)
}
