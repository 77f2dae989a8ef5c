//! Connecting to and leaving open networks without a supplicant, through
//! cfg80211's own SME (NL80211_CMD_CONNECT / NL80211_CMD_DISCONNECT).

use super::client::{iface_label, Nl80211};
use super::error::{Nl80211Error, Op, Result};
use super::messages;
use roam_common::MacAddr;

impl Nl80211 {
    /// Asks cfg80211 to connect `ifindex` to the open network `ssid`
    /// through the BSS `bssid` on `freq_mhz`. Returns when the kernel
    /// accepted the request; the outcome arrives later as
    /// [`super::MlmeEvent::Connect`], so subscribe
    /// ([`Nl80211::mlme_events`]) before calling.
    ///
    /// With mac80211 drivers, cfg80211's SME authenticates straight away
    /// when its scan table has this BSS on this frequency (so scan it just
    /// before, for a fast switch); otherwise it first scans that one channel
    /// and, not finding the BSS there, reports a failed
    /// [`super::MlmeEvent::Connect`] with `timed_out`. A synchronous ENOENT
    /// ("no such BSS") is returned as [`Nl80211Error::BssNotFound`].
    pub async fn connect(
        &self,
        ifindex: u32,
        ssid: &[u8],
        bssid: MacAddr,
        freq_mhz: u32,
    ) -> Result<()> {
        let message = messages::connect(ifindex, ssid, bssid, freq_mhz)?;
        let label = iface_label(ifindex);
        self.request(message, Op::Connect { bssid, freq_mhz }, &label).await?;
        Ok(())
    }

    /// Leaves the current network (reason 3, "leaving"). Succeeds when the
    /// interface was not connected. The end is also announced as
    /// [`super::MlmeEvent::Disconnect`].
    pub async fn disconnect(&self, ifindex: u32) -> Result<()> {
        let label = iface_label(ifindex);
        match self.request(messages::disconnect(ifindex), Op::Disconnect, &label).await {
            Ok(_) => Ok(()),
            Err(e) if already_disconnected(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Whether a DISCONNECT error only says there was nothing to leave.
fn already_disconnected(error: &Nl80211Error) -> bool {
    use nix::errno::Errno;
    matches!(error, Nl80211Error::Kernel { errno: Errno::ENOTCONN | Errno::ENOLINK, .. })
}

#[cfg(test)]
mod tests {
    use nix::errno::Errno;

    use super::super::error::from_errno;
    use super::*;

    #[test]
    fn not_connected_is_not_a_disconnect_failure() {
        assert!(already_disconnected(&from_errno(Op::Disconnect, "wlan0", Errno::ENOTCONN)));
        assert!(already_disconnected(&from_errno(Op::Disconnect, "wlan0", Errno::ENOLINK)));
        assert!(!already_disconnected(&from_errno(Op::Disconnect, "wlan0", Errno::EPERM)));
        assert!(!already_disconnected(&from_errno(Op::Disconnect, "wlan0", Errno::EOPNOTSUPP)));
    }
}
