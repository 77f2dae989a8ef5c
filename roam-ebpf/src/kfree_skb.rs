//! `skb:kfree_skb`: the station's data packets dropped on its interface while the window is
//! open, by the kernel's drop reason. The tracepoint carries no device, so `skb->dev` is followed
//! through BTF offsets. It fires for every drop on the machine: the closed-window test comes
//! first, then the cheap record fields, then the pointer chases.
//!
//! "The station's data packets": IP datagrams (`roam_common::traffic`) still owned by a local
//! socket. That leaves out link control (ARP, EAPOL) and frames the station received and threw
//! away (an RX skb has no owner until a socket takes it), which the egress count never saw.

use aya_ebpf::{helpers::bpf_probe_read_kernel, macros::tracepoint, programs::TracePointContext};
use roam_common::{layout::ABSENT, traffic};

use crate::{
    globals, history,
    maps::{DROP_HISTORY, DROP_REASONS},
    station, window,
};

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
    // SAFETY: reads of the tracepoint record and of kernel memory via bpf_probe_read_kernel.
    let protocol: u16 = unsafe { ctx.read_at(layout.protocol as usize).ok()? };
    if !traffic::is_data(protocol) {
        return None;
    }
    let station = station::get()?;
    // SAFETY: as above.
    let skb: *const u8 = unsafe { ctx.read_at(layout.skbaddr as usize).ok()? };
    if netdev.skb_sk != ABSENT {
        // SAFETY: as above.
        let owner: *const u8 = unsafe {
            bpf_probe_read_kernel(skb.add(netdev.skb_sk as usize) as *const *const u8).ok()?
        };
        if owner.is_null() {
            return None;
        }
    }
    // SAFETY: bpf_probe_read_kernel tolerates any address; the offset is sk_buff.dev's (BTF).
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
    history::record_now(&DROP_HISTORY);
    match DROP_REASONS.get_ptr_mut(reason) {
        // SAFETY: a per-CPU hash value of this CPU.
        Some(n) => unsafe { *n += 1 },
        None => {
            let _ = DROP_REASONS.insert(reason, 1, 0);
        }
    }
    Some(())
}
