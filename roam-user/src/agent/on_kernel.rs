//! What the kernel programs report: frames of the serving AP and its neighbours, carrier,
//! the port opening, first data, and what the neighbour task put back.

use super::*;
use conductor::Input;
use roam_proto::LossSource;

impl Agent {
    pub(super) async fn on_kernel(&mut self, Stamped { at_ns, event, .. }: Stamped) {
        self.metrics.kernel_event(event.kind().name());
        let current = self.conductor.current_bss();
        let input = match event {
            KernelEvent::BssNew { bssid, ssid_hash, freq_mhz, .. } => {
                self.book.heard(bssid, ssid_hash);
                debug!(%bssid, freq = freq_mhz, "new BSS heard");
                return;
            }
            // The monitor stopped hearing the AP, or the station sends into silence: only a
            // reason to ask the AP (a monitor may hear nothing of a healthy AP: many chips
            // filter its beacons in firmware).
            KernelEvent::BssSilent { bssid, .. } => {
                if Some(bssid) == current && self.monitor_hears() {
                    self.ask_the_ap();
                }
                return;
            }
            KernelEvent::TxUnanswered { .. } => return self.ask_the_ap(),
            KernelEvent::BssHeard { bssid } => {
                if Some(bssid) == current {
                    let change = self.liveness.heard(at_ns);
                    self.on_liveness(change);
                }
                Input::BssHeard { bssid }
            }
            KernelEvent::Leave(leave) => Input::Leave { leave, station: self.station_mac },
            KernelEvent::Carrier { up } => return self.on_carrier(up, at_ns),
            // mac80211's beacon loss (and a driver's) is mac80211 starting to probe the AP, not
            // its verdict: beacons can stop reaching the host while the AP is fine (firmware
            // filters, a noisy spell). roam asks the AP too, and acts only on its silence.
            KernelEvent::BeaconLoss => {
                self.metrics.beacon_loss_detected(LossSource::Mac80211.name());
                return self.ask_the_ap();
            }
            // The verdict: mac80211 (or the firmware) gave up on the AP.
            KernelEvent::ConnectionLoss => Input::ConnectionLoss {
                last_heard_ns: current.and_then(|bssid| self.last_heard(&bssid)),
            },
            KernelEvent::PortAuthorized { .. } => Input::PortAuthorized,
            KernelEvent::FirstData { .. } => Input::FirstData,
            KernelEvent::SignalWeak { bssid, .. } => {
                if let Some(signal) = self.signal.as_mut().filter(|_| Some(bssid) == current) {
                    signal.weak(at_ns);
                }
                return;
            }
            KernelEvent::Mlme { .. } | KernelEvent::CqmRssi { .. } | KernelEvent::NeighResolved => {
                return
            }
        };
        self.feed(input, at_ns);
    }

    /// Carrier from the fentry hooks (in the kernel, at the instant) or from rtnetlink.
    pub(super) fn on_carrier(&mut self, up: bool, at_ns: u64) {
        self.metrics.carrier(up);
        self.feed(Input::Carrier { up }, at_ns);
    }

    pub(super) fn on_neighbours_restored(&mut self, restored: Restored) {
        let confirmed_by = match restored.confirmation {
            Confirmation::ArpReply(ip) => ConfirmedBy::ArpReply(ip.into()),
            Confirmation::NeighbourAdvertisement(ip) => {
                ConfirmedBy::NeighbourAdvertisement(ip.into())
            }
            Confirmation::Settled => ConfirmedBy::Settle,
            Confirmation::NoAnswer => ConfirmedBy::NoAnswer,
        };
        match restored.result {
            Ok(put_back)
                if !put_back.is_empty()
                    || matches!(
                        restored.confirmation,
                        Confirmation::ArpReply(_) | Confirmation::NeighbourAdvertisement(_)
                    ) =>
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

    pub(super) fn on_router_report(&mut self, report: RouterReport) {
        let after_port_open_ms = |ns: u64| ns.saturating_sub(report.opened.at_ns) as f64 / 1e6;
        let restored_after_ms = report.restored_ns.map(after_port_open_ms);
        match restored_after_ms {
            Some(ms) => info!("the IPv6 default route is back, {ms:.0} ms after the port opened"),
            None => warn!(
                "no IPv6 default route came back after {} router solicitations: it returns with the router's next advertisement, as without roam",
                report.solicitations
            ),
        }
        self.emitter.emit(AgentEvent::RouterSolicited {
            bssid: report.opened.bssid,
            solicitations: report.solicitations,
            route_restored_after_ms: restored_after_ms,
        });
    }

    pub(super) fn last_heard(&self, bssid: &MacAddr) -> Option<u64> {
        self.parts.observer.bss_record(bssid).ok().flatten().map(|r| r.last_seen_ns)
    }
}
