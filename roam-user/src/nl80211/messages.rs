//! The nl80211 requests roam sends, built as wl-nl80211 [`Nl80211Message`]s.
//!
//! Pure: no socket here, so every request is unit-tested down to its
//! attributes and its bytes. Arguments the kernel would refuse with a bare
//! EINVAL (an SSID of 33 bytes, an interface name of 16) are refused here
//! with a message that says which limit was hit.

use roam_common::MacAddr;
use wl_nl80211::{
    Nl80211Attr, Nl80211AuthType, Nl80211Command, Nl80211InterfaceType, Nl80211Message,
};

use super::error::{Nl80211Error, Result};

/// IEEE 802.11 SSIDs are 0..=32 octets (any octets, not text).
pub const SSID_MAX_LEN: usize = 32;
/// IFNAMSIZ (16) minus the terminating NUL.
pub const IFNAME_MAX_LEN: usize = 15;
/// WLAN_REASON_DEAUTH_LEAVING: "I am leaving the BSS", what `iw disconnect`
/// and the kernel itself use by default.
pub const REASON_DEAUTH_LEAVING: u16 = 3;

fn message(cmd: Nl80211Command, attributes: Vec<Nl80211Attr>) -> Nl80211Message {
    Nl80211Message { cmd, attributes }
}

/// Rejects names the kernel would refuse (or that `ip` could not handle).
pub fn validate_ifname(name: &str) -> Result<()> {
    let bad =
        |why: &str| Err(Nl80211Error::InvalidArgument(format!("interface name {name:?} {why}")));
    if name.is_empty() {
        return bad("is empty");
    }
    if name.len() > IFNAME_MAX_LEN {
        return bad(&format!("is longer than {IFNAME_MAX_LEN} bytes"));
    }
    if name == "." || name == ".." {
        return bad("is reserved");
    }
    if name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control()) {
        return bad("contains '/', ':', whitespace or control characters");
    }
    Ok(())
}

fn validate_ssid(ssid: &[u8], what: &str) -> Result<()> {
    if ssid.len() > SSID_MAX_LEN {
        return Err(Nl80211Error::InvalidArgument(format!(
            "{what} SSID is {} bytes, 802.11 allows at most {SSID_MAX_LEN}",
            ssid.len()
        )));
    }
    Ok(())
}

/// NL80211_CMD_GET_WIPHY for one radio, as a split dump (a radio's whole description does not
/// fit one message).
pub(crate) fn get_wiphy(wiphy: u32) -> Nl80211Message {
    message(Nl80211Command::GetWiphy, vec![Nl80211Attr::Wiphy(wiphy), Nl80211Attr::SplitWiphyDump])
}

/// NL80211_CMD_GET_INTERFACE for one interface (a doit, not a dump).
pub(crate) fn get_interface(ifindex: u32) -> Nl80211Message {
    message(Nl80211Command::GetInterface, vec![Nl80211Attr::IfIndex(ifindex)])
}

/// NL80211_CMD_GET_STATION for every station entry of an interface (a managed one has one:
/// its AP).
pub(crate) fn get_station(ifindex: u32) -> Nl80211Message {
    message(Nl80211Command::GetStation, vec![Nl80211Attr::IfIndex(ifindex)])
}

/// NL80211_CMD_NEW_INTERFACE: a monitor vif named `name` on `wiphy`. No
/// NL80211_ATTR_MNTR_FLAGS: mac80211's default (control + other-BSS frames)
/// is what a passive observer wants.
pub(crate) fn new_monitor_interface(wiphy: u32, name: &str) -> Result<Nl80211Message> {
    validate_ifname(name)?;
    Ok(message(
        Nl80211Command::NewInterface,
        vec![
            Nl80211Attr::Wiphy(wiphy),
            Nl80211Attr::IfName(name.to_owned()),
            Nl80211Attr::IfType(Nl80211InterfaceType::Monitor),
        ],
    ))
}

/// NL80211_CMD_DEL_INTERFACE by ifindex. (`ip link del` cannot remove a
/// mac80211 vif: only cfg80211 can.)
pub(crate) fn del_interface(ifindex: u32) -> Nl80211Message {
    message(Nl80211Command::DelInterface, vec![Nl80211Attr::IfIndex(ifindex)])
}

/// NL80211_CMD_DEL_INTERFACE by wireless device id. Wdev ids are never
/// reused (unlike ifindexes after a while), so a late cleanup cannot hit
/// somebody else's interface.
pub(crate) fn del_wdev(wdev: u64) -> Nl80211Message {
    message(Nl80211Command::DelInterface, vec![Nl80211Attr::Wdev(wdev)])
}

/// NL80211_CMD_TRIGGER_SCAN. No frequencies means every usable channel. The
/// SSID list is what probe requests ask for: the given SSID (which also
/// finds hidden networks), or the wildcard (empty) SSID. Beacons of every
/// network on the scanned channels are recorded either way.
pub(crate) fn trigger_scan(
    ifindex: u32,
    freqs_mhz: &[u32],
    ssid: Option<&[u8]>,
) -> Result<Nl80211Message> {
    if let Some(ssid) = ssid {
        validate_ssid(ssid, "scan")?;
    }
    if freqs_mhz.contains(&0) {
        return Err(Nl80211Error::InvalidArgument("scan frequency 0 MHz".to_owned()));
    }
    let mut attributes = vec![Nl80211Attr::IfIndex(ifindex)];
    if !freqs_mhz.is_empty() {
        attributes.push(Nl80211Attr::ScanFrequencies(freqs_mhz.to_vec()));
    }
    attributes.push(Nl80211Attr::ScanSsidsRaw(vec![ssid.unwrap_or_default().to_vec()]));
    Ok(message(Nl80211Command::TriggerScan, attributes))
}

/// NL80211_CMD_FRAME: one management frame sent as it is on `freq_mhz`, off the operating
/// channel if need be (a station that is not associated has none), its TX status reported
/// as NL80211_CMD_FRAME_TX_STATUS.
pub(crate) fn frame(ifindex: u32, freq_mhz: u32, frame: Vec<u8>) -> Nl80211Message {
    message(
        Nl80211Command::Frame,
        vec![
            Nl80211Attr::IfIndex(ifindex),
            Nl80211Attr::WiphyFreq(freq_mhz),
            Nl80211Attr::OffchannelTxOk,
            Nl80211Attr::Frame(frame),
        ],
    )
}

/// NL80211_CMD_GET_SCAN (sent as a dump): cfg80211's BSS table for the
/// interface's radio.
pub(crate) fn get_scan(ifindex: u32) -> Nl80211Message {
    message(Nl80211Command::GetScan, vec![Nl80211Attr::IfIndex(ifindex)])
}

/// NL80211_CMD_CONNECT to one BSS of an open network: SSID, BSSID
/// (NL80211_ATTR_MAC, a requirement, unlike MAC_HINT) and frequency
/// (WIPHY_FREQ, also a requirement), open system authentication, no
/// privacy. cfg80211's own SME then authenticates and associates.
pub(crate) fn connect(
    ifindex: u32,
    ssid: &[u8],
    bssid: MacAddr,
    freq_mhz: u32,
) -> Result<Nl80211Message> {
    if ssid.is_empty() {
        return Err(Nl80211Error::InvalidArgument(
            "connect needs the network's SSID (it is empty)".to_owned(),
        ));
    }
    validate_ssid(ssid, "connect")?;
    if freq_mhz == 0 {
        return Err(Nl80211Error::InvalidArgument("connect frequency 0 MHz".to_owned()));
    }
    Ok(message(
        Nl80211Command::Connect,
        vec![
            Nl80211Attr::IfIndex(ifindex),
            Nl80211Attr::SsidRaw(ssid.to_vec()),
            Nl80211Attr::Mac(bssid.0),
            Nl80211Attr::WiphyFreq(freq_mhz),
            Nl80211Attr::AuthType(Nl80211AuthType::OpenSystem),
        ],
    ))
}

/// NL80211_CMD_DISCONNECT with "leaving" as the reason.
pub(crate) fn disconnect(ifindex: u32) -> Nl80211Message {
    message(
        Nl80211Command::Disconnect,
        vec![Nl80211Attr::IfIndex(ifindex), Nl80211Attr::ReasonCode(REASON_DEAUTH_LEAVING)],
    )
}

#[cfg(test)]
mod tests {
    use wl_nl80211::packet_core::{Emitable, NlasIterator, ParseableParametrized};
    use wl_nl80211::packet_generic::GenlHeader;

    use super::*;

    /// The attribute bytes the kernel would receive, as (type, value) pairs.
    fn wire(message: &Nl80211Message) -> Vec<(u16, Vec<u8>)> {
        let mut buf = vec![0u8; message.buffer_len()];
        message.emit(&mut buf);
        NlasIterator::new(&buf[..])
            .map(|nla| {
                let nla = nla.unwrap();
                (nla.kind(), nla.value().to_vec())
            })
            .collect()
    }

    /// Emits and parses back, as the kernel-format round trip.
    fn round_trip(message: &Nl80211Message) -> Nl80211Message {
        let mut buf = vec![0u8; message.buffer_len()];
        message.emit(&mut buf);
        let header = GenlHeader { cmd: message.cmd.into(), version: 1 };
        Nl80211Message::parse_with_param(&buf[..], header).unwrap()
    }

    #[test]
    fn connect_carries_ssid_bssid_freq_and_open_auth() {
        let bssid = [2, 0, 0, 0, 1, 0];
        let msg = connect(4, b"roam-test", MacAddr(bssid), 2412).unwrap();
        assert_eq!(u8::from(msg.cmd), 46); // NL80211_CMD_CONNECT
        let attrs = wire(&msg);
        assert_eq!(
            attrs,
            vec![
                (3, 4u32.to_ne_bytes().to_vec()),     // IFINDEX
                (52, b"roam-test".to_vec()),          // SSID, no NUL
                (6, bssid.to_vec()),                  // MAC
                (38, 2412u32.to_ne_bytes().to_vec()), // WIPHY_FREQ
                (53, 0u32.to_ne_bytes().to_vec()),    // AUTH_TYPE open
            ]
        );
    }

    #[test]
    fn connect_keeps_non_utf8_ssids_byte_exact() {
        let ssid = [0xff, 0x00, 0xc3];
        let msg = connect(4, &ssid, MacAddr([0; 6]), 5180).unwrap();
        assert!(wire(&msg).contains(&(52, ssid.to_vec())));
        let back = round_trip(&msg);
        assert!(back.attributes.contains(&Nl80211Attr::SsidRaw(ssid.to_vec())));
    }

    #[test]
    fn connect_refuses_what_the_kernel_would() {
        assert!(matches!(
            connect(4, b"", MacAddr([0; 6]), 2412),
            Err(Nl80211Error::InvalidArgument(_))
        ));
        let long = [b'a'; 33];
        let err = connect(4, &long, MacAddr([0; 6]), 2412).unwrap_err().to_string();
        assert!(err.contains("at most 32"), "{err}");
        assert!(connect(4, b"x", MacAddr([0; 6]), 0).is_err());
    }

    #[test]
    fn trigger_scan_lists_frequencies_and_the_probed_ssid() {
        let msg = trigger_scan(4, &[2412, 2437], Some(b"roam")).unwrap();
        assert_eq!(u8::from(msg.cmd), 33); // NL80211_CMD_TRIGGER_SCAN
        let back = round_trip(&msg);
        assert!(back.attributes.contains(&Nl80211Attr::ScanFrequencies(vec![2412, 2437])));
        assert!(back.attributes.contains(&Nl80211Attr::ScanSsidsRaw(vec![b"roam".to_vec()])));

        // The nested lists are what nl80211_trigger_scan() walks with
        // nla_for_each_nested: u32 frequencies, binary SSIDs.
        let attrs = wire(&msg);
        let (_, freqs) = attrs.iter().find(|(kind, _)| *kind == 44).unwrap();
        let nested: Vec<Vec<u8>> =
            NlasIterator::new(&freqs[..]).map(|n| n.unwrap().value().to_vec()).collect();
        assert_eq!(nested, vec![2412u32.to_ne_bytes().to_vec(), 2437u32.to_ne_bytes().to_vec()]);
    }

    #[test]
    fn trigger_scan_without_ssid_probes_the_wildcard_on_all_channels() {
        let msg = trigger_scan(4, &[], None).unwrap();
        let attrs = wire(&msg);
        assert!(!attrs.iter().any(|(kind, _)| *kind == 44), "no SCAN_FREQUENCIES");
        let (_, ssids) = attrs.iter().find(|(kind, _)| *kind == 45).unwrap();
        let nested: Vec<Vec<u8>> =
            NlasIterator::new(&ssids[..]).map(|n| n.unwrap().value().to_vec()).collect();
        assert_eq!(nested, vec![Vec::<u8>::new()]);
    }

    #[test]
    fn trigger_scan_refuses_bad_arguments() {
        assert!(trigger_scan(4, &[0], None).is_err());
        assert!(trigger_scan(4, &[], Some(&[0u8; 40])).is_err());
    }

    #[test]
    fn new_monitor_interface_names_wiphy_name_and_type() {
        let msg = new_monitor_interface(1, "roam-mon0").unwrap();
        let attrs = wire(&msg);
        assert_eq!(
            attrs,
            vec![
                (1, 1u32.to_ne_bytes().to_vec()), // WIPHY
                (4, b"roam-mon0\0".to_vec()),     // IFNAME, NUL-terminated string
                (5, 6u32.to_ne_bytes().to_vec()), // IFTYPE monitor
            ]
        );
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(validate_ifname("mon0").is_ok());
        assert!(validate_ifname("roam-mon-123456").is_ok()); // 15 bytes
        for bad in ["", "roam-mon-1234567", "a b", "a/b", "a:b", ".."] {
            assert!(validate_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deletion_by_ifindex_or_by_wdev() {
        assert_eq!(wire(&del_interface(9)), vec![(3, 9u32.to_ne_bytes().to_vec())]);
        let wdev = (1u64 << 32) | 2;
        assert_eq!(wire(&del_wdev(wdev)), vec![(153, wdev.to_ne_bytes().to_vec())]);
    }

    #[test]
    fn a_frame_goes_on_its_channel_even_off_the_operating_one() {
        let msg = frame(5, 2437, vec![0x40, 0]);
        assert_eq!(msg.cmd, Nl80211Command::Frame);
        assert_eq!(
            msg.attributes,
            vec![
                Nl80211Attr::IfIndex(5),
                Nl80211Attr::WiphyFreq(2437),
                Nl80211Attr::OffchannelTxOk,
                Nl80211Attr::Frame(vec![0x40, 0]),
            ]
        );
        assert_eq!(round_trip(&msg), msg);
    }

    #[test]
    fn disconnect_says_leaving() {
        let attrs = wire(&disconnect(4));
        assert!(attrs.contains(&(54, 3u16.to_ne_bytes().to_vec())));
    }

    #[test]
    fn get_requests_name_the_interface() {
        assert_eq!(u8::from(get_interface(4).cmd), 5);
        assert_eq!(u8::from(get_scan(4).cmd), 32);
        assert_eq!(wire(&get_scan(4)), vec![(3, 4u32.to_ne_bytes().to_vec())]);
    }
}
