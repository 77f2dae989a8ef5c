//! Bounds-checked byte access over a frame prefix.
//!
//! On the host the parser reads any slice with ordinary checked indexing. In the kernel the frame
//! is copied into a fixed [`FRAME_CAP`]-byte buffer first (socket filters may not read packet
//! memory directly), and every index is masked to that capacity so the verifier can prove each
//! load in bounds without tracking the length comparison across the parser.

/// Bytes of each frame the kernel copies for parsing: radiotap (typically 20-64 bytes), the 24-byte
/// management header, 12 bytes of beacon fixed fields and the first information elements.
/// A power of two, so an index can be masked into range.
pub const FRAME_CAP: usize = 256;

#[derive(Clone, Copy)]
pub struct Bytes<'a> {
    #[cfg(target_arch = "bpf")]
    buf: &'a [u8; FRAME_CAP],
    #[cfg(not(target_arch = "bpf"))]
    buf: &'a [u8],
    len: usize,
}

impl<'a> Bytes<'a> {
    /// The first `len` bytes of `buf` (a frame copied into a fixed buffer, as in the kernel).
    #[inline(always)]
    pub fn from_prefix(buf: &'a [u8; FRAME_CAP], len: usize) -> Self {
        let len = if len > FRAME_CAP { FRAME_CAP } else { len };
        Self { buf, len }
    }

    /// A whole frame held in a slice (host only: fixtures, fuzzing, captured frames).
    #[cfg(not(target_arch = "bpf"))]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, len: buf.len() }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn u8(&self, off: usize) -> Option<u8> {
        if off >= self.len {
            return None;
        }
        #[cfg(target_arch = "bpf")]
        {
            Some(self.buf[off & (FRAME_CAP - 1)])
        }
        #[cfg(not(target_arch = "bpf"))]
        {
            self.buf.get(off).copied()
        }
    }

    #[inline(always)]
    pub fn u16_le(&self, off: usize) -> Option<u16> {
        Some(u16::from_le_bytes([self.u8(off)?, self.u8(off + 1)?]))
    }

    #[inline(always)]
    pub fn u32_le(&self, off: usize) -> Option<u32> {
        Some(u32::from_le_bytes([
            self.u8(off)?,
            self.u8(off + 1)?,
            self.u8(off + 2)?,
            self.u8(off + 3)?,
        ]))
    }

    #[inline(always)]
    pub fn mac(&self, off: usize) -> Option<[u8; 6]> {
        // The last byte is checked first: one comparison then covers the other five.
        self.u8(off + 5)?;
        Some([
            self.u8(off)?,
            self.u8(off + 1)?,
            self.u8(off + 2)?,
            self.u8(off + 3)?,
            self.u8(off + 4)?,
            self.u8(off + 5)?,
        ])
    }
}
