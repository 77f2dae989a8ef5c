//! The walks (`walk-away`, `boundary`, `walk-and-return`): what a station loses over the whole
//! walk, not in one gap. Each run's probe record (probe.csv) becomes its loss over time, which
//! the walk's picture draws per stack with the station's roams marked.

/// The scenarios measured as walks.
pub const WALKS: [&str; 3] = ["walk-away", "boundary", "walk-and-return"];

/// The width of one point of a loss timeline.
pub const BIN_MS: f64 = 500.0;

/// Whether `scenario` is a walk.
pub fn is_walk(scenario: &str) -> bool {
    WALKS.contains(&scenario)
}

/// The percentage of the probes lost in each [`BIN_MS`] from the trigger on, from a run's
/// probe.csv (`seq,sent_ms,echoed_ms`, ms from the trigger; a lost probe has no echo). The
/// last bin is left out: its probes may still have been in flight.
pub fn loss_timeline(csv: &str) -> Vec<f64> {
    let mut bins: Vec<(u32, u32)> = Vec::new();
    for line in csv.lines().skip(1) {
        let mut fields = line.split(',');
        let (Some(_), Some(sent), echoed) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(sent_ms) = sent.parse::<f64>() else { continue };
        if sent_ms < 0.0 {
            continue;
        }
        let bin = (sent_ms / BIN_MS) as usize;
        if bins.len() <= bin {
            bins.resize(bin + 1, (0, 0));
        }
        bins[bin].0 += 1;
        bins[bin].1 += u32::from(echoed.is_none_or(str::is_empty));
    }
    bins.pop();
    bins.iter()
        .map(
            |&(sent, lost)| if sent == 0 { 0.0 } else { 100.0 * f64::from(lost) / f64::from(sent) },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_counted_per_half_second_from_the_trigger() {
        let mut csv = String::from("seq,sent_ms,echoed_ms\n0,-10.0,-9.0\n");
        // 0-499 ms: every probe answered; 500-999: half lost; 1000-1499: all lost; then one
        // more bin, in flight.
        for i in 0..200 {
            let sent = i as f64 * 10.0;
            let lost = (500.0..1000.0).contains(&sent) && i % 2 == 0 || sent >= 1000.0;
            let echoed = if lost { String::new() } else { format!("{:.3}", sent + 1.0) };
            csv.push_str(&format!("{i},{sent:.3},{echoed}\n"));
        }
        assert_eq!(loss_timeline(&csv), [0.0, 50.0, 100.0]);
        assert!(loss_timeline("seq,sent_ms,echoed_ms\n").is_empty());
        assert!(is_walk("boundary") && !is_walk("ap-deauth"));
    }
}
