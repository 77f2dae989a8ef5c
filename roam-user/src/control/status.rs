//! What `roam status` reports: the agent's state, its view of the air, and its last roam.
//!
//! Every struct deserializes with defaults for missing fields and ignores unknown ones, so a
//! client and an agent of neighbouring versions still understand each other.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of the agent, published by it through a `watch` channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    pub iface: String,
    /// "init", "scan", "auth", "assoc", "run", "suspect" or "roaming".
    pub state: String,
    /// Time spent in `state` so far.
    pub state_since_ms: u64,
    /// The agent measures but never triggers a roam.
    pub observe_only: bool,
    /// What roams are driven through: "wpa_supplicant" or "nl80211".
    pub backend: String,
    /// The access point the station is associated with, if any.
    pub bss: Option<CurrentBss>,
    /// Access points the station could roam to.
    pub candidates: Vec<Candidate>,
    pub last_roam: Option<RoamRecord>,
    pub counters: Counters,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CurrentBss {
    pub bssid: String,
    pub ssid: String,
    pub freq_mhz: u32,
    pub signal_dbm: Option<i32>,
    /// Time since the last frame from this access point.
    pub last_heard_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Candidate {
    pub bssid: String,
    pub freq_mhz: u32,
    pub signal_dbm: Option<i32>,
    pub last_heard_ms: Option<u64>,
    /// Who knows about it: "kernel", "supplicant" or "both".
    pub source: String,
    /// Whether the agent would roam to it now.
    pub usable: bool,
    /// The agent's ranking; higher is better.
    pub score: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoamRecord {
    /// Why the agent roamed, e.g. "silence", "deauth", "signal".
    pub trigger: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub backend: String,
    /// e.g. "success", "failure", "timeout".
    pub result: String,
    pub duration_ms: Option<f64>,
    pub timeline: Vec<RoamStep>,
    /// What happened to the station's traffic while it was between access points.
    pub drop_window: Option<DropWindow>,
}

/// One step of a roam, relative to its start.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RoamStep {
    pub t_ms: f64,
    pub step: String,
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
