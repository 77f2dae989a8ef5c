//! The neighbour task: at each port opening of a transition it asks the neighbours the
//! transition flushed (ARP for IPv4, neighbour solicitations for IPv6) and puts back what each
//! answer confirms, or leaves the rest to the kernel after [`CONFIRM_LIMIT`].

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
    time::Duration,
};

use anyhow::Result;
use roam_common::MacAddr;
use tokio::{
    sync::{mpsc, watch},
    time::Instant,
};
use tracing::warn;

use super::{
    arp, ArpExchange, ArpProber, Confirmation, NdExchange, NdProber, Neighbour, NeighbourFollower,
    PathNews, PortOpened, PutBackPlan, Restored,
};
use crate::netif::monotonic_ns;

/// How often to ask again while the neighbour does not answer through the new AP yet.
const ASK_RETRY: Duration = Duration::from_millis(5);
/// How long the neighbours are asked; what has not answered by then is left to the kernel's own
/// resolution (its retry comes after `retrans_time`, 1 s).
const CONFIRM_LIMIT: Duration = Duration::from_millis(500);

/// A port opening whose flushed neighbours are being asked.
struct Pending<'p> {
    port: PortOpened,
    since_ns: u64,
    /// None when there is nothing (more) to ask.
    asking: Option<Asking<'p>>,
    next_request: Instant,
    give_up: Instant,
    /// The first neighbour that answered.
    first_answer: Option<IpAddr>,
    /// What the answers confirmed and roam put back.
    put_back: Vec<Neighbour>,
    /// The first failure to put an entry back.
    error: Option<anyhow::Error>,
}

/// What asks the flushed neighbours: ARP for IPv4, neighbour discovery for IPv6 (either may
/// be missing: nothing of that family is then put back).
#[derive(Default)]
pub struct Probers {
    pub arp: Option<ArpProber>,
    pub nd: Option<NdProber>,
}

/// A flushed neighbour being asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// With the station address the request is sent from.
    V4 { ip: Ipv4Addr, source: Ipv4Addr },
    /// The kernel picks the source (the station's link-local address).
    V6 { ip: Ipv6Addr },
}

impl Target {
    fn ip(self) -> IpAddr {
        match self {
            Target::V4 { ip, .. } => IpAddr::V4(ip),
            Target::V6 { ip } => IpAddr::V6(ip),
        }
    }
}

/// The flushed neighbours being asked, and the sockets asking them.
struct Asking<'p> {
    targets: Vec<Target>,
    arp: Option<ArpExchange<'p>>,
    nd: Option<NdExchange<'p>>,
}

fn confirmation_by(first: IpAddr) -> Confirmation {
    match first {
        IpAddr::V4(ip) => Confirmation::ArpReply(ip),
        IpAddr::V6(ip) => Confirmation::NeighbourAdvertisement(ip),
    }
}

impl Pending<'_> {
    fn next_wakeup(&self) -> Instant {
        if self.asking.is_none() {
            self.give_up
        } else {
            self.next_request.min(self.give_up)
        }
    }
}

/// Runs `follower` on a task of its own, so putting entries back waits for nothing else the
/// agent does: it follows the table and, at every port opening during a transition (`plan`:
/// none outside one), asks the flushed neighbours through `probers` and puts back what each
/// answer confirms. Reports go to `restored`, and whether the path works to `path` as soon as
/// it is known; the task ends when the agent drops its ends of the channels.
pub fn spawn(
    mut follower: NeighbourFollower,
    probers: Probers,
    mut opened: mpsc::UnboundedReceiver<PortOpened>,
    plan: watch::Receiver<Option<PutBackPlan>>,
    restored: mpsc::UnboundedSender<Restored>,
    path: watch::Sender<Option<PathNews>>,
) {
    tokio::spawn(async move {
        let probers = &probers;
        let mut pending: Option<Pending> = None;
        loop {
            let asking = pending.as_ref().and_then(|p| p.asking.as_ref());
            let confirmation = tokio::select! {
                followed = follower.next() => {
                    if let Err(err) = followed {
                        warn!("neighbour table: {err:#}; flushed entries will not be put back");
                        return;
                    }
                    continue;
                }
                port = opened.recv() => {
                    let Some(port) = port else { return };
                    let Some(p) = *plan.borrow() else { continue };
                    pending = Some(prepare(&mut follower, port, p, probers));
                    continue;
                }
                reply = next_answer(asking), if asking.is_some() => {
                    let p = pending.as_mut().expect("asking");
                    let (sender, mac) = match reply {
                        Ok(reply) => reply,
                        Err(err) => {
                            warn!("{err:#}; flushed entries are left to the kernel");
                            p.asking = None;
                            p.give_up = Instant::now();
                            continue;
                        }
                    };
                    let asking = p.asking.as_mut().expect("asking");
                    let asked = asking.targets.len();
                    asking.targets.retain(|target| target.ip() != sender);
                    if asking.targets.len() == asked {
                        continue; // not one of ours, or answered already
                    }
                    match follower.put_back_confirmed(p.since_ns, sender, mac) {
                        Ok(back) => {
                            // An answer can confirm others (the router's link-local entry):
                            // they need no asking any more.
                            asking.targets.retain(|t| back.iter().all(|n| n.ip != t.ip()));
                            p.put_back.extend(back);
                        }
                        Err(err) => {
                            p.error.get_or_insert(err);
                        }
                    }
                    if p.first_answer.is_none() {
                        path.send_replace(Some(PathNews { port_at_ns: p.port.at_ns, confirmed: true }));
                    }
                    let first = *p.first_answer.get_or_insert(sender);
                    if !asking.targets.is_empty() {
                        continue;
                    }
                    confirmation_by(first)
                }
                _ = sleep_until(pending.as_ref().map(Pending::next_wakeup)) => {
                    let p = pending.as_mut().expect("a deadline comes from a pending opening");
                    let now = Instant::now();
                    if now < p.give_up {
                        ask(p, now);
                        continue;
                    }
                    match p.first_answer {
                        Some(first) => confirmation_by(first),
                        None if p.asking.is_none() => Confirmation::Settled,
                        None => Confirmation::NoAnswer,
                    }
                }
            };
            let p = pending.take().expect("a confirmation ends a pending opening");
            if p.first_answer.is_none() {
                path.send_replace(Some(PathNews { port_at_ns: p.port.at_ns, confirmed: false }));
            }
            let result = match p.error {
                Some(err) => Err(err),
                None => Ok(p.put_back),
            };
            let done_ns = monotonic_ns();
            let report = Restored { opened: p.port, done_ns, confirmation, result };
            if restored.send(report).is_err() {
                return;
            }
        }
    });
}

/// What to do about a port opening: ask the flushed neighbours when there are any that roam
/// can ask (else there is nothing to put back).
fn prepare<'p>(
    follower: &mut NeighbourFollower,
    port: PortOpened,
    plan: PutBackPlan,
    probers: &'p Probers,
) -> Pending<'p> {
    let now = Instant::now();
    let flushed = follower.flushed_since(plan.since_ns);
    let asking = start_asking(probers, &flushed)
        .inspect_err(|err| warn!("{err:#}; flushed entries are left to the kernel"))
        .ok()
        .flatten();
    let give_up = if asking.is_none() { now } else { now + CONFIRM_LIMIT };
    Pending {
        port,
        since_ns: plan.since_ns,
        asking,
        next_request: now,
        give_up,
        first_answer: None,
        put_back: Vec::new(),
        error: None,
    }
}

/// The flushed neighbours roam can ask (an IPv4 one needs a station address to ask from, a
/// family needs its prober), with the sockets to ask through; none if there is nothing to ask.
fn start_asking<'p>(probers: &'p Probers, flushed: &[IpAddr]) -> Result<Option<Asking<'p>>> {
    let mut targets = Vec::new();
    if let Some(arp) = &probers.arp {
        let v4: Vec<Ipv4Addr> = flushed
            .iter()
            .filter_map(|ip| match ip {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        if !v4.is_empty() {
            let own = arp.own_addresses()?;
            targets.extend(
                v4.into_iter()
                    .filter_map(|ip| Some(Target::V4 { ip, source: arp::source_for(&own, ip)? })),
            );
        }
    }
    if probers.nd.is_some() {
        targets.extend(flushed.iter().filter_map(|ip| match ip {
            IpAddr::V6(ip) => Some(Target::V6 { ip: *ip }),
            IpAddr::V4(_) => None,
        }));
    }
    if targets.is_empty() {
        return Ok(None);
    }
    let has = |v4: bool| targets.iter().any(|t| matches!(t, Target::V4 { .. }) == v4);
    let arp = probers.arp.as_ref().filter(|_| has(true)).map(ArpProber::open);
    let nd = probers.nd.as_ref().filter(|_| has(false)).map(NdProber::open);
    Ok(Some(Asking { targets, arp, nd }))
}

/// Sends this round's requests. A family whose request cannot be sent is left to the kernel
/// (an IPv6 one, say, while the station's link-local address is still tentative); with
/// nothing left to ask, the asking ends.
fn ask(p: &mut Pending, now: Instant) {
    let Some(asking) = &mut p.asking else { return };
    let mut failed: Vec<Target> = Vec::new();
    for &target in &asking.targets {
        let sent = match (target, &asking.arp, &asking.nd) {
            (Target::V4 { ip, source }, Some(arp), _) => arp.send_request(source, ip),
            (Target::V6 { ip }, _, Some(nd)) => nd.send_solicitation(ip),
            _ => Ok(()),
        };
        if let Err(err) = sent {
            warn!("{err:#}; that entry is left to the kernel");
            failed.push(target);
        }
    }
    asking.targets.retain(|t| !failed.contains(t));
    if asking.targets.is_empty() {
        p.asking = None;
        p.give_up = p.give_up.min(now);
    }
    p.next_request = now + ASK_RETRY;
}

/// The next answer to either socket. Cancel-safe (each read is).
async fn next_answer(asking: Option<&Asking<'_>>) -> Result<(IpAddr, MacAddr)> {
    let Some(asking) = asking else { return std::future::pending().await };
    let arp = async {
        match &asking.arp {
            Some(arp) => arp.next_reply().await.map(|(ip, mac)| (IpAddr::V4(ip), mac)),
            None => std::future::pending().await,
        }
    };
    let nd = async {
        match &asking.nd {
            Some(nd) => nd.next_advertisement().await.map(|(ip, mac)| (IpAddr::V6(ip), mac)),
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        answer = arp => answer,
        answer = nd => answer,
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
