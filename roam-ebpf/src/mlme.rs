//! cfg80211's raw tracepoints: the management frames the station's MLME receives and sends
//! (auth, assoc, deauth, disassoc, with their reason codes), and CQM RSSI threshold crossings.
//! The station's SME sees these whether or not a monitor interface exists.
//!
//! `cfg80211_{rx,tx}_mlme_mgmt(struct net_device *, const u8 *buf, int len[, bool])` and
//! `cfg80211_cqm_rssi_notify(struct net_device *, enum rssi_event, s32 level)`.

use aya_ebpf::{
    helpers::bpf_probe_read_kernel, macros::raw_tracepoint, programs::RawTracePointContext,
};
use roam_common::event::{Event, EventKind};

use crate::{events, station};

/// The 802.11 header plus a reason code: all a deauth/disassoc needs.
const FRAME_PREFIX: usize = 26;
/// The 802.11 management header alone.
const HEADER: usize = 24;

#[raw_tracepoint(tracepoint = "cfg80211_rx_mlme_mgmt")]
pub fn roam_mlme_rx(ctx: RawTracePointContext) -> u32 {
    mlme(&ctx, EventKind::MlmeRx);
    0
}

#[raw_tracepoint(tracepoint = "cfg80211_tx_mlme_mgmt")]
pub fn roam_mlme_tx(ctx: RawTracePointContext) -> u32 {
    mlme(&ctx, EventKind::MlmeTx);
    0
}

#[inline(always)]
fn mlme(ctx: &RawTracePointContext, kind: EventKind) -> Option<()> {
    let station = station::get()?;
    if !station::is_station_netdev(ctx.arg(0), &station) {
        return None;
    }
    let buf: *const u8 = ctx.arg(1);
    let len: u32 = ctx.arg(2);
    let mut ev = events::new(kind);
    ev.ifindex = station.ifindex;
    let mut frame = [0u8; FRAME_PREFIX];
    // SAFETY: bpf_probe_read_kernel tolerates any address; the reads stay within `len` bytes
    // of the frame cfg80211 hands the tracepoint.
    unsafe {
        if len as usize >= FRAME_PREFIX {
            frame = bpf_probe_read_kernel(buf as *const [u8; FRAME_PREFIX]).ok()?;
        } else if len as usize >= HEADER {
            let header = bpf_probe_read_kernel(buf as *const [u8; HEADER]).ok()?;
            frame[..HEADER].copy_from_slice(&header);
        }
    }
    if len as usize >= HEADER {
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

#[raw_tracepoint(tracepoint = "cfg80211_cqm_rssi_notify")]
pub fn roam_cqm_rssi(ctx: RawTracePointContext) -> u32 {
    let _ = cqm_rssi(&ctx);
    0
}

#[inline(always)]
fn cqm_rssi(ctx: &RawTracePointContext) -> Option<()> {
    let station = station::get()?;
    if !station::is_station_netdev(ctx.arg(0), &station) {
        return None;
    }
    let mut ev = events::new(EventKind::CqmRssi);
    ev.ifindex = station.ifindex;
    ev.reason = ctx.arg::<u32>(1) as u16;
    ev.value = ctx.arg::<i32>(2) as i64 as u64;
    events::send(&ev);
    Some(())
}
