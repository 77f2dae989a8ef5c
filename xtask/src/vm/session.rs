//! A session: one boot's directory under target/vm/runs/<UTC timestamp>/, holding the console
//! log, the guest's results and every run's logs.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::Result;

/// Sessions kept besides the current one.
const KEEP_SESSIONS: usize = 20;

pub struct Session {
    pub dir: PathBuf,
}

impl Session {
    pub fn create(vm_dir: &Path) -> Result<Session> {
        let runs = vm_dir.join("runs");
        prune(&runs);
        let stamp = utc_stamp();
        let mut dir = runs.join(&stamp);
        let mut n = 1;
        while dir.exists() {
            n += 1;
            dir = runs.join(format!("{stamp}-{n}"));
        }
        fs::create_dir_all(&dir)?;
        Ok(Session { dir })
    }

    pub fn console_log(&self) -> PathBuf {
        self.dir.join("console.log")
    }
}

/// Removes the oldest session directories beyond the last few.
fn prune(runs: &Path) {
    let Ok(entries) = fs::read_dir(runs) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    dirs.sort();
    let excess = dirs.len().saturating_sub(KEEP_SESSIONS);
    for dir in &dirs[..excess] {
        let _ = fs::remove_dir_all(dir);
    }
}

/// `20250101-120000`, UTC.
fn utc_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as libc::time_t);
    // SAFETY: gmtime_r writes into `tm` only; both pointers are valid.
    let tm = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::gmtime_r(&now, &mut tm);
        tm
    };
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}
