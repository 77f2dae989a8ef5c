//! Carrier loss and return of the station interface, from fentry on `netif_carrier_off/on`
//! (Linux has no carrier tracepoint). Losing the carrier opens the drop window at the moment it
//! happens; the agent closes it once traffic flows. Where fentry does not load (no BTF
//! trampolines on the architecture, or a kernel that refuses it) the agent follows carrier
//! through rtnetlink instead and opens the window itself.

use aya_ebpf::{macros::fentry, programs::FEntryContext};
use aya_log_ebpf::debug;
use roam_common::event::EventKind;

use crate::{events, station, window};

#[fentry(function = "netif_carrier_off")]
pub fn roam_carrier_off(ctx: FEntryContext) -> u32 {
    if let Some(ifindex) = station_arg(&ctx) {
        if window::open() {
            debug!(&ctx, "carrier lost on ifindex {}: drop window open", ifindex);
        }
        let mut ev = events::new(EventKind::CarrierOff);
        ev.ifindex = ifindex;
        events::send(&ev);
    }
    0
}

#[fentry(function = "netif_carrier_on")]
pub fn roam_carrier_on(ctx: FEntryContext) -> u32 {
    if let Some(ifindex) = station_arg(&ctx) {
        let mut ev = events::new(EventKind::CarrierOn);
        ev.ifindex = ifindex;
        events::send(&ev);
    }
    0
}

/// The station's ifindex if the `struct net_device *` argument is the station interface.
#[inline(always)]
fn station_arg(ctx: &FEntryContext) -> Option<u32> {
    let station = station::get()?;
    station::is_station_netdev(ctx.arg(0), &station).then_some(station.ifindex)
}
