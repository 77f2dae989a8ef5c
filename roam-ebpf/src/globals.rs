//! Kernel layouts set by the agent at load time (`EbpfLoader::set_global`). They live in
//! read-only data, so the verifier sees constants and prunes what a kernel lacks.

use roam_common::layout::{
    CqmRssiLayout, KfreeSkbLayout, MlmeLayout, NeighLayout, NetDevLayout, StaStateLayout, VifLayout,
};

#[unsafe(no_mangle)]
static NETDEV_LAYOUT: NetDevLayout = NetDevLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static KFREE_SKB_LAYOUT: KfreeSkbLayout = KfreeSkbLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static NEIGH_UPDATE_LAYOUT: NeighLayout = NeighLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static NEIGH_CREATE_LAYOUT: NeighLayout = NeighLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static NEIGH_SEND_DONE_LAYOUT: NeighLayout = NeighLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static NEIGH_CLEANUP_LAYOUT: NeighLayout = NeighLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static MLME_RX_LAYOUT: MlmeLayout = MlmeLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static MLME_TX_LAYOUT: MlmeLayout = MlmeLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static BEACON_LOSS_LAYOUT: VifLayout = VifLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static CONNECTION_LOSS_LAYOUT: VifLayout = VifLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static CQM_BEACON_LOSS_LAYOUT: VifLayout = VifLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static STA_STATE_LAYOUT: StaStateLayout = StaStateLayout::UNRESOLVED;
#[unsafe(no_mangle)]
static CQM_RSSI_LAYOUT: CqmRssiLayout = CqmRssiLayout::UNRESOLVED;

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
    kfree_skb -> KfreeSkbLayout = KFREE_SKB_LAYOUT;
    neigh_update -> NeighLayout = NEIGH_UPDATE_LAYOUT;
    neigh_create -> NeighLayout = NEIGH_CREATE_LAYOUT;
    neigh_send_done -> NeighLayout = NEIGH_SEND_DONE_LAYOUT;
    neigh_cleanup -> NeighLayout = NEIGH_CLEANUP_LAYOUT;
    mlme_rx -> MlmeLayout = MLME_RX_LAYOUT;
    mlme_tx -> MlmeLayout = MLME_TX_LAYOUT;
    beacon_loss -> VifLayout = BEACON_LOSS_LAYOUT;
    connection_loss -> VifLayout = CONNECTION_LOSS_LAYOUT;
    cqm_beacon_loss -> VifLayout = CQM_BEACON_LOSS_LAYOUT;
    sta_state -> StaStateLayout = STA_STATE_LAYOUT;
    cqm_rssi -> CqmRssiLayout = CQM_RSSI_LAYOUT;
}
