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
    /// The associated BSS's smoothed signal fell below [`FilterConfig::weak_signal_x16`]
    /// (`signal_dbm`, `value` = the average in dBm x 16): worth watching its trend. Once until
    /// it is [`WEAK_REARM_X16`] above again.
    ///
    /// [`FilterConfig::weak_signal_x16`]: crate::maps::FilterConfig::weak_signal_x16
    /// [`WEAK_REARM_X16`]: crate::bss::WEAK_REARM_X16
    SignalWeak = 17,
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
            17 => SignalWeak,
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
            SignalWeak => "signal_weak",
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

    /// The record decoded: its kind's fields, typed. `None` for a kind this build does not
    /// know (a newer kernel object than the agent).
    pub fn decode(&self) -> Option<Stamped> {
        let kind = self.kind()?;
        let from_air = |kind| Leave {
            kind,
            bssid: self.bssid,
            receiver: self.addr1,
            transmitter: self.addr2,
            reason: self.reason,
            from_ap: self.flags & EVENT_FLAG_FROM_AP != 0,
            protected: self.flags & EVENT_FLAG_PROTECTED != 0,
        };
        let event = match kind {
            EventKind::BssNew => KernelEvent::BssNew {
                bssid: self.bssid,
                freq_mhz: self.freq_mhz,
                ssid_hash: self.ssid_hash,
                beacon_interval_tu: self.value as u16,
                protected: self.flags & EVENT_FLAG_PROTECTED != 0,
            },
            EventKind::BssSilent => {
                KernelEvent::BssSilent { bssid: self.bssid, unheard_ns: self.value }
            }
            EventKind::BssHeard => KernelEvent::BssHeard { bssid: self.bssid },
            EventKind::Deauth => KernelEvent::Leave(from_air(LeaveKind::Deauth)),
            EventKind::Disassoc => KernelEvent::Leave(from_air(LeaveKind::Disassoc)),
            EventKind::CarrierOff => KernelEvent::Carrier { up: false },
            EventKind::CarrierOn => KernelEvent::Carrier { up: true },
            EventKind::MlmeRx | EventKind::MlmeTx => KernelEvent::Mlme {
                sent: kind == EventKind::MlmeTx,
                subtype: self.subtype,
                bssid: self.bssid,
                reason: self.reason,
            },
            EventKind::BeaconLoss => KernelEvent::BeaconLoss,
            EventKind::ConnectionLoss => KernelEvent::ConnectionLoss,
            EventKind::CqmRssi => KernelEvent::CqmRssi {
                threshold_event: self.reason,
                rssi_dbm: self.value as i64 as i32,
            },
            EventKind::NeighResolved => KernelEvent::NeighResolved,
            EventKind::FirstData => KernelEvent::FirstData { bssid: self.bssid },
            EventKind::PortAuthorized => KernelEvent::PortAuthorized { peer: self.bssid },
            EventKind::TxUnanswered => KernelEvent::TxUnanswered { quiet_ns: self.value },
            EventKind::SignalWeak => {
                KernelEvent::SignalWeak { bssid: self.bssid, avg_x16: self.value as i64 as i32 }
            }
        };
        Some(Stamped { at_ns: self.ts_ns, ifindex: self.ifindex, event })
    }
}

/// A kernel event with when it happened (CLOCK_MONOTONIC ns) and the interface it belongs to
/// (0 for frames heard on the air).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamped {
    pub at_ns: u64,
    pub ifindex: u32,
    pub event: KernelEvent,
}

/// What a ring record says, decoded once at the ring ([`Event::decode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KernelEvent {
    /// A beacon or probe response from a BSS new to the table.
    BssNew {
        bssid: MacAddr,
        freq_mhz: u16,
        ssid_hash: u32,
        beacon_interval_tu: u16,
        protected: bool,
    },
    /// The monitor stopped hearing the associated BSS.
    BssSilent { bssid: MacAddr, unheard_ns: u64 },
    /// A BSS reported silent was heard again.
    BssHeard { bssid: MacAddr },
    /// A deauthentication or disassociation to or from the station, seen on the air.
    Leave(Leave),
    /// The station interface's carrier (kernel hook).
    Carrier { up: bool },
    /// A management frame cfg80211 handed up (`sent: false`) or sent for the station.
    Mlme { sent: bool, subtype: u8, bssid: MacAddr, reason: u16 },
    /// mac80211 (or the driver) detected beacon loss and starts probing the AP.
    BeaconLoss,
    /// mac80211 gave up on the AP.
    ConnectionLoss,
    /// A CQM RSSI threshold was crossed.
    CqmRssi { threshold_event: u16, rssi_dbm: i32 },
    /// A neighbour entry of the station interface was resolved while the window was open.
    NeighResolved,
    /// The associated AP sent a data frame after the agent armed the watch.
    FirstData { bssid: MacAddr },
    /// mac80211 opened the station's 802.1X port to `peer`: data flows from here.
    PortAuthorized { peer: MacAddr },
    /// The station sent while nothing had come from its AP for `quiet_ns`.
    TxUnanswered { quiet_ns: u64 },
    /// The associated BSS's smoothed signal fell below the agent's watch level.
    SignalWeak { bssid: MacAddr, avg_x16: i32 },
}

impl KernelEvent {
    /// The record kind it came from (its name labels the metrics).
    pub fn kind(&self) -> EventKind {
        match self {
            KernelEvent::BssNew { .. } => EventKind::BssNew,
            KernelEvent::BssSilent { .. } => EventKind::BssSilent,
            KernelEvent::BssHeard { .. } => EventKind::BssHeard,
            KernelEvent::Leave(Leave { kind: LeaveKind::Deauth, .. }) => EventKind::Deauth,
            KernelEvent::Leave(Leave { kind: LeaveKind::Disassoc, .. }) => EventKind::Disassoc,
            KernelEvent::Carrier { up: false } => EventKind::CarrierOff,
            KernelEvent::Carrier { up: true } => EventKind::CarrierOn,
            KernelEvent::Mlme { sent: false, .. } => EventKind::MlmeRx,
            KernelEvent::Mlme { sent: true, .. } => EventKind::MlmeTx,
            KernelEvent::BeaconLoss => EventKind::BeaconLoss,
            KernelEvent::ConnectionLoss => EventKind::ConnectionLoss,
            KernelEvent::CqmRssi { .. } => EventKind::CqmRssi,
            KernelEvent::NeighResolved => EventKind::NeighResolved,
            KernelEvent::FirstData { .. } => EventKind::FirstData,
            KernelEvent::PortAuthorized { .. } => EventKind::PortAuthorized,
            KernelEvent::TxUnanswered { .. } => EventKind::TxUnanswered,
            KernelEvent::SignalWeak { .. } => EventKind::SignalWeak,
        }
    }
}

/// A deauthentication or disassociation frame seen on the air.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leave {
    pub kind: LeaveKind,
    pub bssid: MacAddr,
    /// addr1.
    pub receiver: MacAddr,
    /// addr2.
    pub transmitter: MacAddr,
    /// Its reason code; not readable when `protected`.
    pub reason: u16,
    /// The transmitter was the AP (addr2 == BSSID).
    pub from_ap: bool,
    /// Protected (PMF): only the AP, with the station's key, could have sent it.
    pub protected: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaveKind {
    Deauth,
    Disassoc,
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
        for v in 1..=17 {
            assert_eq!(super::EventKind::from_u32(v).map(|k| k as u32), Some(v));
        }
        assert_eq!(super::EventKind::from_u32(0), None);
        assert_eq!(super::EventKind::from_u32(18), None);
    }

    #[test]
    fn every_known_record_decodes_back_to_its_kind() {
        use super::*;
        for v in 1..=17 {
            let record = Event { kind: v, ts_ns: 7, ifindex: 3, ..Event::default() };
            let stamped = record.decode().expect("a known kind decodes");
            assert_eq!(stamped.event.kind() as u32, v);
            assert_eq!((stamped.at_ns, stamped.ifindex), (7, 3));
        }
        assert_eq!(Event { kind: 99, ..Event::default() }.decode(), None);
    }

    #[test]
    fn fields_decode_typed() {
        use super::*;
        let ap = MacAddr([2, 0, 0, 0, 1, 0]);
        let sta = MacAddr([2, 0, 0, 0, 9, 9]);
        let deauth = Event {
            kind: EventKind::Deauth as u32,
            bssid: ap,
            addr1: sta,
            addr2: ap,
            reason: 3,
            flags: EVENT_FLAG_FROM_AP,
            ..Event::default()
        };
        assert_eq!(
            deauth.decode().unwrap().event,
            KernelEvent::Leave(Leave {
                kind: LeaveKind::Deauth,
                bssid: ap,
                receiver: sta,
                transmitter: ap,
                reason: 3,
                from_ap: true,
                protected: false,
            })
        );
        let rssi = Event {
            kind: EventKind::CqmRssi as u32,
            reason: 1,
            value: -70i64 as u64,
            ..Event::default()
        };
        assert_eq!(
            rssi.decode().unwrap().event,
            KernelEvent::CqmRssi { threshold_event: 1, rssi_dbm: -70 }
        );
        let new = Event {
            kind: EventKind::BssNew as u32,
            bssid: ap,
            freq_mhz: 2412,
            ssid_hash: 0xfeed,
            value: 100,
            flags: EVENT_FLAG_PROTECTED,
            ..Event::default()
        };
        assert_eq!(
            new.decode().unwrap().event,
            KernelEvent::BssNew {
                bssid: ap,
                freq_mhz: 2412,
                ssid_hash: 0xfeed,
                beacon_interval_tu: 100,
                protected: true
            }
        );
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
