//! Per-BSS bookkeeping and the silence test: the policy the socket filter applies to each frame.
//!
//! Pure functions over [`BssRecord`]s, so the kernel program is only map lookups around them.

use crate::{
    frame::{FrameKind, Observation},
    maps::{
        BssRecord, BssSlot, BSS_FLAG_HAS_SIGNAL, BSS_FLAG_SILENT_REPORTED, BSS_FLAG_WEAK_REPORTED,
        BSS_TABLE_SETS,
    },
    MacAddr,
};

/// One time unit (TU) of 802.11 is 1024 microseconds.
pub const NS_PER_TU: u64 = 1_024_000;
/// Interval assumed for a BSS heard only through non-beacon frames so far.
pub const DEFAULT_BEACON_INTERVAL_TU: u16 = 100;
/// The beacon intervals roam takes from a frame. 802.11 allows 1 to 65535 TU; APs use 100, a
/// few 40 to 1000. Beacons are not authenticated, so anyone can send one in an AP's name: one
/// with an interval of 1 TU would make the AP's silence threshold a few milliseconds.
pub const PLAUSIBLE_BEACON_INTERVAL_TU: core::ops::RangeInclusive<u16> = 10..=1000;
/// Bounds for the agent-configured silence threshold, in beacon intervals.
pub const MIN_SILENCE_INTERVALS: u32 = 2;
pub const MAX_SILENCE_INTERVALS: u32 = 20;

/// The set of the per-BSS table a BSSID lives in (FNV-1a of the address): its ways are the
/// array indexes `2 * set` and `2 * set + 1`.
#[inline(always)]
pub fn set_of(bssid: &MacAddr) -> u32 {
    let mut h = crate::frame::ies::FNV_OFFSET;
    for b in bssid.0 {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    // Fold the high bits in: FNV's low bits alone mix the last byte weakly.
    (h ^ (h >> 16)) & (BSS_TABLE_SETS - 1)
}

/// Where a BSS is, or where it goes, within its set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Way {
    /// The BSS is in this way.
    Hit(u32),
    /// Not in the set: this way is free, or holds the least recently heard BSS.
    Miss { victim: u32, evicts: bool },
}

/// Finds `bssid` in a set. The victim for a new BSS is a free way, else the way heard least
/// recently, but never the associated BSS (`keep`): losing its row would blind the silence check.
#[inline(always)]
pub fn lookup(ways: [&BssSlot; 2], bssid: &MacAddr, keep: &MacAddr) -> Way {
    for (i, slot) in ways.iter().enumerate() {
        if slot.in_use != 0 && slot.bssid == *bssid {
            return Way::Hit(i as u32);
        }
    }
    for (i, slot) in ways.iter().enumerate() {
        if slot.in_use == 0 {
            return Way::Miss { victim: i as u32, evicts: false };
        }
    }
    let victim = if ways[0].bssid == *keep {
        1
    } else if ways[1].bssid == *keep {
        0
    } else if ways[1].record.last_seen_ns < ways[0].record.last_seen_ns {
        1
    } else {
        0
    };
    Way::Miss { victim, evicts: true }
}

/// Whether a frame may create a table row: only beacons and probe responses carry the SSID,
/// interval and capability that make a row useful as a roaming candidate.
#[inline(always)]
pub fn creates_record(obs: &Observation) -> bool {
    obs.from_ap && matches!(obs.kind, FrameKind::Beacon | FrameKind::ProbeResponse)
}

/// A new row for a BSS first heard in `obs`.
#[inline(always)]
pub fn new_record(obs: &Observation, now_ns: u64) -> BssRecord {
    let mut rec = BssRecord { first_seen_ns: now_ns, ..BssRecord::default() };
    update(&mut rec, obs, now_ns);
    rec
}

/// A frame heard this long after the BSS's previous one starts its signal average afresh: an
/// average of frames seconds apart (a BSS on another channel, heard only during scans) says
/// where the station was, not where it is.
pub const SIGNAL_AVERAGE_GAP_NS: u64 = 1_000_000_000;

/// Folds a frame the BSS transmitted into its row. Returns true if the BSS had been reported
/// silent and is now heard again.
#[inline(always)]
pub fn update(rec: &mut BssRecord, obs: &Observation, now_ns: u64) -> bool {
    let heard_lately = now_ns.saturating_sub(rec.last_seen_ns) <= SIGNAL_AVERAGE_GAP_NS;
    rec.last_seen_ns = now_ns;
    rec.frame_count += 1;
    if matches!(obs.kind, FrameKind::Beacon | FrameKind::ProbeResponse) {
        if obs.kind == FrameKind::Beacon {
            rec.beacon_count += 1;
        }
        rec.last_beacon_ns = now_ns;
        // Taken once, from the first plausible frame: a later one (maybe forged) cannot change
        // it. The associated BSS's interval comes from the association (`check_silence`).
        if rec.beacon_interval_tu == 0 && is_plausible_interval(obs.beacon_interval_tu) {
            rec.beacon_interval_tu = obs.beacon_interval_tu;
        }
        rec.capability = obs.capability;
        // The kernel reads elements only for a new row; a zero hash means "not read".
        if obs.ssid_hash != 0 {
            rec.ssid_hash = obs.ssid_hash;
        }
    }
    if obs.freq_mhz != 0 {
        rec.freq_mhz = obs.freq_mhz;
    }
    if let Some(dbm) = obs.signal_dbm {
        rec.signal_last_dbm = dbm;
        let sample = (dbm as i32) * 16;
        rec.signal_avg_x16 = if rec.flags & BSS_FLAG_HAS_SIGNAL == 0 || !heard_lately {
            sample
        } else {
            // EWMA with weight 1/8: smooths fading without lagging a real trend by more than a
            // second of beacons.
            rec.signal_avg_x16 + (sample - rec.signal_avg_x16) / 8
        };
        rec.flags |= BSS_FLAG_HAS_SIGNAL;
    }
    let was_silent = rec.flags & BSS_FLAG_SILENT_REPORTED != 0;
    rec.flags &= !BSS_FLAG_SILENT_REPORTED;
    was_silent
}

/// New BSSes announced to the agent per second at most (per CPU): a flood of invented BSSes of
/// the station's own SSID cannot wake it per beacon. The rest are in the table, counted
/// ([`crate::maps::FilterStats::new_bss_unannounced`]) for the agent to read.
pub const NEW_BSS_WAKES_PER_SECOND: u32 = 32;

/// The announcements of the current second.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WakeBudget {
    pub window_start_ns: u64,
    pub used: u32,
    pub _pad: u32,
}

/// Takes one announcement from the budget at `now_ns`; false when the second's are used up.
#[inline(always)]
pub fn take_wake(budget: &mut WakeBudget, now_ns: u64) -> bool {
    if now_ns.saturating_sub(budget.window_start_ns) >= 1_000_000_000 {
        budget.window_start_ns = now_ns;
        budget.used = 0;
    }
    if budget.used >= NEW_BSS_WAKES_PER_SECOND {
        return false;
    }
    budget.used += 1;
    true
}

/// Whether a BSS heard for the first time is worth waking the agent for: it is of the
/// station's network (`own_ssid_hash`, 0 before a connection: any). Pure.
#[inline(always)]
pub fn wakes_agent(ssid_hash: u32, own_ssid_hash: u32) -> bool {
    own_ssid_hash == 0 || ssid_hash == own_ssid_hash
}

/// Whether a beacon interval is one roam takes from a frame ([`PLAUSIBLE_BEACON_INTERVAL_TU`]).
#[inline(always)]
pub fn is_plausible_interval(tu: u16) -> bool {
    PLAUSIBLE_BEACON_INTERVAL_TU.contains(&tu)
}

/// The beacon interval in nanoseconds (the default for a BSS not heard beaconing yet).
#[inline(always)]
pub fn beacon_interval_ns(rec: &BssRecord) -> u64 {
    let tu = if rec.beacon_interval_tu == 0 {
        DEFAULT_BEACON_INTERVAL_TU
    } else {
        rec.beacon_interval_tu
    };
    tu as u64 * NS_PER_TU
}

/// The associated BSS's beacon interval in nanoseconds: the one its association gave
/// (`assoc_interval_tu`, as the connection manager reports it; 0 if unknown), else its row's.
#[inline(always)]
pub fn associated_interval_ns(rec: &BssRecord, assoc_interval_tu: u32) -> u64 {
    if assoc_interval_tu <= u16::MAX as u32 && is_plausible_interval(assoc_interval_tu as u16) {
        assoc_interval_tu as u64 * NS_PER_TU
    } else {
        beacon_interval_ns(rec)
    }
}

/// The silence threshold clamped to the supported range (a zeroed config means the default 3).
#[inline(always)]
pub fn clamp_silence_intervals(n: u32) -> u32 {
    if n == 0 {
        3
    } else {
        n.clamp(MIN_SILENCE_INTERVALS, MAX_SILENCE_INTERVALS)
    }
}

/// How long the associated BSS has been unheard, if that is more than `intervals` of its beacon
/// intervals (see [`associated_interval_ns`]) and it has not been reported yet. Marks it
/// reported, so one silence yields one event.
#[inline(always)]
pub fn check_silence(
    rec: &mut BssRecord,
    now_ns: u64,
    intervals: u32,
    assoc_interval_tu: u32,
) -> Option<u64> {
    if rec.flags & BSS_FLAG_SILENT_REPORTED != 0 || now_ns <= rec.last_seen_ns {
        return None;
    }
    let unheard = now_ns - rec.last_seen_ns;
    let interval_ns = associated_interval_ns(rec, assoc_interval_tu);
    if unheard <= clamp_silence_intervals(intervals) as u64 * interval_ns {
        return None;
    }
    rec.flags |= BSS_FLAG_SILENT_REPORTED;
    Some(unheard)
}

/// A weak spell ends (and the next fall is reported again) this far above the watch level:
/// 3 dB, more than a beacon's fading moves the average.
pub const WEAK_REARM_X16: i32 = 3 * 16;

/// Whether the associated BSS's smoothed signal has just fallen below `weak_x16` (dBm x 16;
/// 0: never): true once per weak spell, which ends [`WEAK_REARM_X16`] above it.
#[inline(always)]
pub fn check_weak(rec: &mut BssRecord, weak_x16: i32) -> bool {
    if weak_x16 == 0 || rec.flags & BSS_FLAG_HAS_SIGNAL == 0 {
        return false;
    }
    if rec.flags & BSS_FLAG_WEAK_REPORTED != 0 {
        if rec.signal_avg_x16 >= weak_x16 + WEAK_REARM_X16 {
            rec.flags &= !BSS_FLAG_WEAK_REPORTED;
        }
        return false;
    }
    if rec.signal_avg_x16 < weak_x16 {
        rec.flags |= BSS_FLAG_WEAK_REPORTED;
        return true;
    }
    false
}

/// The average signal in whole dBm (rounded toward zero), if any sample was seen.
pub fn signal_avg_dbm(rec: &BssRecord) -> Option<i32> {
    (rec.flags & BSS_FLAG_HAS_SIGNAL != 0).then_some(rec.signal_avg_x16 / 16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;

    fn beacon(signal: i8) -> Observation {
        Observation {
            kind: FrameKind::Beacon,
            bssid: MacAddr([2, 0, 0, 0, 0, 0]),
            from_ap: true,
            addr1: MacAddr::BROADCAST,
            addr2: MacAddr([2, 0, 0, 0, 0, 0]),
            seq: 1,
            protected: false,
            freq_mhz: 2412,
            signal_dbm: Some(signal),
            beacon_interval_tu: 100,
            capability: 0x411,
            ssid_hash: 42,
            ssid_len: 4,
            reason: 0,
            management_subtype: 8,
            elements_off: 0,
        }
    }

    const BI: u64 = 100 * NS_PER_TU;

    fn slot(bssid: MacAddr, last_seen_ns: u64) -> BssSlot {
        BssSlot {
            bssid,
            in_use: 1,
            _pad: 0,
            record: BssRecord { last_seen_ns, ..BssRecord::default() },
        }
    }

    #[test]
    fn set_lookup_hits_fills_and_evicts_the_stalest() {
        let (a, b, c) =
            (MacAddr([2, 0, 0, 0, 0, 1]), MacAddr([2, 0, 0, 0, 0, 2]), MacAddr([2, 0, 0, 0, 0, 3]));
        let free = BssSlot::default();
        assert_eq!(
            lookup([&free, &free], &a, &MacAddr::UNSET),
            Way::Miss { victim: 0, evicts: false }
        );
        assert_eq!(
            lookup([&slot(a, 5), &free], &b, &MacAddr::UNSET),
            Way::Miss { victim: 1, evicts: false }
        );
        assert_eq!(lookup([&slot(a, 5), &slot(b, 9)], &b, &MacAddr::UNSET), Way::Hit(1));
        // Full set: the least recently heard way goes...
        assert_eq!(
            lookup([&slot(a, 5), &slot(b, 9)], &c, &MacAddr::UNSET),
            Way::Miss { victim: 0, evicts: true }
        );
        assert_eq!(
            lookup([&slot(a, 9), &slot(b, 5)], &c, &MacAddr::UNSET),
            Way::Miss { victim: 1, evicts: true }
        );
        // ...unless it is the associated BSS.
        assert_eq!(
            lookup([&slot(a, 5), &slot(b, 9)], &c, &a),
            Way::Miss { victim: 1, evicts: true }
        );
    }

    #[test]
    fn sets_spread_consecutive_addresses() {
        // APs of one vendor differ in their last bytes; they must not crowd into a few sets.
        let mut seen = std::collections::HashSet::new();
        for i in 0..64u8 {
            seen.insert(set_of(&MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, i])));
            assert!(set_of(&MacAddr([0x02, 0, 0, 0, i, 0])) < BSS_TABLE_SETS);
        }
        assert!(seen.len() >= 60, "64 consecutive BSSIDs fell into {} sets", seen.len());
    }

    #[test]
    fn a_row_follows_beacons_and_data() {
        let mut rec = new_record(&beacon(-40), 1_000);
        assert_eq!((rec.first_seen_ns, rec.beacon_count, rec.frame_count), (1_000, 1, 1));
        assert_eq!(signal_avg_dbm(&rec), Some(-40));
        let data = Observation { kind: FrameKind::Data, signal_dbm: Some(-48), ..beacon(0) };
        update(&mut rec, &data, 2_000);
        assert_eq!((rec.last_seen_ns, rec.last_beacon_ns), (2_000, 1_000));
        assert_eq!((rec.beacon_count, rec.frame_count), (1, 2));
        assert_eq!(rec.signal_avg_x16, -40 * 16 - 16, "one eighth of the way to -48");
    }

    /// A BSS on another channel is heard only when a scan visits it: its probe response of
    /// now is its level, not an eighth of the way from the one of seconds ago.
    #[test]
    fn a_frame_after_a_silence_starts_the_average_afresh() {
        let s = 1_000_000_000;
        let mut rec = new_record(&beacon(-50), s);
        update(&mut rec, &beacon(-70), s + SIGNAL_AVERAGE_GAP_NS);
        assert_eq!(rec.signal_avg_x16, -50 * 16 - 40, "heard lately: averaged");
        update(&mut rec, &beacon(-70), 4 * s);
        assert_eq!(signal_avg_dbm(&rec), Some(-70), "after three seconds unheard");
    }

    #[test]
    fn a_flood_of_new_bsses_wakes_the_agent_a_bounded_number_of_times_a_second() {
        let mut budget = WakeBudget::default();
        let s = 1_000_000_000;
        let woken = (0..1000).filter(|i| take_wake(&mut budget, 5 * s + i * 1_000_000)).count();
        assert_eq!(woken, NEW_BSS_WAKES_PER_SECOND as usize);
        assert!(take_wake(&mut budget, 6 * s), "a new second, a new budget");
    }

    #[test]
    fn only_bsses_of_the_stations_network_wake_the_agent() {
        assert!(wakes_agent(42, 42));
        assert!(!wakes_agent(7, 42), "another network's BSS");
        assert!(!wakes_agent(0, 42), "a hidden SSID's beacon");
        assert!(wakes_agent(7, 0), "not connected: every BSS");
    }

    #[test]
    fn only_ap_beacons_and_probe_responses_create_rows() {
        assert!(creates_record(&beacon(-40)));
        let data = Observation { kind: FrameKind::Data, ..beacon(-40) };
        assert!(!creates_record(&data));
        let from_station = Observation { from_ap: false, ..beacon(-40) };
        assert!(!creates_record(&from_station));
    }

    #[test]
    fn silence_is_reported_once_after_n_intervals() {
        let mut rec = new_record(&beacon(-40), 0);
        assert_eq!(
            check_silence(&mut rec, 3 * BI, 3, 0),
            None,
            "exactly N intervals is not silence"
        );
        assert_eq!(check_silence(&mut rec, 3 * BI + 1, 3, 0), Some(3 * BI + 1));
        assert_eq!(check_silence(&mut rec, 10 * BI, 3, 0), None, "reported once");
        assert!(update(&mut rec, &beacon(-40), 11 * BI), "heard again");
        assert_eq!(check_silence(&mut rec, 13 * BI, 3, 0), None);
        assert!(check_silence(&mut rec, 14 * BI + 1, 3, 0).is_some(), "a second silence");
    }

    #[test]
    fn silence_threshold_is_clamped() {
        assert_eq!(clamp_silence_intervals(0), 3);
        assert_eq!(clamp_silence_intervals(1), MIN_SILENCE_INTERVALS);
        assert_eq!(clamp_silence_intervals(500), MAX_SILENCE_INTERVALS);
        let mut rec = new_record(&beacon(-40), 0);
        assert_eq!(check_silence(&mut rec, 2 * BI + 1, 1, 0), Some(2 * BI + 1));
    }

    #[test]
    fn clock_going_backwards_is_not_silence() {
        let mut rec = new_record(&beacon(-40), 5 * BI);
        assert_eq!(check_silence(&mut rec, BI, 3, 0), None);
    }

    #[test]
    fn long_beacon_intervals_scale_the_threshold() {
        let slow = Observation { beacon_interval_tu: 1000, ..beacon(-40) };
        let mut rec = new_record(&slow, 0);
        assert_eq!(check_silence(&mut rec, 5 * BI, 3, 0), None);
        assert!(check_silence(&mut rec, 30 * BI + 1, 3, 0).is_some());
    }

    #[test]
    fn a_beacon_cannot_shorten_the_interval_it_was_first_heard_with() {
        let mut rec = new_record(&beacon(-40), 0);
        // In the AP's name, 1 TU: the silence threshold would be 3 ms.
        let forged = Observation { beacon_interval_tu: 1, ..beacon(-40) };
        update(&mut rec, &forged, BI);
        assert_eq!(rec.beacon_interval_tu, 100);
        // Nor lengthen it, once known.
        let slow = Observation { beacon_interval_tu: 1000, ..beacon(-40) };
        update(&mut rec, &slow, 2 * BI);
        assert_eq!(rec.beacon_interval_tu, 100);
        assert_eq!(check_silence(&mut rec, 2 * BI + 4 * NS_PER_TU, 3, 0), None);
    }

    #[test]
    fn an_implausible_first_interval_is_not_taken() {
        for tu in [0, 1, 9, 1001, u16::MAX] {
            let rec = new_record(&Observation { beacon_interval_tu: tu, ..beacon(-40) }, 0);
            assert_eq!(rec.beacon_interval_tu, 0, "{tu} TU");
            assert_eq!(beacon_interval_ns(&rec), BI, "the default for {tu} TU");
        }
    }

    #[test]
    fn the_associations_interval_decides_the_associated_bss_silence() {
        // First heard through a forged (plausible) 10 TU beacon; the association says 100.
        let mut rec = new_record(&Observation { beacon_interval_tu: 10, ..beacon(-40) }, 0);
        assert_eq!(check_silence(&mut rec, BI, 3, 100), None, "one interval is not silence");
        assert!(check_silence(&mut rec, 3 * BI + 1, 3, 100).is_some());
        // An implausible association value (or none) falls back to the row's.
        let mut rec = new_record(&beacon(-40), 0);
        assert!(check_silence(&mut rec, 3 * BI + 1, 3, 70_000).is_some());
        assert_eq!(associated_interval_ns(&rec, 1), BI);
    }

    #[test]
    fn a_weak_signal_is_reported_once_per_spell() {
        let mut rec = new_record(&beacon(-60), 0);
        let weak = -70 * 16;
        assert!(!check_weak(&mut rec, weak));
        let mut reported = 0;
        for t in 1..=40 {
            update(&mut rec, &beacon(-80), t);
            reported += check_weak(&mut rec, weak) as u32;
        }
        assert_eq!(reported, 1, "once while it stays weak");
        // Back just above the level: still the same spell; well above: a new fall is reported.
        for t in 41..=80 {
            update(&mut rec, &beacon(-68), t);
            assert!(!check_weak(&mut rec, weak));
        }
        assert_ne!(rec.flags & BSS_FLAG_WEAK_REPORTED, 0);
        for t in 81..=120 {
            update(&mut rec, &beacon(-60), t);
            check_weak(&mut rec, weak);
        }
        assert_eq!(rec.flags & BSS_FLAG_WEAK_REPORTED, 0, "the spell ended");
        for t in 121..=160 {
            update(&mut rec, &beacon(-80), t);
            reported += check_weak(&mut rec, weak) as u32;
        }
        assert_eq!(reported, 2);
        assert!(!check_weak(&mut rec, 0), "0: never");
    }
}
