//! Metrics whose values the kernel keeps: eBPF program statistics, roam's own counters in its
//! maps, and the BSSes its programs have heard. The agent reads them into a [`KernelSnapshot`]
//! and this collector exposes the snapshot as it is at scrape time: the kernel is the one that
//! counts, so the values are absolute (const metrics), not increments we would have to diff.
//!
//! A counter that goes backwards (programs reloaded, maps recreated) is an ordinary counter reset
//! to Prometheus.

use roam_common::MacAddr;
use std::{sync::Mutex, time::Duration};

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge, MetricType},
    registry::Unit,
};

use super::{
    labels::{BssLabels, ProgramLabels},
    lock,
};

/// Everything the agent read from the kernel in one go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KernelSnapshot {
    /// roam's eBPF programs. The kernel only counts runs while `kernel.bpf_stats_enabled` is 1;
    /// otherwise these stay at 0.
    pub programs: Vec<ProgramStats>,
    /// Events the kernel could not put into roam's ring buffer because it was full.
    pub events_lost: u64,
    /// 802.11 frames roam's programs looked at.
    pub frames_observed: u64,
    /// Frames too short or inconsistent to parse.
    pub frames_malformed: u64,
    /// BSSes of the station's network the programs have heard.
    pub bss: Vec<BssRow>,
}

/// Run statistics of one eBPF program (`bpf_prog_info.run_cnt` / `run_time_ns`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgramStats {
    pub name: String,
    pub runs: u64,
    pub run_time_ns: u64,
}

/// One BSS as the kernel last heard it.
#[derive(Debug, Clone, PartialEq)]
pub struct BssRow {
    pub bssid: MacAddr,
    pub freq_mhz: u32,
    pub signal_dbm: i32,
    /// Time since the last frame from this BSS, as of the snapshot.
    pub last_heard_age: Duration,
}

/// Holds the latest snapshot; registered with the registry and encoded on every scrape.
#[derive(Debug, Default)]
pub(crate) struct KernelCollector {
    /// `None` until the agent reads the kernel the first time: exposing zeros before then would
    /// claim "nothing happened" when we do not know yet.
    snapshot: Mutex<Option<KernelSnapshot>>,
}

impl KernelCollector {
    pub fn set(&self, snap: KernelSnapshot) {
        *lock(&self.snapshot) = Some(snap);
    }
}

impl Collector for KernelCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let guard = lock(&self.snapshot);
        let Some(snap) = guard.as_ref() else {
            return Ok(());
        };

        // An empty family would be a descriptor without samples; skip it, as the registry does
        // for its own empty families. Help texts end in "." like the registry's, which adds it.
        if !snap.programs.is_empty() {
            let mut family = encoder.encode_descriptor(
                "ebpf_program_runs",
                "Runs of roam's eBPF programs, as counted by the kernel.",
                None,
                MetricType::Counter,
            )?;
            for p in &snap.programs {
                let labels = ProgramLabels { program: p.name.clone() };
                ConstCounter::new(p.runs).encode(family.encode_family(&labels)?)?;
            }
            let mut family = encoder.encode_descriptor(
                "ebpf_program_run_time",
                "CPU time spent in roam's eBPF programs, as counted by the kernel.",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?;
            for p in &snap.programs {
                let labels = ProgramLabels { program: p.name.clone() };
                let seconds = Duration::from_nanos(p.run_time_ns).as_secs_f64();
                ConstCounter::new(seconds).encode(family.encode_family(&labels)?)?;
            }
        }

        let scalars = [
            (
                "ringbuf_events_lost",
                "Events lost because roam's ring buffer was full.",
                snap.events_lost,
            ),
            (
                "frames_observed",
                "802.11 frames observed by roam's eBPF programs.",
                snap.frames_observed,
            ),
            (
                "frames_malformed",
                "Frames roam's eBPF programs could not parse.",
                snap.frames_malformed,
            ),
        ];
        for (name, help, value) in scalars {
            let metric = ConstCounter::new(value);
            metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)?;
        }

        if !snap.bss.is_empty() {
            let mut family = encoder.encode_descriptor(
                "bss_signal_dbm",
                "Signal of the BSSes of the station's network, as last heard by the kernel.",
                None,
                MetricType::Gauge,
            )?;
            for b in &snap.bss {
                let labels = BssLabels { bssid: b.bssid.to_string(), freq_mhz: b.freq_mhz };
                ConstGauge::new(b.signal_dbm).encode(family.encode_family(&labels)?)?;
            }
            let mut family = encoder.encode_descriptor(
                "bss_last_heard_age",
                "Time since the kernel last heard each BSS of the station's network.",
                Some(&Unit::Seconds),
                MetricType::Gauge,
            )?;
            for b in &snap.bss {
                let labels = BssLabels { bssid: b.bssid.to_string(), freq_mhz: b.freq_mhz };
                let age = b.last_heard_age.as_secs_f64();
                ConstGauge::new(age).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}
