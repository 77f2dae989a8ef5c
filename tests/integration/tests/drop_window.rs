//! The drop window on a real veth pair: the peer goes down, the station side loses its carrier,
//! and what the stack then tries to send is counted by the TC egress and kfree_skb programs
//! (sent, dropped by reason) or by the neighbour tracepoints (held on an unresolved entry).

use std::{net::UdpSocket, time::Duration};

use anyhow::{ensure, Context as _, Result};
use integration_test::{in_netns, ip, veth_pair};
use roam_common::{history, maps::WindowCounters};
use roam_user::{
    carrier::LinkWatcher,
    ebpf::{Observer, ObserverOptions},
    netif,
};

const STATION: &str = "roamsta0";
const PEER: &str = "roamap0";
const GATEWAY: &str = "10.77.0.2";
const CARRIER_WAIT: Duration = Duration::from_secs(5);

fn send(socket: &UdpSocket, n: usize) {
    for i in 0..n {
        // With the carrier off, UDP reports success or ENOBUFS depending on IP_RECVERR; either
        // way the datagram was handed to the stack, which is what the window must account.
        let _ = socket.send_to(&(i as u32).to_be_bytes(), (GATEWAY, 9));
    }
}

/// Waits for a new history slot (spinning at most one slot, ~1 ms) and returns its start. A
/// burst sent between two such starts `a` and `b` is what the history counts after `a - 1` (a
/// peer heard in the slot before) and before `b`.
fn slot_boundary() -> u64 {
    let start = netif::monotonic_ns() >> history::SLOT_SHIFT;
    loop {
        let slot = netif::monotonic_ns() >> history::SLOT_SHIFT;
        if slot != start {
            return slot << history::SLOT_SHIFT;
        }
    }
}

/// Sets up the pair, starts the observer, takes the peer down and opens the window the way the
/// agent does when carrier comes from rtnetlink.
fn carrier_lost(
    observer_station: &str,
    static_gateway: bool,
) -> Result<(Observer, UdpSocket, u32)> {
    veth_pair(STATION, "10.77.0.1/24", PEER)?;
    if static_gateway {
        let mac = std::fs::read_to_string(format!("/sys/class/net/{PEER}/address"))?;
        ip(&[
            "neigh",
            "replace",
            GATEWAY,
            "lladdr",
            mac.trim(),
            "dev",
            STATION,
            "nud",
            "permanent",
        ])?;
    }
    let ifindex = netif::ifindex(STATION)?;
    let mut links = LinkWatcher::new()?;
    let observer =
        Observer::start(&ObserverOptions { station: observer_station.into(), monitor: None })?;
    for program in ["roam_egress", "roam_kfree_skb", "roam_neigh_send_done", "roam_neigh_create"] {
        ensure!(
            observer.report().is_attached(program),
            "{program} not attached:\n{}",
            observer.report()
        );
    }
    let socket = UdpSocket::bind("10.77.0.1:0")?;
    ip(&["link", "set", PEER, "down"])?;
    links.wait_carrier(ifindex, false, CARRIER_WAIT)?;
    Ok((observer, socket, ifindex))
}

#[test]
fn sends_during_the_window_are_counted_as_sent_and_dropped_with_reasons() -> Result<()> {
    in_netns(|| {
        let (mut observer, socket, ifindex) = carrier_lost(STATION, true)?;
        let start = observer.window_counters()?;
        send(&socket, 5);
        assert_eq!(observer.window_counters()?, start, "a closed window counts nothing");

        ensure!(observer.open_window(netif::monotonic_ns())?, "window was already open");
        let drops_before: u64 = observer.drop_reasons()?.iter().map(|(_, n)| n).sum();
        const IN_WINDOW: u64 = 20;
        let before = slot_boundary();
        send(&socket, IN_WINDOW as usize);
        let after = slot_boundary();
        observer.close_window()?;
        assert_eq!(
            observer.transmitted_after(before - 1, after)?,
            0,
            "every datagram was dropped: none reached the peer"
        );

        let w = observer.window_counters()?.since(&start);
        assert_eq!(w.tx_packets, IN_WINDOW, "{w:?}");
        assert_eq!(w.dropped_packets, IN_WINDOW, "{w:?}");
        assert_eq!(w.held_packets, 0, "the gateway's entry is static: nothing waits on ARP");
        assert!(w.tx_bytes >= IN_WINDOW * (20 + 8 + 4), "{w:?}");
        let reasons = observer.drop_reasons()?;
        let dropped: u64 = reasons.iter().map(|(_, n)| n).sum::<u64>() - drops_before;
        assert_eq!(dropped, IN_WINDOW, "drops by reason {reasons:?}");
        let names = observer.drop_reason_names();
        let named: Vec<_> =
            reasons.iter().map(|(r, n)| (names.get(r).map_or("?", String::as_str), n)).collect();
        assert!(
            named.iter().all(|(name, _)| *name != "?"),
            "the kernel's BTF names every drop reason counted: {named:?}"
        );
        eprintln!("drop window: {w:?}, reasons {named:?}");

        // Carrier back, window closed: traffic is not counted any more.
        let mut links = LinkWatcher::new()?;
        ip(&["link", "set", PEER, "up"])?;
        links.wait_carrier(ifindex, true, CARRIER_WAIT)?;
        let closed = observer.window_counters()?;
        let before = slot_boundary();
        send(&socket, 5);
        let after = slot_boundary();
        assert_eq!(observer.window_counters()?, closed);
        // The egress history keeps counting with the window closed: that is how the agent
        // learns, after the fact, what went out into a silent AP before it noticed.
        assert_eq!(observer.transmitted_after(before - 1, after)?, 5);
        Ok(())
    })
}

#[test]
fn sends_to_an_unresolved_gateway_are_held_not_dropped() -> Result<()> {
    in_netns(|| {
        let (mut observer, socket, _) = carrier_lost(STATION, false)?;
        let start = observer.window_counters()?;
        observer.open_window(netif::monotonic_ns())?;
        const IN_WINDOW: u64 = 3;
        send(&socket, IN_WINDOW as usize);
        observer.close_window()?;
        let w: WindowCounters = observer.window_counters()?.since(&start);
        // The first datagram creates the gateway's entry (incomplete); all three wait in its
        // queue for an ARP answer that cannot come while the carrier is off.
        assert_eq!(w.neigh_created, 1, "{w:?}");
        assert_eq!(w.held_packets, IN_WINDOW, "{w:?}");
        // What reaches the device is the ARP request: link control, neither sent nor dropped
        // data as far as the window is concerned.
        assert_eq!(w.tx_packets, 0, "{w:?}");
        assert_eq!(w.dropped_packets, 0, "{w:?}");
        Ok(())
    })
}

#[test]
fn another_namespace_with_the_same_ifindex_is_not_counted() -> Result<()> {
    // The station is observed here; an interface with the same name and index in a second
    // namespace drops packets too. Only the station's namespace counts.
    in_netns(|| {
        let (mut observer, _socket, ifindex) = carrier_lost(STATION, true)?;
        let start = observer.window_counters()?;
        observer.open_window(netif::monotonic_ns())?;
        let other = in_netns(move || {
            let (_observer, socket, other_ifindex) = carrier_lost("lo", true)?;
            send(&socket, 10);
            Ok(other_ifindex)
        })?;
        observer.close_window()?;
        let w = observer.window_counters()?.since(&start);
        ensure!(
            other == ifindex,
            "the namespaces gave different ifindexes ({other} vs {ifindex}); test premise broken"
        );
        assert_eq!(w.dropped_packets, 0, "drops in the other namespace leaked in: {w:?}");
        Ok(())
    })
    .context("namespace isolation")
}
