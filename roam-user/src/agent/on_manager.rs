//! What the connection manager reports: connection steps, disconnections (and who ended
//! them), scans, restarts.

use super::*;

impl Agent {
    pub(super) async fn on_manager(&mut self, event: ManagerEvent) {
        let now = monotonic_ns();
        match event {
            ManagerEvent::Connected { bssid } => {
                self.retry_at = None;
                self.no_candidate.reset();
                self.follow_link_status().await.unwrap_or_else(|e| warn!("status: {e:#}"));
                if let Some(t) = &mut self.transition {
                    t.to = Some(bssid);
                    t.mark(TransitionStep::Connected, now);
                    self.first_data_deadline = Some(after(FIRST_DATA_WAIT));
                }
                let step = self.machine.handle(Input::Connected { bssid }, now);
                self.apply(step).await;
                self.liveness.associated(bssid, now, &mut self.parts.observer);
                self.count_monitor_beacons(bssid);
                self.arm_filter();
            }
            ManagerEvent::ConnectFailed { bssid } => {
                // A refusal by another BSS than roam's target is not the roam's.
                let ours = bssid.is_none_or(|b| Some(b) == self.machine.roam_target());
                if self.machine.state() == State::Roaming && ours {
                    let step = self.machine.handle(Input::ActionFailed, now);
                    self.apply(step).await;
                }
            }
            ManagerEvent::Disconnected { bssid, reason, by_ap } => {
                self.liveness.disassociated();
                let was = self.machine.current_bss();
                if let Some(t) = &mut self.transition {
                    t.mark(TransitionStep::Left, now);
                }
                let step = self.machine.handle(Input::Disconnected, now);
                self.apply(step).await;
                if by_ap && was.is_some() && bssid.is_none_or(|b| Some(b) == was) {
                    self.on_ap_ended(reason, now).await;
                }
            }
            ManagerEvent::Authenticating => {
                self.mark_or_start(TransitionStep::Auth, now);
                let step =
                    self.machine.handle(Input::Authenticating { bssid: MacAddr::UNSET }, now);
                self.apply(step).await;
            }
            ManagerEvent::Associating => {
                self.mark_or_start(TransitionStep::Assoc, now);
                let step = self.machine.handle(Input::Associating { bssid: MacAddr::UNSET }, now);
                self.apply(step).await;
            }
            ManagerEvent::Associated { bssid } => {
                self.mark_or_start(TransitionStep::Associated, now);
                let step = self.machine.handle(Input::Associated { bssid }, now);
                self.apply(step).await;
            }
            ManagerEvent::ScanStarted => {
                self.liveness.away(now, now + SCAN_AWAY_MAX.as_nanos() as u64);
                let step = self.machine.handle(Input::Scanning, now);
                self.apply(step).await;
            }
            ManagerEvent::ScanResults => {
                self.liveness.back(now);
                self.refresh_scan_entries().await;
            }
            ManagerEvent::Resync => self.resync().await,
            ManagerEvent::ManagerRestarted => {
                self.emitter.emit(AgentEvent::ManagerRestarted { backend: self.manager.backend() });
                self.resync().await;
            }
            ManagerEvent::BssAdded { bssid } => self.read_scan_entry(bssid).await,
            ManagerEvent::BssRemoved { bssid } => self.book.forget_scanned(&bssid),
            ManagerEvent::BeaconLoss => self.metrics.beacon_loss_detected("supplicant"),
            ManagerEvent::Other => {}
        }
    }

    /// Re-reads what events would have told: the manager's scan table and connection.
    pub(super) async fn resync(&mut self) {
        self.load_scan_table().await;
        self.follow_link_status().await.unwrap_or_else(|e| warn!("status: {e:#}"));
    }

    /// The AP ended the association (the kernel saw the frame first, with its direction and
    /// protection; the manager's disconnect says it is processed): a loss to act on.
    pub(super) async fn on_ap_ended(&mut self, reason: u16, now: u64) {
        let (trigger, at) = self.ap_ended.take().unwrap_or((Trigger::Deauth { reason }, now));
        let trigger = match trigger {
            Trigger::Deauth { reason: 0 } => Trigger::Deauth { reason },
            Trigger::Disassoc { reason: 0 } => Trigger::Disassoc { reason },
            t => t,
        };
        match trigger {
            Trigger::Disassoc { reason } => {
                self.metrics.disassoc_received(Some(reason));
                self.counters.disassocs += 1;
            }
            Trigger::Deauth { reason } => {
                self.metrics.deauth_received(Some(reason));
                self.counters.deauths += 1;
            }
            _ => {}
        }
        self.on_loss(trigger, at, now, LossSource::Ap).await;
    }

    /// A connection step: a phase of the transition in progress, or the start of one the
    /// supplicant began on its own (a deliberate roam, a reconnection roam did not trigger).
    pub(super) fn mark_or_start(&mut self, step: TransitionStep, now: u64) {
        if self.transition.is_none() && self.machine.state() == State::Run {
            self.start_transition(None, now);
        }
        if let Some(t) = &mut self.transition {
            t.mark(step, now);
        }
    }
}
