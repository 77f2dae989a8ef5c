//! Radiotap + 802.11 parsing: one frame in, one [`Observation`] out.
//!
//! Pure functions over bytes, shared by the socket filter and the agent. Malformed or truncated
//! input yields an error, never a read outside the captured bytes (see [`bytes`]).

pub mod bytes;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod ieee80211;
pub mod ies;
pub mod radiotap;

pub use bytes::{Bytes, FRAME_BUF, FRAME_CAP};
use ieee80211::{
    Header, HeaderError, BEACON_FIXED_LEN, SUBTYPE_BEACON, SUBTYPE_DEAUTH, SUBTYPE_DISASSOC,
    SUBTYPE_PROBE_RESP, TYPE_DATA, TYPE_MGMT,
};
use radiotap::RadiotapError;

use crate::MacAddr;

/// What a frame tells roam, in the order it matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FrameKind {
    Beacon = 1,
    ProbeResponse = 2,
    Deauth = 3,
    Disassoc = 4,
    /// Any other management frame (auth, assoc, action, ...).
    OtherMgmt = 5,
    Data = 6,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Observation {
    pub kind: FrameKind,
    pub bssid: MacAddr,
    /// The AP transmitted this frame (as opposed to a station of its BSS).
    pub from_ap: bool,
    pub addr1: MacAddr,
    pub addr2: MacAddr,
    pub seq: u16,
    /// The frame body is encrypted (data) or integrity-protected (PMF management frames).
    pub protected: bool,
    /// From radiotap; falls back to the DS Parameter Set channel.
    pub freq_mhz: u16,
    pub signal_dbm: Option<i8>,
    /// Beacon / probe response fields; zero otherwise.
    pub beacon_interval_tu: u16,
    pub capability: u16,
    pub ssid_hash: u32,
    pub ssid_len: u8,
    /// Deauthentication / disassociation reason code; zero otherwise (or when protected).
    pub reason: u16,
    pub management_subtype: u8,
    /// Where a beacon's or probe response's elements start in the captured bytes, 0 otherwise.
    /// [`parse`] leaves the elements alone (the socket filter needs them only for a BSS it has
    /// not seen yet); [`read_elements`] fills `ssid_hash`, `ssid_len` and the DS channel fallback.
    pub elements_off: u16,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    Radiotap(RadiotapError),
    Header(HeaderError),
    /// The receiver flagged a bad FCS.
    BadFcs,
    /// A frame type roam does not use (control, four-address, null data...).
    Ignored,
    /// The body is shorter than its fixed fields.
    TruncatedBody,
}

/// Parses a monitor-interface frame: radiotap header, then the 802.11 frame.
#[inline(always)]
pub fn parse(b: &Bytes) -> Result<Observation, ParseError> {
    let rt = radiotap::parse(b).map_err(ParseError::Radiotap)?;
    if rt.bad_fcs() {
        return Err(ParseError::BadFcs);
    }
    let at = rt.len as usize;
    let hdr = ieee80211::parse_header(b, at).map_err(ParseError::Header)?;
    let (bssid, from_ap) = hdr.bss().ok_or(ParseError::Ignored)?;
    let mut obs = Observation {
        kind: FrameKind::Data,
        bssid,
        from_ap,
        addr1: hdr.addr1,
        addr2: hdr.addr2,
        seq: hdr.seq,
        protected: hdr.protected,
        freq_mhz: rt.freq_mhz,
        signal_dbm: rt.signal_dbm,
        beacon_interval_tu: 0,
        capability: 0,
        ssid_hash: 0,
        ssid_len: 0,
        reason: 0,
        management_subtype: 0,
        elements_off: 0,
    };
    match hdr.frame_type {
        TYPE_DATA => Ok(obs),
        TYPE_MGMT => {
            obs.management_subtype = hdr.subtype;
            parse_management(b, at, &hdr, &mut obs)?;
            Ok(obs)
        }
        _ => Err(ParseError::Ignored),
    }
}

#[inline(always)]
fn parse_management(
    b: &Bytes,
    at: usize,
    hdr: &Header,
    obs: &mut Observation,
) -> Result<(), ParseError> {
    let body = at + hdr.body_off;
    match hdr.subtype {
        SUBTYPE_BEACON | SUBTYPE_PROBE_RESP => {
            obs.kind = if hdr.subtype == SUBTYPE_BEACON {
                FrameKind::Beacon
            } else {
                FrameKind::ProbeResponse
            };
            obs.beacon_interval_tu = b.u16_le(body + 8).ok_or(ParseError::TruncatedBody)?;
            obs.capability = b.u16_le(body + 10).ok_or(ParseError::TruncatedBody)?;
            obs.elements_off = (body + BEACON_FIXED_LEN) as u16;
        }
        SUBTYPE_DEAUTH | SUBTYPE_DISASSOC => {
            obs.kind =
                if hdr.subtype == SUBTYPE_DEAUTH { FrameKind::Deauth } else { FrameKind::Disassoc };
            // A protected (PMF) frame's reason is encrypted: leave it 0 rather than read noise.
            if !hdr.protected {
                obs.reason = b.u16_le(body).ok_or(ParseError::TruncatedBody)?;
            }
        }
        _ => obs.kind = FrameKind::OtherMgmt,
    }
    Ok(())
}

/// Reads the elements of a beacon or probe response parsed by [`parse`] from the same bytes:
/// the SSID hash, and the channel when radiotap carried none.
#[inline(always)]
pub fn read_elements(b: &Bytes, obs: &mut Observation) {
    if obs.elements_off == 0 {
        return;
    }
    let elements = ies::parse(b, obs.elements_off as usize);
    obs.ssid_hash = elements.ssid_hash;
    obs.ssid_len = elements.ssid_len;
    if obs.freq_mhz == 0 {
        obs.freq_mhz = ies::channel_to_freq(elements.ds_channel, 0);
    }
}

/// [`parse`] and [`read_elements`] together: everything a frame says.
#[inline(always)]
pub fn parse_all(b: &Bytes) -> Result<Observation, ParseError> {
    let mut obs = parse(b)?;
    read_elements(b, &mut obs);
    Ok(obs)
}

#[cfg(test)]
mod tests;
