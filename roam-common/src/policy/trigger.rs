//! Why roam decided the link to the current AP is lost.

/// A loss signal, with what identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The kernel heard nothing from the AP for N beacon intervals (any frame counts).
    Silence,
    /// The AP stopped acknowledging: explicit non-acknowledgements in a row, nothing heard from
    /// it meanwhile (see `policy::liveness`).
    NoAck,
    /// The AP deauthenticated the station (IEEE 802.11 reason code).
    Deauth { reason: u16 },
    /// The AP disassociated the station.
    Disassoc { reason: u16 },
    /// mac80211 or the driver gave up on the AP (connection loss) before roam found it lost.
    /// (Their beacon loss alone is not a loss: it makes roam ask the AP.)
    BeaconLoss,
    /// The signal fell below the threshold and a better candidate exists.
    Signal,
}

/// A trigger without its details: the label of metrics and the `trigger` of the agent's JSON.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum TriggerKind {
    #[default]
    Silence,
    NoAck,
    Deauth,
    Disassoc,
    BeaconLoss,
    Signal,
    /// Not roam's: the connection manager moved on its own (a deliberate roam, a reconnection
    /// roam did not trigger), and roam measured the transition.
    Supplicant,
}

impl Trigger {
    pub fn kind(self) -> TriggerKind {
        match self {
            Trigger::Silence => TriggerKind::Silence,
            Trigger::NoAck => TriggerKind::NoAck,
            Trigger::Deauth { .. } => TriggerKind::Deauth,
            Trigger::Disassoc { .. } => TriggerKind::Disassoc,
            Trigger::BeaconLoss => TriggerKind::BeaconLoss,
            Trigger::Signal => TriggerKind::Signal,
        }
    }

    /// Metric label and log name.
    pub fn name(self) -> &'static str {
        self.kind().name()
    }

    /// The AP ended the association: the supplicant is disconnected and will reconnect by
    /// itself, so roam's job is to make that reconnection fast rather than to roam.
    pub fn ap_ended_association(self) -> bool {
        matches!(self, Trigger::Deauth { .. } | Trigger::Disassoc { .. })
    }

    /// The AP ended the association with a reason that says it lost the station's state and
    /// may take it back: 4 (inactivity), 6 and 7 (a class 2 or 3 frame from a station it does
    /// not know, as after the AP restarted). wpa_supplicant reconnects to the same BSS at once,
    /// without a scan, on these ("recoverable" in its events.c).
    pub fn ap_may_take_it_back(self) -> bool {
        const RECOVERABLE: [u16; 3] = [4, 6, 7];
        match self {
            Trigger::Deauth { reason } | Trigger::Disassoc { reason } => {
                RECOVERABLE.contains(&reason)
            }
            _ => false,
        }
    }

    /// The AP stopped answering (it went silent, stopped acknowledging, mac80211 gave up on
    /// it): nothing that needs it, such as the FT keys it may hold, can be had from it.
    pub fn ap_is_gone(self) -> bool {
        matches!(self, Trigger::Silence | Trigger::NoAck | Trigger::BeaconLoss)
    }

    /// The current AP may still be usable (signal trend): a roam must not leave it for nothing.
    pub fn is_soft(self) -> bool {
        self == Trigger::Signal
    }
}

impl TriggerKind {
    pub const ALL: [TriggerKind; 7] = [
        TriggerKind::Silence,
        TriggerKind::NoAck,
        TriggerKind::Deauth,
        TriggerKind::Disassoc,
        TriggerKind::BeaconLoss,
        TriggerKind::Signal,
        TriggerKind::Supplicant,
    ];

    /// Snake case, as in metrics labels and the agent's JSON.
    pub fn name(self) -> &'static str {
        match self {
            TriggerKind::Silence => "silence",
            TriggerKind::NoAck => "no_ack",
            TriggerKind::Deauth => "deauth",
            TriggerKind::Disassoc => "disassoc",
            TriggerKind::BeaconLoss => "beacon_loss",
            TriggerKind::Signal => "signal",
            TriggerKind::Supplicant => "supplicant",
        }
    }
}
