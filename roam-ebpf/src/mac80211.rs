//! mac80211's raw tracepoints. Each passes the virtual interface (`struct
//! ieee80211_sub_if_data *`), followed to its netdev through BTF offsets.
//! - `api_*`: the driver or mac80211 itself declaring the AP lost. `api_beacon_loss(sdata)` /
//!   `api_connection_loss(sdata)` come from drivers that filter beacons in hardware;
//!   `api_cqm_beacon_loss_notify(local, sdata)` is mac80211's own beacon-loss report.
//! - `drv_sta_state(local, sdata, sta, old, new)`: the AP's station entry reaching AUTHORIZED,
//!   the instant data may flow (after the 4-way handshake, or at association on an open network).

use aya_ebpf::{
    helpers::bpf_probe_read_kernel, macros::raw_tracepoint, programs::RawTracePointContext,
};
use roam_common::{
    event::EventKind,
    layout::{ABSENT, IEEE80211_STA_AUTHORIZED},
    MacAddr,
};

use crate::{events, globals, station};

#[raw_tracepoint(tracepoint = "api_beacon_loss")]
pub fn roam_beacon_loss(ctx: RawTracePointContext) -> u32 {
    report(ctx.arg(0), EventKind::BeaconLoss);
    0
}

#[raw_tracepoint(tracepoint = "api_cqm_beacon_loss_notify")]
pub fn roam_cqm_beacon_loss(ctx: RawTracePointContext) -> u32 {
    report(ctx.arg(1), EventKind::BeaconLoss);
    0
}

#[raw_tracepoint(tracepoint = "api_connection_loss")]
pub fn roam_connection_loss(ctx: RawTracePointContext) -> u32 {
    report(ctx.arg(0), EventKind::ConnectionLoss);
    0
}

#[inline(always)]
fn report(sdata: *const u8, kind: EventKind) {
    let Some(station) = station::get() else { return };
    if station::is_station_sdata(sdata, &station) {
        let mut ev = events::new(kind);
        ev.ifindex = station.ifindex;
        events::send(&ev);
    }
}

#[raw_tracepoint(tracepoint = "drv_sta_state")]
pub fn roam_sta_state(ctx: RawTracePointContext) -> u32 {
    let _ = sta_state(&ctx);
    0
}

#[inline(always)]
fn sta_state(ctx: &RawTracePointContext) -> Option<()> {
    let new_state: u32 = ctx.arg(4);
    if new_state != IEEE80211_STA_AUTHORIZED {
        return None;
    }
    let layout = globals::mac80211();
    let station = station::get()?;
    if layout.sta_addr == ABSENT || !station::is_station_sdata(ctx.arg(1), &station) {
        return None;
    }
    let sta: *const u8 = ctx.arg(2);
    let mut ev = events::new(EventKind::PortAuthorized);
    ev.ifindex = station.ifindex;
    // SAFETY: bpf_probe_read_kernel tolerates any address; the offset is ieee80211_sta.addr's.
    let addr =
        unsafe { bpf_probe_read_kernel(sta.add(layout.sta_addr as usize) as *const [u8; 6]) };
    ev.bssid = MacAddr(addr.ok()?);
    events::send(&ev);
    Some(())
}
