//! Kernel layouts set by the agent at load time (`EbpfLoader::set_global`), from the running
//! kernel's BTF. They live in read-only data, so the verifier sees constants and prunes what a
//! kernel lacks.

use roam_common::layout::{Mac80211Layout, NeighLayout, NetDevLayout};

#[unsafe(no_mangle)]
static NETDEV_LAYOUT: NetDevLayout = NetDevLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static NEIGH_LAYOUT: NeighLayout = NeighLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static MAC80211_LAYOUT: Mac80211Layout = Mac80211Layout::UNRESOLVED;

/// Reads a global through a volatile load, so the compiler cannot fold the placeholder value.
macro_rules! getter {
    ($($fn:ident -> $ty:ty = $global:ident;)*) => {
        $(
            #[inline(always)]
            pub fn $fn() -> $ty {
                // SAFETY: a plain read of an initialised static the loader may have patched.
                unsafe { core::ptr::read_volatile(&$global) }
            }
        )*
    };
}

getter! {
    netdev -> NetDevLayout = NETDEV_LAYOUT;
    neigh -> NeighLayout = NEIGH_LAYOUT;
    mac80211 -> Mac80211Layout = MAC80211_LAYOUT;
}
