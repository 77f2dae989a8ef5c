//! What `roam status` reports: the agent's state, its view of the air, and its last roam.
//!
//! Every struct deserializes with defaults for missing fields and ignores unknown ones, so a
//! client and an agent of neighbouring versions still understand each other. [`Status`]'s
//! `Display` is the human form `roam status` prints.

mod display;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use roam_common::{
    policy::{CandidateSource, State, TriggerKind},
    MacAddr,
};
use serde::{Deserialize, Serialize};

use crate::event::{Backend, RoamResult};

pub use display::{human_ms, human_ms_f64};

/// A snapshot of the agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    pub iface: String,
    pub state: State,
    /// Time spent in `state` so far.
    pub state_since_ms: u64,
    /// The agent measures but never triggers a roam.
    pub observe_only: bool,
    /// Why, where roam decided it and not the configuration (another program owns the
    /// connection, a backend that cannot act on this network...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observe_only_why: Option<String>,
    /// What roams are driven through.
    pub backend: Backend,
    /// The access point the station is associated with, if any.
    pub bss: Option<CurrentBss>,
    /// Access points the station could roam to.
    pub candidates: Vec<Candidate>,
    pub last_roam: Option<RoamRecord>,
    pub counters: Counters,
    /// How roam tells whether the AP is still there, here.
    pub liveness: LivenessStatus,
    /// Roaming before the link breaks: the serving AP's signal as roam follows it (none with
    /// `detect.signal_roaming = false`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<SignalStatus>,
}

/// The serving AP's signal, as the signal rule sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignalStatus {
    /// Where it comes from: `monitor` (the frames the monitor hears of the AP) or `station`
    /// (the station's own measurement, nl80211 GET_STATION).
    pub source: String,
    /// Below this, and falling, roam looks for a stronger AP.
    pub threshold_dbm: i32,
    /// By how much stronger.
    pub hysteresis_db: i32,
    /// The level over the last second; none while the link is strong (not sampled).
    pub level_dbm: Option<f64>,
    /// How fast it moves, dB a second, over the last few seconds; none without enough samples.
    pub trend_db_per_s: Option<f64>,
}

/// The band of a frequency: `2.4`, `5` or `6` (GHz), `?` for another.
pub fn band_of(freq_mhz: u32) -> &'static str {
    match freq_mhz {
        2400..=2500 => "2.4",
        4900..=5899 => "5",
        5925..=7125 => "6",
        _ => "?",
    }
}

/// The liveness check: its sources, its verdict, and what its probes got.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LivenessStatus {
    pub sources: Vec<LivenessSourceStatus>,
    pub verdict: LivenessVerdict,
    /// roam's probes (frames put on the air) since the agent started, by what came of them.
    pub probes: ProbeTotals,
}

/// One way roam learns whether the AP is there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LivenessSourceStatus {
    pub source: LivenessSource,
    pub state: SourceState,
    /// Why, in a few words.
    pub detail: String,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessSource {
    /// The 802.11 acknowledgements of roam's probes (`SO_WIFI_STATUS`).
    #[default]
    Acks,
    /// The station's own traffic (TC ingress and egress): frames received show the AP alive,
    /// frames sent into silence make roam ask.
    StationTraffic,
    /// The monitor interface: the AP's beacons and frames.
    Monitor,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    #[default]
    InUse,
    /// Wanted but not available here (see the detail).
    Unavailable,
    /// Turned off by the configuration.
    Off,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LivenessVerdict {
    /// Not associated.
    #[default]
    Idle,
    Alive,
    /// Some probes went unacknowledged.
    Doubt,
    Lost,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbeTotals {
    pub acked: u64,
    pub not_acked: u64,
    /// No report came: the stack dropped the probe (no evidence either way).
    pub unreported: u64,
}

impl LivenessSource {
    pub const ALL: [LivenessSource; 3] =
        [LivenessSource::Acks, LivenessSource::StationTraffic, LivenessSource::Monitor];

    /// The `source` label of `roam_liveness_source_info`.
    pub fn name(self) -> &'static str {
        match self {
            LivenessSource::Acks => "acks",
            LivenessSource::StationTraffic => "station_traffic",
            LivenessSource::Monitor => "monitor",
        }
    }
}

impl SourceState {
    pub const ALL: [SourceState; 3] =
        [SourceState::InUse, SourceState::Unavailable, SourceState::Off];

    /// The `state` label of `roam_liveness_source_info`.
    pub fn name(self) -> &'static str {
        match self {
            SourceState::InUse => "in_use",
            SourceState::Unavailable => "unavailable",
            SourceState::Off => "off",
        }
    }
}

impl LivenessVerdict {
    pub fn name(self) -> &'static str {
        match self {
            LivenessVerdict::Idle => "idle",
            LivenessVerdict::Alive => "alive",
            LivenessVerdict::Doubt => "doubt",
            LivenessVerdict::Lost => "lost",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CurrentBss {
    pub bssid: MacAddr,
    pub ssid: String,
    pub freq_mhz: u32,
    /// `2.4`, `5` or `6` (GHz), from the frequency.
    pub band: String,
    /// The authentication the station negotiated: `psk`, `sae`, `ft-psk`, `eap`, ..., `open`.
    pub akm: String,
    pub signal_dbm: Option<i32>,
    /// Time since the last frame from this access point.
    pub last_heard_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Candidate {
    pub bssid: MacAddr,
    pub freq_mhz: u32,
    pub signal_dbm: Option<i32>,
    pub last_heard_ms: Option<u64>,
    /// Who knows about it: the kernel (heard on this channel), the manager's scan table, or both.
    pub source: CandidateSource,
    /// Whether the agent would roam to it now.
    pub usable: bool,
    /// The agent's ranking; higher is better.
    pub score: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoamRecord {
    /// Why the transition began (`supplicant`: the manager moved on its own).
    pub trigger: TriggerKind,
    pub from: Option<MacAddr>,
    pub to: Option<MacAddr>,
    /// roam acted; otherwise it watched the manager.
    pub acted: bool,
    pub backend: Backend,
    pub result: RoamResult,
    pub duration_ms: Option<f64>,
    pub timeline: Vec<RoamStep>,
    /// What happened to the station's traffic while it was between access points.
    pub drop_window: Option<DropWindow>,
}

/// One step of a transition, relative to the loss.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoamStep {
    pub t_ms: f64,
    pub step: TransitionStep,
}

/// The steps of a transition, in the order they usually happen.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TransitionStep {
    /// The old AP's last frame (silence) or the frame or event that ended the link.
    #[default]
    Lost,
    Detected,
    Acted,
    /// The station left the old AP (carrier off).
    Left,
    Auth,
    Assoc,
    Associated,
    /// The EAP exchange began (802.1X networks, when no cached key spared it).
    EapStarted,
    /// The EAP exchange succeeded.
    EapDone,
    Connected,
    /// mac80211 opened the port to the new AP (data may flow; neighbours are put back).
    Authorized,
    FirstData,
}

impl TransitionStep {
    pub fn name(self) -> &'static str {
        match self {
            TransitionStep::Lost => "lost",
            TransitionStep::Detected => "detected",
            TransitionStep::Acted => "acted",
            TransitionStep::Left => "left",
            TransitionStep::Auth => "auth",
            TransitionStep::Assoc => "assoc",
            TransitionStep::Associated => "associated",
            TransitionStep::EapStarted => "eap_started",
            TransitionStep::EapDone => "eap_done",
            TransitionStep::Connected => "connected",
            TransitionStep::Authorized => "authorized",
            TransitionStep::FirstData => "first_data",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DropWindow {
    pub sent: u64,
    pub dropped: u64,
    pub held: u64,
    /// Drop counts by reason, e.g. {"UNANSWERED_TX": 28, "QDISC_DROP": 2}. A JSON object (not
    /// a list of pairs) so scripts can pick a reason by name.
    pub dropped_by_reason: BTreeMap<String, u64>,
    pub duration_ms: f64,
}

/// Totals since the agent started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    pub roams: u64,
    pub roam_failures: u64,
    pub beacon_losses: u64,
    pub deauths: u64,
    pub disassocs: u64,
}
