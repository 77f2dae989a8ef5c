//! Kernel layouts resolved by the agent at load time from the running kernel's BTF and handed to
//! the programs as read-only globals. Nothing here is hard-coded for one kernel.
//!
//! The tracing hooks are raw tracepoints (and fentry for carrier): their arguments are the
//! tracepoint's `TP_PROTO` arguments, kernel pointers the programs follow through these member
//! offsets. No tracefs record layout, and no perf event, is involved.

/// "This member does not exist in the running kernel": programs skip what depends on it.
pub const ABSENT: u32 = u32::MAX;

/// Member offsets of vmlinux structs (`/sys/kernel/btf/vmlinux`).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetDevLayout {
    /// `struct sk_buff` -> `dev` (a `struct net_device *`).
    pub skb_dev: u32,
    /// `struct sk_buff` -> `sk` (a `struct sock *`, set while a local socket owns the packet).
    pub skb_sk: u32,
    /// `struct sk_buff` -> `protocol` (`__be16`: the ethertype, network byte order).
    pub skb_protocol: u32,
    /// `struct net_device` -> `ifindex` (int).
    pub dev_ifindex: u32,
    /// `struct net_device` -> `nd_net.net` (a `struct net *`).
    pub dev_nd_net: u32,
    /// `struct net` -> `ns.inum` (unsigned int): the namespace's inode number.
    pub net_ns_inum: u32,
    /// `skb:kfree_skb` passes `enum skb_drop_reason` as its third argument (Linux 5.17 on);
    /// 0 on older kernels, whose programs must not read an argument that is not there.
    pub kfree_skb_has_reason: u32,
}

impl NetDevLayout {
    pub const UNRESOLVED: Self = Self {
        skb_dev: ABSENT,
        skb_sk: ABSENT,
        skb_protocol: ABSENT,
        dev_ifindex: ABSENT,
        dev_nd_net: ABSENT,
        net_ns_inum: ABSENT,
        kfree_skb_has_reason: 0,
    };
}

/// Member offsets of `struct neighbour` (vmlinux).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeighLayout {
    /// `dev` (a `struct net_device *`).
    pub dev: u32,
    /// `nud_state` (u8).
    pub nud_state: u32,
}

impl NeighLayout {
    pub const UNRESOLVED: Self = Self { dev: ABSENT, nud_state: ABSENT };
}

/// Member offsets of mac80211's structs, from its module BTF (`/sys/kernel/btf/mac80211`,
/// present while the module is loaded).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mac80211Layout {
    /// `struct ieee80211_sub_if_data` -> `dev` (a `struct net_device *`; NULL for virtual
    /// interfaces without a netdev).
    pub sdata_dev: u32,
    /// `struct ieee80211_sta` -> `addr` (`u8[6]`): on a station interface, the AP.
    pub sta_addr: u32,
}

impl Mac80211Layout {
    pub const UNRESOLVED: Self = Self { sdata_dev: ABSENT, sta_addr: ABSENT };
}

/// `enum ieee80211_sta_state`: the port is open (mac80211 passes data, not only EAPOL).
pub const IEEE80211_STA_AUTHORIZED: u32 = 4;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: #[repr(C)] structs of u32 only: every bit pattern is valid, no padding.
    unsafe impl aya::Pod for super::NetDevLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::NeighLayout {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::Mac80211Layout {}
}
