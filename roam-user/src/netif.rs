//! Network interface facts the agent needs (index, namespace, the clock of its timestamps)
//! and the packet sockets it opens on them.

use std::{io, os::unix::fs::MetadataExt};

use anyhow::{Context as _, Result};
use roam_common::MacAddr;
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

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

/// An AF_PACKET socket of type `ty` (`Type::DGRAM`: the kernel writes the link header;
/// `Type::RAW`: the caller does), protocol 0 so that it hears nothing until bound,
/// non-blocking and close-on-exec. Needs CAP_NET_RAW.
pub fn packet_socket(ty: Type) -> io::Result<Socket> {
    let socket = Socket::new(Domain::PACKET, ty, None)?;
    socket.set_nonblocking(true)?;
    Ok(socket)
}

/// The link-layer address of `destination` on `ifindex`, for `protocol` (host order).
pub fn link_address(ifindex: u32, protocol: u16, destination: MacAddr) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_ll, and all zeroes is
    // a valid one to start from.
    let address = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    address.sll_family = libc::AF_PACKET as u16;
    address.sll_protocol = protocol.to_be();
    address.sll_ifindex = ifindex as i32;
    address.sll_halen = 6;
    address.sll_addr[..6].copy_from_slice(&destination.0);
    let length = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds a sockaddr_ll (family AF_PACKET) of that length.
    unsafe { SockAddr::new(storage, length) }
}

/// Binds an AF_PACKET socket to `ifindex`, receiving `protocol` (host order).
pub fn bind_packet_socket(socket: &Socket, ifindex: u32, protocol: u16) -> io::Result<()> {
    socket.bind(&link_address(ifindex, protocol, MacAddr::UNSET))
}
