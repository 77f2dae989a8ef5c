//! Kernel layouts resolved by the agent at load time and handed to the programs as read-only
//! globals: tracepoint field offsets (from tracefs `format` files) and struct member offsets
//! (from the running kernel's BTF). Nothing here is hard-coded for one kernel.

/// "This field does not exist in the running kernel": programs skip what depends on it.
pub const ABSENT: u32 = u32::MAX;

/// Member offsets of kernel structs, from `/sys/kernel/btf/vmlinux`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetDevLayout {
    /// `struct sk_buff` -> `dev` (a `struct net_device *`).
    pub skb_dev: u32,
    /// `struct sk_buff` -> `sk` (a `struct sock *`, set while a local socket owns the packet).
    pub skb_sk: u32,
    /// `struct net_device` -> `ifindex` (int).
    pub dev_ifindex: u32,
    /// `struct net_device` -> `nd_net.net` (a `struct net *`).
    pub dev_nd_net: u32,
    /// `struct net` -> `ns.inum` (unsigned int): the namespace's inode number.
    pub net_ns_inum: u32,
}

impl NetDevLayout {
    pub const UNRESOLVED: Self = Self {
        skb_dev: ABSENT,
        skb_sk: ABSENT,
        dev_ifindex: ABSENT,
        dev_nd_net: ABSENT,
        net_ns_inum: ABSENT,
    };
}

/// Field offsets of `skb:kfree_skb`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KfreeSkbLayout {
    pub skbaddr: u32,
    /// `unsigned short`: the packet's ethertype, in host byte order.
    pub protocol: u32,
    /// `enum skb_drop_reason`; ABSENT before Linux 5.17.
    pub reason: u32,
}

impl KfreeSkbLayout {
    pub const UNRESOLVED: Self = Self { skbaddr: ABSENT, protocol: ABSENT, reason: ABSENT };
}

/// Field offsets of one `neigh:*` tracepoint (they name the device, they carry no ifindex).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighLayout {
    pub family: u32,
    /// `__data_loc char[] dev`.
    pub dev: u32,
    pub nud_state: u32,
    /// `neigh_update`: the state being set.
    pub new_state: u32,
    /// `neigh_event_send_done`: non-zero when the packet was queued instead of sent.
    pub err: u32,
}

impl NeighLayout {
    pub const UNRESOLVED: Self =
        Self { family: ABSENT, dev: ABSENT, nud_state: ABSENT, new_state: ABSENT, err: ABSENT };
}

/// Field offsets of `cfg80211:cfg80211_{rx,tx}_mlme_mgmt`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MlmeLayout {
    pub ifindex: u32,
    /// `__data_loc u8[] frame`: the 802.11 frame without radiotap.
    pub frame: u32,
}

impl MlmeLayout {
    pub const UNRESOLVED: Self = Self { ifindex: ABSENT, frame: ABSENT };
}

/// Field offsets of mac80211's `api_*` tracepoints, which name the virtual interface.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VifLayout {
    /// `__data_loc char[] vif_name`.
    pub vif_name: u32,
}

impl VifLayout {
    pub const UNRESOLVED: Self = Self { vif_name: ABSENT };
}

/// Field offsets of `mac80211:drv_sta_state`: a station entry moving between mac80211's
/// states (NOTEXIST, NONE, AUTH, ASSOC, AUTHORIZED).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaStateLayout {
    /// `__data_loc char[] vif_name`.
    pub vif_name: u32,
    /// `char sta_addr[6]`: on a station interface, the AP.
    pub sta_addr: u32,
    pub new_state: u32,
}

impl StaStateLayout {
    pub const UNRESOLVED: Self = Self { vif_name: ABSENT, sta_addr: ABSENT, new_state: ABSENT };
}

/// `enum ieee80211_sta_state`: the port is open (mac80211 passes data, not only EAPOL).
pub const IEEE80211_STA_AUTHORIZED: u32 = 4;

/// Field offsets of `cfg80211:cfg80211_cqm_rssi_notify`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CqmRssiLayout {
    pub ifindex: u32,
    pub rssi_event: u32,
    /// ABSENT on kernels whose event carries no level.
    pub rssi_level: u32,
}

impl CqmRssiLayout {
    pub const UNRESOLVED: Self = Self { ifindex: ABSENT, rssi_event: ABSENT, rssi_level: ABSENT };
}

/// Splits a tracepoint `__data_loc` word into (offset from the record start, length).
#[inline(always)]
pub fn data_loc(word: u32) -> (u32, u32) {
    (word & 0xffff, word >> 16)
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)] structs of u32 only.
    unsafe impl aya::Pod for super::NetDevLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::KfreeSkbLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::NeighLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::MlmeLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::VifLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::StaStateLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::CqmRssiLayout {}
}
