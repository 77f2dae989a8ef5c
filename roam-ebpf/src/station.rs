//! Is this device the station interface? Tracepoints name devices in three ways; each has a test.

use aya_ebpf::helpers::bpf_probe_read_kernel;
use roam_common::{
    layout::{data_loc, ABSENT},
    maps::{StationIface, IFNAMSIZ},
};

use crate::{globals, maps::STATION};

#[inline(always)]
pub fn get() -> Option<StationIface> {
    STATION.get(0).copied()
}

/// A `struct net_device *` from a kfree_skb record or a kprobe argument: compares ifindex and
/// network namespace through the BTF offsets the agent resolved.
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

/// A `__data_loc char[]` device name in a tracepoint record at `ctx`.
#[inline(always)]
pub fn record_names_station(ctx: *const u8, loc_field: u32, station: &StationIface) -> bool {
    if loc_field == ABSENT {
        return false;
    }
    // SAFETY: ctx points at the tracepoint record; reads go through bpf_probe_read_kernel.
    let Ok(loc) = (unsafe { bpf_probe_read_kernel(ctx.add(loc_field as usize) as *const u32) })
    else {
        return false;
    };
    let (offset, _len) = data_loc(loc);
    // SAFETY: as above; a name shorter than IFNAMSIZ is NUL-terminated inside the read.
    let name = unsafe { bpf_probe_read_kernel(ctx.add(offset as usize) as *const [u8; IFNAMSIZ]) };
    name.is_ok_and(|name| station.name_matches(&name))
}

/// A fixed `char name[IFNAMSIZ]` + `int ifindex` pair (cfg80211's NETDEV_ENTRY).
#[inline(always)]
pub fn record_is_station(ctx: *const u8, ifindex_field: u32, station: &StationIface) -> bool {
    if ifindex_field == ABSENT {
        return false;
    }
    // SAFETY: as above.
    let ifindex = unsafe { bpf_probe_read_kernel(ctx.add(ifindex_field as usize) as *const i32) };
    ifindex.ok() == Some(station.ifindex as i32)
}
