//! `roam run`: the agent. It follows the station through the kernel programs and
//! wpa_supplicant, feeds the state machine (`roam_common::policy`), performs its one action at
//! a time, accounts each transition's drop window, and publishes status, events and metrics.
//!
//! - [`setup`]: everything attached, in an order that undoes cleanly on any failure;
//! - [`kernel_events`], [`candidates`], [`transition`], [`emit`]: one job each;
//! - [`link`]: the connection manager behind one interface ([`wpa_backend`], [`nl_backend`]);
//! - this module: the event loop and the glue between events and the machine.

mod backend_choice;
mod candidates;
mod emit;
mod kernel_events;
mod liveness;
mod manager;
mod monitor_watch;
mod nl_backend;
mod services;
mod setup;
mod signals;
mod status;
mod transition;
mod wpa_backend;
mod wpa_changes;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use roam_common::{
    event::{KernelEvent, LeaveKind, Stamped},
    maps::{FilterConfig, WindowCounters},
    policy::{
        self, Action, Backoff, Candidate, Hold, Input, Machine, MonitorCheck, MonitorHealth,
        Outcome, State, Step, Trigger,
    },
    MacAddr,
};
use roam_proto::{
    AgentEvent, Attached, Backend, ConfirmedBy, Counters, DropWindow, HoldReason, LossSource,
    Phase, RoamRecord, RoamResult, RoamStep, Status, TransitionReport, TransitionStep, TriggerKind,
};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use setup::RunOptions;

use self::{services::Services, signals::StopSignals};

use self::{
    candidates::{CandidateBook, Network},
    emit::Emitter,
    kernel_events::KernelEvents,
    liveness::{Change, LivenessWatch},
    manager::{Manager, ManagerEvent, RoamRequest},
    transition::{reasons_since, window_report, Transition},
};
use crate::{
    alarm::Alarm,
    carrier::CarrierEvents,
    config::{BackendChoice, Config},
    ebpf::report::CarrierSource,
    metrics::{Metrics, RefreshRequest},
    neighbours::{self, Confirmation, PutBackPlan, Restored},
    netif::{self, monotonic_ns},
    presence::Presence,
    wpa,
};
use monitor_watch::MonitorWatch;

/// After the connection completes, the transition ends at the first data frame from the AP, or
/// after this long if none comes (an idle station).
const FIRST_DATA_WAIT: Duration = Duration::from_secs(2);
/// With no candidate known and nobody else reconnecting, look again (a scan of every
/// channel) after this long, doubling up to the maximum until the station connects.
const NO_CANDIDATE_RETRY: Duration = Duration::from_secs(2);
const NO_CANDIDATE_RETRY_MAX: Duration = Duration::from_secs(60);
/// A scan the connection manager started keeps the station off its channel for at most this
/// long, as far as the liveness rule is concerned (its end is normally reported sooner).
const SCAN_AWAY_MAX: Duration = Duration::from_secs(10);
/// How long before a transition's start a neighbour flush still counts as its own.
const NEIGHBOUR_FLUSH_SLACK: Duration = Duration::from_secs(1);
/// The agent looks at the manager's state and refreshes its candidates this often at least
/// (`candidates.refresh_min_interval_s` when longer).
const REFRESH_INTERVAL: Duration = Duration::from_secs(5);
/// How long the exit waits for the supplicant to take back roam's changes: a stop is honoured
/// within a second, and what is left stays in the run record for the next start.
const SHUTDOWN_PUT_BACK: Duration = Duration::from_millis(800);

/// Runs the agent until SIGINT/SIGTERM; everything attached is detached on return. When the
/// station interface goes (its radio removed), the agent detaches, waits for it to come back
/// under the same name, and attaches again.
pub async fn run(mut opts: RunOptions) -> Result<()> {
    let mut presence = Presence::new(&opts.iface)?;
    let mut stop = StopSignals::new()?;
    let mut services: Option<Services> = None;
    loop {
        // A stop request while attaching (loading programs takes seconds) stops it there: what
        // was attached so far undoes itself as the half-built parts drop.
        let parts = tokio::select! {
            parts = setup::Parts::build(&opts) => parts?,
            signal = stop.next() => {
                info!("{signal}: stopping");
                return Ok(());
            }
        };
        // Started once the first attachment has passed the checks; kept across the others.
        let services = match &mut services {
            Some(services) => services,
            None => services.insert(Services::start(&opts.config).await?),
        };
        let mut agent = Agent::new(opts.clone(), parts, services).await?;
        // Attaching again uses the manager chosen now: a supplicant that is not back yet is
        // waited for, not replaced by bare nl80211.
        // (Observing beside another manager is decided again: it may be gone by then.)
        opts.config.act.backend = match agent.manager.backend() {
            Backend::WpaSupplicant => BackendChoice::WpaSupplicant,
            Backend::Nl80211 if agent.parts.observe_only_because.is_some() => BackendChoice::Auto,
            Backend::Nl80211 => BackendChoice::Nl80211,
        };
        // A stop request ends the agent's loop wherever it is, even inside a step that waits on
        // the outside world (a hung supplicant's reply waits up to its deadline).
        let exit = tokio::select! {
            exit = agent.run(&mut presence, services) => exit,
            signal = stop.next() => {
                info!("{signal}: stopping");
                Ok(Exit::Stopped)
            }
        };
        if !matches!(exit, Ok(Exit::StationGone)) {
            crate::sd_notify::stopping();
            agent.shutdown().await;
            return exit.map(drop);
        }
        services.refresh_rx = Some(agent.detach());
        // Said once everything attached to the station is gone (its monitor interface too).
        services.emitter.emit(AgentEvent::StationRemoved { iface: opts.iface.clone() });
        warn!("{} was removed: roam detached and waits for it to come back", opts.iface);
        let back = async {
            presence.back().await?;
            if opts.config.act.backend == BackendChoice::WpaSupplicant {
                info!("{} is back; waiting for its wpa_supplicant", opts.iface);
                wpa::wait_until_answering(&opts.config.paths.wpa_ctrl_dir, &opts.iface).await?;
            }
            anyhow::Ok(())
        };
        tokio::select! {
            back = back => back?,
            signal = stop.next() => {
                info!("{signal}: stopping");
                crate::sd_notify::stopping();
                return Ok(());
            }
        }
        info!("{} is back: attaching again", opts.iface);
    }
}

/// Why the agent's loop ended without an error.
enum Exit {
    /// SIGINT or SIGTERM.
    Stopped,
    /// The station interface was deleted.
    StationGone,
}

/// The outcome of a backend action, reported back to the loop.
struct ActionDone {
    /// The roam it belongs to.
    generation: u64,
    result: Result<()>,
}

struct Agent {
    opts: RunOptions,
    parts: setup::Parts,
    /// Events of the kernel programs, drained from the ring by [`kernel_events::pump`].
    kernel: mpsc::Receiver<Result<Stamped>>,
    /// Carrier through rtnetlink, where the fentry hooks could not attach.
    carrier: Option<CarrierEvents>,
    /// What the neighbour task puts back at the next port opening (none outside a transition).
    put_back: watch::Sender<Option<PutBackPlan>>,
    /// What the neighbour task put back at a port opening.
    restored_rx: mpsc::UnboundedReceiver<Restored>,
    manager: Manager,
    machine: Machine,
    book: CandidateBook,
    network: Option<Network>,
    network_id: Option<u32>,
    current_freq: u32,
    station_mac: MacAddr,
    /// The station interface as attached (a re-added radio's interface has another index).
    station_ifindex: u32,
    /// A deauth/disassoc the kernel saw, waiting for the supplicant to process it.
    ap_ended: Option<(Trigger, u64)>,
    /// The latest roam's number: a late report of an older one is not taken for it.
    roam_generation: u64,
    /// The roam whose changes to the manager (the BSSID pin) may be in place, put back when
    /// it ends.
    changed_by: Option<u64>,
    transition: Option<Transition>,
    last_roam: Option<RoamRecord>,
    counters: Counters,
    window_baseline: (WindowCounters, Vec<(u32, u64)>),
    drop_reason_names: HashMap<u32, String>,
    emitter: Emitter,
    status_tx: watch::Sender<Status>,
    action_tx: mpsc::Sender<ActionDone>,
    action_rx: mpsc::Receiver<ActionDone>,
    refresh_rx: mpsc::Receiver<RefreshRequest>,
    metrics: Arc<Metrics>,
    /// Whether the AP is still there: acknowledgements of roam's probes, frames heard.
    liveness: LivenessWatch,
    /// Whether the monitor hears the AP (none without a monitor).
    monitor_check: Option<MonitorCheck>,
    /// Whether the monitor interface is deleted under roam (none without one).
    monitor_watch: Option<MonitorWatch>,
    // Deadlines, CLOCK_MONOTONIC ns, all served by `alarm`.
    /// A roam roam started must have ended by then.
    roam_deadline: Option<u64>,
    /// The end of a transition's wait for the first data frame.
    first_data_deadline: Option<u64>,
    /// The next look at the manager's state and the candidates.
    refresh_at: u64,
    /// A loss held without a manager that reconnects by itself: try again then.
    retry_at: Option<u64>,
    alarm: Alarm,
    /// The wait before looking again when no candidate is known (doubles up to a bound).
    no_candidate: Backoff,
}

impl Agent {
    async fn new(
        opts: RunOptions,
        mut parts: setup::Parts,
        services: &mut Services,
    ) -> Result<Self> {
        let (kernel_tx, kernel) = mpsc::channel(256);
        let (put_back, plan_rx) = watch::channel(None);
        let (restored_tx, restored_rx) = mpsc::unbounded_channel();
        let port_opened = parts.neighbours.take().map(|(follower, prober)| {
            let (opened_tx, opened_rx) = mpsc::unbounded_channel();
            neighbours::spawn(follower, prober, opened_rx, plan_rx, restored_tx);
            opened_tx
        });
        kernel_events::pump(
            KernelEvents::new(parts.observer.take_events()?)?,
            kernel_tx,
            port_opened,
        );
        let carrier = match parts.observer.report().carrier_source {
            CarrierSource::Kernel => None,
            CarrierSource::Rtnetlink => {
                Some(CarrierEvents::new(&opts.iface, netif::ifindex(&opts.iface)?)?)
            }
        };
        let manager = parts.manager.take().expect("setup chooses the connection manager");
        let monitor_watch = parts.monitor.as_ref().and_then(|monitor| {
            MonitorWatch::new(monitor.name(), monitor.ifindex())
                .inspect_err(|err| warn!("{err:#}: a deleted monitor interface goes unnoticed"))
                .ok()
        });
        let machine = Machine::new(
            policy::MachineConfig {
                observe_only: opts.config.act.observe_only || parts.observe_only_because.is_some(),
                limiter: opts.config.limiter(),
            },
            monotonic_ns(),
        );
        let (action_tx, action_rx) = mpsc::channel(4);
        let refresh_rx =
            services.refresh_rx.take().expect("a detached agent gives the refresh channel back");
        let window_baseline = (parts.observer.window_counters()?, parts.observer.drop_reasons()?);
        let metrics = services.metrics.clone();
        let emitter = services.emitter.clone();
        let status_tx = services.status_tx.clone();
        let drop_reason_names = std::mem::take(&mut parts.drop_reason_names);
        let station_mac = parts.station_mac;
        let station_ifindex = netif::ifindex(&opts.iface)?;
        let liveness = LivenessWatch::new(
            opts.config.detect.liveness(),
            parts.ack_prober.take(),
            opts.config.detect.unanswered_ns(),
        );
        Ok(Agent {
            liveness,
            monitor_check: None,
            monitor_watch,
            station_ifindex,
            opts,
            parts,
            kernel,
            carrier,
            put_back,
            restored_rx,
            manager,
            machine,
            book: CandidateBook::default(),
            network: None,
            network_id: None,
            current_freq: 0,
            station_mac,
            ap_ended: None,
            roam_generation: 0,
            changed_by: None,
            transition: None,
            last_roam: None,
            counters: Counters::default(),
            window_baseline,
            drop_reason_names,
            emitter,
            status_tx,
            action_tx,
            action_rx,
            refresh_rx,
            metrics,
            roam_deadline: None,
            first_data_deadline: None,
            refresh_at: after(REFRESH_INTERVAL),
            retry_at: None,
            alarm: Alarm::new().context("creating the agent's timer")?,
            no_candidate: no_candidate_backoff(),
        })
    }

    fn config(&self) -> &Config {
        &self.opts.config
    }

    async fn run(&mut self, presence: &mut Presence, services: &mut Services) -> Result<Exit> {
        self.load_scan_table().await;
        self.follow_link_status().await?;
        self.publish_status();
        let first_attachment = !services.control_served();
        services.serve_control(&self.opts.control_socket(), &self.opts.iface).await?;
        crate::sd_notify::ready();
        let attached = Attached {
            iface: self.opts.iface.clone(),
            observe_only: self.machine.config().observe_only,
            backend: self.manager.backend(),
            hooks: self.parts.observer.report().attached().count(),
        };
        self.emitter.emit(if first_attachment {
            AgentEvent::Started(attached)
        } else {
            AgentEvent::Reattached(attached)
        });
        loop {
            let deadline = self.next_deadline();
            tokio::select! {
                removed = presence.removed(self.station_ifindex) => {
                    removed?;
                    return Ok(Exit::StationGone);
                }
                event = self.kernel.recv() => match event {
                    Some(event) => self.on_kernel(event?).await,
                    None => bail!("the kernel event reader stopped"),
                },
                up = next_carrier_change(&mut self.carrier) => self.on_carrier(up?, monotonic_ns()),
                removed = monitor_removed(&mut self.monitor_watch) => {
                    removed?;
                    self.on_monitor_removed().await;
                }
                Some(restored) = self.restored_rx.recv() => self.on_neighbours_restored(restored),
                event = self.manager.next() => self.on_manager(event?).await,
                Some(done) = self.action_rx.recv() => self.on_action_done(done).await,
                report = self.liveness.next_report() => match report {
                    Ok(report) => {
                        let change = self.liveness.report(report, monotonic_ns(), &mut self.parts.observer);
                        self.on_liveness(change).await;
                    }
                    Err(err) => warn!("reading the probes' acknowledgements: {err}"),
                },
                // A scrape or `roam status`: the snapshot is built on demand, not per event.
                Some(reply) = self.refresh_rx.recv() => {
                    self.refresh_metrics();
                    self.publish_status();
                    let _ = reply.send(());
                }
                woke = self.alarm.until(deadline) => {
                    woke.context("the agent's timer")?;
                    self.on_deadline().await;
                }
            }
            self.parts.observer.flush_logs();
        }
    }

    fn next_deadline(&self) -> Option<u64> {
        [
            self.liveness.next_wakeup_ns(),
            self.monitor_check.and_then(|check| check.due_ns()),
            self.roam_deadline,
            self.first_data_deadline,
            self.retry_at,
            Some(self.refresh_at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---- kernel events ----

    async fn on_kernel(&mut self, Stamped { at_ns, event, .. }: Stamped) {
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
                self.ap_ended = Some((trigger, at_ns));
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
    fn on_carrier(&mut self, up: bool, at_ns: u64) {
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
    fn on_port_authorized(&mut self, at_ns: u64) {
        if let Some(t) = &mut self.transition {
            t.mark(TransitionStep::Authorized, at_ns);
        }
    }

    fn on_neighbours_restored(&mut self, restored: Restored) {
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

    fn last_heard(&self, bssid: &MacAddr) -> Option<u64> {
        self.parts.observer.bss_record(bssid).ok().flatten().map(|r| r.last_seen_ns)
    }

    // ---- connection manager events ----

    async fn on_manager(&mut self, event: ManagerEvent) {
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
    async fn resync(&mut self) {
        self.load_scan_table().await;
        self.follow_link_status().await.unwrap_or_else(|e| warn!("status: {e:#}"));
    }

    /// The AP ended the association (the kernel saw the frame first, with its direction and
    /// protection; the manager's disconnect says it is processed): a loss to act on.
    async fn on_ap_ended(&mut self, reason: u16, now: u64) {
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
    fn mark_or_start(&mut self, step: TransitionStep, now: u64) {
        if self.transition.is_none() && self.machine.state() == State::Run {
            self.start_transition(None, now);
        }
        if let Some(t) = &mut self.transition {
            t.mark(step, now);
        }
    }

    // ---- detection and decision ----

    async fn on_loss(
        &mut self,
        trigger: Trigger,
        lost_ns: u64,
        detected_ns: u64,
        source: LossSource,
    ) {
        let Some(bssid) = self.machine.current_bss() else { return };
        let Some(network) = self.network.clone() else { return };
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
    fn best_candidate(&self, network: &Network, lost: MacAddr) -> (Option<Candidate>, usize) {
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
    async fn retry_held_loss(&mut self) {
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
    fn schedule_retry(&mut self, until_ns: Option<u64>) {
        if self.manager.reconnects_by_itself() || self.machine.config().observe_only {
            return;
        }
        self.retry_at = Some(match until_ns {
            Some(t) => t,
            None => after(Duration::from_nanos(self.no_candidate.failed())),
        });
    }

    fn start_transition(&mut self, trigger: Option<Trigger>, lost_ns: u64) {
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

    async fn apply(&mut self, step: Step) {
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

    fn perform(&mut self, action: Action) {
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

    async fn on_action_done(&mut self, done: ActionDone) {
        if done.generation != self.roam_generation {
            debug!(generation = done.generation, "a late report of an earlier roam: ignored");
            return;
        }
        if let Err(err) = done.result {
            warn!("roam action failed: {err:#}");
            self.emitter.emit(AgentEvent::RoamActionFailed { error: format!("{err:#}") });
            let step = self.machine.handle(Input::ActionFailed, monotonic_ns());
            self.apply(step).await;
        }
    }

    async fn on_outcome(&mut self, outcome: Outcome) {
        let (trigger, result) = match outcome {
            Outcome::Succeeded { trigger, .. } => (trigger, RoamResult::Success),
            Outcome::Failed { trigger, .. } => (trigger, RoamResult::Failure),
            Outcome::TimedOut { trigger, .. } => (trigger, RoamResult::Timeout),
            Outcome::Held { trigger, hold } => {
                let now = monotonic_ns();
                let (why, retry_at) = match hold {
                    Hold::ObserveOnly => (HoldReason::ObserveOnly, None),
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
                    Hold::ObserveOnly => {}
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
    fn end_roam_changes(&mut self) {
        if let Some(generation) = self.changed_by.take() {
            let actor = self.manager.actor();
            tokio::spawn(async move {
                if let Err(err) = actor.end_roam(generation).await {
                    warn!("{err:#}; it is put back at exit, or at the next start");
                }
            });
        }
    }

    // ---- the end of a transition ----

    async fn finish_transition(&mut self) {
        self.first_data_deadline = None;
        let Some(t) = self.transition.take() else { return };
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
    fn close_window_quietly(&mut self) {
        let observer = &mut self.parts.observer;
        let _ = observer.close_window();
        self.window_baseline = (
            observer.window_counters().unwrap_or_default(),
            observer.drop_reasons().unwrap_or_default(),
        );
    }

    // ---- timers ----

    async fn on_deadline(&mut self) {
        let due = |deadline: Option<u64>| deadline.is_some_and(|at| at <= monotonic_ns());
        if due(self.roam_deadline) {
            self.roam_deadline = None;
            let step = self.machine.handle(Input::RoamTimeout, monotonic_ns());
            self.apply(step).await;
        }
        if due(self.first_data_deadline) {
            self.finish_transition().await;
        }
        if due(self.monitor_check.and_then(|check| check.due_ns())) {
            self.judge_monitor();
        }
        if due(self.liveness.next_wakeup_ns()) {
            let change = self.liveness.wake(monotonic_ns(), &self.parts.observer);
            self.on_liveness(change).await;
        }
        if due(self.retry_at) {
            self.retry_held_loss().await;
        }
        if due(Some(self.refresh_at)) {
            self.refresh_at =
                after(REFRESH_INTERVAL.max(self.config().candidates.refresh_min_interval()));
            self.catch_up_with_link().await;
            self.refresh_candidates().await;
        }
    }

    /// The manager's events can be lost (wpa_supplicant drops its event messages while any of
    /// its monitors lags behind): a connection it reports that the machine missed is taken as
    /// if its event had come, or roam would sit in ASSOC, blind to every later loss.
    async fn catch_up_with_link(&mut self) {
        let Ok(Some(status)) = self.manager.status().await else { return };
        if !self.machine.missed_connection(status.bssid, monotonic_ns()) {
            return;
        }
        warn!(
            bssid = %status.bssid,
            state = self.machine.state().name(),
            "missed the connection manager's connection event: catching up with its state"
        );
        self.on_manager(ManagerEvent::Connected { bssid: status.bssid }).await;
    }

    /// Whether the monitor's silence means anything: it hears the AP (or has not been judged yet).
    fn monitor_hears(&self) -> bool {
        self.monitor_check
            .is_some_and(|check| !matches!(check.health(), MonitorHealth::Deaf { .. }))
    }

    /// The monitor interface was deleted under roam: its silence means nothing until it is
    /// back. It is created again and the frame filter bound to it; if that fails, or the radio
    /// keeps deleting it, roam goes on without it.
    async fn on_monitor_removed(&mut self) {
        self.monitor_check = None;
        let (Some(watch), Some(monitor)) = (&mut self.monitor_watch, &mut self.parts.monitor)
        else {
            return;
        };
        let name = monitor.name().to_owned();
        warn!("the monitor interface {name} was deleted (a driver reset?): its silence is ignored until it is back");
        let recreated = if watch.may_recreate(monotonic_ns()) {
            match monitor.recreate().await {
                Ok(()) => self.parts.observer.rebind_frames(monitor.ifindex()),
                Err(err) => Err(err.into()),
            }
        } else {
            Err(anyhow::anyhow!("it was deleted too often"))
        };
        match recreated {
            Ok(()) => {
                watch.follow(monitor.ifindex());
                info!(monitor = %name, ifindex = monitor.ifindex(), "monitor interface created again");
                if let Some(bssid) = self.machine.current_bss() {
                    self.count_monitor_beacons(bssid);
                }
            }
            Err(err) => {
                warn!("{name} is not created again ({err:#}): roam watches the AP through acknowledgements alone");
                self.parts.monitor_absent =
                    Some(format!("the monitor interface was deleted: {err:#}"));
                self.monitor_watch = None;
            }
        }
    }

    /// Starts counting the beacons the monitor hears of the AP just associated with.
    fn count_monitor_beacons(&mut self, bssid: MacAddr) {
        if self.parts.monitor_absent.is_some() {
            return;
        }
        let beacons = self.row(&bssid).map_or(0, |row| row.beacon_count);
        self.monitor_check = Some(MonitorCheck::start(monotonic_ns(), beacons));
    }

    fn judge_monitor(&mut self) {
        let Some(bssid) = self.machine.current_bss() else { return };
        let row = self.parts.observer.bss_record(&bssid).ok().flatten();
        let interval_tu = self
            .assoc_beacon_interval_tu(&bssid)
            .or_else(|| row.map(|r| r.beacon_interval_tu))
            .unwrap_or(0);
        let Some(check) = &mut self.monitor_check else { return };
        let health = check.finish(monotonic_ns(), row.map_or(0, |r| r.beacon_count), interval_tu);
        match health {
            MonitorHealth::Deaf { heard, expected } => warn!(
                "the monitor heard {heard} of the {expected} beacons {bssid} sent: this driver \
                 filters its AP's beacons; their silence is ignored, acknowledgements decide"
            ),
            MonitorHealth::Hears { heard, expected } => {
                debug!("the monitor heard {heard} of the {expected} beacons {bssid} sent")
            }
            MonitorHealth::Unknown => {}
        }
    }

    /// The beacon interval the connection manager associated with, which the kernel's silence
    /// test and the monitor's check use rather than a beacon's (anyone can send one in the
    /// AP's name).
    fn assoc_beacon_interval_tu(&self, bssid: &MacAddr) -> Option<u16> {
        self.book.scan_entry(bssid)?.bss.beacon_interval_tu
    }

    fn row(&self, bssid: &MacAddr) -> Option<roam_common::maps::BssRecord> {
        self.parts.observer.bss_record(bssid).ok().flatten()
    }

    /// Something suggests the AP may be gone: ask it now (the liveness rule decides whether a
    /// probe goes out, and what its answer means).
    async fn ask_the_ap(&mut self) {
        let now = monotonic_ns();
        self.liveness.hint(now);
        let change = self.liveness.wake(now, &self.parts.observer);
        self.on_liveness(change).await;
    }

    /// What the liveness rule found: the AP lost (a loss to act on), or back (a false alarm).
    async fn on_liveness(&mut self, change: Option<Change>) {
        let Some(bssid) = self.machine.current_bss() else { return };
        match change {
            Some(Change::Lost { last_alive_ns }) => {
                self.on_loss(Trigger::NoAck, last_alive_ns, monotonic_ns(), LossSource::Ack).await
            }
            Some(Change::Back) => {
                let step = self.machine.handle(Input::ApHeard { bssid }, monotonic_ns());
                self.apply(step).await;
            }
            None => {}
        }
    }

    /// Keeps the best candidate usable: a single-channel scan when its scan entry would expire
    /// (bounded by the refresh interval), so a roam never needs a full scan.
    async fn refresh_candidates(&mut self) {
        if !self.config().candidates.refresh_scans || self.machine.state() != State::Run {
            return;
        }
        let (Some(network), Some(current)) = (self.network.clone(), self.machine.current_bss())
        else {
            return;
        };
        let candidates = self.book.candidates(&network, &[], monotonic_ns(), Instant::now());
        let Some(best) = candidates.iter().find(|c| c.bssid != current) else { return };
        let stale_after_ms = policy::candidate::SCAN_ENTRY_USABLE_MS - 5_000;
        if best.scan_age_ms.is_some_and(|age| age > stale_after_ms) {
            debug!(bssid = %best.bssid, freq = best.freq_mhz, "refreshing the candidate's scan entry");
            let actor = self.manager.actor();
            let freq = best.freq_mhz;
            let ssid = network.ssid.clone();
            tokio::spawn(async move {
                if let Err(err) = actor.scan_one_channel(freq, &ssid).await {
                    debug!("refresh scan: {err:#}");
                }
            });
        }
    }

    // ---- the connection manager's view ----

    /// roam acts unless told to observe, another manager owns Wi-Fi, or the network is one its
    /// backend cannot connect to (bare nl80211 on a protected network).
    fn decide_whether_to_act(&mut self, protected: bool) {
        let backend_cannot = self.manager.backend() == Backend::Nl80211
            && !backend_choice::nl80211_can_act(protected);
        let observe = self.config().act.observe_only
            || self.parts.observe_only_because.is_some()
            || backend_cannot;
        if observe != self.machine.config().observe_only && backend_cannot {
            warn!("the network is protected and no wpa_supplicant answers: bare nl80211 cannot connect to it, so roam observes and does not act");
        }
        self.machine.set_observe_only(observe);
    }

    /// The current BSS, network and its id; points the kernel filter at the BSS.
    async fn follow_link_status(&mut self) -> Result<()> {
        let Some(status) = self.manager.status().await? else { return Ok(()) };
        let network = Network::new(&status.ssid, status.protected);
        let network_changed = self.network.as_ref().is_none_or(|n| n.ssid != network.ssid);
        self.network = Some(network);
        self.decide_whether_to_act(status.protected);
        self.network_id = status.network_id;
        self.current_freq = status.freq_mhz;
        if let Some(addr) = status.address {
            self.station_mac = addr;
        }
        if self.machine.current_bss().is_none() {
            let step =
                self.machine.handle(Input::Connected { bssid: status.bssid }, monotonic_ns());
            self.apply(step).await;
        }
        if !self.liveness.watching(status.bssid) {
            self.liveness.associated(status.bssid, monotonic_ns(), &mut self.parts.observer);
            self.count_monitor_beacons(status.bssid);
        }
        let ssid = candidates::printable_ssid(&status.ssid);
        self.metrics.set_current_bss(Some((status.bssid, ssid, self.current_freq)));
        self.arm_filter();
        if network_changed {
            self.hear_rows_of_the_network();
        }
        Ok(())
    }

    /// Takes the kernel's rows of the station's network for heard: the kernel reports a new
    /// BSS only if it is of the network the station was on at the time (see `arm_filter`).
    fn hear_rows_of_the_network(&mut self) {
        let Some(own) = self.network.as_ref().map(|n| n.ssid_hash) else { return };
        match self.parts.observer.bss_table() {
            Ok(rows) => rows
                .into_iter()
                .filter(|(_, row)| row.ssid_hash == own)
                .for_each(|(bssid, row)| self.book.heard(bssid, row.ssid_hash)),
            Err(err) => warn!("reading the kernel's BSS table: {err:#}"),
        }
    }

    /// Points the socket filter at the current BSS and, during a transition, asks it for the
    /// first data frame.
    fn arm_filter(&mut self) {
        let Some(bssid) = self.machine.current_bss() else { return };
        let watch_data = self.transition.as_ref().is_some_and(|t| t.marks.connected != 0);
        let cfg = FilterConfig {
            assoc_bssid: bssid,
            station: self.station_mac,
            silence_intervals: self.config().detect.silence_intervals,
            watch_data: watch_data as u32,
            assoc_beacon_interval_tu: self.assoc_beacon_interval_tu(&bssid).map_or(0, u32::from),
            own_ssid_hash: self.network.as_ref().map_or(0, |n| n.ssid_hash),
        };
        if let Err(err) = self.parts.observer.set_filter_config(&cfg) {
            warn!("configuring the frame filter: {err:#}");
        }
    }

    /// Reads the manager's whole scan table (at start, and after lost events).
    async fn load_scan_table(&mut self) {
        let table = self.manager.scan_table().await;
        self.book.rescanned(table, Instant::now());
    }

    async fn read_scan_entry(&mut self, bssid: MacAddr) {
        if let Some(bss) = self.manager.scan_entry(bssid).await {
            self.book.scanned(bss, Instant::now());
        }
    }

    /// After a scan: re-read the entries of the station's network (their ages changed), or
    /// the whole table where it is read whole (and a held loss may now have somewhere to go).
    async fn refresh_scan_entries(&mut self) {
        if self.manager.reads_table_whole() {
            self.load_scan_table().await;
            // A held loss goes on at once if the scan found somewhere to go; otherwise its
            // timer stands (retrying here would start the next full scan right away).
            let found = match (&self.network, self.machine.current_bss()) {
                (Some(network), Some(lost)) => self.best_candidate(network, lost).0.is_some(),
                _ => false,
            };
            if found && self.retry_at.is_some() && self.machine.roam_target().is_none() {
                self.retry_held_loss().await;
            }
            return;
        }
        let Some(network) = self.network.clone() else { return };
        let known: Vec<MacAddr> = self
            .book
            .candidates(&network, &[], monotonic_ns(), Instant::now())
            .iter()
            .map(|c| c.bssid)
            .collect();
        for bssid in known {
            self.read_scan_entry(bssid).await;
        }
    }

    // ---- publishing ----

    fn refresh_metrics(&mut self) {
        let snapshot =
            status::kernel_snapshot(&self.parts.observer, self.network.as_ref(), &self.book);
        self.metrics.set_kernel_snapshot(snapshot);
        self.metrics.set_liveness(&status::liveness(self));
    }

    fn publish_status(&mut self) {
        let status = status::build(self);
        self.status_tx.send_replace(status);
    }

    /// Detaches from the station (everything attached goes with `self`), and hands back what
    /// the next attachment needs.
    fn detach(self) -> mpsc::Receiver<RefreshRequest> {
        self.refresh_rx
    }

    async fn shutdown(&mut self) {
        self.changed_by = None;
        match tokio::time::timeout(SHUTDOWN_PUT_BACK, self.manager.actor().put_back()).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => warn!("{err:#}; the next start puts it back"),
            Err(_) => warn!(
                "the supplicant did not answer within {SHUTDOWN_PUT_BACK:?}; the next start puts back what roam changed"
            ),
        }
        self.emitter.emit(AgentEvent::Stopped);
    }
}

fn no_candidate_backoff() -> Backoff {
    Backoff::new(NO_CANDIDATE_RETRY.as_nanos() as u64, NO_CANDIDATE_RETRY_MAX.as_nanos() as u64)
}

/// CLOCK_MONOTONIC ns, `wait` from now.
fn after(wait: Duration) -> u64 {
    monotonic_ns() + wait.as_nanos() as u64
}

/// Resolves when the monitor interface is deleted; never without one (or once given up).
async fn monitor_removed(watch: &mut Option<MonitorWatch>) -> Result<()> {
    match watch {
        Some(watch) => watch.removed().await,
        None => std::future::pending().await,
    }
}

/// The next carrier change from rtnetlink, or never where the fentry hooks report carrier.
async fn next_carrier_change(links: &mut Option<CarrierEvents>) -> Result<bool> {
    match links {
        Some(links) => links.next().await,
        None => std::future::pending().await,
    }
}
