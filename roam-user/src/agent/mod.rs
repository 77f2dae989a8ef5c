//! `roam run`: the agent. It follows the station through the kernel programs and the
//! connection manager, hands what happens to its decisions, performs them, accounts each
//! transition's drop window, and publishes status, events and metrics.
//!
//! - [`conductor`]: every decision, as a pure core (events with their time in, commands out),
//!   around roam-common's state machine; "what happens when the AP goes silent" is its header;
//! - [`setup`]: everything attached, in an order that undoes cleanly on any failure;
//! - [`kernel_events`], [`candidates`], [`transition`], [`emit`], [`liveness`]: one job each;
//! - [`manager`]: the connection manager behind one interface ([`wpa_backend`] with the changes
//!   it makes recorded and undone, [`wpa_changes`]; [`nl_backend`]; [`backend_choice`]);
//! - this module: the agent's state and its event loop; the loop's handlers, by what they
//!   handle: [`on_kernel`], [`on_manager`], [`watch_ap`] (timers, liveness, the monitor's check
//!   of itself), [`link_view`] (the manager's view of the link); [`decide`] feeds the conductor
//!   and performs its commands, [`finish`] accounts a transition's end.

mod backend_choice;
mod bss_filter;
mod candidates;
mod conductor;
mod decide;
mod emit;
mod finish;
mod kernel_events;
mod link_view;
mod liveness;
mod manager;
mod monitor_watch;
mod nl_backend;
mod on_kernel;
mod on_manager;
mod services;
mod setup;
mod signal_watch;
mod signals;
mod status;
mod target_check;
mod transition;
mod watch_ap;
mod wpa_backend;
mod wpa_changes;

use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{bail, Context as _, Result};
use roam_common::{
    event::{KernelEvent, Stamped},
    maps::{FilterConfig, WindowCounters},
    policy::{self, Hold, MonitorCheck, MonitorHealth, State, Trigger},
    MacAddr,
};
use roam_proto::{
    AgentEvent, Attached, Backend, ConfirmedBy, Counters, DropWindow, FadingSignal, HoldReason,
    Phase, RoamRecord, RoamResult, RoamStep, Status, TransitionReport, TransitionStep, TriggerKind,
};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

pub use setup::RunOptions;

use self::{services::Services, signals::StopSignals};

use self::{
    candidates::{CandidateBook, Network},
    conductor::Conductor,
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
    neighbours::{self, router::RouterReport, Confirmation, PutBackPlan, Restored},
    netif::{self, monotonic_ns},
    presence::Presence,
    wpa,
};
use monitor_watch::MonitorWatch;
use signal_watch::{SignalSource, SignalWatch};

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
            None => services.insert(Services::start(&opts.config, &opts.iface).await?),
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
    /// How asking the router for a lost IPv6 default route ended.
    router_rx: mpsc::UnboundedReceiver<RouterReport>,
    manager: Manager,
    /// The decisions: the state machine, the transition, the roam in flight, the retries.
    conductor: Conductor,
    book: CandidateBook,
    /// The APs the manager holds a PMKSA for, read at each connection on an enterprise network.
    cached_keys: Vec<MacAddr>,
    network: Option<Network>,
    network_id: Option<u32>,
    current_freq: u32,
    station_mac: MacAddr,
    /// The station interface as attached (a re-added radio's interface has another index).
    station_ifindex: u32,
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
    /// The serving AP's signal while it is weak (none with signal roaming off).
    signal: Option<SignalWatch>,
    /// The next look at the manager's state and the candidates (CLOCK_MONOTONIC ns); it and
    /// the conductor's deadlines are served by `alarm`.
    refresh_at: u64,
    alarm: Alarm,
    /// New BSSes of the network the kernel did not announce (over its wake budget), as last
    /// read: when it grows, the table is read for them.
    unannounced_seen: u64,
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
        let (router_tx, router_rx) = mpsc::unbounded_channel();
        let (path_tx, path_rx) = watch::channel(None);
        let mut port_opened = Vec::new();
        if let Some((follower, solicitor)) = parts.router.take() {
            let (opened_tx, opened_rx) = mpsc::unbounded_channel();
            let plan = plan_rx.clone();
            neighbours::router::spawn(follower, solicitor, opened_rx, plan, path_rx, router_tx);
            port_opened.push(opened_tx);
        }
        if let Some((follower, probers)) = parts.neighbours.take() {
            let (opened_tx, opened_rx) = mpsc::unbounded_channel();
            neighbours::spawn(follower, probers, opened_rx, plan_rx, restored_tx, path_tx);
            port_opened.push(opened_tx);
        }
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
        let conductor = Conductor::new(
            conductor::Config {
                machine: policy::MachineConfig {
                    observe_only: opts.config.act.observe_only
                        || parts.observe_only_because.is_some(),
                    limiter: opts.config.limiter(),
                    manager_reconnects_recoverable: manager.backend() == Backend::WpaSupplicant,
                },
                manager_reconnects: manager.reconnects_by_itself(),
                reads_table_whole: manager.reads_table_whole(),
                roam_timeout_ns: opts.config.act.roam_timeout().as_nanos() as u64,
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
        let source = match parts.monitor {
            Some(_) => SignalSource::Monitor,
            None => SignalSource::Station,
        };
        let signal = opts.config.detect.signal().map(|config| SignalWatch::new(config, source));
        Ok(Agent {
            liveness,
            signal,
            monitor_check: None,
            monitor_watch,
            station_ifindex,
            opts,
            parts,
            kernel,
            carrier,
            put_back,
            restored_rx,
            router_rx,
            manager,
            conductor,
            book: CandidateBook::default(),
            cached_keys: Vec::new(),
            network: None,
            network_id: None,
            current_freq: 0,
            station_mac,
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
            refresh_at: after(REFRESH_INTERVAL),
            alarm: Alarm::new().context("creating the agent's timer")?,
            unannounced_seen: 0,
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
            observe_only: self.conductor.machine().config().observe_only,
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
                Some(report) = self.router_rx.recv() => self.on_router_report(report),
                event = self.manager.next() => self.on_manager(event?).await,
                Some(done) = self.action_rx.recv() => self.on_action_done(done),
                report = self.liveness.next_report() => match report {
                    Ok(report) => {
                        let change = self.liveness.report(report, monotonic_ns(), &mut self.parts.observer);
                        self.on_liveness(change);
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
            self.signal.as_ref().and_then(SignalWatch::next_wakeup_ns),
            self.conductor.next_deadline(),
            Some(self.refresh_at),
        ]
        .into_iter()
        .flatten()
        .min()
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
        self.conductor.forget_changes();
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
