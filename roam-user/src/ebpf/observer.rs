//! Loads roam's kernel programs, attaches every hook the running kernel offers, and gives typed
//! access to their maps. Dropping the [`Observer`] detaches everything it attached.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Context as _, Result};
use aya::{
    maps::{Array, PerCpuArray, PerCpuHashMap, RingBuf},
    programs::{FEntry, RawTracePoint, SchedClassifier, SocketFilter, TcAttachType},
    util::KernelVersion,
    Btf, Ebpf,
};
use roam_common::{
    history::{self, HistorySlot},
    maps::{
        BssRecord, BssSlot, FilterConfig, FilterCpu, FilterStats, LinkActivity, LinkConfig,
        StationIface, WindowCounters, WindowState, SINGLE,
    },
    MacAddr,
};
use tracing::{debug, warn};

use super::{
    btf::KernelBtf,
    events::EventReader,
    fentry_btf,
    hooks::{Attach, Hook, FRAMES_PROGRAM, HOOKS},
    layouts::KernelLayouts,
    packet,
    report::{AttachReport, CarrierSource, HookReport, HookStatus},
    OBJECT,
};
use crate::netif;

/// Where to attach.
#[derive(Clone, Debug)]
pub struct ObserverOptions {
    /// The station (managed) interface, in the calling thread's network namespace.
    pub station: String,
    /// A monitor interface on the station's phy, for the frame filter; `None` skips it.
    pub monitor: Option<String>,
}

pub struct Observer {
    ebpf: Ebpf,
    report: AttachReport,
    station: StationIface,
    /// Holds the frame filter: closing it detaches the program.
    _packet_socket: Option<socket2::Socket>,
    /// The clsact qdisc roam added (pre-tcx kernels) and removes again on drop.
    clsact_added_on: Option<String>,
    /// The programs' aya-log channel; records go to `log`, which tracing-subscriber bridges.
    logger: Option<aya_log::EbpfLogger<&'static dyn log::Log>>,
    /// `enum skb_drop_reason` from the kernel's BTF, to name the drops the programs count.
    drop_reason_names: HashMap<u32, String>,
}

impl Observer {
    pub fn start(opts: &ObserverOptions) -> Result<Self> {
        if OBJECT.is_empty() {
            bail!("this roam was built without its eBPF programs (AYA_BUILD_SKIP=1): build it again without");
        }
        let station_ifindex = netif::ifindex(&opts.station)?;
        let station = StationIface::new(station_ifindex, netif::netns_inode()?, &opts.station)
            .ok_or_else(|| anyhow!("interface name {:?} is too long", opts.station))?;

        // aya's loader, made at the start of `main` without parsing the kernel's BTF, serves
        // every attachment (see `loader`).
        let mut loader = super::loader::take();

        // Read in place once, for the struct offsets and the drop reasons' names. The loader
        // keeps what it is given for the next attachment: the layouts live as long (a few
        // hundred bytes for each attachment, which happens again only when the station's
        // interface comes back).
        let kernel_btf = KernelBtf::load();
        let layouts: &'static KernelLayouts =
            Box::leak(Box::new(KernelLayouts::resolve(kernel_btf.as_ref())));
        let drop_reason_names = kernel_btf
            .as_ref()
            .ok()
            .and_then(|btf| btf.enum_values("skb_drop_reason", "SKB_DROP_REASON_").ok())
            .map(|values| values.into_iter().map(|(v, n)| (v as u32, n)).collect())
            .unwrap_or_default();
        let fentry_functions = kernel_btf.as_ref().map(fentry_functions).unwrap_or_default();
        drop(kernel_btf);
        layouts.apply(&mut loader);
        let loaded = loader.load(OBJECT);
        super::loader::give_back(loader);
        let mut ebpf = loaded.map_err(|e| {
            anyhow!(e).context(
                "loading roam's eBPF object failed: run as root or with CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN",
            )
        })?;
        let logger = match aya_log::EbpfLogger::init(&mut ebpf) {
            Ok(l) => Some(l),
            Err(e) => {
                debug!("no eBPF log channel: {e}");
                None
            }
        };
        Array::<_, StationIface>::try_from(map_mut(&mut ebpf, "STATION")?)?
            .set(SINGLE, station, 0)?;

        let mut observer = Self {
            ebpf,
            report: AttachReport { hooks: Vec::new(), carrier_source: CarrierSource::Rtnetlink },
            station,
            _packet_socket: None,
            clsact_added_on: None,
            logger,
            drop_reason_names,
        };
        let monitor_ifindex = match &opts.monitor {
            Some(name) => Some(netif::ifindex(name)?),
            None => None,
        };
        // fentry programs are loaded against a BTF that names their functions (built once,
        // only if one of them gets that far).
        let mut fentry = FEntryTargets { functions: fentry_functions, btf: None };
        for hook in HOOKS {
            let status =
                observer.attach(hook, layouts, &mut fentry, &opts.station, monitor_ifindex);
            match &status {
                HookStatus::Attached => debug!(program = hook.program, "attached"),
                HookStatus::Skipped(why) => debug!(program = hook.program, "skipped: {why}"),
                HookStatus::Failed(why) => warn!(program = hook.program, "failed: {why}"),
            }
            observer.report.hooks.push(HookReport {
                program: hook.program,
                attach_point: hook.attach.describe(),
                purpose: hook.purpose,
                status,
            });
        }
        if observer.report.is_attached("roam_carrier_off")
            && observer.report.is_attached("roam_carrier_on")
        {
            observer.report.carrier_source = CarrierSource::Kernel;
        }
        drop(fentry);
        crate::memory::release_freed();
        Ok(observer)
    }

    fn attach(
        &mut self,
        hook: &Hook,
        layouts: &KernelLayouts,
        fentry: &mut FEntryTargets,
        station: &str,
        monitor_ifindex: Option<u32>,
    ) -> HookStatus {
        if let Attach::RawTracepoint { module: Some(module), .. } = hook.attach {
            if !module_loaded(module) {
                return HookStatus::Skipped(format!(
                    "the {module} module is not loaded (no Wi-Fi stack here)"
                ));
            }
        }
        if let Some(why) = layouts.missing(hook.needs) {
            return HookStatus::Skipped(why);
        }
        let result = match hook.attach {
            Attach::MonitorSocket => {
                match monitor_ifindex {
                    None => return HookStatus::Skipped(
                        "no monitor interface given (roam run creates one on the station's phy)"
                            .into(),
                    ),
                    Some(ifindex) => self.attach_frames(hook.program, ifindex),
                }
            }
            Attach::StationEgress => self.attach_tc(hook.program, station, TcAttachType::Egress),
            Attach::StationIngress => self.attach_tc(hook.program, station, TcAttachType::Ingress),
            Attach::RawTracepoint { name, .. } => self.attach_raw_tracepoint(hook.program, name),
            Attach::FEntry { function } => {
                match self.attach_fentry(hook.program, function, fentry.btf()) {
                    Ok(()) => Ok(()),
                    // The fallback (rtnetlink) is always there, so this is a skip, not a failure.
                    Err(e) => {
                        return HookStatus::Skipped(format!(
                            "fentry is unavailable here ({e:#}); carrier changes come from \
                             rtnetlink"
                        ))
                    }
                }
            }
        };
        match result {
            Ok(()) => HookStatus::Attached,
            Err(e) => HookStatus::Failed(format!("{e:#}")),
        }
    }

    fn program_mut<'a, T>(&'a mut self, name: &str) -> Result<&'a mut T>
    where
        &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
    {
        let program = self
            .ebpf
            .program_mut(name)
            .ok_or_else(|| anyhow!("program {name} is missing from the object"))?;
        Ok(program.try_into()?)
    }

    fn attach_frames(&mut self, name: &str, ifindex: u32) -> Result<()> {
        let program: &mut SocketFilter = self.program_mut(name)?;
        program.load().context("verifier")?;
        self._packet_socket = Some(packet::attach_to_interface(program, ifindex)?);
        Ok(())
    }

    /// Binds the frame filter, already loaded, to a new monitor interface (the one it ran on
    /// was deleted and created again). The old socket goes with its interface.
    pub fn rebind_frames(&mut self, ifindex: u32) -> Result<()> {
        let program: &mut SocketFilter = self.program_mut(FRAMES_PROGRAM)?;
        self._packet_socket = Some(packet::attach_to_interface(program, ifindex)?);
        Ok(())
    }

    /// Whether roam added the station's clsact qdisc (kernels without tcx); it goes on drop.
    pub fn added_clsact(&self) -> bool {
        self.clsact_added_on.is_some()
    }

    fn attach_tc(&mut self, name: &str, station: &str, direction: TcAttachType) -> Result<()> {
        let uses_tcx = KernelVersion::current().is_ok_and(|v| v >= KernelVersion::new(6, 6, 0));
        if !uses_tcx && self.clsact_added_on.is_none() {
            // Netlink-attached classifiers need a clsact qdisc; add one unless the interface
            // already has it (then it is someone else's, and stays).
            match aya::programs::tc::qdisc_add_clsact(station) {
                Ok(()) => self.clsact_added_on = Some(station.to_owned()),
                Err(e) if is_exists(&e) => {}
                Err(e) => {
                    return Err(e).context(
                        "adding a clsact qdisc (kernel module sch_ingress, CONFIG_NET_SCH_INGRESS)",
                    )
                }
            }
        }
        let program: &mut SchedClassifier = self.program_mut(name)?;
        program.load().context("verifier")?;
        program.attach(station, direction).context("attaching")?;
        Ok(())
    }

    fn attach_raw_tracepoint(&mut self, name: &str, event: &str) -> Result<()> {
        let program: &mut RawTracePoint = self.program_mut(name)?;
        program.load().context("verifier")?;
        program.attach(event).context("attaching")?;
        Ok(())
    }

    fn attach_fentry(&mut self, name: &str, function: &str, btf: &Btf) -> Result<()> {
        let program: &mut FEntry = self.program_mut(name)?;
        program.load(function, btf).context("verifier")?;
        program.attach().context("attaching")?;
        Ok(())
    }

    /// Forwards the programs' pending log records to `tracing`.
    pub fn flush_logs(&mut self) {
        if let Some(logger) = &mut self.logger {
            logger.flush();
        }
    }

    /// The log channel's descriptor, readable when records are pending (for an event loop).
    pub fn log_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        self.logger.as_ref().map(|l| l.as_fd())
    }

    pub fn report(&self) -> &AttachReport {
        &self.report
    }

    /// The kernel's names of its drop reasons (empty without BTF), e.g. 64 -> "QDISC_DROP".
    pub fn drop_reason_names(&self) -> &HashMap<u32, String> {
        &self.drop_reason_names
    }

    pub fn station(&self) -> StationIface {
        self.station
    }

    /// Tells the link programs when to hint that the station's traffic goes unanswered, and when
    /// the agent last knew the AP alive.
    pub fn set_link_config(&mut self, cfg: &LinkConfig) -> Result<()> {
        Array::<_, LinkConfig>::try_from(map_mut(&mut self.ebpf, "LINK_CONFIG")?)?
            .set(SINGLE, *cfg, 0)?;
        Ok(())
    }

    /// When the AP was last heard (station interface's ingress, or the monitor).
    pub fn link_activity(&self) -> Result<LinkActivity> {
        Ok(Array::<_, LinkActivity>::try_from(map(&self.ebpf, "LINK_ACTIVITY")?)?
            .get(&SINGLE, 0)?)
    }

    /// Tells the frame filter which BSS the station is associated with and how long a silence is.
    pub fn set_filter_config(&mut self, cfg: &FilterConfig) -> Result<()> {
        Array::<_, FilterConfig>::try_from(map_mut(&mut self.ebpf, "FILTER_CONFIG")?)?
            .set(SINGLE, *cfg, 0)?;
        Ok(())
    }

    pub fn window_state(&self) -> Result<WindowState> {
        Ok(Array::<_, WindowState>::try_from(map(&self.ebpf, "WINDOW")?)?.get(&SINGLE, 0)?)
    }

    /// Opens the drop window from user space (carrier followed through rtnetlink, or a roam
    /// starting). Returns false if it was already open.
    pub fn open_window(&mut self, now_ns: u64) -> Result<bool> {
        let mut window = Array::<_, WindowState>::try_from(map_mut(&mut self.ebpf, "WINDOW")?)?;
        let mut state = window.get(&SINGLE, 0)?;
        if state.open != 0 {
            return Ok(false);
        }
        state.open = 1;
        state.opened_ns = now_ns;
        state.generation += 1;
        window.set(SINGLE, state, 0)?;
        Ok(true)
    }

    /// Closes the drop window: the programs stop counting.
    pub fn close_window(&mut self) -> Result<()> {
        let mut window = Array::<_, WindowState>::try_from(map_mut(&mut self.ebpf, "WINDOW")?)?;
        let mut state = window.get(&SINGLE, 0)?;
        state.open = 0;
        window.set(SINGLE, state, 0)?;
        Ok(())
    }

    /// Cumulative window counters, summed over CPUs.
    pub fn window_counters(&self) -> Result<WindowCounters> {
        let per_cpu =
            PerCpuArray::<_, WindowCounters>::try_from(map(&self.ebpf, "WINDOW_COUNTERS")?)?;
        let mut total = WindowCounters::default();
        for c in per_cpu.get(&SINGLE, 0)?.iter() {
            total += *c;
        }
        Ok(total)
    }

    /// Cumulative drops on the station interface by kernel drop reason, summed over CPUs.
    pub fn drop_reasons(&self) -> Result<Vec<(u32, u64)>> {
        let map = PerCpuHashMap::<_, u32, u64>::try_from(map(&self.ebpf, "DROP_REASONS")?)?;
        let mut out = Vec::new();
        for entry in map.iter() {
            let (reason, counts) = entry?;
            out.push((reason, counts.iter().sum()));
        }
        out.sort_unstable();
        Ok(out)
    }

    /// Data packets the station put on the air after a peer was last heard at `heard_ns` and
    /// before `until_ns` (CLOCK_MONOTONIC): sent (egress history) minus dropped by the kernel in
    /// the same slots (drop history), see `roam_common::history`.
    pub fn transmitted_after(&self, heard_ns: u64, until_ns: u64) -> Result<u64> {
        let sent = self.history_count("EGRESS_HISTORY", heard_ns, until_ns)?;
        let dropped = self.history_count("DROP_HISTORY", heard_ns, until_ns)?;
        Ok(sent.saturating_sub(dropped))
    }

    fn history_count(&self, ring: &str, heard_ns: u64, until_ns: u64) -> Result<u64> {
        let ring = PerCpuArray::<_, HistorySlot>::try_from(map(&self.ebpf, ring)?)?;
        let mut slots = Vec::new();
        for index in history::indices_after(heard_ns, until_ns) {
            slots.extend(ring.get(&index, 0)?.iter().copied());
        }
        Ok(history::count_after(slots, heard_ns, until_ns))
    }

    /// The kernel's row of one BSS (two lookups: its set's ways), `None` if not in the table.
    pub fn bss_record(&self, bssid: &MacAddr) -> Result<Option<BssRecord>> {
        let map = Array::<_, BssSlot>::try_from(map(&self.ebpf, "BSS_TABLE")?)?;
        let set = roam_common::bss::set_of(bssid);
        for index in [2 * set, 2 * set + 1] {
            let slot = map.get(&index, 0)?;
            if slot.in_use != 0 && slot.bssid == *bssid {
                return Ok(Some(slot.record));
            }
        }
        Ok(None)
    }

    /// The BSSes in the per-BSS table.
    pub fn bss_table(&self) -> Result<Vec<(MacAddr, BssRecord)>> {
        let map = Array::<_, BssSlot>::try_from(map(&self.ebpf, "BSS_TABLE")?)?;
        let mut rows = Vec::new();
        for slot in map.iter() {
            let slot = slot?;
            if slot.in_use != 0 {
                rows.push((slot.bssid, slot.record));
            }
        }
        Ok(rows)
    }

    pub fn filter_stats(&self) -> Result<FilterStats> {
        let per_cpu = PerCpuArray::<_, FilterCpu>::try_from(map(&self.ebpf, "FILTER_CPU")?)?;
        let mut total = FilterStats::default();
        for cpu in per_cpu.get(&SINGLE, 0)?.iter() {
            total += cpu.stats;
        }
        Ok(total)
    }

    /// The event ring buffer; can be taken once.
    pub fn take_events(&mut self) -> Result<EventReader> {
        let map =
            self.ebpf.take_map("EVENTS").ok_or_else(|| anyhow!("event ring already taken"))?;
        Ok(EventReader::new(RingBuf::try_from(map)?))
    }

    /// (program, run count, total run time in ns) of every attached program; counts only move
    /// while `kernel.bpf_stats_enabled` is 1 (see [`super::stats::enable`]).
    pub fn program_stats(&self) -> Vec<(String, u64, u64)> {
        self.ebpf
            .programs()
            .filter_map(|(name, p)| {
                let info = p.info().ok()?;
                Some((name.to_owned(), info.run_count(), info.run_time().as_nanos() as u64))
            })
            .collect()
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        // Programs, links and the packet socket detach as their owners drop; only the qdisc
        // roam added needs undoing by hand.
        if let Some(iface) = self.clsact_added_on.take() {
            // An interface that is gone took its qdisc with it.
            if let Ok(ifindex) = netif::ifindex(&iface) {
                if let Err(err) = crate::rtnl::delete_clsact(ifindex) {
                    warn!("could not remove the clsact qdisc roam added on {iface} ({err:#}): `tc qdisc del dev {iface} clsact`");
                }
            }
        }
    }
}

/// The interface already has a clsact qdisc (netlink answered EEXIST).
fn is_exists(e: &aya::programs::tc::TcError) -> bool {
    use aya::programs::tc::TcError;
    match e {
        TcError::AlreadyAttached => true,
        TcError::NetlinkError(e) => e.raw_os_error() == Some(libc::EEXIST),
        _ => false,
    }
}

fn map<'a>(ebpf: &'a Ebpf, name: &str) -> Result<&'a aya::maps::Map> {
    ebpf.map(name).ok_or_else(|| anyhow!("map {name} is missing from the object"))
}

fn map_mut<'a>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut aya::maps::Map> {
    ebpf.map_mut(name).ok_or_else(|| anyhow!("map {name} is missing from the object"))
}

/// Whether a kernel module is loaded (built-in ones show there too).
fn module_loaded(module: &str) -> bool {
    std::path::Path::new("/sys/module").join(module).exists()
}

/// The kernel functions roam's fentry programs attach to, with their BTF type ids (those the
/// kernel's BTF lacks are left out: their programs are then skipped with aya's reason).
fn fentry_functions(btf: &KernelBtf) -> Vec<(&'static str, u32)> {
    HOOKS
        .iter()
        .filter_map(|hook| match hook.attach {
            Attach::FEntry { function } => Some(function),
            _ => None,
        })
        .filter_map(|function| match btf.function_id(function) {
            Ok(id) => Some((function, id)),
            Err(err) => {
                debug!("fentry on {function}: {err:#}");
                None
            }
        })
        .collect()
}

/// What the fentry programs are loaded against.
struct FEntryTargets {
    functions: Vec<(&'static str, u32)>,
    /// Built at the first fentry program that gets as far as loading.
    btf: Option<Btf>,
}

impl FEntryTargets {
    fn btf(&mut self) -> &Btf {
        self.btf.get_or_insert_with(|| fentry_btf::naming(&self.functions))
    }
}
