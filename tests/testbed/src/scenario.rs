//! The scenario format: one TOML file per scenario (see tests/scenarios/README.md).
//!
//! A scenario names what happens to the access points (the *trigger* steps, run at t = 0) and how
//! to make the topology whole again afterwards (the *restore* steps). Everything else, the
//! topology, the station, the traffic probe and the measurement, is the runner's job, so a new
//! scenario is a file, not code.

use std::{fmt, str::FromStr};

use anyhow::{bail, ensure, Context as _, Result};
use serde::{Deserialize, Serialize};

/// Highest number of access points a topology supports (one hwsim radio each, plus the station's).
pub const MAX_APS: usize = 3;

/// A parsed and validated scenario file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Unique name, `[a-z0-9-]+`; results and log directories carry it.
    pub name: String,
    /// One or two sentences: what the scenario models.
    #[serde(default)]
    pub description: String,
    /// Number of access points sharing the SSID (2 or 3).
    #[serde(default = "default_aps")]
    pub aps: usize,
    /// Security of the shared SSID.
    #[serde(default)]
    pub security: Security,
    /// The last AP serves another network: SSID `roam-testbed-b` (same security and
    /// passphrase) on a LAN of its own, whose gateway has the first one's address and another
    /// MAC (an office's and a guest network, a home's and a phone's hotspot). The station knows
    /// both networks and prefers the first.
    #[serde(default)]
    pub other_network: bool,
    /// Beacon interval of every AP, in TU (1.024 ms). Shorter than the usual 100 compresses
    /// time: more beacons, and more chances of a false alarm, per second of VM time.
    #[serde(default = "default_beacon_interval_tu")]
    pub beacon_interval_tu: u16,
    /// The band the APs' channel layouts are in.
    #[serde(default)]
    pub band: Band,
    /// Channel layouts run when the command line chooses none.
    #[serde(default = "default_channel_plans")]
    pub channels: Vec<ChannelPlan>,
    /// How many times the trigger steps run back to back (flapping).
    #[serde(default = "default_cycles")]
    pub cycles: u32,
    /// Keep measuring at least this long after the last trigger step, so a disruption that starts
    /// late (a roam the station performs after the command returns) is inside the window.
    #[serde(default = "default_min_observe_ms")]
    pub min_observe_ms: u64,
    /// Give up on recovery this long after the last trigger step.
    #[serde(default = "default_recovery_timeout_ms")]
    pub recovery_timeout_ms: u64,
    /// What happens at t = 0.
    pub trigger: Vec<Step>,
    /// How the topology is made whole after the measurement (the runner then checks every AP).
    #[serde(default)]
    pub restore: Vec<Step>,
}

fn default_aps() -> usize {
    2
}
fn default_beacon_interval_tu() -> u16 {
    100
}
/// hostapd's accepted range for `beacon_int`.
pub const BEACON_INTERVAL_TU: std::ops::RangeInclusive<u16> = 15..=65535;
fn default_channel_plans() -> Vec<ChannelPlan> {
    vec![ChannelPlan::Same, ChannelPlan::Different]
}
fn default_cycles() -> u32 {
    1
}
fn default_min_observe_ms() -> u64 {
    2_000
}
fn default_recovery_timeout_ms() -> u64 {
    20_000
}

/// Security of the SSID all access points share.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Security {
    /// WPA2-Personal with CCMP: every (re)connection pays the 4-way handshake.
    #[default]
    Wpa2Psk,
    /// WPA2-Personal with management frame protection required (802.11w): deauthentication
    /// and disassociation frames are protected, so unprotected (spoofed) ones are ignored.
    Wpa2PskPmf,
    /// No security: association completes the connection.
    Open,
    /// WPA3-Personal: SAE (hash-to-element), PMF required.
    Wpa3Sae,
    /// WPA2/WPA3 transition: PSK and SAE offered, PMF optional.
    Wpa2Wpa3,
    /// 802.11r over the air with PSK (and PSK for stations without FT).
    FtPsk,
    /// 802.11r with SAE, PMF required.
    FtSae,
    /// WPA2-Enterprise: EAP-PWD against hostapd's own EAP server, PMKSA caching and OKC.
    Wpa2Eap,
    /// 802.11r with EAP: the EAP exchange at the first connection only.
    FtEap,
}

impl Security {
    /// As scenario files and `--security` spell it.
    pub fn name(self) -> &'static str {
        crate::security::name(self)
    }
}

impl std::str::FromStr for Security {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::security::ALL.into_iter().find(|m| m.name() == s).ok_or_else(|| {
            let names: Vec<&str> = crate::security::ALL.iter().map(|m| m.name()).collect();
            format!("unknown security `{s}` (known: {})", names.join(", "))
        })
    }
}

/// One action of a scenario. Targets are resolved when the trigger starts: `serving` is the AP the
/// station is associated with at t = 0, for every step of the scenario including the restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Step {
    /// Isolate the AP's radio (hwsim debugfs `group` = 0): nobody hears it and it does not know.
    Silence {
        #[serde(default)]
        target: Target,
    },
    /// Undo `silence` (`group` = 1).
    Unsilence {
        #[serde(default)]
        target: Target,
    },
    /// The AP deauthenticates the station with this reason code (hostapd `DEAUTHENTICATE`).
    Deauth {
        #[serde(default)]
        target: Target,
        reason: u16,
    },
    /// The AP disassociates the station with this reason code (hostapd `DISASSOCIATE`).
    Disassoc {
        #[serde(default)]
        target: Target,
        reason: u16,
    },
    /// hostapd `DISABLE`: the AP stops beaconing and drops its stations.
    Disable {
        #[serde(default)]
        target: Target,
    },
    /// hostapd `ENABLE`.
    Enable {
        #[serde(default)]
        target: Target,
    },
    /// SIGKILL to the AP's hostapd.
    Kill {
        #[serde(default)]
        target: Target,
    },
    /// Start the AP's hostapd again (after `kill`) and wait until it beacons.
    Start {
        #[serde(default)]
        target: Target,
    },
    /// `ip link set <ap iface> down`.
    LinkDown {
        #[serde(default)]
        target: Target,
    },
    /// `ip link set <ap iface> up`.
    LinkUp {
        #[serde(default)]
        target: Target,
    },
    /// The station roams to the target on purpose (`wpa_cli roam <bssid>`).
    Roam {
        #[serde(default = "Target::other")]
        target: Target,
    },
    /// The station's manager is told to join `network` (wpa_supplicant's `SELECT_NETWORK`,
    /// iwd's `Network.Connect`): a move between networks, as a user picking one does.
    SelectNetwork { network: NetworkChoice },
    /// Fails unless the station's neighbour entry for the gateway's address holds `network`'s
    /// gateway's MAC (or is being resolved): nothing stale of the other network's.
    ExpectGateway { network: NetworkChoice },
    /// A deliberate pause between steps (part of the scenario, not a synchronisation).
    Wait { ms: u64 },

    // The air, shaped per link by the testbed's own medium (see `medium`): a scenario with one
    // of these runs with it.
    /// For `ms`, the target AP's beacons do not reach the station; every other frame still does
    /// and is acknowledged. The AP is alive: what a driver that filters its AP's beacons, or a
    /// monitor that hears nothing, looks like.
    DropBeacons {
        #[serde(default)]
        target: Target,
        ms: u64,
    },
    /// For `ms`, every try of every frame between the station and the target AP, either way,
    /// is lost with this probability (retries and acknowledgements as on real air).
    LinkLoss {
        #[serde(default)]
        target: Target,
        percent: u8,
        ms: u64,
    },
    /// The signal between the station and the target AP (both ways) goes to `to_dbm`, at once
    /// or linearly over `over_ms`, from where it is; with `jitter_db`, it then fluctuates up
    /// to that many dB either way, a new value every `jitter_every_ms`. Below -75 dBm frames
    /// are lost, all of them at -92 dBm (`roam_testbed::medium::signal`).
    Signal {
        #[serde(default)]
        target: Target,
        to_dbm: i32,
        #[serde(default)]
        over_ms: u64,
        #[serde(default)]
        jitter_db: u8,
        #[serde(default = "default_jitter_every_ms")]
        jitter_every_ms: u64,
    },
    /// The station's probe traffic stops: an idle station (what roam costs with nothing to
    /// carry its evidence).
    PauseTraffic,
    /// The probe traffic starts again.
    ResumeTraffic,

    // Faults of the station side (tests/faults): what roam must survive.
    /// SIGKILL to the station's wpa_supplicant, then start it again, as a service manager
    /// restarts a crashed daemon.
    RestartSupplicant,
    /// The station interface is deleted, as when its adapter is unplugged; its wpa_supplicant
    /// stops with it (as `wpa_supplicant@.service`, bound to the device, does).
    RemoveStation,
    /// The station interface is created again (same name and address) and its wpa_supplicant
    /// started on it.
    AddStation,
    /// SIGSTOP to the station's wpa_supplicant: it hangs, its socket still there, answering
    /// nobody.
    PauseSupplicant,
    /// SIGCONT to the station's wpa_supplicant.
    ResumeSupplicant,
    /// roam's monitor interface (`roammon<N>`) is deleted under the agent, as a driver reset
    /// or an administrator would.
    RemoveMonitor,
    /// SIGKILL to the roam agent: no chance to clean up.
    KillAgent,
    /// SIGTERM to the roam agent; fails unless it has exited within `within_ms` (it is then
    /// killed).
    StopAgent { within_ms: u64 },
    /// `roam status` must answer within `within_ms`.
    ExpectStatus { within_ms: u64 },
    /// Start the roam agent again, and wait until it is attached.
    StartAgent,
    /// SIGSTOP to the roam agent: its kernel programs go on, nobody drains their events.
    PauseAgent,
    /// SIGCONT to the roam agent.
    ResumeAgent,
    /// Wait until the station is connected.
    WaitConnected,
    /// Wait until the roam agent reports this event (`roam events`), e.g. `roam_started`.
    WaitAgentEvent { event: String },
    /// Wait until the station's wpa_supplicant network is pinned to a BSSID it did not start
    /// with (roam's pin for a reconnection); fails if it is not within the fault timeout.
    ExpectPinned,
    /// wpa_supplicant still runs, and the settings roam changes for a reconnection (the
    /// network's `bssid`, `scan_res_valid_for_connect`) read as it started with them.
    ExpectSettingsRestored,
    /// A radio of nobody's (a third party in range), tuned to the target AP's channel, sends
    /// `count` unprotected deauthentication frames to the station in the target AP's name,
    /// one every `interval_ms` (0: as fast as it can). With `every_ap`, in the name of each AP
    /// in turn instead: the station is kicked wherever it goes.
    SpoofDeauth {
        #[serde(default)]
        target: Target,
        count: u32,
        #[serde(default)]
        interval_ms: u64,
        #[serde(default = "spoofed_reason")]
        reason: u16,
        #[serde(default)]
        every_ap: bool,
    },
    /// The third radio sends `per_second` beacons for `ms` on the target AP's channel, in the
    /// target AP's name (or, with `bssid`, of a BSS nobody serves), claiming this interval,
    /// SSID and security (by default the network's own).
    ForgeBeacon {
        #[serde(default)]
        target: Target,
        #[serde(default)]
        bssid: Option<String>,
        #[serde(default)]
        ssid: Option<String>,
        #[serde(default = "default_interval_tu")]
        interval_tu: u16,
        #[serde(default)]
        security: Option<Security>,
        per_second: u32,
        ms: u64,
        /// Forge while the next steps run (joined before the next run starts).
        #[serde(default)]
        background: bool,
    },
    /// The third radio sends beacons of `per_second` BSSIDs never heard before, each second for
    /// `ms`, on the target AP's channel, all of the network's SSID and security (or `ssid`).
    BeaconFlood {
        #[serde(default)]
        target: Target,
        #[serde(default)]
        ssid: Option<String>,
        per_second: u32,
        ms: u64,
    },
}

/// One of the networks of a topology with `other_network`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NetworkChoice {
    /// The SSID every AP but the last serves, the station's first choice.
    Main,
    /// The last AP's SSID.
    Other,
}

/// A beacon interval that is nobody's in particular (TU).
fn default_interval_tu() -> u16 {
    100
}

/// Reason 7 (class 3 frame from a nonassociated station): what deauthentication attack tools
/// send.
/// A fluctuating signal takes a new value this often unless told.
fn default_jitter_every_ms() -> u64 {
    300
}

fn spoofed_reason() -> u16 {
    7
}

impl Step {
    /// The AP the step acts on, if it acts on one.
    pub fn target(&self) -> Option<Target> {
        match self {
            Step::Silence { target }
            | Step::Unsilence { target }
            | Step::Deauth { target, .. }
            | Step::Disassoc { target, .. }
            | Step::Disable { target }
            | Step::Enable { target }
            | Step::Kill { target }
            | Step::Start { target }
            | Step::LinkDown { target }
            | Step::LinkUp { target }
            | Step::Roam { target }
            | Step::DropBeacons { target, .. }
            | Step::LinkLoss { target, .. }
            | Step::Signal { target, .. }
            | Step::SpoofDeauth { target, .. }
            | Step::ForgeBeacon { target, .. }
            | Step::BeaconFlood { target, .. } => Some(*target),
            Step::Wait { .. }
            | Step::SelectNetwork { .. }
            | Step::ExpectGateway { .. }
            | Step::PauseTraffic
            | Step::ResumeTraffic
            | Step::RestartSupplicant
            | Step::RemoveStation
            | Step::AddStation
            | Step::PauseSupplicant
            | Step::ResumeSupplicant
            | Step::RemoveMonitor
            | Step::KillAgent
            | Step::StopAgent { .. }
            | Step::ExpectStatus { .. }
            | Step::StartAgent
            | Step::PauseAgent
            | Step::ResumeAgent
            | Step::WaitConnected
            | Step::WaitAgentEvent { .. }
            | Step::ExpectPinned
            | Step::ExpectSettingsRestored => None,
        }
    }

    /// Whether the step needs a third radio (the topology then has one).
    pub fn needs_third_radio(&self) -> bool {
        matches!(
            self,
            Step::SpoofDeauth { .. } | Step::ForgeBeacon { .. } | Step::BeaconFlood { .. }
        )
    }

    /// Whether the step shapes the air (the testbed's medium carries the frames then).
    pub fn needs_medium(&self) -> bool {
        matches!(self, Step::DropBeacons { .. } | Step::LinkLoss { .. } | Step::Signal { .. })
    }

    /// Whether the step needs the roam agent on the station.
    pub fn needs_agent(&self) -> bool {
        matches!(
            self,
            Step::KillAgent
                | Step::RemoveMonitor
                | Step::StopAgent { .. }
                | Step::ExpectStatus { .. }
                | Step::StartAgent
                | Step::PauseAgent
                | Step::ResumeAgent
                | Step::WaitAgentEvent { .. }
                | Step::ExpectPinned
        )
    }
}

/// Which access point a step acts on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    /// The AP serving the station when the trigger starts.
    #[default]
    Serving,
    /// The first AP that is not the serving one.
    Other,
    /// The AP the station is associated with when the step runs: after a fault that made the
    /// station reconnect, it may not be the one that served it at the trigger.
    Current,
    /// An AP by index: `ap0`, `ap1`, ...
    Ap(usize),
}

impl Target {
    fn other() -> Target {
        Target::Other
    }

    /// The AP index this target names, given the serving AP.
    pub fn resolve(self, serving: usize, aps: usize) -> usize {
        match self {
            Target::Serving => serving,
            Target::Other => (0..aps).find(|&i| i != serving).unwrap_or(serving),
            // Known only when the step runs (the runner asks the station); serving until then.
            Target::Current => serving,
            Target::Ap(index) => index,
        }
    }
}

impl TryFrom<String> for Target {
    type Error = String;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        match s.as_str() {
            "serving" => Ok(Target::Serving),
            "other" => Ok(Target::Other),
            "current" => Ok(Target::Current),
            _ => {
                s.strip_prefix("ap").and_then(|n| n.parse().ok()).map(Target::Ap).ok_or_else(|| {
                    format!("unknown target `{s}` (serving, other, current, ap0, ap1, ...)")
                })
            }
        }
    }
}

impl From<Target> for String {
    fn from(target: Target) -> String {
        match target {
            Target::Serving => "serving".into(),
            Target::Other => "other".into(),
            Target::Current => "current".into(),
            Target::Ap(index) => format!("ap{index}"),
        }
    }
}

/// The band `same` and `different` mean.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Band {
    /// 2.4 GHz: channel 1, or 1, 6 and 11.
    #[default]
    #[serde(rename = "2.4")]
    TwoPointFour,
    /// 5 GHz (UNII-1, no radar detection): channel 36, or 36, 40 and 44.
    #[serde(rename = "5")]
    Five,
    /// The first AP on 2.4 GHz, the others on 5 GHz, as band steering has it (`same` and
    /// `different` then say whether the 5 GHz ones share a channel).
    #[serde(rename = "mixed")]
    Mixed,
}

impl Band {
    pub fn name(self) -> &'static str {
        match self {
            Band::TwoPointFour => "2.4",
            Band::Five => "5",
            Band::Mixed => "mixed",
        }
    }
}

impl FromStr for Band {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Band::TwoPointFour, Band::Five, Band::Mixed]
            .into_iter()
            .find(|band| band.name() == s)
            .ok_or_else(|| format!("unknown band `{s}` (2.4, 5, mixed)"))
    }
}

/// The 5 GHz channels the testbed uses: UNII-1, which needs no radar detection.
pub const FIVE_GHZ_CHANNELS: std::ops::RangeInclusive<u8> = 36..=48;

/// The centre frequency of a 2.4 or 5 GHz channel, MHz.
pub fn channel_freq_mhz(channel: u8) -> u32 {
    match channel {
        14 => 2484,
        1..=13 => 2407 + 5 * u32::from(channel),
        _ => 5000 + 5 * u32::from(channel),
    }
}

/// Where the access points sit: all on one channel, on different channels, or an explicit list
/// (one channel per AP, 2.4 GHz 1-13 or 5 GHz 36-48).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ChannelPlanRepr", into = "ChannelPlanRepr")]
pub enum ChannelPlan {
    /// Every AP on channel 1: the station hears the others while connected.
    Same,
    /// Channels 1, 6, 11: finding another AP needs a scan off the current channel.
    Different,
    /// One channel per AP.
    List(Vec<u8>),
}

/// How a channel plan is written: `"same"`, `"different"` or `[1, 6]`.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum ChannelPlanRepr {
    Name(String),
    List(Vec<u8>),
}

impl TryFrom<ChannelPlanRepr> for ChannelPlan {
    type Error = String;

    fn try_from(repr: ChannelPlanRepr) -> Result<Self, Self::Error> {
        match repr {
            ChannelPlanRepr::Name(name) => name.parse(),
            ChannelPlanRepr::List(list) => Ok(ChannelPlan::List(list)),
        }
    }
}

impl From<ChannelPlan> for ChannelPlanRepr {
    fn from(plan: ChannelPlan) -> Self {
        match plan {
            ChannelPlan::Same => ChannelPlanRepr::Name("same".into()),
            ChannelPlan::Different => ChannelPlanRepr::Name("different".into()),
            ChannelPlan::List(list) => ChannelPlanRepr::List(list),
        }
    }
}

const DIFFERENT_CHANNELS: [u8; MAX_APS] = [1, 6, 11];

const DIFFERENT_5GHZ_CHANNELS: [u8; MAX_APS] = [36, 40, 44];

impl ChannelPlan {
    /// The channel of each AP on 2.4 GHz.
    pub fn resolve(&self, aps: usize) -> Result<Vec<u8>> {
        self.resolve_in(aps, Band::TwoPointFour)
    }

    /// The channel of each AP in `band` (an explicit list is taken as it is).
    pub fn resolve_in(&self, aps: usize, band: Band) -> Result<Vec<u8>> {
        ensure!((2..=MAX_APS).contains(&aps), "a topology has 2 to {MAX_APS} APs, not {aps}");
        let named = |same: bool| -> Vec<u8> {
            let (same_channel, different) = match band {
                Band::TwoPointFour => (1, &DIFFERENT_CHANNELS),
                Band::Five | Band::Mixed => (36, &DIFFERENT_5GHZ_CHANNELS),
            };
            let mut channels =
                if same { vec![same_channel; aps] } else { different[..aps].to_vec() };
            if band == Band::Mixed {
                channels[0] = 1;
            }
            channels
        };
        let channels = match self {
            ChannelPlan::Same => named(true),
            ChannelPlan::Different => named(false),
            ChannelPlan::List(list) => {
                ensure!(
                    list.len() == aps,
                    "channel list {list:?} names {} channels for {aps} APs",
                    list.len()
                );
                list.clone()
            }
        };
        if let Some(bad) =
            channels.iter().find(|c| !(1..=13).contains(*c) && !FIVE_GHZ_CHANNELS.contains(*c))
        {
            bail!("channel {bad} is not one the testbed uses (2.4 GHz 1-13, 5 GHz 36-48)");
        }
        Ok(channels)
    }
}

impl FromStr for ChannelPlan {
    type Err = String;

    /// `same`, `different` or a comma-separated list such as `1,6`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "same" => Ok(ChannelPlan::Same),
            "different" => Ok(ChannelPlan::Different),
            _ => s
                .split(',')
                .map(|c| c.trim().parse::<u8>())
                .collect::<Result<Vec<u8>, _>>()
                .map(ChannelPlan::List)
                .map_err(|_| {
                    format!("channels `{s}`: expected same, different or a list like 1,6")
                }),
        }
    }
}

impl fmt::Display for ChannelPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelPlan::Same => f.write_str("same"),
            ChannelPlan::Different => f.write_str("different"),
            ChannelPlan::List(list) => f.write_str(&channels_label(list)),
        }
    }
}

/// A file-name friendly label for resolved channels: `[1, 6]` -> `1-6`.
pub fn channels_label(channels: &[u8]) -> String {
    channels.iter().map(u8::to_string).collect::<Vec<_>>().join("-")
}

impl Scenario {
    /// Whether the topology needs a third party's radio (spoofed frames).
    pub fn needs_third_radio(&self) -> bool {
        self.trigger.iter().chain(&self.restore).any(Step::needs_third_radio)
    }

    /// Whether the testbed's medium must carry the frames of this scenario's runs.
    pub fn needs_medium(&self) -> bool {
        self.trigger.iter().chain(&self.restore).any(Step::needs_medium)
    }

    /// The deliberate pauses of one run's trigger (its `wait` steps, every cycle), in ms: a
    /// run lasts at least this long.
    pub fn trigger_waits_ms(&self) -> u64 {
        let per_cycle: u64 = self
            .trigger
            .iter()
            .map(|step| match step {
                Step::Wait { ms } => *ms,
                _ => 0,
            })
            .sum();
        per_cycle * u64::from(self.cycles)
    }

    /// Parses and validates a scenario file's text.
    pub fn from_toml(text: &str) -> Result<Scenario> {
        let scenario: Scenario = toml::from_str(text).context("not a valid scenario file")?;
        scenario.validate()?;
        Ok(scenario)
    }

    fn validate(&self) -> Result<()> {
        ensure!(
            !self.name.is_empty()
                && self
                    .name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "scenario name `{}` must be lowercase letters, digits and dashes",
            self.name
        );
        ensure!(!self.trigger.is_empty(), "scenario `{}` has no [[trigger]] step", self.name);
        ensure!(self.cycles >= 1, "cycles must be at least 1");
        ensure!(
            BEACON_INTERVAL_TU.contains(&self.beacon_interval_tu),
            "beacon_interval_tu must be in {BEACON_INTERVAL_TU:?} (hostapd's range), not {}",
            self.beacon_interval_tu
        );
        ensure!(!self.channels.is_empty(), "scenario `{}` lists no channel plan", self.name);
        let selects = self
            .trigger
            .iter()
            .chain(&self.restore)
            .any(|s| matches!(s, Step::SelectNetwork { .. }));
        ensure!(
            !selects || self.other_network,
            "scenario `{}` selects a network but has one: set other_network = true",
            self.name
        );
        for plan in &self.channels {
            plan.resolve(self.aps).with_context(|| format!("scenario `{}`", self.name))?;
        }
        for step in self.trigger.iter().chain(&self.restore) {
            if let Some(Target::Ap(index)) = step.target() {
                ensure!(
                    index < self.aps,
                    "scenario `{}` targets ap{index} but has {} APs",
                    self.name,
                    self.aps
                );
            }
            if let Step::Deauth { reason: 0, .. } | Step::Disassoc { reason: 0, .. } = step {
                bail!("scenario `{}`: reason code 0 is reserved", self.name);
            }
            match *step {
                Step::LinkLoss { percent, .. } if percent > 100 => {
                    bail!("scenario `{}`: link-loss percent {percent} is over 100", self.name)
                }
                Step::Signal { to_dbm, .. } if !(-100..=-10).contains(&to_dbm) => {
                    bail!("scenario `{}`: signal {to_dbm} dBm is not in -100 to -10", self.name)
                }
                Step::Signal { jitter_db, jitter_every_ms, .. }
                    if jitter_db > 20 || (jitter_db > 0 && jitter_every_ms < 10) =>
                {
                    bail!(
                        "scenario `{}`: signal jitter {jitter_db} dB every {jitter_every_ms} ms: \
                         at most 20 dB, at most every 10 ms",
                        self.name
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SILENT: &str = r#"
        name = "silent-ap-loss"
        description = "The serving AP goes out of range."

        [[trigger]]
        action = "silence"

        [[restore]]
        action = "unsilence"
    "#;

    #[test]
    fn a_runs_waits_add_up_over_its_cycles() {
        assert_eq!(Scenario::from_toml(SILENT).unwrap().trigger_waits_ms(), 0);
        let flapping = Scenario::from_toml(
            "name = \"f\"\ncycles = 3\n[[trigger]]\naction = \"silence\"\n\
             [[trigger]]\naction = \"wait\"\nms = 1000\n[[trigger]]\naction = \"unsilence\"\n\
             [[trigger]]\naction = \"wait\"\nms = 500\n",
        )
        .unwrap();
        assert_eq!(flapping.trigger_waits_ms(), 4500);
    }

    #[test]
    fn defaults_fill_a_minimal_file() {
        let s = Scenario::from_toml(SILENT).unwrap();
        assert_eq!(s.aps, 2);
        assert_eq!(s.security, Security::Wpa2Psk);
        assert_eq!(s.channels, vec![ChannelPlan::Same, ChannelPlan::Different]);
        assert_eq!(s.cycles, 1);
        assert_eq!(s.trigger, vec![Step::Silence { target: Target::Serving }]);
        assert_eq!(s.restore, vec![Step::Unsilence { target: Target::Serving }]);
    }

    #[test]
    fn every_step_kind_parses() {
        let s = Scenario::from_toml(
            r#"
            name = "all"
            aps = 3
            security = "open"
            channels = ["same", [1, 6, 11]]
            cycles = 3
            trigger = [
                { action = "deauth", reason = 3 },
                { action = "disassoc", target = "ap2", reason = 8 },
                { action = "disable" }, { action = "enable" },
                { action = "kill" }, { action = "start" },
                { action = "link-down" }, { action = "link-up" },
                { action = "roam" }, { action = "wait", ms = 500 },
            ]
            "#,
        )
        .unwrap();
        assert_eq!(s.security, Security::Open);
        assert_eq!(s.channels[1], ChannelPlan::List(vec![1, 6, 11]));
        assert_eq!(s.trigger.len(), 10);
        assert_eq!(s.trigger[1], Step::Disassoc { target: Target::Ap(2), reason: 8 });
        // A deliberate roam goes to another AP unless told otherwise.
        assert_eq!(s.trigger[8].target(), Some(Target::Other));
        assert_eq!(s.trigger[9].target(), None);
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| format!("{:#}", Scenario::from_toml(text).unwrap_err());
        assert!(err("name = \"x\"\ntrigger = []").contains("no [[trigger]] step"));
        assert!(err("name = \"x\"\ntrigger = [{ action = \"explode\" }]").contains("explode"));
        assert!(err("name = \"x\"\ntrigger = [{ action = \"kill\", target = \"ap5\" }]")
            .contains("targets ap5"));
        assert!(err("name = \"X Y\"\ntrigger = [{ action = \"kill\" }]").contains("lowercase"));
        assert!(err("name = \"x\"\nchannels = [[1]]\ntrigger = [{ action = \"kill\" }]")
            .contains("1 channels for 2 APs"));
        assert!(
            err("name = \"x\"\ncolour = 1\ntrigger = [{ action = \"kill\" }]").contains("colour")
        );
    }

    #[test]
    fn a_signal_step_walks_or_fluctuates_within_bounds() {
        let s = Scenario::from_toml(
            r#"
            name = "walk"
            trigger = [
                { action = "signal", to_dbm = -92, over_ms = 15000 },
                { action = "signal", target = "other", to_dbm = -70, jitter_db = 3 },
            ]
            "#,
        )
        .unwrap();
        assert_eq!(
            s.trigger[0],
            Step::Signal {
                target: Target::Serving,
                to_dbm: -92,
                over_ms: 15_000,
                jitter_db: 0,
                jitter_every_ms: 300
            }
        );
        assert!(s.needs_medium());
        let err = |step: &str| {
            let text = format!("name = \"x\"\ntrigger = [{step}]");
            format!("{:#}", Scenario::from_toml(&text).unwrap_err())
        };
        assert!(err(r#"{ action = "signal", to_dbm = -120 }"#).contains("not in -100 to -10"));
        assert!(err(r#"{ action = "signal", to_dbm = -70, jitter_db = 30 }"#).contains("jitter"));
        assert!(err(r#"{ action = "signal", to_dbm = -70, jitter_db = 3, jitter_every_ms = 1 }"#)
            .contains("every 10 ms"));
        assert!(err(r#"{ action = "signal", dbm = -70 }"#).contains("dbm"), "the old field");
    }

    #[test]
    fn bands_place_the_named_layouts() {
        assert_eq!(ChannelPlan::Same.resolve_in(2, Band::Five).unwrap(), [36, 36]);
        assert_eq!(ChannelPlan::Different.resolve_in(3, Band::Five).unwrap(), [36, 40, 44]);
        assert_eq!(ChannelPlan::Same.resolve_in(2, Band::Mixed).unwrap(), [1, 36]);
        assert_eq!(ChannelPlan::Different.resolve_in(3, Band::Mixed).unwrap(), [1, 40, 44]);
        assert_eq!(ChannelPlan::List(vec![6, 44]).resolve_in(2, Band::Five).unwrap(), [6, 44]);
        assert!(ChannelPlan::List(vec![1, 52]).resolve(2).is_err(), "radar channels: no");
        assert_eq!(
            (channel_freq_mhz(1), channel_freq_mhz(36), channel_freq_mhz(48)),
            (2412, 5180, 5240)
        );
        let s =
            Scenario::from_toml("name = \"x\"\nband = \"5\"\ntrigger = [{ action = \"kill\" }]")
                .unwrap();
        assert_eq!(s.band, Band::Five);
        assert_eq!("mixed".parse::<Band>(), Ok(Band::Mixed));
        assert!("6".parse::<Band>().is_err());
    }

    #[test]
    fn channel_plans_resolve() {
        assert_eq!(ChannelPlan::Same.resolve(2).unwrap(), vec![1, 1]);
        assert_eq!(ChannelPlan::Different.resolve(3).unwrap(), vec![1, 6, 11]);
        assert_eq!("1,6".parse::<ChannelPlan>(), Ok(ChannelPlan::List(vec![1, 6])));
        assert!(ChannelPlan::List(vec![1, 14]).resolve(2).is_err(), "14: Japan only");
        assert!("sideways".parse::<ChannelPlan>().is_err());
        assert_eq!(channels_label(&[1, 6]), "1-6");
    }

    #[test]
    fn targets_resolve_against_the_serving_ap() {
        assert_eq!(Target::Serving.resolve(1, 2), 1);
        assert_eq!(Target::Other.resolve(1, 2), 0);
        assert_eq!(Target::Other.resolve(0, 3), 1);
        assert_eq!(Target::Ap(2).resolve(0, 3), 2);
    }

    #[test]
    fn scenarios_survive_the_trip_through_json() {
        let s = Scenario::from_toml(SILENT).unwrap();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Scenario>(&json).unwrap(), s);
    }
}
