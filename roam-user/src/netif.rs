//! Network interface facts the agent needs: index, namespace.

use roam_common::MacAddr;
use std::{
    io,
    os::{fd::AsRawFd, unix::fs::MetadataExt},
};

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

/// A `sockaddr_ll` for `ifindex` and `protocol` (host order), addressed to `destination`.
pub fn link_address(ifindex: u32, protocol: u16, destination: MacAddr) -> libc::sockaddr_ll {
    // SAFETY: sockaddr_ll is plain data; zero is a valid starting point.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = protocol.to_be();
    addr.sll_ifindex = ifindex as i32;
    addr.sll_halen = 6;
    addr.sll_addr[..6].copy_from_slice(&destination.0);
    addr
}

/// Binds an AF_PACKET socket to `ifindex`, receiving `protocol` (host order).
pub fn bind_packet_socket(socket: &impl AsRawFd, ifindex: u32, protocol: u16) -> io::Result<()> {
    let addr = link_address(ifindex, protocol, MacAddr::UNSET);
    // SAFETY: addr is a valid sockaddr_ll of the size passed.
    let rc = unsafe {
        libc::bind(
            socket.as_raw_fd(),
            &addr as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
