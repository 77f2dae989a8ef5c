//! The agent's own resource use, in the names every Prometheus client library exports
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`, ...), read from /proc/self at
//! scrape time. Operators watch what a root daemon costs them; the benchmark reads the same
//! figures before and after each run.

use std::fs;

use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeMetric},
    metrics::{counter::ConstCounter, gauge::ConstGauge},
    registry::Unit,
};

/// What /proc/self says about this process.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU time.
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    /// The resident set's high-water mark (VmHWM).
    pub resident_peak_bytes: u64,
    /// When the process started, seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

impl ProcessSample {
    /// Reads /proc/self; `None` where /proc is not mounted.
    pub fn read() -> Option<Self> {
        let stat = fs::read_to_string("/proc/self/stat").ok()?;
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let boot_time = fs::read_to_string("/proc/stat").ok().and_then(|s| boot_time_seconds(&s));
        // SAFETY: sysconf has no preconditions.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        parse(&stat, &status, boot_time?, ticks.max(1) as f64)
    }
}

/// Parses /proc/self/stat and /proc/self/status. The stat line's second field is the command
/// name in parentheses, which may itself contain spaces and parentheses: fields are counted
/// from the last `)`.
fn parse(stat: &str, status: &str, boot_time: f64, ticks_per_second: f64) -> Option<ProcessSample> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // Fields from the state (field 3 of proc(5)) on: utime is field 14, stime 15, starttime 22.
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let cpu_ticks = field(14)? + field(15)?;
    let start_ticks = field(22)?;
    let kib = |key: &str| {
        status.lines().find_map(|line| {
            let value = line.strip_prefix(key)?.strip_prefix(':')?;
            value.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        })
    };
    Some(ProcessSample {
        cpu_seconds: cpu_ticks as f64 / ticks_per_second,
        resident_bytes: kib("VmRSS")? * 1024,
        resident_peak_bytes: kib("VmHWM")? * 1024,
        start_time_seconds: boot_time + start_ticks as f64 / ticks_per_second,
    })
}

/// The `btime` line of /proc/stat: when the system booted, seconds since the Unix epoch.
fn boot_time_seconds(proc_stat: &str) -> Option<f64> {
    proc_stat.lines().find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())
}

/// Encodes a fresh [`ProcessSample`] on every scrape. Registered without roam's prefix, so
/// the names are the ones dashboards already know.
#[derive(Debug, Default)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(sample) = ProcessSample::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(sample.cpu_seconds);
        let metric = encoder.encode_descriptor(
            "process_cpu",
            "Total user and system CPU time spent.",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?;
        cpu.encode(metric)?;
        let gauges = [
            ("process_resident_memory", "Resident memory size.", sample.resident_bytes as f64),
            (
                "process_resident_memory_peak",
                "Peak resident memory size since the process started (VmHWM).",
                sample.resident_peak_bytes as f64,
            ),
        ];
        for (name, help, value) in gauges {
            let gauge = ConstGauge::new(value);
            let metric =
                encoder.encode_descriptor(name, help, Some(&Unit::Bytes), gauge.metric_type())?;
            gauge.encode(metric)?;
        }
        let start = ConstGauge::new(sample.start_time_seconds);
        let metric = encoder.encode_descriptor(
            "process_start_time",
            "Start time of the process since the Unix epoch.",
            Some(&Unit::Seconds),
            start.metric_type(),
        )?;
        start.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (roam (run) x) S 1 4242 4242 0 -1 4194560 1500 0 0 0 \
                        250 50 0 0 20 0 9 0 1000 123456789 3000 18446744073709551615";
    const STATUS: &str = "Name:\troam\nVmHWM:\t   20480 kB\nVmRSS:\t   12288 kB\nThreads:\t9\n";

    #[test]
    fn reads_cpu_memory_and_start_from_proc_text() {
        let sample = parse(STAT, STATUS, 1_700_000_000.0, 100.0).unwrap();
        assert_eq!(sample.cpu_seconds, 3.0); // (250 + 50) ticks at 100 Hz
        assert_eq!(sample.resident_bytes, 12 * 1024 * 1024);
        assert_eq!(sample.resident_peak_bytes, 20 * 1024 * 1024);
        assert_eq!(sample.start_time_seconds, 1_700_000_010.0); // 1000 ticks after boot
    }

    #[test]
    fn malformed_proc_text_gives_nothing() {
        assert_eq!(parse("4242 roam S 1", STATUS, 0.0, 100.0), None);
        assert_eq!(parse(STAT, "Name:\troam\n", 0.0, 100.0), None);
        assert_eq!(boot_time_seconds("cpu 1 2 3\nbtime 1700000000\n"), Some(1_700_000_000.0));
        assert_eq!(boot_time_seconds("cpu 1 2 3\n"), None);
    }

    #[test]
    fn this_process_can_be_read() {
        let sample = ProcessSample::read().expect("/proc is mounted on the test host");
        assert!(sample.resident_bytes > 0 && sample.resident_peak_bytes >= sample.resident_bytes);
        assert!(sample.start_time_seconds > 1_500_000_000.0);
    }
}
