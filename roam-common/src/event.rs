//! Events the kernel programs send to the agent through the ring buffer. One fixed-size record
//! for every kind keeps the ring simple; `kind` says which fields mean something.

use crate::MacAddr;

#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A beacon or probe response from a BSSID not in the table.
    BssNew = 1,
    /// The associated BSS sent nothing for N beacon intervals (`value` = ns unheard).
    BssSilent = 2,
    /// A BSS reported silent was heard again.
    BssHeard = 3,
    /// Deauthentication seen on the air (`reason`, direction in `flags`).
    Deauth = 4,
    /// Disassociation seen on the air.
    Disassoc = 5,
    /// The station interface lost / regained its carrier (kernel hook).
    CarrierOff = 6,
    CarrierOn = 7,
    /// cfg80211 handed a management frame up (`cfg80211_rx_mlme_mgmt`): `subtype`, `reason`.
    MlmeRx = 8,
    /// cfg80211 sent a management frame on the station's behalf (`cfg80211_tx_mlme_mgmt`).
    MlmeTx = 9,
    /// mac80211 detected beacon loss (`api_beacon_loss` / `api_cqm_beacon_loss_notify`).
    BeaconLoss = 10,
    /// mac80211 gave up on the AP (`api_connection_loss`).
    ConnectionLoss = 11,
    /// A CQM RSSI threshold was crossed (`value` = RSSI level, `reason` = threshold event).
    CqmRssi = 12,
    /// A neighbour entry of the station interface was resolved while the window was open.
    NeighResolved = 13,
    /// The associated AP sent a data frame after the agent armed `FilterConfig::watch_data`.
    FirstData = 14,
    /// mac80211 opened the station's 802.1X port to the AP in `bssid` (`drv_sta_state` to
    /// AUTHORIZED): data flows from here, so what waits for it may be released.
    PortAuthorized = 15,
    /// The station sent a data packet while nothing had come from its AP for
    /// [`LinkConfig::quiet_ns`] (`value` = ns since the AP was last heard or acknowledged): worth
    /// asking the AP whether it is still there. At most one per `quiet_ns`.
    ///
    /// [`LinkConfig::quiet_ns`]: crate::maps::LinkConfig::quiet_ns
    TxUnanswered = 16,
}

impl EventKind {
    pub fn from_u32(v: u32) -> Option<Self> {
        use EventKind::*;
        Some(match v {
            1 => BssNew,
            2 => BssSilent,
            3 => BssHeard,
            4 => Deauth,
            5 => Disassoc,
            6 => CarrierOff,
            7 => CarrierOn,
            8 => MlmeRx,
            9 => MlmeTx,
            10 => BeaconLoss,
            11 => ConnectionLoss,
            12 => CqmRssi,
            13 => NeighResolved,
            14 => FirstData,
            15 => PortAuthorized,
            16 => TxUnanswered,
            _ => return None,
        })
    }

    /// The kind's name in snake case, as the agent labels it in metrics and logs.
    pub fn name(self) -> &'static str {
        use EventKind::*;
        match self {
            BssNew => "bss_new",
            BssSilent => "bss_silent",
            BssHeard => "bss_heard",
            Deauth => "deauth",
            Disassoc => "disassoc",
            CarrierOff => "carrier_off",
            CarrierOn => "carrier_on",
            MlmeRx => "mlme_rx",
            MlmeTx => "mlme_tx",
            BeaconLoss => "beacon_loss",
            ConnectionLoss => "connection_loss",
            CqmRssi => "cqm_rssi",
            NeighResolved => "neigh_resolved",
            FirstData => "first_data",
            PortAuthorized => "port_authorized",
            TxUnanswered => "tx_unanswered",
        }
    }
}

/// The transmitter was the AP (addr2 == BSSID).
pub const EVENT_FLAG_FROM_AP: u8 = 1 << 0;
/// The frame was protected (PMF): its reason code is not readable on the air.
pub const EVENT_FLAG_PROTECTED: u8 = 1 << 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Event {
    pub kind: u32,
    /// Interface the event belongs to (tracepoint and carrier events), 0 for air frames.
    pub ifindex: u32,
    /// CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns).
    pub ts_ns: u64,
    /// Kind-specific: ns unheard (BssSilent), beacon interval TU (BssNew), RSSI (CqmRssi).
    pub value: u64,
    pub bssid: MacAddr,
    pub addr1: MacAddr,
    pub addr2: MacAddr,
    pub reason: u16,
    pub freq_mhz: u16,
    pub signal_dbm: i8,
    pub flags: u8,
    pub subtype: u8,
    pub _pad: [u8; 3],
    pub ssid_hash: u32,
}

impl Event {
    pub fn kind(&self) -> Option<EventKind> {
        EventKind::from_u32(self.kind)
    }
}

#[cfg(feature = "user")]
// SAFETY: #[repr(C)], integers and byte arrays only, explicit padding.
unsafe impl aya::Pod for Event {}

#[cfg(test)]
mod tests {
    #[test]
    fn event_has_no_implicit_padding() {
        // 4+4+8+8 + 6*3 + 2+2+1+1+1+3 + 4 = 56
        assert_eq!(core::mem::size_of::<super::Event>(), 56);
        for v in 1..=16 {
            assert_eq!(super::EventKind::from_u32(v).map(|k| k as u32), Some(v));
        }
        assert_eq!(super::EventKind::from_u32(0), None);
        assert_eq!(super::EventKind::from_u32(17), None);
    }

    #[test]
    fn kind_names_are_distinct_snake_case() {
        let names: Vec<&str> =
            (1..=16).filter_map(super::EventKind::from_u32).map(|k| k.name()).collect();
        assert_eq!(names.len(), 16);
        for (i, name) in names.iter().enumerate() {
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert!(!names[..i].contains(name), "{name} twice");
        }
    }
}
