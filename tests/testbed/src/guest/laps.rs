//! Where a run's time goes: named laps, shown on the run's progress line. A benchmark of
//! hundreds of runs is mostly set-up and restore; the laps say which part to trim.

use std::{
    fmt::Write as _,
    time::{Duration, Instant},
};

pub struct Laps {
    started: Instant,
    last: Instant,
    laps: Vec<(&'static str, Duration)>,
}

impl Laps {
    pub fn start() -> Laps {
        let now = Instant::now();
        Laps { started: now, last: now, laps: Vec::new() }
    }

    /// Ends the current lap as `name`. Laps shorter than 50 ms are not worth a word on the
    /// console; they still count in the total.
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, now - self.last));
        self.last = now;
    }

    /// "took 9.8 s: switch 3.1, scan 1.2, trigger 4.9, ..." (seconds, in lap order).
    pub fn summary(&self) -> String {
        let mut line = format!("took {:.1} s", self.started.elapsed().as_secs_f64());
        let shown: Vec<_> =
            self.laps.iter().filter(|(_, took)| *took >= Duration::from_millis(50)).collect();
        for (i, (name, took)) in shown.iter().enumerate() {
            let _ = write!(
                line,
                "{}{name} {:.1}",
                if i == 0 { ": " } else { ", " },
                took.as_secs_f64()
            );
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_laps_in_order_and_leaves_out_the_instant_ones() {
        let start = Instant::now();
        let laps = Laps {
            started: start,
            last: start,
            laps: vec![
                ("switch", Duration::from_millis(3100)),
                ("connect", Duration::from_millis(2)),
                ("trigger", Duration::from_millis(4980)),
            ],
        };
        let summary = laps.summary();
        assert!(summary.starts_with("took "), "{summary}");
        assert!(summary.ends_with(": switch 3.1, trigger 5.0"), "{summary}");
    }
}
