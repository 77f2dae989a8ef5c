//! Recording the air as the station's radio hears it: a monitor interface of its own on the
//! station's radio, and tcpdump writing what it delivers (radiotap + 802.11) to a pcap file.
//! The fuzzer's seeds come from these (`cargo xtask fuzz --capture-seeds`).

use std::{path::Path, time::Duration};

use anyhow::{Context as _, Result};

use super::{
    paths,
    process::{self, Daemon},
};

/// Not roam's `roammon<N>`: the agent's own monitor interface is left alone.
const MONITOR: &str = "capmon0";
/// tcpdump announces that it listens on stderr; until then, frames would be missed.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running capture; stops (the file complete) and removes its interface when dropped.
pub struct FrameCapture {
    tcpdump: Option<Daemon>,
}

impl FrameCapture {
    pub fn start(phy: &str, pcap: &Path) -> Result<FrameCapture> {
        let in_netns = |args: &[&str]| {
            let mut full = vec!["netns", "exec", paths::STA_NETNS];
            full.extend_from_slice(args);
            process::run(paths::IP, &full)
        };
        in_netns(&[paths::IW, "phy", phy, "interface", "add", MONITOR, "type", "monitor"])?;
        let mut capture = FrameCapture { tcpdump: None };
        in_netns(&[paths::IP, "link", "set", MONITOR, "up"])?;
        let log = pcap.with_extension("tcpdump.log");
        let mut command = process::in_station_netns(paths::TCPDUMP);
        // Packet-buffered (-U): every frame is in the file when tcpdump is stopped.
        // As root throughout (-Z root): the image has no `tcpdump` user to drop to.
        command.args(["-Z", "root", "-i", MONITOR, "-U", "-w"]).arg(pcap);
        let mut tcpdump = Daemon::spawn("tcpdump", command, &log)?;
        super::station::wait_for_line(&log, 0, "listening on", START_TIMEOUT, || {
            tcpdump.check_running()
        })
        .context("tcpdump did not start")?;
        capture.tcpdump = Some(tcpdump);
        Ok(capture)
    }
}

impl Drop for FrameCapture {
    fn drop(&mut self) {
        // SIGTERM: tcpdump closes the file properly.
        self.tcpdump = None;
        let _ = process::run(
            paths::IP,
            &["netns", "exec", paths::STA_NETNS, paths::IW, "dev", MONITOR, "del"],
        );
    }
}
