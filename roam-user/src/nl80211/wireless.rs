//! [`Wireless`]: what the agent needs from the Wi-Fi stack, as a trait, so
//! its logic can be tested against a fake instead of a radio.

use roam_common::MacAddr;
use std::future::Future;
use std::time::Duration;

use super::bss::ScanBss;
use super::client::Nl80211;
use super::error::Result;
use super::iface::WirelessIface;
use super::subscription::MlmeEvents;

/// The agent's view of nl80211. [`Nl80211`] is the real one; tests
/// implement it with canned answers (events via [`MlmeEvents::from_receiver`]).
///
/// Methods return `impl Future + Send` (rather than `async fn`) so the
/// agent can run them on spawned tasks.
pub trait Wireless: Send + Sync {
    /// The interface's radio, MAC, type, and current SSID/frequency.
    fn interface(&self, ifindex: u32) -> impl Future<Output = Result<WirelessIface>> + Send;

    /// Scans `freqs_mhz` (all channels when empty), probing for `ssid`,
    /// and returns once the scan finished (or fails: busy, aborted, timeout).
    fn scan(
        &self,
        ifindex: u32,
        freqs_mhz: &[u32],
        ssid: Option<&[u8]>,
        timeout: Duration,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The BSSes the kernel currently knows.
    fn scan_results(&self, ifindex: u32) -> impl Future<Output = Result<Vec<ScanBss>>> + Send;

    /// Starts connecting to an open network's BSS; the result comes as an
    /// [`super::MlmeEvent::Connect`].
    fn connect(
        &self,
        ifindex: u32,
        ssid: &[u8],
        bssid: MacAddr,
        freq_mhz: u32,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Leaves the current network (no error when not connected).
    fn disconnect(&self, ifindex: u32) -> impl Future<Output = Result<()>> + Send;

    /// The interface's scan and MLME events from now on.
    fn mlme_events(&self, ifindex: u32) -> Result<MlmeEvents>;
}

impl Wireless for Nl80211 {
    fn interface(&self, ifindex: u32) -> impl Future<Output = Result<WirelessIface>> + Send {
        Nl80211::interface(self, ifindex)
    }

    fn scan(
        &self,
        ifindex: u32,
        freqs_mhz: &[u32],
        ssid: Option<&[u8]>,
        timeout: Duration,
    ) -> impl Future<Output = Result<()>> + Send {
        Nl80211::scan(self, ifindex, freqs_mhz, ssid, timeout)
    }

    fn scan_results(&self, ifindex: u32) -> impl Future<Output = Result<Vec<ScanBss>>> + Send {
        Nl80211::scan_results(self, ifindex)
    }

    fn connect(
        &self,
        ifindex: u32,
        ssid: &[u8],
        bssid: MacAddr,
        freq_mhz: u32,
    ) -> impl Future<Output = Result<()>> + Send {
        Nl80211::connect(self, ifindex, ssid, bssid, freq_mhz)
    }

    fn disconnect(&self, ifindex: u32) -> impl Future<Output = Result<()>> + Send {
        Nl80211::disconnect(self, ifindex)
    }

    fn mlme_events(&self, ifindex: u32) -> Result<MlmeEvents> {
        Nl80211::mlme_events(self, ifindex)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::super::bss::BssStatus;
    use super::super::error::Nl80211Error;
    use super::super::events::MlmeEvent;
    use super::super::iface::IfType;
    use super::*;

    /// What an agent test's fake looks like: canned answers, recorded calls.
    #[derive(Default)]
    struct FakeWireless {
        connects: Mutex<Vec<(MacAddr, u32)>>,
    }

    impl Wireless for FakeWireless {
        async fn interface(&self, ifindex: u32) -> Result<WirelessIface> {
            Ok(WirelessIface {
                ifindex,
                name: "wlan0".into(),
                wiphy: 0,
                wdev: 1,
                mac: MacAddr([2, 0, 0, 0, 0, 0]),
                iftype: IfType::Station,
                ssid: Some(b"roam-open".to_vec()),
                freq_mhz: Some(2412),
            })
        }

        async fn scan(&self, ifindex: u32, _: &[u32], _: Option<&[u8]>, _: Duration) -> Result<()> {
            Err(Nl80211Error::ScanBusy { iface: format!("ifindex {ifindex}") })
        }

        async fn scan_results(&self, _: u32) -> Result<Vec<ScanBss>> {
            Ok(vec![ScanBss {
                bssid: MacAddr([2, 0, 0, 0, 1, 0]),
                freq_mhz: 2437,
                signal_mbm: Some(-4000),
                seen_ms_ago: Some(10),
                ssid: Some(b"roam-open".to_vec()),
                beacon_interval_tu: 100,
                capability: 1,
                has_rsn: false,
                status: BssStatus::None,
            }])
        }

        async fn connect(&self, _: u32, _: &[u8], bssid: MacAddr, freq_mhz: u32) -> Result<()> {
            self.connects.lock().unwrap().push((bssid, freq_mhz));
            Ok(())
        }

        async fn disconnect(&self, _: u32) -> Result<()> {
            Ok(())
        }

        fn mlme_events(&self, _: u32) -> Result<MlmeEvents> {
            Ok(MlmeEvents::from_stream(futures::stream::iter([MlmeEvent::Connect {
                bssid: Some(MacAddr([2, 0, 0, 0, 1, 0])),
                status_code: 0,
                timed_out: false,
            }])))
        }
    }

    /// Agent-style code, generic over the trait: roam to the strongest
    /// other BSS of our SSID.
    async fn roam_to_best<W: Wireless>(wireless: &W, ifindex: u32) -> Result<Option<MlmeEvent>> {
        let mut events = wireless.mlme_events(ifindex)?;
        let me = wireless.interface(ifindex).await?;
        if let Err(e) =
            wireless.scan(ifindex, &[2437], me.ssid.as_deref(), Duration::from_secs(1)).await
        {
            assert!(matches!(e, Nl80211Error::ScanBusy { .. }));
        }
        let best = wireless
            .scan_results(ifindex)
            .await?
            .into_iter()
            .filter(|bss| bss.ssid == me.ssid)
            .max_by_key(|bss| bss.signal_mbm)
            .unwrap();
        wireless.connect(ifindex, me.ssid.as_deref().unwrap(), best.bssid, best.freq_mhz).await?;
        Ok(events.next_event().await)
    }

    #[tokio::test]
    async fn agent_logic_runs_against_a_fake() {
        let fake = FakeWireless::default();
        let outcome = roam_to_best(&fake, 4).await.unwrap();
        assert!(outcome.unwrap().is_connected());
        assert_eq!(*fake.connects.lock().unwrap(), vec![(MacAddr([2, 0, 0, 0, 1, 0]), 2437)]);
    }

    #[test]
    fn the_real_client_is_send_and_its_futures_too() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<Nl80211>();
        fn spawnable<W: Wireless + 'static>(w: std::sync::Arc<W>) {
            std::mem::drop(tokio::spawn(async move { w.disconnect(4).await }));
        }
        let _ = spawnable::<Nl80211>;
    }
}
