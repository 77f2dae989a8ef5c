//! Is the AP still there? The decision, from 802.11 acknowledgements and frames heard, as a pure
//! function of events and time.
//!
//! The evidence:
//! - the ACK report of a small frame roam sends the AP (`SO_WIFI_STATUS`): acknowledged, not
//!   acknowledged (the hardware retried and nobody answered), or no report at all (the stack
//!   dropped the frame: that proves nothing);
//! - a frame the AP transmitted (data received on the station interface, a beacon the monitor
//!   heard): it was alive then;
//! - hints worth asking at once: the station sent and heard nothing back for a while, or the
//!   monitor stopped hearing the AP's beacons;
//! - the station being away from the channel (scanning, remain-on-channel, channel switch):
//!   what fails meanwhile says nothing about the AP.
//!
//! The rule, with zero false alarms as its aim: the AP is lost only after
//! [`LivenessConfig::failures`] *explicit* non-acknowledgements in a row, nothing heard from it
//! since the first of them, and the station on its channel all along. Anything else keeps it
//! alive, or in doubt while more probes go out.
//!
//! The rate adapts: one probe per [`LivenessConfig::probe_interval_ns`] when nothing else
//! shows the AP alive (none at all while its frames keep arriving), one per
//! [`LivenessConfig::retry_interval_ns`] from the first non-acknowledgement on.

/// How the liveness check runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LivenessConfig {
    /// When nothing else shows the AP alive, ask it this often (ns).
    pub probe_interval_ns: u64,
    /// After a non-acknowledgement, ask again this soon (ns).
    pub retry_interval_ns: u64,
    /// Explicit non-acknowledgements in a row that make the AP lost.
    pub failures: u32,
    /// A probe whose report has not come by then never will (the stack dropped it) (ns).
    pub report_timeout_ns: u64,
    /// Probes in a row without any report before roam stops asking: the driver gives no ACK
    /// reports (full-MAC drivers, some USB ones), and silence then is no evidence.
    pub max_unreported: u32,
    /// While the station sends and receives, look again only this long after the latest news
    /// (ns): the kernel already wakes the agent the moment the station sends into silence (see
    /// [`Liveness::traffic`]), so the agent need not look every `probe_interval_ns`.
    pub busy_interval_ns: u64,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig {
            probe_interval_ns: 150 * MS,
            retry_interval_ns: 10 * MS,
            failures: 3,
            report_timeout_ns: 500 * MS,
            max_unreported: 10,
            busy_interval_ns: 1_000 * MS,
        }
    }
}

const MS: u64 = 1_000_000;

/// What the evidence says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not associated: nothing to watch.
    Idle,
    /// Heard from or acknowledging.
    Alive,
    /// Some explicit non-acknowledgements, fewer than the rule asks for.
    Doubt { failures: u32 },
    /// Lost: the last time anything showed it alive (CLOCK_MONOTONIC ns).
    Lost { last_alive_ns: u64 },
}

/// Whether roam can ask the AP at all on this station.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AckReports {
    /// Not known yet (no probe answered).
    Unknown,
    /// The driver reports acknowledgements.
    Reported,
    /// [`LivenessConfig::max_unreported`] probes in a row got no report: roam stopped asking.
    Missing,
}

/// A probe roam sent, waiting for its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Outstanding {
    id: u64,
    sent_ns: u64,
}

/// The liveness of the AP the station is associated with.
#[derive(Clone, Debug)]
pub struct Liveness {
    config: LivenessConfig,
    watching: bool,
    last_alive_ns: u64,
    /// Explicit non-acknowledgements in a row, and when the first of them was sent.
    failures: u32,
    first_failure_ns: u64,
    lost: bool,
    /// The station is off its channel until then: failures then prove nothing.
    away_until_ns: u64,
    next_probe_ns: Option<u64>,
    /// A hint asked for a probe at this time: only news from after it cancels the probe.
    hinted_at_ns: Option<u64>,
    /// The station had sent within a probe interval at the previous look at its traffic.
    was_sending: bool,
    outstanding: Option<Outstanding>,
    next_id: u64,
    unreported: u32,
    reports: AckReports,
}

impl Liveness {
    pub fn new(config: LivenessConfig) -> Self {
        Liveness {
            config,
            watching: false,
            last_alive_ns: 0,
            failures: 0,
            first_failure_ns: 0,
            lost: false,
            away_until_ns: 0,
            next_probe_ns: None,
            hinted_at_ns: None,
            was_sending: false,
            outstanding: None,
            next_id: 1,
            unreported: 0,
            reports: AckReports::Unknown,
        }
    }

    pub fn config(&self) -> &LivenessConfig {
        &self.config
    }

    /// The station associated (again): the AP answered just now.
    pub fn associated(&mut self, now_ns: u64) {
        self.watching = true;
        self.last_alive_ns = now_ns;
        self.clear_failures();
        self.lost = false;
        self.outstanding = None;
        self.schedule(now_ns + self.config.probe_interval_ns);
    }

    /// The station left its AP: nothing to watch until the next association.
    pub fn disassociated(&mut self) {
        self.watching = false;
        self.hinted_at_ns = None;
        self.clear_failures();
        self.lost = false;
        self.outstanding = None;
        self.next_probe_ns = None;
    }

    /// The AP transmitted a frame at `at_ns`: it was alive then.
    pub fn heard(&mut self, at_ns: u64) {
        if !self.watching || at_ns <= self.last_alive_ns {
            return;
        }
        self.last_alive_ns = at_ns;
        if self.failures > 0 && at_ns >= self.first_failure_ns {
            self.clear_failures();
        }
        if self.failures == 0 {
            self.lost = false;
            if self.hinted_at_ns.is_some_and(|hint| at_ns < hint) {
                // Older than the hint: the probe it asked for stays due.
                return;
            }
            self.hinted_at_ns = None;
            // No need to ask before another interval has passed without news.
            let due = at_ns + self.config.probe_interval_ns;
            if self.outstanding.is_none() && self.next_probe_ns.is_some_and(|next| next < due) {
                self.next_probe_ns = Some(due);
            }
        }
    }

    /// What the station's traffic showed at `now_ns`: the AP last heard at `last_rx_ns`, the
    /// station last sending at `last_tx_ns`. A link busy both ways needs no look before
    /// `busy_interval_ns`: should the AP go, the station's next packet into the silence wakes
    /// the agent (the kernel's hint, [`Liveness::suspect`]). Busy means the station sent within
    /// one probe interval of this look *and* of the previous one: one recent packet of a
    /// station that sends once a second says nothing of when its next comes (waiting for it
    /// took up to 0.8 s to notice a silent AP in the VM). A station that only receives, sends
    /// sparsely, or is idle is looked at every probe interval.
    pub fn traffic(&mut self, last_rx_ns: u64, last_tx_ns: u64, now_ns: u64) {
        self.heard(last_rx_ns);
        let recent = |at: u64| now_ns.saturating_sub(at) < self.config.probe_interval_ns;
        let sending = recent(last_tx_ns);
        let busy = recent(last_rx_ns) && sending && self.was_sending;
        self.was_sending = sending;
        if !busy || self.failures > 0 || self.hinted_at_ns.is_some() || self.outstanding.is_some() {
            return;
        }
        let due = last_rx_ns + self.config.busy_interval_ns.max(self.config.probe_interval_ns);
        if self.next_probe_ns.is_some_and(|next| next < due) {
            self.next_probe_ns = Some(due);
        }
    }

    /// Something suggests the AP may be gone (the station's traffic went unanswered, its beacons
    /// stopped): ask now rather than at the next interval.
    pub fn suspect(&mut self, now_ns: u64) {
        if self.watching && !self.lost && self.outstanding.is_none() && self.asking() {
            self.hinted_at_ns = Some(now_ns);
            self.schedule(now_ns);
        }
    }

    /// The station is away from its channel until `until_ns` (a scan, remain-on-channel, a
    /// channel switch): failures from now until then prove nothing.
    pub fn away(&mut self, now_ns: u64, until_ns: u64) {
        self.away_until_ns = self.away_until_ns.max(until_ns);
        if self.failures > 0 {
            self.clear_failures();
        }
        if self.watching && self.outstanding.is_none() {
            self.schedule(until_ns.max(now_ns));
        }
    }

    /// The station is back on its channel.
    pub fn back(&mut self, now_ns: u64) {
        if self.away_until_ns > now_ns {
            self.away_until_ns = now_ns;
            if self.watching && self.outstanding.is_none() && self.asking() {
                self.schedule(now_ns);
            }
        }
    }

    /// Whether a probe is due at `now_ns`; if so, it must be sent and [`Liveness::probe_sent`]
    /// called with the id given.
    pub fn probe_due(&self, now_ns: u64) -> bool {
        self.watching
            && !self.lost
            && self.asking()
            && self.outstanding.is_none()
            && self.next_probe_ns.is_some_and(|at| at <= now_ns)
            && now_ns >= self.away_until_ns
    }

    /// A probe went out at `now_ns`; returns its id, to match its report.
    pub fn probe_sent(&mut self, now_ns: u64) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.outstanding = Some(Outstanding { id, sent_ns: now_ns });
        self.next_probe_ns = None;
        self.hinted_at_ns = None;
        id
    }

    /// The report of probe `id`: acknowledged or not.
    pub fn report(&mut self, id: u64, acked: bool, now_ns: u64) -> Verdict {
        let Some(probe) = self.outstanding.filter(|p| p.id == id) else {
            // A report of a probe given up on (or of an earlier association): too late to count.
            return self.verdict();
        };
        self.outstanding = None;
        self.unreported = 0;
        self.reports = AckReports::Reported;
        if !self.watching {
            return self.verdict();
        }
        if acked {
            self.last_alive_ns = self.last_alive_ns.max(now_ns);
            self.clear_failures();
            self.lost = false;
            self.schedule(now_ns + self.config.probe_interval_ns);
        } else if probe.sent_ns < self.away_until_ns || now_ns < self.away_until_ns {
            // Sent or reported while off the channel: no evidence either way.
            self.schedule(now_ns.max(self.away_until_ns));
        } else {
            if self.failures == 0 {
                self.first_failure_ns = probe.sent_ns;
            }
            self.failures += 1;
            if self.failures >= self.config.failures && self.last_alive_ns < self.first_failure_ns {
                self.lost = true;
                self.next_probe_ns = None;
            } else {
                self.schedule(now_ns + self.config.retry_interval_ns);
            }
        }
        self.verdict()
    }

    /// Time passes: a probe whose report is overdue is given up on (no evidence), and after
    /// [`LivenessConfig::max_unreported`] of them in a row roam stops asking.
    pub fn tick(&mut self, now_ns: u64) {
        let Some(probe) = self.outstanding else { return };
        if now_ns < probe.sent_ns + self.config.report_timeout_ns {
            return;
        }
        self.outstanding = None;
        self.unreported += 1;
        if self.unreported >= self.config.max_unreported && self.reports != AckReports::Reported {
            self.reports = AckReports::Missing;
            self.next_probe_ns = None;
        } else if self.watching {
            // The stack dropped it (port closing, queues purged): not a failure; ask again at
            // the ordinary pace.
            self.schedule(now_ns + self.config.probe_interval_ns);
        }
    }

    /// When the caller must come back: the next probe, or the deadline of the one outstanding.
    pub fn next_wakeup_ns(&self) -> Option<u64> {
        if let Some(probe) = self.outstanding {
            return Some(probe.sent_ns + self.config.report_timeout_ns);
        }
        if !self.watching || self.lost || !self.asking() {
            return None;
        }
        self.next_probe_ns.map(|at| at.max(self.away_until_ns))
    }

    pub fn verdict(&self) -> Verdict {
        if !self.watching {
            Verdict::Idle
        } else if self.lost {
            Verdict::Lost { last_alive_ns: self.last_alive_ns }
        } else if self.failures > 0 {
            Verdict::Doubt { failures: self.failures }
        } else {
            Verdict::Alive
        }
    }

    /// The id of the probe whose report is awaited.
    pub fn outstanding(&self) -> Option<u64> {
        self.outstanding.map(|probe| probe.id)
    }

    pub fn ack_reports(&self) -> AckReports {
        self.reports
    }

    /// The last time anything showed the AP alive.
    pub fn last_alive_ns(&self) -> u64 {
        self.last_alive_ns
    }

    fn asking(&self) -> bool {
        self.reports != AckReports::Missing
    }

    fn clear_failures(&mut self) {
        self.failures = 0;
        self.first_failure_ns = 0;
    }

    /// The next probe at `at_ns`, unless one is due sooner.
    fn schedule(&mut self, at_ns: u64) {
        self.next_probe_ns = Some(match self.next_probe_ns {
            Some(next) if next < at_ns && self.failures == 0 => next,
            _ => at_ns,
        });
    }
}
