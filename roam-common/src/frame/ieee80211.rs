//! The 802.11 MAC header and the management frame bodies roam reads.

use super::bytes::Bytes;
use crate::MacAddr;

/// Frame types (frame control bits 2-3).
pub const TYPE_MGMT: u8 = 0;
pub const TYPE_CTRL: u8 = 1;
pub const TYPE_DATA: u8 = 2;

/// Management subtypes (frame control bits 4-7).
pub const SUBTYPE_ASSOC_RESP: u8 = 1;
pub const SUBTYPE_REASSOC_RESP: u8 = 3;
pub const SUBTYPE_PROBE_RESP: u8 = 5;
pub const SUBTYPE_BEACON: u8 = 8;
pub const SUBTYPE_DISASSOC: u8 = 10;
pub const SUBTYPE_AUTH: u8 = 11;
pub const SUBTYPE_DEAUTH: u8 = 12;

const FC1_TO_DS: u8 = 0x01;
const FC1_FROM_DS: u8 = 0x02;
const FC1_PROTECTED: u8 = 0x40;
/// In management frames: an HT Control field follows the header.
const FC1_ORDER: u8 = 0x80;

/// Length of the management / three-address data header.
pub const HDR_LEN: usize = 24;
const HT_CONTROL_LEN: usize = 4;
/// Timestamp (8), beacon interval (2), capability (2): what precedes a beacon's elements.
pub const BEACON_FIXED_LEN: usize = 12;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub frame_type: u8,
    pub subtype: u8,
    pub to_ds: bool,
    pub from_ds: bool,
    pub protected: bool,
    pub addr1: MacAddr,
    pub addr2: MacAddr,
    pub addr3: MacAddr,
    /// Sequence number (the fragment number stripped).
    pub seq: u16,
    /// Where the frame body starts, relative to the 802.11 header.
    pub body_off: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    Truncated,
    /// Protocol version is not 0.
    BadVersion,
    /// Control frames carry no transmitter address roam can attribute to a BSS.
    Control,
}

/// Parses the header of the frame starting at `at` (the end of the radiotap header).
#[inline(always)]
pub fn parse_header(b: &Bytes, at: usize) -> Result<Header, HeaderError> {
    let fc0 = b.u8(at).ok_or(HeaderError::Truncated)?;
    let fc1 = b.u8(at + 1).ok_or(HeaderError::Truncated)?;
    if fc0 & 0x03 != 0 {
        return Err(HeaderError::BadVersion);
    }
    let frame_type = (fc0 >> 2) & 0x03;
    if frame_type == TYPE_CTRL {
        return Err(HeaderError::Control);
    }
    let seq_ctrl = b.u16_le(at + 22).ok_or(HeaderError::Truncated)?;
    let mut body_off = HDR_LEN;
    if frame_type == TYPE_MGMT && fc1 & FC1_ORDER != 0 {
        body_off += HT_CONTROL_LEN;
    }
    Ok(Header {
        frame_type,
        subtype: fc0 >> 4,
        to_ds: fc1 & FC1_TO_DS != 0,
        from_ds: fc1 & FC1_FROM_DS != 0,
        protected: fc1 & FC1_PROTECTED != 0,
        addr1: b.mac(at + 4).ok_or(HeaderError::Truncated)?,
        addr2: b.mac(at + 10).ok_or(HeaderError::Truncated)?,
        addr3: b.mac(at + 16).ok_or(HeaderError::Truncated)?,
        seq: seq_ctrl >> 4,
        body_off,
    })
}

impl Header {
    /// The BSSID of the frame and whether the AP transmitted it, or `None` for frames that do
    /// not belong to an infrastructure BSS (IBSS / mesh / WDS four-address frames).
    #[inline(always)]
    pub fn bss(&self) -> Option<(MacAddr, bool)> {
        match (self.frame_type, self.to_ds, self.from_ds) {
            // Management: addr3 is the BSSID; the AP sent it when it is also the transmitter.
            (TYPE_MGMT, false, false) => Some((self.addr3, self.addr2 == self.addr3)),
            // Data from the AP to a station: addr2 is the BSSID.
            (TYPE_DATA, false, true) => Some((self.addr2, true)),
            // Data from a station to the AP: addr1 is the BSSID.
            (TYPE_DATA, true, false) => Some((self.addr1, false)),
            _ => None,
        }
    }
}
