//! The radiotap header that monitor interfaces put in front of every 802.11 frame.
//!
//! Only the fields roam uses are decoded: the flags (FCS present / bad FCS), the channel frequency
//! and the antenna signal in dBm. They are the first six fields of the first presence word, so the
//! walk is short and bounded; fields are aligned to their natural size relative to the header start.

use super::bytes::Bytes;

const PRESENT_TSFT: u32 = 1 << 0;
const PRESENT_FLAGS: u32 = 1 << 1;
const PRESENT_RATE: u32 = 1 << 2;
const PRESENT_CHANNEL: u32 = 1 << 3;
const PRESENT_FHSS: u32 = 1 << 4;
const PRESENT_DBM_ANTSIGNAL: u32 = 1 << 5;
/// Another presence word follows this one.
const PRESENT_EXT: u32 = 1 << 31;

/// The frame carries its FCS in its last four bytes.
pub const FLAG_FCS_AT_END: u8 = 0x10;
/// The receiver saw a bad FCS: the frame's contents cannot be trusted.
pub const FLAG_BAD_FCS: u8 = 0x40;

/// Presence words walked at most; real drivers use 1-3 (extra words for per-chain signals).
const MAX_PRESENT_WORDS: usize = 8;
/// The fixed part: version, pad, length, first presence word.
const FIXED_LEN: usize = 8;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Radiotap {
    /// Length of the whole radiotap header: the 802.11 frame starts here.
    pub len: u16,
    pub flags: u8,
    /// Channel centre frequency in MHz, 0 if absent.
    pub freq_mhz: u16,
    /// Antenna signal in dBm, if the driver reports it.
    pub signal_dbm: Option<i8>,
}

impl Radiotap {
    pub fn bad_fcs(&self) -> bool {
        self.flags & FLAG_BAD_FCS != 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RadiotapError {
    Truncated,
    /// Only version 0 exists.
    BadVersion,
    /// The header claims to be shorter than its own fields.
    BadLength,
}

#[inline(always)]
fn align(off: usize, to: usize) -> usize {
    (off + to - 1) & !(to - 1)
}

#[inline(always)]
pub fn parse(b: &Bytes) -> Result<Radiotap, RadiotapError> {
    if b.u8(0).ok_or(RadiotapError::Truncated)? != 0 {
        return Err(RadiotapError::BadVersion);
    }
    let len = b.u16_le(2).ok_or(RadiotapError::Truncated)?;
    let hdr_len = len as usize;
    if hdr_len < FIXED_LEN {
        return Err(RadiotapError::BadLength);
    }
    let present = b.u32_le(4).ok_or(RadiotapError::Truncated)?;

    // Field data starts after the last presence word.
    let mut off = FIXED_LEN;
    let mut word = present;
    let mut words = 1;
    while word & PRESENT_EXT != 0 {
        if words >= MAX_PRESENT_WORDS {
            return Err(RadiotapError::BadLength);
        }
        word = b.u32_le(off).ok_or(RadiotapError::Truncated)?;
        off += 4;
        words += 1;
    }

    let mut rt = Radiotap { len, ..Radiotap::default() };
    if present & PRESENT_TSFT != 0 {
        off = align(off, 8) + 8;
    }
    if present & PRESENT_FLAGS != 0 {
        rt.flags = field_u8(b, off, hdr_len)?;
        off += 1;
    }
    if present & PRESENT_RATE != 0 {
        off += 1;
    }
    if present & PRESENT_CHANNEL != 0 {
        off = align(off, 2);
        if off + 4 > hdr_len {
            return Err(RadiotapError::BadLength);
        }
        rt.freq_mhz = b.u16_le(off).ok_or(RadiotapError::Truncated)?;
        off += 4;
    }
    if present & PRESENT_FHSS != 0 {
        off += 2;
    }
    if present & PRESENT_DBM_ANTSIGNAL != 0 {
        rt.signal_dbm = Some(field_u8(b, off, hdr_len)? as i8);
    }
    Ok(rt)
}

/// A one-byte field that must lie inside the radiotap header.
#[inline(always)]
fn field_u8(b: &Bytes, off: usize, hdr_len: usize) -> Result<u8, RadiotapError> {
    if off >= hdr_len {
        return Err(RadiotapError::BadLength);
    }
    b.u8(off).ok_or(RadiotapError::Truncated)
}
