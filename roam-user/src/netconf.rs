//! Keeping the station's neighbour entries across a roam.
//!
//! Since Linux 5.18 (arp) / 5.19 (ndisc) the kernel flushes an interface's neighbour entries
//! when its carrier goes off (`arp_evict_nocarrier`, `ndisc_evict_nocarrier`, default 1). Every
//! roam drops the carrier, so the gateway's entry is flushed, the first packet after the roam
//! waits for an ARP request the station sent while the carrier was still off (dropped), and
//! traffic resumes only at the ARP retransmit timer, about 1 s later. Setting both to 0 on the
//! station keeps the entries; an entry that is really stale still goes through the normal
//! probe/failed states.
//!
//! The original values are restored when roam exits. They are also written to a record under
//! /run first, so an agent that was killed cannot make its successor mistake roam's own values
//! for the originals: the next start restores from the record.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// The sysctls roam sets to 0, relative to /proc/sys/net (per interface).
const KNOBS: [(&str, &str); 2] =
    [("ipv4/conf", "arp_evict_nocarrier"), ("ipv6/conf", "ndisc_evict_nocarrier")];

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Original {
    path: PathBuf,
    value: String,
}

/// Holds the changed sysctls; restores them on drop.
#[derive(Debug)]
pub struct KeptNeighbours {
    record: PathBuf,
    originals: Vec<Original>,
    /// Knobs this kernel does not have (older than 5.18): nothing to keep, said once.
    pub unsupported: Vec<String>,
}

impl KeptNeighbours {
    /// Sets the knobs of `iface` to 0. `proc_sys_net` is /proc/sys/net (a parameter for tests),
    /// `record_dir` where the originals are recorded (/run/roam).
    pub fn apply(iface: &str, proc_sys_net: &Path, record_dir: &Path) -> Result<Self> {
        fs::create_dir_all(record_dir)
            .with_context(|| format!("cannot create {}", record_dir.display()))?;
        let record = record_dir.join(format!("{iface}.sysctl.json"));
        let recorded: Option<Vec<Original>> =
            fs::read(&record).ok().and_then(|bytes| serde_json::from_slice(&bytes).ok());
        if recorded.is_some() {
            warn!(record = %record.display(), "a previous roam did not restore the neighbour sysctls; using its record of the originals");
        }
        let mut originals = Vec::new();
        let mut unsupported = Vec::new();
        for (dir, knob) in KNOBS {
            let path = proc_sys_net.join(dir).join(iface).join(knob);
            let current = match fs::read_to_string(&path) {
                Ok(v) => v.trim().to_owned(),
                Err(_) => {
                    unsupported.push(format!("{dir}/{iface}/{knob}"));
                    continue;
                }
            };
            let value = recorded
                .as_ref()
                .and_then(|r| r.iter().find(|o| o.path == path).map(|o| o.value.clone()))
                .unwrap_or(current);
            originals.push(Original { path, value });
        }
        fs::write(&record, serde_json::to_vec(&originals)?)
            .with_context(|| format!("cannot write {}", record.display()))?;
        for o in &originals {
            fs::write(&o.path, "0").with_context(|| {
                format!("cannot set {} to 0 (roam needs root for this)", o.path.display())
            })?;
        }
        if !unsupported.is_empty() {
            info!(?unsupported, "this kernel flushes neighbours on carrier loss unconditionally (no *_evict_nocarrier before Linux 5.18)");
        }
        Ok(KeptNeighbours { record, originals, unsupported })
    }

    /// Puts the original values back and removes the record.
    pub fn restore(&mut self) {
        let mut all_restored = true;
        for o in self.originals.drain(..) {
            if let Err(err) = fs::write(&o.path, &o.value) {
                all_restored = false;
                warn!(path = %o.path.display(), %err, "could not restore {}", o.value);
            }
        }
        if all_restored {
            let _ = fs::remove_file(&self.record);
        }
    }
}

impl Drop for KeptNeighbours {
    fn drop(&mut self) {
        self.restore();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_proc(root: &Path, iface: &str, arp: &str) {
        for (dir, knob) in KNOBS {
            let d = root.join(dir).join(iface);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join(knob), if knob.starts_with("arp") { arp } else { "1" }).unwrap();
        }
    }

    fn read(root: &Path, iface: &str, knob: usize) -> String {
        let (dir, name) = KNOBS[knob];
        fs::read_to_string(root.join(dir).join(iface).join(name)).unwrap()
    }

    #[test]
    fn sets_zero_and_restores_the_originals() {
        let tmp = std::env::temp_dir().join(format!("roam-netconf-{}", std::process::id()));
        let (proc, run) = (tmp.join("proc"), tmp.join("run"));
        fake_proc(&proc, "wl0", "1\n");
        let kept = KeptNeighbours::apply("wl0", &proc, &run).unwrap();
        assert_eq!(read(&proc, "wl0", 0), "0");
        assert_eq!(read(&proc, "wl0", 1), "0");
        assert!(run.join("wl0.sysctl.json").exists());
        drop(kept);
        assert_eq!(read(&proc, "wl0", 0), "1");
        assert_eq!(read(&proc, "wl0", 1), "1");
        assert!(!run.join("wl0.sysctl.json").exists());

        // A killed agent left roam's zeros and its record: the next one restores the originals.
        let kept = KeptNeighbours::apply("wl0", &proc, &run).unwrap();
        std::mem::forget(kept);
        let kept = KeptNeighbours::apply("wl0", &proc, &run).unwrap();
        drop(kept);
        assert_eq!(read(&proc, "wl0", 0), "1", "not roam's 0");

        // A kernel without the knobs.
        let kept = KeptNeighbours::apply("old0", &proc, &run).unwrap();
        assert_eq!(kept.unsupported.len(), 2);
        fs::remove_dir_all(&tmp).unwrap();
    }
}
