//! mac80211's `api_*` tracepoints: the driver or mac80211 itself declaring the AP lost.
//! `api_beacon_loss` / `api_connection_loss` come from drivers that filter beacons in hardware;
//! `api_cqm_beacon_loss_notify` is mac80211's own beacon-loss report (mac80211_hwsim included).

use aya_ebpf::{macros::tracepoint, programs::TracePointContext, EbpfContext};
use roam_common::{event::EventKind, layout::VifLayout};

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
