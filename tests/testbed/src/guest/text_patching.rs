//! Keeps the guest kernel from patching its own code while the testbed's traffic flows.
//!
//! Why: under qemu's multi-threaded TCG (7.2, the accelerator wherever KVM is unavailable), a
//! vCPU can go on running a stale translation of kernel code that the other vCPU has just
//! live-patched. When the patch is a static key or static call flip (`text_poke_bp`), that vCPU
//! then loops on the transient int3 for ever: the kernel sees the int3 gone from memory, resumes
//! at the same address, and qemu runs the stale int3 again. A session hit it in
//! `__netif_receive_skb_core` (the `ingress_needed_key` site: a soft lockup, never recovered)
//! while roam's agent came and went, and another stalled for ten minutes.
//!
//! Each stop and start of roam's agent patched 214 sites in 79 batches (traced in the VM): the
//! ingress/egress/classifier keys of its clsact qdisc, `bpf_stats_enabled_key` (64 sites), and
//! the key and static call of every tracepoint it is the first user of. The testbed starts the
//! agent once per run, so long sessions met the race. Holding each of those from boot turns the
//! agent's flips into reference-count changes that patch nothing. A tracepoint's static call
//! points straight at its probe while it has one and at the probe iterator from two on, so each
//! of roam's (raw) tracepoints is held with a perf event and two raw-tracepoint programs of the
//! testbed's own that do nothing: roam's probe then joins an iterator already in place; a loopback TCP
//! connection at boot draws the hash secrets (three DO_ONCE keys) the first metrics scrape
//! would otherwise draw during a run. On hardware
//! (or KVM) the patching is safe: roam itself does not change. What the agent still patches is
//! the entry of `netif_carrier_off` and `netif_carrier_on` (its fentry hooks, at each start and
//! stop: about 10 batches): code that runs only when a carrier changes, never while the agent
//! restarts between runs, so no vCPU can be inside a stale translation of it. The runner counts
//! patches from each run's trigger on, where they would matter. The `text_poke` kprobe of the
//! trace counts what still patches, and the runner reports any run where something did.

use std::{
    fs,
    os::fd::{FromRawFd as _, OwnedFd},
    path::Path,
};

use anyhow::{bail, Context as _, Result};

use super::system::{self, write_knob};

const TRACEFS: &str = "/sys/kernel/tracing";
const TC: &str = "/usr/sbin/tc";

/// The tracepoints roam's agent attaches to (roam-user/src/ebpf/hooks.rs). One that is missing
/// here shows up as patches in the run reports.
const AGENT_TRACEPOINTS: &[&str] = &[
    "skb/kfree_skb",
    "neigh/neigh_update",
    "neigh/neigh_create",
    "neigh/neigh_event_send_done",
    "neigh/neigh_cleanup_and_release",
    "cfg80211/cfg80211_rx_mlme_mgmt",
    "cfg80211/cfg80211_tx_mlme_mgmt",
    "cfg80211/cfg80211_cqm_rssi_notify",
    "mac80211/api_beacon_loss",
    "mac80211/api_connection_loss",
    "mac80211/api_cqm_beacon_loss_notify",
    "mac80211/drv_sta_state",
];

/// The kprobe event (see `trace::KPROBES`) that fires on every batch of live patches.
pub const TEXT_POKE_EVENT: &str = "roam_testbed/text_poke";

/// What holds the keys on (perf events, idle programs and their links); they stay on until the
/// VM powers off.
pub struct Pins {
    _held: Vec<OwnedFd>,
}

/// Turns on, for good, every key roam's agent would flip. Needs mac80211 and cfg80211 loaded
/// (their tracepoints). A key that cannot be held is reported, not fatal: runs then count the
/// patches it causes.
pub fn pin_agent_keys() -> Pins {
    let warn = |what: &str, err: anyhow::Error| {
        system::progress(format!("warning: cannot hold {what} on: {err:#}"));
    };
    // A clsact qdisc with one classifier, on an interface the testbed's traffic never uses:
    // holds ingress_needed_key, egress_needed_key and tcf_sw_enabled_key. The classic BPF
    // program returns 0, "no match": loopback packets go on untouched.
    if let Err(err) = tc(&["qdisc", "add", "dev", "lo", "clsact"]).and_then(|()| {
        tc(&["filter", "add", "dev", "lo", "egress", "bpf", "bytecode", "1,6 0 0 0,"])
    }) {
        warn("the clsact keys", err);
    }
    if let Err(err) = write_knob("/proc/sys/kernel/bpf_stats_enabled", "1") {
        warn("bpf_stats_enabled_key", err);
    }
    // The kernel draws TCP's hash secrets on first use, each behind a DO_ONCE key; the first
    // metrics scrape of the agent would draw them during a run.
    if let Err(err) = loopback_tcp_connection() {
        warn("the TCP hash secrets' keys", err);
    }
    let mut held = Vec::new();
    for tracepoint in AGENT_TRACEPOINTS {
        match open_tracepoint_perf_event(tracepoint) {
            Ok(fd) => held.push(fd),
            Err(err) => warn(tracepoint, err),
        }
        let event = tracepoint.rsplit('/').next().unwrap_or(tracepoint);
        for _ in 0..2 {
            match attach_idle_raw_tracepoint(event) {
                Ok(fds) => held.extend(fds),
                Err(err) => warn(&format!("a raw tracepoint on {tracepoint}"), err),
            }
        }
    }
    Pins { _held: held }
}

/// Loads a raw-tracepoint program that does nothing (`r0 = 0; exit`) and attaches it to `event`:
/// one more probe on the tracepoint. Returns the program's and the link's descriptors.
fn attach_idle_raw_tracepoint(event: &str) -> Result<[OwnedFd; 2]> {
    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_RAW_TRACEPOINT_OPEN: libc::c_long = 17;
    const BPF_PROG_TYPE_RAW_TRACEPOINT: u32 = 17;
    // mov64 r0, 0; exit
    let insns: [u64; 2] = [0x0000_0000_0000_00b7, 0x0000_0000_0000_0095];
    let license = c"GPL";
    // union bpf_attr for BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, then zeroes.
    let mut load = [0u8; 128];
    load[0..4].copy_from_slice(&BPF_PROG_TYPE_RAW_TRACEPOINT.to_ne_bytes());
    load[4..8].copy_from_slice(&(insns.len() as u32).to_ne_bytes());
    load[8..16].copy_from_slice(&(insns.as_ptr() as u64).to_ne_bytes());
    load[16..24].copy_from_slice(&(license.as_ptr() as u64).to_ne_bytes());
    let program = bpf(BPF_PROG_LOAD, &load).context("loading an idle raw-tracepoint program")?;
    let name = std::ffi::CString::new(event)?;
    // union bpf_attr for BPF_RAW_TRACEPOINT_OPEN: name, prog_fd.
    let mut open = [0u8; 16];
    open[0..8].copy_from_slice(&(name.as_ptr() as u64).to_ne_bytes());
    open[8..12].copy_from_slice(&std::os::fd::AsRawFd::as_raw_fd(&program).to_ne_bytes());
    let link = bpf(BPF_RAW_TRACEPOINT_OPEN, &open).context("BPF_RAW_TRACEPOINT_OPEN")?;
    Ok([program, link])
}

fn bpf(cmd: libc::c_long, attr: &[u8]) -> Result<OwnedFd> {
    // SAFETY: `attr` is a zero-padded bpf_attr of the size passed; the pointers in it (the
    // instructions, the license, the name) outlive the call.
    let fd = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_ptr(), attr.len()) };
    if fd < 0 {
        bail!("bpf({cmd}): {}", std::io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

fn loopback_tcp_connection() -> Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("listening on lo")?;
    let _client = std::net::TcpStream::connect(listener.local_addr()?).context("connecting")?;
    listener.accept().context("accepting")?;
    Ok(())
}

fn tc(args: &[&str]) -> Result<()> {
    super::process::run(TC, args).map(drop)
}

/// `struct perf_event_attr` up to its first published size (PERF_ATTR_SIZE_VER0, 64 bytes),
/// all the kernel needs for a tracepoint event.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const PERF_TYPE_TRACEPOINT: u32 = 2;
const PERF_ATTR_FLAG_DISABLED: u64 = 1;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// A disabled perf event on `category/name`: opening it registers the tracepoint's perf probe
/// (its key on, its static call set), and later perf users such as roam's eBPF programs only
/// take a reference. Disabled, it records nothing.
fn open_tracepoint_perf_event(tracepoint: &str) -> Result<OwnedFd> {
    let id_path = Path::new(TRACEFS).join("events").join(tracepoint).join("id");
    let id: u64 = fs::read_to_string(&id_path)
        .with_context(|| format!("reading {}", id_path.display()))?
        .trim()
        .parse()
        .with_context(|| format!("{} is not a number", id_path.display()))?;
    let attr = PerfEventAttr {
        kind: PERF_TYPE_TRACEPOINT,
        size: std::mem::size_of::<PerfEventAttr>() as u32,
        config: id,
        sample_period: 1,
        flags: PERF_ATTR_FLAG_DISABLED,
        ..PerfEventAttr::default()
    };
    let (pid, cpu, group_fd) = (-1, 0, -1);
    // SAFETY: `attr` is a valid perf_event_attr of the size it declares and outlives the call.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_perf_event_open,
            &attr as *const PerfEventAttr,
            pid,
            cpu,
            group_fd,
            PERF_FLAG_FD_CLOEXEC,
        )
    };
    if fd < 0 {
        bail!("perf_event_open: {}", std::io::Error::last_os_error());
    }
    // SAFETY: the syscall returned a new file descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Batches of live patches since boot (the `text_poke` kprobe's hit count), if traced.
pub fn patches_so_far() -> Option<u64> {
    let profile = fs::read_to_string(Path::new(TRACEFS).join("kprobe_profile")).ok()?;
    parse_kprobe_hits(&profile, TEXT_POKE_EVENT)
}

/// The hit count of `event` in `kprobe_profile` ("<group>/<event> <hits> <misses>" per line;
/// the kernel prints the event name without its group).
fn parse_kprobe_hits(profile: &str, event: &str) -> Option<u64> {
    let name = event.rsplit('/').next()?;
    profile.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let event_field = fields.next()?;
        (event_field == name || event_field == event).then(|| fields.next()?.parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel takes the idle program and attaches it (the host kernel has raw tracepoints;
    /// the test needs root, as the testbed has in the VM).
    #[test]
    fn an_idle_program_holds_a_tracepoint() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let first = attach_idle_raw_tracepoint("kfree_skb").expect("attached");
        let second = attach_idle_raw_tracepoint("kfree_skb").expect("a second probe");
        assert!(attach_idle_raw_tracepoint("no_such_tracepoint_xyz").is_err());
        drop((first, second));
    }

    #[test]
    fn perf_event_attr_has_the_first_published_size() {
        assert_eq!(std::mem::size_of::<PerfEventAttr>(), 64);
    }

    #[test]
    fn kprobe_hits_are_read_by_event_name() {
        let profile = "  carrier_on                                              12               0\n  \
                       text_poke                                                 79               0\n";
        assert_eq!(parse_kprobe_hits(profile, TEXT_POKE_EVENT), Some(79));
        assert_eq!(parse_kprobe_hits(profile, "roam_testbed/jump_label"), None);
    }
}
