//! The human form of `roam status`.

use std::fmt::{self, Display, Formatter};

use super::{
    Candidate, Counters, CurrentBss, DropWindow, LivenessStatus, RoamRecord, SignalStatus, Status,
};
use roam_common::{policy::CandidateSource, MacAddr};

/// Timeline lines are wrapped to stay readable in an 100-column terminal.
const TIMELINE_WIDTH: usize = 96;

impl Display for Status {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "roam on {}: {} for {} (backend {})",
            self.iface,
            self.state.name(),
            human_ms(self.state_since_ms),
            self.backend.name()
        )?;
        if self.observe_only {
            write!(f, " (observe only: roam measures, does not act)")?;
        }
        writeln!(f)?;
        if let Some(why) = &self.observe_only_why {
            writeln!(f, "  observing only: {why}")?;
        }
        match &self.bss {
            Some(bss) => writeln!(f, "  connected to {}", describe_bss(bss))?,
            None => writeln!(f, "  not connected")?,
        }
        write_candidates(f, &self.candidates)?;
        write_liveness(f, &self.liveness)?;
        if let Some(signal) = &self.signal {
            writeln!(f, "  signal: {}", describe_signal(signal))?;
        }
        match &self.last_roam {
            Some(roam) => write_roam(f, roam)?,
            None => writeln!(f, "  last roam: none yet")?,
        }
        // No newline after the last line, as Display output goes into println! and format!.
        write!(f, "  totals: {}", describe_counters(&self.counters))
    }
}

fn describe_bss(bss: &CurrentBss) -> String {
    let mut text = format!("{} {:?} {} MHz", bss.bssid, bss.ssid, bss.freq_mhz);
    if !bss.band.is_empty() {
        text += &format!(" ({} GHz, {})", bss.band, bss.akm);
    }
    if let Some(signal) = bss.signal_dbm {
        text += &format!(", {signal} dBm");
    }
    if let Some(ms) = bss.last_heard_ms {
        text += &format!(", heard {} ago", human_ms(ms));
    }
    text
}

/// One row per candidate, columns aligned across rows.
fn write_candidates(f: &mut Formatter<'_>, candidates: &[Candidate]) -> fmt::Result {
    if candidates.is_empty() {
        return writeln!(f, "  candidates: none");
    }
    writeln!(f, "  candidates:")?;
    let rows: Vec<[String; 7]> = candidates.iter().map(candidate_columns).collect();
    let widths: Vec<usize> =
        (0..7).map(|col| rows.iter().map(|row| row[col].len()).max().unwrap_or(0)).collect();
    // Frequency and signal are numbers: right-aligned so their digits line up.
    let right_aligned = [false, true, true, false, false, false, false];
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(col, cell)| {
                let width = widths[col];
                if right_aligned[col] {
                    format!("{cell:>width$}")
                } else {
                    format!("{cell:<width$}")
                }
            })
            .collect();
        writeln!(f, "    {}", cells.join("  ").trim_end())?;
    }
    Ok(())
}

fn candidate_columns(candidate: &Candidate) -> [String; 7] {
    [
        candidate.bssid.to_string(),
        format!("{} MHz", candidate.freq_mhz),
        match candidate.signal_dbm {
            Some(signal) => format!("{signal} dBm"),
            None => "? dBm".into(),
        },
        match candidate.last_heard_ms {
            Some(ms) => format!("heard {} ago", human_ms(ms)),
            None => "not heard".into(),
        },
        match candidate.source {
            CandidateSource::Both => "kernel+supplicant".into(),
            source => source.name().into(),
        },
        if candidate.usable { "usable" } else { "not usable" }.into(),
        format!("score {}", candidate.score),
    ]
}

fn write_liveness(f: &mut Formatter<'_>, liveness: &LivenessStatus) -> fmt::Result {
    let p = &liveness.probes;
    writeln!(
        f,
        "  liveness: {}; probes {} acked, {} not acked, {} unreported",
        liveness.verdict.name(),
        p.acked,
        p.not_acked,
        p.unreported
    )?;
    for source in &liveness.sources {
        let state = source.state.name().replace('_', " ");
        writeln!(f, "    {}: {state} ({})", source.source.name().replace('_', " "), source.detail)?;
    }
    Ok(())
}

fn describe_signal(signal: &SignalStatus) -> String {
    let level = match (signal.level_dbm, signal.trend_db_per_s) {
        (Some(level), Some(trend)) => format!("{level:.0} dBm, {trend:+.1} dB/s"),
        (Some(level), None) => format!("{level:.0} dBm"),
        (None, _) => "strong (not sampled)".to_owned(),
    };
    format!(
        "{level} from the {}; roams below {} dBm when falling, to an AP {} dB stronger",
        signal.source, signal.threshold_dbm, signal.hysteresis_db
    )
}

fn write_roam(f: &mut Formatter<'_>, roam: &RoamRecord) -> fmt::Result {
    let bss = |b: Option<MacAddr>| b.map_or_else(|| "?".to_owned(), |b| b.to_string());
    let via =
        if roam.acted { roam.backend.name().to_owned() } else { "supplicant (watched)".to_owned() };
    write!(
        f,
        "  last roam: {} {} -> {} via {via}: {}",
        roam.trigger.name(),
        bss(roam.from),
        bss(roam.to),
        roam.result.name()
    )?;
    if let Some(ms) = roam.duration_ms {
        write!(f, " in {}", human_ms_f64(ms))?;
    }
    writeln!(f)?;
    let steps: Vec<String> = roam
        .timeline
        .iter()
        .map(|s| format!("+{} {}", human_ms_f64(s.t_ms), s.step.name()))
        .collect();
    for line in wrap_list(&steps, TIMELINE_WIDTH) {
        writeln!(f, "    {line}")?;
    }
    if let Some(window) = &roam.drop_window {
        writeln!(f, "    drop window: {}", describe_drop_window(window))?;
    }
    Ok(())
}

fn describe_drop_window(window: &DropWindow) -> String {
    let mut text = format!("{} sent, {} dropped", window.sent, window.dropped);
    if !window.dropped_by_reason.is_empty() {
        // Largest first: the reason that matters leads.
        let mut reasons: Vec<(&String, &u64)> = window.dropped_by_reason.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let reasons: Vec<String> = reasons.iter().map(|(r, n)| format!("{r} {n}")).collect();
        text += &format!(" ({})", reasons.join(", "));
    }
    text + &format!(", {} held, {}", window.held, human_ms_f64(window.duration_ms))
}

fn describe_counters(c: &Counters) -> String {
    [
        count(c.roams, "roam", "roams"),
        count(c.roam_failures, "failure", "failures"),
        count(c.beacon_losses, "beacon loss", "beacon losses"),
        count(c.deauths, "deauth", "deauths"),
        count(c.disassocs, "disassoc", "disassocs"),
    ]
    .join(", ")
}

fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Joins `items` with ", " into lines of at most `width` characters (longer items stand alone).
fn wrap_list(items: &[String], width: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for item in items {
        match lines.last_mut() {
            Some(line) if line.len() + 2 + item.len() <= width => {
                *line += ", ";
                *line += item;
            }
            Some(line) => {
                line.push(',');
                lines.push(item.clone());
            }
            None => lines.push(item.clone()),
        }
    }
    lines
}

/// Whole milliseconds as a person reads them: "20 ms", "12.3 s", "3 min 4 s", "2 h 5 min".
pub fn human_ms(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        // Tenths truncated, not rounded, so 59.99 s does not read "60.0 s".
        1_000..=59_999 => format!("{}.{} s", ms / 1000, ms % 1000 / 100),
        60_000..=3_599_999 => format!("{} min {} s", ms / 60_000, ms % 60_000 / 1000),
        _ => format!("{} h {} min", ms / 3_600_000, ms % 3_600_000 / 60_000),
    }
}

/// Measured milliseconds: sub-second ones to 0.1 ms ("3 ms", "2.5 ms"), longer as [`human_ms`].
pub fn human_ms_f64(ms: f64) -> String {
    if ms.is_finite() && ms >= 1000.0 {
        return human_ms(ms as u64);
    }
    let tenths = format!("{ms:.1}");
    format!("{} ms", tenths.strip_suffix(".0").unwrap_or(&tenths))
}
