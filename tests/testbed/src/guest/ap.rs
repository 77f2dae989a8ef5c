//! One access point: a hwsim radio run by its own hostapd, bridged to the echo responder, or
//! by the one hostapd its network's APs share ([`Controller`]).

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
    /// Run by its network's [`Controller`] rather than a hostapd of its own.
    controlled: bool,
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
            controlled: false,
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
        self.ensure_own_hostapd()?;
        // A killed hostapd leaves its socket file behind; a fresh one must not be mistaken for it.
        let _ = fs::remove_file(self.ctrl_path());
        let mut cmd = Command::new(paths::HOSTAPD);
        cmd.args(["-dd", "-t"]).arg(&self.config);
        let mut daemon = Daemon::spawn(&format!("hostapd ({})", self.iface), cmd, &self.log)?;
        ctrl::wait_for_socket(&self.ctrl_path(), ENABLE_TIMEOUT, || daemon.check_running())?;
        self.hostapd = Some(daemon);
        self.wait_enabled(ENABLE_TIMEOUT)
    }

    /// Fails for an AP its network's [`Controller`] runs: it cannot be killed or started alone.
    pub fn ensure_own_hostapd(&self) -> Result<()> {
        if self.controlled {
            bail!(
                "{} runs in the one hostapd its network's APs share (for the keys they share): \
                 it cannot be killed or started alone; run the scenario with another \
                 --security",
                self.iface
            );
        }
        Ok(())
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

    /// Drops what hostapd remembers of `station` without a frame on the air, as if it had
    /// never been there. A station that left without a goodbye keeps an entry: under PMF an
    /// association the next one must SA-query (a second's wait), under SAE an accepted SAE
    /// state that the next commit restarts from and hostapd 2.10 then rejects ("Confirm
    /// mismatch", then a full scan: 11 s under TCG). `DEAUTHENTICATE tx=0` ends the association
    /// but keeps the entry for 5 s more, so an entry still there is freed with the BSS's others
    /// (it serves nobody): hostapd frees every entry at once for the broadcast address. The
    /// BSS itself stays up, as a real AP's does: its group keys, its PMKSA cache and the FT
    /// keys other APs pushed to it are kept. (Restarting it lost them: every run's target then
    /// installed fresh group keys for its "first station", about 35 ms of the handshake under
    /// TCG, and FT targets asked the key holder again.) A restart remains the last resort.
    pub fn forget_station(&mut self, station: &str) -> Result<()> {
        self.ctrl()?.command(&format!("DEAUTHENTICATE {station} tx=0"))?;
        if self.knows_station(station)? {
            self.ctrl()?.command("DEAUTHENTICATE ff:ff:ff:ff:ff:ff tx=0")?;
        }
        if self.knows_station(station)? {
            self.disable()?;
            self.enable()?;
        }
        Ok(())
    }

    /// Whether hostapd has an entry for `station` (`STA` answers FAIL for an unknown one).
    fn knows_station(&self, station: &str) -> Result<bool> {
        let reply = self.ctrl()?.request(&format!("STA {station}"))?;
        Ok(!reply.trim().is_empty() && !reply.starts_with("FAIL"))
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
        if !running && !self.controlled {
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

/// The one hostapd of a network whose APs share it
/// ([`roam_testbed::security::aps_share_one_hostapd`]): every AP's configuration on one command
/// line, so their BSSes share one PMKSA cache and hand FT keys to each other. Every AP's log is
/// the controller's.
pub struct Controller {
    daemon: Daemon,
}

impl Controller {
    /// Starts it for `aps` (none started yet) and waits until each beacons.
    pub fn start(aps: &mut [AccessPoint]) -> Result<Controller> {
        let log = Path::new(paths::LOG_DIR).join("hostapd-controller.log");
        let mut cmd = Command::new(paths::HOSTAPD);
        cmd.args(["-dd", "-t"]);
        for ap in aps.iter() {
            let _ = fs::remove_file(ap.ctrl_path());
            cmd.arg(&ap.config);
        }
        let mut daemon = Daemon::spawn("hostapd (controller)", cmd, &log)?;
        for ap in aps.iter_mut() {
            ctrl::wait_for_socket(&ap.ctrl_path(), ENABLE_TIMEOUT, || daemon.check_running())?;
            ap.controlled = true;
            ap.log = log.clone();
            ap.wait_enabled(ENABLE_TIMEOUT)?;
        }
        Ok(Controller { daemon })
    }

    pub fn check_running(&mut self) -> Result<()> {
        self.daemon.check_running()
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
