//! Is this device the station interface? Every hook reaches a `struct net_device *`, directly or
//! one pointer away, and compares its ifindex and network namespace with the station's.

use aya_ebpf::helpers::bpf_probe_read_kernel;
use roam_common::{layout::ABSENT, maps::StationIface};

use crate::{globals, maps::STATION};

#[inline(always)]
pub fn get() -> Option<StationIface> {
    STATION.get(0).copied()
}

/// A `struct net_device *` (a tracepoint argument, or followed from an skb or neighbour):
/// compares ifindex and network namespace through the BTF offsets the agent resolved.
#[inline(always)]
pub fn is_station_netdev(dev: *const u8, station: &StationIface) -> bool {
    let layout = globals::netdev();
    if dev.is_null() || layout.dev_ifindex == ABSENT {
        return false;
    }
    // SAFETY: bpf_probe_read_kernel tolerates any address; a bad one returns an error.
    let ifindex =
        unsafe { bpf_probe_read_kernel(dev.add(layout.dev_ifindex as usize) as *const i32) };
    if ifindex.ok() != Some(station.ifindex as i32) {
        return false;
    }
    if layout.dev_nd_net == ABSENT || layout.net_ns_inum == ABSENT {
        // A kernel without network namespaces has a single ifindex space.
        return true;
    }
    // SAFETY: as above.
    let inum = unsafe {
        bpf_probe_read_kernel(dev.add(layout.dev_nd_net as usize) as *const *const u8).and_then(
            |net| bpf_probe_read_kernel(net.add(layout.net_ns_inum as usize) as *const u32),
        )
    };
    inum.ok() == Some(station.netns_inum)
}

/// A `struct ieee80211_sub_if_data *` (mac80211's virtual interface): is its netdev the station?
#[inline(always)]
pub fn is_station_sdata(sdata: *const u8, station: &StationIface) -> bool {
    let layout = globals::mac80211();
    if sdata.is_null() || layout.sdata_dev == ABSENT {
        return false;
    }
    // SAFETY: as above.
    let dev =
        unsafe { bpf_probe_read_kernel(sdata.add(layout.sdata_dev as usize) as *const *const u8) };
    dev.is_ok_and(|dev| is_station_netdev(dev, station))
}
