//! What roam costs the station, from the agent's own metrics scraped before each run's trigger
//! and after its end (`metrics-before.txt`, `metrics.txt` in the run's logs) and from its
//! wake-ups over the same window (the testbed counts its threads' voluntary context switches):
//! CPU time, peak memory, wake-ups, the frames its liveness probes put on the air, events from
//! its kernel programs, and the programs' run time per run.
//!
//! Three kinds of window: *idle* (connected, nothing happens to the APs, the testbed's probe
//! traffic flowing: the idle window or healthy-ap), *idle station* (the same without any
//! traffic: roam has nothing of the station's own to go on), and *roaming* (the runs with a
//! disruption).

use std::collections::BTreeMap;

use roam_testbed::{plan::ProcessWindow, stack::Stack};
use serde::{Deserialize, Serialize};

pub use crate::scrape::Scrape;

/// One run's window between two scrapes of the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub before: Scrape,
    pub after: Scrape,
    pub duration_ms: f64,
    /// The agent's wake-ups in the window, where counted.
    pub wakeups: Option<f64>,
    /// The agent's resident set at the window's end, where read.
    pub rss_bytes: Option<u64>,
    pub kind: WindowKind,
}

/// What happened in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowKind {
    /// Nothing happened to the APs; the station carried the testbed's probe traffic.
    Idle,
    /// Nothing happened to the APs, and the station carried no traffic.
    IdleStation,
    /// A disruption and the roam after it.
    Roaming,
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
    /// ... and the station carries no traffic.
    #[serde(default)]
    pub agent_cpu_ms_per_minute_idle_station: Option<f64>,
    /// Times the agent woke up (its threads' voluntary context switches) per minute while
    /// connected and nothing happens.
    #[serde(default)]
    pub agent_wakeups_per_minute_idle: Option<f64>,
    /// ... and the station carries no traffic.
    #[serde(default)]
    pub agent_wakeups_per_minute_idle_station: Option<f64>,
    /// Frames the agent's liveness probes put on the air per second while nothing happens and
    /// the station carries traffic (which, acknowledged, makes most probes unnecessary).
    #[serde(default)]
    pub probe_frames_per_second_with_traffic: Option<f64>,
    /// ... and while the station carries none.
    #[serde(default)]
    pub probe_frames_per_second_idle_station: Option<f64>,
    /// ... per minute of the runs with a disruption (the roam and the seconds around it).
    pub agent_cpu_ms_per_minute_roaming: Option<f64>,
    /// Highest resident set seen (VmHWM).
    pub agent_peak_rss_bytes: Option<u64>,
    /// Resident set once running (VmRSS at the end of each run, median over the runs).
    #[serde(default)]
    pub agent_rss_bytes: Option<u64>,
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
    #[serde(default)]
    pub idle_station_minutes: f64,
    pub roaming_minutes: f64,
    pub roaming_runs: u32,
}

/// The median of some byte counts, if there are any.
fn median_u64(values: impl Iterator<Item = u64>) -> Option<u64> {
    let mut values: Vec<u64> = values.collect();
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

/// One daemon of one stack (wpa_supplicant, the roam agent, iwd) over the benchmark's runs,
/// from /proc: what the same measure says of each stack's programs, side by side.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DaemonCosts {
    pub stack: Stack,
    pub process: String,
    /// VmRSS at the end of each run, median over the runs.
    pub rss_bytes: Option<u64>,
    /// The highest VmHWM of any run.
    pub peak_rss_bytes: Option<u64>,
    /// Wake-ups (voluntary context switches) per minute in the idle windows...
    pub wakeups_per_minute_idle: Option<f64>,
    /// ... and in the idle station's.
    pub wakeups_per_minute_idle_station: Option<f64>,
}

impl DaemonCosts {
    /// `stack`'s `process` over its windows, each with the kind of run it came from.
    pub fn of(stack: Stack, process: &str, windows: &[(WindowKind, &ProcessWindow)]) -> Self {
        let per_minute = |kind: WindowKind| {
            let counted: Vec<(f64, f64)> = windows
                .iter()
                .filter(|(k, _)| *k == kind)
                .filter_map(|(_, w)| Some((w.wakeups? as f64, w.window_ms)))
                .collect();
            let minutes = counted.iter().map(|(_, ms)| ms).sum::<f64>() / 60_000.0;
            (minutes > 0.0).then(|| counted.iter().map(|(n, _)| n).sum::<f64>() / minutes)
        };
        DaemonCosts {
            stack,
            process: process.to_owned(),
            rss_bytes: median_u64(windows.iter().map(|(_, w)| w.rss_bytes)),
            peak_rss_bytes: windows.iter().map(|(_, w)| w.peak_rss_bytes).max(),
            wakeups_per_minute_idle: per_minute(WindowKind::Idle),
            wakeups_per_minute_idle_station: per_minute(WindowKind::IdleStation),
        }
    }
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
/// Every probe put on the air, whatever its report (`result` = acked, not_acked, unreported).
const PROBES: &str = "roam_liveness_probes_total";

impl Costs {
    pub fn of(windows: &[Window]) -> Costs {
        let of_kind =
            |kind: WindowKind| windows.iter().filter(|w| w.kind == kind).collect::<Vec<_>>();
        let (idle, idle_station, roaming) = (
            of_kind(WindowKind::Idle),
            of_kind(WindowKind::IdleStation),
            of_kind(WindowKind::Roaming),
        );
        // Folded from +0.0: an empty sum of floats is -0.0, printed "-0.0 min".
        let minutes = |ws: &[&Window]| ws.iter().fold(0.0, |sum, w| sum + w.duration_ms) / 60_000.0;
        let total = |ws: &[&Window], name: &str| ws.iter().map(|w| w.increase(name)).sum::<f64>();
        let per_minute = |ws: &[&Window], name: &str, scale: f64| {
            let m = minutes(ws);
            (m > 0.0).then(|| total(ws, name) * scale / m)
        };
        let per_second = |ws: &[&Window], name: &str| per_minute(ws, name, 1.0 / 60.0);
        // Only the windows whose wake-ups were counted (an agent restarted in the window has
        // no count).
        let wakeups_per_minute = |ws: &[&Window]| {
            let counted: Vec<(f64, f64)> =
                ws.iter().filter_map(|w| Some((w.wakeups?, w.duration_ms))).collect();
            let m = counted.iter().map(|(_, ms)| ms).sum::<f64>() / 60_000.0;
            (m > 0.0).then(|| counted.iter().map(|(n, _)| n).sum::<f64>() / m)
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
            agent_cpu_ms_per_minute_idle_station: per_minute(&idle_station, CPU, 1e3),
            agent_wakeups_per_minute_idle: wakeups_per_minute(&idle),
            agent_wakeups_per_minute_idle_station: wakeups_per_minute(&idle_station),
            probe_frames_per_second_with_traffic: per_second(&idle, PROBES),
            probe_frames_per_second_idle_station: per_second(&idle_station, PROBES),
            agent_cpu_ms_per_minute_roaming: per_minute(&roaming, CPU, 1e3),
            agent_peak_rss_bytes: windows
                .iter()
                .filter_map(|w| w.after.value(PEAK_RSS))
                .map(|b| b as u64)
                .max(),
            agent_rss_bytes: median_u64(windows.iter().filter_map(|w| w.rss_bytes)),
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
            idle_station_minutes: minutes(&idle_station),
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
            wakeups: Some(600.0),
            rss_bytes: Some(12_000_000),
            kind: WindowKind::Idle,
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
            wakeups: Some(5_000.0),
            rss_bytes: Some(13_000_000),
            kind: WindowKind::Roaming,
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
        assert!(close(costs.agent_wakeups_per_minute_idle, 600.0), "roaming wake-ups are not idle");
        assert_eq!(costs.agent_rss_bytes, Some(13_000_000), "the upper median of two");
        assert_eq!(costs.agent_wakeups_per_minute_idle_station, None);
    }

    fn with_probes(mut scrape: Scrape, acked: u32, not_acked: u32) -> Scrape {
        for (result, n) in [("acked", acked), ("not_acked", not_acked)] {
            scrape.insert(PROBES, &[("device", "sta0"), ("result", result)], f64::from(n));
        }
        scrape
    }

    #[test]
    fn no_window_of_a_kind_is_zero_minutes_not_minus_zero() {
        let costs = Costs::of(&[]);
        assert_eq!(
            format!("{:.1} {:.1}", costs.idle_minutes, costs.idle_station_minutes),
            "0.0 0.0"
        );
    }

    #[test]
    fn probe_frames_and_wakeups_per_kind_of_idle() {
        let window = |kind, probes: (u32, u32), wakeups| Window {
            before: with_probes(scrape(1.0, &[], 0, 0.0, 0), 10, 0),
            after: with_probes(scrape(1.0, &[], 0, 0.0, 0), 10 + probes.0, probes.1),
            duration_ms: 10_000.0,
            wakeups,
            rss_bytes: None,
            kind,
        };
        let costs = Costs::of(&[
            window(WindowKind::Idle, (5, 0), Some(100.0)),
            window(WindowKind::IdleStation, (60, 4), Some(900.0)),
            // Restarted agent: its frames count, its wake-ups were not counted.
            window(WindowKind::IdleStation, (36, 0), None),
        ]);
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-6;
        assert!(close(costs.probe_frames_per_second_with_traffic, 0.5));
        assert!(close(costs.probe_frames_per_second_idle_station, 5.0), "every report counts");
        assert!(close(costs.agent_wakeups_per_minute_idle, 600.0));
        assert!(close(costs.agent_wakeups_per_minute_idle_station, 5_400.0));
        assert!((costs.idle_station_minutes - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn daemon_costs_take_memory_from_every_run_and_wakeups_from_idle_ones() {
        let window = |wakeups, rss_mib: u64, peak_mib: u64| ProcessWindow {
            process: "wpa_supplicant".into(),
            window_ms: 30_000.0,
            wakeups,
            rss_bytes: rss_mib << 20,
            peak_rss_bytes: peak_mib << 20,
        };
        let (a, b, c, d) = (
            window(Some(30), 5, 6),
            window(Some(90), 6, 6),
            window(Some(5000), 7, 9),
            window(None, 5, 6),
        );
        let costs = DaemonCosts::of(
            Stack::WpaSupplicant,
            "wpa_supplicant",
            &[
                (WindowKind::Idle, &a),
                (WindowKind::IdleStation, &b),
                (WindowKind::Roaming, &c),
                (WindowKind::IdleStation, &d),
            ],
        );
        assert_eq!(costs.rss_bytes, Some(6 << 20));
        assert_eq!(costs.peak_rss_bytes, Some(9 << 20));
        assert_eq!(costs.wakeups_per_minute_idle, Some(60.0));
        assert_eq!(
            costs.wakeups_per_minute_idle_station,
            Some(180.0),
            "uncounted windows left out"
        );
    }

    #[test]
    fn no_windows_no_figures() {
        let costs = Costs::of(&[]);
        assert_eq!(costs.agent_cpu_ms_per_minute_idle, None);
        assert_eq!(costs.ringbuf_events_per_roaming_run, None);
        assert!(costs.programs.is_empty());
    }
}
