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
/// Bytes after FRAME_CAP in the kernel's buffer: a multi-byte read masks its start into
/// `0..FRAME_CAP` once and reads up to this many bytes from there, all provably inside.
pub const FRAME_SLACK: usize = 8;
/// Size of the kernel's frame buffer.
pub const FRAME_BUF: usize = FRAME_CAP + FRAME_SLACK;

#[derive(Clone, Copy)]
pub struct Bytes<'a> {
    #[cfg(target_arch = "bpf")]
    buf: &'a [u8; FRAME_BUF],
    #[cfg(not(target_arch = "bpf"))]
    buf: &'a [u8],
    len: usize,
}

/// `off & (FRAME_CAP - 1)` behind an optimisation barrier. LLVM knows `off < len <= FRAME_CAP`
/// and would drop a plain mask, then hoist `buf + off` out of the bounds check; the verifier
/// cannot carry a bound from one register to another, so it would reject the load. The mask in
/// asm is opaque to LLVM and plain arithmetic to the verifier.
#[cfg(target_arch = "bpf")]
#[inline(always)]
fn mask_index(off: usize) -> usize {
    let mut idx = off as u64;
    // SAFETY: a register-only AND; no memory is touched.
    unsafe { core::arch::asm!("{idx} &= 255", idx = inout(reg) idx) };
    const _: () = assert!(FRAME_CAP == 256, "the asm mask above is FRAME_CAP - 1");
    idx as usize
}

impl<'a> Bytes<'a> {
    /// The first `len` bytes (at most FRAME_CAP) of `buf`: a frame copied into the fixed buffer,
    /// as in the kernel.
    #[inline(always)]
    pub fn from_prefix(buf: &'a [u8; FRAME_BUF], len: usize) -> Self {
        let len = if len > FRAME_CAP { FRAME_CAP } else { len };
        Self { buf, len }
    }

    /// A whole frame held in a slice (host only: fixtures, fuzzing, captured frames).
    #[cfg(not(target_arch = "bpf"))]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, len: buf.len() }
    }

    /// The same buffer, `len` bytes of it captured (clamped as in [`Bytes::from_prefix`]).
    #[inline(always)]
    pub fn with_len(self, len: usize) -> Self {
        let len = if len > FRAME_CAP { FRAME_CAP } else { len };
        Self { buf: self.buf, len }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `n` bytes at `off` were captured.
    #[inline(always)]
    fn has(&self, off: usize, n: usize) -> bool {
        off <= self.len && n <= self.len - off
    }

    /// `N` (at most FRAME_SLACK) bytes at `off`, if captured.
    #[inline(always)]
    fn read<const N: usize>(&self, off: usize) -> Option<[u8; N]> {
        const { assert!(N <= FRAME_SLACK) };
        if !self.has(off, N) {
            return None;
        }
        let mut out = [0u8; N];
        #[cfg(target_arch = "bpf")]
        {
            let base = mask_index(off);
            for (i, byte) in out.iter_mut().enumerate() {
                // SAFETY: base < FRAME_CAP and i < FRAME_SLACK, so base + i < FRAME_BUF, the
                // buffer's length. (A checked index would bring back a panic path, which the
                // verifier refuses.)
                *byte = unsafe { *self.buf.get_unchecked(base + i) };
            }
        }
        #[cfg(not(target_arch = "bpf"))]
        out.copy_from_slice(&self.buf[off..off + N]);
        Some(out)
    }

    #[inline(always)]
    pub fn u8(&self, off: usize) -> Option<u8> {
        self.read::<1>(off).map(|[b]| b)
    }

    #[inline(always)]
    pub fn u16_le(&self, off: usize) -> Option<u16> {
        self.read(off).map(u16::from_le_bytes)
    }

    #[inline(always)]
    pub fn u32_le(&self, off: usize) -> Option<u32> {
        self.read(off).map(u32::from_le_bytes)
    }

    #[inline(always)]
    pub fn mac(&self, off: usize) -> Option<crate::MacAddr> {
        self.read(off).map(crate::MacAddr)
    }
}
