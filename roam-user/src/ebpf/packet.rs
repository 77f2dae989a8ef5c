//! The AF_PACKET socket that carries the frame socket filter on a monitor interface.
//!
//! The socket is never read: the filter keeps zero bytes of every frame, so the kernel queues
//! nothing and the agent is not woken per frame. The socket exists only to run the program.

use std::{
    io,
    os::fd::{FromRawFd, OwnedFd},
};

use anyhow::{Context as _, Result};
use aya::programs::SocketFilter;

/// Opens a packet socket, attaches `filter`, then binds it to `ifindex` for all protocols.
/// Attaching before binding means no frame ever reaches the socket unfiltered.
pub fn attach_to_interface(filter: &SocketFilter, ifindex: u32) -> Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked and owned right away.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error())
            .context("opening an AF_PACKET socket (needs CAP_NET_RAW)");
    }
    // SAFETY: fd is a fresh, valid descriptor that nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    filter.attach(&socket).context("attaching the frame filter to the packet socket")?;

    crate::netif::bind_packet_socket(&socket, ifindex, libc::ETH_P_ALL as u16)
        .with_context(|| format!("binding the packet socket to interface index {ifindex}"))?;
    Ok(socket)
}
