//! The simulated air, as a pure function: who hears a transmission, at what signal, and
//! whether it is acknowledged, given the rules a scenario set per link. Randomness comes in as
//! a function, so the rules are unit-tested with a fixed sequence.

use std::collections::{HashMap, HashSet};

use roam_proto::MacAddr;

use super::{
    signal::{loss_at, SignalPath},
    wire::{Transmitted, TxInfo, TxRate, FLAG_NO_ACK},
};

/// What mac80211_hwsim's own medium gives every receiver (`DEFAULT_RX_RSSI`).
pub const DEFAULT_SIGNAL_DBM: i32 = -50;

/// How the air treats each link. Radios are named by their hwsim address (`addresses[1]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rules {
    /// Beacons from the first radio do not reach the second (a receiver that filters them),
    /// until the time given (CLOCK_MONOTONIC ns).
    pub beacons_dropped: HashMap<(MacAddr, MacAddr), u64>,
    /// Random loss on the link between two radios, both ways, per try (0.0 to 1.0), until the
    /// time given.
    pub loss: HashMap<Link, (f64, u64)>,
    /// The signal the second radio receives from the first, over time; below -75 dBm it
    /// costs frames too ([`loss_at`]).
    pub signal: HashMap<(MacAddr, MacAddr), SignalPath>,
    /// Radios nobody hears and that hear nobody (hwsim's `group` 0, which its own medium alone
    /// applies).
    pub isolated: HashSet<MacAddr>,
}

/// An unordered pair of radios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Link(MacAddr, MacAddr);

impl Link {
    pub fn between(a: MacAddr, b: MacAddr) -> Self {
        if a <= b {
            Link(a, b)
        } else {
            Link(b, a)
        }
    }
}

impl Rules {
    /// The probability that one try from `from` does not reach `to`: the link's random loss
    /// and the loss of the signal `to` hears, independent of each other.
    fn loss(&self, from: MacAddr, to: MacAddr, now_ns: u64) -> f64 {
        let random = match self.loss.get(&Link::between(from, to)) {
            Some(&(loss, until)) if now_ns < until => loss,
            _ => 0.0,
        };
        let faded = loss_at(self.signal(from, to, now_ns));
        1.0 - (1.0 - random) * (1.0 - faded)
    }

    fn drops_beacons(&self, from: MacAddr, to: MacAddr, now_ns: u64) -> bool {
        self.beacons_dropped.get(&(from, to)).is_some_and(|&until| now_ns < until)
    }

    /// The signal `to` hears from `from` at `now_ns` (dBm).
    pub fn signal(&self, from: MacAddr, to: MacAddr, now_ns: u64) -> f64 {
        self.signal.get(&(from, to)).map_or(f64::from(DEFAULT_SIGNAL_DBM), |path| path.at(now_ns))
    }

    fn signal_dbm(&self, from: MacAddr, to: MacAddr, now_ns: u64) -> i32 {
        self.signal(from, to, now_ns).round() as i32
    }
}

/// What becomes of one transmission.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Radios that receive it, and the signal each hears.
    pub deliveries: Vec<(MacAddr, i32)>,
    pub acked: bool,
    /// The signal the acknowledgement came back at (the transmitter's view of the link).
    pub ack_signal_dbm: i32,
    /// The rate chain as far as it was tried.
    pub tx_info: TxInfo,
}

/// The radios of the testbed and what is known of them.
#[derive(Clone, Debug, Default)]
pub struct Air {
    radios: Vec<MacAddr>,
    /// Interface addresses the kernel announced, and their radio.
    interfaces: HashMap<MacAddr, MacAddr>,
}

impl Air {
    pub fn new(radios: Vec<MacAddr>) -> Self {
        Air { radios, interfaces: HashMap::new() }
    }

    /// The kernel announced an interface `address` on `radio`.
    pub fn interface_up(&mut self, radio: MacAddr, address: MacAddr) {
        self.interfaces.insert(address, radio);
    }

    /// The radio an interface address belongs to: as announced, else hwsim's own scheme (the
    /// first interface of a radio has its address without the 0x40 bit).
    fn radio_of(&self, address: MacAddr) -> Option<MacAddr> {
        if let Some(radio) = self.interfaces.get(&address) {
            return Some(*radio);
        }
        let mut radio = address;
        radio.0[0] |= 0x40;
        self.radios.contains(&radio).then_some(radio)
    }

    /// Delivers `tx`, sent at `now_ns`, by `rules`; `random` gives numbers in [0, 1).
    pub fn transmit(
        &self,
        tx: &Transmitted,
        rules: &Rules,
        now_ns: u64,
        random: &mut impl FnMut() -> f64,
    ) -> Outcome {
        let from = tx.transmitter;
        let is_beacon = tx.frame.first().is_some_and(|fc| fc & 0xfc == 0x80);
        let addr1 = tx.frame.get(4..10).and_then(|a| MacAddr::try_from(a).ok());
        let addressee = addr1.filter(|a| !a.is_multicast()).and_then(|a| self.radio_of(a));
        let wants_ack = tx.flags & FLAG_NO_ACK == 0 && addressee.is_some();
        let hears = |to: MacAddr| {
            to != from
                && !rules.isolated.contains(&from)
                && !rules.isolated.contains(&to)
                && (!is_beacon || !rules.drops_beacons(from, to, now_ns))
        };

        // The addressee, if any, gets the frame as the retries go: each try's frame crosses
        // the link one way, its acknowledgement the other.
        let mut tx_info = tx.tx_info;
        let (mut reached_addressee, mut acked) = (false, false);
        let mut ack_signal_dbm = DEFAULT_SIGNAL_DBM;
        if let Some(to) = addressee.filter(|to| wants_ack && hears(*to)) {
            let (frame_loss, ack_loss) =
                (rules.loss(from, to, now_ns), rules.loss(to, from, now_ns));
            ack_signal_dbm = rules.signal_dbm(to, from, now_ns);
            'chain: for (i, rate) in tx.tx_info.iter().enumerate() {
                if rate.idx < 0 {
                    break;
                }
                for attempt in 0..rate.count {
                    let frame_through = random() >= frame_loss;
                    reached_addressee |= frame_through;
                    if frame_through && random() >= ack_loss {
                        acked = true;
                        tx_info[i].count = attempt + 1;
                        for later in &mut tx_info[i + 1..] {
                            *later = TxRate { idx: -1, count: 0 };
                        }
                        break 'chain;
                    }
                }
            }
        }
        let mut deliveries = Vec::new();
        for &to in &self.radios {
            if !hears(to) {
                continue;
            }
            let through = if Some(to) == addressee && wants_ack {
                reached_addressee
            } else {
                // Overheard, or sent once without acknowledgement: one try.
                random() >= rules.loss(from, to, now_ns)
            };
            if through {
                deliveries.push((to, rules.signal_dbm(from, to, now_ns)));
            }
        }
        Outcome { deliveries, acked, ack_signal_dbm, tx_info }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::medium::{signal::SignalPath, wire::FLAG_REQ_TX_STATUS};

    const AP: MacAddr = MacAddr([0x42, 0, 0, 0, 0, 0]);
    const AP_IFACE: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0]);
    const OTHER_AP: MacAddr = MacAddr([0x42, 0, 0, 0, 1, 0]);
    const STA: MacAddr = MacAddr([0x42, 0, 0, 0, 2, 0]);
    const STA_IFACE: MacAddr = MacAddr([0x02, 0, 0, 0, 2, 0]);
    const NOW: u64 = 1_000;
    const UNTIL: u64 = 2_000;

    fn air() -> Air {
        Air::new(vec![AP, OTHER_AP, STA])
    }

    fn frame(fc: u8, addr1: MacAddr, addr2: MacAddr) -> Vec<u8> {
        let mut f = vec![fc, 0, 0, 0];
        f.extend_from_slice(&addr1.0);
        f.extend_from_slice(&addr2.0);
        f.extend_from_slice(&addr2.0);
        f.extend_from_slice(&[0, 0]);
        f
    }

    fn beacon_from_ap() -> Transmitted {
        Transmitted {
            transmitter: AP,
            frame: frame(0x80, MacAddr::BROADCAST, AP_IFACE),
            flags: FLAG_NO_ACK,
            tx_info: [
                TxRate { idx: 0, count: 1 },
                TxRate { idx: -1, count: 0 },
                TxRate { idx: -1, count: 0 },
                TxRate { idx: -1, count: 0 },
            ],
            cookie: 1,
            freq_mhz: Some(2412),
        }
    }

    fn data_to_ap() -> Transmitted {
        Transmitted {
            transmitter: STA,
            frame: frame(0x08, AP_IFACE, STA_IFACE),
            flags: FLAG_REQ_TX_STATUS,
            tx_info: [
                TxRate { idx: 4, count: 2 },
                TxRate { idx: 0, count: 3 },
                TxRate { idx: -1, count: 0 },
                TxRate { idx: -1, count: 0 },
            ],
            cookie: 2,
            freq_mhz: Some(2412),
        }
    }

    fn never_lost() -> impl FnMut() -> f64 {
        || 0.99
    }

    fn receivers(outcome: &Outcome) -> Vec<MacAddr> {
        outcome.deliveries.iter().map(|(r, _)| *r).collect()
    }

    #[test]
    fn a_perfect_air_delivers_to_every_other_radio_and_acknowledges_the_addressee() {
        let outcome = air().transmit(&data_to_ap(), &Rules::default(), NOW, &mut never_lost());
        assert_eq!(receivers(&outcome), [AP, OTHER_AP]);
        assert!(outcome.acked);
        assert_eq!(outcome.tx_info[0], TxRate { idx: 4, count: 1 }, "the first try");
        assert_eq!(outcome.tx_info[1].idx, -1, "the rest of the chain unused");
        assert!(outcome.deliveries.iter().all(|(_, dbm)| *dbm == DEFAULT_SIGNAL_DBM));
        let beacon = air().transmit(&beacon_from_ap(), &Rules::default(), NOW, &mut never_lost());
        assert_eq!(receivers(&beacon), [OTHER_AP, STA]);
        assert!(!beacon.acked, "group-addressed: no acknowledgement");
    }

    #[test]
    fn dropped_beacons_miss_one_receiver_and_nothing_else() {
        let rules = Rules { beacons_dropped: [((AP, STA), UNTIL)].into(), ..Rules::default() };
        let beacon = air().transmit(&beacon_from_ap(), &rules, NOW, &mut never_lost());
        assert_eq!(receivers(&beacon), [OTHER_AP]);
        // The AP still hears the station and acknowledges it; its other frames still arrive.
        assert!(air().transmit(&data_to_ap(), &rules, NOW, &mut never_lost()).acked);
        let mut reply = data_to_ap();
        reply.transmitter = AP;
        reply.frame = frame(0x08, STA_IFACE, AP_IFACE);
        let reply = air().transmit(&reply, &rules, NOW, &mut never_lost());
        assert!(reply.acked && receivers(&reply).contains(&STA));
    }

    #[test]
    fn rules_end_at_their_time() {
        let rules = Rules {
            beacons_dropped: [((AP, STA), UNTIL)].into(),
            loss: [(Link::between(AP, STA), (1.0, UNTIL))].into(),
            ..Rules::default()
        };
        let beacon = air().transmit(&beacon_from_ap(), &rules, UNTIL, &mut never_lost());
        assert!(receivers(&beacon).contains(&STA));
        assert!(air().transmit(&data_to_ap(), &rules, UNTIL, &mut never_lost()).acked);
    }

    #[test]
    fn a_lossy_link_costs_retries_and_a_dead_one_fails_the_whole_chain() {
        let rules =
            Rules { loss: [(Link::between(STA, AP), (0.5, UNTIL))].into(), ..Rules::default() };
        // Tries: frame lost; frame through, its acknowledgement lost; both through.
        let mut draws = [0.1, 0.7, 0.2, 0.7, 0.7, 0.99].into_iter();
        let outcome = air().transmit(&data_to_ap(), &rules, NOW, &mut || draws.next().unwrap());
        assert!(outcome.acked);
        assert_eq!(outcome.tx_info[0], TxRate { idx: 4, count: 2 });
        assert_eq!(outcome.tx_info[1], TxRate { idx: 0, count: 1 });
        assert!(receivers(&outcome).contains(&AP), "it got the frame (the retry is a duplicate)");

        let dead =
            Rules { loss: [(Link::between(AP, STA), (1.0, UNTIL))].into(), ..Rules::default() };
        let outcome = air().transmit(&data_to_ap(), &dead, NOW, &mut never_lost());
        assert!(!outcome.acked);
        assert_eq!(outcome.tx_info, data_to_ap().tx_info, "every try made");
        assert!(!receivers(&outcome).contains(&AP));
    }

    #[test]
    fn an_isolated_radio_neither_hears_nor_is_heard_and_signals_are_per_link() {
        let rules = Rules { isolated: [AP].into(), ..Rules::default() };
        let outcome = air().transmit(&data_to_ap(), &rules, NOW, &mut never_lost());
        assert!(!outcome.acked);
        assert_eq!(receivers(&outcome), [OTHER_AP]);
        assert!(air()
            .transmit(&beacon_from_ap(), &rules, NOW, &mut never_lost())
            .deliveries
            .is_empty());

        let rules =
            Rules { signal: [((AP, STA), SignalPath::steady(-72.0))].into(), ..Rules::default() };
        let outcome = air().transmit(&beacon_from_ap(), &rules, NOW, &mut never_lost());
        assert!(outcome.deliveries.contains(&(STA, -72)));
        assert!(outcome.deliveries.contains(&(OTHER_AP, DEFAULT_SIGNAL_DBM)));
    }

    /// A faded link loses frames the way its signal says, each direction by its own signal:
    /// the station's frame reaches a faint AP and is acknowledged only as often as the AP's
    /// answer gets through.
    #[test]
    fn a_fading_signal_costs_frames_each_way() {
        let path = |dbm| SignalPath::steady(dbm);
        let faded = Rules {
            signal: [((AP, STA), path(-92.0)), ((STA, AP), path(-92.0))].into(),
            ..Rules::default()
        };
        let outcome = air().transmit(&data_to_ap(), &faded, NOW, &mut never_lost());
        assert!(!outcome.acked, "nothing crosses at -92 dBm");
        let beacon = air().transmit(&beacon_from_ap(), &faded, NOW, &mut never_lost());
        assert_eq!(receivers(&beacon), [OTHER_AP], "the station misses the faded AP's beacon");

        // Only the way back faded: every try arrives, no acknowledgement comes back.
        let one_way = Rules { signal: [((AP, STA), path(-92.0))].into(), ..Rules::default() };
        let outcome = air().transmit(&data_to_ap(), &one_way, NOW, &mut never_lost());
        assert!(!outcome.acked);
        assert!(receivers(&outcome).contains(&AP));
        assert_eq!(outcome.ack_signal_dbm, -92);

        // Half the tries lost at -83.5 dBm.
        let half = Rules { signal: [((STA, AP), path(-83.5))].into(), ..Rules::default() };
        let mut draws = [0.4, 0.6, 0.99, 0.99].into_iter();
        let outcome = air().transmit(&data_to_ap(), &half, NOW, &mut || draws.next().unwrap());
        assert_eq!(outcome.tx_info[0], TxRate { idx: 4, count: 2 }, "the first try lost");
    }

    #[test]
    fn announced_interfaces_name_their_radio() {
        let mut air = air();
        let random = MacAddr([0x06, 0x11, 0x22, 0x33, 0x44, 0x55]);
        let mut tx = data_to_ap();
        tx.frame = frame(0x08, random, STA_IFACE);
        assert!(!air.transmit(&tx, &Rules::default(), NOW, &mut never_lost()).acked, "unknown");
        air.interface_up(AP, random);
        assert!(air.transmit(&tx, &Rules::default(), NOW, &mut never_lost()).acked);
    }
}
