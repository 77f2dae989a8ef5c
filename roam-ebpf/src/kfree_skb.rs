//! `skb:kfree_skb`: packets of the station interface dropped while the window is open, by the
//! kernel's drop reason. The tracepoint carries no device, so `skb->dev` is followed through BTF
//! offsets. It fires for every drop on the machine: the closed-window test comes first.

use aya_ebpf::{helpers::bpf_probe_read_kernel, macros::tracepoint, programs::TracePointContext};
use roam_common::layout::ABSENT;

use crate::{globals, maps::DROP_REASONS, station, window};

#[tracepoint]
pub fn roam_kfree_skb(ctx: TracePointContext) -> u32 {
    if window::is_open() {
        account(&ctx);
    }
    0
}

#[inline(always)]
fn account(ctx: &TracePointContext) -> Option<()> {
    let layout = globals::kfree_skb();
    let netdev = globals::netdev();
    if layout.skbaddr == ABSENT || netdev.skb_dev == ABSENT {
        return None;
    }
    let station = station::get()?;
    // SAFETY: reads of the tracepoint record and of kernel memory via bpf_probe_read_kernel.
    let skb: *const u8 = unsafe { ctx.read_at(layout.skbaddr as usize).ok()? };
    let dev: *const u8 = unsafe {
        bpf_probe_read_kernel(skb.add(netdev.skb_dev as usize) as *const *const u8).ok()?
    };
    if !station::is_station_netdev(dev, &station) {
        return None;
    }
    let reason: u32 = if layout.reason == ABSENT {
        0
    } else {
        // SAFETY: a field of the record.
        unsafe { ctx.read_at(layout.reason as usize).ok()? }
    };
    window::add(|c| &mut c.dropped_packets, 1);
    match DROP_REASONS.get_ptr_mut(&reason) {
        // SAFETY: a per-CPU hash value of this CPU.
        Some(n) => unsafe { *n += 1 },
        None => {
            let _ = DROP_REASONS.insert(&reason, &1, 0);
        }
    }
    Some(())
}
