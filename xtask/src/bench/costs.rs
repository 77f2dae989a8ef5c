//! What roam costs the station, from the agent's own metrics scraped before each run's trigger
//! and after its end (`metrics-before.txt`, `metrics.txt` in the run's logs): CPU time, peak
//! memory, wake-ups by its kernel programs, and the programs' run time per run. Idle figures
//! come from runs in which nothing happens (the idle window or healthy-ap); roaming figures
//! from the runs with a disruption.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One scrape: series (name with labels, as exposed) -> value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape(BTreeMap<String, f64>);

impl Scrape {
    /// Parses OpenMetrics/Prometheus text. Comments and lines that do not end in a number are
    /// skipped: only values are needed here.
    pub fn parse(text: &str) -> Scrape {
        Scrape(
            text.lines()
                .filter(|line| !line.starts_with('#'))
                .filter_map(|line| {
                    let (series, value) = line.rsplit_once(' ')?;
                    Some((series.to_owned(), value.parse().ok()?))
                })
                .collect(),
        )
    }

    /// The value of a series without labels.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    /// Sum over every series of `name`, whatever their labels.
    pub fn sum(&self, name: &str) -> f64 {
        self.0
            .iter()
            .filter(|(series, _)| {
                series
                    .strip_prefix(name)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('{'))
            })
            .map(|(_, v)| v)
            .sum()
    }

    /// `name{label="x"}` -> value, keyed by x.
    pub fn by_label(&self, name: &str, label: &str) -> BTreeMap<String, f64> {
        let prefix = format!("{name}{{{label}=\"");
        self.0
            .iter()
            .filter_map(|(series, &v)| {
                let rest = series.strip_prefix(&prefix)?;
                Some((rest.split_once('"')?.0.to_owned(), v))
            })
            .collect()
    }
}

/// One run's window between two scrapes of the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub before: Scrape,
    pub after: Scrape,
    pub duration_ms: f64,
    /// Nothing happened to the APs in this window.
    pub quiet: bool,
}

impl Window {
    fn increase(&self, name: &str) -> f64 {
        // A restarted agent resets its counters; the windows start after the restart, so a
        // negative increase would be a bug elsewhere: count it as nothing rather than negative.
        (self.after.sum(name) - self.before.sum(name)).max(0.0)
    }
}

/// The agent's costs over a benchmark's runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// CPU time (user + system) per minute while connected and nothing happens.
    pub agent_cpu_ms_per_minute_idle: Option<f64>,
    /// ... per minute of the runs with a disruption (the roam and the seconds around it).
    pub agent_cpu_ms_per_minute_roaming: Option<f64>,
    /// Highest resident set seen (VmHWM).
    pub agent_peak_rss_bytes: Option<u64>,
    /// Events taken from the ring buffer per minute idle: each is a wake-up, and beacons must
    /// not cause any.
    pub ringbuf_events_per_minute_idle: Option<f64>,
    /// ... per run with a disruption.
    pub ringbuf_events_per_roaming_run: Option<f64>,
    /// Events the kernel could not queue because the ring was full, over every window.
    pub ringbuf_events_lost: u64,
    /// The kernel's statistics (`kernel.bpf_stats_enabled`) per program, over every window.
    pub programs: Vec<ProgramCost>,
    /// How much was measured.
    pub idle_minutes: f64,
    pub roaming_minutes: f64,
    pub roaming_runs: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramCost {
    pub name: String,
    pub runs: u64,
    pub run_time_ns: u64,
    pub ns_per_run: Option<f64>,
}

const CPU: &str = "process_cpu_seconds_total";
const PEAK_RSS: &str = "process_resident_memory_peak_bytes";
const EVENTS: &str = "roam_kernel_events_total";
const EVENTS_LOST: &str = "roam_ringbuf_events_lost_total";
const PROGRAM_RUNS: &str = "roam_ebpf_program_runs_total";
const PROGRAM_TIME: &str = "roam_ebpf_program_run_time_seconds_total";

impl Costs {
    pub fn of(windows: &[Window]) -> Costs {
        let (idle, roaming): (Vec<&Window>, Vec<&Window>) = windows.iter().partition(|w| w.quiet);
        let minutes = |ws: &[&Window]| ws.iter().map(|w| w.duration_ms).sum::<f64>() / 60_000.0;
        let total = |ws: &[&Window], name: &str| ws.iter().map(|w| w.increase(name)).sum::<f64>();
        let per_minute = |ws: &[&Window], name: &str, scale: f64| {
            let m = minutes(ws);
            (m > 0.0).then(|| total(ws, name) * scale / m)
        };
        let mut programs: BTreeMap<String, (f64, f64)> = BTreeMap::new();
        for w in windows {
            let (runs_after, time_after) = (
                w.after.by_label(PROGRAM_RUNS, "program"),
                w.after.by_label(PROGRAM_TIME, "program"),
            );
            let (runs_before, time_before) = (
                w.before.by_label(PROGRAM_RUNS, "program"),
                w.before.by_label(PROGRAM_TIME, "program"),
            );
            for (name, runs) in runs_after {
                let entry = programs.entry(name.clone()).or_default();
                entry.0 += (runs - runs_before.get(&name).copied().unwrap_or(0.0)).max(0.0);
                let time = time_after.get(&name).copied().unwrap_or(0.0)
                    - time_before.get(&name).copied().unwrap_or(0.0);
                entry.1 += time.max(0.0);
            }
        }
        Costs {
            agent_cpu_ms_per_minute_idle: per_minute(&idle, CPU, 1e3),
            agent_cpu_ms_per_minute_roaming: per_minute(&roaming, CPU, 1e3),
            agent_peak_rss_bytes: windows
                .iter()
                .filter_map(|w| w.after.value(PEAK_RSS))
                .map(|b| b as u64)
                .max(),
            ringbuf_events_per_minute_idle: per_minute(&idle, EVENTS, 1.0),
            ringbuf_events_per_roaming_run: (!roaming.is_empty())
                .then(|| total(&roaming, EVENTS) / roaming.len() as f64),
            ringbuf_events_lost: windows.iter().map(|w| w.increase(EVENTS_LOST)).sum::<f64>()
                as u64,
            programs: programs
                .into_iter()
                .map(|(name, (runs, seconds))| ProgramCost {
                    name,
                    runs: runs as u64,
                    run_time_ns: (seconds * 1e9).round() as u64,
                    ns_per_run: (runs > 0.0).then(|| seconds * 1e9 / runs),
                })
                .collect(),
            idle_minutes: minutes(&idle),
            roaming_minutes: minutes(&roaming),
            roaming_runs: roaming.len() as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrape(cpu: f64, events: &[(&str, u32)], prog_runs: u64, prog_s: f64, peak: u64) -> Scrape {
        let mut text = format!(
            "# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total {cpu}\n\
             process_resident_memory_peak_bytes {peak}\n\
             roam_ringbuf_events_lost_total 0\n\
             roam_ebpf_program_runs_total{{program=\"roam_frames\"}} {prog_runs}\n\
             roam_ebpf_program_run_time_seconds_total{{program=\"roam_frames\"}} {prog_s}\n"
        );
        for (kind, n) in events {
            text.push_str(&format!("roam_kernel_events_total{{kind=\"{kind}\"}} {n}\n"));
        }
        text.push_str("# EOF\n");
        Scrape::parse(&text)
    }

    #[test]
    fn parses_values_sums_and_labels() {
        let s = scrape(1.5, &[("bss_new", 2), ("deauth", 1)], 10, 0.5, 4096);
        assert_eq!(s.value(CPU), Some(1.5));
        assert_eq!(s.sum(EVENTS), 3.0);
        assert_eq!(s.sum("roam_kernel_events"), 0.0, "a prefix of a name is another name");
        assert_eq!(s.by_label(PROGRAM_RUNS, "program")["roam_frames"], 10.0);
        assert_eq!(Scrape::parse("garbage\nname notanumber\n"), Scrape::default());
    }

    #[test]
    fn idle_and_roaming_windows_give_rates_and_program_costs() {
        let idle = Window {
            before: scrape(1.0, &[("bss_new", 2)], 100, 0.001, 8_000_000),
            after: scrape(1.03, &[("bss_new", 2)], 700, 0.004, 8_000_000),
            duration_ms: 60_000.0,
            quiet: true,
        };
        let roam = Window {
            before: scrape(2.0, &[("bss_new", 2)], 0, 0.0, 9_000_000),
            after: scrape(
                2.06,
                &[("bss_new", 2), ("bss_silent", 1), ("carrier_off", 1)],
                400,
                0.002,
                9_500_000,
            ),
            duration_ms: 30_000.0,
            quiet: false,
        };
        let costs = Costs::of(&[idle, roam]);
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-6;
        assert!(close(costs.agent_cpu_ms_per_minute_idle, 30.0));
        assert!(close(costs.agent_cpu_ms_per_minute_roaming, 120.0));
        assert!(close(costs.ringbuf_events_per_minute_idle, 0.0));
        assert!(close(costs.ringbuf_events_per_roaming_run, 2.0));
        assert_eq!(costs.agent_peak_rss_bytes, Some(9_500_000));
        assert_eq!(costs.programs.len(), 1);
        let frames = &costs.programs[0];
        assert_eq!((frames.runs, frames.run_time_ns), (1000, 5_000_000));
        assert!(close(frames.ns_per_run, 5_000.0));
        assert_eq!(costs.roaming_runs, 1);
    }

    #[test]
    fn no_windows_no_figures() {
        let costs = Costs::of(&[]);
        assert_eq!(costs.agent_cpu_ms_per_minute_idle, None);
        assert_eq!(costs.ringbuf_events_per_roaming_run, None);
        assert!(costs.programs.is_empty());
    }
}
