//! aya's loader, made before anything else of the agent is in memory.
//!
//! `EbpfLoader::new()` parses the kernel's whole BTF (15 MB on Debian's 6.1, 19 MB on 6.18) for
//! CO-RE relocations roam's object does not have, and `btf(None)` can only drop it afterwards
//! (docs/upstream/aya.md). That parse is the agent's peak resident set: made first thing in
//! `main`, beside the 4 MB of a process that has only parsed its arguments, rather than beside
//! the agent's runtime, configuration and sockets, it peaks that much lower. The loader is kept
//! and taken by the first attachment; a later one (the station interface came back) makes its
//! own.

use std::sync::Mutex;

use aya::EbpfLoader;

static PREPARED: Mutex<Option<EbpfLoader<'static>>> = Mutex::new(None);

/// Makes the loader now (see [`take`]).
pub fn prepare() {
    let loader = without_btf();
    if let Ok(mut prepared) = PREPARED.lock() {
        *prepared = Some(loader);
    }
}

/// The prepared loader, or a new one.
pub fn take() -> EbpfLoader<'static> {
    PREPARED.lock().ok().and_then(|mut p| p.take()).unwrap_or_else(without_btf)
}

/// A loader without the kernel's BTF, the parse's memory handed back to the system.
fn without_btf() -> EbpfLoader<'static> {
    let mut loader = EbpfLoader::new();
    loader.btf(None);
    crate::memory::release_freed();
    loader
}
