//! The station side of a topology, per stack.
//!
//! A stack is how the station's software is started and stopped, how it is asked to do things
//! (connect, scan, roam) and which logs tell its timeline. Adding one is implementing [`Station`]
//! and one arm in [`start`].

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use roam_testbed::{
    scenario::{NetworkChoice, Security},
    stack::Stack,
    timeline,
};

use super::{
    ctrl::{self, Ctrl, Events},
    leftovers, paths,
    process::{self, Daemon},
};

mod addressed;
mod iwd;
mod networkd;
mod networkmanager;
mod private_bus;
mod supplicant_ctrl;

use supplicant_ctrl::SupplicantCtrl;

const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The agent loads and verifies its kernel programs and reads the kernel's BTF: seconds under
/// TCG.
const AGENT_START_TIMEOUT: Duration = Duration::from_secs(60);

/// Turns one log line into (CLOCK_REALTIME µs, event), if the line is an event (daemons'
/// `-t` timestamps are wall-clock time).
pub type LineParser = fn(&str) -> Option<(i64, &'static str)>;

/// A log the runner slices per run, keeps, and (with a parser) turns into timeline events.
pub struct LogSource {
    pub file_name: &'static str,
    pub path: PathBuf,
    pub source: &'static str,
    pub parse: Option<LineParser>,
}

pub trait Station {
    /// Waits until the station is connected; returns the BSSID.
    fn wait_connected(&mut self, timeout: Duration) -> Result<String>;
    /// The BSSID if the station is connected (handshake complete), else `None`.
    fn connected_bssid(&mut self) -> Result<Option<String>>;
    /// Scans these frequencies and waits for the results, so the BSS table is fresh.
    fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()>;
    /// Roams to `bssid` on purpose.
    fn roam(&mut self, bssid: &str) -> Result<()>;
    /// Joins `network` (a topology with `other_network`), as a user picking it does.
    fn select_network(&mut self, network: NetworkChoice) -> Result<()> {
        bail!("this stack knows one network: it cannot join {network:?}")
    }
    /// Forgets what earlier runs taught the stack, so every run starts like a station that has
    /// been connected for a long time.
    fn forget_previous_runs(&mut self) -> Result<()>;
    /// Fails if a program of the stack has died.
    fn check_alive(&mut self) -> Result<()>;
    fn logs(&self) -> Vec<LogSource>;
    /// The stack's Prometheus metrics, if it exports any.
    fn metrics(&mut self) -> Option<Result<String>> {
        None
    }
    /// The stack's daemons running now: (role, pid), for `proc_stats`.
    fn daemons(&self) -> Vec<(&'static str, u32)>;

    // Faults (tests/faults). A stack without the part named fails the step.

    /// SIGKILL to the supplicant, then start it again on the same configuration.
    fn restart_supplicant(&mut self) -> Result<()> {
        bail!("this stack has no wpa_supplicant to restart")
    }
    /// Stops the supplicant (its interface is about to go).
    fn stop_supplicant(&mut self) -> Result<()> {
        bail!("this stack has no wpa_supplicant to stop")
    }
    /// Starts the supplicant again (its interface is back).
    fn start_supplicant(&mut self) -> Result<()> {
        bail!("this stack has no wpa_supplicant to start")
    }
    /// Sends the supplicant a signal (SIGSTOP, SIGCONT).
    fn signal_supplicant(&mut self, _signal: i32) -> Result<()> {
        bail!("this stack has no wpa_supplicant to signal")
    }
    /// SIGKILL to the roam agent.
    fn kill_agent(&mut self) -> Result<()> {
        bail!("this stack runs no roam agent")
    }
    /// SIGTERM to the roam agent: how long it took to exit (`None`: it did not, and was
    /// killed).
    fn stop_agent(&mut self) -> Result<Option<Duration>> {
        bail!("this stack runs no roam agent")
    }
    /// Asks `roam status`, which must answer within `limit`: how long it took.
    fn agent_status(&mut self, _limit: Duration) -> Result<Duration> {
        bail!("this stack runs no roam agent")
    }
    /// Starts the roam agent again and waits until it is attached.
    fn start_agent(&mut self) -> Result<()> {
        bail!("this stack runs no roam agent")
    }
    /// Sends the roam agent a signal (SIGSTOP, SIGCONT).
    fn signal_agent(&mut self, _signal: i32) -> Result<()> {
        bail!("this stack runs no roam agent")
    }
    /// Waits until the agent reports `event` (after the last `forget_previous_runs`).
    fn wait_agent_event(&mut self, _event: &str, _timeout: Duration) -> Result<()> {
        bail!("this stack runs no roam agent")
    }
    /// wpa_supplicant's settings that roam may change, as they read now and as they read when
    /// it started.
    fn supplicant_settings(&mut self) -> Result<SettingsSinceStart> {
        bail!("this stack has no wpa_supplicant settings")
    }
}

/// The wpa_supplicant settings roam changes for a reconnection, as its control socket reads
/// them (`GET_NETWORK 0 bssid`, `GET scan_res_valid_for_connect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupplicantSettings {
    /// The network block's `bssid` (`FAIL`: unset).
    pub network_bssid: String,
    pub results_valid_for_connect: String,
    /// The connection manager's profile of the network, where one owns the supplicant
    /// (NetworkManager's settings as nmcli reads them, without what changes by itself).
    pub manager_profile: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsSinceStart {
    pub at_start: SupplicantSettings,
    pub now: SupplicantSettings,
}

impl SettingsSinceStart {
    /// `name: before -> now` for each setting that differs. Pure.
    pub fn changes(&self) -> Vec<String> {
        let (a, b) = (&self.at_start, &self.now);
        let mut changes = Vec::new();
        if a.network_bssid != b.network_bssid {
            changes.push(format!(
                "wpa_supplicant network 0 bssid: {} -> {}",
                a.network_bssid, b.network_bssid
            ));
        }
        if a.results_valid_for_connect != b.results_valid_for_connect {
            changes.push(format!(
                "wpa_supplicant scan_res_valid_for_connect: {} -> {}",
                a.results_valid_for_connect, b.results_valid_for_connect
            ));
        }
        if let (Some(before), Some(now)) = (&a.manager_profile, &b.manager_profile) {
            let gone = before.iter().filter(|line| !now.contains(line));
            let came = now.iter().filter(|line| !before.contains(line));
            let diff: Vec<String> =
                gone.map(|l| format!("-{l}")).chain(came.map(|l| format!("+{l}"))).collect();
            if !diff.is_empty() {
                changes.push(format!("NetworkManager profile: {}", diff.join(", ")));
            }
        }
        changes
    }
}

/// Starts the stack's programs on the station interface (in the station namespace).
/// What the station knows: the network's security, and whether there is another network
/// (`Scenario::other_network`), which it knows too and likes less.
#[derive(Clone, Copy, Debug)]
pub struct Known {
    pub security: Security,
    pub other_network: bool,
}

pub fn start(stack: Stack, known: Known, freqs_mhz: &[u32]) -> Result<Box<dyn Station>> {
    match stack {
        Stack::WpaSupplicant => Ok(Box::new(WpaSupplicant::start(known, freqs_mhz)?)),
        Stack::WpaSupplicantBgscan => {
            Ok(Box::new(WpaSupplicant::start_with(known, freqs_mhz, Some(NETWORKMANAGER_BGSCAN))?))
        }
        Stack::Roam => Ok(Box::new(RoamAgent::start(known, freqs_mhz, &[])?)),
        Stack::RoamNoMonitor => {
            Ok(Box::new(RoamAgent::start(known, freqs_mhz, &no_monitor_args()?)?))
        }
        Stack::RoamNl80211 => Ok(Box::new(RoamOnNl80211::start(known, freqs_mhz)?)),
        Stack::Iwd => Ok(Box::new(iwd::Iwd::start(known, freqs_mhz)?)),
        Stack::NetworkManager => {
            Ok(Box::new(networkmanager::NetworkManager::start(known, freqs_mhz)?))
        }
        Stack::RoamNetworkManager => {
            let manager = networkmanager::NetworkManager::start(known, freqs_mhz)?;
            Ok(Box::new(RoamAgent::beside(Box::new(manager), &[])?))
        }
        Stack::Networkd => Ok(Box::new(networkd::Networkd::start(known, freqs_mhz)?)),
        Stack::RoamNetworkd => {
            let manager = networkd::Networkd::start(known, freqs_mhz)?;
            Ok(Box::new(RoamAgent::beside(Box::new(manager), &[])?))
        }
    }
}

/// How to talk to the stack's programs by hand (`roam-testbed up`).
pub fn client_hint(stack: Stack) -> String {
    match stack {
        Stack::WpaSupplicant | Stack::WpaSupplicantBgscan | Stack::Roam | Stack::RoamNoMonitor => {
            format!("wpa_cli -p {WPA_CTRL_DIR} -i {}", paths::STA_IFACE)
        }
        Stack::RoamNl80211 => format!("roam status --iface {}", paths::STA_IFACE),
        Stack::Iwd => iwd::client_hint(),
        Stack::Networkd | Stack::RoamNetworkd => {
            format!("wpa_cli -p {WPA_CTRL_DIR} -i {}; networkctl", paths::STA_IFACE)
        }
        Stack::NetworkManager | Stack::RoamNetworkManager => format!(
            "wpa_cli -p {} -i {}; nmcli (DBUS_SYSTEM_BUS_ADDRESS of the stack's bus)",
            networkmanager::CTRL_DIR,
            paths::STA_IFACE
        ),
    }
}

/// Stock wpa_supplicant with a debug log (`-dd -t`).
pub struct WpaSupplicant {
    daemon: Daemon,
    sup: SupplicantCtrl,
    log: PathBuf,
    config: PathBuf,
    /// The settings roam may change, as this daemon started with them.
    settings_at_start: SupplicantSettings,
}

const WPA_CTRL_DIR: &str = "/run/wpa_supplicant";

impl WpaSupplicant {
    pub fn start(known: Known, freqs_mhz: &[u32]) -> Result<Self> {
        Self::start_with(known, freqs_mhz, None)
    }

    /// The same, with the network's `bgscan` set.
    pub fn start_with(known: Known, freqs_mhz: &[u32], bgscan: Option<&str>) -> Result<Self> {
        let config = Path::new(paths::RUN_DIR).join("wpa_supplicant.conf");
        fs::create_dir_all(paths::RUN_DIR)?;
        fs::write(&config, wpa_supplicant_config(known, freqs_mhz, bgscan))?;
        let log = Path::new(paths::LOG_DIR).join("wpa_supplicant.log");
        let (daemon, ctrl, events) = Self::launch(&config, &log)?;
        let settings_at_start = read_settings(&ctrl)?;
        let sup = SupplicantCtrl { ctrl, events };
        Ok(WpaSupplicant { daemon, sup, log, config, settings_at_start })
    }

    /// Starts the daemon (its log appended to) and connects to it once its socket is bound.
    fn launch(config: &Path, log: &Path) -> Result<(Daemon, Ctrl, Events)> {
        let socket = Path::new(WPA_CTRL_DIR).join(paths::STA_IFACE);
        let _ = fs::remove_file(&socket);
        let mut cmd = process::in_station_netns(paths::WPA_SUPPLICANT);
        cmd.args(["-i", paths::STA_IFACE, "-D", "nl80211", "-dd", "-t", "-c"]).arg(config);
        let mut daemon = Daemon::spawn("wpa_supplicant", cmd, log)?;
        ctrl::wait_for_socket(&socket, START_TIMEOUT, || daemon.check_running())?;
        // The socket file can be there before it answers (seen when the daemon starts right
        // after its interface was created anew): "refused" means not yet.
        let deadline = std::time::Instant::now() + START_TIMEOUT;
        let ctrl = loop {
            match Ctrl::connect(&socket) {
                Ok(ctrl) => break ctrl,
                Err(err) if std::time::Instant::now() < deadline && is_refused(&err) => {
                    daemon.check_running()?;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => return Err(err),
            }
        };
        Ok((daemon, ctrl, Events::attach(&socket)?))
    }

    fn relaunch(&mut self) -> Result<()> {
        let (daemon, ctrl, events) = Self::launch(&self.config, &self.log)?;
        (self.daemon, self.sup) = (daemon, SupplicantCtrl { ctrl, events });
        self.settings_at_start = read_settings(&self.sup.ctrl)?;
        Ok(())
    }
}

impl Station for WpaSupplicant {
    fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        self.sup.wait_connected(timeout)
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

    /// `SELECT_NETWORK` of the network's block (0: the main one, 1: the other).
    fn select_network(&mut self, network: NetworkChoice) -> Result<()> {
        let id = match network {
            NetworkChoice::Main => 0,
            NetworkChoice::Other => 1,
        };
        self.sup.ctrl.command(&format!("SELECT_NETWORK {id}"))
    }

    fn forget_previous_runs(&mut self) -> Result<()> {
        self.sup.forget_previous_runs()
    }

    fn check_alive(&mut self) -> Result<()> {
        self.daemon.check_running()
    }

    fn restart_supplicant(&mut self) -> Result<()> {
        self.daemon.kill_abruptly();
        self.relaunch()
    }

    fn stop_supplicant(&mut self) -> Result<()> {
        self.daemon.kill();
        Ok(())
    }

    fn start_supplicant(&mut self) -> Result<()> {
        self.relaunch()
    }

    fn signal_supplicant(&mut self, signal: i32) -> Result<()> {
        self.daemon.signal(signal)
    }

    fn daemons(&self) -> Vec<(&'static str, u32)> {
        self.daemon.pid().map(|pid| ("wpa_supplicant", pid)).into_iter().collect()
    }

    fn supplicant_settings(&mut self) -> Result<SettingsSinceStart> {
        self.daemon.check_running()?;
        Ok(SettingsSinceStart {
            at_start: self.settings_at_start.clone(),
            now: read_settings(&self.sup.ctrl)?,
        })
    }

    fn logs(&self) -> Vec<LogSource> {
        vec![LogSource {
            file_name: "wpa_supplicant.log",
            path: self.log.clone(),
            source: "wpa_supplicant",
            parse: Some(|line| timeline::parse_wpa_supplicant_line(line, paths::STA_IFACE)),
        }]
    }
}

pub(super) fn read_settings(ctrl: &Ctrl) -> Result<SupplicantSettings> {
    Ok(SupplicantSettings {
        network_bssid: ctrl.request("GET_NETWORK 0 bssid")?.trim_end().to_owned(),
        results_valid_for_connect: ctrl
            .request("GET scan_res_valid_for_connect")?
            .trim_end()
            .to_owned(),
        manager_profile: None,
    })
}

fn is_refused(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    })
}

/// The background scanning NetworkManager writes into every Wi-Fi profile it hands to
/// wpa_supplicant (libnm-core's default for infrastructure mode).
const NETWORKMANAGER_BGSCAN: &str = "simple:30:-65:300";

fn wpa_supplicant_config(known: Known, freqs_mhz: &[u32], bgscan: Option<&str>) -> String {
    let key = roam_testbed::security::wpa_supplicant_lines(known.security).join("\n    ");
    let freqs: Vec<String> = freqs_mhz.iter().map(u32::to_string).collect();
    // initial_freq_list only shortens the very first scan (a full scan takes 6-10 s under TCG);
    // every scan after a connection loss is stock behaviour.
    let globals: String = roam_testbed::security::wpa_supplicant_globals(known.security)
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    let mut config = format!(
        "ctrl_interface={WPA_CTRL_DIR}\n\
         {globals}\
         initial_freq_list={}\n\
         network={{\n    ssid=\"{}\"\n    {key}\n    priority=2\n{}}}\n",
        freqs.join(" "),
        paths::SSID,
        bgscan.map(|b| format!("    bgscan=\"{b}\"\n")).unwrap_or_default()
    );
    if known.other_network {
        config.push_str(&format!(
            "network={{\n    ssid=\"{}\"\n    {key}\n    priority=1\n}}\n",
            paths::OTHER_SSID
        ));
    }
    config
}

/// wpa_supplicant plus the roam agent (`roam run --iface <sta iface>` in the station namespace),
/// and `roam events` recording the agent's events for the timeline.
pub struct RoamAgent {
    // Dropped in this order: the agent stops (and cleans up) while wpa_supplicant still runs.
    events: Daemon,
    agent: Daemon,
    /// The connection manager the agent runs beside (stock wpa_supplicant, NetworkManager).
    supplicant: Box<dyn Station>,
    log: PathBuf,
    events_log: PathBuf,
    /// Where this run's part of the event log starts (fault steps wait for events after it).
    events_mark: u64,
    /// The agent has not been through a run yet: nothing to forget, no restart needed.
    agent_fresh: bool,
    /// What `roam run` is given besides the interface.
    args: Vec<String>,
}

/// The agent's configuration in the roam-no-monitor stack.
const NO_MONITOR_CONFIG: &str = "/run/roam-testbed/roam-no-monitor.toml";

/// `--config` with a configuration that turns the monitor off, written for the purpose.
fn no_monitor_args() -> Result<Vec<String>> {
    fs::create_dir_all(Path::new(NO_MONITOR_CONFIG).parent().expect("an absolute path"))?;
    fs::write(NO_MONITOR_CONFIG, "[detect]\nmonitor = false\n")?;
    Ok(vec!["--config".into(), NO_MONITOR_CONFIG.into()])
}

/// The agent's capabilities, as setpriv's bounding set: those of its systemd unit. No
/// CAP_SYS_ADMIN: the hooks are raw tracepoints and fentry, which need no perf event, so the
/// guest's `kernel.perf_event_paranoid=3` (Debian's default, see `hooks`) does not matter.
pub const AGENT_CAPABILITIES: &str = "-all,+bpf,+perfmon,+net_admin,+net_raw";

/// `TimeoutStopSec` of roam@.service.
const AGENT_STOP_GRACE: Duration = Duration::from_secs(15);

/// The agent's control socket (its default for the station interface).
const ROAM_SOCKET: &str = "/run/roam/sta0.sock";
/// The agent's Prometheus endpoint (its default), inside the station namespace.
pub const ROAM_METRICS: &str = "127.0.0.1:10120";

impl RoamAgent {
    pub fn start(known: Known, freqs_mhz: &[u32], args: &[String]) -> Result<Self> {
        require_agent()?;
        Self::beside(Box::new(WpaSupplicant::start(known, freqs_mhz)?), args)
    }

    /// The agent beside `supplicant`'s connection manager, through its control socket in
    /// /run/wpa_supplicant (the agent's default).
    pub fn beside(supplicant: Box<dyn Station>, args: &[String]) -> Result<Self> {
        require_agent()?;
        let log = Path::new(paths::LOG_DIR).join("roam.log");
        let events_log = Path::new(paths::LOG_DIR).join("roam-events.jsonl");
        let (agent, events) = spawn_agent(&log, &events_log, &as_strs(args))?;
        let events_mark = fs::metadata(&events_log).map_or(0, |m| m.len());
        Ok(RoamAgent {
            events,
            agent,
            supplicant,
            log,
            events_log,
            events_mark,
            agent_fresh: true,
            args: args.to_vec(),
        })
    }
}

/// The agent binary must be in the image for the roam stacks.
fn require_agent() -> Result<()> {
    if !Path::new(paths::ROAM).exists() {
        bail!(
            "the roam stacks need the agent at {} in the image; build it (`cargo xtask build`) and rerun",
            paths::ROAM
        );
    }
    Ok(())
}

/// Starts `roam run ARGS` and, once it is attached, `roam events` recording what it reports.
/// Both logs are appended to, so a restarted agent continues them.
fn spawn_agent(log: &Path, events_log: &Path, args: &[&str]) -> Result<(Daemon, Daemon)> {
    let _ = fs::remove_file(ROAM_SOCKET);
    let mut cmd = process::in_station_netns(paths::TESTBED);
    // The kernel file systems are mounted with full privileges; the agent then runs with
    // exactly the capabilities its systemd unit grants (roam-user/packaging/roam@.service):
    // as root, a capability left out of the bounding set is gone after the exec.
    cmd.args(["with-kernel-fs", paths::SETPRIV, "--no-new-privs", "--bounding-set"]);
    cmd.args([AGENT_CAPABILITIES, "--", paths::ROAM, "run", "--iface", paths::STA_IFACE]);
    cmd.args(args);
    // As long as systemd waits for it (roam@.service, TimeoutStopSec): a stop that takes longer
    // ends in SIGKILL, and the leftovers check after the test shows what that left.
    let mut agent = Daemon::spawn("roam", cmd, log)?.with_stop_grace(AGENT_STOP_GRACE);
    // The socket is bound last in the agent's setup: once it exists, roam is attached.
    ctrl::wait_for_socket(Path::new(ROAM_SOCKET), AGENT_START_TIMEOUT, || agent.check_running())?;
    let already = fs::metadata(events_log).map_or(0, |m| m.len());
    let mut cmd = process::in_station_netns(paths::ROAM);
    cmd.args(["events", "--iface", paths::STA_IFACE]);
    let mut events = Daemon::spawn("roam events", cmd, events_log)?;
    // The run's timeline starts at the trigger: the recorder must be listening by then.
    wait_for_line(events_log, already, "\"subscribed\"", AGENT_START_TIMEOUT, || {
        events.check_running()
    })?;
    Ok((agent, events))
}

/// Waits until `path` has a line containing `needle` after byte `from`. The recorder announces
/// itself only in its log, so the log is what is watched (a few ms apart).
pub fn wait_for_line(
    path: &Path,
    from: u64,
    needle: &str,
    timeout: Duration,
    mut alive: impl FnMut() -> Result<()>,
) -> Result<()> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let text = fs::read(path).unwrap_or_default();
        let new = text.get(from as usize..).unwrap_or_default();
        if String::from_utf8_lossy(new).contains(needle) {
            return Ok(());
        }
        alive()?;
        if std::time::Instant::now() >= deadline {
            bail!("{} did not show {needle} within {timeout:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Station for RoamAgent {
    fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        self.supplicant.wait_connected(timeout)
    }

    fn connected_bssid(&mut self) -> Result<Option<String>> {
        self.supplicant.connected_bssid()
    }

    fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()> {
        self.supplicant.scan(freqs_mhz, timeout)
    }

    fn select_network(&mut self, network: NetworkChoice) -> Result<()> {
        self.supplicant.select_network(network)
    }

    fn roam(&mut self, bssid: &str) -> Result<()> {
        self.supplicant.roam(bssid)
    }

    /// The supplicant forgets, and an agent that has been through a run starts afresh: runs
    /// are independent trials, and a long-lived agent would count ten back-to-back runs against
    /// its per-minute roam cap (6 by default) and hold the seventh. Restarting also exercises a
    /// clean detach and re-attach. An agent started for this run (the benchmark switches
    /// stacks every run) has nothing to forget, and its start under TCG takes seconds.
    fn forget_previous_runs(&mut self) -> Result<()> {
        self.supplicant.forget_previous_runs()?;
        if !std::mem::replace(&mut self.agent_fresh, false) {
            self.events.kill();
            self.agent.kill();
            (self.agent, self.events) =
                spawn_agent(&self.log, &self.events_log, &as_strs(&self.args))?;
        }
        self.events_mark = fs::metadata(&self.events_log).map_or(0, |m| m.len());
        Ok(())
    }

    fn check_alive(&mut self) -> Result<()> {
        self.supplicant.check_alive()?;
        self.agent.check_running()?;
        self.events.check_running()
    }

    fn restart_supplicant(&mut self) -> Result<()> {
        self.supplicant.restart_supplicant()
    }

    fn stop_supplicant(&mut self) -> Result<()> {
        self.supplicant.stop_supplicant()
    }

    fn start_supplicant(&mut self) -> Result<()> {
        self.supplicant.start_supplicant()
    }

    fn signal_supplicant(&mut self, signal: i32) -> Result<()> {
        self.supplicant.signal_supplicant(signal)
    }

    fn kill_agent(&mut self) -> Result<()> {
        self.agent.kill_abruptly();
        Ok(())
    }

    fn stop_agent(&mut self) -> Result<Option<Duration>> {
        self.events.kill();
        Ok(self.agent.stop_timed())
    }

    fn agent_status(&mut self, limit: Duration) -> Result<Duration> {
        let started = std::time::Instant::now();
        let mut cmd = process::in_station_netns(paths::ROAM);
        cmd.args(["status", "--iface", paths::STA_IFACE]);
        let out = process::output_timeout(cmd, limit)
            .with_context(|| format!("roam status did not answer within {limit:?}"))?;
        if !out.status.success() {
            bail!("roam status failed: {}", String::from_utf8_lossy(&out.stderr).trim_end());
        }
        Ok(started.elapsed())
    }

    fn start_agent(&mut self) -> Result<()> {
        self.events.kill();
        (self.agent, self.events) = spawn_agent(&self.log, &self.events_log, &as_strs(&self.args))?;
        Ok(())
    }

    fn signal_agent(&mut self, signal: i32) -> Result<()> {
        self.agent.signal(signal)
    }

    fn wait_agent_event(&mut self, event: &str, timeout: Duration) -> Result<()> {
        let needle = format!("\"event\":\"{event}\"");
        let agent = &mut self.agent;
        wait_for_line(&self.events_log, self.events_mark, &needle, timeout, || {
            agent.check_running()
        })
    }

    fn logs(&self) -> Vec<LogSource> {
        let mut logs = self.supplicant.logs();
        logs.extend(agent_logs(&self.log, &self.events_log));
        logs
    }

    fn metrics(&mut self) -> Option<Result<String>> {
        Some(scrape_agent())
    }

    fn supplicant_settings(&mut self) -> Result<SettingsSinceStart> {
        self.supplicant.supplicant_settings()
    }

    fn daemons(&self) -> Vec<(&'static str, u32)> {
        let mut daemons = self.supplicant.daemons();
        daemons.extend(self.agent.pid().map(|pid| ("roam", pid)));
        daemons
    }
}

/// The agent stops first, as on a host (it puts back what it changed in wpa_supplicant), and
/// the supplicant's settings are read while it still runs: anything of roam's left there is
/// a leftover like a program or an interface.
impl Drop for RoamAgent {
    fn drop(&mut self) {
        self.events.kill();
        self.agent.kill();
        // A supplicant stopped by the test (its interface removed) took its settings with it.
        if self.supplicant.check_alive().is_err() {
            return;
        }
        match self.supplicant.supplicant_settings() {
            Ok(settings) => leftovers::note("the roam agent stopped", settings.changes()),
            Err(err) => leftovers::note(
                "the roam agent stopped",
                vec![format!("wpa_supplicant's settings could not be read: {err:#}")],
            ),
        }
    }
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn agent_logs(log: &Path, events_log: &Path) -> [LogSource; 2] {
    [
        LogSource { file_name: "roam.log", path: log.to_owned(), source: "roam", parse: None },
        LogSource {
            file_name: "roam-events.jsonl",
            path: events_log.to_owned(),
            source: "roam",
            parse: Some(timeline::parse_roam_event_line),
        },
    ]
}

fn scrape_agent() -> Result<String> {
    let out = process::in_station_netns(paths::TESTBED)
        .args(["http-get", ROAM_METRICS, "/metrics"])
        .output()
        .context("scraping the agent's metrics")?;
    if !out.status.success() {
        bail!("scrape failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The roam agent alone, on an open network: no supplicant runs, the first connection is
/// cfg80211's own (`iw connect`), and every reconnection after it is roam's, through nl80211.
pub struct RoamOnNl80211 {
    events: Daemon,
    agent: Daemon,
    log: PathBuf,
    events_log: PathBuf,
    /// As for [`RoamAgent`]: no restart before the agent's first run.
    agent_fresh: bool,
}

/// How often the connection is looked at while waiting for it (iw has no "wait connected").
const LINK_POLL: Duration = Duration::from_millis(20);
const NL80211_ARGS: &[&str] = &["--backend", "nl80211"];

impl RoamOnNl80211 {
    pub fn start(known: Known, freqs_mhz: &[u32]) -> Result<Self> {
        if known.security != Security::Open {
            bail!("the roam-nl80211 stack has no supplicant, so it joins open networks only: use a scenario with security = \"open\"");
        }
        require_agent()?;
        process::ip(&["-n", paths::STA_NETNS, "link", "set", paths::STA_IFACE, "up"])?;
        let mut station = {
            let log = Path::new(paths::LOG_DIR).join("roam.log");
            let events_log = Path::new(paths::LOG_DIR).join("roam-events.jsonl");
            let (agent, events) = spawn_agent(&log, &events_log, NL80211_ARGS)?;
            RoamOnNl80211 { events, agent, log, events_log, agent_fresh: true }
        };
        station.scan(freqs_mhz, START_TIMEOUT)?;
        iw(&["dev", paths::STA_IFACE, "connect", paths::SSID], IW_TIMEOUT)?;
        Ok(station)
    }
}

/// `iw ARGS` in the station namespace, given at most `timeout`.
fn iw(args: &[&str], timeout: Duration) -> Result<String> {
    let mut full = vec!["netns", "exec", paths::STA_NETNS, paths::IW];
    full.extend_from_slice(args);
    process::run_timeout(paths::IP, &full, timeout)
}

/// Commands that answer at once (link, connect).
const IW_TIMEOUT: Duration = Duration::from_secs(10);
/// One `iw scan`, given this long before it is tried again.
const IW_SCAN_ATTEMPT: Duration = Duration::from_secs(5);

/// The BSSID in `iw dev IF link` output ("Connected to 02:00:00:00:01:00 (on sta0)").
fn linked_bssid(link: &str) -> Option<String> {
    let rest = link.lines().next()?.strip_prefix("Connected to ")?;
    Some(rest.split_whitespace().next()?.to_owned())
}

impl Station for RoamOnNl80211 {
    fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(bssid) = self.connected_bssid()? {
                return Ok(bssid);
            }
            if std::time::Instant::now() >= deadline {
                bail!("the station did not connect within {timeout:?} (roam reconnects it here: see roam.log)");
            }
            std::thread::sleep(LINK_POLL);
        }
    }

    fn connected_bssid(&mut self) -> Result<Option<String>> {
        Ok(linked_bssid(&iw(&["dev", paths::STA_IFACE, "link"], IW_TIMEOUT)?))
    }

    fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()> {
        let mut args = vec!["dev", paths::STA_IFACE, "scan", "freq"];
        let freqs: Vec<String> = freqs_mhz.iter().map(u32::to_string).collect();
        args.extend(freqs.iter().map(String::as_str));
        // `iw scan` waits for the results; a busy radio (another scan) answers EBUSY. A scan of
        // these channels takes under a second here, but iw sometimes waits for its end forever
        // (seen in the VM: three 30 s waits in a row, while the agent was only listening), so
        // an attempt is given a few seconds and then tried again.
        let deadline = std::time::Instant::now() + timeout;
        let mut last = None;
        while std::time::Instant::now() < deadline {
            match iw(&args, IW_SCAN_ATTEMPT) {
                Ok(_) => return Ok(()),
                Err(err) => last = Some(err),
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let last = last.unwrap_or_else(|| anyhow::anyhow!("no time to try"));
        Err(last).with_context(|| format!("scanning with iw for {timeout:?}"))
    }

    fn roam(&mut self, _bssid: &str) -> Result<()> {
        bail!("a deliberate roam needs a connection manager; the roam-nl80211 stack has none (roam only recovers from losses)")
    }

    /// The agent starts afresh after a run, as for the roam stack (its per-minute cap, a clean
    /// re-attach).
    fn forget_previous_runs(&mut self) -> Result<()> {
        if !std::mem::replace(&mut self.agent_fresh, false) {
            self.events.kill();
            self.agent.kill();
            (self.agent, self.events) = spawn_agent(&self.log, &self.events_log, NL80211_ARGS)?;
        }
        Ok(())
    }

    fn check_alive(&mut self) -> Result<()> {
        self.agent.check_running()?;
        self.events.check_running()
    }

    fn logs(&self) -> Vec<LogSource> {
        agent_logs(&self.log, &self.events_log).into()
    }

    fn metrics(&mut self) -> Option<Result<String>> {
        Some(scrape_agent())
    }

    fn daemons(&self) -> Vec<(&'static str, u32)> {
        self.agent.pid().map(|pid| ("roam", pid)).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::{SettingsSinceStart, SupplicantSettings, AGENT_CAPABILITIES};

    /// The testbed runs the agent with the capabilities of its systemd unit, and those are the
    /// four roam needs: no CAP_SYS_ADMIN.
    #[test]
    fn the_agent_runs_with_its_units_capabilities() {
        let unit = include_str!("../../../../roam-user/packaging/roam@.service");
        for key in ["CapabilityBoundingSet=", "AmbientCapabilities="] {
            let line = unit.lines().find_map(|l| l.strip_prefix(key)).expect(key);
            let mut from_unit: Vec<String> = line
                .split_whitespace()
                .map(|cap| format!("+{}", cap.trim_start_matches("CAP_").to_lowercase()))
                .collect();
            let mut testbed: Vec<String> =
                AGENT_CAPABILITIES.split(',').skip(1).map(str::to_owned).collect();
            from_unit.sort();
            testbed.sort();
            assert_eq!(from_unit, testbed, "{key}");
            assert_eq!(from_unit, ["+bpf", "+net_admin", "+net_raw", "+perfmon"], "{key}");
        }
    }

    #[test]
    fn every_setting_that_differs_from_the_start_is_named() {
        let start = SupplicantSettings {
            network_bssid: "FAIL".into(),
            results_valid_for_connect: "5".into(),
            manager_profile: Some(vec!["802-11-wireless.bssid:".into()]),
        };
        let mut settings = SettingsSinceStart { at_start: start.clone(), now: start };
        assert!(settings.changes().is_empty());
        settings.now.network_bssid = "02:00:00:00:01:00".into();
        settings.now.results_valid_for_connect = "3600".into();
        settings.now.manager_profile = Some(vec!["802-11-wireless.bssid:02:00:00:00:01:00".into()]);
        assert_eq!(
            settings.changes(),
            [
                "wpa_supplicant network 0 bssid: FAIL -> 02:00:00:00:01:00",
                "wpa_supplicant scan_res_valid_for_connect: 5 -> 3600",
                "NetworkManager profile: -802-11-wireless.bssid:, \
                 +802-11-wireless.bssid:02:00:00:00:01:00"
            ]
        );
    }
}
