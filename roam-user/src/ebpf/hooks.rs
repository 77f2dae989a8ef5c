//! The hooks roam attaches, in one table: which program, where, and what it observes.

/// Where a program attaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attach {
    /// An AF_PACKET socket bound to a monitor interface of the station's phy.
    MonitorSocket,
    /// TC egress of the station interface.
    StationEgress,
    Tracepoint {
        category: &'static str,
        name: &'static str,
    },
    Kprobe {
        function: &'static str,
    },
}

#[derive(Clone, Copy, Debug)]
pub struct Hook {
    /// Program name in the object (the Rust function name in roam-ebpf).
    pub program: &'static str,
    pub attach: Attach,
    /// What the hook tells roam, for reports.
    pub purpose: &'static str,
    /// Follows kernel pointers (`sk_buff`, `net_device`) with offsets from the kernel's BTF.
    pub needs_btf: bool,
}

const fn tp(
    program: &'static str,
    category: &'static str,
    name: &'static str,
    purpose: &'static str,
) -> Hook {
    Hook { program, attach: Attach::Tracepoint { category, name }, purpose, needs_btf: false }
}

/// The egress classifier's name, as TC lists its filter (finding it after a crash needs it).
pub const EGRESS_PROGRAM: &str = "roam_egress";

pub const HOOKS: &[Hook] = &[
    Hook {
        program: "roam_frames",
        attach: Attach::MonitorSocket,
        purpose: "802.11 frames on the monitor interface: per-BSS table, silence, deauth/disassoc",
        needs_btf: false,
    },
    Hook {
        program: EGRESS_PROGRAM,
        attach: Attach::StationEgress,
        purpose: "packets sent while the link is in transition",
        needs_btf: false,
    },
    Hook {
        program: "roam_kfree_skb",
        attach: Attach::Tracepoint { category: "skb", name: "kfree_skb" },
        purpose: "drops on the station interface, by reason",
        needs_btf: true,
    },
    tp("roam_neigh_update", "neigh", "neigh_update", "neighbour entries resolved"),
    tp("roam_neigh_create", "neigh", "neigh_create", "neighbour entries created"),
    tp(
        "roam_neigh_send_done",
        "neigh",
        "neigh_event_send_done",
        "packets held on unresolved entries",
    ),
    tp("roam_neigh_cleanup", "neigh", "neigh_cleanup_and_release", "neighbour entries flushed"),
    tp("roam_mlme_rx", "cfg80211", "cfg80211_rx_mlme_mgmt", "auth/assoc/deauth/disassoc received"),
    tp("roam_mlme_tx", "cfg80211", "cfg80211_tx_mlme_mgmt", "deauth/disassoc sent"),
    tp("roam_cqm_rssi", "cfg80211", "cfg80211_cqm_rssi_notify", "signal threshold crossings"),
    tp(
        "roam_beacon_loss",
        "mac80211",
        "api_beacon_loss",
        "beacon loss (hardware-filtering drivers)",
    ),
    tp(
        "roam_connection_loss",
        "mac80211",
        "api_connection_loss",
        "connection loss (hardware-filtering drivers)",
    ),
    tp("roam_cqm_beacon_loss", "mac80211", "api_cqm_beacon_loss_notify", "mac80211 beacon loss"),
    tp("roam_sta_state", "mac80211", "drv_sta_state", "802.1X port authorised (data may flow)"),
    Hook {
        program: "roam_carrier_off",
        attach: Attach::Kprobe { function: "netif_carrier_off" },
        purpose: "carrier loss, at the instant (opens the drop window)",
        needs_btf: true,
    },
    Hook {
        program: "roam_carrier_on",
        attach: Attach::Kprobe { function: "netif_carrier_on" },
        purpose: "carrier return",
        needs_btf: true,
    },
];

impl Attach {
    pub fn describe(&self) -> String {
        match self {
            Attach::MonitorSocket => "socket filter on the monitor interface".into(),
            Attach::StationEgress => "TC egress of the station interface".into(),
            Attach::Tracepoint { category, name } => format!("tracepoint {category}:{name}"),
            Attach::Kprobe { function } => format!("kprobe {function}"),
        }
    }
}
