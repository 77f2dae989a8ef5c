//! What the station's neighbour entries resolved to, and which of them a carrier loss took.
//!
//! Pure bookkeeping over [`NeighbourChange`]s (decoded from rtnetlink by the caller), so the
//! rules are tested without a kernel:
//! - an entry seen valid (REACHABLE, STALE, DELAY, PROBE) is remembered with its link-layer
//!   address;
//! - deleted while valid, it was *flushed* (at carrier loss, `arp_evict_nocarrier`): the book
//!   keeps it, stamped with the time;
//! - an entry that failed on its own (valid to FAILED without a deletion) is not flushed: the
//!   neighbour really stopped answering, and roam does not bring it back;
//! - resolved again, or put back by roam, it is no longer flushed;
//! - it goes back only once confirmed: its neighbour answered through the new AP, and then with
//!   the address that answered.

use std::{collections::HashMap, net::IpAddr};

/// How long a flushed entry is remembered: far longer than any roam, short enough that an
/// entry deleted for good is not put back on a later one.
pub const FLUSHED_KEPT_NS: u64 = 30_000_000_000;

/// One entry's change, as rtnetlink reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NeighbourChange {
    /// Resolved: REACHABLE, STALE, DELAY or PROBE, with its link-layer address.
    Valid { ip: IpAddr, lladdr: Vec<u8> },
    /// INCOMPLETE or FAILED: being resolved, or given up on.
    Unresolved { ip: IpAddr, failed: bool },
    /// Removed from the table.
    Deleted { ip: IpAddr },
}

/// An entry to put back: the address and what it resolved to before the flush.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub ip: IpAddr,
    pub lladdr: Vec<u8>,
}

#[derive(Clone, Debug)]
struct Known {
    lladdr: Vec<u8>,
    valid: bool,
    /// CLOCK_MONOTONIC ns of the deletion that took it while valid.
    flushed_at_ns: Option<u64>,
}

#[derive(Debug, Default)]
pub struct NeighbourBook {
    entries: HashMap<IpAddr, Known>,
}

impl NeighbourBook {
    pub fn observe(&mut self, change: NeighbourChange, now_ns: u64) {
        match change {
            NeighbourChange::Valid { ip, lladdr } => {
                self.entries.insert(ip, Known { lladdr, valid: true, flushed_at_ns: None });
            }
            NeighbourChange::Unresolved { ip, failed } => {
                if let Some(known) = self.entries.get_mut(&ip) {
                    // Failing while still in the table: it stopped answering, not flushed.
                    if failed && known.valid {
                        self.entries.remove(&ip);
                    } else {
                        known.valid = false;
                    }
                }
            }
            NeighbourChange::Deleted { ip } => {
                if let Some(known) = self.entries.get_mut(&ip) {
                    if known.valid {
                        known.valid = false;
                        known.flushed_at_ns = Some(now_ns);
                    }
                    // An entry re-created INCOMPLETE after the flush and deleted again keeps
                    // the first flush's stamp (and address).
                    if known.flushed_at_ns.is_none() {
                        self.entries.remove(&ip);
                    }
                }
            }
        }
        self.forget_before(now_ns.saturating_sub(FLUSHED_KEPT_NS));
    }

    /// The addresses flushed at or after `since_ns` and not resolved again since (the neighbours
    /// to ask), leaving them in place.
    pub fn flushed_since(&self, since_ns: u64) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = self
            .entries
            .iter()
            .filter(|(_, k)| k.flushed_at_ns.is_some_and(|t| t >= since_ns))
            .map(|(ip, _)| *ip)
            .collect();
        out.sort();
        out
    }

    /// What an answer from `ip` at link-layer address `lladdr` confirms of the entries flushed
    /// at or after `since_ns`: `ip`'s own entry, with the address that answered (the neighbour
    /// may be another host now, after a move to another network), and the IPv6 entries that
    /// resolved to that same address before (the same host, e.g. the router's link-local
    /// address, now known to be reachable there). Taking them clears their stamp, so a
    /// transition puts each back once; nothing unconfirmed is ever taken.
    pub fn take_confirmed(&mut self, ip: IpAddr, lladdr: &[u8], since_ns: u64) -> Vec<Neighbour> {
        let mut out: Vec<Neighbour> = self
            .entries
            .iter_mut()
            .filter(|(_, k)| k.flushed_at_ns.is_some_and(|t| t >= since_ns))
            .filter(|(other, k)| **other == ip || (other.is_ipv6() && k.lladdr == lladdr))
            .map(|(other, k)| {
                k.flushed_at_ns = None;
                Neighbour { ip: *other, lladdr: lladdr.to_vec() }
            })
            .collect();
        out.sort_by_key(|n| n.ip);
        out
    }

    /// Number of entries remembered (valid or flushed).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn forget_before(&mut self, cutoff_ns: u64) {
        self.entries.retain(|_, k| k.valid || k.flushed_at_ns.is_some_and(|t| t >= cutoff_ns));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roam_common::MacAddr;

    const GW: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const HOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 7));
    const MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xff, 1]);
    const S: u64 = 1_000_000_000;

    fn valid(ip: IpAddr) -> NeighbourChange {
        NeighbourChange::Valid { ip, lladdr: MAC.0.to_vec() }
    }

    const ROUTER_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1));
    const PRINTER_V6: IpAddr = IpAddr::V6(std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9));
    const OTHER_MAC: MacAddr = MacAddr([2, 0, 0, 0, 0xee, 2]);

    fn flushed(book: &mut NeighbourBook, ip: IpAddr, mac: MacAddr) {
        book.observe(NeighbourChange::Valid { ip, lladdr: mac.0.to_vec() }, 10 * S);
        book.observe(NeighbourChange::Deleted { ip }, 20 * S);
    }

    #[test]
    fn a_confirmed_entry_is_put_back_once_with_the_address_that_answered() {
        let mut book = NeighbourBook::default();
        flushed(&mut book, GW, MAC);
        // Traffic re-creates it INCOMPLETE while the carrier is off.
        book.observe(NeighbourChange::Unresolved { ip: GW, failed: false }, 20 * S + 1);
        assert_eq!(book.flushed_since(19 * S), vec![GW], "looking takes nothing");
        assert_eq!(
            book.take_confirmed(GW, &MAC.0, 19 * S),
            vec![Neighbour { ip: GW, lladdr: MAC.0.to_vec() }]
        );
        assert!(book.take_confirmed(GW, &MAC.0, 19 * S).is_empty(), "once per transition");
        assert!(book.flushed_since(19 * S).is_empty());
    }

    #[test]
    fn a_gateway_that_answers_from_another_address_goes_back_with_that_address() {
        // Another network behind the new AP, its gateway at the same IP: never the old MAC.
        let mut book = NeighbourBook::default();
        flushed(&mut book, GW, MAC);
        flushed(&mut book, ROUTER_V6, MAC);
        let back = book.take_confirmed(GW, &OTHER_MAC.0, 19 * S);
        assert_eq!(back, vec![Neighbour { ip: GW, lladdr: OTHER_MAC.0.to_vec() }]);
        assert_eq!(book.flushed_since(19 * S), vec![ROUTER_V6], "the old router stays out");
    }

    #[test]
    fn ipv6_entries_go_back_only_with_the_neighbour_that_answered() {
        let mut book = NeighbourBook::default();
        flushed(&mut book, GW, MAC);
        flushed(&mut book, ROUTER_V6, MAC);
        flushed(&mut book, PRINTER_V6, OTHER_MAC);
        flushed(&mut book, HOST, MAC);
        let back: Vec<IpAddr> =
            book.take_confirmed(GW, &MAC.0, 19 * S).into_iter().map(|n| n.ip).collect();
        assert_eq!(back, vec![GW, ROUTER_V6], "not another IPv4 host, not another IPv6 host");
        assert_eq!(book.flushed_since(19 * S), vec![HOST, PRINTER_V6]);
    }

    #[test]
    fn only_flushes_since_the_transition_began() {
        let mut book = NeighbourBook::default();
        book.observe(valid(GW), 10 * S);
        book.observe(NeighbourChange::Deleted { ip: GW }, 11 * S);
        assert!(
            book.take_confirmed(GW, &MAC.0, 12 * S).is_empty(),
            "flushed before this transition"
        );
    }

    #[test]
    fn resolved_again_is_not_put_back() {
        let mut book = NeighbourBook::default();
        book.observe(valid(GW), 10 * S);
        book.observe(NeighbourChange::Deleted { ip: GW }, 20 * S);
        book.observe(valid(GW), 21 * S);
        assert!(book.take_confirmed(GW, &MAC.0, 19 * S).is_empty());
    }

    #[test]
    fn an_entry_that_failed_on_its_own_is_not_put_back() {
        let mut book = NeighbourBook::default();
        book.observe(valid(GW), 10 * S);
        book.observe(NeighbourChange::Unresolved { ip: GW, failed: true }, 15 * S);
        book.observe(NeighbourChange::Deleted { ip: GW }, 20 * S);
        assert!(book.take_confirmed(GW, &MAC.0, 0).is_empty());
        assert!(book.is_empty());
    }

    #[test]
    fn a_flushed_entry_that_then_fails_unresolved_is_still_put_back() {
        // Carrier off for seconds: the re-created entry runs out of probes (FAILED), which drops
        // its queue; putting the old address back still saves the next second.
        let mut book = NeighbourBook::default();
        book.observe(valid(GW), 10 * S);
        book.observe(NeighbourChange::Deleted { ip: GW }, 20 * S);
        book.observe(NeighbourChange::Unresolved { ip: GW, failed: false }, 20 * S);
        book.observe(NeighbourChange::Unresolved { ip: GW, failed: true }, 23 * S);
        book.observe(NeighbourChange::Deleted { ip: GW }, 24 * S);
        assert_eq!(book.take_confirmed(GW, &MAC.0, 19 * S).len(), 1);
    }

    #[test]
    fn unknown_and_old_entries_are_forgotten() {
        let mut book = NeighbourBook::default();
        book.observe(NeighbourChange::Deleted { ip: HOST }, S);
        book.observe(NeighbourChange::Unresolved { ip: HOST, failed: false }, S);
        assert!(book.is_empty(), "never seen valid: nothing to put back");
        book.observe(valid(GW), 10 * S);
        book.observe(NeighbourChange::Deleted { ip: GW }, 20 * S);
        book.observe(valid(HOST), 20 * S + FLUSHED_KEPT_NS + 1);
        assert_eq!(book.len(), 1, "the flushed entry aged out");
    }
}
