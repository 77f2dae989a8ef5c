//! Carrier changes through rtnetlink: the agent's path where kprobes on netif_carrier_off/on are
//! not available ([`CarrierEvents`]), and the tests' way to wait for a carrier ([`LinkWatcher`]).
//!
//! Notifications arrive after linkwatch has processed the change: a carrier loss can be up to a
//! second late, so a drop window opened from here opens later than with the kprobes. What it
//! counts stays right: packets sent after the real loss are dropped by the kernel, and the
//! window subtracts drops from what was sent (`roam_common::history`).

use std::{
    os::fd::{AsRawFd, BorrowedFd},
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use netlink_packet_route::{link::LinkAttribute, RouteNetlinkMessage};
use netlink_sys::Socket;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::rtnl::{self, Subscription};

/// The carrier of `iface` now (`/sys/class/net/<iface>/carrier`); `None` if the interface is
/// administratively down (the kernel then refuses the read) or gone.
pub fn carrier_now(iface: &str) -> Option<bool> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/carrier")).ok()?;
    Some(text.trim() == "1")
}

/// The agent's carrier events: up/down transitions of one interface, awaited on the socket.
pub struct CarrierEvents {
    links: Subscription,
    iface: String,
    ifindex: u32,
    /// The last state reported (or read at start): link notifications come for many reasons
    /// (flags, MTU, statistics), and only a change of carrier is an event.
    carrier: Option<bool>,
}

impl CarrierEvents {
    /// Subscribes first and reads the current state after, so no change falls in between.
    pub fn new(iface: &str, ifindex: u32) -> Result<Self> {
        let links = Subscription::new(&[rtnl::GROUP_LINK])?;
        Ok(CarrierEvents { links, iface: iface.to_owned(), ifindex, carrier: carrier_now(iface) })
    }

    /// The next change of carrier: `true` when it came up. Cancel-safe.
    pub async fn next(&mut self) -> Result<bool> {
        loop {
            let up = match self.links.recv().await? {
                Some(buf) => carrier_in(&buf, self.ifindex),
                // Notifications were lost: the state now says whether one was a change.
                None => carrier_now(&self.iface),
            };
            if let Some(up) = up {
                if self.carrier.replace(up) != Some(up) {
                    return Ok(up);
                }
            }
        }
    }
}

/// Subscribed to link notifications from construction on, so no change is missed between
/// reading the current state and waiting for the next one.
pub struct LinkWatcher {
    socket: Socket,
}

impl LinkWatcher {
    pub fn new() -> Result<Self> {
        Ok(Self { socket: rtnl::subscribe(&[rtnl::GROUP_LINK])? })
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

/// Carrier of `ifindex` from the RTM_NEWLINK messages in a datagram (the last one wins).
pub fn carrier_in(buf: &[u8], ifindex: u32) -> Option<bool> {
    rtnl::messages(buf).iter().rev().find_map(|msg| match msg {
        RouteNetlinkMessage::NewLink(link) if link.header.index == ifindex => {
            link.attributes.iter().find_map(|a| match a {
                LinkAttribute::Carrier(c) => Some(*c != 0),
                _ => None,
            })
        }
        _ => None,
    })
}
