//! Attaching the agent to the station: checks first (so a bad setup fails with the fix, before
//! anything is attached), then the run record, the monitor interface, the kernel programs, the
//! neighbour follower and the connection manager (wpa_supplicant, or bare nl80211 without one).
//! Every part undoes itself when dropped, in the order of the fields below. (What outlives an
//! attachment is in [`super::services`].)

use roam_common::MacAddr;
use std::{
    collections::HashMap,
    os::fd::OwnedFd,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use anyhow::{bail, Context as _, Result};
use tokio::sync::broadcast;
use tracing::{debug, info, warn};

use super::{
    backend_choice::{self, Plan},
    manager::Manager,
    wpa_changes::RecordLink,
};
use crate::{
    ack_probe::AckProber,
    config::Config,
    control,
    ebpf::{stats, Observer, ObserverOptions},
    leftovers::{self, MonitorRecord, Previous, RecordFile, RunLock, RunRecord, SupplicantChanges},
    neighbours::{
        router::RouterSolicitor, routes::RouteFollower, ArpProber, NdProber, NeighbourFollower,
        Probers,
    },
    nl80211::{self, MonitorIface},
    system,
};

#[derive(Clone, Debug)]
pub struct RunOptions {
    pub iface: String,
    pub config: Config,
}

impl RunOptions {
    pub fn control_socket(&self) -> PathBuf {
        self.config
            .paths
            .control_socket
            .clone()
            .unwrap_or_else(|| control::default_socket_path(&self.iface))
    }
}

pub struct Parts {
    // Dropped first: the programs detach, then the interface they watched goes.
    pub observer: Observer,
    /// The monitor interface on the station's phy (none with `detect.monitor = false`, or where
    /// the driver refuses one).
    pub monitor: Option<MonitorIface>,
    /// Why there is no monitor interface, for status and logs.
    pub monitor_absent: Option<String>,
    /// Why roam only observes whatever the configuration says (another manager owns Wi-Fi).
    pub observe_only_because: Option<String>,
    /// The socket that asks the AP for acknowledgements (none without CAP_NET_RAW).
    pub ack_prober: Option<AckProber>,
    _bpf_stats: Option<OwnedFd>,
    /// Puts back the neighbour entries a roam's carrier loss flushed (`[drop_window]`): the
    /// neighbour follower, and the sockets that ask the neighbours through the new AP (a family
    /// without one is left to the kernel: an entry never goes back unconfirmed).
    pub neighbours: Option<(NeighbourFollower, Probers)>,
    /// Asks the router again for the IPv6 default route a roam's carrier loss took
    /// (`[drop_window] solicit_router`).
    pub router: Option<(RouteFollower, RouterSolicitor)>,
    /// The connection manager roam follows and acts through (taken by the agent).
    pub manager: Option<Manager>,
    pub drop_reason_names: HashMap<u32, String>,
    pub station_mac: MacAddr,
    /// The nl80211 client (the station's own measurement of its AP's signal).
    pub nl80211: nl80211::Nl80211,
    /// What this run changed, for the next start should this one not exit cleanly; dropped
    /// last, once everything it lists is undone. Shared with the supplicant's backend, which
    /// records its changes there (through a weak link: they end with the run).
    _record: Arc<Mutex<RecordFile>>,
}

impl Parts {
    pub async fn build(opts: &RunOptions) -> Result<Parts> {
        let iface = opts.iface.as_str();
        let config = &opts.config;
        let report = system::check_all(iface, &config.paths.wpa_ctrl_dir).await;
        let supplicant_problem = match report.get(system::WPA_SUPPLICANT) {
            Some(check) if check.passed() => None,
            Some(check) => Some(check.detail.clone()),
            None => Some("no wpa_supplicant was looked for".to_owned()),
        };
        let managers = backend_choice::running_wifi_managers();
        let plan = backend_choice::plan(
            config.act.backend,
            supplicant_problem.as_deref(),
            &managers,
            iface,
        )?;
        if let Some(blocker) = report.blocker_line() {
            debug!("checks:\n{report}");
            bail!("cannot run on {iface}: {blocker}");
        }

        let nl80211 = nl80211::Nl80211::new().await?;
        let wireless = nl80211
            .interface_by_name(iface)
            .await
            .with_context(|| format!("reading {iface} from nl80211"))?;
        let monitor_name = format!("roammon{}", wireless.ifindex);
        let record =
            Arc::new(Mutex::new(claim_run_record(&opts.control_socket(), iface, &nl80211).await?));
        let update_record = |change: &dyn Fn(&mut RunRecord)| {
            record.lock().expect("not poisoned").update(change).context("updating the run record")
        };
        let (monitor, monitor_absent) = if config.detect.monitor {
            update_record(&|record| {
                record.monitor =
                    Some(MonitorRecord { name: monitor_name.clone(), wiphy: wireless.wiphy })
            })?;
            match nl80211.create_monitor(wireless.wiphy, &monitor_name).await {
                Ok(monitor) => {
                    info!(monitor = %monitor_name, wiphy = wireless.wiphy, "monitor interface up");
                    (Some(monitor), None)
                }
                // Some drivers refuse a monitor beside a station (brcmfmac, ath11k's QCA6390):
                // liveness then comes from acknowledgements and the station's traffic alone.
                Err(err) => {
                    let why = format!("the driver refused a monitor interface: {err:#}");
                    warn!("{why}; roam watches the AP through acknowledgements alone");
                    (None, Some(why))
                }
            }
        } else {
            (None, Some("detect.monitor = false".to_owned()))
        };

        let observer = Observer::start(&ObserverOptions {
            station: iface.to_owned(),
            monitor: monitor.as_ref().map(|_| monitor_name.clone()),
        })?;
        update_record(&|record| record.clsact_added = observer.added_clsact())?;
        let report = observer.report();
        for failed in report.failed() {
            warn!(program = failed.program, "kernel hook failed: {:?}", failed.status);
        }
        if monitor.is_some() && !report.is_attached("roam_frames") {
            debug!("kernel hooks:\n{report}");
            let why = match report.hooks.iter().find(|hook| hook.program == "roam_frames") {
                Some(hook) => format!("{:?}", hook.status),
                None => "not loaded".to_owned(),
            };
            warn!("the frame filter did not attach to {monitor_name} ({why}): roam watches the AP through acknowledgements alone; see `roam check --iface {iface}`");
        }
        let ack_prober = AckProber::new(wireless.ifindex, iface)
            .inspect_err(|err| {
                warn!("{err:#}: roam cannot ask the AP, and relies on mac80211's loss detection")
            })
            .ok();
        info!(attached = report.attached().count(), carrier = ?report.carrier_source, "kernel programs attached");
        let bpf_stats =
            stats::enable().map_err(|e| warn!("no eBPF run-time statistics: {e:#}")).ok();

        let neighbours = if config.drop_window.restore_neighbours {
            if !report.is_attached("roam_sta_state") {
                warn!("mac80211:drv_sta_state is not available: neighbour entries flushed by a roam are not put back (traffic waits for the ARP retry)");
            }
            let follower = NeighbourFollower::new(wireless.ifindex)
                .context("following the neighbour table")?;
            // Without a prober, that family's flushed entries are left to the kernel (an entry
            // never goes back unconfirmed).
            let arp = ArpProber::new(wireless.ifindex, &wireless.name, wireless.mac)
                .inspect_err(|err| {
                    warn!("{err:#}: flushed IPv4 neighbour entries are left to the kernel")
                })
                .ok();
            let nd = NdProber::new(wireless.ifindex, &wireless.name, wireless.mac)
                .inspect_err(|err| {
                    warn!("{err:#}: flushed IPv6 neighbour entries are left to the kernel")
                })
                .ok();
            Some((follower, Probers { arp, nd }))
        } else {
            None
        };
        let router = if config.drop_window.solicit_router {
            RouteFollower::new(wireless.ifindex)
                .and_then(|follower| {
                    let solicitor =
                        RouterSolicitor::new(wireless.ifindex, &wireless.name, wireless.mac)?;
                    Ok((follower, solicitor))
                })
                .inspect_err(|err| {
                    warn!("{err:#}: an IPv6 default route a roam takes is not asked for again")
                })
                .ok()
        } else {
            None
        };

        let observe_only_because = match &plan {
            Plan::ObserveOnly { why } => {
                warn!("{why}");
                Some(why.clone())
            }
            Plan::Wpa | Plan::Nl80211 => None,
        };
        let manager = if plan == Plan::Wpa {
            let link = RecordLink::new(&record);
            Manager::wpa(&config.paths.wpa_ctrl_dir, iface, broadcast::channel(256).0, link).await?
        } else {
            if supplicant_problem.is_none() {
                warn!("wpa_supplicant runs for {iface}, but act.backend = \"nl80211\": roam and the supplicant will both manage the connection");
            }
            if observe_only_because.is_none() {
                info!("no wpa_supplicant for {iface}: acting through bare nl80211 (open networks)");
            }
            Manager::nl80211(nl80211.clone(), wireless.ifindex)
                .context("subscribing to nl80211's scan and MLME events")?
        };

        let drop_reason_names = observer.drop_reason_names().clone();

        Ok(Parts {
            observer,
            monitor,
            monitor_absent,
            observe_only_because,
            ack_prober,
            _bpf_stats: bpf_stats,
            neighbours,
            router,
            manager: Some(manager),
            drop_reason_names,
            station_mac: wireless.mac,
            nl80211,
            _record: record,
        })
    }
}

/// Takes the interface for this run: refuses if another roam runs on it, undoes what a run that
/// did not exit cleanly left, and records this one (nothing yet: each change is added before it
/// is made).
async fn claim_run_record(
    control_socket: &Path,
    iface: &str,
    nl80211: &nl80211::Nl80211,
) -> Result<RecordFile> {
    let path = leftovers::record_path(control_socket);
    if let Some(dir) = path.parent() {
        leftovers::ensure_private_dir(dir)?;
    }
    let lock = RunLock::try_acquire(&path)
        .with_context(|| format!("taking the lock beside {}", path.display()))?
        .with_context(|| {
            format!(
                "another roam runs on {iface} (it holds {}); fix: stop it first (systemctl stop roam@{iface})",
                path.with_extension("lock").display()
            )
        })?;
    let previous = Previous::read(&path)
        .with_context(|| format!("reading the run record {}", path.display()))?;
    // What the supplicant's backend undoes once it is attached to the supplicant.
    let mut left_in_supplicant = SupplicantChanges::default();
    match previous {
        Previous::None => {}
        Previous::Running(pid) => bail!(
            "another roam (pid {pid}) runs on {iface}; fix: stop it first (systemctl stop roam@{iface}, or kill {pid})"
        ),
        Previous::Stale(stale) => {
            left_in_supplicant = stale.supplicant.clone();
            let undone = leftovers::undo(&stale, nl80211).await;
            warn!(
                "roam (pid {}) did not exit cleanly on {}; undone: {}",
                stale.pid,
                stale.station,
                if undone.is_empty() { "nothing was left".to_owned() } else { undone.join("; ") }
            );
        }
        Previous::Unreadable(why) => {
            warn!("ignoring the unreadable run record {} ({why})", path.display())
        }
    }
    let record = RunRecord {
        pid: std::process::id(),
        station: iface.to_owned(),
        monitor: None,
        clsact_added: false,
        supplicant: left_in_supplicant,
    };
    RecordFile::create(&path, record, lock).with_context(|| {
        format!("writing the run record {}: is its directory writable?", path.display())
    })
}
