//! Whether a reconnection's target is there, asked before roam pins the manager to it.
//!
//! A target known only from a scan entry may have gone since: an AP switched off a moment
//! before the serving one stays in cfg80211's and wpa_supplicant's tables for up to 30 s, and a
//! reconnection pinned to it fails and sets the manager's own recovery back (its ignore list,
//! its next scans). A unicast probe request the target must acknowledge answers in a few
//! milliseconds ([`crate::nl80211::Nl80211::bss_acknowledges`]); where the driver cannot tell,
//! the target's channel is scanned first instead (slower, never wrong).

use anyhow::{bail, Result};
use tracing::debug;

use roam_common::MacAddr;

use super::manager::RoamRequest;
use crate::nl80211::Nl80211;

/// The station's side of the question.
#[derive(Clone)]
pub struct TargetCheck {
    pub nl80211: Nl80211,
    pub ifindex: u32,
    pub station: MacAddr,
}

impl TargetCheck {
    /// Goes on with `request` if its target acknowledged; fails it if the target did not;
    /// turns it into a scan-first roam if there is no telling.
    pub async fn confirm(&self, request: &mut RoamRequest) -> Result<()> {
        let target = request.target;
        let asked = self.nl80211.bss_acknowledges(
            self.ifindex,
            self.station,
            target,
            request.freq_mhz,
            &request.ssid,
        );
        match asked.await {
            Ok(true) => Ok(()),
            Ok(false) => bail!(
                "{target} did not acknowledge a probe request on {} MHz: it is gone since its \
                 scan entry, not reconnecting there",
                request.freq_mhz
            ),
            Err(err) => {
                debug!("no acknowledgement to tell whether {target} is there ({err}): scanning its channel first");
                request.scan_first = true;
                Ok(())
            }
        }
    }
}
