//! Carrier changes through rtnetlink: the agent's path where kprobes on netif_carrier_off/on are
//! not available. Notifications arrive after linkwatch has processed the change.

use std::{
    os::fd::{AsRawFd, BorrowedFd},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::{link::LinkAttribute, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// rtnetlink multicast group of link changes (RTNLGRP_LINK).
const RTNLGRP_LINK: u32 = 1;

/// Subscribed to link notifications from construction on, so no change is missed between
/// reading the current state and waiting for the next one.
pub struct LinkWatcher {
    socket: Socket,
}

impl LinkWatcher {
    pub fn new() -> Result<Self> {
        let mut socket = Socket::new(NETLINK_ROUTE).context("opening an rtnetlink socket")?;
        socket.bind(&SocketAddr::new(0, 0)).context("binding the rtnetlink socket")?;
        socket.add_membership(RTNLGRP_LINK).context("joining the rtnetlink link group")?;
        Ok(Self { socket })
    }

    /// Waits until a notification reports `ifindex`'s carrier as `up`.
    pub fn wait_carrier(&mut self, ifindex: u32, up: bool, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!(
                    "carrier of interface {ifindex} did not go {} within {timeout:?}",
                    if up { "up" } else { "down" }
                );
            }
            if let Some(carrier) = self.next_carrier(ifindex, left)? {
                if carrier == up {
                    return Ok(());
                }
            }
        }
    }

    /// The carrier state in the next link notification about `ifindex`, if one arrives in time.
    pub fn next_carrier(&mut self, ifindex: u32, timeout: Duration) -> Result<Option<bool>> {
        // SAFETY: the socket outlives this borrow.
        let fd = unsafe { BorrowedFd::borrow_raw(self.socket.as_raw_fd()) };
        let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
        if poll(&mut [PollFd::new(fd, PollFlags::POLLIN)], PollTimeout::from(ms))? == 0 {
            return Ok(None);
        }
        let (buf, _) = self.socket.recv_from_full().context("reading rtnetlink")?;
        Ok(carrier_in(&buf, ifindex))
    }
}

/// Carrier of `ifindex` from the RTM_NEWLINK messages in a datagram.
pub fn carrier_in(mut buf: &[u8], ifindex: u32) -> Option<bool> {
    let mut found = None;
    while !buf.is_empty() {
        let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(buf) else { break };
        let len = msg.header.length as usize;
        if let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = &msg.payload {
            if link.header.index == ifindex {
                found = link.attributes.iter().find_map(|a| match a {
                    LinkAttribute::Carrier(c) => Some(*c != 0),
                    _ => None,
                });
            }
        }
        if len == 0 || len > buf.len() {
            break;
        }
        buf = &buf[len..];
    }
    found
}
