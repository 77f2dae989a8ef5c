//! Telling a hung guest from a slow one by its console, so that a session stops minutes after
//! the guest stopped working, with the reason, instead of at its time budget (hours for a
//! benchmark, and CI's whole limit).

use std::time::{Duration, Instant};

/// The guest prints a progress line per run; the slowest run (healthy-ap, 150 s of beacons,
/// after a topology build) stays well inside this.
pub const SILENCE_LIMIT: Duration = Duration::from_secs(600);
/// Once the kernel reports a lockup, the time its backtrace gets to reach the console log.
const BACKTRACE_GRACE: Duration = Duration::from_secs(5);

/// Kernel reports after which a guest does not recover (or whose session measures nothing
/// worth keeping): the soft/hard lockup watchdogs, RCU stalls, a panic.
const HANG_REPORTS: &[&str] = &[
    "watchdog: BUG: soft lockup",
    "watchdog: Watchdog detected hard LOCKUP",
    "self-detected stall on CPU",
    "rcu: INFO: rcu_preempt detected stalls",
    "rcu: INFO: rcu_sched detected stalls",
    "Kernel panic - not syncing",
];

/// Why a guest is taken for hung.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hang {
    /// The kernel said so; the line it said it in.
    KernelReport(String),
    /// Nothing on the console for [`SILENCE_LIMIT`].
    Silence,
}

impl std::fmt::Display for Hang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hang::KernelReport(line) => write!(f, "the guest kernel reported a hang: `{line}`"),
            Hang::Silence => write!(
                f,
                "the guest printed nothing for {} s (it prints a line per run)",
                SILENCE_LIMIT.as_secs()
            ),
        }
    }
}

/// Watches console lines as they arrive.
#[derive(Debug, Default)]
pub struct HangWatch {
    reported: Option<(String, Instant)>,
}

impl HangWatch {
    /// Notes a console line that arrived at `now`.
    pub fn line(&mut self, line: &str, now: Instant) {
        if self.reported.is_none() && HANG_REPORTS.iter().any(|report| line.contains(report)) {
            self.reported = Some((line.trim().to_owned(), now));
        }
    }

    /// The hang, once the kernel's report has had time to reach the log.
    pub fn hung(&self, now: Instant) -> Option<Hang> {
        let (line, at) = self.reported.as_ref()?;
        (now >= *at + BACKTRACE_GRACE).then(|| Hang::KernelReport(line.clone()))
    }

    /// How long to wait for the next line before looking again.
    pub fn next_wait(&self, now: Instant) -> Duration {
        match &self.reported {
            Some((_, at)) => (*at + BACKTRACE_GRACE).saturating_duration_since(now),
            None => SILENCE_LIMIT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCKUP: &str =
        "[ 1001.248510] watchdog: BUG: soft lockup - CPU#1 stuck for 45s! [echo:245]";

    #[test]
    fn a_lockup_is_a_hang_after_the_backtrace_had_its_time() {
        let t0 = Instant::now();
        let mut watch = HangWatch::default();
        watch.line("roam-testbed: run 1/10: gap 154.5 ms", t0);
        assert_eq!(watch.hung(t0), None);
        assert_eq!(watch.next_wait(t0), SILENCE_LIMIT);
        watch.line(LOCKUP, t0);
        assert_eq!(watch.hung(t0 + Duration::from_secs(1)), None);
        assert_eq!(watch.next_wait(t0 + Duration::from_secs(1)), Duration::from_secs(4));
        assert_eq!(
            watch.hung(t0 + BACKTRACE_GRACE),
            Some(Hang::KernelReport(LOCKUP.trim().to_owned()))
        );
    }

    #[test]
    fn rcu_stalls_count_and_ordinary_warnings_do_not() {
        let t0 = Instant::now();
        let mut watch = HangWatch::default();
        watch.line("[  320.951713] hrtimer: interrupt took 17344360 ns", t0);
        watch.line("[  12.1] BUG: sleeping function called from invalid context", t0);
        assert_eq!(watch.hung(t0 + BACKTRACE_GRACE), None);
        watch.line("[  976.096567] rcu: INFO: rcu_preempt self-detected stall on CPU", t0);
        assert!(watch.hung(t0 + BACKTRACE_GRACE).is_some());
    }
}
