//! The hooks roam attaches, in one table: which program, where, and what it observes.
//!
//! The tracing hooks are raw tracepoints and fentry: they attach with CAP_BPF and CAP_PERFMON
//! through `BPF_RAW_TRACEPOINT_OPEN`, never through `perf_event_open`, so Debian's and Ubuntu's
//! `kernel.perf_event_paranoid=3` (perf events for CAP_SYS_ADMIN only) does not stop them.

use super::layouts::Needs;

/// Where a program attaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// An AF_PACKET socket bound to a monitor interface of the station's phy.
    MonitorSocket,
    /// TC egress of the station interface.
    StationEgress,
    /// TC ingress of the station interface.
    StationIngress,
    /// A raw tracepoint, by its event name; `module` is the kernel module that defines it (it
    /// must be loaded).
    RawTracepoint { name: &'static str, module: Option<&'static str> },
    /// fentry on a vmlinux function.
    FEntry { function: &'static str },
}

#[derive(Clone, Copy, Debug)]
pub struct Hook {
    /// Program name in the object (the Rust function name in roam-ebpf).
    pub program: &'static str,
    pub attach: Attach,
    /// What the hook tells roam, for reports.
    pub purpose: &'static str,
    /// The kernel struct offsets (from BTF) the program follows pointers with.
    pub needs: Needs,
}

const fn raw_tp(
    program: &'static str,
    name: &'static str,
    module: Option<&'static str>,
    needs: Needs,
    purpose: &'static str,
) -> Hook {
    Hook { program, attach: Attach::RawTracepoint { name, module }, purpose, needs }
}

const CFG80211: Option<&str> = Some("cfg80211");
const MAC80211: Option<&str> = Some("mac80211");

/// The classifiers' names, as TC lists their filters (finding them after a crash needs them).
pub const FRAMES_PROGRAM: &str = "roam_frames";
pub const EGRESS_PROGRAM: &str = "roam_egress";
pub const INGRESS_PROGRAM: &str = "roam_ingress";

pub const HOOKS: &[Hook] = &[
    Hook {
        program: FRAMES_PROGRAM,
        attach: Attach::MonitorSocket,
        purpose: "802.11 frames on the monitor interface: per-BSS table, silence, deauth/disassoc",
        needs: Needs::Nothing,
    },
    Hook {
        program: EGRESS_PROGRAM,
        attach: Attach::StationEgress,
        purpose: "packets sent while the link is in transition; sending into silence (a hint)",
        needs: Needs::Nothing,
    },
    Hook {
        program: INGRESS_PROGRAM,
        attach: Attach::StationIngress,
        purpose: "the AP heard: every packet the station receives came through it",
        needs: Needs::Nothing,
    },
    raw_tp(
        "roam_kfree_skb",
        "kfree_skb",
        None,
        Needs::NetDev,
        "drops on the station interface, by reason",
    ),
    raw_tp("roam_neigh_update", "neigh_update", None, Needs::Neigh, "neighbour entries resolved"),
    raw_tp("roam_neigh_create", "neigh_create", None, Needs::NetDev, "neighbour entries created"),
    raw_tp(
        "roam_neigh_send_done",
        "neigh_event_send_done",
        None,
        Needs::Neigh,
        "packets held on unresolved entries",
    ),
    raw_tp(
        "roam_neigh_cleanup",
        "neigh_cleanup_and_release",
        None,
        Needs::Neigh,
        "neighbour entries flushed",
    ),
    raw_tp(
        "roam_mlme_rx",
        "cfg80211_rx_mlme_mgmt",
        CFG80211,
        Needs::NetDev,
        "auth/assoc/deauth/disassoc received",
    ),
    raw_tp(
        "roam_mlme_tx",
        "cfg80211_tx_mlme_mgmt",
        CFG80211,
        Needs::NetDev,
        "deauth/disassoc sent",
    ),
    raw_tp(
        "roam_cqm_rssi",
        "cfg80211_cqm_rssi_notify",
        CFG80211,
        Needs::NetDev,
        "signal threshold crossings",
    ),
    raw_tp(
        "roam_beacon_loss",
        "api_beacon_loss",
        MAC80211,
        Needs::Mac80211,
        "beacon loss (hardware-filtering drivers)",
    ),
    raw_tp(
        "roam_connection_loss",
        "api_connection_loss",
        MAC80211,
        Needs::Mac80211,
        "connection loss (hardware-filtering drivers)",
    ),
    raw_tp(
        "roam_cqm_beacon_loss",
        "api_cqm_beacon_loss_notify",
        MAC80211,
        Needs::Mac80211,
        "mac80211 beacon loss",
    ),
    raw_tp(
        "roam_sta_state",
        "drv_sta_state",
        MAC80211,
        Needs::Mac80211,
        "802.1X port authorised (data may flow)",
    ),
    Hook {
        program: "roam_carrier_off",
        attach: Attach::FEntry { function: "netif_carrier_off" },
        purpose: "carrier loss, at the instant (opens the drop window)",
        needs: Needs::NetDev,
    },
    Hook {
        program: "roam_carrier_on",
        attach: Attach::FEntry { function: "netif_carrier_on" },
        purpose: "carrier return",
        needs: Needs::NetDev,
    },
];

impl Attach {
    pub fn describe(&self) -> String {
        match self {
            Attach::MonitorSocket => "socket filter on the monitor interface".into(),
            Attach::StationEgress => "TC egress of the station interface".into(),
            Attach::StationIngress => "TC ingress of the station interface".into(),
            Attach::RawTracepoint { name, module: Some(module) } => {
                format!("raw tracepoint {module}:{name}")
            }
            Attach::RawTracepoint { name, module: None } => format!("raw tracepoint {name}"),
            Attach::FEntry { function } => format!("fentry {function}"),
        }
    }
}
