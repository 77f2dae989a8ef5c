//! From a loss to an action: the candidates, the machine's steps, performing the one roam in
//! flight, its outcome, retries where nobody else reconnects.

use super::*;

impl Agent {
    pub(super) async fn on_loss(
        &mut self,
        trigger: Trigger,
        lost_ns: u64,
        detected_ns: u64,
        source: LossSource,
    ) {
        let Some(bssid) = self.machine.current_bss() else { return };
        let Some(network) = self.network.clone() else { return };
        self.hear_unannounced_rows();
        // A transition the supplicant began (carrier off first) learns its cause here.
        match &mut self.transition {
            Some(t) => {
                t.trigger.get_or_insert(trigger);
            }
            None => self.start_transition(Some(trigger), lost_ns),
        }
        if let Some(t) = &mut self.transition {
            t.mark(TransitionStep::Detected, detected_ns);
        }
        if matches!(trigger, Trigger::Silence | Trigger::NoAck | Trigger::BeaconLoss) {
            self.counters.beacon_losses += 1;
            self.metrics.beacon_loss_detected(source.name());
        }
        let latency = Duration::from_nanos(detected_ns.saturating_sub(lost_ns));
        self.metrics.detection_latency(trigger.kind(), latency);

        let (best, known) = self.best_candidate(&network, bssid);
        self.emitter.emit(AgentEvent::LossDetected {
            trigger: trigger.kind(),
            bssid,
            source,
            unheard_ms: latency.as_secs_f64() * 1e3,
            best: best.map(|c| c.bssid),
            candidates: known,
        });
        let step =
            self.machine.handle(Input::Loss { trigger, bssid, best: best.as_ref() }, detected_ns);
        self.apply(step).await;
    }

    /// The best candidate of `network`, and how many are known; `lost` only once it is back.
    pub(super) fn best_candidate(
        &self,
        network: &Network,
        lost: MacAddr,
    ) -> (Option<Candidate>, usize) {
        let rows = self.book.rows_in(network, |b| self.parts.observer.bss_record(b).ok()?);
        let now_ns = monotonic_ns();
        let candidates = self.book.candidates(network, &rows, now_ns, Instant::now());
        // Lost when the transition began; with none, just now (not heard since).
        let lost_ns = self.transition.as_ref().map_or(now_ns, |t| t.marks.lost);
        let lost =
            policy::Lost { bssid: lost, since_ms: now_ns.saturating_sub(lost_ns) / 1_000_000 };
        let best = policy::best_candidate(
            &candidates,
            Some(lost),
            self.config().candidates.max_heard_age_ms,
        );
        (best.copied(), candidates.len())
    }

    /// Without a manager that reconnects by itself, roam tries the held loss again: after a
    /// failure or backoff, after its no-candidate wait (scanning every channel when still
    /// nowhere to go), or once a scan found a candidate.
    pub(super) async fn retry_held_loss(&mut self) {
        self.retry_at = None;
        let (Some(network), Some(lost)) = (self.network.clone(), self.machine.current_bss()) else {
            return;
        };
        let (best, _) = self.best_candidate(&network, lost);
        if best.is_none() {
            // Nowhere known to go: look on every channel, then decide again.
            let actor = self.manager.actor();
            let ssid = network.ssid.clone();
            tokio::spawn(async move {
                if let Err(err) = actor.scan_all(&ssid).await {
                    debug!("scan for candidates: {err:#}");
                }
            });
        }
        let step = self.machine.handle(Input::Retry { best: best.as_ref() }, monotonic_ns());
        self.apply(step).await;
    }

    /// After an outcome that leaves a loss held: when to try again, if roam must.
    pub(super) fn schedule_retry(&mut self, until_ns: Option<u64>) {
        if self.manager.reconnects_by_itself() || self.machine.config().observe_only {
            return;
        }
        self.retry_at = Some(match until_ns {
            Some(t) => t,
            None => after(Duration::from_nanos(self.no_candidate.failed())),
        });
    }

    pub(super) fn start_transition(&mut self, trigger: Option<Trigger>, lost_ns: u64) {
        let from = self.machine.current_bss();
        self.transition = Some(Transition::new(trigger, from, lost_ns));
        // A carrier loss seen through rtnetlink arrives up to a second after the flush it caused.
        let since_ns = lost_ns.saturating_sub(NEIGHBOUR_FLUSH_SLACK.as_nanos() as u64);
        self.put_back.send_replace(Some(PutBackPlan { since_ns }));
        // The kernel counts the window from here (the carrier hook may have opened it already).
        if let Err(err) = self.parts.observer.open_window(lost_ns) {
            warn!("opening the drop window: {err:#}");
        }
    }

    // ---- the machine's steps ----

    pub(super) async fn apply(&mut self, step: Step) {
        if let Some((from, to)) = step.transition {
            self.metrics.state_changed(from, to);
            self.emitter.emit(AgentEvent::State { from, to });
        }
        if let Some(outcome) = step.outcome {
            self.on_outcome(outcome).await;
        }
        if let Some(action) = step.action {
            self.perform(action);
        }
    }

    pub(super) fn perform(&mut self, action: Action) {
        let Action::Roam { trigger, target, scan_first } = action;
        let now = monotonic_ns();
        let entry = self.book.scan_entry(&target.bssid);
        let scan_first = if self.manager.reads_table_whole() {
            // cfg80211 connects only to a BSS in its table: scan when the entry is missing or
            // about to expire.
            entry.is_none_or(|e| e.age_ms(Instant::now()) > policy::candidate::SCAN_ENTRY_USABLE_MS)
        } else {
            // wpa_supplicant rescans an expired cfg80211 entry by itself; roam scans only for
            // a target missing from wpa_supplicant's own table.
            scan_first && entry.is_none()
        };
        self.roam_generation += 1;
        let generation = self.roam_generation;
        let request = RoamRequest {
            generation,
            target: target.bssid,
            freq_mhz: target.freq_mhz,
            ssid: self.network.as_ref().map(|n| n.ssid.clone()).unwrap_or_default(),
            scan_first,
            disconnected: trigger.ap_ended_association(),
            network_id: self.network_id,
            security: self
                .network
                .as_ref()
                .map_or(roam_common::policy::security::NetworkSecurity::Unknown, |n| n.security),
        };
        if let Some(t) = &mut self.transition {
            t.mark(TransitionStep::Acted, now);
            t.to = Some(target.bssid);
        }
        if request.disconnected {
            self.changed_by = Some(generation);
        }
        self.roam_deadline = Some(after(self.config().act.roam_timeout()));
        self.emitter.emit(AgentEvent::RoamStarted {
            trigger: trigger.kind(),
            target: target.bssid,
            freq_mhz: target.freq_mhz,
            scan_first: request.scan_first,
            reconnect: request.disconnected,
            backend: self.manager.backend(),
        });
        let actor = self.manager.actor();
        let done = self.action_tx.clone();
        tokio::spawn(async move {
            let result = actor.roam(request).await;
            let _ = done.send(ActionDone { generation, result }).await;
        });
    }

    pub(super) async fn on_action_done(&mut self, done: ActionDone) {
        if done.generation != self.roam_generation {
            debug!(generation = done.generation, "a late report of an earlier roam: ignored");
            return;
        }
        if let Err(err) = done.result {
            warn!("roam action failed: {err:#}");
            self.emitter.emit(AgentEvent::RoamActionFailed { error: format!("{err:#}") });
            if let Some(why) = backend_choice::refused_as_not_the_owner(&err, &self.opts.iface) {
                warn!("{why}");
                self.parts.observe_only_because = Some(why);
                self.decide_whether_to_act(self.network.as_ref().is_some_and(|n| n.protected));
            }
            let step = self.machine.handle(Input::ActionFailed, monotonic_ns());
            self.apply(step).await;
        }
    }

    pub(super) async fn on_outcome(&mut self, outcome: Outcome) {
        let (trigger, result) = match outcome {
            Outcome::Succeeded { trigger, .. } => (trigger, RoamResult::Success),
            Outcome::Failed { trigger, .. } => (trigger, RoamResult::Failure),
            Outcome::TimedOut { trigger, .. } => (trigger, RoamResult::Timeout),
            Outcome::Held { trigger, hold } => {
                let now = monotonic_ns();
                let (why, retry_at) = match hold {
                    Hold::ObserveOnly => (HoldReason::ObserveOnly, None),
                    Hold::ManagerReconnects => (HoldReason::ManagerReconnects, None),
                    Hold::NoCandidate => (HoldReason::NoCandidate, None),
                    Hold::BackingOff { until_ns } => (HoldReason::BackingOff, Some(until_ns)),
                    Hold::Capped { until_ns } => (HoldReason::Capped, Some(until_ns)),
                };
                self.emitter.emit(AgentEvent::RoamHeld {
                    trigger: trigger.kind(),
                    why,
                    retry_in_ms: retry_at.map(|at| at.saturating_sub(now) / 1_000_000),
                });
                match hold {
                    Hold::BackingOff { until_ns } | Hold::Capped { until_ns } => {
                        self.schedule_retry(Some(until_ns))
                    }
                    Hold::NoCandidate => self.schedule_retry(None),
                    Hold::ObserveOnly | Hold::ManagerReconnects => {}
                }
                return;
            }
            Outcome::FalseAlarm { trigger } => {
                self.emitter.emit(AgentEvent::FalseAlarm { trigger: trigger.kind() });
                self.transition = None;
                self.put_back.send_replace(None);
                self.close_window_quietly();
                return;
            }
        };
        self.roam_deadline = None;
        self.metrics.roam_attempt(trigger.kind(), self.manager.backend(), result);
        if result == RoamResult::Success {
            self.counters.roams += 1;
        } else {
            self.counters.roam_failures += 1;
            // The backoff the failure started is checked by the retry itself.
            self.schedule_retry(Some(monotonic_ns()));
        }
        self.end_roam_changes();
        self.emitter.emit(AgentEvent::RoamResult { trigger: trigger.kind(), result });
    }

    /// Puts back what the roam changed in the manager, on a task (retries take time; the
    /// manager side keeps the order of pin and unpin by the roam's number).
    pub(super) fn end_roam_changes(&mut self) {
        if let Some(generation) = self.changed_by.take() {
            let actor = self.manager.actor();
            tokio::spawn(async move {
                if let Err(err) = actor.end_roam(generation).await {
                    warn!("{err:#}; it is put back at exit, or at the next start");
                }
            });
        }
    }
}
