//! Every map the programs share. Sizes and value types come from `roam_common::maps`.

use aya_ebpf::{
    macros::map,
    maps::{Array, PerCpuArray, PerCpuHashMap, RingBuf},
};
use roam_common::history::{HistorySlot, SLOTS as HISTORY_SLOTS};
use roam_common::maps::{
    BssSlot, FilterConfig, FilterCpu, LinkActivity, LinkConfig, StationIface, WindowCounters,
    WindowState, BSS_TABLE_SLOTS, DROP_REASON_CAPACITY, EVENT_RING_BYTES,
};

/// Per-BSS table: every AP heard on the monitor interface's channel (2-way set-associative,
/// see roam_common::bss::lookup).
#[map]
pub static BSS_TABLE: Array<BssSlot> = Array::with_max_entries(BSS_TABLE_SLOTS, 0);

/// What the socket filter watches for (written by the agent).
#[map]
pub static FILTER_CONFIG: Array<FilterConfig> = Array::with_max_entries(1, 0);

/// Socket filter statistics and the frame copy (too big for the 512-byte BPF stack).
#[map]
pub static FILTER_CPU: PerCpuArray<FilterCpu> = PerCpuArray::with_max_entries(1, 0);

/// Events to the agent: only changes, never one per beacon.
#[map]
pub static EVENTS: RingBuf = RingBuf::with_byte_size(EVENT_RING_BYTES, 0);

/// The station interface the tracepoints filter on (written by the agent).
#[map]
pub static STATION: Array<StationIface> = Array::with_max_entries(1, 0);

/// When to hint the agent that the station's traffic goes unanswered (written by the agent).
#[map]
pub static LINK_CONFIG: Array<LinkConfig> = Array::with_max_entries(1, 0);

/// When the AP was last heard and the agent last hinted (written by the programs).
#[map]
pub static LINK_ACTIVITY: Array<LinkActivity> = Array::with_max_entries(1, 0);

/// Whether the drop window is open.
#[map]
pub static WINDOW: Array<WindowState> = Array::with_max_entries(1, 0);

/// What happened while windows were open (cumulative).
#[map]
pub static WINDOW_COUNTERS: PerCpuArray<WindowCounters> = PerCpuArray::with_max_entries(1, 0);

/// Drops on the station interface while a window was open, by kernel drop reason.
#[map]
pub static DROP_REASONS: PerCpuHashMap<u32, u64> =
    PerCpuHashMap::with_max_entries(DROP_REASON_CAPACITY, 0);

/// What the station sent, per time slot (a ring, see roam_common::history): answers how much
/// went out into an AP that had already gone silent.
#[map]
pub static EGRESS_HISTORY: PerCpuArray<HistorySlot> =
    PerCpuArray::with_max_entries(HISTORY_SLOTS, 0);

/// What the window's drop counter counted, per time slot: a packet dropped before the station
/// left the silent AP was sent (egress history) but never reached the air.
#[map]
pub static DROP_HISTORY: PerCpuArray<HistorySlot> = PerCpuArray::with_max_entries(HISTORY_SLOTS, 0);
