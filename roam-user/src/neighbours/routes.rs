//! The station's IPv6 default routes learnt from router advertisements, and whether a
//! transition took them.
//!
//! systemd-networkd 256 and later install such a route through a nexthop object, and the kernel
//! deletes a device's nexthops, with every route using them, when its carrier goes off: at every
//! roam. networkd puts the route back only when the router advertises again, unsolicited
//! minutes later, as it keeps its router discovery running across a carrier loss it was told to
//! ignore (`IgnoreCarrierLoss=`). Routes the kernel learns itself, and NetworkManager's, are
//! kept through a carrier loss (marked `linkdown`) and are not affected.
//!
//! [`RouteBook`] is the pure bookkeeping, tested without a kernel; [`RouteFollower`] feeds it
//! from rtnetlink. A nexthop's route is reported with its interface while
//! `net.ipv4.nexthop_compat_mode` is 1, the kernel's default; with it 0 such routes are not
//! followed, and nothing is asked for them.

use std::{collections::BTreeSet, net::Ipv6Addr};

use anyhow::{Context as _, Result};
use netlink_packet_route::{
    route::{RouteAddress, RouteAttribute, RouteMessage, RouteProtocol, RouteType},
    AddressFamily, RouteNetlinkMessage,
};
use netlink_sys::Socket;

use crate::{
    netif::monotonic_ns,
    rtnl::{self, Subscription},
};

/// A default route, told apart from another as the kernel does: by table, metric and router.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DefaultRoute {
    pub table: u32,
    pub metric: u32,
    pub router: Option<Ipv6Addr>,
}

/// A change of one of the interface's advertised IPv6 default routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteChange {
    Added(DefaultRoute),
    Deleted(DefaultRoute),
}

/// Which advertised default routes the interface has, and when it last lost one.
#[derive(Debug, Default)]
pub struct RouteBook {
    present: BTreeSet<DefaultRoute>,
    /// CLOCK_MONOTONIC ns of the latest deletion.
    last_lost_ns: Option<u64>,
}

impl RouteBook {
    pub fn observe(&mut self, change: RouteChange, now_ns: u64) {
        match change {
            RouteChange::Added(route) => {
                self.present.insert(route);
            }
            RouteChange::Deleted(route) => {
                if self.present.remove(&route) {
                    self.last_lost_ns = Some(now_ns);
                }
            }
        }
    }

    /// The table as read whole (after lost notifications): routes it no longer has were lost
    /// now.
    pub fn replace(&mut self, routes: BTreeSet<DefaultRoute>, now_ns: u64) {
        if !self.present.is_subset(&routes) {
            self.last_lost_ns = Some(now_ns);
        }
        self.present = routes;
    }

    /// Whether the interface had an advertised default route, lost it at or after `since_ns`
    /// and has none now: what a router solicitation can bring back.
    pub fn lost_since(&self, since_ns: u64) -> bool {
        self.present.is_empty() && self.last_lost_ns.is_some_and(|at| at >= since_ns)
    }

    pub fn has_default_route(&self) -> bool {
        !self.present.is_empty()
    }
}

/// What a notification says about an advertised IPv6 default route through `ifindex`, if
/// anything: a unicast route to ::/0 that router discovery installed (`proto ra`).
pub fn decode(msg: &RouteNetlinkMessage, ifindex: u32) -> Option<RouteChange> {
    let (deleted, m) = match msg {
        RouteNetlinkMessage::NewRoute(m) => (false, m),
        RouteNetlinkMessage::DelRoute(m) => (true, m),
        _ => return None,
    };
    let route = default_route(m, ifindex)?;
    Some(if deleted { RouteChange::Deleted(route) } else { RouteChange::Added(route) })
}

fn default_route(m: &RouteMessage, ifindex: u32) -> Option<DefaultRoute> {
    let h = &m.header;
    if h.address_family != AddressFamily::Inet6
        || h.destination_prefix_length != 0
        || h.kind != RouteType::Unicast
        || h.protocol != RouteProtocol::Ra
    {
        return None;
    }
    let mut oif = None;
    let mut route = DefaultRoute { table: u32::from(h.table), metric: 0, router: None };
    for attribute in &m.attributes {
        match attribute {
            RouteAttribute::Oif(index) => oif = Some(*index),
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Priority(metric) => route.metric = *metric,
            RouteAttribute::Gateway(RouteAddress::Inet6(router)) => route.router = Some(*router),
            _ => {}
        }
    }
    (oif == Some(ifindex)).then_some(route)
}

/// Follows the advertised IPv6 default routes of one interface.
pub struct RouteFollower {
    changes: Subscription,
    requests: Socket,
    ifindex: u32,
    book: RouteBook,
    seq: u32,
}

impl RouteFollower {
    /// Subscribes first, then reads the table, so no change falls in between.
    pub fn new(ifindex: u32) -> Result<Self> {
        let changes = Subscription::new(&[rtnl::GROUP_IPV6_ROUTE])?;
        let requests = rtnl::request_socket()?;
        let mut follower =
            RouteFollower { changes, requests, ifindex, book: RouteBook::default(), seq: 1 };
        follower.read_table()?;
        Ok(follower)
    }

    pub fn book(&self) -> &RouteBook {
        &self.book
    }

    /// Takes the next notification into the book. Cancel-safe.
    pub async fn next(&mut self) -> Result<()> {
        match self.changes.recv().await? {
            Some(datagram) => {
                self.observe(&datagram);
                Ok(())
            }
            // Notifications were lost: the table now is what the book can know.
            None => self.read_table(),
        }
    }

    /// Takes notifications still queued (the task was busy) into the book.
    pub fn catch_up(&mut self) -> Result<()> {
        loop {
            match self.changes.try_recv() {
                Ok(Some(datagram)) => self.observe(&datagram),
                Ok(None) => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => self.read_table()?,
                Err(e) => return Err(e).context("reading rtnetlink"),
            }
        }
    }

    fn observe(&mut self, datagram: &[u8]) {
        let now = monotonic_ns();
        for msg in rtnl::messages(datagram) {
            if let Some(change) = decode(&msg, self.ifindex) {
                self.book.observe(change, now);
            }
        }
    }

    /// Dumps the IPv6 routes into the book.
    fn read_table(&mut self) -> Result<()> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = AddressFamily::Inet6;
        self.seq = self.seq.wrapping_add(1);
        let mut routes = BTreeSet::new();
        let ifindex = self.ifindex;
        rtnl::dump(
            &mut self.requests,
            RouteNetlinkMessage::GetRoute(msg),
            self.seq,
            "IPv6 route table",
            |inner| {
                if let Some(RouteChange::Added(route)) = decode(&inner, ifindex) {
                    routes.insert(route);
                }
            },
        )?;
        self.book.replace(routes, monotonic_ns());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use netlink_packet_route::route::RouteHeader;

    use super::*;

    const S: u64 = 1_000_000_000;
    const IFINDEX: u32 = 5;

    fn router() -> Ipv6Addr {
        "fe80::ff:fe00:100".parse().unwrap()
    }

    fn route(router: Ipv6Addr) -> DefaultRoute {
        DefaultRoute { table: 254, metric: 1024, router: Some(router) }
    }

    /// `default via <router> dev <oif> proto ra metric 1024`, as the kernel reports it.
    fn message(oif: u32, protocol: RouteProtocol, prefix_len: u8) -> RouteMessage {
        let mut m = RouteMessage::default();
        m.header = RouteHeader {
            address_family: AddressFamily::Inet6,
            destination_prefix_length: prefix_len,
            table: 254,
            protocol,
            kind: RouteType::Unicast,
            ..RouteHeader::default()
        };
        m.attributes = vec![
            RouteAttribute::Table(254),
            RouteAttribute::Priority(1024),
            RouteAttribute::Gateway(RouteAddress::Inet6(router())),
            RouteAttribute::Oif(oif),
        ];
        m
    }

    #[test]
    fn only_advertised_default_routes_of_the_interface_count() {
        let added = RouteNetlinkMessage::NewRoute(message(IFINDEX, RouteProtocol::Ra, 0));
        assert_eq!(decode(&added, IFINDEX), Some(RouteChange::Added(route(router()))));
        let deleted = RouteNetlinkMessage::DelRoute(message(IFINDEX, RouteProtocol::Ra, 0));
        assert_eq!(decode(&deleted, IFINDEX), Some(RouteChange::Deleted(route(router()))));
        let elsewhere = RouteNetlinkMessage::NewRoute(message(IFINDEX + 1, RouteProtocol::Ra, 0));
        assert_eq!(decode(&elsewhere, IFINDEX), None);
        let configured = RouteNetlinkMessage::NewRoute(message(IFINDEX, RouteProtocol::Static, 0));
        assert_eq!(decode(&configured, IFINDEX), None, "a router solicitation cannot restore it");
        let prefix = RouteNetlinkMessage::NewRoute(message(IFINDEX, RouteProtocol::Ra, 64));
        assert_eq!(decode(&prefix, IFINDEX), None);
    }

    #[test]
    fn a_route_lost_in_the_transition_and_not_back_is_what_to_ask_for() {
        let mut book = RouteBook::default();
        book.observe(RouteChange::Added(route(router())), S);
        assert!(!book.lost_since(0), "still there");
        book.observe(RouteChange::Deleted(route(router())), 10 * S);
        assert!(book.lost_since(9 * S));
        assert!(!book.lost_since(11 * S), "lost before the transition: not its doing");
        book.observe(RouteChange::Added(route(router())), 12 * S);
        assert!(!book.lost_since(9 * S), "back");
    }

    #[test]
    fn a_deletion_of_a_route_never_seen_is_no_loss() {
        let mut book = RouteBook::default();
        book.observe(RouteChange::Deleted(route(router())), 10 * S);
        assert!(!book.lost_since(0));
    }

    #[test]
    fn another_router_still_routing_is_no_loss() {
        let other: Ipv6Addr = "fe80::2".parse().unwrap();
        let mut book = RouteBook::default();
        book.observe(RouteChange::Added(route(router())), S);
        book.observe(RouteChange::Added(route(other)), S);
        book.observe(RouteChange::Deleted(route(router())), 10 * S);
        assert!(!book.lost_since(0));
        assert!(book.has_default_route());
    }

    #[test]
    fn a_table_read_after_lost_notifications_counts_what_went_as_lost() {
        let mut book = RouteBook::default();
        book.observe(RouteChange::Added(route(router())), S);
        book.replace(BTreeSet::new(), 10 * S);
        assert!(book.lost_since(10 * S));
        let mut book = RouteBook::default();
        book.replace(BTreeSet::from([route(router())]), 10 * S);
        assert!(!book.lost_since(0), "gained, not lost");
    }
}
