//! Frame builders for tests: mac80211_hwsim's radiotap layout and 802.11 frames built field by
//! field from the standard. Shared by the parser's unit tests and the kernel integration tests
//! (feature `fixtures`).

use alloc::{vec, vec::Vec};

use crate::MacAddr;

pub const AP: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x00]);
pub const STA: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x02, 0x00]);
pub const BROADCAST: MacAddr = MacAddr::BROADCAST;

/// mac80211's radiotap header for an hwsim frame: TSFT, flags, rate, channel, dBm signal,
/// RX flags (present word 0x0000402f), 26 bytes.
pub fn hwsim_radiotap(freq: u16, signal: i8, flags: u8) -> Vec<u8> {
    let mut rt = vec![0x00, 0x00, 26, 0x00, 0x2f, 0x40, 0x00, 0x00];
    rt.extend_from_slice(&0x0000_0000_0001_e240u64.to_le_bytes()); // TSFT
    rt.push(flags);
    rt.push(0x02); // rate: 1 Mb/s
    rt.extend_from_slice(&freq.to_le_bytes());
    rt.extend_from_slice(&0x00a0u16.to_le_bytes()); // channel flags: CCK, 2 GHz
    rt.push(signal as u8);
    rt.push(0); // pad to RX flags' 2-byte alignment
    rt.extend_from_slice(&0u16.to_le_bytes());
    assert_eq!(rt.len(), 26);
    rt
}

pub fn mgmt_header(
    subtype: u8,
    fc1: u8,
    addr1: MacAddr,
    addr2: MacAddr,
    addr3: MacAddr,
) -> Vec<u8> {
    let mut h = vec![subtype << 4, fc1, 0x00, 0x00];
    h.extend_from_slice(&addr1.0);
    h.extend_from_slice(&addr2.0);
    h.extend_from_slice(&addr3.0);
    h.extend_from_slice(&(0x0123u16 << 4).to_le_bytes()); // sequence 0x123, fragment 0
    h
}

/// A beacon with the usual 100 TU interval.
pub fn beacon(rt: &[u8], bssid: MacAddr, ssid: &[u8], channel: u8) -> Vec<u8> {
    beacon_every(rt, bssid, ssid, channel, 100)
}

/// A beacon announcing `interval_tu`.
pub fn beacon_every(
    rt: &[u8],
    bssid: MacAddr,
    ssid: &[u8],
    channel: u8,
    interval_tu: u16,
) -> Vec<u8> {
    let mut f = rt.to_vec();
    f.extend(mgmt_header(8, 0, BROADCAST, bssid, bssid));
    f.extend_from_slice(&0x0000_0000_1234_5678u64.to_le_bytes()); // timestamp
    f.extend_from_slice(&interval_tu.to_le_bytes());
    f.extend_from_slice(&0x0411u16.to_le_bytes()); // ESS | privacy | short slot
    f.extend_from_slice(&[0x00, ssid.len() as u8]);
    f.extend_from_slice(ssid);
    f.extend_from_slice(&[0x01, 0x08, 0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24]);
    f.extend_from_slice(&[0x03, 0x01, channel]);
    f.extend_from_slice(&[0x05, 0x04, 0x00, 0x01, 0x00, 0x00]); // TIM
    f
}

pub fn deauth(
    rt: &[u8],
    subtype: u8,
    fc1: u8,
    from: MacAddr,
    to: MacAddr,
    bssid: MacAddr,
    reason: u16,
) -> Vec<u8> {
    let mut f = rt.to_vec();
    f.extend(mgmt_header(subtype, fc1, to, from, bssid));
    f.extend_from_slice(&reason.to_le_bytes());
    f
}
