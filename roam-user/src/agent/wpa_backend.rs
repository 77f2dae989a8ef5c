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
//!   The pin is removed when the roam ends.

use std::{sync::Arc, time::Duration};

use anyhow::{anyhow, bail, Context as _, Result};
use tokio::sync::broadcast;
use tracing::debug;

use super::manager::RoamRequest;
use roam_common::MacAddr;

use crate::wpa::{command, WpaCtrl, WpaEvent};

/// How long a single-channel scan may take before the roam gives up on it.
const SCAN_TIMEOUT: Duration = Duration::from_secs(3);
/// Seconds of `scan_res_valid_for_connect` while roam asks for a reconnection: anything longer
/// than the life of a cfg80211 entry (30 s) that roam checked.
const RESULTS_VALID_SECS: u32 = 3_600;
/// wpa_supplicant's default (DEFAULT_SCAN_RES_VALID_FOR_CONNECT).
const DEFAULT_RESULTS_VALID_SECS: &str = "5";

#[derive(Clone)]
pub struct WpaBackend {
    ctrl: Arc<WpaCtrl>,
    events: broadcast::Sender<WpaEvent>,
    /// The operator's `scan_res_valid_for_connect`, put back after each reconnection.
    results_valid_secs: String,
}

impl WpaBackend {
    pub async fn new(ctrl: Arc<WpaCtrl>, events: broadcast::Sender<WpaEvent>) -> Self {
        let configured =
            ctrl.request(&command::get(command::SCAN_RESULTS_VALID_FOR_CONNECT)).await.ok();
        let results_valid_secs = configured
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_else(|| DEFAULT_RESULTS_VALID_SECS.to_owned());
        WpaBackend { ctrl, events, results_valid_secs }
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
            self.reconnect_to(target, req.network_id).await
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

    async fn reconnect_to(&self, target: MacAddr, network_id: Option<u32>) -> Result<()> {
        let id = network_id.context("no network id to pin the target BSS to")?;
        self.ctrl.request_expecting(&command::network_bssid(id, target), "OK").await?;
        let valid =
            command::set(command::SCAN_RESULTS_VALID_FOR_CONNECT, &RESULTS_VALID_SECS.to_string());
        let extended = self.ctrl.request_expecting(&valid, "OK").await.is_ok();
        let result = self.ctrl.request_expecting(command::REASSOCIATE, "OK").await;
        if extended {
            let restore =
                command::set(command::SCAN_RESULTS_VALID_FOR_CONNECT, &self.results_valid_secs);
            if let Err(err) = self.ctrl.request_expecting(&restore, "OK").await {
                debug!(%err, "could not restore scan_res_valid_for_connect");
            }
        }
        result.context("wpa_supplicant refused REASSOCIATE")
    }

    /// Removes roam's BSSID pin from the network (after a reconnection ends, and at exit).
    pub async fn unpin(&self, network_id: u32) -> Result<()> {
        self.ctrl
            .request_expecting(&command::network_bssid(network_id, MacAddr::UNSET), "OK")
            .await?;
        Ok(())
    }
}
