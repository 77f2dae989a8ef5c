//! The imperative shell around the [`Conductor`]: inputs fed to it with the world it reads, and
//! its commands performed (a roam started, what it changed put back, a transition's window
//! opened or accounted, what it says published).

use super::*;
use conductor::{Choice, Command, Input, Notice, RoamOrder, ScanScope, World};
use target_check::TargetCheck;

/// What the conductor reads of the agent's world: the candidate book over the kernel's table.
struct AgentWorld<'a> {
    book: &'a mut CandidateBook,
    observer: &'a crate::ebpf::Observer,
    network: Option<&'a Network>,
    unannounced_seen: &'a mut u64,
    max_heard_age_ms: u64,
    /// The APs the manager holds a PMKSA for: preferred on an enterprise network.
    cached_keys: &'a [MacAddr],
    /// The channel a monitor that hears the AP listened on until the loss: a BSS gone silent
    /// there by then, and not scanned since, is no target.
    listening_mhz: Option<u32>,
}

impl World for AgentWorld<'_> {
    fn choose(&mut self, lost: policy::Lost) -> Option<Choice> {
        let network = self.network?;
        hear_unannounced_rows(self.book, self.observer, network, self.unannounced_seen);
        let rows = self.book.rows_in(network, |b| self.observer.bss_record(b).ok()?);
        let mut candidates = self.book.candidates(network, &rows, monotonic_ns(), Instant::now());
        candidates.retain(|c| !c.gone_silent(self.listening_mhz, self.max_heard_age_ms, lost));
        let best = if network.security.is_enterprise() {
            let cached = |bssid: &MacAddr| self.cached_keys.contains(bssid);
            policy::best_candidate_with_cached_key(
                &candidates,
                Some(lost),
                self.max_heard_age_ms,
                cached,
            )
        } else {
            policy::best_candidate(&candidates, Some(lost), self.max_heard_age_ms)
        };
        Some(Choice { best: best.copied(), known: candidates.len() })
    }

    fn scan_entry_age_ms(&self, bssid: &MacAddr) -> Option<u64> {
        self.book.scan_entry(bssid).map(|entry| entry.age_ms(Instant::now()))
    }
}

/// Reads the kernel's table for BSSes of the network it did not announce (a flood of new BSSes
/// ran over its wake budget), if there are new ones since the last look.
pub(super) fn hear_unannounced_rows(
    book: &mut CandidateBook,
    observer: &crate::ebpf::Observer,
    network: &Network,
    seen: &mut u64,
) {
    let Ok(stats) = observer.filter_stats() else { return };
    if stats.new_bss_unannounced != *seen {
        *seen = stats.new_bss_unannounced;
        hear_rows_of_the_network(book, observer, network);
    }
}

/// Takes the kernel's rows of the station's network for heard: the kernel reports a new BSS
/// only if it is of the network the station was on at the time (see `arm_filter`).
pub(super) fn hear_rows_of_the_network(
    book: &mut CandidateBook,
    observer: &crate::ebpf::Observer,
    network: &Network,
) {
    match observer.bss_table() {
        Ok(rows) => rows
            .into_iter()
            .filter(|(_, row)| row.ssid_hash == network.ssid_hash)
            .for_each(|(bssid, row)| book.heard(bssid, row.ssid_hash)),
        Err(err) => warn!("reading the kernel's BSS table: {err:#}"),
    }
}

impl Agent {
    /// Hands `input` to the conductor and performs what it decides.
    pub(super) fn feed(&mut self, input: Input, now: u64) {
        let listening_mhz = self.monitor_hears().then_some(self.current_freq);
        let mut world = AgentWorld {
            book: &mut self.book,
            observer: &self.parts.observer,
            network: self.network.as_ref(),
            unannounced_seen: &mut self.unannounced_seen,
            max_heard_age_ms: self.opts.config.candidates.max_heard_age_ms,
            cached_keys: &self.cached_keys,
            listening_mhz,
        };
        let commands = self.conductor.handle(input, now, &mut world);
        for command in commands {
            self.perform(command);
        }
    }

    fn perform(&mut self, command: Command) {
        match command {
            Command::Notify(notice) => self.publish(notice),
            Command::OpenWindow { lost_ns } => {
                // A carrier loss seen through rtnetlink arrives up to a second after the flush
                // it caused.
                let since_ns = lost_ns.saturating_sub(NEIGHBOUR_FLUSH_SLACK.as_nanos() as u64);
                self.put_back.send_replace(Some(PutBackPlan { since_ns }));
                // The kernel counts the window from here (the carrier hook may have opened it).
                if let Err(err) = self.parts.observer.open_window(lost_ns) {
                    warn!("opening the drop window: {err:#}");
                }
            }
            Command::AbandonWindow => {
                self.put_back.send_replace(None);
                self.close_window_quietly();
            }
            Command::FinishTransition(transition) => self.finish_transition(*transition),
            Command::Roam(order) => self.start_roam(order),
            Command::PutBack { generation } => {
                let actor = self.manager.actor();
                tokio::spawn(async move {
                    if let Err(err) = actor.end_roam(generation).await {
                        warn!("{err:#}; it is put back at exit, or at the next start");
                    }
                });
            }
            Command::Scan(scope) => {
                let Some(ssid) = self.network.as_ref().map(|n| n.ssid.clone()) else { return };
                // The association's channel is kept while the station is disconnected.
                let freqs = match scope {
                    ScanScope::LostChannel if self.current_freq != 0 => vec![self.current_freq],
                    _ => Vec::new(),
                };
                let actor = self.manager.actor();
                tokio::spawn(async move {
                    if let Err(err) = actor.scan_for_network(&freqs, &ssid).await {
                        debug!("scan for candidates: {err:#}");
                    }
                });
            }
        }
    }

    /// Starts the roam on a task; its failure comes back numbered (`on_action_done`).
    fn start_roam(&mut self, order: RoamOrder) {
        let RoamOrder {
            generation,
            trigger,
            target,
            scan_first,
            confirm_first,
            reconnect,
            leave_first,
            fallback,
        } = order;
        let network = self.network.as_ref();
        let mut request = RoamRequest {
            generation,
            target: target.bssid,
            freq_mhz: target.freq_mhz,
            ssid: network.map(|n| n.ssid.clone()).unwrap_or_default(),
            scan_first,
            disconnected: reconnect,
            leave_first,
            network_id: self.network_id,
            security: network.map_or(policy::security::NetworkSecurity::Unknown, |n| n.security),
        };
        self.emitter.emit(AgentEvent::RoamStarted {
            trigger: trigger.kind(),
            target: target.bssid,
            freq_mhz: target.freq_mhz,
            scan_first,
            reconnect,
            backend: self.manager.backend(),
            fallback,
        });
        let actor = self.manager.actor();
        let check = confirm_first.then(|| TargetCheck {
            nl80211: self.parts.nl80211.clone(),
            ifindex: self.station_ifindex,
            station: self.station_mac,
        });
        let done = self.action_tx.clone();
        tokio::spawn(async move {
            let result = match check {
                Some(check) => match check.confirm(&mut request).await {
                    Ok(()) => actor.roam(request).await,
                    Err(err) => Err(err),
                },
                None => actor.roam(request).await,
            };
            let _ = done.send(ActionDone { generation, result }).await;
        });
    }

    pub(super) fn on_action_done(&mut self, done: ActionDone) {
        if !self.conductor.is_latest_roam(done.generation) {
            debug!(generation = done.generation, "a late report of an earlier roam: ignored");
            return;
        }
        let Err(err) = done.result else { return };
        warn!("roam action failed: {err:#}");
        self.emitter.emit(AgentEvent::RoamActionFailed { error: format!("{err:#}") });
        if let Some(why) = backend_choice::refused_as_not_the_owner(&err, &self.opts.iface) {
            warn!("{why}");
            self.parts.observe_only_because = Some(why);
            self.decide_whether_to_act(self.network.as_ref().is_some_and(|n| n.protected));
        }
        self.feed(Input::ActionFailed { generation: done.generation }, monotonic_ns());
    }

    /// What the conductor says happened: events, metrics and counters.
    fn publish(&mut self, notice: Notice) {
        match notice {
            Notice::State { from, to } => {
                self.metrics.state_changed(from, to);
                self.emitter.emit(AgentEvent::State { from, to });
            }
            Notice::ApEnded(Trigger::Disassoc { reason }) => {
                self.metrics.disassoc_received(Some(reason));
                self.counters.disassocs += 1;
            }
            Notice::ApEnded(Trigger::Deauth { reason }) => {
                self.metrics.deauth_received(Some(reason));
                self.counters.deauths += 1;
            }
            Notice::ApEnded(_) => {}
            Notice::LossDetected {
                trigger,
                bssid,
                source,
                lost_ns,
                detected_ns,
                best,
                known,
                signal,
            } => {
                if matches!(trigger, Trigger::Silence | Trigger::NoAck | Trigger::BeaconLoss) {
                    self.counters.beacon_losses += 1;
                    self.metrics.beacon_loss_detected(source.name());
                }
                let latency = Duration::from_nanos(detected_ns.saturating_sub(lost_ns));
                self.metrics.detection_latency(trigger.kind(), latency);
                self.emitter.emit(AgentEvent::LossDetected {
                    trigger: trigger.kind(),
                    bssid,
                    source,
                    unheard_ms: latency.as_secs_f64() * 1e3,
                    best,
                    candidates: known,
                    signal: signal.map(|levels| FadingSignal {
                        serving_dbm: f64::from(levels.serving_x16) / 16.0,
                        target_dbm: levels.target_dbm,
                    }),
                });
            }
            Notice::RoamHeld { trigger, hold, retry_in_ns } => {
                let why = match hold {
                    Hold::ObserveOnly => HoldReason::ObserveOnly,
                    Hold::ManagerReconnects => HoldReason::ManagerReconnects,
                    Hold::NoCandidate => HoldReason::NoCandidate,
                    Hold::BackingOff { .. } => HoldReason::BackingOff,
                    Hold::Capped { .. } => HoldReason::Capped,
                };
                self.emitter.emit(AgentEvent::RoamHeld {
                    trigger: trigger.kind(),
                    why,
                    retry_in_ms: retry_in_ns.map(|ns| ns / 1_000_000),
                });
            }
            Notice::FalseAlarm { trigger } => {
                self.emitter.emit(AgentEvent::FalseAlarm { trigger: trigger.kind() })
            }
            Notice::RoamEnded { trigger, result, target_freq_mhz } => {
                let akm = self.network.as_ref().map_or("unknown", |n| n.security.akm_name());
                let band = roam_proto::band_of(target_freq_mhz);
                self.metrics.roam_attempt(
                    trigger.kind(),
                    self.manager.backend(),
                    result,
                    akm,
                    band,
                );
                if result == RoamResult::Success {
                    self.counters.roams += 1;
                } else {
                    self.counters.roam_failures += 1;
                }
                self.emitter.emit(AgentEvent::RoamResult { trigger: trigger.kind(), result });
            }
        }
    }
}
