//! What a stack's daemons cost, from /proc: how often each woke up (the voluntary context
//! switches of its threads: each is a thread going to sleep after it ran, so one per wake-up)
//! and its memory (resident now, and the most it ever was). The same measure for any daemon,
//! whether or not it exports metrics of its own.

use std::{fs, io, path::Path};

use roam_testbed::plan::ProcessWindow;

/// One thread's count so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub tid: u32,
    pub name: String,
    pub wakeups: u64,
}

/// A daemon of the stack at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The daemon's role in the stack (`wpa_supplicant`, `roam`, `iwd`).
    pub process: &'static str,
    pub pid: u32,
    pub threads: Vec<Thread>,
    /// VmRSS.
    pub rss_bytes: u64,
    /// VmHWM.
    pub peak_rss_bytes: u64,
}

/// Samples `process` (pid `pid`) now.
pub fn sample(process: &'static str, pid: u32) -> io::Result<Sample> {
    let dir = Path::new("/proc").join(pid.to_string());
    let status = fs::read_to_string(dir.join("status"))?;
    let kib = |field| status_value(&status, field).unwrap_or(0) * 1024;
    let mut threads = Vec::new();
    for task in fs::read_dir(dir.join("task"))? {
        let task = task?;
        let Some(tid) = task.file_name().to_str().and_then(|tid| tid.parse().ok()) else {
            continue;
        };
        // A thread that exited since the listing takes its count with it: nothing to add.
        let Ok(status) = fs::read_to_string(task.path().join("status")) else { continue };
        let name = status
            .lines()
            .find_map(|line| line.strip_prefix("Name:"))
            .map_or_else(String::new, |name| name.trim().to_owned());
        let wakeups = status_value(&status, "voluntary_ctxt_switches").unwrap_or(0);
        threads.push(Thread { tid, name, wakeups });
    }
    threads.sort_by_key(|thread| thread.tid);
    Ok(Sample { process, pid, threads, rss_bytes: kib("VmRSS"), peak_rss_bytes: kib("VmHWM") })
}

/// The window between two samples of the stack's daemons, `window_ms` apart: per daemon, its
/// wake-ups in between (none where it was restarted: a new pid) and its memory at the end;
/// and a line per thread, for the run's logs.
pub fn between(
    before: &[Sample],
    after: &[Sample],
    window_ms: f64,
) -> (Vec<ProcessWindow>, String) {
    let mut windows = Vec::new();
    let mut lines = String::new();
    for end in after {
        let start = before.iter().find(|s| s.process == end.process && s.pid == end.pid);
        let mut wakeups = 0;
        for thread in &end.threads {
            let earlier = start
                .and_then(|s| s.threads.iter().find(|t| t.tid == thread.tid))
                .map_or(0, |t| t.wakeups);
            let n = thread.wakeups.saturating_sub(earlier);
            wakeups += n;
            lines.push_str(&format!("{} {} {} {n}\n", end.process, thread.tid, thread.name));
        }
        windows.push(ProcessWindow {
            process: end.process.to_owned(),
            window_ms,
            wakeups: start.map(|_| wakeups),
            rss_bytes: end.rss_bytes,
            peak_rss_bytes: end.peak_rss_bytes,
        });
    }
    (windows, lines)
}

/// `field:   <number> ...` of a /proc status file.
fn status_value(status: &str, field: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_status_fields() {
        let status = "Name:\troam\nVmHWM:\t   45000 kB\nVmRSS:\t   12000 kB\n\
                      voluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n";
        assert_eq!(status_value(status, "voluntary_ctxt_switches"), Some(1234));
        assert_eq!(status_value(status, "VmRSS"), Some(12000));
        assert_eq!(status_value(status, "VmSwap"), None);
    }

    #[test]
    fn samples_this_process() {
        let before = sample("test", std::process::id()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let after = sample("test", std::process::id()).unwrap();
        assert!(after.rss_bytes > 0 && after.peak_rss_bytes >= after.rss_bytes);
        let (windows, lines) = between(&[before], std::slice::from_ref(&after), 5.0);
        assert!(windows[0].wakeups.unwrap() > 0, "a sleep is a voluntary switch");
        assert_eq!(lines.lines().count(), after.threads.len());
    }

    #[test]
    fn a_restarted_daemon_has_memory_but_no_wakeups() {
        let thread = |tid, wakeups| Thread { tid, name: format!("t{tid}"), wakeups };
        let at = |pid, threads| Sample {
            process: "roam",
            pid,
            threads,
            rss_bytes: 10 << 20,
            peak_rss_bytes: 20 << 20,
        };
        let (windows, lines) = between(
            &[at(7, vec![thread(7, 10), thread(8, 50)])],
            &[at(7, vec![thread(7, 15), thread(9, 7)])],
            1000.0,
        );
        assert_eq!(windows[0].wakeups, Some(12), "new threads count from zero, gone ones not");
        assert_eq!(lines, "roam 7 t7 5\nroam 9 t9 7\n");
        let (windows, _) = between(&[at(7, vec![])], &[at(11, vec![thread(11, 3)])], 1000.0);
        assert_eq!(windows[0].wakeups, None);
        assert_eq!(windows[0].rss_bytes, 10 << 20);
    }
}
