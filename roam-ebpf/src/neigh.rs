//! `neigh:*` raw tracepoints for the station interface. In a roam most of the traffic gap is
//! packets waiting on an unresolved neighbour (ARP/ND) entry, not dropped ones: these programs
//! count the entries flushed at carrier loss, created incomplete, resolved, and the packets
//! held meanwhile. Each passes a `struct neighbour *` (or the device), followed through BTF
//! offsets.

use aya_ebpf::{
    helpers::bpf_probe_read_kernel, macros::raw_tracepoint, programs::RawTracePointContext,
};
use roam_common::{event::EventKind, layout::ABSENT};

use crate::{events, globals, station, window};

const NUD_INCOMPLETE: u8 = 0x01;
/// NUD_VALID: REACHABLE | STALE | DELAY | PROBE | NOARP | PERMANENT.
const NUD_VALID: u8 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

/// Whether `dev` is the station interface, with the window open.
#[inline(always)]
fn relevant_dev(dev: *const u8) -> bool {
    window::is_open() && station::get().is_some_and(|s| station::is_station_netdev(dev, &s))
}

/// Whether the entry `n` belongs to the station interface, with the window open.
#[inline(always)]
fn relevant(n: *const u8) -> bool {
    let layout = globals::neigh();
    if layout.dev == ABSENT || !window::is_open() {
        return false;
    }
    // SAFETY: bpf_probe_read_kernel tolerates any address; the offset is neighbour.dev's.
    let dev = unsafe { bpf_probe_read_kernel(n.add(layout.dev as usize) as *const *const u8) };
    dev.is_ok_and(relevant_dev)
}

/// `neigh_update(n, lladdr, new, flags, pid)`, before the change: INCOMPLETE -> valid is the
/// gateway resolved again.
#[raw_tracepoint(tracepoint = "neigh_update")]
pub fn roam_neigh_update(ctx: RawTracePointContext) -> u32 {
    let n: *const u8 = ctx.arg(0);
    let new: u8 = ctx.arg(2);
    let layout = globals::neigh();
    if layout.nud_state == ABSENT || !relevant(n) {
        return 0;
    }
    // SAFETY: as above; the entry's state before the update.
    let old = unsafe { bpf_probe_read_kernel(n.add(layout.nud_state as usize)) };
    if old.is_ok_and(|old: u8| old & NUD_INCOMPLETE != 0) && new & NUD_VALID != 0 {
        window::add(|c| &mut c.neigh_resolved, 1);
        let mut ev = events::new(EventKind::NeighResolved);
        ev.ifindex = station::get().map_or(0, |s| s.ifindex);
        events::send(&ev);
    }
    0
}

/// `neigh_create(tbl, dev, pkey, n, exempt_from_gc)`.
#[raw_tracepoint(tracepoint = "neigh_create")]
pub fn roam_neigh_create(ctx: RawTracePointContext) -> u32 {
    if relevant_dev(ctx.arg(1)) {
        window::add(|c| &mut c.neigh_created, 1);
    }
    0
}

/// `neigh_event_send_done(n, err)`: a packet met an unresolved entry; `err` != 0 means it was
/// queued (held), not sent.
#[raw_tracepoint(tracepoint = "neigh_event_send_done")]
pub fn roam_neigh_send_done(ctx: RawTracePointContext) -> u32 {
    let err: i32 = ctx.arg(1);
    if err != 0 && relevant(ctx.arg(0)) {
        window::add(|c| &mut c.held_packets, 1);
    }
    0
}

/// `neigh_cleanup_and_release(n, rc)`: an entry is released; at carrier loss this is the flush
/// (`arp_evict_nocarrier`).
#[raw_tracepoint(tracepoint = "neigh_cleanup_and_release")]
pub fn roam_neigh_cleanup(ctx: RawTracePointContext) -> u32 {
    if relevant(ctx.arg(0)) {
        window::add(|c| &mut c.neigh_flushed, 1);
    }
    0
}
