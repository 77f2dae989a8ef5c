//! `neigh:*` tracepoints for the station interface. In a roam most of the traffic gap is packets
//! waiting on an unresolved neighbour (ARP/ND) entry, not dropped ones: these programs count the
//! entries flushed at carrier loss, created incomplete, resolved, and the packets held meanwhile.

use aya_ebpf::{macros::tracepoint, programs::TracePointContext, EbpfContext};
use roam_common::{
    event::EventKind,
    layout::{NeighLayout, ABSENT},
};

use crate::{events, globals, station, window};

const NUD_INCOMPLETE: u8 = 0x01;
/// NUD_VALID: REACHABLE | STALE | DELAY | PROBE | NOARP | PERMANENT.
const NUD_VALID: u8 = 0x02 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80;

/// Whether the record at `ctx` is about the station interface, with the window open.
#[inline(always)]
fn relevant(ctx: &TracePointContext, layout: &NeighLayout) -> bool {
    window::is_open()
        && station::get().is_some_and(|s| {
            station::record_names_station(ctx.as_ptr() as *const u8, layout.dev, &s)
        })
}

#[inline(always)]
fn field_u8(ctx: &TracePointContext, offset: u32) -> Option<u8> {
    if offset == ABSENT {
        return None;
    }
    // SAFETY: a field of the tracepoint record.
    unsafe { ctx.read_at::<u8>(offset as usize).ok() }
}

/// An entry changes state: INCOMPLETE -> valid is the gateway resolved again.
#[tracepoint]
pub fn roam_neigh_update(ctx: TracePointContext) -> u32 {
    let layout = globals::neigh_update();
    if !relevant(&ctx, &layout) {
        return 0;
    }
    let (Some(old), Some(new)) =
        (field_u8(&ctx, layout.nud_state), field_u8(&ctx, layout.new_state))
    else {
        return 0;
    };
    if old & NUD_INCOMPLETE != 0 && new & NUD_VALID != 0 {
        window::add(|c| &mut c.neigh_resolved, 1);
        let mut ev = events::new(EventKind::NeighResolved);
        ev.ifindex = station::get().map_or(0, |s| s.ifindex);
        events::send(&ev);
    }
    0
}

#[tracepoint]
pub fn roam_neigh_create(ctx: TracePointContext) -> u32 {
    if relevant(&ctx, &globals::neigh_create()) {
        window::add(|c| &mut c.neigh_created, 1);
    }
    0
}

/// A packet met an unresolved entry: `err` != 0 means it was queued (held), not sent.
#[tracepoint]
pub fn roam_neigh_send_done(ctx: TracePointContext) -> u32 {
    let layout = globals::neigh_send_done();
    if layout.err == ABSENT || !relevant(&ctx, &layout) {
        return 0;
    }
    // SAFETY: a field of the record.
    let err: u32 = unsafe { ctx.read_at(layout.err as usize).unwrap_or(0) };
    if err != 0 {
        window::add(|c| &mut c.held_packets, 1);
    }
    0
}

/// An entry is released: at carrier loss this is the flush (`arp_evict_nocarrier`).
#[tracepoint]
pub fn roam_neigh_cleanup(ctx: TracePointContext) -> u32 {
    if relevant(&ctx, &globals::neigh_cleanup()) {
        window::add(|c| &mut c.neigh_flushed, 1);
    }
    0
}
