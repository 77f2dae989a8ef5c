//! The drop window: open/closed state and the counters that move only while it is open.

use aya_ebpf::helpers::bpf_ktime_get_ns;
use roam_common::maps::WindowCounters;

use crate::maps::{WINDOW, WINDOW_COUNTERS};

#[inline(always)]
pub fn is_open() -> bool {
    WINDOW.get(0).is_some_and(|w| w.open != 0)
}

/// Opens the window if it is closed (carrier lost). Returns true if this call opened it.
#[inline(always)]
pub fn open() -> bool {
    let Some(w) = WINDOW.get_ptr_mut(0) else { return false };
    // SAFETY: an array map value, valid for the program's run. Two CPUs racing here both see
    // `open == 0` at worst, which bumps `generation` twice: harmless for the agent, which
    // only compares generations for inequality.
    unsafe {
        if (*w).open != 0 {
            return false;
        }
        (*w).open = 1;
        (*w).opened_ns = bpf_ktime_get_ns();
        (*w).generation += 1;
    }
    true
}

/// Adds `n` to one of this CPU's counters. A plain add is enough: each counter has a single
/// writer program, and the kernel does not nest a BPF program inside another of its own type on
/// one CPU, so no update of a counter can interrupt another update of the same counter.
#[inline(always)]
pub fn add(field: impl FnOnce(&mut WindowCounters) -> &mut u64, n: u64) {
    if let Some(c) = WINDOW_COUNTERS.get_ptr_mut(0) {
        // SAFETY: a per-CPU map value, valid for the program's run.
        unsafe { *field(&mut *c) += n };
    }
}
