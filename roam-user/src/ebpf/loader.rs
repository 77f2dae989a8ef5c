//! aya's loader, made once, without the kernel's BTF ever being parsed into it.
//!
//! `EbpfLoader::new()` reads and parses the kernel's whole BTF (5-6 MB read, 15-24 MB parsed on
//! Debian's 6.1 and a 6.18 host) for CO-RE relocations roam's object does not have, and
//! `btf(None)` can only drop it afterwards (docs/upstream/aya.md). Made the plain way, that
//! parse is the agent's peak resident set. So the one loader is made first thing in `main`,
//! while the process is single-threaded, with its address-space limit (`RLIMIT_AS`) lowered
//! for the constructor's duration to what the process maps plus a little: the read of the BTF
//! file is refused (std reads files with a fallible allocation) and aya goes on without BTF,
//! as `btf(None)` would have had it. The limit is put back at once. It holds because the main
//! thread's allocator grows by `brk` or `mmap`, both bounded by the limit (a thread's arena
//! would grow inside the region it reserved at its creation: hence first thing in `main`).
//! Where the read still succeeds (a BTF smaller than the headroom, a std that reads otherwise)
//! the parse is made and dropped, as before; tests/integration/tests/memory.rs catches that.
//!
//! The loader is given back after each load and serves every attachment: a station interface
//! that comes back is attached again without a parse, and without lowering a limit under a
//! running runtime.

use std::{io, sync::Mutex};

use aya::EbpfLoader;

/// What the constructor may map beyond what the process maps already: its own small
/// allocations fit, the kernel's BTF (several MB on every kernel built with it) does not.
const HEADROOM: u64 = 2 << 20;

static PREPARED: Mutex<Option<EbpfLoader<'static>>> = Mutex::new(None);

/// Makes the loader now. Call it first thing in `main`, before any other thread exists: the
/// address-space limit it lowers for a moment is the whole process's.
pub fn prepare() {
    let limit = AddressSpaceLimit::tighten(HEADROOM);
    let loader = without_btf();
    drop(limit);
    crate::memory::release_freed();
    if let Ok(mut prepared) = PREPARED.lock() {
        *prepared = Some(loader);
    }
}

/// The prepared loader, or a new one (the parse made and dropped) if none was prepared.
pub fn take() -> EbpfLoader<'static> {
    PREPARED.lock().ok().and_then(|mut p| p.take()).unwrap_or_else(|| {
        let loader = without_btf();
        crate::memory::release_freed();
        loader
    })
}

/// Keeps the loader for the next attachment. The globals it was given stay set; the next
/// attachment sets them again from the same kernel.
pub fn give_back(loader: EbpfLoader<'static>) {
    if let Ok(mut prepared) = PREPARED.lock() {
        *prepared = Some(loader);
    }
}

fn without_btf() -> EbpfLoader<'static> {
    let mut loader = EbpfLoader::new();
    loader.btf(None);
    loader
}

/// `RLIMIT_AS` lowered to the process's current size plus a headroom; the previous soft limit
/// is put back on drop (a soft limit may be raised again up to the hard one without privilege).
struct AddressSpaceLimit {
    previous: libc::rlimit,
}

impl AddressSpaceLimit {
    fn tighten(headroom: u64) -> io::Result<Self> {
        let mapped = mapped_bytes()?;
        let mut previous = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes one rlimit into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut previous) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let tight = libc::rlimit {
            rlim_cur: (mapped + headroom).min(previous.rlim_cur),
            rlim_max: previous.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &tight) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { previous })
    }
}

impl Drop for AddressSpaceLimit {
    fn drop(&mut self) {
        // SAFETY: setrlimit reads the struct it is given.
        unsafe { libc::setrlimit(libc::RLIMIT_AS, &self.previous) };
    }
}

/// The process's mapped size (`VmSize`), in bytes.
fn mapped_bytes() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmSize:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no VmSize in /proc/self/status"))
}
