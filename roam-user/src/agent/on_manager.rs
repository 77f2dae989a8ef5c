//! What the connection manager reports: connection steps, disconnections (and who ended
//! them), scans, restarts.

use super::*;

impl Agent {
    pub(super) async fn on_manager(&mut self, event: ManagerEvent) {
        let now = monotonic_ns();
        match event {
            ManagerEvent::Connected { bssid } => {
                self.retry_at = None;
                // A deauthentication seen before this connection is not the next one's.
                self.ap_ended = None;
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
        let (trigger, at) = ap_ended_trigger(self.ap_ended.take(), reason, now);
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

/// How long before the manager's disconnection the kernel's sight of the frame can be: a
/// deauthentication is processed within milliseconds; one seen long before (during an earlier
/// connection's setup) is another's.
const AP_ENDED_FRESH_NS: u64 = 1_000_000_000;

/// The sighting to keep when the kernel sees the AP end the association at `new`: the first
/// since the last one went stale (an AP may send another right after the first: hostapd
/// answers the station's next frame with a reason-7 deauthentication). Pure.
pub(super) fn first_sighting(
    kept: Option<(Trigger, u64)>,
    new: (Trigger, u64),
) -> Option<(Trigger, u64)> {
    match kept {
        Some((_, at)) if new.1.saturating_sub(at) <= AP_ENDED_FRESH_NS => kept,
        _ => Some(new),
    }
}

/// The loss the AP's deauthentication or disassociation is: the kind and time from the kernel,
/// which saw the frame first (when it saw it just now), the reason from the manager, which
/// processed it (under PMF the frame's reason is encrypted, and the kernel's is 0). Pure.
fn ap_ended_trigger(seen: Option<(Trigger, u64)>, reason: u16, now: u64) -> (Trigger, u64) {
    let seen = seen.filter(|&(_, at)| now.saturating_sub(at) <= AP_ENDED_FRESH_NS);
    let (trigger, at) = seen.unwrap_or((Trigger::Deauth { reason }, now));
    let reason_of = |kernel: u16| if reason != 0 { reason } else { kernel };
    let trigger = match trigger {
        Trigger::Deauth { reason } => Trigger::Deauth { reason: reason_of(reason) },
        Trigger::Disassoc { reason } => Trigger::Disassoc { reason: reason_of(reason) },
        other => other,
    };
    (trigger, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn the_kernels_sight_gives_kind_and_time_the_manager_the_reason() {
        let now = 10_000 * MS;
        let seen = Some((Trigger::Disassoc { reason: 0 }, now - 5 * MS));
        assert_eq!(ap_ended_trigger(seen, 5, now), (Trigger::Disassoc { reason: 5 }, now - 5 * MS));
        let seen = Some((Trigger::Deauth { reason: 7 }, now - 5 * MS));
        assert_eq!(ap_ended_trigger(seen, 0, now), (Trigger::Deauth { reason: 7 }, now - 5 * MS));
    }

    #[test]
    fn the_first_fresh_sighting_is_kept() {
        let now = 10_000 * MS;
        let first = (Trigger::Deauth { reason: 3 }, now);
        let kept = first_sighting(None, first);
        let echo = (Trigger::Deauth { reason: 7 }, now + 20 * MS);
        assert_eq!(first_sighting(kept, echo), Some(first), "hostapd's reason-7 echo");
        let later = (Trigger::Deauth { reason: 3 }, now + 5_000 * MS);
        assert_eq!(first_sighting(kept, later), Some(later), "the first went stale");
    }

    /// A reason-7 deauthentication seen while an earlier connection was set up, never
    /// processed as a disconnection, must not become the next loss's reason (it would hold the
    /// loss as one wpa_supplicant recovers from by itself).
    #[test]
    fn a_stale_sighting_is_not_the_next_loss() {
        let now = 10_000 * MS;
        let stale = Some((Trigger::Deauth { reason: 7 }, now - 2_000 * MS));
        assert_eq!(ap_ended_trigger(stale, 3, now), (Trigger::Deauth { reason: 3 }, now));
    }
}
