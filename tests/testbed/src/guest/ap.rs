//! One access point: a hwsim radio run by its own hostapd, bridged to the echo responder.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use roam_testbed::scenario::{NetworkChoice, Security};

use super::{
    ctrl::{self, Ctrl},
    hwsim::{self, Radio},
    paths,
    process::{self, Daemon},
};

const HOSTAPD_CTRL_DIR: &str = "/run/hostapd";
const ENABLE_TIMEOUT: Duration = Duration::from_secs(20);

pub struct AccessPoint {
    pub iface: String,
    pub phy: String,
    pub bssid: String,
    pub channel: u8,
    config: PathBuf,
    log: PathBuf,
    hostapd: Option<Daemon>,
}

impl AccessPoint {
    /// Takes over a radio: renames its interface to `ap<index>` and writes the hostapd config.
    pub fn new(
        index: usize,
        radio: &Radio,
        channel: u8,
        security: Security,
        beacon_interval_tu: u16,
        network: NetworkChoice,
    ) -> Result<Self> {
        let iface = paths::ap_iface(index);
        process::ip(&["link", "set", &radio.iface, "name", &iface])?;
        let config = Path::new(paths::RUN_DIR).join(format!("hostapd-{iface}.conf"));
        fs::create_dir_all(paths::RUN_DIR)?;
        let eap_users = Path::new(paths::RUN_DIR).join("hostapd.eap_user");
        if roam_testbed::security::is_enterprise(security) {
            fs::write(&eap_users, roam_testbed::security::eap_user_file())?;
        }
        let text = hostapd_config(&iface, channel, beacon_interval_tu, network);
        fs::write(&config, text + &hostapd_security(security, index, &eap_users))?;
        Ok(AccessPoint {
            log: Path::new(paths::LOG_DIR).join(format!("hostapd-{iface}.log")),
            iface,
            phy: radio.phy.clone(),
            bssid: radio.mac.clone(),
            channel,
            config,
            hostapd: None,
        })
    }

    pub fn freq_mhz(&self) -> u32 {
        roam_testbed::scenario::channel_freq_mhz(self.channel)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    fn ctrl_path(&self) -> PathBuf {
        Path::new(HOSTAPD_CTRL_DIR).join(&self.iface)
    }

    /// Starts hostapd and waits until the AP beacons.
    pub fn start(&mut self) -> Result<()> {
        // A killed hostapd leaves its socket file behind; a fresh one must not be mistaken for it.
        let _ = fs::remove_file(self.ctrl_path());
        let mut cmd = Command::new(paths::HOSTAPD);
        cmd.args(["-dd", "-t"]).arg(&self.config);
        let mut daemon = Daemon::spawn(&format!("hostapd ({})", self.iface), cmd, &self.log)?;
        ctrl::wait_for_socket(&self.ctrl_path(), ENABLE_TIMEOUT, || daemon.check_running())?;
        self.hostapd = Some(daemon);
        self.wait_enabled(ENABLE_TIMEOUT)
    }

    /// SIGKILL to hostapd: no goodbye to the stations, the kernel's AP state is left as it was.
    pub fn kill(&mut self) {
        if let Some(mut daemon) = self.hostapd.take() {
            daemon.kill();
        }
    }

    pub fn ctrl(&self) -> Result<Ctrl> {
        Ctrl::connect(&self.ctrl_path())
    }

    pub fn deauthenticate(&self, station: &str, reason: u16) -> Result<()> {
        self.ctrl()?.command(&format!("DEAUTHENTICATE {station} reason={reason}"))
    }

    /// Drops what hostapd remembers of `station` without a frame on the air (`tx=0`).
    pub fn forget_station(&self, station: &str) -> Result<()> {
        self.ctrl()?.command(&format!("DEAUTHENTICATE {station} tx=0"))
    }

    pub fn disassociate(&self, station: &str, reason: u16) -> Result<()> {
        self.ctrl()?.command(&format!("DISASSOCIATE {station} reason={reason}"))
    }

    pub fn disable(&self) -> Result<()> {
        self.ctrl()?.command("DISABLE")
    }

    pub fn enable(&mut self) -> Result<()> {
        self.ctrl()?.command("ENABLE")?;
        self.wait_enabled(ENABLE_TIMEOUT)
    }

    /// Isolates the radio (nobody hears it, it does not know) or puts it back.
    pub fn set_silenced(&self, silenced: bool) -> Result<()> {
        hwsim::set_group(&self.phy, if silenced { 0 } else { 1 })
    }

    pub fn set_link(&self, up: bool) -> Result<()> {
        process::ip(&["link", "set", &self.iface, if up { "up" } else { "down" }])
    }

    fn link_is_up(&self) -> Result<bool> {
        let path = format!("/sys/class/net/{}/flags", self.iface);
        let flags = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16)?;
        Ok(flags & libc::IFF_UP as u32 != 0)
    }

    fn state(&self) -> Result<Option<String>> {
        self.ctrl()?.status_field("state")
    }

    /// Polls hostapd's STATUS until `state=ENABLED` (hostapd emits no event an earlier-attached
    /// client could wait for when it starts, so a bounded poll it is).
    pub fn wait_enabled(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(daemon) = &mut self.hostapd {
                daemon.check_running()?;
            }
            let state = self.state().ok().flatten();
            if state.as_deref() == Some("ENABLED") {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{}: hostapd state is {} after {timeout:?}, not ENABLED; end of {}:\n{}",
                    self.iface,
                    state.unwrap_or_else(|| "unknown".into()),
                    self.log.display(),
                    process::log_tail(&self.log, 15)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Undoes whatever a scenario did to this AP: radio heard again, link up, hostapd running
    /// and beaconing.
    pub fn make_whole(&mut self) -> Result<()> {
        if hwsim::group(&self.phy)? != 1 {
            self.set_silenced(false)?;
        }
        if !self.link_is_up()? {
            self.set_link(true)?;
        }
        let running = self.hostapd.as_mut().is_some_and(Daemon::is_running);
        if !running {
            self.kill();
            return self.start();
        }
        if self.state()?.as_deref() != Some("ENABLED") {
            // After a link flap hostapd may re-enable by itself; ENABLE then answers FAIL, fine.
            let _ = self.ctrl()?.request("ENABLE");
            self.wait_enabled(ENABLE_TIMEOUT)?;
        }
        Ok(())
    }
}

impl Drop for AccessPoint {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A network's SSID and the bridge its APs are ports of.
pub fn network_names(network: NetworkChoice) -> (&'static str, &'static str) {
    match network {
        NetworkChoice::Main => (paths::SSID, paths::BRIDGE),
        NetworkChoice::Other => (paths::OTHER_SSID, paths::OTHER_BRIDGE),
    }
}

/// The AP's radio and network; its security comes after ([`hostapd_security`]).
fn hostapd_config(
    iface: &str,
    channel: u8,
    beacon_interval_tu: u16,
    network: NetworkChoice,
) -> String {
    let (ssid, bridge) = network_names(network);
    let hw_mode = if channel > 14 { "a" } else { "g" };
    format!(
        "interface={iface}\n\
         driver=nl80211\n\
         bridge={bridge}\n\
         ctrl_interface={HOSTAPD_CTRL_DIR}\n\
         ssid={ssid}\n\
         hw_mode={hw_mode}\n\
         channel={channel}\n\
         beacon_int={beacon_interval_tu}\n",
    )
}

/// The security lines of AP number `index` (`roam_testbed::security`).
fn hostapd_security(security: Security, index: usize, eap_users: &Path) -> String {
    roam_testbed::security::hostapd_lines(security, index, &eap_users.display().to_string())
}
