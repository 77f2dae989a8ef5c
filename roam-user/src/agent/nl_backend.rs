//! Acting through bare nl80211, where no supplicant runs (open networks): cfg80211's own SME
//! connects (NL80211_CMD_CONNECT with the BSSID and frequency), and nothing else reconnects,
//! so roam does it all.
//!
//! - cfg80211 refuses CONNECT while connected (EALREADY): a roam away from a silent AP leaves
//!   it first (DISCONNECT, synchronous).
//! - A target cfg80211 has no fresh entry for is scanned first on its one channel
//!   (TRIGGER_SCAN with that frequency): the seed's ENOENT case. A CONNECT answered with
//!   ENOENT anyway (the entry expired meanwhile) scans and tries once more.
//! - Right after the AP ended the association, cfg80211 may still be tearing the old
//!   connection down (EINPROGRESS/EALREADY): CONNECT is retried for a short while.

use std::time::Duration;

use anyhow::{Context as _, Result};
use nix::errno::Errno;
use roam_common::policy::security::NetworkSecurity;
use tracing::debug;

use super::{
    candidates::ScannedBss,
    manager::{associated, ManagerStatus, RoamRequest},
};
use crate::nl80211::{Nl80211, Nl80211Error};

/// How long a single-channel scan may take.
const SCAN_TIMEOUT: Duration = Duration::from_secs(3);
/// A busy radio (another scan, a connection attempt) is asked again this often, this many times.
const BUSY_RETRY: Duration = Duration::from_millis(20);
const BUSY_ATTEMPTS: u32 = 25;

#[derive(Clone)]
pub struct NlBackend {
    nl: Nl80211,
    ifindex: u32,
}

impl NlBackend {
    pub fn new(nl: Nl80211, ifindex: u32) -> Self {
        NlBackend { nl, ifindex }
    }

    pub async fn status(&self) -> Result<Option<ManagerStatus>> {
        let iface = self.nl.interface(self.ifindex).await?;
        let Some(ssid) = iface.ssid else { return Ok(None) };
        let table = self.nl.scan_results(self.ifindex).await?;
        let Some(bss) = associated(&table) else { return Ok(None) };
        let protected = ScannedBss::from(bss).protected;
        Ok(Some(ManagerStatus {
            bssid: bss.bssid,
            ssid,
            freq_mhz: iface.freq_mhz.unwrap_or(bss.freq_mhz),
            protected,
            // cfg80211 reports no negotiated suites; an open network has none (and bare
            // nl80211 acts on nothing else).
            security: if protected { NetworkSecurity::Unknown } else { NetworkSecurity::Open },
            network_id: None,
            address: Some(iface.mac),
        }))
    }

    pub async fn scan_table(&self) -> Result<Vec<ScannedBss>> {
        Ok(self.nl.scan_results(self.ifindex).await?.iter().map(ScannedBss::from).collect())
    }

    /// Scans `freqs_mhz` (every channel when empty) probing for `ssid`, waiting out a busy
    /// radio.
    pub async fn scan(&self, freqs_mhz: &[u32], ssid: &[u8]) -> Result<()> {
        let ssid = (!ssid.is_empty()).then_some(ssid);
        let mut attempt = 0;
        loop {
            match self.nl.scan(self.ifindex, freqs_mhz, ssid, SCAN_TIMEOUT).await {
                Err(Nl80211Error::ScanBusy { .. }) if attempt < BUSY_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(BUSY_RETRY).await;
                }
                result => return result.with_context(|| format!("scanning {freqs_mhz:?} MHz")),
            }
        }
    }

    pub async fn roam(&self, req: RoamRequest) -> Result<()> {
        // cfg80211 connects afresh (no fast transition without a supplicant): a station still
        // associated leaves first, whatever the request.
        if !req.disconnected || req.leave_first {
            match self.nl.disconnect(self.ifindex).await {
                Err(Nl80211Error::Kernel { errno: Errno::ENOTCONN, .. }) if req.disconnected => {}
                result => result.context("leaving the current AP")?,
            }
        }
        if req.scan_first {
            self.scan(&[req.freq_mhz], &req.ssid).await?;
        }
        match self.connect(&req).await {
            Err(Nl80211Error::BssNotFound { .. }) => {
                debug!("cfg80211 has no entry for the target: scanning its channel");
                self.scan(&[req.freq_mhz], &req.ssid).await?;
                Ok(self.connect(&req).await?)
            }
            result => Ok(result?),
        }
    }

    async fn connect(&self, req: &RoamRequest) -> Result<(), Nl80211Error> {
        let mut attempt = 0;
        loop {
            let result = self.nl.connect(self.ifindex, &req.ssid, req.target, req.freq_mhz).await;
            match result {
                Err(Nl80211Error::Kernel {
                    errno: Errno::EINPROGRESS | Errno::EALREADY, ..
                }) if attempt < BUSY_ATTEMPTS => {
                    attempt += 1;
                    tokio::time::sleep(BUSY_RETRY).await;
                }
                result => return result,
            }
        }
    }
}
