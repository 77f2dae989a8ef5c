//! Why roam decided the link to the current AP is lost.

/// A loss signal, with what identifies it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// The kernel heard nothing from the AP for N beacon intervals (any frame counts).
    Silence,
    /// The AP deauthenticated the station (IEEE 802.11 reason code).
    Deauth { reason: u16 },
    /// The AP disassociated the station.
    Disassoc { reason: u16 },
    /// mac80211 detected beacon loss (or connection loss) before roam did.
    BeaconLoss,
    /// The signal fell below the threshold and a better candidate exists.
    Signal,
}

impl Trigger {
    /// Metric label and log name.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Silence => "silence",
            Trigger::Deauth { .. } => "deauth",
            Trigger::Disassoc { .. } => "disassoc",
            Trigger::BeaconLoss => "beacon_loss",
            Trigger::Signal => "signal",
        }
    }

    /// The AP ended the association: the supplicant is disconnected and will reconnect by
    /// itself, so roam's job is to make that reconnection fast rather than to roam.
    pub fn ap_ended_association(self) -> bool {
        matches!(self, Trigger::Deauth { .. } | Trigger::Disassoc { .. })
    }

    /// The current AP may still be usable (signal trend): a roam must not leave it for nothing.
    pub fn is_soft(self) -> bool {
        self == Trigger::Signal
    }
}
