//! The agent's side of the liveness rule (`roam_common::policy::liveness`): it gathers the
//! evidence the rule weighs (frames from the AP, as the kernel programs last saw them; the
//! acknowledgement reports of its probes), sends the probes the rule asks for, and says when
//! the rule finds the AP lost, or alive again.

use std::io;

use roam_common::{
    maps::LinkConfig,
    policy::{AckReports, Liveness, LivenessConfig, Verdict},
    MacAddr,
};
use tracing::{debug, warn};

use crate::{
    ack_probe::{AckProber, AckReport},
    ebpf::Observer,
};

/// What changed, for the agent to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The AP is lost; it was last known alive then (CLOCK_MONOTONIC ns).
    Lost { last_alive_ns: u64 },
    /// An AP found lost shows life again.
    Back,
}

/// Counts of what the probes got, for the metrics and the costs (frames roam put on the air).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProbeCounts {
    pub acked: u64,
    pub not_acked: u64,
    pub unreported: u64,
    pub send_failed: u64,
}

pub struct LivenessWatch {
    rule: Liveness,
    prober: Option<AckProber>,
    ap: Option<MacAddr>,
    counts: ProbeCounts,
    quiet_ns: u64,
}

impl LivenessWatch {
    pub fn new(config: LivenessConfig, prober: Option<AckProber>, quiet_ns: u64) -> Self {
        LivenessWatch {
            rule: Liveness::new(config),
            prober,
            ap: None,
            counts: ProbeCounts::default(),
            quiet_ns,
        }
    }

    /// Whether the probe socket could be opened.
    pub fn has_prober(&self) -> bool {
        self.prober.is_some()
    }

    pub fn ack_reports(&self) -> AckReports {
        self.rule.ack_reports()
    }

    pub fn counts(&self) -> ProbeCounts {
        self.counts
    }

    pub fn verdict(&self) -> Verdict {
        self.rule.verdict()
    }

    /// Whether the watch is on `ap`.
    pub fn watching(&self, ap: MacAddr) -> bool {
        self.ap == Some(ap) && self.rule.verdict() != Verdict::Idle
    }

    /// The station associated with `ap`: watch it, from now.
    pub fn associated(&mut self, ap: MacAddr, now_ns: u64, observer: &mut Observer) {
        self.ap = Some(ap);
        self.rule.associated(now_ns);
        self.tell_kernel(observer, now_ns);
    }

    pub fn disassociated(&mut self) {
        self.ap = None;
        self.rule.disassociated();
    }

    /// The kernel saw a reason to ask (the station sending into silence, the monitor's silence).
    pub fn hint(&mut self, now_ns: u64) {
        debug!("a hint to ask the AP");
        self.rule.suspect(now_ns);
    }

    /// The station scans (or is otherwise away) until `until_ns` at the latest.
    pub fn away(&mut self, now_ns: u64, until_ns: u64) {
        self.rule.away(now_ns, until_ns);
    }

    pub fn back(&mut self, now_ns: u64) {
        self.rule.back(now_ns);
    }

    /// The AP was heard (a frame the kernel attributed to it).
    pub fn heard(&mut self, at_ns: u64) -> Option<Change> {
        self.news(|rule| rule.heard(at_ns))
    }

    /// News of the AP given to the rule; `Back` if it had been found lost.
    fn news(&mut self, tell: impl FnOnce(&mut Liveness)) -> Option<Change> {
        let was_lost = self.is_lost();
        tell(&mut self.rule);
        (was_lost && !self.is_lost()).then_some(Change::Back)
    }

    /// When the agent must come back to [`LivenessWatch::wake`] (CLOCK_MONOTONIC ns).
    pub fn next_wakeup_ns(&self) -> Option<u64> {
        self.prober.as_ref()?;
        self.rule.next_wakeup_ns()
    }

    /// At a wake-up: takes in what the kernel heard, gives up on an overdue report, and sends
    /// the probe that is due, if one is.
    pub fn wake(&mut self, now_ns: u64, observer: &Observer) -> Option<Change> {
        let change = match observer.link_activity() {
            Ok(activity) => {
                self.news(|rule| rule.traffic(activity.last_rx_ns, activity.last_tx_ns, now_ns))
            }
            Err(err) => {
                debug!("reading the link activity: {err:#}");
                None
            }
        };
        let awaited = self.rule.outstanding();
        self.rule.tick(now_ns);
        if awaited.is_some() && self.rule.outstanding().is_none() {
            self.counts.unreported += 1;
            if self.rule.ack_reports() == AckReports::Missing {
                warn!(
                    "the driver reports no acknowledgement of roam's probes: roam stops asking \
                     the AP and relies on the other signs of its loss"
                );
            }
        }
        self.send_if_due(now_ns);
        change
    }

    /// A report of one of roam's probes.
    pub fn report(
        &mut self,
        report: AckReport,
        now_ns: u64,
        observer: &mut Observer,
    ) -> Option<Change> {
        if self.rule.outstanding() != Some(report.id) {
            return None;
        }
        debug!(id = report.id, acked = report.acked, "probe report");
        if report.acked {
            self.counts.acked += 1;
        } else {
            self.counts.not_acked += 1;
        }
        let was_lost = self.is_lost();
        let verdict = self.rule.report(report.id, report.acked, now_ns);
        if report.acked {
            self.tell_kernel(observer, now_ns);
        }
        self.send_if_due(now_ns);
        match verdict {
            Verdict::Lost { last_alive_ns } if !was_lost => Some(Change::Lost { last_alive_ns }),
            Verdict::Alive if was_lost => Some(Change::Back),
            _ => None,
        }
    }

    /// The next report of the probe socket (never, without one).
    pub async fn next_report(&self) -> io::Result<AckReport> {
        match &self.prober {
            Some(prober) => prober.next_report().await,
            None => std::future::pending().await,
        }
    }

    fn send_if_due(&mut self, now_ns: u64) {
        let (Some(prober), Some(ap)) = (&self.prober, self.ap) else { return };
        if !self.rule.probe_due(now_ns) {
            return;
        }
        let id = self.rule.probe_sent(now_ns);
        // Not sent (the interface going down, a full queue): the rule gives up on it at its
        // report timeout, as on any probe that gets no report.
        match prober.send(ap, id) {
            Ok(()) => debug!(id, "probe sent to {ap}"),
            Err(err) => {
                self.counts.send_failed += 1;
                debug!("sending a probe to {ap}: {err}");
            }
        }
    }

    fn is_lost(&self) -> bool {
        matches!(self.rule.verdict(), Verdict::Lost { .. })
    }

    /// The kernel hints only after `quiet_ns` without news, an acknowledgement included.
    fn tell_kernel(&self, observer: &mut Observer, now_ns: u64) {
        let config = LinkConfig { quiet_ns: self.quiet_ns, alive_ns: now_ns };
        if let Err(err) = observer.set_link_config(&config) {
            debug!("configuring the link programs: {err:#}");
        }
    }
}
