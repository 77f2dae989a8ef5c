//! mac80211's tracepoints.
//! - `api_*`: the driver or mac80211 itself declaring the AP lost. `api_beacon_loss` /
//!   `api_connection_loss` come from drivers that filter beacons in hardware;
//!   `api_cqm_beacon_loss_notify` is mac80211's own beacon-loss report (mac80211_hwsim included).
//! - `drv_sta_state`: the AP's station entry reaching AUTHORIZED, the instant data may flow
//!   (after the 4-way handshake, or at association on an open network).

use aya_ebpf::{macros::tracepoint, programs::TracePointContext, EbpfContext};
use roam_common::{
    event::EventKind,
    layout::{VifLayout, ABSENT, IEEE80211_STA_AUTHORIZED},
};

use crate::{events, globals, station};

#[tracepoint]
pub fn roam_beacon_loss(ctx: TracePointContext) -> u32 {
    report(&ctx, &globals::beacon_loss(), EventKind::BeaconLoss);
    0
}

#[tracepoint]
pub fn roam_cqm_beacon_loss(ctx: TracePointContext) -> u32 {
    report(&ctx, &globals::cqm_beacon_loss(), EventKind::BeaconLoss);
    0
}

#[tracepoint]
pub fn roam_connection_loss(ctx: TracePointContext) -> u32 {
    report(&ctx, &globals::connection_loss(), EventKind::ConnectionLoss);
    0
}

#[inline(always)]
fn report(ctx: &TracePointContext, layout: &VifLayout, kind: EventKind) {
    let Some(station) = station::get() else { return };
    if station::record_names_station(ctx.as_ptr() as *const u8, layout.vif_name, &station) {
        let mut ev = events::new(kind);
        ev.ifindex = station.ifindex;
        events::send(&ev);
    }
}

#[tracepoint]
pub fn roam_sta_state(ctx: TracePointContext) -> u32 {
    let layout = globals::sta_state();
    if layout.new_state == ABSENT || layout.sta_addr == ABSENT {
        return 0;
    }
    // SAFETY: fields of the tracepoint record.
    let new_state: u32 = unsafe { ctx.read_at(layout.new_state as usize).unwrap_or(0) };
    if new_state != IEEE80211_STA_AUTHORIZED {
        return 0;
    }
    let Some(station) = station::get() else { return 0 };
    if !station::record_names_station(ctx.as_ptr() as *const u8, layout.vif_name, &station) {
        return 0;
    }
    let mut ev = events::new(EventKind::PortAuthorized);
    ev.ifindex = station.ifindex;
    // SAFETY: as above.
    ev.bssid = unsafe { ctx.read_at(layout.sta_addr as usize).unwrap_or_default() };
    events::send(&ev);
    0
}
