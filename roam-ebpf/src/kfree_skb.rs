//! `skb:kfree_skb(skb, location, reason[, rx_sk])`, a raw tracepoint: the station's data
//! packets dropped on its interface while the window is open, by the kernel's drop reason.
//! `skb->dev` is followed through BTF offsets. It fires for every drop on the machine: the
//! closed-window test comes first, then the protocol, then the pointer chases.
//!
//! "The station's data packets": IP datagrams (`roam_common::traffic`) still owned by a local
//! socket. That leaves out link control (ARP, EAPOL) and frames the station received and threw
//! away (an RX skb has no owner until a socket takes it), which the egress count never saw.

use aya_ebpf::{
    helpers::bpf_probe_read_kernel, macros::raw_tracepoint, programs::RawTracePointContext,
};
use roam_common::{layout::ABSENT, traffic};

use crate::{
    globals, history,
    maps::{DROP_HISTORY, DROP_REASONS},
    station, window,
};

#[raw_tracepoint(tracepoint = "kfree_skb")]
pub fn roam_kfree_skb(ctx: RawTracePointContext) -> u32 {
    if window::is_open() {
        account(&ctx);
    }
    0
}

#[inline(always)]
fn account(ctx: &RawTracePointContext) -> Option<()> {
    let netdev = globals::netdev();
    if netdev.skb_dev == ABSENT || netdev.skb_protocol == ABSENT {
        return None;
    }
    let skb: *const u8 = ctx.arg(0);
    // SAFETY: bpf_probe_read_kernel tolerates any address; offsets are sk_buff's (BTF).
    let protocol =
        unsafe { bpf_probe_read_kernel(skb.add(netdev.skb_protocol as usize) as *const u16).ok()? };
    if !traffic::is_data(u16::from_be(protocol)) {
        return None;
    }
    let station = station::get()?;
    if netdev.skb_sk != ABSENT {
        // SAFETY: as above.
        let owner: *const u8 = unsafe {
            bpf_probe_read_kernel(skb.add(netdev.skb_sk as usize) as *const *const u8).ok()?
        };
        if owner.is_null() {
            return None;
        }
    }
    // SAFETY: as above.
    let dev: *const u8 = unsafe {
        bpf_probe_read_kernel(skb.add(netdev.skb_dev as usize) as *const *const u8).ok()?
    };
    if !station::is_station_netdev(dev, &station) {
        return None;
    }
    // Kernels before 5.17 pass two arguments: reading a third would fail the attach.
    let reason: u32 = if netdev.kfree_skb_has_reason != 0 { ctx.arg(2) } else { 0 };
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
