//! After every test, nothing of roam's may be left: no program or link (as `bpftool` lists
//! them), no monitor interface, no run record, every sysctl it could touch as it was before
//! the first test, and wpa_supplicant's settings as it started with them (read by the station,
//! once the agent stopped and while the supplicant still runs). Checked whenever the station's software has just stopped (a topology torn
//! down, a stack switched), while the radios and namespaces it ran in still exist.

use std::{
    collections::BTreeMap,
    fs,
    path::Path,
    sync::{Mutex, OnceLock},
};

use serde_json::Value;

use super::{paths, process};

/// Sysctls roam could change, directly or through what it attaches: eBPF statistics and
/// limits, perf events, and the neighbour and ARP behaviour of every interface.
const WATCHED_SYSCTLS: &[&str] = &[
    "kernel/bpf_stats_enabled",
    "kernel/unprivileged_bpf_disabled",
    "kernel/perf_event_paranoid",
    "kernel/perf_event_max_sample_rate",
    "net/core/bpf_jit_enable",
    "net/ipv4/conf/all",
    "net/ipv4/conf/default",
    "net/ipv4/neigh/default",
];

static BASELINE: OnceLock<BTreeMap<String, String>> = OnceLock::new();
static FOUND: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Notes the sysctls as the tests find them. Call once, before the first test.
pub fn take_baseline() {
    let _ = BASELINE.set(read_sysctls());
}

/// Looks for anything of roam's and remembers what it finds, naming `after` (the test).
pub fn check(after: &str) {
    let mut found = attached();
    if let Some(baseline) = BASELINE.get() {
        found.extend(changed_sysctls(baseline, &read_sysctls()));
    }
    note(after, found);
}

/// Remembers what was found of roam's, naming `after` (the test): what the stacks read
/// themselves (wpa_supplicant's settings, while it still runs).
pub fn note(after: &str, found: Vec<String>) {
    if !found.is_empty() {
        let what = format!("after {after}: {}", found.join("; "));
        super::system::progress(format!("warning: left behind {what}"));
        FOUND.lock().expect("not poisoned").push(what);
    }
}

/// What of roam's exists now: programs, links, monitor interfaces, run records.
pub fn attached() -> Vec<String> {
    let programs = roam_programs();
    // A detached program must have no link at once; the kernel frees the program itself an
    // RCU grace period after its last link and descriptor went, from a callback nobody hears of.
    let links = roam_links(&programs);
    let programs = if links.is_empty() { programs_once_freed(programs) } else { programs };
    let mut found = Vec::new();
    found.extend(
        programs
            .iter()
            .map(|p| format!("program {} {}", p["id"], p["name"].as_str().unwrap_or_default())),
    );
    found.extend(links.into_iter().map(|l| format!("link {l}")));
    for netns in [None, Some(paths::STA_NETNS)] {
        let place = netns.unwrap_or("initial namespace");
        found.extend(
            monitor_interfaces(netns).into_iter().map(|i| format!("interface {i} ({place})")),
        );
    }
    found.extend(run_records().into_iter().map(|r| format!("run record {r}")));
    found
}

/// Everything found so far.
pub fn found() -> Vec<String> {
    FOUND.lock().expect("not poisoned").clone()
}

fn bpftool(args: &[&str]) -> Vec<Value> {
    let Ok(out) = process::run(paths::BPFTOOL, args) else { return Vec::new() };
    serde_json::from_str::<Vec<Value>>(&out).unwrap_or_default()
}

/// Loaded programs named `roam_*` (the kernel keeps 15 characters of a name), as bpftool
/// lists them.
fn roam_programs() -> Vec<Value> {
    bpftool(&["-j", "prog", "show"])
        .into_iter()
        .filter(|p| p["name"].as_str().is_some_and(|n| n.starts_with("roam_")))
        .collect()
}

/// `programs` (unlinked) looked at again for up to 5 s, until the kernel has freed them.
fn programs_once_freed(mut programs: Vec<Value>) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !programs.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
        programs = roam_programs();
    }
    programs
}

/// Links whose program is one of `programs`, as `id type`.
fn roam_links(programs: &[Value]) -> Vec<String> {
    let ids: Vec<u64> = programs.iter().filter_map(|p| p["id"].as_u64()).collect();
    bpftool(&["-j", "link", "show"])
        .iter()
        .filter(|l| l["prog_id"].as_u64().is_some_and(|id| ids.contains(&id)))
        .map(|l| format!("{} {}", l["id"], l["type"].as_str().unwrap_or_default()))
        .collect()
}

/// roam's monitor interfaces (`roammon<ifindex>`) in a namespace (`None`: the initial one).
pub fn monitor_interfaces(netns: Option<&str>) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(netns) = netns {
        if !Path::new(paths::STA_NETNS_PATH).exists() {
            return Vec::new();
        }
        args.extend(["-n", netns]);
    }
    args.extend(["-j", "link", "show"]);
    let Ok(out) = process::run(paths::IP, &args) else { return Vec::new() };
    serde_json::from_str::<Vec<Value>>(&out)
        .unwrap_or_default()
        .iter()
        .filter_map(|l| l["ifname"].as_str())
        .filter(|name| name.starts_with("roammon"))
        .map(str::to_owned)
        .collect()
}

/// Run records (`/run/roam/*.state`): an agent that exits cleanly removes its own.
fn run_records() -> Vec<String> {
    let Ok(entries) = fs::read_dir("/run/roam") else { return Vec::new() };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "state"))
        .map(|p| p.display().to_string())
        .collect()
}

/// The watched sysctls: every file under each watched path, by path.
fn read_sysctls() -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    for sysctl in WATCHED_SYSCTLS {
        let path = Path::new("/proc/sys").join(sysctl);
        let files: Vec<_> = match fs::read_dir(&path) {
            Ok(entries) => entries.flatten().map(|e| e.path()).collect(),
            Err(_) => vec![path],
        };
        for file in files {
            if let Ok(value) = fs::read_to_string(&file) {
                values.insert(file.display().to_string(), value.trim().to_owned());
            }
        }
    }
    values
}

/// `sysctl path: before -> now` for every value that differs. Pure.
fn changed_sysctls(
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    before
        .iter()
        .filter_map(|(path, old)| match now.get(path) {
            Some(new) if new != old => Some(format!("sysctl {path}: {old} -> {new}")),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_values_are_reported() {
        let before: BTreeMap<String, String> =
            [("a".to_owned(), "0".to_owned()), ("b".to_owned(), "1".to_owned())].into();
        let mut now = before.clone();
        assert!(changed_sysctls(&before, &now).is_empty());
        now.insert("b".into(), "2".into());
        assert_eq!(changed_sysctls(&before, &now), vec!["sysctl b: 1 -> 2".to_owned()]);
    }
}
