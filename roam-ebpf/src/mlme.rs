//! cfg80211 tracepoints: the management frames the station's MLME receives and sends
//! (auth, assoc, deauth, disassoc, with their reason codes), and CQM RSSI threshold crossings.
//! The station's SME sees these whether or not a monitor interface exists.

use aya_ebpf::{
    helpers::bpf_probe_read_kernel, macros::tracepoint, programs::TracePointContext, EbpfContext,
};
use roam_common::{
    event::{Event, EventKind},
    layout::{data_loc, MlmeLayout, ABSENT},
};

use crate::{events, globals, station};

/// The 802.11 header plus a reason code: all a deauth/disassoc needs.
const FRAME_PREFIX: usize = 26;

#[tracepoint]
pub fn roam_mlme_rx(ctx: TracePointContext) -> u32 {
    mlme(&ctx, &globals::mlme_rx(), EventKind::MlmeRx);
    0
}

#[tracepoint]
pub fn roam_mlme_tx(ctx: TracePointContext) -> u32 {
    mlme(&ctx, &globals::mlme_tx(), EventKind::MlmeTx);
    0
}

#[inline(always)]
fn mlme(ctx: &TracePointContext, layout: &MlmeLayout, kind: EventKind) -> Option<()> {
    let record = ctx.as_ptr() as *const u8;
    let station = station::get()?;
    if layout.frame == ABSENT || !station::record_is_station(record, layout.ifindex, &station) {
        return None;
    }
    // SAFETY: fields of the tracepoint record, read with bpf_probe_read_kernel.
    let loc: u32 = unsafe { ctx.read_at(layout.frame as usize).ok()? };
    let (offset, len) = data_loc(loc);
    let mut ev = events::new(kind);
    ev.ifindex = station.ifindex;
    if len >= 24 {
        // SAFETY: as above; the read stays inside the record for frames of 26 bytes or more,
        // and a 24-byte frame (no reason) is read without the reason.
        let frame = unsafe {
            bpf_probe_read_kernel(record.add(offset as usize) as *const [u8; FRAME_PREFIX]).ok()?
        };
        fill_from_frame(&mut ev, &frame, len as usize);
    }
    events::send(&ev);
    Some(())
}

#[inline(always)]
fn fill_from_frame(ev: &mut Event, frame: &[u8; FRAME_PREFIX], len: usize) {
    ev.subtype = frame[0] >> 4;
    ev.addr1.0.copy_from_slice(&frame[4..10]);
    ev.addr2.0.copy_from_slice(&frame[10..16]);
    ev.bssid.0.copy_from_slice(&frame[16..22]);
    if len >= FRAME_PREFIX {
        ev.reason = u16::from_le_bytes([frame[24], frame[25]]);
    }
}

#[tracepoint]
pub fn roam_cqm_rssi(ctx: TracePointContext) -> u32 {
    let _ = cqm_rssi(&ctx);
    0
}

#[inline(always)]
fn cqm_rssi(ctx: &TracePointContext) -> Option<()> {
    let layout = globals::cqm_rssi();
    let station = station::get()?;
    if !station::record_is_station(ctx.as_ptr() as *const u8, layout.ifindex, &station) {
        return None;
    }
    let mut ev = events::new(EventKind::CqmRssi);
    ev.ifindex = station.ifindex;
    // SAFETY: fields of the record.
    unsafe {
        ev.reason = ctx.read_at::<u32>(layout.rssi_event as usize).ok()? as u16;
        if layout.rssi_level != ABSENT {
            ev.value = ctx.read_at::<i32>(layout.rssi_level as usize).ok()? as i64 as u64;
        }
    }
    events::send(&ev);
    Some(())
}
