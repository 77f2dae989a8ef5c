//! Recording into the per-CPU history rings (see `roam_common::history`).

use aya_ebpf::{helpers::bpf_ktime_get_ns, maps::PerCpuArray};
use roam_common::history::{self, HistorySlot};

/// Counts one packet in `ring`'s slot for now. The precise clock: the coarse one ticks every
/// 4 ms at HZ=250, coarser than a slot, and would move a packet across the AP's last frame.
#[inline(always)]
pub fn record_now(ring: &PerCpuArray<HistorySlot>) {
    // SAFETY: no preconditions.
    let (index, epoch) = history::slot_of(unsafe { bpf_ktime_get_ns() });
    if let Some(slot) = ring.get_ptr_mut(index) {
        // SAFETY: a per-CPU map value, valid for this run. One writer program per ring, and the
        // kernel does not nest a program inside another of its own type on one CPU.
        history::record(unsafe { &mut *slot }, epoch);
    }
}
