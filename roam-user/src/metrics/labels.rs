//! Label sets of roam's metric families, and the label values the agent is expected to use.
//!
//! The recording calls take the agent's own types (`State`, `Phase`, `TriggerKind`, ...), whose
//! `name()` is the label value: one vocabulary for metrics, logs and the agent's JSON. The
//! families pre-create series for the bounded sets so `rate()` sees a 0 before the first event.

use prometheus_client::encoding::EncodeLabelSet;

/// `source` of a detected beacon loss.
pub const BEACON_LOSS_SOURCES: [&str; 4] = ["silence", "ack", "mac80211", "supplicant"];

/// `direction` of a carrier transition.
pub const CARRIER_DIRECTIONS: [&str; 2] = ["up", "down"];

/// `result` of `roam_liveness_probes_total`.
pub const PROBE_RESULTS: [&str; 3] = ["acked", "not_acked", "unreported"];

/// Drop reason roam reports for frames sent into an AP that had gone silent: the kernel saw no
/// drop, the frames just were never answered.
pub const UNANSWERED_TX: &str = "UNANSWERED_TX";

/// Kind of a kernel event (`roam_common::event::EventKind`, in snake case).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct SourceLabels {
    pub source: String,
}

/// IEEE 802.11 reason code: the decimal code when it is one roam knows, `other` for any other
/// and `protected` when it could not be read. Anyone can send deauths with any of 65536
/// codes: the label stays a small set.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ReasonCodeLabels {
    pub reason: String,
}

impl ReasonCodeLabels {
    pub fn of(reason: Option<u16>) -> Self {
        let reason = match reason {
            None => "protected".to_owned(),
            Some(code) if roam_common::reason::reason_name(code) != "other" => code.to_string(),
            Some(_) => "other".to_owned(),
        };
        ReasonCodeLabels { reason }
    }
}

/// Kernel drop reason name (`enum skb_drop_reason` without its `SKB_DROP_REASON_` prefix).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DropReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct AttemptLabels {
    pub trigger: String,
    pub backend: String,
    pub result: String,
    pub akm: String,
    pub band: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TriggerLabels {
    pub trigger: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PhaseLabels {
    pub phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct DirectionLabels {
    pub direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TransitionLabels {
    pub from: String,
    pub to: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StateLabels {
    pub state: String,
}

/// One BSS as seen by the kernel; `freq_mhz` tells apart the radios of a multi-band AP that
/// share a BSSID.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BssLabels {
    pub bssid: String,
    pub freq_mhz: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct BssInfoLabels {
    pub bssid: String,
    pub ssid: String,
    pub freq_mhz: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProgramLabels {
    pub program: String,
}

/// A liveness source and what state it is in (bounded: 3 sources x 3 states).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct LivenessSourceLabels {
    pub source: String,
    pub state: String,
}

/// What came of a probe: acked, not_acked, unreported.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProbeResultLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct VersionLabels {
    pub version: String,
}
