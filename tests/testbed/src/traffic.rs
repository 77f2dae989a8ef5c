//! The traffic numbers every claim uses, computed from the probe's records.
//!
//! The probe sends a numbered, timestamped UDP datagram every interval and notes when each echo
//! comes back. Around a trigger:
//! - the *gap* is the longest interval without a completed round trip, starting from the last
//!   round trip completed at or before the trigger (the gap includes the probe interval itself:
//!   undisturbed traffic shows a gap of one interval);
//! - *lost packets* are probes sent after that last round trip that never came back;
//! - the *first answered probe* is the round trip that ends the gap: the first packet through the
//!   new AP (or the old one, after a reconnection).

use serde::{Deserialize, Serialize};

/// One probe: when it left and, if it came back, when its echo arrived (CLOCK_MONOTONIC ns).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeRecord {
    pub seq: u64,
    pub sent_ns: u64,
    pub echoed_ns: Option<u64>,
}

/// What happened to the traffic around one trigger.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrafficOutcome {
    /// Longest interval without a completed round trip, in ms.
    pub gap_ms: f64,
    /// Probes sent after the last pre-trigger round trip and never answered.
    pub lost_packets: u64,
    /// Round trips completed again by the end of the window.
    pub recovered: bool,
    /// When the longest gap started and ended (ns); `end` is `None` if traffic never came back.
    pub gap_start_ns: u64,
    pub gap_end_ns: Option<u64>,
    /// How long, from the trigger on, more than [`LOSSY_FRACTION`] of the probes sent were
    /// lost, in ms (by [`settled_streak`]-probe spans: 200 ms at the usual interval).
    pub lossy_ms: f64,
}

/// A span of probes with more than this fraction unanswered counts as lossy.
pub const LOSSY_FRACTION: f64 = 0.05;

/// Answered probes in a row that make the traffic steady (before a trigger) or back (after it):
/// 200 ms of them (20 at the usual 10 ms), at least 3 (an idle station's one a second).
pub fn settled_streak(interval_ns: u64) -> usize {
    ((200_000_000 / interval_ns.max(1)) as usize).clamp(3, 20)
}

/// Probes in flight at the end of the window are not lost yet: ignore the last few intervals.
const IN_FLIGHT_INTERVALS: u64 = 5;
/// Traffic counts as recovered if a round trip completed within this many intervals of the end.
const RECOVERED_WITHIN_INTERVALS: u64 = 5;

/// Analyses the records of a window `[.., end_ns]` around a trigger at `trigger_ns`.
pub fn analyze(
    records: &[ProbeRecord],
    trigger_ns: u64,
    end_ns: u64,
    interval_ns: u64,
) -> TrafficOutcome {
    let mut completions: Vec<(u64, u64)> = records
        .iter()
        .filter_map(|r| r.echoed_ns.map(|echoed| (echoed, r.sent_ns)))
        .filter(|&(echoed, _)| echoed <= end_ns)
        .collect();
    completions.sort_unstable();

    // The last round trip completed at or before the trigger anchors the measurement.
    let anchor = completions.iter().rev().find(|&&(echoed, _)| echoed <= trigger_ns).copied();
    let (anchor_ns, anchor_sent_ns) = anchor.unwrap_or((trigger_ns, trigger_ns));

    let answered_after_trigger = completions.iter().any(|&(_, sent)| sent >= trigger_ns);
    let last_completion = completions.last().map(|&(echoed, _)| echoed);
    let recovered = answered_after_trigger
        && last_completion
            .is_some_and(|last| end_ns - last <= RECOVERED_WITHIN_INTERVALS * interval_ns);

    // Walk the completions after the anchor, tracking the widest step; then the end of the
    // window, only while traffic has not come back (after a recovery, the time since the last
    // echo is probes in flight, not a gap: a run without any outage whose window ended a
    // moment late showed that as its gap, with no round trip to end it).
    let mut previous = anchor_ns;
    let mut widest = (0, anchor_ns, None);
    let after_anchor =
        completions.iter().map(|&(echoed, _)| echoed).filter(|&echoed| echoed > anchor_ns);
    let window_end = (!recovered).then_some(None);
    for point in after_anchor.map(Some).chain(window_end) {
        let at = point.unwrap_or(end_ns);
        if at.saturating_sub(previous) > widest.0 {
            widest = (at - previous, previous, point);
        }
        previous = at;
    }
    let (gap_ns, gap_start_ns, gap_end_ns) = widest;

    let in_flight_from = end_ns.saturating_sub(IN_FLIGHT_INTERVALS * interval_ns);
    let lost_packets = records
        .iter()
        .filter(|r| r.sent_ns > anchor_sent_ns && r.sent_ns <= in_flight_from)
        .filter(|r| r.echoed_ns.is_none_or(|echoed| echoed > end_ns))
        .count() as u64;

    TrafficOutcome {
        gap_ms: gap_ns as f64 / 1e6,
        lost_packets,
        recovered,
        gap_start_ns,
        gap_end_ns,
        lossy_ms: lossy_ms(records, trigger_ns, in_flight_from, end_ns, interval_ns),
    }
}

/// The time with more than [`LOSSY_FRACTION`] of the probes lost: probes sent from `from_ns`
/// up to `until_ns`, by spans of [`settled_streak`] intervals, each lossy or not as a whole.
fn lossy_ms(
    records: &[ProbeRecord],
    from_ns: u64,
    until_ns: u64,
    end_ns: u64,
    interval_ns: u64,
) -> f64 {
    let span_ns = settled_streak(interval_ns) as u64 * interval_ns.max(1);
    let mut spans: std::collections::BTreeMap<u64, (u32, u32)> = Default::default();
    for r in records.iter().filter(|r| r.sent_ns >= from_ns && r.sent_ns <= until_ns) {
        let (sent, lost) = spans.entry((r.sent_ns - from_ns) / span_ns).or_default();
        *sent += 1;
        *lost += u32::from(r.echoed_ns.is_none_or(|echoed| echoed > end_ns));
    }
    // A span cut short by the end of the window is judged only if it holds half its probes.
    let judged = (settled_streak(interval_ns) as u32).div_ceil(2);
    let lossy = spans
        .values()
        .filter(|(sent, _)| *sent >= judged)
        .filter(|(sent, lost)| f64::from(*lost) > LOSSY_FRACTION * f64::from(*sent))
        .count();
    (lossy as u64 * span_ns) as f64 / 1e6
}

#[cfg(test)]
mod streak_tests {
    use super::settled_streak;

    #[test]
    fn a_settled_streak_is_200_ms_of_probes_and_at_least_three() {
        assert_eq!(settled_streak(10_000_000), 20);
        assert_eq!(settled_streak(50_000_000), 4);
        assert_eq!(settled_streak(1_000_000_000), 3);
        assert_eq!(settled_streak(1_000_000), 20, "never more than 20");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const INTERVAL: u64 = 10 * MS;

    /// Probes every 10 ms from 0 to `until_ms`, answered after 1 ms unless `lost(sent_ms)`.
    fn traffic(until_ms: u64, lost: impl Fn(u64) -> bool) -> Vec<ProbeRecord> {
        (0..until_ms / 10)
            .map(|seq| {
                let sent_ms = seq * 10;
                ProbeRecord {
                    seq,
                    sent_ns: sent_ms * MS,
                    echoed_ns: (!lost(sent_ms)).then_some(sent_ms * MS + MS),
                }
            })
            .collect()
    }

    #[test]
    fn undisturbed_traffic_shows_one_interval() {
        let records = traffic(3000, |_| false);
        let outcome = analyze(&records, 1000 * MS, 3000 * MS, INTERVAL);
        assert_eq!(outcome.gap_ms, 10.0);
        assert_eq!(outcome.lost_packets, 0);
        assert!(outcome.recovered);
    }

    /// Found by CI (beacons-lost-ap-alive, stock, no outage at all): the window ended 25 ms
    /// after the last echo, and that tail was taken for the run's gap, with no round trip to
    /// end it.
    #[test]
    fn the_tail_of_a_recovered_window_is_no_gap() {
        let records = traffic(3000, |_| false);
        let outcome = analyze(&records, 1000 * MS, 3016 * MS, INTERVAL);
        assert!(outcome.recovered);
        assert_eq!(outcome.gap_ms, 10.0);
        assert!(outcome.gap_end_ns.is_some(), "a round trip ends the gap");
    }

    #[test]
    fn an_outage_is_measured_from_the_last_round_trip() {
        // Trigger at 1005 ms; probes sent from 1010 to 2490 ms are lost.
        let records = traffic(4000, |sent| (1010..2500).contains(&sent));
        let outcome = analyze(&records, 1005 * MS, 4000 * MS, INTERVAL);
        // Last echo before the trigger: probe 1000 at 1001 ms; first after: probe 2500 at 2501 ms.
        assert_eq!(outcome.gap_ms, 1500.0);
        assert_eq!(outcome.gap_start_ns, 1001 * MS);
        assert_eq!(outcome.gap_end_ns, Some(2501 * MS));
        assert_eq!(outcome.lost_packets, 149);
        assert!(outcome.recovered);
    }

    #[test]
    fn traffic_that_never_returns_is_not_recovered() {
        let records = traffic(4000, |sent| sent >= 1010);
        let outcome = analyze(&records, 1005 * MS, 4000 * MS, INTERVAL);
        assert!(!outcome.recovered);
        assert_eq!(outcome.gap_end_ns, None);
        assert_eq!(outcome.gap_ms, 2999.0);
        // Probes in the last 50 ms may still be in flight.
        assert_eq!(outcome.lost_packets, (3950 - 1010) / 10 + 1);
    }

    #[test]
    fn lossy_time_counts_the_spans_with_more_than_five_percent_lost() {
        // Undisturbed: none. One probe in 40 lost: at most one in a span of 20, 5 %, not more.
        let clean = traffic(4000, |_| false);
        assert_eq!(analyze(&clean, 1000 * MS, 4000 * MS, INTERVAL).lossy_ms, 0.0);
        let one_in_forty = traffic(4000, |sent| sent % 400 == 0);
        assert_eq!(analyze(&one_in_forty, 1000 * MS, 4000 * MS, INTERVAL).lossy_ms, 0.0);
        // Two in 20 from 2000 to 2999 ms: five 200 ms spans.
        let fading = traffic(4000, |sent| (2000..3000).contains(&sent) && sent % 100 == 0);
        assert_eq!(analyze(&fading, 1000 * MS, 4000 * MS, INTERVAL).lossy_ms, 1000.0);
        // An outage is lossy throughout.
        let outage = traffic(4000, |sent| (1010..1810).contains(&sent));
        assert_eq!(analyze(&outage, 1005 * MS, 4000 * MS, INTERVAL).lossy_ms, 800.0);
    }

    #[test]
    fn late_echoes_and_reordering_count_by_arrival() {
        let mut records = traffic(2000, |sent| (500..700).contains(&sent));
        // Probe 490's echo is stuck until 800 ms, after probe 700's (701 ms).
        records[49].echoed_ns = Some(800 * MS);
        let outcome = analyze(&records, 495 * MS, 2000 * MS, INTERVAL);
        // The last completion at or before the trigger is probe 480 (481 ms).
        assert_eq!(outcome.gap_start_ns, 481 * MS);
        assert_eq!(outcome.gap_end_ns, Some(701 * MS));
        assert_eq!(outcome.gap_ms, 220.0);
        assert_eq!(outcome.lost_packets, 20);
    }

    #[test]
    fn echoes_after_the_window_do_not_count() {
        let mut records = traffic(2000, |_| false);
        for r in records.iter_mut().filter(|r| r.sent_ns >= 1000 * MS) {
            r.echoed_ns = Some(5000 * MS);
        }
        let outcome = analyze(&records, 995 * MS, 2000 * MS, INTERVAL);
        assert!(!outcome.recovered);
        assert_eq!(outcome.gap_start_ns, 991 * MS);
    }
}
