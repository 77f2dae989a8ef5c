//! The scenario runner: executes the host's plan, measures every run, keeps every run's logs.

use std::{fmt::Write as _, fs, path::Path, time::Duration};

use anyhow::{Context as _, Result};
use roam_testbed::{
    plan::{Case, CaseOutcome, GuestResults, Plan, ProcessWindow, RunOutcome, RESULTS_FILE},
    report::{FamilyFigures, RunReport},
    timeline::{self, TimelineEvent},
    traffic::{self, ProbeRecord},
};

use super::{
    aslr, autoload,
    capture::FrameCapture,
    dhcp, hooks,
    laps::Laps,
    leftovers,
    logs::LogMark,
    path_state, paths, proc_stats,
    random::XorShift,
    refusals, results, software, stalls,
    system::{self, monotonic_ns, progress, realtime_us},
    text_patching,
    topology::{Topology, TopologyKey, IN_FLIGHT},
    trace, trigger,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
const SCAN_TIMEOUT: Duration = Duration::from_secs(30);
/// A vCPU stall inside the gap at least this long is named on the run's progress line.
const NOTABLE_STALL_MS: f64 = 50.0;
/// Probe records kept in a run's window before the trigger.
const BEFORE_TRIGGER_NS: u64 = 2_000_000_000;

/// `roam-testbed run`: reads the plan, runs it, writes the results archive onto `device`.
pub fn run_plan_file(plan_path: &Path, device: &Path) -> Result<()> {
    let text = fs::read_to_string(plan_path)
        .with_context(|| format!("cannot read the plan {}", plan_path.display()))?;
    let plan: Plan = serde_json::from_str(&text).context("the plan is not valid JSON")?;
    let out = Path::new(paths::RESULTS_DIR);
    fs::create_dir_all(out)?;
    if let Err(err) = trace::setup() {
        progress(format!("warning: kernel tracing unavailable: {err:#}"));
    }
    let _pins = text_patching::pin_agent_keys();
    if let Err(err) = autoload::disable() {
        progress(format!("warning: module autoloading stays on: {err:#}"));
    }
    if let Err(err) = aslr::disable() {
        progress(format!("warning: address-space randomisation stays on: {err:#}"));
    }
    leftovers::take_baseline();
    if let Err(err) = stalls::start() {
        progress(format!("warning: vCPU stalls are not measured on every vCPU: {err:#}"));
    }
    let mut results = run_plan(&plan, out);
    results.software = software::read();
    fs::write(out.join(RESULTS_FILE), serde_json::to_vec_pretty(&results)?)?;
    fs::write(out.join("dmesg.txt"), system::kernel_log())?;
    progress("writing results");
    results::write_archive(out, device)
}

fn run_plan(plan: &Plan, out: &Path) -> GuestResults {
    let interval = Duration::from_millis(plan.probe_interval_ms);
    let mut topology: Option<Topology> = None;
    let mut results = GuestResults::default();
    // roam's kernel programs, and its refusals of bad input, are checked once, on the first
    // station built, if the agent is here.
    let mut agent_checks_due = Path::new(paths::ROAM).exists();
    let started = std::time::Instant::now();
    let mut took: Vec<(&str, Duration)> = Vec::new();
    for (index, case) in plan.cases.iter().enumerate() {
        let left: Vec<&str> =
            plan.cases[index..].iter().map(|c| c.scenario.name.as_str()).collect();
        let pace = pace(started.elapsed(), &took, &left);
        progress(format!("case {}/{}: {}{pace}", index + 1, plan.cases.len(), case.title()));
        let case_started = std::time::Instant::now();
        results.cases.push(run_case(case, &mut topology, interval, plan, out));
        took.push((case.scenario.name.as_str(), case_started.elapsed()));
        if let Some(built) = topology.as_ref().filter(|_| agent_checks_due) {
            agent_checks_due = false;
            match hooks::check(built, out) {
                Ok(()) => progress("roam check: report kept"),
                Err(err) => progress(format!("roam check failed: {err:#}")),
            }
            match refusals::check(out) {
                Ok(()) => progress("roam run with bad input: answers kept"),
                Err(err) => progress(format!("roam run with bad input failed: {err:#}")),
            }
        }
    }
    // The last topology goes, and with it the last station: that is checked too.
    drop(topology);
    results.leftovers = leftovers::found();
    results
}

/// " (12 min in, about 40 min to go)" once a case has run: a long plan (the benchmark's full
/// run takes hours) says when it will end. Each case left is taken to last as long as the
/// cases of its scenario done so far, on average (a minute-long flapping scenario beside
/// five-second ones), or as all cases done where none of its scenario is.
fn pace(elapsed: Duration, took: &[(&str, Duration)], left: &[&str]) -> String {
    if took.is_empty() {
        return String::new();
    }
    let average = |of: &dyn Fn(&str) -> bool| {
        let times: Vec<Duration> = took.iter().filter(|(n, _)| of(n)).map(|(_, d)| *d).collect();
        (!times.is_empty()).then(|| times.iter().sum::<Duration>() / times.len() as u32)
    };
    let overall = average(&|_| true).unwrap_or_default();
    let remaining: Duration =
        left.iter().map(|name| average(&|n| n == *name).unwrap_or(overall)).sum();
    format!(" ({} in, about {} to go)", minutes(elapsed), minutes(remaining))
}

/// "42 min", "2 h 05 min".
fn minutes(d: Duration) -> String {
    let m = (d.as_secs() + 30) / 60;
    match m / 60 {
        0 => format!("{m} min"),
        h => format!("{h} h {:02} min", m % 60),
    }
}

fn run_case(
    case: &Case,
    topology: &mut Option<Topology>,
    interval: Duration,
    plan: &Plan,
    out: &Path,
) -> CaseOutcome {
    let capture_frames = plan.capture_frames;
    let key = TopologyKey {
        stack: case.stack,
        channels: case.channels.clone(),
        security: case.scenario.security,
        beacon_interval_tu: case.scenario.beacon_interval_tu,
        third_radio: case.scenario.needs_third_radio(),
        other_network: case.scenario.other_network,
        ipv6: plan.ipv6_probe,
    };
    let mut outcome = CaseOutcome::default();
    // "run 2/5" within a case of five; a plan of one-run cases (the benchmark) numbers its
    // rounds on, and there is no total to show.
    let of_total = if case.first_run == 1 { format!("/{}", case.repeats) } else { String::new() };
    for run in case.run_numbers() {
        let mut laps = Laps::start();
        if let Some(built) = topology.as_mut().filter(|t| t.differs_only_in_stack(&key)) {
            if built.key != key {
                progress(format!("station: {} instead of {}", key.stack, built.key.stack));
                if let Err(err) = built.switch_stack(key.stack, interval, &mut laps) {
                    progress(format!(
                        "switching the station's stack failed ({err:#}); building afresh"
                    ));
                    *topology = None;
                }
            }
        }
        if topology.as_ref().is_none_or(|t| t.key != key) {
            // The old topology goes first: its radios, namespace and bridge are reused by name.
            *topology = None;
            progress(format!(
                "setup: {} APs on channels {:?}, {:?}, beacons every {} TU, stack {}",
                key.channels.len(),
                key.channels,
                key.security,
                key.beacon_interval_tu,
                key.stack
            ));
            match Topology::build(&key, interval, &mut laps) {
                Ok(built) => *topology = Some(built),
                Err(err) => {
                    let dir = format!("setup-{}", case.run_dir_name(run));
                    keep_setup_logs(&out.join(&dir));
                    let message = format!("setup failed (logs in {dir}): {err:#}");
                    progress(&message);
                    outcome.error = Some(message);
                    return outcome;
                }
            }
        }
        let built = topology.as_mut().expect("built above");
        let run_outcome = run_once(case, run, built, interval, capture_frames, out, &mut laps);
        progress(format!("run {run}{of_total}: {}; {}", describe(&run_outcome), laps.summary()));
        if run_outcome.failed() {
            // A failed run may leave the topology in any state: start the next one afresh.
            *topology = None;
        }
        outcome.runs.push(run_outcome);
    }
    outcome
}

fn describe(run: &RunOutcome) -> String {
    let r = &run.report;
    let mut line = format!(
        "gap {:.1} ms, {} lost, {}, {} -> {}",
        r.gap_ms,
        r.lost_packets,
        if r.recovered { "recovered" } else { "NOT recovered" },
        r.bssid_before.as_deref().unwrap_or("-"),
        r.bssid_after.as_deref().unwrap_or("-"),
    );
    if let Some(stall) = run.guest_stall_ms.filter(|&ms| ms >= NOTABLE_STALL_MS) {
        let _ = write!(line, "; a vCPU stood still {stall:.0} ms of it");
    }
    if let Some(patches) = run.kernel_text_patches.filter(|&n| n > 0) {
        let _ = write!(line, "; warning: the kernel patched its code {patches} times");
    }
    if let Some(error) = &run.error {
        let _ = write!(line, "; FAILED: {error}");
    }
    line
}

fn run_once(
    case: &Case,
    run: u32,
    topology: &mut Topology,
    interval: Duration,
    capture_frames: bool,
    out: &Path,
    laps: &mut Laps,
) -> RunOutcome {
    let dir_name = case.run_dir_name(run);
    let mut report = RunReport {
        gap_ms: 0.0,
        lost_packets: 0,
        lossy_ms: 0.0,
        connections: 0,
        recovered: false,
        bssid_before: None,
        bssid_after: None,
        timeline: Vec::new(),
        ipv6: None,
        addressing: None,
    };
    let mut measured = false;
    let mut extras = RunExtras::default();
    let dir = out.join("runs").join(&dir_name);
    let result = measure(
        case,
        topology,
        interval,
        capture_frames,
        &dir,
        &mut report,
        &mut measured,
        &mut extras,
        laps,
    );
    let (roam_window_lost, roam_transitions) = match extras.roam_window {
        Some((lost, n)) => (Some(lost), n),
        None => (None, 0),
    };
    RunOutcome {
        report,
        measured,
        log_dir: format!("runs/{dir_name}"),
        error: result.err().map(|err| format!("{err:#}")),
        roam_window_lost,
        roam_transitions,
        kernel_text_patches: extras.kernel_text_patches,
        metrics_window_ms: extras.metrics_window_ms,
        processes: extras.processes,
        guest_stall_ms: extras.guest_stall_ms,
    }
}

/// What a run measures besides the traffic.
#[derive(Default)]
struct RunExtras {
    /// The agent's drop-window losses and its number of transitions.
    roam_window: Option<(u64, u32)>,
    /// Time between the stack's metrics scrapes before the trigger and after the run.
    metrics_window_ms: Option<f64>,
    /// The stack's daemons over the run (wake-ups, memory).
    processes: Vec<ProcessWindow>,
    /// The longest vCPU stall inside the traffic gap.
    guest_stall_ms: Option<f64>,
    /// Batches of live kernel-code patches from the trigger to the end of the measurement.
    kernel_text_patches: Option<u64>,
}

/// The two clocks at the trigger: one timeline axis for monotonic (probe, ftrace) and realtime
/// (daemon logs) timestamps.
#[derive(Clone, Copy)]
struct TriggerTime {
    monotonic_ns: u64,
    realtime_us: i64,
}

impl TriggerTime {
    fn now() -> TriggerTime {
        TriggerTime { monotonic_ns: monotonic_ns(), realtime_us: realtime_us() }
    }

    fn ms_since_monotonic(self, ns: u64) -> f64 {
        (ns as f64 - self.monotonic_ns as f64) / 1e6
    }

    fn ms_since_realtime(self, us: i64) -> f64 {
        (us - self.realtime_us) as f64 / 1e3
    }
}

#[allow(clippy::too_many_arguments)]
fn measure(
    case: &Case,
    topology: &mut Topology,
    interval: Duration,
    capture_frames: bool,
    dir: &Path,
    report: &mut RunReport,
    measured: &mut bool,
    extras: &mut RunExtras,
    laps: &mut Laps,
) -> Result<()> {
    let scenario = &case.scenario;
    // The testbed's medium carries the frames of the runs that shape the air, hwsim's own the
    // others (it is faster).
    topology.use_medium(scenario.needs_medium())?;
    let (bssid_before, serving) = prepare(topology, laps)?;
    report.bssid_before = Some(bssid_before);

    // The stack's counters as the trigger finds them (the agent's CPU time, its wake-ups, its
    // programs' run time), so the run's costs are the difference with the scrape at its end.
    let metrics_before = topology.station().metrics().map(|scrape| (scrape, monotonic_ns()));
    let daemons_before = sample_daemons(topology);
    let daemons_since_ns = monotonic_ns();
    let station_logs = topology.station().logs();
    let station_marks: Vec<LogMark> = station_logs.iter().map(|l| LogMark::now(&l.path)).collect();
    let ap_marks: Vec<LogMark> =
        topology.aps.iter().map(|ap| LogMark::now(ap.log_path())).collect();
    let dhcp_mark = topology.dhcp().map(|server| LogMark::now(server.log_path()));
    trace::clear()?;
    let capture = match capture_frames {
        true => {
            fs::create_dir_all(dir)?;
            Some(FrameCapture::start(&topology.station_phy, &dir.join("frames.pcap"))?)
        }
        false => None,
    };

    // An outage comes at any time: where the station's traffic is sparse (--interval-ms 1000),
    // a trigger right after the steady streak's last answer would always find the stack's
    // evidence of the AP equally fresh. A random part of one probe interval first.
    std::thread::sleep(topology.probe().interval().mul_f64(XorShift::seeded().next()));
    laps.lap("marks");
    // From here on, while the traffic is measured. (Before, the agent's restart patches the
    // entries of netif_carrier_off/on for its fentry hooks: code that runs only when a carrier
    // changes, so no vCPU is in it then; see `text_patching`.)
    let patches_before = text_patching::patches_so_far();

    // The trigger.
    let t0 = TriggerTime::now();
    let mut events = Vec::new();
    let triggered = (|| {
        for _cycle in 0..scenario.cycles {
            for step in &scenario.trigger {
                if let Some(label) = trigger::execute(step, topology, serving)? {
                    let t_ms = t0.ms_since_monotonic(monotonic_ns());
                    events.push(TimelineEvent::new(t_ms, label, "runner"));
                }
            }
        }
        wait_for_recovery(topology, case, monotonic_ns())
    })();
    laps.lap("trigger");
    if let Err(err) = triggered {
        // What the daemons said up to the failure is what explains it.
        fs::create_dir_all(dir)?;
        for (log, mark) in station_logs.iter().zip(&station_marks) {
            fs::write(dir.join(log.file_name), mark.text_since())?;
        }
        for (ap, mark) in topology.aps.iter().zip(&ap_marks) {
            fs::write(dir.join(format!("hostapd-{}.log", ap.iface)), mark.text_since())?;
        }
        fs::write(dir.join("dmesg.txt"), system::kernel_log())?;
        return Err(err);
    }
    let end_ns = monotonic_ns();
    drop(capture);

    // The numbers.
    let since_ns = t0.monotonic_ns.saturating_sub(BEFORE_TRIGGER_NS);
    let records = topology.probe().records_since(since_ns);
    let outcome = traffic::analyze(&records, t0.monotonic_ns, end_ns, interval.as_nanos() as u64);
    let records6 = topology.probe6().map(|probe| probe.records_since(since_ns));
    if let Some(records6) = &records6 {
        let v6 = traffic::analyze(records6, t0.monotonic_ns, end_ns, interval.as_nanos() as u64);
        report.ipv6 = Some(FamilyFigures {
            gap_ms: v6.gap_ms,
            lost_packets: v6.lost_packets,
            recovered: v6.recovered,
        });
        if let Some(end) = v6.gap_end_ns {
            events.push(TimelineEvent::new(
                t0.ms_since_monotonic(end),
                "first_probe6_answered",
                "probe",
            ));
        }
    }
    report.gap_ms = outcome.gap_ms;
    report.lost_packets = outcome.lost_packets;
    report.lossy_ms = outcome.lossy_ms;
    report.recovered = outcome.recovered;
    extras.guest_stall_ms =
        stalls::longest_within(outcome.gap_start_ns, outcome.gap_end_ns.unwrap_or(end_ns));
    extras.kernel_text_patches =
        patches_before.zip(text_patching::patches_so_far()).map(|(before, after)| after - before);
    report.bssid_after = topology.station().connected_bssid().ok().flatten();
    *measured = true;
    if let Some(end) = outcome.gap_end_ns {
        events.push(TimelineEvent::new(
            t0.ms_since_monotonic(end),
            "first_probe_answered",
            "probe",
        ));
    }

    // The timeline, and the logs it comes from.
    fs::create_dir_all(dir)?;
    for (log, mark) in station_logs.iter().zip(&station_marks) {
        let text = mark.text_since();
        if log.file_name == "roam-events.jsonl" {
            extras.roam_window = Some(timeline::roam_window_losses(&text));
        }
        if let Some(parse) = log.parse {
            events.extend(text.lines().filter_map(parse).map(|(us, event)| {
                TimelineEvent::new(t0.ms_since_realtime(us), event, log.source)
            }));
        }
        fs::write(dir.join(log.file_name), text)?;
    }
    for (ap, mark) in topology.aps.iter().zip(&ap_marks) {
        fs::write(dir.join(format!("hostapd-{}.log", ap.iface)), mark.text_since())?;
    }
    if !report.recovered {
        fs::write(dir.join("path-state.txt"), path_state::read(&topology.aps))?;
    }
    if let Some(mark) = &dhcp_mark {
        let log = mark.text_since();
        report.addressing = Some(dhcp::addressing(&log, &topology.station_mac)?);
        fs::write(dir.join("dnsmasq.log"), log)?;
    }
    let kernel_trace = trace::read();
    events.extend(kernel_events(&kernel_trace, &topology.station_phy, t0));
    timeline::sort(&mut events);
    report.connections = timeline::connections_after_trigger(&events);
    report.timeline = events;
    fs::write(dir.join("trace.txt"), kernel_trace)?;
    fs::write(dir.join("dmesg.txt"), system::kernel_log())?;
    fs::write(dir.join("probe.csv"), probe_csv(&records, t0))?;
    if let Some(records6) = &records6 {
        fs::write(dir.join("probe6.csv"), probe_csv(records6, t0))?;
    }
    fs::write(dir.join("report.json"), serde_json::to_vec_pretty(report)?)?;
    // Before the scrape below, which wakes the agent too.
    let window_ms = (monotonic_ns() - daemons_since_ns) as f64 / 1e6;
    let (processes, per_thread) =
        proc_stats::between(&daemons_before, &sample_daemons(topology), window_ms);
    fs::write(dir.join("wakeups.txt"), per_thread)?;
    extras.processes = processes;
    if let Some((before, before_ns)) = metrics_before {
        let before = before.context("the stack's metrics endpoint, before the trigger")?;
        fs::write(dir.join("metrics-before.txt"), before)?;
        if let Some(after) = topology.station().metrics() {
            let after_ns = monotonic_ns();
            fs::write(dir.join("metrics.txt"), after.context("the stack's metrics endpoint")?)?;
            extras.metrics_window_ms = Some((after_ns - before_ns) as f64 / 1e6);
        }
    }

    laps.lap("logs");

    // After: make the topology whole for the next run.
    for step in &scenario.restore {
        trigger::execute(step, topology, serving).context("restore")?;
    }
    topology.make_whole().context("restore")?;
    laps.lap("restore");
    Ok(())
}

/// Brings the topology to the state every run starts from: every AP whole, the station
/// connected with a fresh BSS table and no memory of earlier runs, traffic steady. Returns the
/// serving BSSID and AP index.
fn prepare(topology: &mut Topology, laps: &mut Laps) -> Result<(String, usize)> {
    topology.make_whole()?;
    topology.station().wait_connected(CONNECT_TIMEOUT)?;
    laps.lap("connect");
    // Before the station's scan sees them (a station may move on its results).
    let (first_bssid, _) = serving_ap(topology)?;
    forget_station_elsewhere(topology, &first_bssid)?;
    laps.lap("forget");
    topology.station().forget_previous_runs()?;
    let freqs = topology.freqs_mhz();
    topology.station().scan(&freqs, SCAN_TIMEOUT)?;
    laps.lap("scan");
    topology.wait_steady_traffic()?;
    laps.lap("steady");
    let (bssid, serving) = serving_ap(topology)?;
    if bssid != first_bssid {
        forget_station_elsewhere(topology, &bssid)?;
    }
    Ok((bssid, serving))
}

/// The BSSID and index of the AP the station is connected to.
fn serving_ap(topology: &mut Topology) -> Result<(String, usize)> {
    let bssid = topology
        .station()
        .connected_bssid()?
        .context("the station is not connected before the trigger")?;
    let serving = topology
        .ap_by_bssid(&bssid)
        .with_context(|| format!("the station is connected to {bssid}, not to one of our APs"))?;
    Ok((bssid, serving))
}

/// The APs other than `serving_bssid`'s forget the station: one it left without a
/// deauthentication (a fast transition away, a silence in the previous run) would still hold
/// its association or SAE state, and make the next connection wait or fail for the previous
/// run's doing, not this one's (`AccessPoint::forget_station`).
fn forget_station_elsewhere(topology: &mut Topology, serving_bssid: &str) -> Result<()> {
    let station_mac = topology.station_mac.clone();
    for (index, ap) in topology.aps.iter_mut().enumerate() {
        if !ap.bssid.eq_ignore_ascii_case(serving_bssid) {
            ap.forget_station(&station_mac)
                .with_context(|| format!("AP {index} forgetting the station"))?;
        }
    }
    Ok(())
}

/// The station's events in the ftrace buffer (its interface or phy named in the fields).
fn kernel_events(trace: &str, station_phy: &str, t0: TriggerTime) -> Vec<TimelineEvent> {
    let station_names = [paths::STA_IFACE, station_phy];
    trace
        .lines()
        .filter_map(|line| timeline::parse_ftrace_line(line, &station_names))
        .map(|(us, event)| {
            TimelineEvent::new(t0.ms_since_monotonic(us as u64 * 1_000), event, "kernel")
        })
        .collect()
}

/// Waits until traffic flows again after the last trigger step (and the station is connected),
/// but at least the scenario's observation time; gives up at its recovery timeout.
fn wait_for_recovery(topology: &mut Topology, case: &Case, last_step_ns: u64) -> Result<()> {
    let min_end = last_step_ns + case.scenario.min_observe_ms * 1_000_000;
    let deadline = last_step_ns + case.scenario.recovery_timeout_ms * 1_000_000;
    loop {
        let now = monotonic_ns();
        if now >= deadline {
            return Ok(());
        }
        if now >= min_end
            && topology.probe().answered_streak(last_step_ns, IN_FLIGHT)
                >= topology.probe().settled_streak()
            && topology.station().connected_bssid()?.is_some()
        {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn probe_csv(records: &[ProbeRecord], t0: TriggerTime) -> String {
    let mut csv = String::from("seq,sent_ms,echoed_ms\n");
    for r in records {
        let echoed =
            r.echoed_ns.map(|ns| format!("{:.3}", t0.ms_since_monotonic(ns))).unwrap_or_default();
        let _ = writeln!(csv, "{},{:.3},{echoed}", r.seq, t0.ms_since_monotonic(r.sent_ns));
    }
    csv
}

/// Copies the daemon logs and the kernel log after a failed setup.
fn keep_setup_logs(dir: &Path) {
    let _ = fs::create_dir_all(dir);
    if let Ok(entries) = fs::read_dir(paths::LOG_DIR) {
        for entry in entries.flatten() {
            let _ = fs::copy(entry.path(), dir.join(entry.file_name()));
        }
    }
    let _ = fs::write(dir.join("dmesg.txt"), system::kernel_log());
}

/// The stack's daemons now; one that cannot be read (it just exited) is left out.
fn sample_daemons(topology: &mut Topology) -> Vec<proc_stats::Sample> {
    topology
        .station()
        .daemons()
        .into_iter()
        .filter_map(|(process, pid)| proc_stats::sample(process, pid).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_extrapolates_each_scenarios_cases_done_to_its_cases_left() {
        let min = |m: u64| Duration::from_secs(60 * m);
        assert_eq!(pace(min(10), &[], &["a"; 30]), "");
        let ten_of_a = [("a", min(1)); 10];
        assert_eq!(pace(min(10), &ten_of_a, &["a"; 20]), " (10 min in, about 20 min to go)");
        // A long scenario done does not make the short ones left look long, nor the reverse.
        let mixed = [("flap", min(6)), ("flap", min(6)), ("kill", Duration::from_secs(6))];
        assert_eq!(pace(min(12), &mixed, &["kill"; 100]), " (12 min in, about 10 min to go)");
        assert_eq!(
            pace(min(12), &mixed, &["flap", "new"]),
            " (12 min in, about 10 min to go)",
            "an unseen scenario counts as the average case: 4 min 2 s"
        );
        assert_eq!(minutes(Duration::from_secs(29)), "0 min");
        assert_eq!(minutes(Duration::from_secs(7_530)), "2 h 06 min");
    }
}
