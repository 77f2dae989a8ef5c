//! What the agent publishes: the `roam status` snapshot and the kernel half of the metrics.

use std::time::Instant;

use roam_common::policy::{AckReports, MonitorHealth, Verdict};
use roam_proto::{
    Candidate as StatusCandidate, CurrentBss, LivenessSource, LivenessSourceStatus, LivenessStatus,
    LivenessVerdict, ProbeTotals, SourceState, Status,
};

use super::{
    candidates::{CandidateBook, Network},
    Agent,
};
use crate::{
    ebpf::{
        hooks::{EGRESS_PROGRAM, INGRESS_PROGRAM},
        Observer,
    },
    metrics::{BssRow, KernelSnapshot, ProgramStats},
    netif::monotonic_ns,
};

pub(super) fn build(agent: &Agent) -> Status {
    let now_ns = monotonic_ns();
    let observer = &agent.parts.observer;
    let current = agent.conductor.current_bss();
    let bss = current.map(|bssid| {
        let rec = observer.bss_record(&bssid).ok().flatten();
        CurrentBss {
            bssid,
            ssid: agent
                .network
                .as_ref()
                .map(|n| super::candidates::printable_ssid(&n.ssid))
                .unwrap_or_default(),
            freq_mhz: agent.current_freq,
            band: roam_proto::band_of(agent.current_freq).to_owned(),
            akm: agent.network.as_ref().map_or("unknown", |n| n.security.akm_name()).to_owned(),
            signal_dbm: rec
                .filter(|r| r.flags & roam_common::maps::BSS_FLAG_HAS_SIGNAL != 0)
                .map(|r| r.signal_avg_x16 / 16),
            last_heard_ms: rec.map(|r| now_ns.saturating_sub(r.last_seen_ns) / 1_000_000),
        }
    });
    let candidates = match &agent.network {
        Some(network) => candidates(agent, observer, network, now_ns),
        None => Vec::new(),
    };
    Status {
        iface: agent.opts.iface.clone(),
        state: agent.conductor.machine().state(),
        state_since_ms: now_ns.saturating_sub(agent.conductor.machine().since_ns()) / 1_000_000,
        observe_only: agent.conductor.machine().config().observe_only,
        observe_only_why: agent.observe_only_why(),
        backend: agent.manager.backend(),
        bss,
        candidates,
        last_roam: agent.last_roam.clone(),
        counters: agent.counters.clone(),
        liveness: liveness(agent),
        signal: agent.signal.as_ref().map(|signal| signal.status(now_ns)),
    }
}

/// The liveness check's sources, verdict and probe totals.
pub(super) fn liveness(agent: &Agent) -> LivenessStatus {
    let watch = &agent.liveness;
    let interval_ms = agent.config().detect.probe_interval_ms;
    let acks = match (watch.has_prober(), watch.ack_reports()) {
        (false, _) => source(
            LivenessSource::Acks,
            SourceState::Unavailable,
            "no probe socket (CAP_NET_RAW missing?): roam cannot ask the AP".into(),
        ),
        (true, AckReports::Missing) => source(
            LivenessSource::Acks,
            SourceState::Unavailable,
            "the driver reports no acknowledgement of roam's probes".into(),
        ),
        (true, _) => source(
            LivenessSource::Acks,
            SourceState::InUse,
            format!("a probe every {interval_ms} ms when nothing else shows the AP alive"),
        ),
    };
    let report = agent.parts.observer.report();
    let traffic = if report.is_attached(INGRESS_PROGRAM) && report.is_attached(EGRESS_PROGRAM) {
        source(
            LivenessSource::StationTraffic,
            SourceState::InUse,
            "frames received show the AP alive; frames sent into silence make roam ask".into(),
        )
    } else {
        source(
            LivenessSource::StationTraffic,
            SourceState::Unavailable,
            "the TC classifiers did not attach (see `roam check`)".into(),
        )
    };
    let monitor = match (&agent.parts.monitor_absent, agent.monitor_check.map(|c| c.health())) {
        (Some(why), _) if !agent.config().detect.monitor => {
            source(LivenessSource::Monitor, SourceState::Off, why.clone())
        }
        (Some(why), _) => source(LivenessSource::Monitor, SourceState::Unavailable, why.clone()),
        (None, Some(MonitorHealth::Deaf { heard, expected })) => source(
            LivenessSource::Monitor,
            SourceState::Unavailable,
            format!(
                "heard {heard} of {expected} beacons after the association: the driver filters \
                 them, their silence is ignored"
            ),
        ),
        (None, Some(MonitorHealth::Hears { heard, expected })) => source(
            LivenessSource::Monitor,
            SourceState::InUse,
            format!("heard {heard} of {expected} beacons after the association"),
        ),
        (None, _) => source(
            LivenessSource::Monitor,
            SourceState::InUse,
            "not judged yet (beacons are counted for 3 s after each association)".into(),
        ),
    };
    let counts = watch.counts();
    LivenessStatus {
        sources: vec![acks, traffic, monitor],
        verdict: match watch.verdict() {
            Verdict::Idle => LivenessVerdict::Idle,
            Verdict::Alive => LivenessVerdict::Alive,
            Verdict::Doubt { .. } => LivenessVerdict::Doubt,
            Verdict::Lost { .. } => LivenessVerdict::Lost,
        },
        probes: ProbeTotals {
            acked: counts.acked,
            not_acked: counts.not_acked,
            unreported: counts.unreported,
        },
    }
}

fn source(source: LivenessSource, state: SourceState, detail: String) -> LivenessSourceStatus {
    LivenessSourceStatus { source, state, detail }
}

fn candidates(
    agent: &Agent,
    observer: &Observer,
    network: &Network,
    now_ns: u64,
) -> Vec<StatusCandidate> {
    let rows = agent.book.rows_in(network, |b| observer.bss_record(b).ok()?);
    let max_age = agent.config().candidates.max_heard_age_ms;
    let current = agent.conductor.current_bss();
    agent
        .book
        .candidates(network, &rows, now_ns, Instant::now())
        .into_iter()
        .filter(|c| Some(c.bssid) != current)
        .map(|c| StatusCandidate {
            bssid: c.bssid,
            freq_mhz: c.freq_mhz,
            signal_dbm: c.signal_dbm,
            last_heard_ms: c.heard_age_ms,
            source: c.source(),
            usable: c.is_usable(max_age),
            score: c.score(),
        })
        .collect()
}

/// Program statistics, ring losses, frame counts and the network's BSS rows for the metrics.
pub(super) fn kernel_snapshot(
    observer: &Observer,
    network: Option<&Network>,
    book: &CandidateBook,
) -> KernelSnapshot {
    let stats = observer.filter_stats().unwrap_or_default();
    let now_ns = monotonic_ns();
    let bss = network
        .map(|n| {
            book.rows_in(n, |b| observer.bss_record(b).ok()?)
                .into_iter()
                .map(|(b, r)| BssRow {
                    bssid: b,
                    freq_mhz: r.freq_mhz as u32,
                    signal_dbm: r.signal_avg_x16 / 16,
                    last_heard_age: std::time::Duration::from_nanos(
                        now_ns.saturating_sub(r.last_seen_ns),
                    ),
                })
                .collect()
        })
        .unwrap_or_default();
    KernelSnapshot {
        programs: observer
            .program_stats()
            .into_iter()
            .map(|(name, runs, run_time_ns)| ProgramStats { name, runs, run_time_ns })
            .collect(),
        events_lost: stats.events_lost,
        frames_observed: stats.frames,
        frames_malformed: stats.malformed,
        bss,
    }
}
