//! Roaming before the link breaks: whether the serving AP's signal is fading for good and a
//! candidate is enough better to move to. Decided on a trend, not a sample.
//!
//! The agent samples the serving AP's smoothed signal (the kernel table's average of every frame
//! the monitor hears, or the station's own report where the monitor hears nothing) a few times a
//! second into a [`SignalTrend`]; [`judge`] then says whether to stay, to keep the candidates
//! fresh (the signal is weak and falling: their scan entries must be young when the roam comes),
//! or to roam now. A station standing still in a weak spot stays where it is unless a candidate
//! is better by the hysteresis: two APs that fluctuate around the same level never trade it.

use super::candidate::Candidate;
use crate::MacAddr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalConfig {
    /// At or above this smoothed level (dBm) the station stays, whatever the trend.
    pub threshold_dbm: i32,
    /// A candidate must be at least this many dB above the serving AP's level.
    pub hysteresis_db: i32,
}

/// How many samples the trend keeps.
const SAMPLES: usize = 8;
/// The level is the mean of the samples of this last span (smooths a fluctuation out).
const LEVEL_SPAN_NS: u64 = 1_000_000_000;
/// The trend needs samples spanning this long (a new association has no trend yet).
const TREND_MIN_SPAN_NS: u64 = 1_500_000_000;
/// Samples older than this are no part of the trend.
const TREND_MAX_AGE_NS: u64 = 4_000_000_000;
/// Falling: losing at least this much a second (x16), over the trend's span.
const FALLING_X16_PER_S: i64 = 8;
/// ... and at least this much lower than at the start of the trend's span (x16).
const FALLEN_X16: i32 = 4 * 16;
/// So far below the threshold that the station looks for somewhere better even standing still.
const DEEP_BELOW_DB: i32 = 10;
/// A candidate's signal is worth comparing if heard this recently, or scanned this recently.
const CANDIDATE_HEARD_MAX_MS: u64 = 2_000;
const CANDIDATE_SCANNED_MAX_MS: u64 = 5_000;

/// The serving AP's recent signal samples, dBm x 16, oldest first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalTrend {
    samples: [(u64, i32); SAMPLES],
    len: usize,
}

impl SignalTrend {
    /// A new association: no history.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// A sample of the smoothed signal at `at_ns`.
    pub fn add(&mut self, at_ns: u64, dbm_x16: i32) {
        if self.len == SAMPLES {
            self.samples.copy_within(1.., 0);
            self.len -= 1;
        }
        self.samples[self.len] = (at_ns, dbm_x16);
        self.len += 1;
    }

    fn recent(&self, now_ns: u64, span_ns: u64) -> impl Iterator<Item = (u64, i32)> + '_ {
        self.samples[..self.len]
            .iter()
            .copied()
            .filter(move |(at, _)| now_ns.saturating_sub(*at) <= span_ns)
    }

    /// The level: the mean of the last second's samples, dBm x 16.
    pub fn level_x16(&self, now_ns: u64) -> Option<i32> {
        let (sum, count) = self
            .recent(now_ns, LEVEL_SPAN_NS)
            .fold((0i64, 0i64), |(s, n), (_, v)| (s + i64::from(v), n + 1));
        (count > 0).then(|| (sum / count) as i32)
    }

    /// How much lower the level is than at the start of the trend's span (the mean of its two
    /// oldest samples), dBm x 16; none without samples spanning [`TREND_MIN_SPAN_NS`].
    pub fn drop_x16(&self, now_ns: u64) -> Option<i32> {
        let mut recent = self.recent(now_ns, TREND_MAX_AGE_NS);
        let (first_ns, first) = recent.next()?;
        let (_, second) = recent.next()?;
        let (last_ns, _) = self.recent(now_ns, TREND_MAX_AGE_NS).last()?;
        if last_ns - first_ns < TREND_MIN_SPAN_NS {
            return None;
        }
        Some((first + second) / 2 - self.level_x16(now_ns)?)
    }

    /// When the serving link was first seen at its present low: the first recent sample after
    /// the last one still [`FALLEN_X16`] above the present level. None when no recent sample is
    /// that much higher.
    pub fn fall_began_ns(&self, now_ns: u64) -> Option<u64> {
        let level = self.level_x16(now_ns)?;
        let mut began = None;
        let mut seen_high = false;
        for (at, v) in self.recent(now_ns, TREND_MAX_AGE_NS) {
            if v >= level + FALLEN_X16 {
                (seen_high, began) = (true, None);
            } else if seen_high && began.is_none() {
                began = Some(at);
            }
        }
        began
    }

    /// The slope of a least-squares line through the recent samples, dBm x 16 per second;
    /// none until they span [`TREND_MIN_SPAN_NS`].
    pub fn slope_x16_per_s(&self, now_ns: u64) -> Option<i64> {
        let (first_ns, _) = self.recent(now_ns, TREND_MAX_AGE_NS).next()?;
        let (mut n, mut sum_t, mut sum_v, mut sum_tt, mut sum_tv) =
            (0i128, 0i128, 0i128, 0i128, 0i128);
        let mut last_ns = first_ns;
        for (at, v) in self.recent(now_ns, TREND_MAX_AGE_NS) {
            // Milliseconds from the first sample: small numbers, exact sums.
            let t = i128::from((at - first_ns) / 1_000_000);
            let v = i128::from(v);
            n += 1;
            sum_t += t;
            sum_v += v;
            sum_tt += t * t;
            sum_tv += t * v;
            last_ns = at;
        }
        if last_ns - first_ns < TREND_MIN_SPAN_NS {
            return None;
        }
        let denominator = n * sum_tt - sum_t * sum_t;
        if denominator == 0 {
            return None;
        }
        // Per millisecond, times 1000: per second.
        Some(((n * sum_tv - sum_t * sum_v) * 1000 / denominator) as i64)
    }
}

/// What the signal says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalVerdict {
    /// Strong enough, or weak but steady with nowhere enough better: stay.
    Stay,
    /// Weak and falling, nowhere enough better known (or known only from old reports): keep
    /// the candidates fresh, a single-channel scan each.
    Look,
    /// Weak and falling (or far below the threshold), and `target` is better by the hysteresis
    /// than the serving AP's level, `serving_x16` (dBm x 16).
    Roam { target: Candidate, serving_x16: i32 },
    /// As for a roam, but `target`'s level was measured before the serving link fell: look at
    /// its channel again now, and roam on what the look finds.
    Recheck { target: Candidate },
}

/// Falling: a slope that noise alone rarely gives, and a net drop to match (a station standing
/// still between two APs wobbles, it does not fall).
pub fn is_falling(trend: &SignalTrend, now_ns: u64) -> bool {
    trend.slope_x16_per_s(now_ns).is_some_and(|slope| slope <= -FALLING_X16_PER_S)
        && trend.drop_x16(now_ns).is_some_and(|drop| drop >= FALLEN_X16)
}

/// Below the threshold and not falling: a station standing still in a weak spot. Scans there
/// buy nothing but a chance for the connection manager to trade APs on noise.
pub fn is_weak_and_steady(config: &SignalConfig, trend: &SignalTrend, now_ns: u64) -> bool {
    trend.level_x16(now_ns).is_some_and(|level| level < config.threshold_dbm * 16)
        && !is_falling(trend, now_ns)
}

/// Judges the serving AP's trend against the candidates (the serving one excluded by
/// `serving`).
pub fn judge(
    config: &SignalConfig,
    trend: &SignalTrend,
    serving: MacAddr,
    candidates: &[Candidate],
    now_ns: u64,
) -> SignalVerdict {
    let Some(level_x16) = trend.level_x16(now_ns) else { return SignalVerdict::Stay };
    let threshold_x16 = config.threshold_dbm * 16;
    if level_x16 >= threshold_x16 {
        return SignalVerdict::Stay;
    }
    let falling = is_falling(trend, now_ns);
    let deep = level_x16 < (config.threshold_dbm - DEEP_BELOW_DB) * 16;
    if !falling && !deep {
        return SignalVerdict::Stay;
    }
    let enough_x16 = level_x16 + config.hysteresis_db * 16;
    // A level measured before the serving link began to fall was measured where the station no
    // longer is (both signals stepped down at once behind a door, say): it cannot justify a
    // roam by itself, only a fresh look at that candidate can.
    let fall_began_ns = trend.fall_began_ns(now_ns).unwrap_or(0);
    let strongest = |measured_since_the_fall: bool| {
        candidates
            .iter()
            .filter(|c| c.bssid != serving)
            .filter_map(|c| Some((c, measured_age_ms(c)?, c.signal_dbm? * 16)))
            .filter(|(_, age_ms, _)| {
                let measured_ns = now_ns.saturating_sub(age_ms * 1_000_000);
                (measured_ns >= fall_began_ns) == measured_since_the_fall
            })
            .filter(|(_, _, signal_x16)| *signal_x16 >= enough_x16)
            .max_by_key(|(_, _, signal_x16)| *signal_x16)
            .map(|(c, _, _)| *c)
    };
    if let Some(target) = strongest(true) {
        SignalVerdict::Roam { target, serving_x16: level_x16 }
    } else if let Some(target) = strongest(false) {
        SignalVerdict::Recheck { target }
    } else {
        SignalVerdict::Look
    }
}

/// How long ago a candidate's signal was last measured, if recently enough to compare.
fn measured_age_ms(candidate: &Candidate) -> Option<u64> {
    let heard = candidate.heard_age_ms.filter(|age| *age <= CANDIDATE_HEARD_MAX_MS);
    let scanned = candidate.scan_age_ms.filter(|age| *age <= CANDIDATE_SCANNED_MAX_MS);
    heard.into_iter().chain(scanned).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVING: MacAddr = MacAddr([2, 0, 0, 0, 0, 0]);
    const OTHER: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);
    const MS: u64 = 1_000_000;
    const CONFIG: SignalConfig = SignalConfig { threshold_dbm: -70, hysteresis_db: 8 };

    fn candidate(
        bssid: MacAddr,
        dbm: i32,
        heard_ms: Option<u64>,
        scan_ms: Option<u64>,
    ) -> Candidate {
        Candidate {
            bssid,
            freq_mhz: 2412,
            signal_dbm: Some(dbm),
            heard_age_ms: heard_ms,
            scan_age_ms: scan_ms,
        }
    }

    /// Samples every 500 ms from `from_ms` to `to_ms` of `dbm(t_ms)`.
    fn sampled(from_ms: u64, to_ms: u64, dbm: impl Fn(u64) -> f64) -> SignalTrend {
        let mut trend = SignalTrend::default();
        for t in (from_ms..=to_ms).step_by(500) {
            trend.add(t * MS, (dbm(t) * 16.0) as i32);
        }
        trend
    }

    /// A walk away: -45 to -92 dBm over 15 s, the other AP coming up the other way.
    fn walk(t_ms: u64) -> (f64, f64) {
        let done = t_ms as f64 / 15_000.0;
        (-45.0 - 47.0 * done, -92.0 + 47.0 * done)
    }

    #[test]
    fn a_strong_signal_stays_whatever_its_trend() {
        let trend = sampled(0, 3_000, |t| -50.0 - t as f64 / 200.0);
        let other = [candidate(OTHER, -30, Some(100), None)];
        assert_eq!(judge(&CONFIG, &trend, SERVING, &other, 3_000 * MS), SignalVerdict::Stay);
    }

    #[test]
    fn walking_away_roams_before_the_loss_starts_and_not_before_the_crossing() {
        let mut roamed_at = None;
        for now_ms in (2_000..15_000).step_by(500) {
            let trend = sampled(0, now_ms, |t| walk(t).0);
            let other = [candidate(OTHER, walk(now_ms).1 as i32, Some(100), None)];
            if let SignalVerdict::Roam { target, .. } =
                judge(&CONFIG, &trend, SERVING, &other, now_ms * MS)
            {
                assert_eq!(target.bssid, OTHER);
                roamed_at = Some(now_ms);
                break;
            }
        }
        let at = roamed_at.expect("a roam during the walk");
        let (serving, other) = walk(at);
        assert!(serving > -75.0, "before frames are lost (-75 dBm): {serving} at {at} ms");
        assert!(other - serving >= 8.0, "by the hysteresis: {other} against {serving}");
    }

    /// The same walk, the other AP known only from scans the verdicts ask for (each done
    /// 300 ms after it is asked): the roam still comes before frames are lost.
    #[test]
    fn walking_away_with_scanned_candidates_roams_before_the_loss_starts() {
        let (mut scanned_at, mut asked_at, mut last_look) = (None::<u64>, None::<u64>, 0u64);
        let mut roamed_at = None;
        for now_ms in (2_000..15_000).step_by(500) {
            if let Some(asked) = asked_at.filter(|asked| now_ms >= asked + 300) {
                (scanned_at, asked_at) = (Some(asked + 300), None);
            }
            let trend = sampled(0, now_ms, |t| walk(t).0);
            let other =
                scanned_at.map(|at| candidate(OTHER, walk(at).1 as i32, None, Some(now_ms - at)));
            match judge(&CONFIG, &trend, SERVING, other.as_slice(), now_ms * MS) {
                SignalVerdict::Roam { .. } => {
                    roamed_at = Some(now_ms);
                    break;
                }
                SignalVerdict::Recheck { .. } if now_ms >= last_look + 1_000 => {
                    (asked_at, last_look) = (Some(now_ms), now_ms);
                }
                SignalVerdict::Look if now_ms >= last_look + 2_000 => {
                    (asked_at, last_look) = (Some(now_ms), now_ms);
                }
                _ => {}
            }
        }
        let at = roamed_at.expect("a roam during the walk");
        assert!(walk(at).0 > -75.0, "before frames are lost: {} at {at} ms", walk(at).0);
    }

    #[test]
    fn weak_and_falling_with_nowhere_better_keeps_the_candidates_fresh() {
        let trend = sampled(0, 3_000, |t| -68.0 - t as f64 / 500.0);
        let weak_other = [candidate(OTHER, -70, Some(100), None)];
        assert_eq!(judge(&CONFIG, &trend, SERVING, &weak_other, 3_000 * MS), SignalVerdict::Look);
        // Better, but known only from an old report: look first.
        let stale = [candidate(OTHER, -50, Some(9_000), Some(20_000))];
        assert_eq!(judge(&CONFIG, &trend, SERVING, &stale, 3_000 * MS), SignalVerdict::Look);
        let scanned = [candidate(OTHER, -50, None, Some(1_000))];
        assert!(matches!(
            judge(&CONFIG, &trend, SERVING, &scanned, 3_000 * MS),
            SignalVerdict::Roam { .. }
        ));
    }

    /// Between two APs at -70 dBm, each fluctuating +-3 dB: never a roam.
    #[test]
    fn a_station_standing_between_two_aps_stays() {
        let jitter =
            |t: u64, seed: u64| ((t / 300 * 7919 + seed * 104_729) % 61) as f64 / 10.0 - 3.0;
        for now_ms in (2_000u64..60_000).step_by(500) {
            let trend = sampled(now_ms.saturating_sub(3_500), now_ms, |t| -70.0 + jitter(t, 1));
            let other =
                [candidate(OTHER, (-70.0 + jitter(now_ms, 2)).round() as i32, Some(100), None)];
            let verdict = judge(&CONFIG, &trend, SERVING, &other, now_ms * MS);
            assert!(!matches!(verdict, SignalVerdict::Roam { .. }), "roamed at {now_ms} ms");
        }
    }

    /// Both signals step from -50 to -70 dBm at once: the other AP's scan entry from before the
    /// step is no reason to roam; a look at it is, and what it finds keeps the station where
    /// it is.
    #[test]
    fn a_candidate_measured_before_the_fall_began_is_looked_at_again() {
        let step = |t: u64| {
            if t < 2_000 {
                -50.0
            } else {
                -70.0 + if (t / 500).is_multiple_of(2) { 2.0 } else { -2.0 }
            }
        };
        let trend = sampled(0, 4_500, step);
        let before = [candidate(OTHER, -50, None, Some(3_000))];
        assert_eq!(
            judge(&CONFIG, &trend, SERVING, &before, 4_500 * MS),
            SignalVerdict::Recheck { target: before[0] }
        );
        let after = [candidate(OTHER, -69, None, Some(200))];
        assert!(!matches!(
            judge(&CONFIG, &trend, SERVING, &after, 4_500 * MS),
            SignalVerdict::Roam { .. }
        ));
        // Had the other AP stayed strong, the look finds it and the roam goes.
        let still_strong = [candidate(OTHER, -50, None, Some(200))];
        assert!(matches!(
            judge(&CONFIG, &trend, SERVING, &still_strong, 4_500 * MS),
            SignalVerdict::Roam { .. }
        ));
    }

    #[test]
    fn weak_and_steady_stays_unless_far_below_the_threshold() {
        let steady = sampled(0, 3_000, |_| -74.0);
        let better = [candidate(OTHER, -50, Some(100), None)];
        assert_eq!(judge(&CONFIG, &steady, SERVING, &better, 3_000 * MS), SignalVerdict::Stay);
        let deep = sampled(0, 3_000, |_| -85.0);
        assert!(matches!(
            judge(&CONFIG, &deep, SERVING, &better, 3_000 * MS),
            SignalVerdict::Roam { .. }
        ));
    }

    #[test]
    fn a_new_association_has_no_trend_until_its_samples_span_a_while() {
        let mut trend = sampled(0, 3_000, |t| -60.0 - t as f64 / 100.0);
        assert!(trend.slope_x16_per_s(3_000 * MS).is_some_and(|s| (s + 160).abs() <= 2));
        trend.clear();
        trend.add(4_000 * MS, -90 * 16);
        trend.add(4_500 * MS, -91 * 16);
        assert_eq!(trend.slope_x16_per_s(4_500 * MS), None);
        assert_eq!(trend.level_x16(4_500 * MS), Some(-90 * 16 - 8));
        assert_eq!(SignalTrend::default().level_x16(0), None);
        let better = [candidate(OTHER, -50, Some(100), None)];
        assert_eq!(
            judge(&CONFIG, &SignalTrend::default(), SERVING, &better, 0),
            SignalVerdict::Stay,
            "no samples: nothing to judge"
        );
    }

    /// A wobble that happens to slope downwards over the last seconds, without a net drop, is
    /// not a fall.
    #[test]
    fn a_wobble_is_not_a_fall() {
        // Up 6 dB, then down 9: a steep slope over the span, but back where it started.
        let mut trend = SignalTrend::default();
        for (i, dbm) in [-70, -70, -64, -65, -67, -70, -72, -73].into_iter().enumerate() {
            trend.add(i as u64 * 500 * MS, dbm * 16);
        }
        let now = 3_500 * MS;
        assert!(trend.slope_x16_per_s(now).is_some_and(|s| s <= -FALLING_X16_PER_S), "slopes");
        assert!(trend.drop_x16(now).is_some_and(|d| d < FALLEN_X16), "no net drop");
        let better = [candidate(OTHER, -50, Some(100), None)];
        assert_eq!(judge(&CONFIG, &trend, SERVING, &better, now), SignalVerdict::Stay);
        let walk = sampled(0, 3_500, |t| -66.0 - t as f64 / 500.0);
        assert!(walk.drop_x16(3_500 * MS).is_some_and(|d| d >= FALLEN_X16));
    }

    #[test]
    fn a_weak_spot_is_told_from_a_fall_and_from_a_strong_link() {
        let steady = sampled(0, 3_000, |_| -74.0);
        assert!(is_weak_and_steady(&CONFIG, &steady, 3_000 * MS));
        let walk = sampled(0, 3_000, |t| -66.0 - t as f64 / 300.0);
        assert!(!is_weak_and_steady(&CONFIG, &walk, 3_000 * MS));
        let strong = sampled(0, 3_000, |_| -55.0);
        assert!(!is_weak_and_steady(&CONFIG, &strong, 3_000 * MS));
        assert!(!is_weak_and_steady(&CONFIG, &SignalTrend::default(), 0), "not sampled: strong");
    }

    #[test]
    fn old_samples_fall_out_of_the_trend() {
        // Fell fast long ago, steady since: not falling now.
        let mut trend = SignalTrend::default();
        for (t, dbm) in [(0, -50), (500, -60), (1_000, -72)] {
            trend.add(t * MS, dbm * 16);
        }
        for t in (6_000..=9_000).step_by(500) {
            trend.add(t * MS, -72 * 16);
        }
        assert_eq!(trend.slope_x16_per_s(9_000 * MS), Some(0));
    }
}
