//! What the kernel programs report: frames of the serving AP and its neighbours, carrier,
//! the port opening, first data, and what the neighbour task put back.

use super::*;

impl Agent {
    pub(super) async fn on_kernel(&mut self, Stamped { at_ns, event, .. }: Stamped) {
        self.metrics.kernel_event(event.kind().name());
        let current = self.machine.current_bss();
        match event {
            KernelEvent::BssNew { bssid, ssid_hash, freq_mhz, .. } => {
                self.book.heard(bssid, ssid_hash);
                debug!(%bssid, freq = freq_mhz, "new BSS heard");
            }
            // The monitor stopped hearing the AP, or the station sends into silence: only a
            // reason to ask the AP (a monitor may hear nothing of a healthy AP: many chips
            // filter its beacons in firmware).
            KernelEvent::BssSilent { bssid, .. }
                if Some(bssid) == current && self.monitor_hears() =>
            {
                self.ask_the_ap().await
            }
            KernelEvent::TxUnanswered { .. } => self.ask_the_ap().await,
            // The BSS the station lost is back while roam holds the loss for want of somewhere
            // to go (bare nl80211: nobody else reconnects): try now, not at the next retry.
            KernelEvent::BssHeard { bssid }
                if self.retry_at.is_some()
                    && self.transition.as_ref().is_some_and(|t| t.from == Some(bssid)) =>
            {
                self.retry_held_loss().await
            }
            KernelEvent::BssHeard { bssid } if Some(bssid) == current => {
                let change = self.liveness.heard(at_ns);
                self.on_liveness(change).await;
                let step = self.machine.handle(Input::ApHeard { bssid }, monotonic_ns());
                self.apply(step).await;
            }
            KernelEvent::Leave(leave) => {
                if !leave.from_ap
                    || Some(leave.bssid) != current
                    || leave.transmitter == self.station_mac
                {
                    return;
                }
                // Under PMF the reason is encrypted: what the air shows of it means nothing.
                let reason = if leave.protected { 0 } else { leave.reason };
                let trigger = match leave.kind {
                    LeaveKind::Deauth => Trigger::Deauth { reason },
                    LeaveKind::Disassoc => Trigger::Disassoc { reason },
                };
                // The supplicant is about to process it: act once it has (ROAM would race it).
                // The first one counts: an AP may send another right after (hostapd answers
                // the station's next frame with a reason-7 deauthentication).
                self.ap_ended = on_manager::first_sighting(self.ap_ended, (trigger, at_ns));
            }
            KernelEvent::Carrier { up } => self.on_carrier(up, at_ns),
            // mac80211's beacon loss (and a driver's) is mac80211 starting to probe the AP, not
            // its verdict: beacons can stop reaching the host while the AP is fine (firmware
            // filters, a noisy spell). roam asks the AP too, and acts only on its silence.
            KernelEvent::BeaconLoss => {
                self.metrics.beacon_loss_detected(LossSource::Mac80211.name());
                self.ask_the_ap().await;
            }
            // The verdict: mac80211 (or the firmware) gave up on the AP.
            KernelEvent::ConnectionLoss => {
                if let Some(bssid) = current {
                    let lost = self.last_heard(&bssid).unwrap_or(at_ns);
                    self.on_loss(Trigger::BeaconLoss, lost, at_ns, LossSource::Mac80211).await;
                }
            }
            KernelEvent::PortAuthorized { .. } => self.on_port_authorized(at_ns),
            KernelEvent::FirstData { .. } => {
                if let Some(t) = &mut self.transition {
                    if t.marks.connected != 0 {
                        t.mark(TransitionStep::FirstData, at_ns);
                        self.finish_transition().await;
                    }
                }
            }
            KernelEvent::BssSilent { .. }
            | KernelEvent::BssHeard { .. }
            | KernelEvent::Mlme { .. }
            | KernelEvent::CqmRssi { .. }
            | KernelEvent::NeighResolved => {}
        }
    }

    /// Carrier from the fentry hooks (in the kernel, at the instant) or from rtnetlink.
    pub(super) fn on_carrier(&mut self, up: bool, at_ns: u64) {
        self.metrics.carrier(up);
        if up {
            return;
        }
        if self.transition.is_none() {
            // The supplicant started this one (a deliberate roam): measure it too.
            self.start_transition(None, at_ns);
        }
        if let Some(t) = &mut self.transition {
            t.mark(TransitionStep::Left, at_ns);
        }
    }

    /// The new AP opened the port (the neighbour task has already put the flushed entries
    /// back, see `crate::neighbours`): a step of the transition.
    pub(super) fn on_port_authorized(&mut self, at_ns: u64) {
        if let Some(t) = &mut self.transition {
            t.mark(TransitionStep::Authorized, at_ns);
        }
    }

    pub(super) fn on_neighbours_restored(&mut self, restored: Restored) {
        let confirmed_by = match restored.confirmation {
            Confirmation::ArpReply(ip) => ConfirmedBy::ArpReply(ip.into()),
            Confirmation::Settled => ConfirmedBy::Settle,
            Confirmation::NoAnswer => ConfirmedBy::NoAnswer,
        };
        match restored.result {
            Ok(put_back)
                if !put_back.is_empty()
                    || matches!(restored.confirmation, Confirmation::ArpReply(_)) =>
            {
                let delay_ms = restored.done_ns.saturating_sub(restored.opened.at_ns) as f64 / 1e6;
                self.emitter.emit(AgentEvent::NeighboursRestored {
                    bssid: restored.opened.bssid,
                    addresses: put_back.iter().map(|n| n.ip).collect(),
                    confirmed_by,
                    after_port_open_ms: delay_ms,
                });
            }
            Ok(_) => {}
            Err(err) => warn!("putting back flushed neighbour entries: {err:#}"),
        }
    }

    pub(super) fn last_heard(&self, bssid: &MacAddr) -> Option<u64> {
        self.parts.observer.bss_record(bssid).ok().flatten().map(|r| r.last_seen_ns)
    }
}
