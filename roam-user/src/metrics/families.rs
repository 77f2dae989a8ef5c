//! The metric families roam records into, their names, help texts and buckets, and their
//! registration. Names are given without the `roam_` prefix (the registry adds it), without the
//! unit (added from the `Unit`) and without `_total` (prometheus-client appends it to counters),
//! so the exposed names are the ones listed on each field.

use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::{Registry, Unit},
};

use super::labels::*;

/// Prefix of every metric roam exposes.
pub const PREFIX: &str = "roam";

/// A whole roam, detection to traffic flowing again: 50 ms (a fast-transition roam on a quiet
/// channel) up to 10 s (a full scan and reconnect), denser where the fast path lands.
const ROAM_BUCKETS: [f64; 13] =
    [0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];

/// Single phases: authentication and association frames take milliseconds, a handshake or the
/// first data frame may take hundreds of them, a decision that waits for a scan seconds.
const PHASE_BUCKETS: [f64; 14] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0, 10.0];

/// Detection latency: events reported by the kernel or the supplicant arrive within
/// milliseconds; silence detection waits a few beacon intervals (102.4 ms each).
const DETECTION_BUCKETS: [f64; 14] =
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.0, 5.0];

/// Drop windows last about as long as the roams that cause them.
const DROP_WINDOW_BUCKETS: [f64; 13] = ROAM_BUCKETS;

/// Constructor type of histogram families, a plain function so `Families` has nameable types.
pub(crate) type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn phase_histogram() -> Histogram {
    Histogram::new(PHASE_BUCKETS)
}

fn detection_histogram() -> Histogram {
    Histogram::new(DETECTION_BUCKETS)
}

/// Handles to the families; cloning a handle shares the series, so these stay registered.
#[derive(Debug)]
pub(crate) struct Families {
    /// `roam_beacon_losses_detected_total{source}`
    pub beacon_losses: Family<SourceLabels, Counter>,
    /// `roam_deauth_received_total{reason}`
    pub deauth: Family<ReasonCodeLabels, Counter>,
    /// `roam_disassoc_received_total{reason}`
    pub disassoc: Family<ReasonCodeLabels, Counter>,
    /// `roam_attempts_total{trigger,backend,result,akm,band}`
    pub attempts: Family<AttemptLabels, Counter>,
    /// `roam_duration_seconds`
    pub duration: Histogram,
    /// `roam_phase_duration_seconds{phase}`
    pub phase_duration: HistogramFamily<PhaseLabels>,
    /// `roam_detection_latency_seconds{trigger}`
    pub detection_latency: HistogramFamily<TriggerLabels>,
    /// `roam_drop_window_packets_total{reason}`
    pub drop_window_packets: Family<DropReasonLabels, Counter>,
    /// `roam_drop_window_sent_packets_total`
    pub drop_window_sent: Counter,
    /// `roam_drop_window_held_packets_total`
    pub drop_window_held: Counter,
    /// `roam_drop_window_duration_seconds`
    pub drop_window_duration: Histogram,
    /// `roam_carrier_transitions_total{direction}`
    pub carrier_transitions: Family<DirectionLabels, Counter>,
    /// `roam_state_transitions_total{from,to}`
    pub state_transitions: Family<TransitionLabels, Counter>,
    /// `roam_state{state}`
    pub state: Family<StateLabels, Gauge>,
    /// `roam_kernel_events_total{kind}`
    pub kernel_events: Family<KindLabels, Counter>,
    /// `roam_bss_info{bssid,ssid,freq_mhz}`
    pub bss_info: Family<BssInfoLabels, Gauge>,
    /// `roam_info{version}`
    pub info: Family<VersionLabels, Gauge>,
    /// `roam_liveness_source_info{source,state}`
    pub liveness_source: Family<LivenessSourceLabels, Gauge>,
    /// `roam_liveness_probes_total{result}`
    pub liveness_probes: Family<ProbeResultLabels, Counter>,
}

impl Families {
    /// Creates the families and registers them with `registry` (which carries the prefix).
    pub fn register(registry: &mut Registry) -> Self {
        let f = Self {
            beacon_losses: Family::default(),
            deauth: Family::default(),
            disassoc: Family::default(),
            attempts: Family::default(),
            duration: Histogram::new(ROAM_BUCKETS),
            phase_duration: Family::new_with_constructor(phase_histogram),
            detection_latency: Family::new_with_constructor(detection_histogram),
            drop_window_packets: Family::default(),
            drop_window_sent: Counter::default(),
            drop_window_held: Counter::default(),
            drop_window_duration: Histogram::new(DROP_WINDOW_BUCKETS),
            carrier_transitions: Family::default(),
            state_transitions: Family::default(),
            state: Family::default(),
            bss_info: Family::default(),
            kernel_events: Family::default(),
            info: Family::default(),
            liveness_source: Family::default(),
            liveness_probes: Family::default(),
        };
        let r = registry;
        r.register("info", "roam agent build information, always 1", f.info.clone());
        r.register(
            "liveness_source_info",
            "How roam tells whether the AP is there, per source (acks, station_traffic, monitor): \
             1 for its state (in_use, unavailable, off)",
            f.liveness_source.clone(),
        );
        r.register(
            "liveness_probes",
            "Probes roam sent the AP (frames it put on the air), by what came of them: acked, \
             not_acked, unreported (dropped by the stack: no evidence)",
            f.liveness_probes.clone(),
        );
        r.register(
            "beacon_losses_detected",
            "Beacon losses detected, by who noticed: roam's kernel observation (silence), \
             mac80211 or the supplicant",
            f.beacon_losses.clone(),
        );
        r.register(
            "deauth_received",
            "Deauthentication frames received, by IEEE 802.11 reason code",
            f.deauth.clone(),
        );
        r.register(
            "disassoc_received",
            "Disassociation frames received, by IEEE 802.11 reason code",
            f.disassoc.clone(),
        );
        r.register(
            "attempts",
            "Roam attempts, by what triggered them, the backend that carried them out, the \
             outcome, the authentication used and the target's band",
            f.attempts.clone(),
        );
        r.register_with_unit(
            "duration",
            "Duration of completed roams, from detection to traffic flowing again",
            Unit::Seconds,
            f.duration.clone(),
        );
        r.register_with_unit(
            "phase_duration",
            "Duration of the phases of completed roams",
            Unit::Seconds,
            f.phase_duration.clone(),
        );
        r.register_with_unit(
            "detection_latency",
            "Time from the AP's last frame or the triggering event to roam's detection",
            Unit::Seconds,
            f.detection_latency.clone(),
        );
        r.register(
            "drop_window_packets",
            "Packets lost around roams, by kernel drop reason (UNANSWERED_TX: sent into a \
             silent AP)",
            f.drop_window_packets.clone(),
        );
        r.register(
            "drop_window_sent_packets",
            "Packets sent during roam drop windows",
            f.drop_window_sent.clone(),
        );
        r.register(
            "drop_window_held_packets",
            "Packets held back by roam during drop windows instead of being lost",
            f.drop_window_held.clone(),
        );
        r.register_with_unit(
            "drop_window_duration",
            "Duration of drop windows, in which the station could not deliver traffic",
            Unit::Seconds,
            f.drop_window_duration.clone(),
        );
        r.register(
            "carrier_transitions",
            "Carrier changes of the station interface",
            f.carrier_transitions.clone(),
        );
        r.register(
            "state_transitions",
            "Transitions of roam's station state machine",
            f.state_transitions.clone(),
        );
        r.register(
            "state",
            "Current state of roam's station state machine (1 for the current state)",
            f.state.clone(),
        );
        r.register(
            "kernel_events",
            "Events the agent took from its kernel programs' ring buffer, by kind (each one \
             wakes the agent; beacons never do)",
            f.kernel_events.clone(),
        );
        r.register(
            "bss_info",
            "The BSS the station is associated with, always 1; absent when not associated",
            f.bss_info.clone(),
        );
        f
    }
}
