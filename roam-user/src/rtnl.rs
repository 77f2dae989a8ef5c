//! rtnetlink plumbing shared by the carrier and neighbour followers: a socket subscribed to
//! multicast groups, awaited without a thread, and the messages of one datagram.

use std::io;

use anyhow::{bail, Context as _, Result};
use netlink_packet_core::{
    NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_REQUEST,
};
use netlink_packet_route::{
    tc::{TcAttribute, TcHandle, TcMessage},
    RouteNetlinkMessage,
};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use tokio::io::unix::AsyncFd;

use crate::netlink_answer::{answer, Answer};

/// RTNLGRP_LINK: link changes (carrier among them).
pub const GROUP_LINK: u32 = 1;
/// RTNLGRP_NEIGH: neighbour (ARP/NDP) entries created, changed, deleted.
pub const GROUP_NEIGH: u32 = 3;
/// RTNLGRP_IPV6_ROUTE: IPv6 routes added and deleted.
pub const GROUP_IPV6_ROUTE: u32 = 11;

/// A blocking socket for requests, bound to a port of its own.
pub fn request_socket() -> Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE).context("opening an rtnetlink socket")?;
    socket.bind(&SocketAddr::new(0, 0)).context("binding the rtnetlink socket")?;
    Ok(socket)
}

/// A blocking socket bound and joined to `groups`.
pub fn subscribe(groups: &[u32]) -> Result<Socket> {
    let socket = request_socket()?;
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

/// Sends `request` as a dump on `socket` (a blocking request socket) and hands each message of
/// the answer to `each`, until the kernel's end of it; `what` names the table in errors.
pub fn dump(
    socket: &mut Socket,
    request: RouteNetlinkMessage,
    seq: u32,
    what: &str,
    mut each: impl FnMut(RouteNetlinkMessage),
) -> Result<()> {
    let request = serialize(request, NLM_F_REQUEST | NLM_F_DUMP, seq);
    socket.send(&request, 0).with_context(|| format!("asking for the {what}"))?;
    loop {
        let (buf, _) = socket.recv_from_full().with_context(|| format!("reading the {what}"))?;
        let mut rest = &buf[..];
        while !rest.is_empty() {
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                .with_context(|| format!("decoding the {what}"))?;
            let len = (msg.header.length as usize).next_multiple_of(4).min(rest.len());
            match msg.payload {
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(e) => bail!("dumping the {what}: {e}"),
                NetlinkPayload::InnerMessage(inner) => each(inner),
                _ => {}
            }
            if len == 0 {
                break;
            }
            rest = &rest[len..];
        }
    }
}

/// One rtnetlink message, ready to send.
pub fn serialize(inner: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

/// `RTM_DELQDISC` of the clsact qdisc of interface `ifindex` (and with it every filter on it),
/// as `tc qdisc del dev IFACE clsact` sends it: parent `ffff:fff1`, handle `ffff:0`.
pub fn delete_clsact_request(ifindex: u32, seq: u32) -> Vec<u8> {
    let mut msg = TcMessage::default();
    msg.header.index = ifindex as i32;
    msg.header.parent = TcHandle::CLSACT;
    msg.header.handle = TcHandle { major: u16::MAX, minor: 0 };
    msg.attributes.push(TcAttribute::Kind("clsact".into()));
    serialize(RouteNetlinkMessage::DelQueueDiscipline(msg), NLM_F_REQUEST | NLM_F_ACK, seq)
}

/// Deletes the clsact qdisc of `ifindex`. Blocking (it runs as the agent exits); the kernel
/// answers within the send.
pub fn delete_clsact(ifindex: u32) -> Result<()> {
    let socket = request_socket()?;
    socket.send(&delete_clsact_request(ifindex, 1), 0).context("sending RTM_DELQDISC")?;
    let (reply, _) = socket.recv_from_full().context("reading the RTM_DELQDISC answer")?;
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply)
        .context("decoding the kernel's answer")?;
    match answer(&msg.payload) {
        Answer::Done => Ok(()),
        Answer::Failed(errno) => bail!("RTM_DELQDISC: {}", io::Error::from(errno)),
        Answer::Other => bail!("RTM_DELQDISC: unexpected answer {:?}", msg.payload),
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::tc::TcAttribute;

    use super::*;

    #[test]
    fn the_clsact_deletion_is_what_tc_sends() {
        let request = delete_clsact_request(7, 3);
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&request).unwrap();
        assert_eq!(msg.header.flags, NLM_F_REQUEST | NLM_F_ACK);
        let NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelQueueDiscipline(tc)) = msg.payload
        else {
            panic!("not RTM_DELQDISC: {:?}", msg.payload)
        };
        assert_eq!(tc.header.index, 7);
        assert_eq!((tc.header.parent.major, tc.header.parent.minor), (0xffff, 0xfff1));
        assert_eq!((tc.header.handle.major, tc.header.handle.minor), (0xffff, 0));
        assert_eq!(tc.attributes, vec![TcAttribute::Kind("clsact".into())]);
    }
}
