//! The AF_PACKET socket that carries the frame socket filter on a monitor interface.
//!
//! The socket is never read: the filter keeps zero bytes of every frame, so the kernel queues
//! nothing and the agent is not woken per frame. The socket exists only to run the program.

use anyhow::{Context as _, Result};
use aya::programs::SocketFilter;
use socket2::{Socket, Type};

use crate::netif;

/// Opens a packet socket, attaches `filter`, then binds it to `ifindex` for all protocols.
/// Attaching before binding means no frame ever reaches the socket unfiltered.
pub fn attach_to_interface(filter: &SocketFilter, ifindex: u32) -> Result<Socket> {
    let socket = netif::packet_socket(Type::RAW)
        .context("opening an AF_PACKET socket (needs CAP_NET_RAW)")?;
    filter.attach(&socket).context("attaching the frame filter to the packet socket")?;
    netif::bind_packet_socket(&socket, ifindex, libc::ETH_P_ALL as u16)
        .with_context(|| format!("binding the packet socket to interface index {ifindex}"))?;
    Ok(socket)
}
