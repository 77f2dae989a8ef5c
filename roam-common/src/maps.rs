//! Map keys and values shared by the kernel programs and the agent. All `#[repr(C)]`, with
//! explicit padding, so both sides agree byte for byte.

use crate::MacAddr;

/// One way of the per-BSS table: an array map used as a 2-way set-associative table (see
/// `bss::lookup`). Array lookups are inlined by the verifier, a hash lookup is not: this keeps the
/// per-frame cost of the socket filter low.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BssSlot {
    pub bssid: MacAddr,
    /// Non-zero once the slot holds a BSS.
    pub in_use: u8,
    pub _pad: u8,
    pub record: BssRecord,
}

/// Sets of the per-BSS table (a power of two) and ways per set.
pub const BSS_TABLE_SETS: u32 = 512;
pub const BSS_TABLE_WAYS: u32 = 2;
/// Entries of the per-BSS array map.
pub const BSS_TABLE_SLOTS: u32 = BSS_TABLE_SETS * BSS_TABLE_WAYS;

/// One row of the per-BSS table, maintained by the socket filter from every frame the BSS sends.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BssRecord {
    /// Monotonic time of the first and the last frame the AP sent (CLOCK_MONOTONIC ns at kernel
    /// tick resolution: the socket filter reads the coarse clock).
    pub first_seen_ns: u64,
    pub last_seen_ns: u64,
    /// Last beacon or probe response.
    pub last_beacon_ns: u64,
    pub beacon_count: u64,
    /// Every frame attributed to the BSS as transmitter (beacons, data, management).
    pub frame_count: u64,
    /// Exponentially weighted average of the signal, dBm x 16 (fixed point, weight 1/8).
    pub signal_avg_x16: i32,
    pub ssid_hash: u32,
    pub beacon_interval_tu: u16,
    pub capability: u16,
    pub freq_mhz: u16,
    pub signal_last_dbm: i8,
    /// [`BSS_FLAG_SILENT_REPORTED`], [`BSS_FLAG_HAS_SIGNAL`], [`BSS_FLAG_WEAK_REPORTED`].
    pub flags: u8,
}

/// A "silent" event was sent for the current silence; cleared when the AP is heard again.
pub const BSS_FLAG_SILENT_REPORTED: u8 = 1 << 0;
/// `signal_avg_x16` holds at least one sample.
pub const BSS_FLAG_HAS_SIGNAL: u8 = 1 << 1;
/// A "weak" event was sent for the current weak spell; cleared when the signal recovers.
pub const BSS_FLAG_WEAK_REPORTED: u8 = 1 << 2;

/// Written by the agent (array map, one entry): what the socket filter watches for.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterConfig {
    /// The BSS the station is associated with; all-zero when not associated.
    pub assoc_bssid: MacAddr,
    /// The station's own address: deauth/disassoc frames not to or from it are ignored.
    /// All-zero accepts every deauth/disassoc (useful for observation of a whole channel).
    pub station: MacAddr,
    /// The associated BSS is reported silent after this many beacon intervals without a frame.
    pub silence_intervals: u32,
    /// Non-zero: report the next data frame the associated AP sends ([`EventKind::FirstData`],
    /// once; the filter clears this). The agent arms it when a connection completes, to learn
    /// when traffic really flows again.
    ///
    /// [`EventKind::FirstData`]: crate::event::EventKind::FirstData
    pub watch_data: u32,
    /// The associated BSS's beacon interval (TU) as its association gave it, which the silence
    /// test uses rather than what a beacon in its name (maybe forged) says; 0: not known.
    pub assoc_beacon_interval_tu: u32,
    /// The station's network (the hash of its SSID, as [`crate::frame::ies::ssid_hash`]): a
    /// BSS first heard wakes the agent only if it is of this network (beacons of every other
    /// network around, or a flood of invented ones, are counted in the table, not reported);
    /// 0: every one (not connected yet).
    pub own_ssid_hash: u32,
    /// Report the associated BSS's smoothed signal falling below this (dBm x 16) once
    /// ([`EventKind::SignalWeak`]); 0: never.
    ///
    /// [`EventKind::SignalWeak`]: crate::event::EventKind::SignalWeak
    pub weak_signal_x16: i32,
}

/// What the agent tells the station's link programs (array map, one entry, written by the
/// agent only).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkConfig {
    /// Send [`EventKind::TxUnanswered`] when the station transmits while nothing has come from
    /// its AP for this long (and not more often); 0: never.
    ///
    /// [`EventKind::TxUnanswered`]: crate::event::EventKind::TxUnanswered
    pub quiet_ns: u64,
    /// The last time the agent knew the AP alive (an acknowledged probe): counts as heard.
    pub alive_ns: u64,
}

/// What the station's link did (array map, one entry, written by the kernel programs only).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkActivity {
    /// The last frame from the AP: any packet received on the station interface (all of them
    /// come through the AP), or a frame of the associated BSS on the monitor (CLOCK_MONOTONIC).
    pub last_rx_ns: u64,
    /// The last [`EventKind::TxUnanswered`] sent.
    ///
    /// [`EventKind::TxUnanswered`]: crate::event::EventKind::TxUnanswered
    pub last_hint_ns: u64,
    /// The last data packet the station sent (CLOCK_MONOTONIC): while it sends, its next packet
    /// into a silence wakes the agent, which can then look less often.
    pub last_tx_ns: u64,
}

impl LinkActivity {
    /// Whether a packet sent at `now_ns` should make the agent ask the AP: nothing from it (nor
    /// an acknowledgement) for `config.quiet_ns`, and no hint within that time either.
    #[inline(always)]
    pub fn hint_due(&self, config: &LinkConfig, now_ns: u64) -> bool {
        if config.quiet_ns == 0 {
            return false;
        }
        let alive =
            if config.alive_ns > self.last_rx_ns { config.alive_ns } else { self.last_rx_ns };
        now_ns.saturating_sub(alive) >= config.quiet_ns
            && now_ns.saturating_sub(self.last_hint_ns) >= config.quiet_ns
    }
}

/// Index of the single entry of array maps.
pub const SINGLE: u32 = 0;

/// Interface name length including the terminating NUL (IFNAMSIZ).
pub const IFNAMSIZ: usize = 16;

/// The station interface the tracepoint and carrier programs filter on (array map, one entry).
/// Tracepoints identify devices differently: by ifindex (cfg80211), by name (neigh, mac80211),
/// or by a `struct net_device` pointer (kfree_skb, carrier), so all three keys are here.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StationIface {
    pub ifindex: u32,
    /// Inode number of the station's network namespace: ifindexes repeat across namespaces.
    pub netns_inum: u32,
    /// NUL-padded interface name.
    pub name: [u8; IFNAMSIZ],
}

impl StationIface {
    /// `None` if the name does not fit IFNAMSIZ with its NUL.
    pub fn new(ifindex: u32, netns_inum: u32, name: &str) -> Option<Self> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() >= IFNAMSIZ {
            return None;
        }
        let mut padded = [0u8; IFNAMSIZ];
        padded[..bytes.len()].copy_from_slice(bytes);
        Some(Self { ifindex, netns_inum, name: padded })
    }

    /// Whether a device name read from a tracepoint record (NUL-terminated or exactly
    /// IFNAMSIZ-1 long) is this interface's. An unset (empty) name matches nothing.
    #[inline(always)]
    pub fn name_matches(&self, candidate: &[u8; IFNAMSIZ]) -> bool {
        if self.name[0] == 0 {
            return false;
        }
        for (want, got) in self.name.iter().zip(candidate) {
            if want != got {
                return false;
            }
            if *want == 0 {
                return true;
            }
        }
        true
    }
}

/// Whether the link is in transition ("the drop window"): written by the carrier hooks in the
/// kernel and by the agent. Array map, one entry.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowState {
    /// Non-zero while the window is open: the egress, drop and neighbour programs count.
    pub open: u32,
    pub _pad: u32,
    /// When the window opened (CLOCK_MONOTONIC ns), 0 if never.
    pub opened_ns: u64,
    /// How many windows have opened: lets the agent tell one window from the next.
    pub generation: u64,
}

/// Cumulative counters of everything seen while a window was open (per-CPU array, one entry).
/// Counters only move while a window is open, so a window's figures are the difference between
/// the totals at its close and at the previous close.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WindowCounters {
    /// Packets and bytes the stack handed to the station interface (TC egress).
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Packets freed with a drop reason whose device is the station interface.
    pub dropped_packets: u64,
    /// Packets queued behind an unresolved neighbour entry ("held", not lost yet).
    pub held_packets: u64,
    /// Neighbour entries of the station interface flushed / created / resolved.
    pub neigh_flushed: u64,
    pub neigh_created: u64,
    pub neigh_resolved: u64,
}

impl core::ops::AddAssign for WindowCounters {
    fn add_assign(&mut self, o: Self) {
        self.tx_packets += o.tx_packets;
        self.tx_bytes += o.tx_bytes;
        self.dropped_packets += o.dropped_packets;
        self.held_packets += o.held_packets;
        self.neigh_flushed += o.neigh_flushed;
        self.neigh_created += o.neigh_created;
        self.neigh_resolved += o.neigh_resolved;
    }
}

impl WindowCounters {
    /// Counts between an earlier snapshot and this one.
    pub fn since(&self, earlier: &Self) -> Self {
        Self {
            tx_packets: self.tx_packets.wrapping_sub(earlier.tx_packets),
            tx_bytes: self.tx_bytes.wrapping_sub(earlier.tx_bytes),
            dropped_packets: self.dropped_packets.wrapping_sub(earlier.dropped_packets),
            held_packets: self.held_packets.wrapping_sub(earlier.held_packets),
            neigh_flushed: self.neigh_flushed.wrapping_sub(earlier.neigh_flushed),
            neigh_created: self.neigh_created.wrapping_sub(earlier.neigh_created),
            neigh_resolved: self.neigh_resolved.wrapping_sub(earlier.neigh_resolved),
        }
    }
}

/// Per-frame statistics of the socket filter (per-CPU array, one entry): how much it parsed and
/// why it skipped the rest. Cheap to keep, and what a bad driver or a frame storm shows up in.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FilterStats {
    pub frames: u64,
    pub malformed: u64,
    pub ignored: u64,
    /// Events queued to the agent, by every program (not only the socket filter).
    pub events: u64,
    /// Ring buffer full: an event was lost (any program).
    pub events_lost: u64,
    /// A BSS took the slot of the least recently heard one in its set.
    pub evictions: u64,
    /// New BSSes of the station's network not announced to the agent: over the wake budget
    /// ([`crate::bss::NEW_BSS_WAKES_PER_SECOND`]). Their rows are in the table; the agent reads
    /// them when this grows.
    pub new_bss_unannounced: u64,
}

/// The socket filter's per-CPU working set: its statistics and the copy of the current frame, in
/// one map value so a frame costs one per-CPU lookup.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterCpu {
    pub stats: FilterStats,
    pub frame: [u8; crate::frame::FRAME_BUF],
    pub opaque: Opaque,
    /// How many new BSSes this CPU announced in the current second.
    pub wakes: crate::bss::WakeBudget,
}

/// Values the socket filter stores and reads straight back, so that the kernel's verifier knows
/// them only as numbers of their type: it then checks the element walk of a new BSS once, not
/// once for every way the parser could end (each with its own header lengths). That took the
/// filter from 714 k verified instructions to 81 k.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Opaque {
    pub elements_off: u16,
    pub frame_len: u16,
    pub _pad: u32,
}

impl core::ops::AddAssign for FilterStats {
    fn add_assign(&mut self, o: Self) {
        self.frames += o.frames;
        self.malformed += o.malformed;
        self.ignored += o.ignored;
        self.events += o.events;
        self.events_lost += o.events_lost;
        self.evictions += o.evictions;
        self.new_bss_unannounced += o.new_bss_unannounced;
    }
}

impl FilterStats {
    /// Frames parsed into an observation (not counted per frame in the kernel: derived).
    pub fn parsed(&self) -> u64 {
        self.frames.saturating_sub(self.malformed + self.ignored)
    }
}

/// Capacity of the drop-reason table (distinct reasons seen).
pub const DROP_REASON_CAPACITY: u32 = 256;
/// Ring buffer size in bytes (a page multiple): thousands of events between agent reads.
pub const EVENT_RING_BYTES: u32 = 256 * 1024;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all of these are #[repr(C)], contain only integers and byte arrays, and have
    // explicit padding fields, so every bit pattern is valid and there are no uninit bytes.
    unsafe impl aya::Pod for super::BssSlot {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::BssRecord {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::FilterConfig {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::LinkConfig {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::LinkActivity {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::StationIface {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::WindowState {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::WindowCounters {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::FilterStats {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::FilterCpu {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_due_after_a_quiet_spell_and_not_more_often() {
        const MS: u64 = 1_000_000;
        let config = LinkConfig { quiet_ns: 40 * MS, alive_ns: 0 };
        let mut activity = LinkActivity { last_rx_ns: 1_000 * MS, ..LinkActivity::default() };
        assert!(!activity.hint_due(&config, 1_039 * MS), "heard 39 ms ago");
        assert!(activity.hint_due(&config, 1_040 * MS));
        activity.last_hint_ns = 1_040 * MS;
        assert!(!activity.hint_due(&config, 1_079 * MS), "one hint per quiet spell");
        assert!(activity.hint_due(&config, 1_080 * MS));
        // An acknowledged probe counts as hearing the AP.
        let config = LinkConfig { quiet_ns: 40 * MS, alive_ns: 1_070 * MS };
        assert!(!activity.hint_due(&config, 1_100 * MS));
        assert!(!activity.hint_due(&LinkConfig::default(), 9_000 * MS), "0: never");
    }

    #[test]
    fn station_name_matching() {
        let sta = StationIface::new(3, 4026531840, "wlan0").unwrap();
        let mut candidate = [0u8; IFNAMSIZ];
        candidate[..5].copy_from_slice(b"wlan0");
        assert!(sta.name_matches(&candidate));
        candidate[5] = b'1'; // "wlan01"
        assert!(!sta.name_matches(&candidate));
        candidate[..5].copy_from_slice(b"wlan1");
        candidate[5] = 0;
        assert!(!sta.name_matches(&candidate));
        assert!(!StationIface::default().name_matches(&[0; IFNAMSIZ]), "unset matches nothing");
        assert!(StationIface::new(1, 1, "a-very-long-name").is_none(), "16 bytes leave no NUL");
        let longest = StationIface::new(1, 1, "fifteen-chars-x").unwrap();
        assert!(longest.name_matches(b"fifteen-chars-x\0"));
    }

    #[test]
    fn window_counters_difference() {
        let a = WindowCounters { tx_packets: 10, dropped_packets: 4, ..Default::default() };
        let mut b = a;
        b += WindowCounters {
            tx_packets: 5,
            dropped_packets: 5,
            held_packets: 2,
            ..Default::default()
        };
        let d = b.since(&a);
        assert_eq!((d.tx_packets, d.dropped_packets, d.held_packets), (5, 5, 2));
    }
}
