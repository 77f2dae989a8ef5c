//! The station's link on a real veth pair, as the liveness check reads it: every frame the
//! station receives shows its AP alive (TC ingress notes when), and what it sends into silence
//! wakes the agent to ask the AP, once per quiet spell (TC egress).

use std::{net::UdpSocket, time::Duration};

use anyhow::{ensure, Context as _, Result};
use integration_test::{in_netns, ip, veth_pair};
use roam_common::{
    event::EventKind,
    maps::{LinkActivity, LinkConfig},
    MacAddr,
};
use roam_user::{
    ebpf::{Observer, ObserverOptions},
    netif,
};

const STATION: &str = "roamsta7";
const PEER: &str = "roamap7";
const GATEWAY: &str = "10.76.0.2";
const QUIET: Duration = Duration::from_millis(30);
const MS: u64 = 1_000_000;

fn mac_of(iface: &str) -> Result<MacAddr> {
    let text = std::fs::read_to_string(format!("/sys/class/net/{iface}/address"))?;
    Ok(text.trim().parse()?)
}

/// The hints (TxUnanswered events) among what the kernel queued, with their `value`.
fn hints(observer: &mut roam_user::ebpf::events::EventReader) -> Vec<u64> {
    observer
        .drain()
        .into_iter()
        .filter(|ev| ev.kind() == Some(EventKind::TxUnanswered))
        .map(|ev| ev.value)
        .collect()
}

#[test]
fn sending_into_silence_hints_once_per_quiet_spell_and_receiving_is_hearing() -> Result<()> {
    in_netns(|| {
        veth_pair(STATION, "10.76.0.1/24", PEER)?;
        // The gateway's address resolves to the peer at once: the datagrams leave, unanswered.
        let peer_mac = mac_of(PEER)?.to_string();
        ip(&[
            "neigh",
            "replace",
            GATEWAY,
            "lladdr",
            &peer_mac,
            "dev",
            STATION,
            "nud",
            "permanent",
        ])?;
        let mut observer =
            Observer::start(&ObserverOptions { station: STATION.into(), monitor: None })?;
        for program in ["roam_egress", "roam_ingress"] {
            ensure!(observer.report().is_attached(program), "{program}:\n{}", observer.report());
        }
        let mut events = observer.take_events()?;
        let socket = UdpSocket::bind("10.76.0.1:0")?;
        let send = |n: u32| {
            for i in 0..n {
                socket.send_to(&i.to_be_bytes(), (GATEWAY, 9)).expect("sent");
            }
        };

        // The agent just heard from the AP (an acknowledged probe): no hint within the spell.
        let acked_at = netif::monotonic_ns();
        observer.set_link_config(&LinkConfig {
            quiet_ns: QUIET.as_nanos() as u64,
            alive_ns: acked_at,
        })?;
        send(3);
        ensure!(hints(&mut events).is_empty(), "a hint within the quiet spell");

        // The spell passes with nothing from the AP (the time passing is what is tested): the
        // next packets sent hint once, not once each.
        std::thread::sleep(QUIET + Duration::from_millis(5));
        send(5);
        let first = hints(&mut events);
        ensure!(first.len() == 1, "one hint for a burst sent into silence, got {first:?}");
        ensure!(first[0] >= 30 * MS, "the hint says how long the AP was silent: {first:?}");

        // A frame from the AP's side arrives: the ingress program notes it.
        let before = observer.link_activity()?;
        inject_from_peer(&mac_of(STATION)?)?;
        let after = wait_for(&observer, |a| a.last_rx_ns > before.last_rx_ns)?;
        ensure!(
            after.last_rx_ns >= acked_at,
            "heard at {} (acked at {acked_at})",
            after.last_rx_ns
        );
        // Heard just now: sending is not sending into silence.
        send(3);
        ensure!(hints(&mut events).is_empty(), "a hint right after a frame was heard");
        Ok(())
    })
}

/// Polls the activity map (the kernel program writes it without an event) for up to a second.
fn wait_for(observer: &Observer, done: impl Fn(&LinkActivity) -> bool) -> Result<LinkActivity> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let activity = observer.link_activity()?;
        if done(&activity) || std::time::Instant::now() >= deadline {
            return Ok(activity);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// One Ethernet frame onto the peer's end of the pair, addressed to the station.
fn inject_from_peer(station: &MacAddr) -> Result<()> {
    let socket = netif::packet_socket(socket2::Type::DGRAM).context("packet socket")?;
    let to = netif::link_address(netif::ifindex(PEER)?, 0x88b5, *station);
    socket.send_to(&[0u8; 16], &to).context("sending from the peer")?;
    Ok(())
}
