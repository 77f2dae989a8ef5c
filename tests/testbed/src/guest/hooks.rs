//! Proves roam's kernel programs on the guest kernel: with a real station interface and a
//! monitor interface on its phy, `roam check` loads every program through this kernel's
//! verifier and attaches it (fentry, cfg80211 and mac80211 raw tracepoints, the frame filter on
//! a real monitor interface: what the host kernel of CI cannot offer). It runs as the agent's
//! unit runs it, with CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_NET_RAW only, under
//! `kernel.perf_event_paranoid=3` (Debian's default, set here in case the image differs): so
//! every hook attaching shows none of them needs CAP_SYS_ADMIN or a perf event. The report goes
//! into the results for the host to assert.

use std::{fs, path::Path};

use anyhow::{bail, Context as _, Result};

use super::{
    paths,
    process::{self, in_station_netns},
    station::AGENT_CAPABILITIES,
    system::write_knob,
    topology::Topology,
};

/// The report file in the results; the host's VM suite reads it.
pub const REPORT_FILE: &str = roam_testbed::report::ROAM_CHECK_FILE;
const MONITOR: &str = "roammon0";

/// Runs `roam check` on the station, with a monitor interface on its phy for the duration.
pub fn check(topology: &Topology, out: &Path) -> Result<()> {
    let phy = topology.station_phy.as_str();
    process::run(
        paths::IP,
        &[
            "netns",
            "exec",
            paths::STA_NETNS,
            paths::IW,
            "phy",
            phy,
            "interface",
            "add",
            MONITOR,
            "type",
            "monitor",
        ],
    )
    .context("adding a monitor interface on the station's phy")?;
    let result = run_check(out);
    // The topology stays as it was for the scenarios that follow.
    let removed = process::run(
        paths::IP,
        &["netns", "exec", paths::STA_NETNS, paths::IW, "dev", MONITOR, "del"],
    )
    .map(drop);
    result.and(removed)
}

/// Debian's and Ubuntu's default: perf events for CAP_SYS_ADMIN only.
const PERF_EVENT_PARANOID: &str = "/proc/sys/kernel/perf_event_paranoid";

fn run_check(out: &Path) -> Result<()> {
    process::ip(&["-n", paths::STA_NETNS, "link", "set", MONITOR, "up"])?;
    write_knob(PERF_EVENT_PARANOID, "3")?;
    let output = in_station_netns(paths::TESTBED)
        .args(["with-kernel-fs", paths::SETPRIV, "--no-new-privs", "--bounding-set"])
        .args([AGENT_CAPABILITIES, "--", paths::ROAM, "check", "--iface", paths::STA_IFACE])
        .args(["--monitor", MONITOR, "--json"])
        .output()
        .context("running roam check")?;
    fs::write(out.join(REPORT_FILE), &output.stdout)?;
    fs::write(out.join("roam-check.log"), &output.stderr)?;
    if output.stdout.is_empty() {
        bail!("roam check printed no report: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
