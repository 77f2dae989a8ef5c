//! What a roam that did not exit cleanly leaves behind, and how the next start undoes it.
//!
//! Most of roam's kernel state dies with the process: programs, perf events, links and sockets
//! are held by file descriptors. Two things are not: the monitor interface roam creates on the
//! station's radio, and, on kernels before tcx (6.6), the clsact qdisc and TC filter that carry
//! the egress program. Nor do its changes to wpa_supplicant: the BSSID pin and the
//! `scan_res_valid_for_connect` of a reconnection. While the agent runs, a record of them sits beside its control socket
//! (`/run/roam/<iface>.state`, which `roam@.service` preserves across restarts). A clean exit
//! removes it; a start that finds one whose process is gone undoes what it lists first.
//!
//! roam changes no sysctl: eBPF run-time statistics come from `BPF_ENABLE_STATS`, a file
//! descriptor the kernel drops with the process, not from `kernel.bpf_stats_enabled`.

mod cleanup;
mod record;

pub use cleanup::undo;
pub use record::{
    ensure_private_dir, record_path, MonitorRecord, PinRecord, Previous, RecordFile, RunLock,
    RunRecord, SettingRecord, SupplicantChanges,
};
