//! The NetworkManager stack: NetworkManager owns the station, as on Debian, Ubuntu and Fedora
//! desktops. It drives its own wpa_supplicant over D-Bus, started as Debian's
//! wpa_supplicant.service starts it (`-u -s -O /run/wpa_supplicant`: D-Bus, and a control
//! socket for every interface NetworkManager adds, which is what roam talks to), and joins the
//! testbed network from a keyfile profile, the way a user's saved network is.
//!
//! Two things differ from a desktop, each for a reason:
//! - NetworkManager and its supplicant use a system bus of their own (a dbus-daemon in the
//!   station namespace, as the iwd stack does), so nothing else on the guest talks to them;
//! - NetworkManager sees sysfs read-only. With a writable /sys it expects udev to initialise
//!   every link and waits for it for ever (the guest runs no udev); with a read-only one, as in
//!   a container, it manages links without udev (checked with NetworkManager 1.52 on a veth
//!   pair: "platform-linux: create (... no udev ...)", the link managed at once).
//!
//! Its profile takes the station's addresses by DHCP and router advertisements (`dhcp`, behind
//! the APs, leases the station 10.0.0.2, the address the other stacks set by hand); the static
//! address the topology gave the interface goes while NetworkManager runs and comes back after.
//!
//! The runner talks to the supplicant through that control socket (status, scans, a deliberate
//! roam), as it does with the wpa_supplicant stack: NetworkManager tolerates a roam its
//! supplicant makes (it logs the new BSS and keeps the connection).

use std::{
    fs,
    os::unix::fs::PermissionsExt as _,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, Result};
use roam_testbed::{scenario::Security, timeline};

use super::{
    private_bus::PrivateBus, supplicant_ctrl::SupplicantCtrl, Known, LogSource, SettingsSinceStart,
    Station, SupplicantSettings, START_TIMEOUT,
};
use crate::guest::{
    ctrl::{self, Ctrl, Events},
    paths,
    process::{self, Daemon},
};

/// Where Debian's wpa_supplicant.service puts the control sockets of the interfaces
/// NetworkManager adds (`-O`).
pub const CTRL_DIR: &str = "/run/wpa_supplicant";
/// NetworkManager's own state directory (its secret key, seen BSSIDs, timestamps): compiled in.
const STATE_DIR: &str = "/var/lib/NetworkManager";
/// NetworkManager's name for the testbed network's profile.
const PROFILE: &str = "roam-testbed";

fn dir() -> PathBuf {
    Path::new(paths::RUN_DIR).join("networkmanager")
}

fn bus_address() -> String {
    PrivateBus::address(&dir())
}

pub struct NetworkManager {
    // Dropped in this order: NetworkManager, its supplicant, then the bus they are on.
    nm: Daemon,
    supplicant: Daemon,
    bus: PrivateBus,
    sup: SupplicantCtrl,
    /// The settings roam may change, as NetworkManager's supplicant had them once connected
    /// the first time (NetworkManager adds the network block after the interface).
    settings_at_start: Option<SupplicantSettings>,
    nm_log: PathBuf,
    supplicant_log: PathBuf,
}

impl NetworkManager {
    pub fn start(known: Known, _freqs_mhz: &[u32]) -> Result<Self> {
        require(paths::NETWORK_MANAGER)?;
        // The address is NetworkManager's to configure, from its lease.
        process::ip(&["-n", paths::STA_NETNS, "address", "flush", "dev", paths::STA_IFACE])?;
        // A fresh configuration and state per topology: nothing learnt by an earlier one.
        let _ = fs::remove_dir_all(dir());
        let _ = fs::remove_dir_all(STATE_DIR);
        let profiles = dir().join("system-connections");
        fs::create_dir_all(&profiles)?;
        fs::create_dir_all(STATE_DIR)?;
        let conf = dir().join("NetworkManager.conf");
        fs::write(&conf, config(&profiles))?;
        let profile = profiles.join(format!("{PROFILE}.nmconnection"));
        fs::write(&profile, profile_file(known.security))?;
        // NetworkManager ignores a profile others can read: it may hold a secret.
        fs::set_permissions(&profile, fs::Permissions::from_mode(0o600))?;

        let bus = PrivateBus::start(&dir())?;

        let supplicant_log = Path::new(paths::LOG_DIR).join("wpa_supplicant.log");
        let mut cmd = process::in_station_netns(paths::WPA_SUPPLICANT);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus_address());
        // Debian's unit adds -s (syslog): here its log goes to a file, as the other stacks'.
        cmd.args(["-u", "-O", CTRL_DIR, "-dd", "-t"]);
        let supplicant = Daemon::spawn("wpa_supplicant", cmd, &supplicant_log)?;

        // NetworkManager with sysfs read-only (see the module's header): a mount namespace of
        // its own inside the station's, where /sys is remounted read-only before the exec.
        // `--debug` keeps it in the foreground with its log on stderr (`--no-daemon` logs to
        // syslog, which the guest does not run).
        let nm_log = Path::new(paths::LOG_DIR).join("NetworkManager.log");
        let script = format!(
            "{busybox} mount -o remount,ro /sys && exec {nm} --debug --config={conf}",
            busybox = paths::BUSYBOX,
            nm = paths::NETWORK_MANAGER,
            conf = conf.display(),
        );
        let mut cmd = process::in_station_netns(paths::UNSHARE);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus_address());
        cmd.args(["--mount", "--propagation", "private", paths::BUSYBOX, "sh", "-c", &script]);
        let mut nm = Daemon::spawn("NetworkManager", cmd, &nm_log)?;

        // The supplicant's control socket appears once NetworkManager has added the interface.
        let socket = Path::new(CTRL_DIR).join(paths::STA_IFACE);
        ctrl::wait_for_socket(&socket, START_TIMEOUT, || nm.check_running())
            .context("NetworkManager did not hand sta0 to its wpa_supplicant")?;
        let sup =
            SupplicantCtrl { ctrl: Ctrl::connect(&socket)?, events: Events::attach(&socket)? };
        Ok(NetworkManager {
            nm,
            supplicant,
            bus,
            sup,
            settings_at_start: None,
            nm_log,
            supplicant_log,
        })
    }
}

impl NetworkManager {
    /// What roam may change and must give back: the supplicant's settings, and the profile as
    /// NetworkManager has it.
    fn settings(&self) -> Result<SupplicantSettings> {
        let mut cmd = process::in_station_netns(paths::NMCLI);
        cmd.env("DBUS_SYSTEM_BUS_ADDRESS", bus_address());
        cmd.args(["--terse", "--fields", PROFILE_SETTINGS, "connection", "show", PROFILE]);
        let out = process::output_timeout(cmd, NMCLI_TIMEOUT)?;
        if !out.status.success() {
            anyhow::bail!(
                "nmcli connection show {PROFILE} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let shown = String::from_utf8_lossy(&out.stdout);
        Ok(SupplicantSettings {
            manager_profile: Some(profile_lines(&shown)),
            ..super::read_settings(&self.sup.ctrl)?
        })
    }
}

/// nmcli answers from NetworkManager's D-Bus objects at once; it waits for nothing.
const NMCLI_TIMEOUT: Duration = Duration::from_secs(10);

/// The profile's settings, not the active connection's state (`GENERAL`, `IP4`, ...).
const PROFILE_SETTINGS: &str = "connection,802-11-wireless,802-11-wireless-security,ipv4,ipv6";

/// nmcli's `setting.property:value` lines without those NetworkManager changes by itself as it
/// connects: when it last did, and the BSSIDs it has seen.
fn profile_lines(shown: &str) -> Vec<String> {
    const VOLATILE: &[&str] = &["connection.timestamp:", "802-11-wireless.seen-bssids:"];
    shown
        .lines()
        .filter(|line| !VOLATILE.iter().any(|v| line.starts_with(v)))
        .map(str::to_owned)
        .collect()
}

/// NetworkManager.conf(5): only sta0 is NetworkManager's, from the testbed's profile; no
/// connectivity checks, DNS or MAC address randomisation (none of them is the roam measured).
fn config(profiles: &Path) -> String {
    format!(
        "[main]\nplugins=keyfile\nno-auto-default=*\nauth-polkit=false\ndhcp=internal\n\
         dns=none\nrc-manager=unmanaged\n\n\
         [keyfile]\npath={}\nunmanaged-devices=except:interface-name:{}\n\n\
         [device]\nwifi.scan-rand-mac-address=no\nwifi.backend=wpa_supplicant\n\n\
         [connectivity]\nenabled=false\n\n\
         [logging]\nlevel=INFO\ndomains=DEFAULT,WIFI:DEBUG,SUPPLICANT:DEBUG,DEVICE:DEBUG\n",
        profiles.display(),
        paths::STA_IFACE
    )
}

/// The testbed network's keyfile profile (nm-settings-keyfile(5)).
fn profile_file(security: Security) -> String {
    format!(
        "[connection]\nid={PROFILE}\ntype=wifi\ninterface-name={iface}\nautoconnect=true\n\n\
         [wifi]\nmode=infrastructure\nssid={ssid}\n\n{security}\n\
         [ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\naddr-gen-mode=eui64\n",
        iface = paths::STA_IFACE,
        ssid = paths::SSID,
        security = roam_testbed::security::networkmanager_sections(security),
    )
}

fn require(program: &str) -> Result<()> {
    if !Path::new(program).exists() {
        anyhow::bail!(
            "the NetworkManager stacks need {program} in the guest, which this image lacks: \
             rebuild it (`cargo xtask vm build`; every release's image has NetworkManager)"
        );
    }
    Ok(())
}

impl Station for NetworkManager {
    fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        let bssid = self.sup.wait_connected(timeout)?;
        // Connected for the probe means addressed: the lease and the advertisement.
        let (nm, supplicant) = (&mut self.nm, &mut self.supplicant);
        super::addressed::wait_for_addresses(timeout, || {
            nm.check_running()?;
            supplicant.check_running()
        })?;
        if self.settings_at_start.is_none() {
            self.settings_at_start = Some(self.settings()?);
        }
        Ok(bssid)
    }

    fn connected_bssid(&mut self) -> Result<Option<String>> {
        self.sup.connected_bssid()
    }

    fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()> {
        self.sup.scan(freqs_mhz, timeout)
    }

    fn roam(&mut self, bssid: &str) -> Result<()> {
        self.sup.roam(bssid)
    }

    fn forget_previous_runs(&mut self) -> Result<()> {
        self.sup.forget_previous_runs()
    }

    fn check_alive(&mut self) -> Result<()> {
        self.nm.check_running()?;
        self.supplicant.check_running()?;
        self.bus.check_running()
    }

    fn logs(&self) -> Vec<LogSource> {
        vec![
            LogSource {
                file_name: "wpa_supplicant.log",
                path: self.supplicant_log.clone(),
                source: "wpa_supplicant",
                parse: Some(|line| timeline::parse_wpa_supplicant_line(line, paths::STA_IFACE)),
            },
            LogSource {
                file_name: "NetworkManager.log",
                path: self.nm_log.clone(),
                source: "NetworkManager",
                parse: None,
            },
            self.bus.log_source(),
        ]
    }

    fn supplicant_settings(&mut self) -> Result<SettingsSinceStart> {
        self.supplicant.check_running()?;
        let now = self.settings()?;
        let at_start = self.settings_at_start.clone().unwrap_or_else(|| now.clone());
        Ok(SettingsSinceStart { at_start, now })
    }

    fn daemons(&self) -> Vec<(&'static str, u32)> {
        [("NetworkManager", self.nm.pid()), ("wpa_supplicant", self.supplicant.pid())]
            .into_iter()
            .filter_map(|(name, pid)| Some((name, pid?)))
            .collect()
    }
}

impl Drop for NetworkManager {
    fn drop(&mut self) {
        // NetworkManager first, so that it does not take the address back.
        self.nm.kill();
        // The next stack starts from the interface as the topology configured it.
        let address = ["address", "replace", paths::STA_ADDRESS, "dev", paths::STA_IFACE];
        if let Err(err) = process::ip(&[&["-n", paths::STA_NETNS][..], &address].concat()) {
            crate::guest::system::progress(format!("warning: restoring sta0's address: {err:#}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_leaves_out_what_changes_by_itself() {
        let shown = "connection.id:roam-testbed\nconnection.timestamp:1796592908\n\
                     802-11-wireless.bssid:\n802-11-wireless.seen-bssids:02:00:00:00:00:00\n";
        assert_eq!(profile_lines(shown), ["connection.id:roam-testbed", "802-11-wireless.bssid:"]);
    }
}
