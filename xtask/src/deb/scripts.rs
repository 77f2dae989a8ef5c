//! What the package's maintainer scripts do to running agents, checked by running them: with
//! `systemctl` and `deb-systemd-invoke` replaced by stubs that log their arguments, and, for
//! the cases that need systemd to look present, a private /run (a mount namespace, so root).

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};

use crate::cmd::{self, note, step};

/// A maintainer script run and the calls it must make, in order.
struct Case {
    script: &'static str,
    args: &'static [&'static str],
    calls: &'static [&'static str],
}

const DAEMON_RELOAD: &str = "systemctl --system daemon-reload";

/// With systemd running: an upgrade restarts the agents that run, a removal stops them, a first
/// install starts none (the interface is the administrator's choice).
const WITH_SYSTEMD: &[Case] = &[
    Case { script: "postinst", args: &["configure", ""], calls: &[DAEMON_RELOAD] },
    Case {
        script: "postinst",
        args: &["configure", "0.0.9-1"],
        calls: &[DAEMON_RELOAD, "deb-systemd-invoke try-restart roam@*.service"],
    },
    Case { script: "prerm", args: &["upgrade", "0.1.1-1"], calls: &[] },
    Case { script: "prerm", args: &["remove"], calls: &["deb-systemd-invoke stop roam@*.service"] },
    Case { script: "postrm", args: &["remove"], calls: &[DAEMON_RELOAD] },
    Case { script: "postrm", args: &["purge"], calls: &[DAEMON_RELOAD] },
];

/// Unpacks the scripts of `deb` into `work` (emptied first) and checks each case.
pub fn check(deb: &Path, work: &Path) -> Result<()> {
    step("Maintainer scripts: what an install, upgrade, removal and purge do to roam@ units");
    let _ = fs::remove_dir_all(work);
    fs::create_dir_all(work)?;
    let control = work.join("control");
    cmd::run(Command::new("dpkg-deb").arg("--control").arg(deb).arg(&control))?;
    let stubs = write_stubs(&work.join("stubs"))?;
    let log = work.join("calls.log");
    let mut checked = 0;
    if cmd::is_root() {
        for case in WITH_SYSTEMD {
            let calls = run_with_systemd(&control.join(case.script), case.args, &stubs, &log)?;
            if calls != case.calls {
                bail!(
                    "{} {:?} made the calls {calls:?}, expected {:?} \
                     (roam-user/packaging/debian/{})",
                    case.script,
                    case.args,
                    case.calls,
                    case.script
                );
            }
            checked += 1;
        }
    } else {
        note("not root: the cases with systemd running need a private /run, skipped");
    }
    check_purge_unlinks_enabled_instances(&control.join("postrm"), &stubs, &log, work)?;
    note(format!("{} cases as expected", checked + 1));
    fs::remove_dir_all(work).with_context(|| format!("removing {}", work.display()))
}

/// A purge removes the links of enabled instances (under DPKG_ROOT, where systemd is left be).
fn check_purge_unlinks_enabled_instances(
    postrm: &Path,
    stubs: &Path,
    log: &Path,
    work: &Path,
) -> Result<()> {
    let root = work.join("root");
    let wants = root.join("etc/systemd/system/multi-user.target.wants");
    fs::create_dir_all(&wants)?;
    let enabled = wants.join("roam@wlan0.service");
    let other = wants.join("ssh.service");
    for link in [&enabled, &other] {
        std::os::unix::fs::symlink("/usr/lib/systemd/system/x.service", link)?;
    }
    let _ = fs::remove_file(log);
    let status = Command::new("sh")
        .arg(postrm)
        .arg("purge")
        .env("PATH", path_with(stubs))
        .env("ROAM_STUB_LOG", log)
        .env("DPKG_ROOT", &root)
        .status()?;
    if !status.success() || enabled.symlink_metadata().is_ok() || other.symlink_metadata().is_err()
    {
        bail!(
            "postrm purge must remove the links of enabled roam@ instances and nothing else \
             (exit {status}; roam@wlan0 link left: {}, ssh link gone: {})",
            enabled.symlink_metadata().is_ok(),
            other.symlink_metadata().is_err()
        );
    }
    if !read_calls(log).is_empty() {
        bail!("postrm purge under DPKG_ROOT must leave systemd alone: {:?}", read_calls(log));
    }
    Ok(())
}

/// Runs `script args` in a mount namespace whose /run says systemd is running; returns the
/// stubbed calls it made.
fn run_with_systemd(script: &Path, args: &[&str], stubs: &Path, log: &Path) -> Result<Vec<String>> {
    let _ = fs::remove_file(log);
    let status = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec sh \"$@\"")
        .arg("sh")
        .arg(script)
        .args(args)
        .env("PATH", path_with(stubs))
        .env("ROAM_STUB_LOG", log)
        .env_remove("DPKG_ROOT")
        .status()
        .context("unshare (util-linux)")?;
    if !status.success() {
        bail!("{} {args:?} failed ({status})", script.display());
    }
    Ok(read_calls(log))
}

fn read_calls(log: &Path) -> Vec<String> {
    fs::read_to_string(log).unwrap_or_default().lines().map(str::to_owned).collect()
}

/// Stubs for the commands the scripts may call: each logs its name and arguments.
fn write_stubs(dir: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dir)?;
    for name in ["systemctl", "deb-systemd-invoke", "deb-systemd-helper"] {
        let stub = dir.join(name);
        fs::write(&stub, format!("#!/bin/sh\necho \"{name} $*\" >> \"$ROAM_STUB_LOG\"\n"))?;
        fs::set_permissions(&stub, fs::Permissions::from_mode(0o755))?;
    }
    Ok(dir.to_path_buf())
}

fn path_with(stubs: &Path) -> String {
    format!("{}:/usr/sbin:/usr/bin:/sbin:/bin", stubs.display())
}
