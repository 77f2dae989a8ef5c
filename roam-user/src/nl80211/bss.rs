//! cfg80211's table of known BSSes (NL80211_CMD_GET_SCAN), as [`ScanBss`].

use roam_common::MacAddr;
use wl_nl80211::{Nl80211Attr, Nl80211BssInfo, Nl80211Message};

use super::client::{iface_label, Nl80211};
use super::error::{Op, Result};
use super::ies::parse_bss_elements;
use super::messages;

/// Our relation to a BSS (NL80211_BSS_STATUS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BssStatus {
    /// No status attribute: just a BSS we heard.
    None,
    Authenticated,
    Associated,
    IbssJoined,
}

impl BssStatus {
    fn from_kernel(status: u32) -> Self {
        // enum nl80211_bss_status
        match status {
            0 => BssStatus::Authenticated,
            1 => BssStatus::Associated,
            2 => BssStatus::IbssJoined,
            _ => BssStatus::None,
        }
    }
}

/// One BSS (one AP radio) from the kernel's scan table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanBss {
    pub bssid: MacAddr,
    pub freq_mhz: u32,
    /// Received signal in mBm (dBm × 100), when the driver reports dBm.
    pub signal_mbm: Option<i32>,
    /// Age of the entry: how long ago a beacon or probe response last
    /// updated it.
    pub seen_ms_ago: Option<u32>,
    /// From the SSID element (see [`super::ies::BssElements::ssid`]).
    pub ssid: Option<Vec<u8>>,
    /// Beacon interval in TU (1024 µs); 0 if the kernel did not say.
    pub beacon_interval_tu: u16,
    /// The Capability Information field (bit 4: privacy); 0 if absent.
    pub capability: u16,
    /// An RSN element is present: WPA2/WPA3, not an open network.
    pub has_rsn: bool,
    pub status: BssStatus,
}

impl ScanBss {
    /// Signal in whole dBm, rounded towards zero.
    pub fn signal_dbm(&self) -> Option<i32> {
        self.signal_mbm.map(|mbm| mbm / 100)
    }

    /// Reads one BSS from its NL80211_ATTR_BSS attributes. Pure. `None`
    /// without a BSSID or frequency, which the kernel always sends.
    pub fn from_bss_info(info: &[Nl80211BssInfo]) -> Option<Self> {
        let mut bssid = None;
        let mut freq_mhz = None;
        let mut signal_mbm = None;
        let mut seen_ms_ago = None;
        let mut beacon_interval_tu = 0;
        let mut capability = 0;
        let mut status = BssStatus::None;
        // INFORMATION_ELEMENTS are the latest frame's (probe response if
        // any, else beacon); BEACON_IES only when there is nothing else.
        let mut ies = None;
        let mut beacon_ies = None;
        for item in info {
            match item {
                Nl80211BssInfo::Bssid(v) => bssid = Some(*v),
                Nl80211BssInfo::Frequency(v) => freq_mhz = Some(*v),
                Nl80211BssInfo::SignalMbm(v) => signal_mbm = Some(*v),
                Nl80211BssInfo::SeenMsAgo(v) => seen_ms_ago = Some(*v),
                Nl80211BssInfo::BeaconInterval(v) => beacon_interval_tu = *v,
                Nl80211BssInfo::Capability(v) => capability = v.bits(),
                Nl80211BssInfo::Status(v) => status = BssStatus::from_kernel(*v),
                Nl80211BssInfo::RawInformationElements(v) => ies = Some(v.as_slice()),
                Nl80211BssInfo::RawBeaconInformationElements(v) => beacon_ies = Some(v.as_slice()),
                _ => {}
            }
        }
        let elements = parse_bss_elements(ies.or(beacon_ies).unwrap_or_default());
        Some(ScanBss {
            bssid: MacAddr(bssid?),
            freq_mhz: freq_mhz?,
            signal_mbm,
            seen_ms_ago,
            ssid: elements.ssid,
            beacon_interval_tu,
            capability,
            has_rsn: elements.has_rsn,
            status,
        })
    }

    /// Reads the BSS out of one GET_SCAN dump message.
    pub fn from_message(message: &Nl80211Message) -> Option<Self> {
        message.attributes.iter().find_map(|attr| match attr {
            Nl80211Attr::Bss(info) => Self::from_bss_info(info),
            _ => None,
        })
    }
}

impl Nl80211 {
    /// Every BSS cfg80211 currently knows on this interface's radio: the
    /// results of the last scans (ours or anybody's), aged out by the
    /// kernel after about 30 s.
    pub async fn scan_results(&self, ifindex: u32) -> Result<Vec<ScanBss>> {
        let label = iface_label(ifindex);
        let replies = self.dump(messages::get_scan(ifindex), Op::GetScan, &label).await?;
        Ok(replies.messages.iter().filter_map(ScanBss::from_message).collect())
    }
}

#[cfg(test)]
mod tests {
    use wl_nl80211::packet_core::{Emitable, ParseableParametrized};
    use wl_nl80211::packet_generic::GenlHeader;
    use wl_nl80211::{Ieee80211CapabilityInfo, Nl80211Command};

    use super::*;

    const BSSID: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);

    fn ies(ssid: &[u8], rsn: bool) -> Vec<u8> {
        let mut v = vec![0, ssid.len() as u8];
        v.extend_from_slice(ssid);
        v.extend_from_slice(&[1, 1, 0x82]);
        if rsn {
            v.extend_from_slice(&[48, 2, 1, 0]);
        }
        v
    }

    fn info(extra: Vec<Nl80211BssInfo>) -> Vec<Nl80211BssInfo> {
        let mut v = vec![
            Nl80211BssInfo::Bssid(BSSID.0),
            Nl80211BssInfo::Frequency(2437),
            Nl80211BssInfo::Tsf(123_456),
            Nl80211BssInfo::BeaconInterval(100),
            Nl80211BssInfo::Capability(Ieee80211CapabilityInfo::Ess),
            Nl80211BssInfo::SignalMbm(-4_200),
            Nl80211BssInfo::SeenMsAgo(40),
        ];
        v.extend(extra);
        v
    }

    #[test]
    fn open_bss_is_read_in_full() {
        let bss = ScanBss::from_bss_info(&info(vec![Nl80211BssInfo::RawInformationElements(ies(
            b"roam-open",
            false,
        ))]))
        .unwrap();
        assert_eq!(
            bss,
            ScanBss {
                bssid: BSSID,
                freq_mhz: 2437,
                signal_mbm: Some(-4200),
                seen_ms_ago: Some(40),
                ssid: Some(b"roam-open".to_vec()),
                beacon_interval_tu: 100,
                capability: 1,
                has_rsn: false,
                status: BssStatus::None,
            }
        );
        assert_eq!(bss.signal_dbm(), Some(-42));
    }

    #[test]
    fn associated_protected_bss() {
        let bss = ScanBss::from_bss_info(&info(vec![
            Nl80211BssInfo::RawInformationElements(ies(b"wpa", true)),
            Nl80211BssInfo::Status(1),
        ]))
        .unwrap();
        assert!(bss.has_rsn);
        assert_eq!(bss.status, BssStatus::Associated);
    }

    #[test]
    fn beacon_ies_are_the_fallback_only() {
        let only_beacon =
            ScanBss::from_bss_info(&info(vec![Nl80211BssInfo::RawBeaconInformationElements(ies(
                b"beacon", false,
            ))]))
            .unwrap();
        assert_eq!(only_beacon.ssid.as_deref(), Some(&b"beacon"[..]));

        // A hidden network: the beacon hides the SSID, the probe response
        // (in INFORMATION_ELEMENTS) tells it.
        let both = ScanBss::from_bss_info(&info(vec![
            Nl80211BssInfo::RawBeaconInformationElements(ies(b"", false)),
            Nl80211BssInfo::RawInformationElements(ies(b"hidden", false)),
        ]))
        .unwrap();
        assert_eq!(both.ssid.as_deref(), Some(&b"hidden"[..]));
    }

    #[test]
    fn missing_bssid_or_frequency_is_no_bss() {
        let no_freq: Vec<_> = info(vec![])
            .into_iter()
            .filter(|i| !matches!(i, Nl80211BssInfo::Frequency(_)))
            .collect();
        assert_eq!(ScanBss::from_bss_info(&no_freq), None);
        let no_bssid: Vec<_> =
            info(vec![]).into_iter().filter(|i| !matches!(i, Nl80211BssInfo::Bssid(_))).collect();
        assert_eq!(ScanBss::from_bss_info(&no_bssid), None);
    }

    #[test]
    fn entries_without_signal_or_ies_still_count() {
        let bare = vec![Nl80211BssInfo::Bssid(BSSID.0), Nl80211BssInfo::Frequency(5180)];
        let bss = ScanBss::from_bss_info(&bare).unwrap();
        assert_eq!((bss.signal_mbm, bss.ssid.clone(), bss.has_rsn), (None, None, false));
        assert_eq!(bss.signal_dbm(), None);
    }

    #[test]
    fn dump_message_in_kernel_format() {
        let message = Nl80211Message {
            cmd: Nl80211Command::NewScanResults,
            attributes: vec![
                Nl80211Attr::Generation(3),
                Nl80211Attr::IfIndex(4),
                Nl80211Attr::Wdev(1),
                Nl80211Attr::Bss(info(vec![
                    Nl80211BssInfo::RawInformationElements(ies(b"roam-open", false)),
                    Nl80211BssInfo::Status(0),
                ])),
            ],
        };
        let mut buf = vec![0u8; message.buffer_len()];
        message.emit(&mut buf);
        let header = GenlHeader { cmd: message.cmd.into(), version: 1 };
        let parsed = Nl80211Message::parse_with_param(&buf[..], header).unwrap();
        let bss = ScanBss::from_message(&parsed).unwrap();
        assert_eq!(bss.bssid, BSSID);
        assert_eq!(bss.ssid.as_deref(), Some(&b"roam-open"[..]));
        assert_eq!(bss.status, BssStatus::Authenticated);
        assert_eq!(bss.signal_mbm, Some(-4200));
    }
}
