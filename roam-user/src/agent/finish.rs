//! The end of a transition: the drop window closed and accounted, the report emitted.

use super::*;

impl Agent {
    pub(super) fn finish_transition(&mut self, t: Transition) {
        self.put_back.send_replace(None);
        let now = monotonic_ns();
        let observer = &mut self.parts.observer;
        if let Err(err) = observer.close_window() {
            warn!("closing the drop window: {err:#}");
        }
        let counters = observer.window_counters().unwrap_or_default();
        let reasons = observer.drop_reasons().unwrap_or_default();
        let delta = counters.since(&self.window_baseline.0);
        let by_reason = reasons_since(&reasons, &self.window_baseline.1);
        self.window_baseline = (counters, reasons);
        // Put on the air for nothing before the station left: after the AP's last frame (it had
        // gone silent or ended the association), or, in a transition the supplicant started,
        // after it began (it closes the port first, so the old AP's replies are refused).
        let unanswered = match t.trigger {
            Some(trigger) if trigger.is_soft() => 0,
            _ => {
                let left = if t.marks.left != 0 {
                    t.marks.left
                } else {
                    t.marks.acted.max(t.marks.detected)
                };
                observer.transmitted_after(t.marks.lost, left).unwrap_or(0)
            }
        };
        let mut named: BTreeMap<String, u64> = by_reason
            .iter()
            .map(|(r, n)| {
                (
                    self.drop_reason_names.get(r).cloned().unwrap_or_else(|| format!("REASON_{r}")),
                    *n,
                )
            })
            .collect();
        if unanswered > 0 {
            named.insert("UNANSWERED_TX".into(), unanswered);
        }
        let end = if t.marks.first_data != 0 { t.marks.first_data } else { now };
        let window =
            window_report(&delta, unanswered, named.clone(), end.saturating_sub(t.marks.lost));
        let pairs: Vec<(String, u64)> = named.into_iter().collect();
        self.metrics.drop_window(
            window.sent,
            window.held,
            &pairs,
            Duration::from_nanos(end.saturating_sub(t.marks.lost)),
        );
        let duration = t.duration_ns();
        if t.trigger.is_some() && t.marks.acted != 0 {
            if let Some(total) = duration {
                let phases: Vec<(Phase, Duration)> =
                    t.phases().into_iter().map(|(p, s)| (p, Duration::from_secs_f64(s))).collect();
                self.metrics.roam_completed(Duration::from_nanos(total), &phases);
            }
        }
        let trigger = t.trigger.map_or(TriggerKind::Supplicant, Trigger::kind);
        let acted = t.marks.acted != 0;
        let result = if t.marks.connected != 0 { RoamResult::Success } else { RoamResult::Failure };
        let duration_ms = duration.map(|d| d as f64 / 1e6);
        self.emitter.emit(AgentEvent::TransitionFinished(TransitionReport {
            trigger,
            acted,
            from: t.from,
            to: t.to,
            duration_ms,
            phases: t.phases().into_iter().map(|(p, s)| (p, s * 1e3)).collect(),
            window: window.clone(),
        }));
        self.last_roam = Some(RoamRecord {
            trigger,
            from: t.from,
            to: t.to,
            acted,
            backend: self.manager.backend(),
            result,
            duration_ms,
            timeline: t
                .timeline_ms()
                .into_iter()
                .map(|(t_ms, step)| RoamStep { t_ms, step })
                .collect(),
            drop_window: Some(DropWindow {
                sent: window.sent,
                dropped: window.lost,
                held: window.held,
                dropped_by_reason: window.dropped_by_reason.clone(),
                duration_ms: window.duration_ms,
            }),
        });
    }

    /// A false alarm: no window to report; the counters move on to the next baseline.
    pub(super) fn close_window_quietly(&mut self) {
        let observer = &mut self.parts.observer;
        let _ = observer.close_window();
        self.window_baseline = (
            observer.window_counters().unwrap_or_default(),
            observer.drop_reasons().unwrap_or_default(),
        );
    }
}
