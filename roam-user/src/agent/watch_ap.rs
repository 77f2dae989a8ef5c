//! Timers and liveness: the deadlines, the monitor's check of itself, asking the AP, and
//! keeping the candidates fresh.

use super::*;
use roam_common::policy::SignalVerdict;

/// How long the station's signal is waited for (the kernel answers within a millisecond).
const STATION_SIGNAL_WAIT: Duration = Duration::from_millis(200);

impl Agent {
    pub(super) async fn on_deadline(&mut self) {
        let now = monotonic_ns();
        let due = |deadline: Option<u64>| deadline.is_some_and(|at| at <= now);
        if due(self.conductor.next_deadline()) {
            self.feed(conductor::Input::Tick, now);
        }
        if due(self.monitor_check.and_then(|check| check.due_ns())) {
            self.judge_monitor();
        }
        if due(self.signal.as_ref().and_then(SignalWatch::next_wakeup_ns)) {
            self.watch_signal(now).await;
        }
        if due(self.liveness.next_wakeup_ns()) {
            let change = self.liveness.wake(now, &self.parts.observer);
            self.on_liveness(change);
        }
        if due(Some(self.refresh_at)) {
            self.refresh_at =
                after(REFRESH_INTERVAL.max(self.config().candidates.refresh_min_interval()));
            self.catch_up_with_link().await;
            if let Some(network) = &self.network {
                decide::hear_unannounced_rows(
                    &mut self.book,
                    &self.parts.observer,
                    network,
                    &mut self.unannounced_seen,
                );
            }
            self.refresh_candidates().await;
        }
    }

    /// The manager's events can be lost (wpa_supplicant drops its event messages while any of
    /// its monitors lags behind): a connection it reports that the machine missed is taken as
    /// if its event had come, or roam would sit in ASSOC, blind to every later loss.
    pub(super) async fn catch_up_with_link(&mut self) {
        let Ok(Some(status)) = self.manager.status().await else { return };
        if !self.conductor.machine().missed_connection(status.bssid, monotonic_ns()) {
            return;
        }
        warn!(
            bssid = %status.bssid,
            state = self.conductor.machine().state().name(),
            "missed the connection manager's connection event: catching up with its state"
        );
        self.on_manager(ManagerEvent::Connected { bssid: status.bssid }).await;
    }

    /// Whether the monitor's silence means anything: it hears the AP (or has not been judged yet).
    pub(super) fn monitor_hears(&self) -> bool {
        self.monitor_check
            .is_some_and(|check| !matches!(check.health(), MonitorHealth::Deaf { .. }))
    }

    /// The monitor interface was deleted under roam: its silence means nothing until it is
    /// back. It is created again and the frame filter bound to it; if that fails, or the radio
    /// keeps deleting it, roam goes on without it.
    pub(super) async fn on_monitor_removed(&mut self) {
        self.monitor_check = None;
        // Until the monitor is back and heard to hear the AP.
        if let Some(signal) = &mut self.signal {
            signal.use_source(SignalSource::Station, monotonic_ns());
        }
        let (Some(watch), Some(monitor)) = (&mut self.monitor_watch, &mut self.parts.monitor)
        else {
            return;
        };
        let name = monitor.name().to_owned();
        warn!("the monitor interface {name} was deleted (a driver reset?): its silence is ignored until it is back");
        let recreated = if watch.may_recreate(monotonic_ns()) {
            match monitor.recreate().await {
                Ok(()) => self.parts.observer.rebind_frames(monitor.ifindex()),
                Err(err) => Err(err.into()),
            }
        } else {
            Err(anyhow::anyhow!("it was deleted too often"))
        };
        match recreated {
            Ok(()) => {
                watch.follow(monitor.ifindex());
                info!(monitor = %name, ifindex = monitor.ifindex(), "monitor interface created again");
                if let Some(bssid) = self.conductor.current_bss() {
                    self.count_monitor_beacons(bssid);
                }
            }
            Err(err) => {
                warn!("{name} is not created again ({err:#}): roam watches the AP through acknowledgements alone");
                self.parts.monitor_absent =
                    Some(format!("the monitor interface was deleted: {err:#}"));
                self.monitor_watch = None;
            }
        }
    }

    /// Starts counting the beacons the monitor hears of the AP just associated with.
    pub(super) fn count_monitor_beacons(&mut self, bssid: MacAddr) {
        if self.parts.monitor_absent.is_some() {
            return;
        }
        let beacons = self.row(&bssid).map_or(0, |row| row.beacon_count);
        self.monitor_check = Some(MonitorCheck::start(monotonic_ns(), beacons));
    }

    pub(super) fn judge_monitor(&mut self) {
        let Some(bssid) = self.conductor.current_bss() else { return };
        let row = self.parts.observer.bss_record(&bssid).ok().flatten();
        let interval_tu = self
            .assoc_beacon_interval_tu(&bssid)
            .or_else(|| row.map(|r| r.beacon_interval_tu))
            .unwrap_or(0);
        let Some(check) = &mut self.monitor_check else { return };
        let health = check.finish(monotonic_ns(), row.map_or(0, |r| r.beacon_count), interval_tu);
        let source = match health {
            MonitorHealth::Deaf { .. } => Some(SignalSource::Station),
            MonitorHealth::Hears { .. } => Some(SignalSource::Monitor),
            MonitorHealth::Unknown => None,
        };
        if let (Some(signal), Some(source)) = (&mut self.signal, source) {
            signal.use_source(source, monotonic_ns());
        }
        match health {
            MonitorHealth::Deaf { heard, expected } => warn!(
                "the monitor heard {heard} of the {expected} beacons {bssid} sent: this driver \
                 filters its AP's beacons; their silence is ignored, acknowledgements decide"
            ),
            MonitorHealth::Hears { heard, expected } => {
                debug!("the monitor heard {heard} of the {expected} beacons {bssid} sent")
            }
            MonitorHealth::Unknown => {}
        }
    }

    /// The beacon interval the connection manager associated with, which the kernel's silence
    /// test and the monitor's check use rather than a beacon's (anyone can send one in the
    /// AP's name).
    pub(super) fn assoc_beacon_interval_tu(&self, bssid: &MacAddr) -> Option<u16> {
        self.book.scan_entry(bssid)?.bss.beacon_interval_tu
    }

    pub(super) fn row(&self, bssid: &MacAddr) -> Option<roam_common::maps::BssRecord> {
        self.parts.observer.bss_record(bssid).ok().flatten()
    }

    /// Something suggests the AP may be gone: ask it now (the liveness rule decides whether a
    /// probe goes out, and what its answer means).
    pub(super) fn ask_the_ap(&mut self) {
        let now = monotonic_ns();
        self.liveness.hint(now);
        let change = self.liveness.wake(now, &self.parts.observer);
        self.on_liveness(change);
    }

    /// What the liveness rule found: the AP lost (a loss to act on), or back (a false alarm).
    pub(super) fn on_liveness(&mut self, change: Option<Change>) {
        if let Some(change) = change {
            self.feed(conductor::Input::Liveness(change), monotonic_ns());
        }
    }

    /// Samples the serving AP's weak signal and judges its trend: a roam to a candidate enough
    /// stronger, or a refresh scan of the strongest one's channel while it falls.
    async fn watch_signal(&mut self, now: u64) {
        let Some(current) = self.conductor.current_bss() else { return };
        let Some(source) = self.signal.as_ref().map(SignalWatch::source) else { return };
        let avg_x16 = match source {
            SignalSource::Monitor => signal_watch::average_x16(self.row(&current).as_ref()),
            SignalSource::Station => self.station_signal_x16(current).await,
        };
        let Some(signal) = &mut self.signal else { return };
        signal.sample(avg_x16, now);
        let (Some(network), State::Run) = (&self.network, self.conductor.machine().state()) else {
            return;
        };
        let rows = self.book.rows_in(network, |b| self.parts.observer.bss_record(b).ok()?);
        let candidates = self.book.candidates(network, &rows, now, Instant::now());
        match signal.judge(current, &candidates, now) {
            SignalVerdict::Stay => {}
            SignalVerdict::Roam { target, serving_x16 } => {
                info!(%current, target = %target.bssid, "the signal fades: roaming before the link breaks");
                self.feed(conductor::Input::SignalFading { target, serving_x16 }, now);
            }
            SignalVerdict::Recheck { target } => {
                if signal.may_recheck(now) {
                    debug!(bssid = %target.bssid, freq = target.freq_mhz, "the signal fell: looking again at a candidate measured before the fall");
                    self.scan_one_channel(target.freq_mhz, &network.ssid);
                }
            }
            SignalVerdict::Look => {
                let strongest = candidates
                    .iter()
                    .filter(|c| c.bssid != current)
                    .max_by_key(|c| c.signal_dbm.unwrap_or(i32::MIN));
                if let Some(best) = strongest.filter(|_| signal.may_look(now)) {
                    debug!(bssid = %best.bssid, freq = best.freq_mhz, "the signal falls: refreshing the strongest candidate");
                    self.scan_one_channel(best.freq_mhz, &network.ssid);
                }
            }
        }
    }

    /// A single-channel scan for the network, in the background: its results reach the
    /// candidate book as the manager reports them.
    fn scan_one_channel(&self, freq_mhz: u32, ssid: &[u8]) {
        let actor = self.manager.actor();
        let ssid = ssid.to_vec();
        tokio::spawn(async move {
            if let Err(err) = actor.scan_one_channel(freq_mhz, &ssid).await {
                debug!("refresh scan: {err:#}");
            }
        });
    }

    /// The station's own measurement of `ap`'s signal, dBm x 16 (none if it is not the AP the
    /// driver is associated with, or the driver does not answer in time).
    async fn station_signal_x16(&self, ap: MacAddr) -> Option<i32> {
        let read = self.parts.nl80211.station_signal(self.station_ifindex);
        match tokio::time::timeout(STATION_SIGNAL_WAIT, read).await {
            Ok(Ok(Some(signal))) if signal.peer == ap => Some(signal.dbm * 16),
            Ok(Ok(_)) => None,
            Ok(Err(err)) => {
                debug!("reading the station's signal: {err:#}");
                None
            }
            Err(_) => None,
        }
    }

    /// Keeps the best candidate usable: a single-channel scan when its scan entry would expire
    /// (bounded by the refresh interval), so a roam never needs a full scan.
    pub(super) async fn refresh_candidates(&mut self) {
        if !self.config().candidates.refresh_scans || self.conductor.machine().state() != State::Run
        {
            return;
        }
        // Standing still in a weak spot: a scan would only let the manager trade APs on noise.
        if self.signal.as_ref().is_some_and(|signal| signal.weak_and_steady(monotonic_ns())) {
            return;
        }
        let (Some(network), Some(current)) = (self.network.clone(), self.conductor.current_bss())
        else {
            return;
        };
        let candidates = self.book.candidates(&network, &[], monotonic_ns(), Instant::now());
        let Some(best) = candidates.iter().find(|c| c.bssid != current) else { return };
        let stale_after_ms = policy::candidate::SCAN_ENTRY_USABLE_MS - 5_000;
        if best.scan_age_ms.is_some_and(|age| age > stale_after_ms) {
            debug!(bssid = %best.bssid, freq = best.freq_mhz, "refreshing the candidate's scan entry");
            let actor = self.manager.actor();
            let freq = best.freq_mhz;
            let ssid = network.ssid.clone();
            tokio::spawn(async move {
                if let Err(err) = actor.scan_one_channel(freq, &ssid).await {
                    debug!("refresh scan: {err:#}");
                }
            });
        }
    }
}
