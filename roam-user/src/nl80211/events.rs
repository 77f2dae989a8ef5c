//! nl80211 multicast events ("scan" and "mlme" groups) as [`MlmeEvent`]s.
//!
//! Decoded here from the raw attributes rather than through wl-nl80211's
//! `Nl80211Event`: that one drops the ifindex and the BSSID (the agent needs
//! both), and its full message parser rejects a whole event when any one
//! attribute looks wrong to it, while we need to see every disconnect. We
//! read only the handful of attributes below and skip the rest (the change request:
//! docs/upstream/wl-nl80211.md).

use roam_common::MacAddr;
use wl_nl80211::packet_core::NlasIterator;
use wl_nl80211::{Nl80211Attr, Nl80211Command};

/// What happened on an interface, in the kernel's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MlmeEvent {
    /// NL80211_CMD_TRIGGER_SCAN: a scan started (ours or anybody's).
    ScanStarted,
    /// NL80211_CMD_NEW_SCAN_RESULTS: a scan finished; results are in.
    NewScanResults,
    /// NL80211_CMD_SCAN_ABORTED: a scan ended early.
    ScanAborted,
    /// NL80211_CMD_CONNECT: the result of a connection attempt. Status 0 is
    /// success, anything else the AP's refusal (IEEE 802.11 status code).
    /// `timed_out` (status then 1, "unspecified failure") when the kernel
    /// gave up by itself: no answer from the AP, or the BSS not found by the
    /// scan cfg80211 runs before connecting to a BSS it does not know.
    Connect { bssid: Option<MacAddr>, status_code: u16, timed_out: bool },
    /// NL80211_CMD_ROAM: the driver or firmware moved to another BSS.
    Roamed { bssid: Option<MacAddr> },
    /// NL80211_CMD_DISCONNECT: the connection is gone. `by_ap` when the AP
    /// (or losing it) ended it rather than a local request. The reason is
    /// absent on some kernels for local disconnects.
    Disconnect { reason: Option<u16>, by_ap: bool },
    /// NL80211_CMD_DEAUTHENTICATE, with the frame's fields. The kernel sends
    /// it for deauths received *and* sent: compare `source` with the
    /// interface's own MAC to tell them apart.
    Deauth { bssid: MacAddr, source: MacAddr, reason: u16 },
    /// NL80211_CMD_DISASSOCIATE, as [`MlmeEvent::Deauth`].
    Disassoc { bssid: MacAddr, source: MacAddr, reason: u16 },
    /// NL80211_CMD_FRAME_TX_STATUS: what became of a frame sent with
    /// NL80211_CMD_FRAME (`cookie` from its reply): `acked` when the peer's
    /// 802.11 ACK came back.
    FrameTxStatus { cookie: u64, acked: bool },
    /// The event socket overflowed (ENOBUFS): some events were lost, so the
    /// state must be re-read (GET_INTERFACE, GET_SCAN) rather than inferred.
    EventsLost,
}

impl MlmeEvent {
    /// A successful NL80211_CMD_CONNECT.
    pub fn is_connected(&self) -> bool {
        matches!(self, MlmeEvent::Connect { status_code: 0, timed_out: false, .. })
    }
}

// Attribute numbers from include/uapi/linux/nl80211.h that wl-nl80211 0.8
// does not model (they land in its `Other` variant).
const NL80211_ATTR_TIMED_OUT: u16 = 65;
const NL80211_ATTR_DISCONNECTED_BY_AP: u16 = 71;
/// WLAN_STATUS_UNSPECIFIED_FAILURE, assumed when a connect event lacks a
/// status: never report success we were not told about.
const STATUS_UNSPECIFIED_FAILURE: u16 = 1;

/// Size of a netlink attribute's (length, type) header.
const NLA_HEADER_LEN: usize = 4;

fn attr_kind(attr: Nl80211Attr) -> u16 {
    use wl_nl80211::packet_core::Nla;
    attr.kind()
}

/// The attributes events carry that we read.
#[derive(Debug, Default)]
struct EventAttrs<'a> {
    ifindex: Option<u32>,
    mac: Option<MacAddr>,
    status: Option<u16>,
    reason: Option<u16>,
    timed_out: bool,
    by_ap: bool,
    frame: Option<&'a [u8]>,
    cookie: Option<u64>,
    ack: bool,
}

fn read_u32(value: &[u8]) -> Option<u32> {
    Some(u32::from_ne_bytes(value.get(..4)?.try_into().ok()?))
}

fn read_u16(value: &[u8]) -> Option<u16> {
    Some(u16::from_ne_bytes(value.get(..2)?.try_into().ok()?))
}

fn read_u64(value: &[u8]) -> Option<u64> {
    Some(u64::from_ne_bytes(value.get(..8)?.try_into().ok()?))
}

fn read_mac(value: &[u8]) -> Option<MacAddr> {
    value.try_into().ok()
}

fn event_attrs(payload: &[u8]) -> EventAttrs<'_> {
    let ifindex = attr_kind(Nl80211Attr::IfIndex(0));
    let mac = attr_kind(Nl80211Attr::Mac([0; 6]));
    let frame = attr_kind(Nl80211Attr::Frame(Vec::new()));
    let reason = attr_kind(Nl80211Attr::ReasonCode(0));
    let status = attr_kind(Nl80211Attr::StatusCode(0.into()));
    let cookie = attr_kind(Nl80211Attr::Cookie(0));
    let ack = attr_kind(Nl80211Attr::Ack);
    let mut attrs = EventAttrs::default();
    for nla in NlasIterator::new(payload) {
        // A malformed attribute ends the walk; what was read so far stands.
        let Ok(nla) = nla else { break };
        let kind = nla.kind();
        // NlaBuffer::value() borrows the iterator item; slice the payload
        // itself so values live as long as `payload`.
        let length = usize::from(nla.length());
        let Some(value) = nla.into_inner().get(NLA_HEADER_LEN..length) else { break };
        match kind {
            k if k == ifindex => attrs.ifindex = read_u32(value),
            k if k == mac => attrs.mac = read_mac(value),
            k if k == frame => attrs.frame = Some(value),
            k if k == reason => attrs.reason = read_u16(value),
            k if k == status => attrs.status = read_u16(value),
            k if k == cookie => attrs.cookie = read_u64(value),
            k if k == ack => attrs.ack = true,
            NL80211_ATTR_TIMED_OUT => attrs.timed_out = true,
            NL80211_ATTR_DISCONNECTED_BY_AP => attrs.by_ap = true,
            _ => {}
        }
    }
    attrs
}

/// Source address, BSSID and reason code of a deauthentication or
/// disassociation frame: 24-byte management header (addr2 at 10, addr3 at
/// 16), then the 2-byte little-endian reason.
pub fn mgmt_frame_reason(frame: &[u8]) -> Option<(MacAddr, MacAddr, u16)> {
    let source = frame.get(10..16)?.try_into().ok()?;
    let bssid = frame.get(16..22)?.try_into().ok()?;
    let reason = u16::from_le_bytes(frame.get(24..26)?.try_into().ok()?);
    Some((source, bssid, reason))
}

/// Decodes one nl80211 event from its generic netlink command and attribute
/// bytes. Returns the interface it is about and the event; `None` for
/// commands roam does not follow and events without an ifindex (P2P device
/// events have only a wdev).
pub fn decode_event(cmd: u8, payload: &[u8]) -> Option<(u32, MlmeEvent)> {
    let command = Nl80211Command::from(cmd);
    let attrs = event_attrs(payload);
    let ifindex = attrs.ifindex?;
    let event = match command {
        Nl80211Command::TriggerScan => MlmeEvent::ScanStarted,
        Nl80211Command::NewScanResults => MlmeEvent::NewScanResults,
        Nl80211Command::ScanAborted => MlmeEvent::ScanAborted,
        Nl80211Command::Connect => MlmeEvent::Connect {
            bssid: attrs.mac,
            status_code: attrs.status.unwrap_or(STATUS_UNSPECIFIED_FAILURE),
            timed_out: attrs.timed_out,
        },
        Nl80211Command::Roam => MlmeEvent::Roamed { bssid: attrs.mac },
        Nl80211Command::Disconnect => {
            MlmeEvent::Disconnect { reason: attrs.reason, by_ap: attrs.by_ap }
        }
        Nl80211Command::Deauthenticate => {
            let (source, bssid, reason) = mgmt_frame_reason(attrs.frame?)?;
            MlmeEvent::Deauth { bssid, source, reason }
        }
        Nl80211Command::Disassociate => {
            let (source, bssid, reason) = mgmt_frame_reason(attrs.frame?)?;
            MlmeEvent::Disassoc { bssid, source, reason }
        }
        Nl80211Command::FrameTxStatus => {
            MlmeEvent::FrameTxStatus { cookie: attrs.cookie?, acked: attrs.ack }
        }
        _ => return None,
    };
    Some((ifindex, event))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Netlink attributes as the kernel lays them out: 4-byte header
    /// (length, type), value, padding to 4 bytes.
    fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
        let len = 4 + value.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u16).to_ne_bytes());
        v.extend_from_slice(&kind.to_ne_bytes());
        v.extend_from_slice(value);
        v.resize(len.next_multiple_of(4), 0);
        v
    }

    fn payload(attrs: &[Vec<u8>]) -> Vec<u8> {
        attrs.concat()
    }

    const WIPHY: u16 = 1;
    const IFINDEX: u16 = 3;
    const MAC: u16 = 6;
    const FRAME: u16 = 51;
    const REASON: u16 = 54;
    const STATUS: u16 = 72;
    const REQ_IE: u16 = 77;
    const WDEV: u16 = 153;
    const BSSID: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);
    const OWN: MacAddr = MacAddr([2, 0, 0, 0, 0, 0]);

    // nl80211 commands (uapi numbers).
    const TRIGGER_SCAN: u8 = 33;
    const NEW_SCAN_RESULTS: u8 = 34;
    const SCAN_ABORTED: u8 = 35;
    const DEAUTHENTICATE: u8 = 39;
    const DISASSOCIATE: u8 = 40;
    const CONNECT: u8 = 46;
    const ROAM: u8 = 47;
    const DISCONNECT: u8 = 48;

    fn ifindex(i: u32) -> Vec<u8> {
        nla(IFINDEX, &i.to_ne_bytes())
    }

    #[test]
    fn our_attribute_numbers_match_the_crate_and_uapi() {
        assert_eq!(attr_kind(Nl80211Attr::IfIndex(0)), IFINDEX);
        assert_eq!(attr_kind(Nl80211Attr::Mac([0; 6])), MAC);
        assert_eq!(attr_kind(Nl80211Attr::Frame(vec![])), FRAME);
        assert_eq!(attr_kind(Nl80211Attr::ReasonCode(0)), REASON);
        assert_eq!(attr_kind(Nl80211Attr::StatusCode(0.into())), STATUS);
        for (cmd, number) in [
            (Nl80211Command::TriggerScan, TRIGGER_SCAN),
            (Nl80211Command::NewScanResults, NEW_SCAN_RESULTS),
            (Nl80211Command::ScanAborted, SCAN_ABORTED),
            (Nl80211Command::Deauthenticate, DEAUTHENTICATE),
            (Nl80211Command::Disassociate, DISASSOCIATE),
            (Nl80211Command::Connect, CONNECT),
            (Nl80211Command::Roam, ROAM),
            (Nl80211Command::Disconnect, DISCONNECT),
        ] {
            assert_eq!(u8::from(cmd), number, "{cmd:?}");
        }
    }

    /// nl80211_frame_tx_status(): WIPHY, IFINDEX, WDEV, FRAME, COOKIE, then ACK only if the
    /// peer acknowledged.
    #[test]
    fn frame_tx_status_reads_cookie_and_ack() {
        const COOKIE: u16 = 88;
        const ACK: u16 = 92;
        const FRAME_TX_STATUS: u8 = 60;
        assert_eq!(attr_kind(Nl80211Attr::Cookie(0)), COOKIE);
        assert_eq!(attr_kind(Nl80211Attr::Ack), ACK);
        assert_eq!(u8::from(Nl80211Command::FrameTxStatus), FRAME_TX_STATUS);
        let status = |acked: bool| {
            let mut attrs = vec![
                nla(WIPHY, &0u32.to_ne_bytes()),
                ifindex(4),
                nla(WDEV, &1u64.to_ne_bytes()),
                nla(FRAME, &[0x40, 0, 0, 0]),
                nla(COOKIE, &0x1234_5678_9abc_u64.to_ne_bytes()),
            ];
            if acked {
                attrs.push(nla(ACK, &[]));
            }
            decode_event(FRAME_TX_STATUS, &payload(&attrs))
        };
        let event = |acked| MlmeEvent::FrameTxStatus { cookie: 0x1234_5678_9abc, acked };
        assert_eq!(status(true), Some((4, event(true))));
        assert_eq!(status(false), Some((4, event(false))));
        let no_cookie = payload(&[ifindex(4), nla(ACK, &[])]);
        assert_eq!(decode_event(FRAME_TX_STATUS, &no_cookie), None, "nothing to match it to");
    }

    #[test]
    fn scan_events() {
        // nl80211_prep_scan_msg(): WIPHY, IFINDEX, WDEV, then the request.
        let attrs = payload(&[
            nla(WIPHY, &0u32.to_ne_bytes()),
            ifindex(4),
            nla(WDEV, &1u64.to_ne_bytes()),
            nla(44, &nla(0, &2412u32.to_ne_bytes())),
        ]);
        assert_eq!(decode_event(TRIGGER_SCAN, &attrs), Some((4, MlmeEvent::ScanStarted)));
        assert_eq!(decode_event(NEW_SCAN_RESULTS, &attrs), Some((4, MlmeEvent::NewScanResults)));
        assert_eq!(decode_event(SCAN_ABORTED, &attrs), Some((4, MlmeEvent::ScanAborted)));
    }

    #[test]
    fn successful_connect() {
        let attrs = payload(&[
            nla(WIPHY, &0u32.to_ne_bytes()),
            ifindex(4),
            nla(MAC, &BSSID.0),
            nla(STATUS, &0u16.to_ne_bytes()),
            nla(REQ_IE, &[0, 2, b'o', b'k']),
        ]);
        let (index, event) = decode_event(CONNECT, &attrs).unwrap();
        assert_eq!(index, 4);
        assert_eq!(
            event,
            MlmeEvent::Connect { bssid: Some(BSSID), status_code: 0, timed_out: false }
        );
        assert!(event.is_connected());
    }

    #[test]
    fn timed_out_connect() {
        let attrs = payload(&[
            ifindex(4),
            nla(MAC, &BSSID.0),
            nla(STATUS, &1u16.to_ne_bytes()),
            nla(NL80211_ATTR_TIMED_OUT, &[]),
            nla(250, &1u32.to_ne_bytes()), // an attribute we do not read
        ]);
        let (_, event) = decode_event(CONNECT, &attrs).unwrap();
        assert_eq!(
            event,
            MlmeEvent::Connect { bssid: Some(BSSID), status_code: 1, timed_out: true }
        );
        assert!(!event.is_connected());
    }

    #[test]
    fn connect_without_status_is_not_success() {
        let (_, event) = decode_event(CONNECT, &ifindex(4)).unwrap();
        assert_eq!(event, MlmeEvent::Connect { bssid: None, status_code: 1, timed_out: false });
    }

    #[test]
    fn disconnect_by_ap_and_local() {
        let by_ap = payload(&[
            ifindex(4),
            nla(REASON, &7u16.to_ne_bytes()),
            nla(NL80211_ATTR_DISCONNECTED_BY_AP, &[]),
        ]);
        assert_eq!(
            decode_event(DISCONNECT, &by_ap),
            Some((4, MlmeEvent::Disconnect { reason: Some(7), by_ap: true }))
        );
        let local = payload(&[ifindex(4), nla(REASON, &3u16.to_ne_bytes())]);
        assert_eq!(
            decode_event(DISCONNECT, &local),
            Some((4, MlmeEvent::Disconnect { reason: Some(3), by_ap: false }))
        );
        assert_eq!(
            decode_event(DISCONNECT, &ifindex(4)),
            Some((4, MlmeEvent::Disconnect { reason: None, by_ap: false }))
        );
    }

    fn mgmt_frame(subtype_fc: u8, source: MacAddr, bssid: MacAddr, reason: u16) -> Vec<u8> {
        let mut f = vec![subtype_fc, 0, 0, 0];
        f.extend_from_slice(&OWN.0); // addr1: destination
        f.extend_from_slice(&source.0); // addr2
        f.extend_from_slice(&bssid.0); // addr3
        f.extend_from_slice(&[0, 0]); // sequence control
        f.extend_from_slice(&reason.to_le_bytes());
        f
    }

    #[test]
    fn deauth_and_disassoc_read_the_frame() {
        let deauth = payload(&[ifindex(4), nla(FRAME, &mgmt_frame(0xc0, BSSID, BSSID, 15))]);
        assert_eq!(
            decode_event(DEAUTHENTICATE, &deauth),
            Some((4, MlmeEvent::Deauth { bssid: BSSID, source: BSSID, reason: 15 }))
        );
        let disassoc = payload(&[ifindex(4), nla(FRAME, &mgmt_frame(0xa0, OWN, BSSID, 8))]);
        assert_eq!(
            decode_event(DISASSOCIATE, &disassoc),
            Some((4, MlmeEvent::Disassoc { bssid: BSSID, source: OWN, reason: 8 }))
        );
    }

    #[test]
    fn short_frames_and_missing_frames_are_skipped() {
        let short = payload(&[ifindex(4), nla(FRAME, &[0xc0, 0, 0, 0])]);
        assert_eq!(decode_event(DEAUTHENTICATE, &short), None);
        assert_eq!(decode_event(DEAUTHENTICATE, &ifindex(4)), None);
    }

    #[test]
    fn roam_reports_the_new_bssid() {
        let attrs = payload(&[ifindex(4), nla(MAC, &BSSID.0)]);
        assert_eq!(decode_event(ROAM, &attrs), Some((4, MlmeEvent::Roamed { bssid: Some(BSSID) })));
    }

    #[test]
    fn events_without_ifindex_or_of_other_kinds_are_ignored() {
        let wdev_only = payload(&[nla(WDEV, &1u64.to_ne_bytes())]);
        assert_eq!(decode_event(NEW_SCAN_RESULTS, &wdev_only), None);
        assert_eq!(decode_event(37 /* AUTHENTICATE */, &ifindex(4)), None);
    }

    #[test]
    fn malformed_tail_keeps_what_was_read() {
        let mut attrs = payload(&[ifindex(4)]);
        attrs.extend_from_slice(&[200, 0, 6, 0]); // claims 200 bytes
        assert_eq!(decode_event(NEW_SCAN_RESULTS, &attrs), Some((4, MlmeEvent::NewScanResults)));
    }
}
