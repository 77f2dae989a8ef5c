//! Network interface facts the agent needs: index, namespace.

use std::os::unix::fs::MetadataExt;

use anyhow::{Context as _, Result};

/// The index of `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> Result<u32> {
    nix::net::if_::if_nametoindex(name).with_context(|| {
        format!("interface {name} does not exist in this network namespace (see `ip link`; for another namespace use `ip netns exec NS roam ...`)")
    })
}

/// Inode number of the calling thread's network namespace: with the ifindex it names an
/// interface uniquely on the machine.
pub fn netns_inode() -> Result<u32> {
    let meta = std::fs::metadata("/proc/thread-self/ns/net")
        .context("reading /proc/thread-self/ns/net")?;
    Ok(meta.ino() as u32)
}

/// CLOCK_MONOTONIC in nanoseconds: the clock bpf_ktime_get_ns() reads.
pub fn monotonic_ns() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .expect("CLOCK_MONOTONIC exists");
    ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
}
