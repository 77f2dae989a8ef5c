//! Acting through wpa_supplicant's control interface, without fighting it.
//!
//! - Station still connected (silence, beacon loss, weak signal): `ROAM <bssid>`. wpa_supplicant
//!   authenticates to the target at once (mac80211 leaves the old AP without a frame); if
//!   cfg80211's entry for the target expired it scans that one channel itself. A target missing
//!   from wpa_supplicant's table is scanned first with `SCAN freq=<MHz>`.
//! - The AP ended the association (deauth, disassoc): wpa_supplicant is DISCONNECTED, `ROAM`
//!   would be refused, and it would wait a fixed 100 ms and scan. roam pins the network to the
//!   target (`BSSID <id> <bssid>`) and asks for `REASSOCIATE` with its last scan results
//!   declared valid (`scan_res_valid_for_connect`, restored right after): it connects with no
//!   scan when the target is in those results, and scans only the target's channel otherwise.
//!   The pin is removed when the roam ends; both changes are recorded before they are made
//!   ([`super::wpa_changes`]).

use std::{sync::Arc, time::Duration};

use anyhow::{anyhow, bail, Context as _, Result};
use tokio::sync::broadcast;
use tracing::{debug, warn};

use super::{
    manager::RoamRequest,
    wpa_changes::{RecordLink, WpaChanges},
};
use roam_common::MacAddr;

use crate::wpa::{command, WpaCtrl, WpaEvent};

/// How long a single-channel scan may take before the roam gives up on it.
const SCAN_TIMEOUT: Duration = Duration::from_secs(3);
/// Seconds of `scan_res_valid_for_connect` while roam asks for a reconnection: anything longer
/// than the life of a cfg80211 entry (30 s) that roam checked.
const RESULTS_VALID_SECS: u32 = 3_600;

#[derive(Clone)]
pub struct WpaBackend {
    ctrl: Arc<WpaCtrl>,
    events: broadcast::Sender<WpaEvent>,
    /// The pin and the results' validity, recorded and put back.
    changes: Arc<WpaChanges<Arc<WpaCtrl>, RecordLink>>,
}

impl WpaBackend {
    /// The backend; what an earlier run left changed in the supplicant is put back first.
    pub async fn new(
        ctrl: Arc<WpaCtrl>,
        events: broadcast::Sender<WpaEvent>,
        record: RecordLink,
    ) -> Self {
        let changes = Arc::new(WpaChanges::new(ctrl.clone(), record));
        changes.undo_left().await;
        WpaBackend { ctrl, events, changes }
    }

    pub fn ctrl(&self) -> &WpaCtrl {
        &self.ctrl
    }

    /// Starts the roam; returns once wpa_supplicant accepted it (the connection follows as
    /// events).
    pub async fn roam(&self, req: RoamRequest) -> Result<()> {
        if req.scan_first {
            self.scan_one_channel(req.freq_mhz).await?;
        }
        let target = req.target;
        if req.disconnected {
            self.reconnect_to(target, req.network_id, req.generation).await
        } else {
            self.ctrl
                .request_expecting(&command::roam(target), "OK")
                .await
                .with_context(|| format!("wpa_supplicant refused ROAM {target}"))
        }
    }

    /// `SCAN freq=<MHz>` and wait for its results.
    pub async fn scan_one_channel(&self, freq_mhz: u32) -> Result<()> {
        let mut events = self.events.subscribe();
        let request = command::scan_freq(&[freq_mhz])?;
        let reply = self.ctrl.request(&request).await?;
        if reply.trim_end() != "OK" {
            bail!("wpa_supplicant answered {:?} to {request}", reply.trim_end());
        }
        tokio::time::timeout(SCAN_TIMEOUT, async {
            loop {
                match events.recv().await {
                    Ok(WpaEvent::ScanResults) => return Ok(()),
                    Ok(WpaEvent::Other(text)) if text.starts_with("CTRL-EVENT-SCAN-FAILED") => {
                        bail!("the scan of {freq_mhz} MHz failed: {text}")
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => {
                        bail!("wpa_supplicant's event stream ended")
                    }
                }
            }
        })
        .await
        .map_err(|_| anyhow!("the scan of {freq_mhz} MHz did not finish in {SCAN_TIMEOUT:?}"))?
    }

    async fn reconnect_to(
        &self,
        target: MacAddr,
        network_id: Option<u32>,
        generation: u64,
    ) -> Result<()> {
        let id = network_id.context("no network id to pin the target BSS to")?;
        self.changes.pin(generation, id, target).await?;
        let extended = match self.changes.extend_results_valid(RESULTS_VALID_SECS).await {
            Ok(()) => true,
            Err(err) => {
                // The reconnection scans first: slower, never wrong.
                debug!("scan_res_valid_for_connect not extended: {err:#}");
                false
            }
        };
        let result = self.ctrl.request_expecting(command::REASSOCIATE, "OK").await;
        if extended {
            if let Err(err) = self.changes.restore_results_valid().await {
                warn!("{err:#}");
            }
        }
        result.context("wpa_supplicant refused REASSOCIATE")
    }

    /// Roam `generation` ended: its BSSID pin goes (a newer roam's stays).
    pub async fn end_roam(&self, generation: u64) -> Result<()> {
        self.changes.end_roam(generation).await
    }

    /// Puts back everything roam changed in the supplicant (at exit).
    pub async fn put_back(&self) -> Result<()> {
        self.changes.put_back().await
    }
}
