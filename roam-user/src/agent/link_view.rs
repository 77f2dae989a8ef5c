//! The connection manager's view of the link: the current BSS and network, whether roam may
//! act on it, the kernel filter pointed at it, the scan table.

use super::*;

const NL80211_PROTECTED: &str =
    "the network is protected and no wpa_supplicant answers: bare nl80211 cannot connect to it";

impl Agent {
    /// roam acts unless told to observe, another manager owns Wi-Fi, or the network is one its
    /// backend cannot connect to (bare nl80211 on a protected network).
    pub(super) fn decide_whether_to_act(&mut self, protected: bool) {
        let backend_cannot = self.manager.backend() == Backend::Nl80211
            && !backend_choice::nl80211_can_act(protected);
        let observe = self.config().act.observe_only
            || self.parts.observe_only_because.is_some()
            || backend_cannot;
        if observe != self.conductor.machine().config().observe_only && backend_cannot {
            warn!("{NL80211_PROTECTED}, so roam observes and does not act");
        }
        self.conductor.set_observe_only(observe);
    }

    /// Why roam only observes, where it decided so itself (`roam status`).
    pub(super) fn observe_only_why(&self) -> Option<String> {
        if !self.conductor.machine().config().observe_only || self.config().act.observe_only {
            return None;
        }
        self.parts.observe_only_because.clone().or_else(|| {
            let protected = self.network.as_ref().is_some_and(|n| n.protected);
            (self.manager.backend() == Backend::Nl80211 && protected)
                .then(|| NL80211_PROTECTED.to_owned())
        })
    }

    /// The current BSS, network and its id; points the kernel filter at the BSS.
    pub(super) async fn follow_link_status(&mut self) -> Result<()> {
        let Some(status) = self.manager.status().await? else { return Ok(()) };
        let mut network = Network::new(&status.ssid, status.protected, status.security);
        let network_changed = self.network.as_ref().is_none_or(|n| n.ssid != network.ssid);
        if let Some(known) = self.network.as_ref().filter(|_| !network_changed) {
            network.allowed = known.allowed.clone();
        }
        self.network = Some(network);
        self.decide_whether_to_act(status.protected);
        self.network_id = status.network_id;
        self.current_freq = status.freq_mhz;
        if let Some(addr) = status.address {
            self.station_mac = addr;
        }
        self.feed(conductor::Input::FoundConnected { bssid: status.bssid }, monotonic_ns());
        if !self.liveness.watching(status.bssid) {
            // Found associated (at attachment, or after missed events): watched as if the
            // association had just been reported.
            let now = monotonic_ns();
            self.liveness.associated(status.bssid, now, &mut self.parts.observer);
            self.count_monitor_beacons(status.bssid);
            let row = self.row(&status.bssid);
            if let Some(signal) = &mut self.signal {
                signal.associated(row.as_ref(), now);
            }
        }
        let ssid = candidates::printable_ssid(&status.ssid);
        self.metrics.set_current_bss(Some((status.bssid, ssid, self.current_freq)));
        self.arm_filter();
        if let Some(network) = self.network.as_ref().filter(|_| network_changed) {
            decide::hear_rows_of_the_network(&mut self.book, &self.parts.observer, network);
        }
        // Last: the kernel's filter is armed for the first data frame before these requests.
        match self.manager.filter(status.network_id).await {
            Ok(allowed) => {
                if let Some(network) = &mut self.network {
                    network.allowed = allowed;
                }
            }
            Err(err) => {
                warn!("reading the network's BSSID settings: {err:#}; keeping the last ones read")
            }
        }
        if network_changed && self.network.as_ref().is_some_and(|n| n.security.is_ft_eap()) {
            self.advise_on_ft_eap_caching(status.network_id).await;
        }
        Ok(())
    }

    /// On FT-EAP, wpa_supplicant reconnects with a full EAP exchange unless the network block
    /// allows a cached PMKSA, and roam cannot allow it for its own reconnections: a change to a
    /// network block makes wpa_supplicant flush the network's PMKSA cache (and leave the AP
    /// whose key it flushed). So it says so, once per network.
    async fn advise_on_ft_eap_caching(&self, network_id: Option<u32>) {
        if self.manager.ft_eap_pmksa_caching(network_id).await != Some(false) {
            return;
        }
        info!(
            network = network_id,
            "this FT-EAP network's block has ft_eap_pmksa_caching=0: every reconnection after \
             a disconnection (an AP's deauthentication, a fast transition that failed) runs a \
             full EAP exchange. Where the network's APs derive FT keys from a cached PMK \
             (hostapd 2.9 or later), ft_eap_pmksa_caching=1 in the block skips it (roam's \
             docs/benchmarks.md, FT-EAP)"
        );
    }

    /// Points the socket filter at the current BSS and, during a transition, asks it for the
    /// first data frame.
    pub(super) fn arm_filter(&mut self) {
        let Some(bssid) = self.conductor.current_bss() else { return };
        let watch_data = self.conductor.awaits_first_data();
        let cfg = FilterConfig {
            assoc_bssid: bssid,
            station: self.station_mac,
            silence_intervals: self.config().detect.silence_intervals,
            watch_data: watch_data as u32,
            assoc_beacon_interval_tu: self.assoc_beacon_interval_tu(&bssid).map_or(0, u32::from),
            own_ssid_hash: self.network.as_ref().map_or(0, |n| n.ssid_hash),
            weak_signal_x16: self.signal.as_ref().map_or(0, SignalWatch::watch_level_x16),
        };
        if let Err(err) = self.parts.observer.set_filter_config(&cfg) {
            warn!("configuring the frame filter: {err:#}");
        }
    }

    /// Reads the manager's whole scan table (at start, and after lost events).
    pub(super) async fn load_scan_table(&mut self) {
        let table = self.manager.scan_table().await;
        self.book.rescanned(table, Instant::now());
    }

    pub(super) async fn read_scan_entry(&mut self, bssid: MacAddr) {
        if let Some(bss) = self.manager.scan_entry(bssid).await {
            self.book.scanned(bss, Instant::now());
        }
    }

    /// After a scan: re-read the entries of the station's network (their ages changed), or
    /// the whole table where it is read whole (and a held loss may now have somewhere to go).
    pub(super) async fn refresh_scan_entries(&mut self) {
        if self.manager.reads_table_whole() {
            return self.load_scan_table().await;
        }
        let Some(network) = self.network.clone() else { return };
        let known: Vec<MacAddr> = self
            .book
            .candidates(&network, &[], monotonic_ns(), Instant::now())
            .iter()
            .map(|c| c.bssid)
            .collect();
        for bssid in known {
            self.read_scan_entry(bssid).await;
        }
    }
}
