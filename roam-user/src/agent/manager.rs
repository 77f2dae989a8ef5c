//! The connection manager roam works with, behind one interface: wpa_supplicant through its
//! control socket, or, where no supplicant runs (open networks), cfg80211's own SME through
//! nl80211. The agent reads [`ManagerEvent`]s and [`ManagerStatus`] and acts through a [`ManagerActor`]
//! (cheap to clone, so actions run on tasks of their own).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{bail, Context as _, Result};
use roam_common::{policy::security::NetworkSecurity, MacAddr};
use roam_proto::Backend;
use tokio::{sync::broadcast, task::JoinHandle};
use tracing::{debug, info, warn};

use super::{
    bss_filter::BssFilter, candidates::ScannedBss, nl_backend::NlBackend, wpa_backend::WpaBackend,
    wpa_changes::RecordLink,
};
use crate::{
    nl80211::{BssStatus, MlmeEvent, MlmeEvents, Nl80211},
    wpa::{self, SocketWatch, WpaCtrl, WpaEvent, WpaEvents},
};

/// What the connection manager reports, in the agent's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManagerEvent {
    /// Authentication with `bssid` began (the target of a roam, or another BSS once the
    /// manager gave up on it).
    Authenticating {
        bssid: MacAddr,
    },
    /// An 802.1X/EAP exchange began, and succeeded (enterprise networks).
    EapStarted,
    EapSucceeded,
    Associating,
    Associated {
        bssid: MacAddr,
    },
    /// Connected (the key handshake, if any, complete).
    Connected {
        bssid: MacAddr,
    },
    /// A connection attempt failed (refused, timed out, target not found), to `bssid` where
    /// the manager says.
    ConnectFailed {
        bssid: Option<MacAddr>,
    },
    /// The connection ended. `by_ap`: the AP (or its loss) ended it, not a local request.
    Disconnected {
        bssid: Option<MacAddr>,
        reason: u16,
        by_ap: bool,
    },
    ScanStarted,
    /// A scan finished: entries changed.
    ScanResults,
    BssAdded {
        bssid: MacAddr,
    },
    BssRemoved {
        bssid: MacAddr,
    },
    /// The manager's own beacon-loss report.
    BeaconLoss,
    /// Events were lost: re-read the status and the scan table.
    Resync,
    /// A new manager process took over (wpa_supplicant restarted): what it did before roam
    /// attached is read whole, as after [`ManagerEvent::Resync`].
    ManagerRestarted,
    Other,
}

/// The station's connection, as the manager reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerStatus {
    pub bssid: MacAddr,
    pub ssid: Vec<u8>,
    pub freq_mhz: u32,
    pub protected: bool,
    /// The suites negotiated, where the manager says.
    pub security: NetworkSecurity,
    /// wpa_supplicant's network id (for its BSSID pin).
    pub network_id: Option<u32>,
    pub address: Option<MacAddr>,
}

/// A roam, as the backend needs it.
#[derive(Clone, Debug)]
pub struct RoamRequest {
    pub target: MacAddr,
    pub freq_mhz: u32,
    pub ssid: Vec<u8>,
    /// The manager lacks a usable entry for the target: scan its channel first.
    pub scan_first: bool,
    /// A reconnection rather than a reassociation: the station is disconnected (the AP ended
    /// the association, a roam failed), or leaves first.
    pub disconnected: bool,
    /// The station leaves the AP it still holds an association with before reconnecting.
    pub leave_first: bool,
    pub network_id: Option<u32>,
    /// What the station negotiated: a target found by the roam's own scan must offer it.
    pub security: NetworkSecurity,
    /// Which roam this is: its end undoes its changes, not a newer roam's.
    pub generation: u64,
}

/// Where events and state come from.
pub enum Manager {
    Wpa {
        events: WpaEvents,
        actor: WpaBackend,
        tx: broadcast::Sender<WpaEvent>,
        /// A restarted supplicant: events are attached to it afresh (requests reconnect by
        /// themselves, in [`WpaCtrl`]). Boxed: its inotify buffer would make every `Manager` large.
        restarts: Box<SocketWatch>,
        /// Attaching to a restarted supplicant, on a task of its own: [`Manager::next`] is
        /// cancelled whenever another of the agent's sources fires, and an attach in its body
        /// would be cancelled with it (the socket's creation already consumed, the new
        /// supplicant would never be followed).
        reattach: Option<Reattach>,
        ctrl_dir: PathBuf,
        iface: String,
    },
    Nl80211 {
        events: MlmeEvents,
        actor: NlBackend,
    },
}

/// Attempts at `ATTACH` to a supplicant that just bound its socket: it answers once its
/// initialisation reaches the event loop, which under load can outlast one attempt's deadline,
/// and a socket still being bound refuses.
const ATTACH_ATTEMPTS: u32 = 3;

/// What performs actions; clones share the connection.
#[derive(Clone)]
pub enum ManagerActor {
    Wpa(WpaBackend),
    Nl80211(NlBackend),
}

impl Manager {
    /// Follows the supplicant at `ctrl_dir/iface`, through this one and every later one; what
    /// roam changes in it is written to `record` first.
    pub async fn wpa(
        ctrl_dir: &Path,
        iface: &str,
        tx: broadcast::Sender<WpaEvent>,
        record: RecordLink,
    ) -> Result<Manager> {
        // Watching first: a restart between attaching and watching would go unnoticed.
        let restarts = Box::new(SocketWatch::new(ctrl_dir, iface).with_context(|| {
            format!("watching {} for a restarted wpa_supplicant", ctrl_dir.display())
        })?);
        let ctrl = Arc::new(WpaCtrl::open(ctrl_dir, iface).await?);
        let events = WpaEvents::attach(ctrl_dir, iface).await?;
        let actor = WpaBackend::new(ctrl, tx.clone(), record).await;
        Ok(Manager::Wpa {
            events,
            actor,
            tx,
            restarts,
            reattach: None,
            ctrl_dir: ctrl_dir.to_owned(),
            iface: iface.to_owned(),
        })
    }

    pub fn nl80211(nl: Nl80211, ifindex: u32) -> Result<Manager> {
        let events = nl.mlme_events(ifindex)?;
        Ok(Manager::Nl80211 { events, actor: NlBackend::new(nl, ifindex) })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Manager::Wpa { .. } => Backend::WpaSupplicant,
            Manager::Nl80211 { .. } => Backend::Nl80211,
        }
    }

    /// Whether the manager reconnects after a loss by itself (wpa_supplicant does; cfg80211's
    /// SME does not, so roam retries while it holds a loss).
    pub fn reconnects_by_itself(&self) -> bool {
        matches!(self, Manager::Wpa { .. })
    }

    /// Whether the manager's table is read whole after a scan (no per-BSS events).
    pub fn reads_table_whole(&self) -> bool {
        matches!(self, Manager::Nl80211 { .. })
    }

    pub fn actor(&self) -> ManagerActor {
        match self {
            Manager::Wpa { actor, .. } => ManagerActor::Wpa(actor.clone()),
            Manager::Nl80211 { actor, .. } => ManagerActor::Nl80211(actor.clone()),
        }
    }

    /// The next event. Cancel-safe: both sources are, and an attach to a restarted supplicant
    /// runs on its own task, which a cancelled call leaves running for the next.
    pub async fn next(&mut self) -> Result<ManagerEvent> {
        match self {
            Manager::Wpa { events, tx, restarts, reattach, ctrl_dir, iface, .. } => loop {
                if let Some(attaching) = reattach {
                    let attached = attaching.finished().await;
                    *reattach = None;
                    *events = attached?;
                    info!("wpa_supplicant for {iface} started again: following it");
                    return Ok(ManagerEvent::ManagerRestarted);
                }
                tokio::select! {
                    event = events.next() => {
                        let event = event?;
                        let _ = tx.send(event.clone());
                        if event == WpaEvent::Terminating {
                            warn!("wpa_supplicant for {iface} stopped; roam waits for it to start again");
                        }
                        return Ok(from_wpa(event));
                    }
                    created = restarts.created() => {
                        created.context("watching for a restarted wpa_supplicant")?;
                        *reattach = Some(Reattach::start(ctrl_dir.clone(), iface.clone()));
                    }
                }
            },
            Manager::Nl80211 { events, .. } => match events.next_event().await {
                Some(event) => Ok(from_nl80211(event)),
                None => bail!("the nl80211 event socket closed"),
            },
        }
    }

    /// The current connection, `None` when not connected.
    pub async fn status(&self) -> Result<Option<ManagerStatus>> {
        match self {
            Manager::Wpa { actor, .. } => {
                let status = actor.ctrl().status().await?;
                if !status.wpa_state.is_connected() {
                    return Ok(None);
                }
                let (Some(bssid), Some(ssid)) = (status.bssid, status.ssid) else {
                    return Ok(None);
                };
                let security = wpa::security::network_security(
                    status.key_mgmt.as_deref(),
                    status.pairwise_cipher.as_deref(),
                );
                // WEP's key_mgmt is NONE too: its pairwise cipher tells it from an open network.
                let protected = security
                    .is_protected()
                    .unwrap_or_else(|| status.key_mgmt.as_deref().is_some_and(|k| k != "NONE"));
                Ok(Some(ManagerStatus {
                    bssid,
                    ssid: wpa::ssid_bytes(&ssid),
                    freq_mhz: status.freq_mhz.unwrap_or(0),
                    protected,
                    security,
                    network_id: status.network_id,
                    address: status.address,
                }))
            }
            Manager::Nl80211 { actor, .. } => actor.status().await,
        }
    }

    /// What network `network_id`'s configuration allows (nothing to read without a
    /// supplicant: cfg80211 connects where roam asks).
    pub async fn filter(&self, network_id: Option<u32>) -> Result<BssFilter> {
        match (self, network_id) {
            (Manager::Wpa { actor, .. }, Some(id)) => actor.filter(id).await,
            _ => Ok(BssFilter::default()),
        }
    }

    /// See [`WpaBackend::ft_eap_pmksa_caching`]; `None` without a network block to read.
    pub async fn ft_eap_pmksa_caching(&self, network_id: Option<u32>) -> Option<bool> {
        let (Manager::Wpa { actor, .. }, Some(id)) = (self, network_id) else { return None };
        actor.ft_eap_pmksa_caching(id).await
    }

    /// The APs the manager holds a PMKSA for (a return to them skips EAP); none to read
    /// without a supplicant.
    pub async fn cached_keys(&self) -> Vec<MacAddr> {
        match self {
            Manager::Wpa { actor, .. } => match actor.ctrl().request("PMKSA").await {
                Ok(reply) => wpa::parse_pmksa(&reply),
                Err(err) => {
                    debug!("reading the PMKSA cache: {err:#}");
                    Vec::new()
                }
            },
            Manager::Nl80211 { .. } => Vec::new(),
        }
    }

    /// The whole scan table.
    pub async fn scan_table(&self) -> Vec<ScannedBss> {
        match self {
            Manager::Wpa { actor, .. } => {
                let mut out = Vec::new();
                let mut request = "BSS FIRST".to_owned();
                for _ in 0..256 {
                    let Ok(reply) = actor.ctrl().request(&request).await else { break };
                    let Ok(Some(bss)) = wpa::parse_bss(&reply) else { break };
                    let Some(id) = bss.id else { break };
                    out.push(ScannedBss::from(&bss));
                    request = format!("BSS NEXT-{id}");
                }
                out
            }
            Manager::Nl80211 { actor, .. } => actor.scan_table().await.unwrap_or_default(),
        }
    }

    /// One entry of the scan table.
    pub async fn scan_entry(&self, bssid: MacAddr) -> Option<ScannedBss> {
        match self {
            Manager::Wpa { actor, .. } => {
                actor.ctrl().bss(bssid).await.ok().flatten().map(|b| (&b).into())
            }
            Manager::Nl80211 { actor, .. } => {
                actor.scan_table().await.ok()?.into_iter().find(|b| b.bssid == bssid)
            }
        }
    }
}

impl ManagerActor {
    /// Starts the roam; returns once the manager accepted it (the connection follows as
    /// events).
    pub async fn roam(&self, req: RoamRequest) -> Result<()> {
        match self {
            ManagerActor::Wpa(wpa) => wpa.roam(req).await,
            ManagerActor::Nl80211(nl) => nl.roam(req).await,
        }
    }

    /// A scan of one channel, awaited.
    pub async fn scan_one_channel(&self, freq_mhz: u32, ssid: &[u8]) -> Result<()> {
        match self {
            ManagerActor::Wpa(wpa) => wpa.scan_one_channel(freq_mhz).await,
            ManagerActor::Nl80211(nl) => nl.scan(&[freq_mhz], ssid).await,
        }
    }

    /// A scan of `freqs_mhz` (every channel when empty), awaited: the nl80211 backend's way to
    /// find candidates it never heard of (wpa_supplicant scans by itself).
    pub async fn scan_for_network(&self, freqs_mhz: &[u32], ssid: &[u8]) -> Result<()> {
        match self {
            ManagerActor::Wpa(_) => Ok(()),
            ManagerActor::Nl80211(nl) => nl.scan(freqs_mhz, ssid).await,
        }
    }

    /// Roam `generation` ended: what it changed in the manager is put back (wpa_supplicant
    /// only: cfg80211 keeps no settings of roam's).
    pub async fn end_roam(&self, generation: u64) -> Result<()> {
        match self {
            ManagerActor::Wpa(wpa) => wpa.end_roam(generation).await,
            ManagerActor::Nl80211(_) => Ok(()),
        }
    }

    /// Puts back everything roam changed in the manager (at exit).
    pub async fn put_back(&self) -> Result<()> {
        match self {
            ManagerActor::Wpa(wpa) => wpa.put_back().await,
            ManagerActor::Nl80211(_) => Ok(()),
        }
    }
}

/// Attaching to a supplicant whose socket appeared. The task is aborted with its handle.
pub struct Reattach(JoinHandle<Result<WpaEvents>>);

impl Reattach {
    fn start(ctrl_dir: PathBuf, iface: String) -> Reattach {
        Reattach(tokio::spawn(async move { follow_new(&ctrl_dir, &iface).await }))
    }

    /// The new supplicant's events. Cancel-safe: the task runs on.
    async fn finished(&mut self) -> Result<WpaEvents> {
        (&mut self.0).await.context("the task attaching to wpa_supplicant ended")?
    }
}

impl Drop for Reattach {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How long to wait before trying again a supplicant that answers but refused `ATTACH`.
const ATTACH_RETRY: Duration = Duration::from_secs(2);

/// Waits until the supplicant whose socket appeared answers, and attaches to it. A socket that
/// appears can belong to a supplicant still starting (it answers only once its initialisation
/// reaches the event loop) or one that dies at once (the next one is awaited): this ends only
/// attached, or on an error of the watch itself.
async fn follow_new(ctrl_dir: &Path, iface: &str) -> Result<WpaEvents> {
    loop {
        wpa::wait_until_answering(ctrl_dir, iface)
            .await
            .context("waiting for the restarted wpa_supplicant")?;
        match attach_to_new(ctrl_dir, iface).await {
            Ok(events) => return Ok(events),
            Err(err) => {
                warn!("{err:#}; trying again in {ATTACH_RETRY:?}");
                tokio::time::sleep(ATTACH_RETRY).await;
            }
        }
    }
}

/// `ATTACH` to a supplicant whose socket just appeared.
async fn attach_to_new(ctrl_dir: &Path, iface: &str) -> Result<WpaEvents> {
    let mut attempt = 1;
    loop {
        match WpaEvents::attach(ctrl_dir, iface).await {
            Ok(events) => return Ok(events),
            Err(wpa::WpaError::Timeout { .. }) if attempt < ATTACH_ATTEMPTS => attempt += 1,
            // Refused: the socket is still being bound (see `wpa::BIND_SETTLE`).
            Err(wpa::WpaError::StaleSocket { .. }) if attempt < ATTACH_ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(wpa::BIND_SETTLE).await;
            }
            Err(err) => {
                return Err(err).with_context(|| {
                    format!("attaching to the restarted wpa_supplicant for {iface}")
                })
            }
        }
    }
}

/// wpa_supplicant's events, as the agent needs them.
pub fn from_wpa(event: WpaEvent) -> ManagerEvent {
    match event {
        WpaEvent::Connected { bssid } => ManagerEvent::Connected { bssid },
        WpaEvent::Disconnected { reason, locally_generated, bssid } => {
            ManagerEvent::Disconnected { bssid: Some(bssid), reason, by_ap: !locally_generated }
        }
        WpaEvent::Authenticating { bssid, .. } => ManagerEvent::Authenticating { bssid },
        WpaEvent::Associating { .. } => ManagerEvent::Associating,
        WpaEvent::Associated { bssid } => ManagerEvent::Associated { bssid },
        WpaEvent::ScanStarted => ManagerEvent::ScanStarted,
        WpaEvent::ScanResults => ManagerEvent::ScanResults,
        WpaEvent::BssAdded { bssid, .. } => ManagerEvent::BssAdded { bssid },
        WpaEvent::BssRemoved { bssid, .. } => ManagerEvent::BssRemoved { bssid },
        WpaEvent::BeaconLoss => ManagerEvent::BeaconLoss,
        WpaEvent::EapStarted => ManagerEvent::EapStarted,
        WpaEvent::EapSucceeded => ManagerEvent::EapSucceeded,
        // A refusal ends the attempt at once: waiting out roam's timeout, pinned to a BSS that
        // said no, would keep the station off the air.
        WpaEvent::AssocRejected { bssid, .. } => ManagerEvent::ConnectFailed { bssid },
        WpaEvent::AuthRejected { bssid, .. } => ManagerEvent::ConnectFailed { bssid: Some(bssid) },
        WpaEvent::NetworkNotFound | WpaEvent::SsidTempDisabled { .. } => {
            ManagerEvent::ConnectFailed { bssid: None }
        }
        _ => ManagerEvent::Other,
    }
}

/// cfg80211's events, as the agent needs them. Deauth/disassoc frames come from the kernel
/// programs (with direction and protection); the disconnect that follows says who ended it.
pub fn from_nl80211(event: MlmeEvent) -> ManagerEvent {
    match event {
        MlmeEvent::Connect { bssid: Some(bssid), status_code: 0, timed_out: false } => {
            ManagerEvent::Connected { bssid }
        }
        MlmeEvent::Connect { bssid, .. } => ManagerEvent::ConnectFailed { bssid },
        MlmeEvent::Roamed { bssid: Some(bssid) } => ManagerEvent::Connected { bssid },
        MlmeEvent::Disconnect { reason, by_ap } => {
            ManagerEvent::Disconnected { bssid: None, reason: reason.unwrap_or(0), by_ap }
        }
        MlmeEvent::ScanStarted => ManagerEvent::ScanStarted,
        MlmeEvent::NewScanResults => ManagerEvent::ScanResults,
        MlmeEvent::EventsLost => ManagerEvent::Resync,
        _ => ManagerEvent::Other,
    }
}

/// The BSS cfg80211 says the station is associated with.
pub fn associated(table: &[crate::nl80211::ScanBss]) -> Option<&crate::nl80211::ScanBss> {
    table.iter().find(|b| b.status == BssStatus::Associated)
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
