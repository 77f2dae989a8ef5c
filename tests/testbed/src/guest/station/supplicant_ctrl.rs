//! wpa_supplicant's control interface as the runner uses it, for every stack whose supplicant
//! has one (stock, roam's, NetworkManager's): whether it is connected and where, a scan of given
//! channels, a deliberate roam, forgetting what earlier runs taught it.

use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use crate::guest::ctrl::{Ctrl, Events};

/// The supplicant's control socket and its event subscription.
pub struct SupplicantCtrl {
    pub ctrl: Ctrl,
    pub events: Events,
}

impl SupplicantCtrl {
    pub fn wait_connected(&mut self, timeout: Duration) -> Result<String> {
        // Drain first: a CONNECTED event that arrives after the STATUS below is a new one.
        self.events.drain()?;
        if let Some(bssid) = self.connected_bssid()? {
            return Ok(bssid);
        }
        self.events
            .wait_for("CTRL-EVENT-CONNECTED", timeout, |e| e.starts_with("CTRL-EVENT-CONNECTED"))
            .context("the station did not connect")?;
        self.connected_bssid()?.context("CTRL-EVENT-CONNECTED, but STATUS is not COMPLETED")
    }

    pub fn connected_bssid(&mut self) -> Result<Option<String>> {
        let status = self.ctrl.status()?;
        let field = |key: &str| status.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        Ok(match field("wpa_state").as_deref() {
            Some("COMPLETED") => field("bssid"),
            _ => None,
        })
    }

    pub fn scan(&mut self, freqs_mhz: &[u32], timeout: Duration) -> Result<()> {
        let freqs: Vec<String> = freqs_mhz.iter().map(u32::to_string).collect();
        let request = format!("SCAN freq={}", freqs.join(","));
        let finished = |e: &str| {
            e.starts_with("CTRL-EVENT-SCAN-RESULTS") || e.starts_with("CTRL-EVENT-SCAN-FAILED")
        };
        for _attempt in 0..3 {
            self.events.drain()?;
            let reply = self.ctrl.request(&request)?;
            let event = self.events.wait_for("scan results", timeout, finished)?;
            // FAIL-BUSY: someone else's scan just finished; ours has yet to run.
            if reply.trim() == "OK" && event.starts_with("CTRL-EVENT-SCAN-RESULTS") {
                return Ok(());
            }
        }
        bail!("`{request}` did not complete a scan in 3 attempts")
    }

    pub fn roam(&mut self, bssid: &str) -> Result<()> {
        self.ctrl.command(&format!("ROAM {bssid}"))
    }

    pub fn forget_previous_runs(&mut self) -> Result<()> {
        // An AP lost in the previous run stays on the BSSID ignore list for 10 s or more; while
        // it is there, a reconnection cannot use the fast "other BSS of this ESS" scan and scans
        // every channel instead (8 s under TCG), which no long-connected station would do.
        self.ctrl.command("BSSID_IGNORE clear")
    }
}
