//! Triggering a scan and waiting for its end.
//!
//! The end of a scan is only announced as a multicast event
//! (NL80211_CMD_NEW_SCAN_RESULTS or NL80211_CMD_SCAN_ABORTED on the "scan"
//! group), so the subscription is opened before the trigger: a short scan
//! could otherwise finish before we listen.

use std::time::Duration;

use tokio::time::Instant;

use super::client::{iface_label, Nl80211};
use super::error::{Nl80211Error, Op, Result};
use super::events::MlmeEvent;
use super::messages;
use super::subscription::{Groups, MlmeEvents};

/// How a scan ended, as far as [`ScanTracker`] can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScanEnd {
    Completed,
    Aborted,
}

/// Follows the scan events of one interface to find the end of *our* scan.
///
/// The subscription opens a moment before the trigger, so the end of a
/// previous scan (somebody else's) may still be queued on it. The kernel
/// announces every scan's start (NL80211_CMD_TRIGGER_SCAN, sent while our
/// trigger is processed) and runs one scan per radio at a time (else
/// EBUSY), so the first end after a start is ours. Pure, for tests.
#[derive(Debug, Default)]
pub(crate) struct ScanTracker {
    started: bool,
}

impl ScanTracker {
    pub(crate) fn observe(&mut self, event: &MlmeEvent) -> Option<ScanEnd> {
        match event {
            MlmeEvent::ScanStarted => {
                self.started = true;
                None
            }
            // Lost events may include our start: take the next end.
            MlmeEvent::EventsLost => {
                self.started = true;
                None
            }
            MlmeEvent::NewScanResults if self.started => Some(ScanEnd::Completed),
            MlmeEvent::ScanAborted if self.started => Some(ScanEnd::Aborted),
            _ => None,
        }
    }
}

/// A scan the kernel accepted; [`PendingScan::wait`] for its end.
#[derive(Debug)]
pub struct PendingScan {
    ifindex: u32,
    label: String,
    events: MlmeEvents,
}

impl PendingScan {
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Waits until the scan finishes (`Ok`) or is aborted
    /// ([`Nl80211Error::ScanAborted`]), at most `timeout`. A full scan of
    /// 2.4 + 5 GHz takes 3-10 s; one channel, 50-150 ms.
    pub async fn wait(mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut tracker = ScanTracker::default();
        loop {
            let event = match tokio::time::timeout_at(deadline, self.events.next_event()).await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    return Err(Nl80211Error::protocol(
                        format!("waiting for the scan on {} to finish", self.label),
                        "the event socket closed",
                    ))
                }
                Err(_) => {
                    return Err(Nl80211Error::Timeout {
                        what: format!("waiting for the scan on {} to finish", self.label),
                        after: timeout,
                    })
                }
            };
            match tracker.observe(&event) {
                Some(ScanEnd::Completed) => return Ok(()),
                Some(ScanEnd::Aborted) => {
                    return Err(Nl80211Error::ScanAborted { iface: self.label })
                }
                None => {}
            }
        }
    }
}

impl Nl80211 {
    /// Starts a scan of `freqs_mhz` (all usable channels when empty),
    /// probing for `ssid` (or any network). Returns once the kernel accepted
    /// it; [`Nl80211Error::ScanBusy`] when another scan runs on this radio.
    pub async fn trigger_scan(
        &self,
        ifindex: u32,
        freqs_mhz: &[u32],
        ssid: Option<&[u8]>,
    ) -> Result<PendingScan> {
        let message = messages::trigger_scan(ifindex, freqs_mhz, ssid)?;
        let label = iface_label(ifindex);
        let events = self.subscribe(Groups::Scan, ifindex)?;
        self.request(message, Op::TriggerScan, &label).await?;
        Ok(PendingScan { ifindex, label, events })
    }

    /// [`Nl80211::trigger_scan`], then [`PendingScan::wait`]. Results are
    /// read with [`Nl80211::scan_results`].
    pub async fn scan(
        &self,
        ifindex: u32,
        freqs_mhz: &[u32],
        ssid: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<()> {
        self.trigger_scan(ifindex, freqs_mhz, ssid).await?.wait(timeout).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: &[MlmeEvent]) -> Option<ScanEnd> {
        let mut tracker = ScanTracker::default();
        events.iter().find_map(|event| tracker.observe(event))
    }

    #[test]
    fn start_then_results_is_completion() {
        assert_eq!(
            run(&[MlmeEvent::ScanStarted, MlmeEvent::NewScanResults]),
            Some(ScanEnd::Completed)
        );
    }

    #[test]
    fn start_then_abort_is_abortion() {
        assert_eq!(run(&[MlmeEvent::ScanStarted, MlmeEvent::ScanAborted]), Some(ScanEnd::Aborted));
    }

    #[test]
    fn a_previous_scans_end_before_our_start_is_ignored() {
        assert_eq!(
            run(&[MlmeEvent::NewScanResults, MlmeEvent::ScanStarted, MlmeEvent::ScanAborted]),
            Some(ScanEnd::Aborted)
        );
        assert_eq!(run(&[MlmeEvent::ScanAborted, MlmeEvent::NewScanResults]), None);
    }

    #[test]
    fn other_events_do_not_end_the_scan() {
        assert_eq!(
            run(&[
                MlmeEvent::ScanStarted,
                MlmeEvent::Disconnect { reason: Some(3), by_ap: false },
                MlmeEvent::Connect { bssid: None, status_code: 1, timed_out: true },
            ]),
            None
        );
    }

    #[test]
    fn after_lost_events_the_next_end_counts() {
        assert_eq!(
            run(&[MlmeEvent::EventsLost, MlmeEvent::NewScanResults]),
            Some(ScanEnd::Completed)
        );
    }

    #[tokio::test]
    async fn wait_ends_on_our_scan_and_times_out_otherwise() {
        let done = PendingScan {
            ifindex: 4,
            label: "wlan0".into(),
            events: MlmeEvents::from_stream(futures::stream::iter([
                MlmeEvent::NewScanResults,
                MlmeEvent::ScanStarted,
                MlmeEvent::NewScanResults,
            ])),
        };
        done.wait(Duration::from_secs(5)).await.unwrap();

        let aborted = PendingScan {
            ifindex: 4,
            label: "wlan0".into(),
            events: MlmeEvents::from_stream(futures::stream::iter([
                MlmeEvent::ScanStarted,
                MlmeEvent::ScanAborted,
            ])),
        };
        assert!(matches!(
            aborted.wait(Duration::from_secs(5)).await,
            Err(Nl80211Error::ScanAborted { .. })
        ));

        let silent = PendingScan {
            ifindex: 4,
            label: "wlan0".into(),
            events: MlmeEvents::from_stream(futures::stream::pending()),
        };
        let err = silent.wait(Duration::from_millis(20)).await.unwrap_err();
        assert!(matches!(err, Nl80211Error::Timeout { .. }), "{err}");
        assert!(err.to_string().contains("scan on wlan0"), "{err}");
    }
}
