//! Whether a BSS is there at all: a unicast probe request addressed to it, sent with
//! NL80211_CMD_FRAME on its channel, and its 802.11 acknowledgement read back from
//! NL80211_CMD_FRAME_TX_STATUS.
//!
//! An AP that is up acknowledges every frame addressed to it that it receives, whatever it
//! makes of the frame; one that went away cannot. The answer takes a few milliseconds where a
//! scan of the channel takes 40-100, and it is about now: a scan's results also carry
//! cfg80211's entries of BSSes unheard for up to 30 s. No acknowledgement can also mean a lost
//! frame (mac80211 retries it several times first) or a BSS out of reach; either way it is not
//! a BSS to pin a reconnection to.

use std::time::Duration;

use wl_nl80211::Nl80211Attr;

use roam_common::MacAddr;

use super::client::{iface_label, Nl80211};
use super::error::{Nl80211Error, Op, Result};
use super::events::MlmeEvent;
use super::messages::{self, SSID_MAX_LEN};
use super::subscription::Groups;

/// How long the TX status may take: the frame waits for the radio to reach the channel (it
/// may be scanning) and for its retries.
pub const ACK_WAIT: Duration = Duration::from_millis(250);

/// Frame control of a probe request (management, subtype 4), little-endian.
const PROBE_REQUEST: [u8; 2] = [0x40, 0x00];
/// The supported-rates element every probe request carries: 802.11b's and 802.11g's basic
/// rates, in 500 kb/s units (the first four marked basic).
const RATES: [u8; 8] = [0x82, 0x84, 0x8b, 0x96, 0x0c, 0x12, 0x18, 0x24];

impl Nl80211 {
    /// Sends a probe request for `ssid` from `own` to `bssid` on `freq_mhz`, and says whether
    /// the BSS acknowledged it. An error when the kernel or the driver cannot tell (no
    /// NL80211_CMD_FRAME for this interface type, no TX status in [`ACK_WAIT`]).
    pub async fn bss_acknowledges(
        &self,
        ifindex: u32,
        own: MacAddr,
        bssid: MacAddr,
        freq_mhz: u32,
        ssid: &[u8],
    ) -> Result<bool> {
        let label = iface_label(ifindex);
        // Subscribed before sending: the status can come before the reply is read.
        let mut events = self.subscribe(Groups::Mlme, ifindex)?;
        let frame = probe_request(own, bssid, ssid)?;
        let replies =
            self.request(messages::frame(ifindex, freq_mhz, frame), Op::Frame, &label).await?;
        let cookie = replies
            .messages
            .iter()
            .flat_map(|m| &m.attributes)
            .find_map(|attr| match attr {
                Nl80211Attr::Cookie(cookie) => Some(*cookie),
                _ => None,
            })
            .ok_or_else(|| Nl80211Error::Protocol {
                context: format!("sending a probe request to {bssid} on {label}"),
                detail: "NL80211_CMD_FRAME's reply has no cookie".to_owned(),
            })?;
        let status = async {
            while let Some(event) = events.next_event().await {
                if let MlmeEvent::FrameTxStatus { cookie: of, acked } = event {
                    if of == cookie {
                        return Some(acked);
                    }
                }
            }
            None
        };
        let timeout = || Nl80211Error::Timeout {
            what: format!("the TX status of a probe request to {bssid} on {label}"),
            after: ACK_WAIT,
        };
        tokio::time::timeout(ACK_WAIT, status).await.map_err(|_| timeout())?.ok_or_else(timeout)
    }
}

/// A probe request from `own` to `bssid` alone (receiver and BSSID both `bssid`), asking for
/// `ssid`. Pure.
pub(crate) fn probe_request(own: MacAddr, bssid: MacAddr, ssid: &[u8]) -> Result<Vec<u8>> {
    if ssid.len() > SSID_MAX_LEN {
        return Err(Nl80211Error::InvalidArgument(format!(
            "probe request SSID is {} bytes, 802.11 allows at most {SSID_MAX_LEN}",
            ssid.len()
        )));
    }
    let mut frame = Vec::with_capacity(24 + 2 + ssid.len() + 2 + RATES.len());
    frame.extend_from_slice(&PROBE_REQUEST);
    frame.extend_from_slice(&[0, 0]); // duration: the driver fills it in
    frame.extend_from_slice(&bssid.0); // receiver
    frame.extend_from_slice(&own.0); // transmitter
    frame.extend_from_slice(&bssid.0); // BSSID
    frame.extend_from_slice(&[0, 0]); // sequence control: mac80211 numbers the frame
    frame.extend_from_slice(&[0, ssid.len() as u8]);
    frame.extend_from_slice(ssid);
    frame.extend_from_slice(&[1, RATES.len() as u8]);
    frame.extend_from_slice(&RATES);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWN: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
    const AP: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);

    #[test]
    fn a_probe_request_is_addressed_to_the_bss_alone() {
        let frame = probe_request(OWN, AP, b"roam").unwrap();
        assert_eq!(&frame[..2], &[0x40, 0], "management, probe request");
        assert_eq!(
            (&frame[4..10], &frame[10..16], &frame[16..22]),
            (&AP.0[..], &OWN.0[..], &AP.0[..])
        );
        assert_eq!(&frame[24..30], &[0, 4, b'r', b'o', b'a', b'm']);
        assert_eq!(&frame[30..32], &[1, 8]);
        assert_eq!(frame.len(), 24 + 6 + 10);
    }

    #[test]
    fn an_ssid_longer_than_802_11_allows_is_refused() {
        assert!(probe_request(OWN, AP, &[b'x'; 33]).is_err());
        assert!(probe_request(OWN, AP, &[]).is_ok(), "the wildcard SSID");
    }
}
