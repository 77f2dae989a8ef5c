//! A link's signal over time, and the frame loss it brings: what a station walking away from
//! one AP towards another hears. Pure: time comes in, dBm and loss go out.

/// Above this signal nothing is lost to it.
pub const LOSS_FREE_DBM: f64 = -75.0;
/// At or below this signal every try is lost.
pub const LOSS_TOTAL_DBM: f64 = -92.0;

/// The probability that one try of a frame received at `dbm` is lost: none above
/// [`LOSS_FREE_DBM`], all at [`LOSS_TOTAL_DBM`], and in between a smoothstep in dB
/// (`3x² - 2x³` of the way down). It stands for a station whose rate control steps down as the
/// signal fades: loss creeps in a few dB below -75 dBm, is about half at -83.5 dBm, and
/// saturates near the noise floor, as iwlwifi and ath9k stations show in the field.
pub fn loss_at(dbm: f64) -> f64 {
    let x = ((LOSS_FREE_DBM - dbm) / (LOSS_FREE_DBM - LOSS_TOTAL_DBM)).clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// The signal a receiver hears from a transmitter: from `from_dbm` at `start_ns`, linearly to
/// `to_dbm` over `over_ns`, then steady; plus, with a jitter, a fluctuation of up to that many
/// dB either way, drawn afresh every period (the same draw for the same link and period: the
/// air is reproducible from the time alone).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalPath {
    pub from_dbm: f64,
    pub to_dbm: f64,
    pub start_ns: u64,
    pub over_ns: u64,
    pub jitter: Option<Jitter>,
}

/// A fluctuation of up to `db` either way, a new value every `every_ns`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Jitter {
    pub db: f64,
    pub every_ns: u64,
    /// Tells links apart, so two links do not fluctuate in step.
    pub seed: u64,
}

impl SignalPath {
    pub fn steady(dbm: f64) -> Self {
        SignalPath { from_dbm: dbm, to_dbm: dbm, start_ns: 0, over_ns: 0, jitter: None }
    }

    /// The signal at `now_ns`.
    pub fn at(&self, now_ns: u64) -> f64 {
        let base = self.trend_at(now_ns);
        match self.jitter {
            Some(jitter) if jitter.every_ns > 0 => {
                let period = now_ns / jitter.every_ns;
                base + jitter.db * (2.0 * unit(jitter.seed ^ period) - 1.0)
            }
            _ => base,
        }
    }

    /// The signal at `now_ns` without the fluctuation: where a new path starts from.
    pub fn trend_at(&self, now_ns: u64) -> f64 {
        if self.over_ns == 0 || now_ns >= self.start_ns + self.over_ns {
            return self.to_dbm;
        }
        let done = now_ns.saturating_sub(self.start_ns) as f64 / self.over_ns as f64;
        self.from_dbm + (self.to_dbm - self.from_dbm) * done
    }
}

/// A number in [0, 1) from `x` (splitmix64's finaliser).
fn unit(x: u64) -> f64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn loss_is_none_above_minus_75_total_at_minus_92_and_rises_in_between() {
        assert_eq!(loss_at(-45.0), 0.0);
        assert_eq!(loss_at(-75.0), 0.0);
        assert!(loss_at(-78.0) > 0.0 && loss_at(-78.0) < 0.15);
        assert!((loss_at(-83.5) - 0.5).abs() < 1e-9);
        assert!(loss_at(-90.0) > 0.95 && loss_at(-90.0) < 1.0);
        assert_eq!(loss_at(-92.0), 1.0);
        assert_eq!(loss_at(-100.0), 1.0);
        let mut last = 0.0;
        for tenth in 750..=920 {
            let loss = loss_at(-f64::from(tenth) / 10.0);
            assert!(loss >= last, "monotonic");
            last = loss;
        }
    }

    #[test]
    fn a_ramp_goes_linearly_from_its_start_to_its_end_and_stays() {
        let path = SignalPath {
            from_dbm: -45.0,
            to_dbm: -92.0,
            start_ns: 1_000 * MS,
            over_ns: 15_000 * MS,
            jitter: None,
        };
        assert_eq!(path.at(0), -45.0, "before its start: where it starts");
        assert_eq!(path.at(1_000 * MS), -45.0);
        assert!((path.at(8_500 * MS) - -68.5).abs() < 1e-9, "half way");
        assert_eq!(path.at(16_000 * MS), -92.0);
        assert_eq!(path.at(99_000 * MS), -92.0);
        assert_eq!(SignalPath::steady(-60.0).at(5 * MS), -60.0);
    }

    #[test]
    fn jitter_stays_within_its_bound_changes_each_period_and_is_reproducible() {
        let jitter = Jitter { db: 3.0, every_ns: 300 * MS, seed: 7 };
        let path = SignalPath { jitter: Some(jitter), ..SignalPath::steady(-70.0) };
        let draws: Vec<f64> = (0..200).map(|p| path.at(p * 300 * MS + 5 * MS)).collect();
        assert!(draws.iter().all(|dbm| (-73.0..=-67.0).contains(dbm)));
        assert!(draws.iter().any(|dbm| *dbm < -71.0) && draws.iter().any(|dbm| *dbm > -69.0));
        assert_eq!(path.at(300 * MS + 1), path.at(599 * MS), "one value per period");
        assert_eq!(path.at(42 * MS), path.at(42 * MS));
        let other = SignalPath { jitter: Some(Jitter { seed: 8, ..jitter }), ..path };
        assert_ne!(path.at(42 * MS), other.at(42 * MS), "links fluctuate apart");
        assert_eq!(path.trend_at(42 * MS), -70.0);
    }
}
