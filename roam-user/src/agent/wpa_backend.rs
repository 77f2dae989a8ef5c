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
//! - A `ROAM` that failed after the AP went away (a fast transition needing keys the dead AP
//!   held) goes on as such a reconnection, its target's channel scanned first
//!   (`conductor::fallback`).

use std::{sync::Arc, time::Duration};

use anyhow::{anyhow, bail, Context as _, Result};
use tokio::sync::broadcast;
use tracing::{debug, warn};

use super::{
    bss_filter::BssFilter,
    manager::RoamRequest,
    wpa_changes::{RecordLink, WpaChanges},
};
use roam_common::MacAddr;

use crate::wpa::{command, WpaCtrl, WpaEvent};

/// How long a single-channel scan may take before the roam gives up on it.
const SCAN_TIMEOUT: Duration = Duration::from_secs(3);
/// wpa_supplicant refuses a scan (`FAIL-BUSY`) while it authenticates or associates, and says
/// nothing when that attempt ends (within tens of milliseconds when the BSS is gone: as when
/// it tries the dead AP after a failed fast transition). The request is made again this often,
/// for at most [`SCAN_BUSY_MAX`]; its own scan of every channel comes 100-500 ms after.
const SCAN_BUSY_RETRY: Duration = Duration::from_millis(20);
const SCAN_BUSY_MAX: Duration = Duration::from_millis(600);
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
        let target = req.target;
        if req.leave_first {
            // Before the scan: wpa_supplicant refuses one while it tries a BSS of its own.
            self.changes.leave(req.generation).await.context("leaving the AP that went away")?;
        }
        if req.scan_first {
            let asked = tokio::time::Instant::now();
            self.scan_one_channel(req.freq_mhz).await?;
            self.check_scanned(&req, asked.elapsed()).await?;
        }
        if req.disconnected {
            self.reconnect_to(target, req.network_id, req.generation).await
        } else {
            // `ROAM` skips wpa_supplicant's own choice, and with it its ignore list.
            if self.ignored().await?.contains(&target) {
                bail!("wpa_supplicant ignores {target} for now (it failed recently): not roaming there");
            }
            self.ctrl
                .request_expecting(&command::roam(target), "OK")
                .await
                .with_context(|| format!("wpa_supplicant refused ROAM {target}"))
        }
    }

    /// The target, now that the scan of its channel (`scan_took` ago) is in: in the table,
    /// seen by that scan (cfg80211 hands its entries of BSSes unheard for up to 30 s to every
    /// scan's results), and offering the network's suites (a same-SSID beacon proves nothing).
    async fn check_scanned(&self, req: &RoamRequest, scan_took: Duration) -> Result<()> {
        let target = req.target;
        let not_seen = || format!("{target} did not answer the scan of its channel");
        let bss = self.ctrl.bss(target).await?.with_context(not_seen)?;
        // Whole seconds, rounded down on both sides: seen during the scan means no older.
        if u64::from(bss.age_secs) > scan_took.as_secs() {
            bail!("{} (its entry is {} s old)", not_seen(), bss.age_secs);
        }
        let offered = crate::wpa::security::bss_security(&bss.flags);
        if req.security.admits(&offered) == Some(false) {
            bail!(
                "{target} does not offer the network's security ({}): not roaming there",
                bss.flags.join(" ")
            );
        }
        Ok(())
    }

    /// wpa_supplicant's ignore list (`BSSID_IGNORE`; `BLACKLIST` before 2.10).
    async fn ignored(&self) -> Result<Vec<MacAddr>> {
        let mut reply = self.ctrl.request(command::BSSID_IGNORE).await?;
        if reply.starts_with("UNKNOWN COMMAND") {
            reply = self.ctrl.request(command::BLACKLIST).await?;
        }
        Ok(reply.lines().filter_map(|line| line.trim().parse().ok()).collect())
    }

    /// What network `network_id`'s block allows (its own pin, `bssid_accept`, `bssid_ignore`).
    pub async fn filter(&self, network_id: u32) -> Result<BssFilter> {
        let pinned = self.changes.configured_pin(network_id).await?;
        let accept = self.network_list(network_id, "bssid_accept", "bssid_whitelist").await?;
        let ignore = self.network_list(network_id, "bssid_ignore", "bssid_blacklist").await?;
        BssFilter::parse(pinned, accept.as_deref(), ignore.as_deref())
            .with_context(|| format!("network {network_id}'s BSSID lists"))
    }

    /// A list variable of a network block, by its 2.10 name or the older one; `None` unset.
    async fn network_list(&self, id: u32, name: &str, before_2_10: &str) -> Result<Option<String>> {
        for name in [name, before_2_10] {
            let reply = self.ctrl.request(&command::get_network(id, name)).await?;
            let value = reply.trim_end();
            if value != "FAIL" {
                return Ok(Some(value.to_owned()));
            }
        }
        Ok(None)
    }

    /// Whether network `network_id`'s block lets FT-EAP reconnections use a cached PMKSA
    /// (`ft_eap_pmksa_caching`); `None` when it cannot be read (a supplicant before 2.9).
    pub async fn ft_eap_pmksa_caching(&self, network_id: u32) -> Option<bool> {
        let request = command::get_network(network_id, "ft_eap_pmksa_caching");
        match self.ctrl.request(&request).await {
            Ok(reply) => crate::wpa::parse_network_flag(&reply),
            Err(err) => {
                debug!("reading network {network_id}'s ft_eap_pmksa_caching: {err:#}");
                None
            }
        }
    }

    /// `SCAN freq=<MHz>` and wait for its results.
    pub async fn scan_one_channel(&self, freq_mhz: u32) -> Result<()> {
        let mut events = self.events.subscribe();
        let request = command::scan_freq(&[freq_mhz])?;
        let asked = tokio::time::Instant::now();
        loop {
            let reply = self.ctrl.request(&request).await?;
            match reply.trim_end() {
                "OK" => break,
                "FAIL-BUSY" if asked.elapsed() < SCAN_BUSY_MAX => {
                    tokio::time::sleep(SCAN_BUSY_RETRY).await
                }
                other => bail!("wpa_supplicant answered {other:?} to {request}"),
            }
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
        let result = async {
            self.changes.pin(generation, id, target, Some(RESULTS_VALID_SECS)).await?;
            self.changes.reassociate().await.context("wpa_supplicant refused REASSOCIATE")
        }
        .await;
        // Whatever happened: the extension, recorded with the pin, is for this request only.
        if let Err(err) = self.changes.restore_results_valid().await {
            warn!("{err:#}");
        }
        result
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

#[cfg(test)]
mod tests {
    use std::{collections::HashMap, path::PathBuf, sync::Mutex};

    use roam_common::policy::security::NetworkSecurity;
    use tokio::net::UnixDatagram;

    use super::*;

    const TARGET: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);

    /// A fake wpa_supplicant that answers from `script` (`FAIL` to anything else; replies
    /// separated by `|` are given in turn, the last one again and again), keeps every command
    /// it was sent, and reports a scan's results once it accepted a `SCAN`.
    struct Fake {
        dir: PathBuf,
        sent: Arc<Mutex<Vec<String>>>,
        events: broadcast::Sender<WpaEvent>,
    }

    impl Fake {
        fn start(name: &str, script: &[(&str, &str)]) -> Fake {
            let dir = std::env::temp_dir().join(format!("roam-wpa-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let socket = UnixDatagram::bind(dir.join("wlan0")).unwrap();
            let mut script: HashMap<String, Vec<String>> = script
                .iter()
                .map(|(c, r)| (c.to_string(), r.split('|').rev().map(str::to_owned).collect()))
                .collect();
            let sent = Arc::new(Mutex::new(Vec::new()));
            let log = sent.clone();
            let events = broadcast::channel(8).0;
            let results = events.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                loop {
                    let (len, peer) = socket.recv_from(&mut buf).await.unwrap();
                    let cmd = String::from_utf8_lossy(&buf[..len]).into_owned();
                    let reply = match (cmd.as_str(), script.get_mut(&cmd)) {
                        ("PING", _) => "PONG\n".to_owned(),
                        (_, Some(replies)) if replies.len() > 1 => replies.pop().unwrap(),
                        (_, Some(replies)) => replies[0].clone(),
                        _ => "FAIL\n".to_owned(),
                    };
                    let scanning = cmd.starts_with("SCAN") && reply == "OK\n";
                    log.lock().unwrap().push(cmd);
                    let Some(peer) = peer.as_pathname() else { continue };
                    let _ = socket.send_to(reply.as_bytes(), peer).await;
                    if scanning {
                        let _ = results.send(WpaEvent::ScanResults);
                    }
                }
            });
            Fake { dir, sent, events }
        }

        async fn backend(&self) -> WpaBackend {
            let ctrl = Arc::new(WpaCtrl::open(&self.dir, "wlan0").await.unwrap());
            WpaBackend::new(ctrl, self.events.clone(), RecordLink::default()).await
        }

        fn count(&self, command: &str) -> usize {
            self.sent.lock().unwrap().iter().filter(|c| *c == command).count()
        }

        fn sent(&self, prefix: &str) -> bool {
            self.sent.lock().unwrap().iter().any(|c| c.starts_with(prefix))
        }
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn roam_to(target: MacAddr) -> RoamRequest {
        RoamRequest {
            target,
            freq_mhz: 2412,
            ssid: b"roam".to_vec(),
            scan_first: false,
            disconnected: false,
            leave_first: false,
            network_id: Some(0),
            security: NetworkSecurity::Unknown,
            generation: 1,
        }
    }

    #[tokio::test]
    async fn the_network_blocks_lists_are_read_by_either_name() {
        let fake = Fake::start(
            "filter",
            &[
                ("GET_NETWORK 0 bssid_ignore", "02:00:00:00:01:00\n"),
                ("GET_NETWORK 0 bssid_whitelist", "02:00:00:00:00:00/ff:ff:ff:ff:00:00\n"),
            ],
        );
        let filter = fake.backend().await.filter(0).await.unwrap();
        assert!(!filter.admits(TARGET), "ignored by bssid_ignore");
        assert!(filter.admits(MacAddr([2, 0, 0, 0, 2, 0])));
        assert!(!filter.admits(MacAddr([2, 0, 0, 1, 2, 0])), "outside the accept list");
    }

    /// `ROAM` bypasses wpa_supplicant's ignore list: roam reads it first.
    #[tokio::test]
    async fn a_target_the_supplicant_ignores_is_not_roamed_to() {
        let fake = Fake::start(
            "ignored",
            &[("BSSID_IGNORE", "02:00:00:00:01:00\n"), ("ROAM 02:00:00:00:02:00", "OK\n")],
        );
        let backend = fake.backend().await;
        let err = backend.roam(roam_to(TARGET)).await.unwrap_err();
        assert!(err.to_string().contains("ignores 02:00:00:00:01:00"), "{err}");
        assert!(!fake.sent("ROAM "), "no ROAM was sent");
        backend.roam(roam_to(MacAddr([2, 0, 0, 0, 2, 0]))).await.unwrap();
        assert!(fake.sent("ROAM 02:00:00:00:02:00"));
    }

    /// cfg80211 hands its entries of BSSes unheard for up to 30 s to every scan's results: the
    /// target must have been seen by the scan roam asked for, not seconds before it.
    #[tokio::test]
    async fn a_target_the_scan_did_not_see_again_is_not_pinned() {
        let entry = |age: u32| {
            format!(
                "id=3\nbssid=02:00:00:00:01:00\nfreq=2412\nlevel=-30\nage={age}\nflags=[ESS]\nssid=roam\n"
            )
        };
        let reconnect = RoamRequest { scan_first: true, disconnected: true, ..roam_to(TARGET) };
        let stale = entry(3);
        let fake =
            Fake::start("stale", &[("SCAN freq=2412", "OK\n"), ("BSS 02:00:00:00:01:00", &stale)]);
        let err = fake.backend().await.roam(reconnect.clone()).await.unwrap_err();
        assert!(err.to_string().contains("did not answer the scan"), "{err}");
        assert!(!fake.sent("BSSID "), "no pin");

        let fresh = entry(0);
        let fake = Fake::start(
            "fresh",
            &[
                ("SCAN freq=2412", "OK\n"),
                ("BSS 02:00:00:00:01:00", &fresh),
                ("ROAM 02:00:00:00:01:00", "OK\n"),
            ],
        );
        let roam = RoamRequest { scan_first: true, ..roam_to(TARGET) };
        fake.backend().await.roam(roam).await.unwrap();
        assert!(fake.sent("ROAM 02:00:00:00:01:00"));
    }

    /// wpa_supplicant refuses a scan while it tries a BSS of its own choosing (the dead AP,
    /// after a failed fast transition): asked again until it accepts, for a while.
    #[tokio::test]
    async fn a_scan_refused_as_busy_is_asked_again() {
        let fake = Fake::start("busy", &[("SCAN freq=2412", "FAIL-BUSY\n|FAIL-BUSY\n|OK\n")]);
        fake.backend().await.scan_one_channel(2412).await.unwrap();
        assert_eq!(fake.count("SCAN freq=2412"), 3);

        let fake = Fake::start("always-busy", &[("SCAN freq=2412", "FAIL-BUSY\n")]);
        let err = fake.backend().await.scan_one_channel(2412).await.unwrap_err();
        assert!(err.to_string().contains("FAIL-BUSY"), "{err}");
        let tries = fake.count("SCAN freq=2412");
        assert!(tries > 3, "asked again while busy, {tries} times");

        let fake = Fake::start("refused", &[("SCAN freq=2412", "FAIL\n")]);
        assert!(fake.backend().await.scan_one_channel(2412).await.is_err());
        assert_eq!(fake.count("SCAN freq=2412"), 1, "a plain refusal is final");
    }
}
