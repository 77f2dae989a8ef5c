//! Kernel side of the timeline: ftrace events and kprobes, on CLOCK_MONOTONIC.

use std::{fs, path::Path};

use anyhow::Result;

use super::system::{self, write_knob};

const TRACEFS: &str = "/sys/kernel/tracing";

/// Tracepoints that tell the station's story (see background.md for which fire with hwsim).
const EVENTS: &[&str] = &[
    "mac80211/api_cqm_beacon_loss_notify",
    "cfg80211/cfg80211_rx_mlme_mgmt",
    "cfg80211/cfg80211_tx_mlme_mgmt",
    "cfg80211/rdev_auth",
    "cfg80211/rdev_assoc",
    "cfg80211/rdev_scan",
    "cfg80211/cfg80211_scan_done",
    // A module the kernel asks modprobe for: the testbed turns that off (see `autoload`), so
    // one here is a module the image lacks.
    "module/module_request",
    // Neighbour entries: what the drop window's held packets wait on, on every interface.
    "neigh/neigh_create",
    "neigh/neigh_update",
    "neigh/neigh_update_done",
    "neigh/neigh_event_send_done",
    "neigh/neigh_event_send_dead",
    "neigh/neigh_cleanup_and_release",
];

/// 6.1 has no carrier tracepoint: kprobes on the functions. `name` is the first field of
/// struct net_device, so the device name is at offset 0 of the first argument.
/// The other three record the kernel live-patching its code, which qemu TCG can hang on (see
/// `text_patching`): which static key or static call, and how many sites per batch.
const KPROBES: &[&str] = &[
    "p:roam_testbed/carrier_on netif_carrier_on name=+0(%di):string",
    "p:roam_testbed/carrier_off netif_carrier_off name=+0(%di):string",
    "p:roam_testbed/jump_label jump_label_update key=%di:symbol",
    "p:roam_testbed/static_call arch_static_call_transform site=%di:symbol func=%dx:symbol",
    "p:roam_testbed/text_poke text_poke_bp_batch sites=%si:u32",
];

/// Configures tracing once per boot. Events that do not exist (the modules are loaded later, so
/// this runs after mac80211 is in) are reported, not fatal: the timeline is then just shorter.
pub fn setup() -> Result<()> {
    write_knob(format!("{TRACEFS}/tracing_on"), "0")?;
    write_knob(format!("{TRACEFS}/trace_clock"), "mono")?;
    write_knob(format!("{TRACEFS}/buffer_size_kb"), "8192")?;
    write_knob(format!("{TRACEFS}/kprobe_events"), &(KPROBES.join("\n") + "\n"))?;
    let mut events: Vec<&str> = EVENTS.to_vec();
    events.push("roam_testbed");
    for event in events {
        let knob = Path::new(TRACEFS).join("events").join(event).join("enable");
        if let Err(err) = write_knob(&knob, "1") {
            system::progress(format!("warning: trace event {event} unavailable: {err:#}"));
        }
    }
    write_knob(format!("{TRACEFS}/tracing_on"), "1")
}

/// Empties the trace buffer (before a run).
pub fn clear() -> Result<()> {
    write_knob(format!("{TRACEFS}/trace"), "")
}

/// The trace buffer as text.
pub fn read() -> String {
    fs::read_to_string(format!("{TRACEFS}/trace")).unwrap_or_default()
}
