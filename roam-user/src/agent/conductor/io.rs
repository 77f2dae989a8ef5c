//! What goes into the conductor and what comes out: its inputs, its commands, and the one
//! question it asks of the world (where to go).

use roam_common::{
    event::Leave,
    policy::{self, Candidate, Hold, MachineConfig, State, Trigger},
    MacAddr,
};
use roam_proto::{LossSource, RoamResult, TransitionStep};

use crate::agent::{liveness::Change, transition::Transition};

/// The core's settings, fixed for one attachment.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    pub machine: MachineConfig,
    /// The manager reconnects by itself after a loss roam holds or a roam that failed
    /// (wpa_supplicant); where it does not (bare nl80211), roam tries again.
    pub manager_reconnects: bool,
    /// The manager connects only to BSSes fresh in cfg80211's table, read whole after each
    /// scan (bare nl80211); wpa_supplicant keeps its own table and rescans by itself.
    pub reads_table_whole: bool,
    /// A roam must have reached a connection by then.
    pub roam_timeout_ns: u64,
}

/// What happened, as the core needs to know it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    // ---- the connection manager ----
    /// The manager completed a connection (port open).
    Connected {
        bssid: MacAddr,
    },
    /// The manager's status shows a connection the core has not seen (at attachment).
    FoundConnected {
        bssid: MacAddr,
    },
    /// A connection attempt was refused (authentication or association), by `bssid` if known.
    ConnectFailed {
        bssid: Option<MacAddr>,
    },
    /// The station left its BSS; `by_ap`: the AP ended it, with `reason`.
    Disconnected {
        bssid: Option<MacAddr>,
        reason: u16,
        by_ap: bool,
    },
    /// A connection step the manager reports: authenticating, associating, associated.
    Connecting {
        step: TransitionStep,
        bssid: Option<MacAddr>,
    },
    Scanning,
    /// A step of the connection the transition notes without more (the EAP exchange).
    Step(TransitionStep),
    /// A scan's results are in the manager's table (read whole where it is).
    ScanDone,
    // ---- the kernel ----
    /// A deauthentication or disassociation frame, as the kernel saw it on the air.
    Leave {
        leave: Leave,
        station: MacAddr,
    },
    /// The station's carrier.
    Carrier {
        up: bool,
    },
    /// The new AP opened the port.
    PortAuthorized,
    /// The first data frame from the AP after a connection.
    FirstData,
    /// A frame of `bssid` heard again after its silence.
    BssHeard {
        bssid: MacAddr,
    },
    /// mac80211 (or the firmware) gave up on the AP, last heard then.
    ConnectionLoss {
        last_heard_ns: Option<u64>,
    },
    // ---- the agent's own ----
    /// The liveness watch's verdict on the serving AP.
    Liveness(Change),
    /// The serving AP's signal is fading and `target` is stronger by the hysteresis
    /// (`policy::signal`): roam before the link breaks.
    SignalFading {
        target: Candidate,
        /// The serving AP's level the rule judged, dBm x 16.
        serving_x16: i32,
    },
    /// The action of roam number `generation` failed at once (refused, backend error).
    ActionFailed {
        generation: u64,
    },
    /// Time passed: the deadlines due are served.
    Tick,
}

/// What the agent must do. In the order given.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    /// Say it (events, metrics, counters).
    Notify(Notice),
    /// A transition began, the station lost its AP at `lost_ns`: count what is dropped from
    /// then, and get ready to put flushed neighbour entries back.
    OpenWindow { lost_ns: u64 },
    /// The transition was a false alarm: stop counting, report nothing, put nothing back.
    AbandonWindow,
    /// The transition is over: account its window and report it.
    FinishTransition(Box<Transition>),
    /// Move the station.
    Roam(RoamOrder),
    /// Put back what roam number `generation` changed in the manager.
    PutBack { generation: u64 },
    /// Scan for the network: nowhere is known to go.
    Scan(ScanScope),
}

/// The channels a scan for somewhere to go covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanScope {
    /// The lost BSS's channel: an AP back from a reboot beacons there again, and a scan of one
    /// channel is short, so the monitor, listening there between scans, hears it come back.
    LostChannel,
    /// Every channel the radio may use (seconds, during which the monitor hears little).
    Every,
}

/// One roam to perform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RoamOrder {
    /// The roam's number, given back with its failure.
    pub generation: u64,
    pub trigger: Trigger,
    pub target: Candidate,
    /// Scan the target's channel first: the manager does not know it (or will not for long).
    pub scan_first: bool,
    /// Ask the target whether it is there before pinning the manager to it (a probe request
    /// it must acknowledge): a reconnection to a BSS known only from a scan entry.
    pub confirm_first: bool,
    /// The station reconnects (pinned to the target, authenticating in full), rather than
    /// reassociating from a live link: the AP ended the association, or a fast transition
    /// failed at the target.
    pub reconnect: bool,
    /// The station still holds an association with the AP that went away: it leaves it first
    /// (or a reconnection would be a reassociation, a fast transition again).
    pub leave_first: bool,
    /// The same roam again, to the same target, after its fast transition failed there: not a
    /// roam of its own (the per-minute cap counted the first).
    pub fallback: bool,
}

/// What the core says happened, for events, metrics and counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notice {
    State {
        from: State,
        to: State,
    },
    /// The AP ended the association (counted whether or not roam acts on it).
    ApEnded(Trigger),
    LossDetected {
        trigger: Trigger,
        bssid: MacAddr,
        source: LossSource,
        lost_ns: u64,
        detected_ns: u64,
        best: Option<MacAddr>,
        known: usize,
        /// For a roam on a fading signal: the levels compared.
        signal: Option<SignalLevels>,
    },
    RoamHeld {
        trigger: Trigger,
        hold: Hold,
        retry_in_ns: Option<u64>,
    },
    FalseAlarm {
        trigger: Trigger,
    },
    /// `target_freq_mhz`: where the roam went (0 if unknown).
    RoamEnded {
        trigger: Trigger,
        result: RoamResult,
        target_freq_mhz: u32,
    },
}

/// The levels the signal rule compared when it roamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalLevels {
    /// The serving AP's level, dBm x 16.
    pub serving_x16: i32,
    pub target_dbm: i32,
}

/// What the core reads of the world: the candidates as they are at the moment of a decision.
pub trait World {
    /// The best candidate of the station's network, `lost` ranked as lost (only once heard
    /// again since), and how many candidates are known; none while the network is unknown.
    fn choose(&mut self, lost: policy::Lost) -> Option<Choice>;
    /// The age of the manager's scan entry of `bssid`, if it has one.
    fn scan_entry_age_ms(&self, bssid: &MacAddr) -> Option<u64>;
}

/// Where to go, as far as is known.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Choice {
    pub best: Option<Candidate>,
    pub known: usize,
}
