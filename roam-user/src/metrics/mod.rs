//! Prometheus metrics of the roam agent.
//!
//! [`Metrics`] owns a prometheus-client registry with every family roam exposes (all prefixed
//! `roam_`, in base units) and the recording calls the agent makes; [`server`] serves it over
//! HTTP as OpenMetrics text. Values the kernel counts itself are not recorded event by event but
//! handed over as a [`KernelSnapshot`] that is exposed as-is at scrape time.
//!
//! Shared as `Arc<Metrics>`: every recording call takes `&self` and is safe from any thread.

mod families;
mod kernel;
pub mod labels;
mod process;
pub mod server;
#[cfg(test)]
mod tests;

use std::{
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use prometheus_client::{encoding::text, registry::Registry};
use roam_common::{
    policy::{State, TriggerKind},
    MacAddr,
};
use roam_proto::{
    Backend, LivenessSource, LivenessStatus, Phase, ProbeTotals, RoamResult, SourceState,
};

use families::Families;
pub use families::PREFIX;
use kernel::KernelCollector;
pub use kernel::{BssRow, KernelSnapshot, ProgramStats};
use labels::*;
use process::ProcessCollector;
pub use process::ProcessSample;
pub use server::{bind, refresh_snapshot, serve, RefreshRequest, RefreshSender, CONTENT_TYPE};

/// The registry, the families recorded into, and the state needed to keep the "exactly one
/// series is 1" gauges (`roam_state`, `roam_bss_info`) consistent.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    f: Families,
    kernel: Arc<KernelCollector>,
    /// Current `roam_state{state}` set to 1. The lock also serialises the 1 -> 0 / 0 -> 1 swap.
    state: Mutex<State>,
    /// Current `roam_bss_info` series, so a change can remove it.
    bss: Mutex<Option<BssInfoLabels>>,
    /// The probe totals last exported: the counters move by the difference.
    probes: Mutex<ProbeTotals>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every family; the state machine starts in "init".
    pub fn new() -> Self {
        Self::registered(None)
    }

    /// [`Metrics::new`], every series of roam's own labelled `device="<station>"`: they join
    /// node_exporter's `node_wifi_*` series of the same interface, and two instances of roam
    /// (`roam@wlan0`, `roam@wlan1`) scraped by one job stay apart.
    pub fn for_device(station: &str) -> Self {
        Self::registered(Some(station))
    }

    fn registered(device: Option<&str>) -> Self {
        // The process metrics keep their conventional unprefixed names; everything of roam's
        // own is under `roam_`.
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector));
        let roam = match device {
            Some(device) => registry.sub_registry_with_label((
                std::borrow::Cow::Borrowed("device"),
                std::borrow::Cow::Owned(device.to_owned()),
            )),
            None => &mut registry,
        };
        let roam = roam.sub_registry_with_prefix(PREFIX);
        let f = Families::register(roam);
        let kernel = Arc::new(KernelCollector::default());
        roam.register_collector(Box::new(kernel.clone()));

        f.info.get_or_create(&VersionLabels { version: env!("CARGO_PKG_VERSION").into() }).set(1);
        // Bounded label sets start at 0, so the first event is an increase `rate()` can see
        // instead of a series appearing out of nowhere.
        for source in BEACON_LOSS_SOURCES {
            f.beacon_losses.get_or_create_owned(&SourceLabels { source: source.into() });
        }
        for direction in CARRIER_DIRECTIONS {
            f.carrier_transitions
                .get_or_create_owned(&DirectionLabels { direction: direction.into() });
        }
        for state in State::ALL {
            f.state.get_or_create_owned(&StateLabels { state: state.name().into() });
        }
        let initial = State::Init;
        f.state.get_or_create(&StateLabels { state: initial.name().into() }).set(1);

        for source in LivenessSource::ALL {
            for state in SourceState::ALL {
                let labels = LivenessSourceLabels {
                    source: source.name().into(),
                    state: state.name().into(),
                };
                f.liveness_source.get_or_create_owned(&labels);
            }
        }
        for result in PROBE_RESULTS {
            f.liveness_probes.get_or_create_owned(&ProbeResultLabels { result: result.into() });
        }

        Self {
            registry,
            f,
            kernel,
            state: Mutex::new(initial),
            bss: Mutex::new(None),
            probes: Mutex::new(ProbeTotals::default()),
        }
    }

    /// A beacon loss was detected by `source` (see [`labels::BEACON_LOSS_SOURCES`]).
    pub fn beacon_loss_detected(&self, source: &str) {
        self.f.beacon_losses.get_or_create_owned(&SourceLabels { source: source.into() }).inc();
    }

    /// The AP ended the association with a deauthentication of reason code `reason` (`None`:
    /// unreadable).
    pub fn deauth_received(&self, reason: Option<u16>) {
        self.f.deauth.get_or_create_owned(&ReasonCodeLabels::of(reason)).inc();
    }

    /// The AP ended the association with a disassociation of reason code `reason`.
    pub fn disassoc_received(&self, reason: Option<u16>) {
        self.f.disassoc.get_or_create_owned(&ReasonCodeLabels::of(reason)).inc();
    }

    /// A roam attempt ended.
    /// A roam attempt ended: what triggered it, who carried it out, how it ended, the
    /// authentication it used (`psk`, `sae`, `ft-psk`, `eap`, ..., `open`) and the band of its
    /// target (`2.4`, `5`, `6`).
    pub fn roam_attempt(
        &self,
        trigger: TriggerKind,
        backend: Backend,
        result: RoamResult,
        akm: &str,
        band: &str,
    ) {
        let labels = AttemptLabels {
            trigger: trigger.name().into(),
            backend: backend.name().into(),
            result: result.name().into(),
            akm: akm.into(),
            band: band.into(),
        };
        self.f.attempts.get_or_create(&labels).inc();
    }

    /// A roam completed: `total` from detection to traffic flowing again, and the time spent in
    /// each phase that took place.
    pub fn roam_completed(&self, total: Duration, phases: &[(Phase, Duration)]) {
        self.f.duration.observe(total.as_secs_f64());
        for (phase, took) in phases {
            let labels = PhaseLabels { phase: phase.name().into() };
            self.f.phase_duration.get_or_create(&labels).observe(took.as_secs_f64());
        }
    }

    /// Time from the AP's last frame (or the triggering event) to roam's detection.
    pub fn detection_latency(&self, trigger: TriggerKind, latency: Duration) {
        let labels = TriggerLabels { trigger: trigger.name().into() };
        self.f.detection_latency.get_or_create(&labels).observe(latency.as_secs_f64());
    }

    /// A drop window closed: packets sent and held during it, packets lost by kernel drop
    /// reason (or [`labels::UNANSWERED_TX`]), and how long it lasted.
    pub fn drop_window<S: AsRef<str>>(
        &self,
        sent: u64,
        held: u64,
        dropped_by_reason: &[(S, u64)],
        duration: Duration,
    ) {
        self.f.drop_window_sent.inc_by(sent);
        self.f.drop_window_held.inc_by(held);
        // Reasons with no drops would only add series that stay at 0.
        for (reason, count) in dropped_by_reason.iter().filter(|(_, n)| *n > 0) {
            let labels = DropReasonLabels { reason: reason.as_ref().into() };
            self.f.drop_window_packets.get_or_create(&labels).inc_by(*count);
        }
        self.f.drop_window_duration.observe(duration.as_secs_f64());
    }

    /// The station interface's carrier went up or down.
    pub fn carrier(&self, up: bool) {
        let direction = if up { "up" } else { "down" };
        self.f
            .carrier_transitions
            .get_or_create(&DirectionLabels { direction: direction.into() })
            .inc();
    }

    /// The state machine moved from `from` to `to`; `roam_state` follows `to`, whatever it was
    /// before (`from` is only a label of the transition).
    pub fn state_changed(&self, from: State, to: State) {
        let labels = TransitionLabels { from: from.name().into(), to: to.name().into() };
        self.f.state_transitions.get_or_create(&labels).inc();

        let mut current = lock(&self.state);
        if *current != to {
            self.f.state.get_or_create(&StateLabels { state: current.name().into() }).set(0);
            *current = to;
        }
        self.f.state.get_or_create(&StateLabels { state: to.name().into() }).set(1);
    }

    /// The BSS the station is associated with as `(bssid, ssid, freq_mhz)`, or `None` when it is
    /// not associated. The previous BSS's `roam_bss_info` series is removed, not set to 0, so
    /// joins on it only ever see the current BSS.
    pub fn set_current_bss(&self, bss: Option<(MacAddr, String, u32)>) {
        let new = bss.map(|(bssid, ssid, freq_mhz)| BssInfoLabels {
            bssid: bssid.to_string(),
            ssid,
            freq_mhz,
        });
        let mut current = lock(&self.bss);
        if *current == new {
            return;
        }
        if let Some(old) = current.take() {
            self.f.bss_info.remove(&old);
        }
        if let Some(new) = &new {
            self.f.bss_info.get_or_create(new).set(1);
        }
        *current = new;
    }

    /// The state of each liveness source (one series of each source is 1).
    pub fn set_liveness(&self, liveness: &LivenessStatus) {
        for status in &liveness.sources {
            for state in SourceState::ALL {
                let labels = LivenessSourceLabels {
                    source: status.source.name().into(),
                    state: state.name().into(),
                };
                self.f.liveness_source.get_or_create(&labels).set(i64::from(state == status.state));
            }
        }
        let mut last = lock(&self.probes);
        let now = liveness.probes;
        for (result, before, after) in [
            ("acked", last.acked, now.acked),
            ("not_acked", last.not_acked, now.not_acked),
            ("unreported", last.unreported, now.unreported),
        ] {
            let labels = ProbeResultLabels { result: result.into() };
            self.f.liveness_probes.get_or_create(&labels).inc_by(after.saturating_sub(before));
        }
        *last = now;
    }

    /// The agent took an event of `kind` from the kernel programs' ring buffer (each one is a
    /// wake-up of the agent, so an idle station should see almost none).
    pub fn kernel_event(&self, kind: &str) {
        self.f.kernel_events.get_or_create_owned(&KindLabels { kind: kind.into() }).inc();
    }

    /// Replaces what the kernel-side metrics show with `snap`.
    pub fn set_kernel_snapshot(&self, snap: KernelSnapshot) {
        self.kernel.set(snap);
    }

    /// The whole exposition in OpenMetrics text format, `# EOF` included.
    pub fn encode(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail and no family here is native-only (which the text
        // encoder rejects), so an error would be a bug; serve what was encoded rather than
        // failing the scrape.
        if let Err(e) = text::encode(&mut out, &self.registry) {
            tracing::error!("encoding metrics failed: {e}");
        }
        out
    }
}

/// The guarded values are replaced whole, so they stay consistent if a holder panicked.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
