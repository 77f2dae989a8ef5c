//! How often a program woke up: the voluntary context switches of all its threads (each is a
//! thread going to sleep after it ran, so one per wake-up), from /proc. The same measure for
//! any agent binary, whether or not it exports metrics of its own.

use std::{fs, io, path::Path};

/// One thread's count so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread {
    pub tid: u32,
    pub name: String,
    pub wakeups: u64,
}

/// Each thread of process `pid` and its voluntary context switches so far.
pub fn per_thread(pid: u32) -> io::Result<Vec<Thread>> {
    let mut threads = Vec::new();
    for task in fs::read_dir(Path::new("/proc").join(pid.to_string()).join("task"))? {
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
        threads.push(Thread { tid, name, wakeups: voluntary_switches(&status).unwrap_or(0) });
    }
    threads.sort_by_key(|thread| thread.tid);
    Ok(threads)
}

/// The wake-ups between two counts of the same process: the total, and a line per thread
/// (threads started in between count from zero; those gone are left out).
pub fn between(before: &[Thread], after: &[Thread]) -> (u64, String) {
    let mut total = 0;
    let mut lines = String::new();
    for thread in after {
        let earlier = before.iter().find(|t| t.tid == thread.tid).map_or(0, |t| t.wakeups);
        let n = thread.wakeups.saturating_sub(earlier);
        total += n;
        lines.push_str(&format!("{} {} {n}\n", thread.tid, thread.name));
    }
    (total, lines)
}

/// The `voluntary_ctxt_switches` line of a /proc status file.
fn voluntary_switches(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
        .and_then(|value| value.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_voluntary_count_only() {
        let status =
            "Name:\troam\nvoluntary_ctxt_switches:\t1234\nnonvoluntary_ctxt_switches:\t56\n";
        assert_eq!(voluntary_switches(status), Some(1234));
        assert_eq!(voluntary_switches("Name:\troam\n"), None);
    }

    #[test]
    fn counts_this_process() {
        let before = per_thread(std::process::id()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let after = per_thread(std::process::id()).unwrap();
        let (total, lines) = between(&before, &after);
        assert!(total > 0, "a sleep is a voluntary switch");
        assert_eq!(lines.lines().count(), after.len());
    }

    #[test]
    fn new_threads_count_from_zero_and_gone_ones_not_at_all() {
        let thread = |tid, wakeups| Thread { tid, name: format!("t{tid}"), wakeups };
        let (total, lines) =
            between(&[thread(1, 10), thread(2, 50)], &[thread(1, 15), thread(3, 7)]);
        assert_eq!(total, 12);
        assert_eq!(lines, "1 t1 5\n3 t3 7\n");
    }
}
