//! The agent's carrier events through rtnetlink (its path where kprobes cannot attach, as on
//! this host): a veth pair's peer goes down and up; only carrier changes are events.

use std::time::Duration;

use anyhow::{Context as _, Result};
use integration_test::{in_netns, ip, veth_pair};
use roam_user::{
    carrier::{carrier_now, CarrierEvents},
    netif,
};

const STATION: &str = "roamsta0";
const PEER: &str = "roamap0";
/// A bound on waiting, not a synchronisation: the events are awaited.
const EVENT_WAIT: Duration = Duration::from_secs(5);

async fn next(carrier: &mut CarrierEvents) -> Result<bool> {
    tokio::time::timeout(EVENT_WAIT, carrier.next()).await.context("no carrier event in time")?
}

#[test]
fn carrier_changes_are_events_and_other_link_changes_are_not() -> Result<()> {
    in_netns(|| {
        veth_pair(STATION, "10.78.0.1/24", PEER)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let mut carrier = CarrierEvents::new(STATION, netif::ifindex(STATION)?)?;
            assert_eq!(carrier_now(STATION), Some(true));
            // A link change that is not the carrier's: notified by the kernel, not an event.
            ip(&["link", "set", STATION, "mtu", "1400"])?;
            ip(&["link", "set", PEER, "down"])?;
            assert!(!next(&mut carrier).await?, "the first event is the carrier loss");
            ip(&["link", "set", PEER, "up"])?;
            assert!(next(&mut carrier).await?, "then its return");
            Ok(())
        })
    })
}
