//! How late the guest's vCPUs run: one thread per vCPU, pinned to it and real-time, wakes every
//! 5 ms and records every wake-up that came 10 ms or more after its deadline.
//!
//! Why: under qemu TCG a vCPU now and then stops for a few hundred ms: the host took its core
//! (this host is itself a VM, sharing its cores), or qemu stopped every vCPU for a job of its
//! own. Whatever the station software, a recovery measured across such a stall is longer by it.
//! The runner reports the longest stall inside each run's traffic gap, so that the benchmark
//! tells an outlier of the machine from an outlier of the stack, from a measurement rather
//! than from reading logs. A stalled vCPU wakes its watcher late, as it does everything else;
//! a watcher outranks every task but the kernel's own, so a busy guest does not delay it.

use std::{
    sync::{Mutex, OnceLock},
    thread,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};

use super::system::monotonic_ns;

/// How often each watcher wakes.
const PERIOD: Duration = Duration::from_millis(5);
/// Wake-ups at least this late are recorded; below it is the guest's ordinary timer jitter.
const RECORDED_LATENESS: Duration = Duration::from_millis(10);
/// SCHED_FIFO priority of the watchers: above every task of the testbed and the stacks (all
/// SCHED_OTHER), below the kernel's per-CPU threads (99).
const PRIORITY: libc::c_int = 50;

/// A time some vCPU did not run: from its watcher's deadline to its wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub from_ns: u64,
    pub until_ns: u64,
}

/// The stalls recorded since boot, in the order the watchers saw them.
#[derive(Debug, Default)]
pub struct StallLog {
    stalls: Vec<Stall>,
}

impl StallLog {
    pub fn record(&mut self, stall: Stall) {
        self.stalls.push(stall);
    }

    /// The longest part of one stall inside `[from_ns, until_ns]`, in ms (0 if none).
    pub fn longest_within(&self, from_ns: u64, until_ns: u64) -> f64 {
        self.stalls
            .iter()
            .map(|s| s.until_ns.min(until_ns).saturating_sub(s.from_ns.max(from_ns)))
            .max()
            .unwrap_or(0) as f64
            / 1e6
    }
}

static LOG: OnceLock<Mutex<StallLog>> = OnceLock::new();

/// Starts one watcher per online vCPU, for the rest of the boot.
pub fn start() -> Result<()> {
    if LOG.set(Mutex::new(StallLog::default())).is_err() {
        bail!("the stall watchers already run");
    }
    // SAFETY: sysconf has no preconditions.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    for cpu in 0..cpus {
        let ready = ready_tx.clone();
        thread::Builder::new().name(format!("stall-watch/{cpu}")).spawn(move || {
            let pinned = pin_realtime(cpu);
            let ok = pinned.is_ok();
            let _ = ready.send(pinned);
            if ok {
                watch();
            }
        })?;
    }
    // One answer per watcher (each keeps its sender for as long as it runs).
    for _ in 0..cpus {
        ready_rx.recv().context("a stall watcher died before it started")??;
    }
    Ok(())
}

/// The longest stall of any vCPU inside `[from_ns, until_ns]` (CLOCK_MONOTONIC), in ms; `None`
/// if the watchers do not run.
pub fn longest_within(from_ns: u64, until_ns: u64) -> Option<f64> {
    let log = LOG.get()?.lock().expect("stall log lock");
    Some(log.longest_within(from_ns, until_ns))
}

fn pin_realtime(cpu: usize) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU_SET stays within the set for cpu < 1024 (the guest has 2).
    unsafe { libc::CPU_SET(cpu, &mut set) };
    // SAFETY: `set` outlives the call; 0 is this thread.
    if unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set) } != 0 {
        bail!("cannot pin a stall watcher to CPU {cpu}: {}", std::io::Error::last_os_error());
    }
    let param = libc::sched_param { sched_priority: PRIORITY };
    // SAFETY: `param` outlives the call; 0 is this thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) } != 0 {
        bail!("cannot make the stall watcher real-time: {}", std::io::Error::last_os_error());
    }
    Ok(())
}

fn watch() -> ! {
    let period = PERIOD.as_nanos() as u64;
    let recorded = RECORDED_LATENESS.as_nanos() as u64;
    let mut deadline = monotonic_ns() + period;
    loop {
        sleep_until(deadline);
        let woke = monotonic_ns();
        if woke.saturating_sub(deadline) >= recorded {
            let stall = Stall { from_ns: deadline, until_ns: woke };
            LOG.get().expect("started").lock().expect("stall log lock").record(stall);
        }
        // The deadlines a stall swallowed are skipped, not caught up with.
        deadline = (deadline + period).max(woke + period / 2);
    }
}

fn sleep_until(deadline_ns: u64) {
    let ts = libc::timespec {
        tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: `ts` outlives the call; no remaining time is asked for with TIMER_ABSTIME.
    while unsafe {
        libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut())
    } == libc::EINTR
    {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(stalls: &[(u64, u64)]) -> StallLog {
        let mut log = StallLog::default();
        for &(from_ns, until_ns) in stalls {
            log.record(Stall { from_ns, until_ns });
        }
        log
    }

    #[test]
    fn the_longest_stall_counts_only_its_part_inside_the_window() {
        let log = log(&[(100_000_000, 150_000_000), (400_000_000, 700_000_000)]);
        // The window holds the first stall whole and 100 ms of the second.
        assert_eq!(log.longest_within(0, 500_000_000), 100.0);
        assert_eq!(log.longest_within(0, 300_000_000), 50.0);
        assert_eq!(log.longest_within(120_000_000, 130_000_000), 10.0);
    }

    #[test]
    fn a_window_without_stalls_has_none() {
        assert_eq!(log(&[(100, 200)]).longest_within(300, 400), 0.0);
        assert_eq!(StallLog::default().longest_within(0, u64::MAX), 0.0);
    }
}
