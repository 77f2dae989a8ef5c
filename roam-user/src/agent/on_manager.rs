//! What the connection manager reports: connection steps, disconnections (and who ended
//! them), scans, restarts.

use super::*;
use conductor::Input;

impl Agent {
    pub(super) async fn on_manager(&mut self, event: ManagerEvent) {
        let now = monotonic_ns();
        let connecting = |step, bssid| Input::Connecting { step, bssid };
        let input = match event {
            ManagerEvent::Connected { bssid } => {
                self.follow_link_status().await.unwrap_or_else(|e| warn!("status: {e:#}"));
                self.feed(Input::Connected { bssid }, now);
                if self.network.as_ref().is_some_and(|n| n.security.is_enterprise()) {
                    // The connection may have added one (the AP just authenticated with).
                    self.cached_keys = self.manager.cached_keys().await;
                }
                let row = self.row(&bssid);
                if let Some(signal) = &mut self.signal {
                    signal.associated(row.as_ref(), now);
                }
                self.liveness.associated(bssid, now, &mut self.parts.observer);
                self.count_monitor_beacons(bssid);
                return self.arm_filter();
            }
            ManagerEvent::ConnectFailed { bssid } => Input::ConnectFailed { bssid },
            ManagerEvent::Disconnected { bssid, reason, by_ap } => {
                self.liveness.disassociated();
                Input::Disconnected { bssid, reason, by_ap }
            }
            ManagerEvent::Authenticating { bssid } => connecting(TransitionStep::Auth, Some(bssid)),
            ManagerEvent::Associating => connecting(TransitionStep::Assoc, None),
            ManagerEvent::Associated { bssid } => {
                connecting(TransitionStep::Associated, Some(bssid))
            }
            ManagerEvent::EapStarted => Input::Step(TransitionStep::EapStarted),
            ManagerEvent::EapSucceeded => Input::Step(TransitionStep::EapDone),
            ManagerEvent::ScanStarted => {
                self.liveness.away(now, now + SCAN_AWAY_MAX.as_nanos() as u64);
                Input::Scanning
            }
            ManagerEvent::ScanResults => {
                self.liveness.back(now);
                self.refresh_scan_entries().await;
                Input::ScanDone
            }
            ManagerEvent::Resync => return self.resync().await,
            ManagerEvent::ManagerRestarted => {
                self.emitter.emit(AgentEvent::ManagerRestarted { backend: self.manager.backend() });
                return self.resync().await;
            }
            ManagerEvent::BssAdded { bssid } => return self.read_scan_entry(bssid).await,
            ManagerEvent::BssRemoved { bssid } => return self.book.forget_scanned(&bssid),
            ManagerEvent::BeaconLoss => {
                return self.metrics.beacon_loss_detected("supplicant");
            }
            ManagerEvent::Other => return,
        };
        self.feed(input, now);
    }

    /// Re-reads what events would have told: the manager's scan table and connection.
    pub(super) async fn resync(&mut self) {
        self.load_scan_table().await;
        self.follow_link_status().await.unwrap_or_else(|e| warn!("status: {e:#}"));
    }
}
