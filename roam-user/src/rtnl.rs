//! rtnetlink plumbing shared by the carrier and neighbour followers: a socket subscribed to
//! multicast groups, awaited without a thread, and the messages of one datagram.

use std::io;

use anyhow::{Context as _, Result};
use netlink_packet_core::{NetlinkBuffer, NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use tokio::io::unix::AsyncFd;

/// RTNLGRP_LINK: link changes (carrier among them).
pub const GROUP_LINK: u32 = 1;
/// RTNLGRP_NEIGH: neighbour (ARP/NDP) entries created, changed, deleted.
pub const GROUP_NEIGH: u32 = 3;

/// A blocking socket bound and joined to `groups`.
pub fn subscribe(groups: &[u32]) -> Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE).context("opening an rtnetlink socket")?;
    socket.bind(&SocketAddr::new(0, 0)).context("binding the rtnetlink socket")?;
    for &group in groups {
        socket
            .add_membership(group)
            .with_context(|| format!("joining rtnetlink multicast group {group}"))?;
    }
    Ok(socket)
}

/// Notifications of some groups, awaited on the tokio reactor.
pub struct Subscription {
    socket: AsyncFd<Socket>,
}

impl Subscription {
    pub fn new(groups: &[u32]) -> Result<Self> {
        let socket = subscribe(groups)?;
        socket.set_non_blocking(true).context("making the rtnetlink socket non-blocking")?;
        // SAFETY: the AsyncFd owns the socket, so its descriptor stays open while registered.
        let socket = unsafe { AsyncFd::register(socket) }
            .map_err(|e| e.into_parts().1)
            .context("registering the rtnetlink socket")?;
        Ok(Self { socket })
    }

    /// The next datagram. Cancel-safe: a datagram is taken from the socket only in the poll
    /// that returns it. `None` when the kernel dropped notifications (ENOBUFS: the receive
    /// queue overflowed), so the caller can re-read the state it follows.
    pub async fn recv(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            let mut guard = self.socket.readable().await?;
            match guard.try_io(|s| s.get_ref().recv_from_full().map(|(buf, _)| buf)) {
                Ok(Ok(buf)) => return Ok(Some(buf)),
                Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => return Ok(None),
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e).context("reading rtnetlink"),
                Err(_would_block) => {}
            }
        }
    }
}

impl Subscription {
    /// A datagram already queued, without waiting: `Ok(None)` when there is none, `Err` with
    /// ENOBUFS when notifications were lost.
    pub fn try_recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self.socket.get_ref().recv_from_full() {
            Ok((buf, _)) => Ok(Some(buf)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The rtnetlink messages in one datagram (a datagram may carry several); undecodable ones
/// (a newer kernel's attributes the crate cannot parse) are skipped.
pub fn messages(mut buf: &[u8]) -> Vec<RouteNetlinkMessage> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let Ok(framing) = NetlinkBuffer::new_checked(buf) else { break };
        let len = framing.length() as usize;
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..len]) {
            if let NetlinkPayload::InnerMessage(inner) = msg.payload {
                out.push(inner);
            }
        }
        // Messages are 4-byte aligned within a datagram.
        buf = &buf[len.next_multiple_of(4).min(buf.len())..];
    }
    out
}
