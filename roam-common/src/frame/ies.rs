//! Information elements of beacons and probe responses: SSID and DS Parameter Set.

use super::bytes::Bytes;

const EID_SSID: u8 = 0;
const EID_DS_PARAMS: u8 = 3;
/// Elements walked at most. SSID (0), Supported Rates (1) and DS Parameter Set (3) come first in
/// beacons (802.11-2020 table 9-38), FH/CF sets are obsolete, so a few steps always suffice.
const MAX_ELEMENTS: usize = 6;
pub const SSID_MAX_LEN: usize = 32;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Elements {
    /// FNV-1a of the SSID octets: compares networks without carrying 32 bytes around.
    pub ssid_hash: u32,
    pub ssid_len: u8,
    /// Channel from the DS Parameter Set, 0 if absent.
    pub ds_channel: u8,
}

pub const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a (32 bits) over a byte string.
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(FNV_OFFSET, |h, &b| (h ^ b as u32).wrapping_mul(FNV_PRIME))
}

/// The SSID hash both sides agree on: FNV-1a.
pub fn ssid_hash(ssid: &[u8]) -> u32 {
    fnv1a(ssid)
}

/// Reads the SSID (always the first element of a beacon or probe response body, 802.11-2020
/// 9.3.3.2) and then walks the next few elements for the DS Parameter Set. Keeping the SSID hash
/// loop outside the element walk keeps the kernel verifier's path count small.
#[inline(always)]
pub fn parse(b: &Bytes, at: usize) -> Elements {
    let mut out = Elements { ssid_hash: FNV_OFFSET, ..Elements::default() };
    if let (Some(EID_SSID), Some(len)) = (b.u8(at), b.u8(at + 1)) {
        let len = len as usize;
        if len <= SSID_MAX_LEN {
            out.ssid_len = len as u8;
            out.ssid_hash = hash_range(b, at + 2, len);
        }
    }
    let mut off = at;
    for _ in 0..MAX_ELEMENTS {
        let (Some(id), Some(len)) = (b.u8(off), b.u8(off + 1)) else { break };
        if id == EID_DS_PARAMS {
            if let Some(channel) = b.u8(off + 2) {
                out.ds_channel = channel;
            }
            break;
        }
        if id > EID_DS_PARAMS {
            break;
        }
        off += 2 + len as usize;
    }
    out
}

/// FNV-1a of `len` bytes at `at`, stopping at the end of the captured prefix.
#[inline(always)]
fn hash_range(b: &Bytes, at: usize, len: usize) -> u32 {
    let mut h = FNV_OFFSET;
    for i in 0..SSID_MAX_LEN {
        if i >= len {
            break;
        }
        let Some(byte) = b.u8(at + i) else { break };
        h = (h ^ byte as u32).wrapping_mul(FNV_PRIME);
    }
    h
}

/// 2.4 GHz / 5 GHz / 6 GHz channel number to centre frequency, for frames whose radiotap header
/// lacks a channel field. `band_hint_mhz` disambiguates (6 GHz reuses 5 GHz numbers).
pub fn channel_to_freq(channel: u8, band_hint_mhz: u16) -> u16 {
    let ch = channel as u16;
    match channel {
        14 => 2484,
        1..=13 if band_hint_mhz < 5000 => 2407 + 5 * ch,
        _ if band_hint_mhz >= 5925 => 5950 + 5 * ch,
        32..=177 => 5000 + 5 * ch,
        1..=13 => 2407 + 5 * ch,
        _ => 0,
    }
}
