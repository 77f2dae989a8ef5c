//! The networkd stack: systemd-networkd configures the station's addresses (DHCP, router
//! advertisements) and wpa_supplicant, started as Debian's wpa_supplicant@.service starts it
//! (`-i sta0 -D nl80211 -c ...`), joins the network: the setup of servers and robots. The
//! .network file has what the usual advice gives a Wi-Fi link, `IgnoreCarrierLoss=3s`: without
//! it networkd drops the addresses and routes at every roam's carrier loss.
//!
//! networkd runs without systemd as PID 1 (checked with trixie's systemd 257 in a chroot): it
//! drops to its own user (`systemd-network` in the guest's password database), wants
//! /run/systemd/netif owned by that user, and /etc/machine-id for its DHCP client's DUID; like
//! NetworkManager it sees sysfs read-only, so that it does not wait for udev.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, Result};
use roam_testbed::scenario::NetworkChoice;

use super::{Known, LogSource, SettingsSinceStart, Station, WpaSupplicant};
use crate::guest::{
    paths,
    process::{self, Daemon},
};

/// The guest's uid and gid of `systemd-network` (its /etc/passwd).
pub const NETWORKD_UID: u32 = 998;
const NETIF_DIR: &str = "/run/systemd/netif";
const NETWORK_DIR: &str = "/etc/systemd/network";

pub struct Networkd {
    // Dropped in this order: networkd, then the supplicant.
    networkd: Daemon,
    supplicant: WpaSupplicant,
    log: PathBuf,
}

impl Networkd {
    pub fn start(known: Known, freqs_mhz: &[u32]) -> Result<Self> {
        if !Path::new(paths::NETWORKD).exists() {
            anyhow::bail!(
                "the networkd stacks need {} in the guest, which this image lacks: rebuild it \
                 (`cargo xtask vm build`)",
                paths::NETWORKD
            );
        }
        // The address is networkd's to configure, from its lease.
        process::ip(&["-n", paths::STA_NETNS, "address", "flush", "dev", paths::STA_IFACE])?;
        let _ = fs::remove_dir_all(NETIF_DIR);
        fs::create_dir_all(NETIF_DIR)?;
        std::os::unix::fs::chown(NETIF_DIR, Some(NETWORKD_UID), Some(NETWORKD_UID))?;
        fs::create_dir_all(NETWORK_DIR)?;
        fs::write(Path::new(NETWORK_DIR).join("50-sta.network"), network_file())?;

        let supplicant = WpaSupplicant::start(known, freqs_mhz)?;
        let log = Path::new(paths::LOG_DIR).join("systemd-networkd.log");
        let script = format!(
            "{busybox} mount -o remount,ro /sys && exec {networkd}",
            busybox = paths::BUSYBOX,
            networkd = paths::NETWORKD,
        );
        let mut cmd = process::in_station_netns(paths::UNSHARE);
        cmd.env("SYSTEMD_LOG_LEVEL", "info");
        cmd.args(["--mount", "--propagation", "private", paths::BUSYBOX, "sh", "-c", &script]);
        let networkd = Daemon::spawn("systemd-networkd", cmd, &log)?;
        Ok(Networkd { networkd, supplicant, log })
    }
}

/// The station's .network file (systemd.network(5)).
fn network_file() -> String {
    format!(
        "[Match]\nName={}\n\n[Network]\nDHCP=yes\nIPv6AcceptRA=yes\nIgnoreCarrierLoss=3s\n",
        paths::STA_IFACE
    )
}

impl Drop for Networkd {
    fn drop(&mut self) {
        self.networkd.kill();
        // The next stack starts from the interface as the topology configured it.
        let address = ["address", "replace", paths::STA_ADDRESS, "dev", paths::STA_IFACE];
        if let Err(err) = process::ip(&[&["-n", paths::STA_NETNS][..], &address].concat()) {
            crate::guest::system::progress(format!("warning: restoring sta0's address: {err:#}"));
        }
    }
}

impl Station for Networkd {
    fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        let bssid = self.supplicant.wait_connected(timeout)?;
        // Connected for the probe means addressed: the lease and the advertisement.
        let networkd = &mut self.networkd;
        super::addressed::wait_for_addresses(timeout, || networkd.check_running())?;
        Ok(bssid)
    }

    fn connected_bssid(&mut self) -> Result<Option<String>> {
        self.supplicant.connected_bssid()
    }

    fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()> {
        self.supplicant.scan(freqs_mhz, timeout)
    }

    fn roam(&mut self, bssid: &str) -> Result<()> {
        self.supplicant.roam(bssid)
    }

    fn select_network(&mut self, network: NetworkChoice) -> Result<()> {
        self.supplicant.select_network(network)
    }

    fn forget_previous_runs(&mut self) -> Result<()> {
        self.supplicant.forget_previous_runs()
    }

    fn check_alive(&mut self) -> Result<()> {
        self.networkd.check_running().context("systemd-networkd")?;
        self.supplicant.check_alive()
    }

    fn logs(&self) -> Vec<LogSource> {
        let mut logs = self.supplicant.logs();
        logs.push(LogSource {
            file_name: "systemd-networkd.log",
            path: self.log.clone(),
            source: "networkd",
            parse: None,
        });
        logs
    }

    fn daemons(&self) -> Vec<(&'static str, u32)> {
        let mut daemons = self.supplicant.daemons();
        daemons.extend(self.networkd.pid().map(|pid| ("systemd-networkd", pid)));
        daemons
    }

    fn supplicant_settings(&mut self) -> Result<SettingsSinceStart> {
        self.supplicant.supplicant_settings()
    }
}
