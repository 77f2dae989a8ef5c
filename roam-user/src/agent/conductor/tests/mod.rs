//! The conductor's transitions and races, on a simulated clock.

use roam_common::{
    event::{Leave, LeaveKind},
    policy::{self, Candidate, Hold, LimiterConfig, MachineConfig, State, Trigger},
    MacAddr,
};
use roam_proto::{LossSource, RoamResult, TransitionStep};

use super::{
    Choice, Command, Conductor, Config, Input, Notice, RoamOrder, ScanScope, SignalLevels, World,
};
use crate::agent::liveness::Change;

mod ft;
mod retry;

const AP1: MacAddr = MacAddr([2, 0, 0, 0, 0, 0]);
const AP2: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);
const OTHER: MacAddr = MacAddr([2, 0, 0, 0, 9, 0]);
const STATION: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;
const ROAM_TIMEOUT: u64 = 3 * S;

/// The candidates as the agent's book would show them.
#[derive(Default)]
struct FakeWorld {
    candidates: Vec<Candidate>,
    network_known: bool,
}

impl World for FakeWorld {
    fn choose(&mut self, lost: policy::Lost) -> Option<Choice> {
        if !self.network_known {
            return None;
        }
        let best = policy::best_candidate(&self.candidates, Some(lost), 2_000).copied();
        Some(Choice { best, known: self.candidates.len() })
    }

    fn scan_entry_age_ms(&self, bssid: &MacAddr) -> Option<u64> {
        self.candidates.iter().find(|c| c.bssid == *bssid)?.scan_age_ms
    }
}

fn candidate(bssid: MacAddr, scan_age_ms: Option<u64>) -> Candidate {
    Candidate { bssid, freq_mhz: 2437, signal_dbm: Some(-50), heard_age_ms: Some(50), scan_age_ms }
}

/// wpa_supplicant: reconnects by itself, keeps its own scan table.
fn wpa_supplicant() -> Config {
    Config {
        machine: MachineConfig {
            observe_only: false,
            limiter: LimiterConfig::default(),
            manager_reconnects_recoverable: true,
        },
        manager_reconnects: true,
        reads_table_whole: false,
        roam_timeout_ns: ROAM_TIMEOUT,
    }
}

/// Bare nl80211: nobody else reconnects; cfg80211's table is read whole.
fn nl80211() -> Config {
    Config {
        machine: MachineConfig {
            manager_reconnects_recoverable: false,
            ..wpa_supplicant().machine
        },
        manager_reconnects: false,
        reads_table_whole: true,
        ..wpa_supplicant()
    }
}

/// A station connected to AP1 at t = 1 s, AP2 a candidate in the scan table.
struct Rig {
    core: Conductor,
    world: FakeWorld,
    now: u64,
}

impl Rig {
    fn new(config: Config) -> Self {
        let world =
            FakeWorld { candidates: vec![candidate(AP2, Some(1_000))], network_known: true };
        let mut rig = Rig { core: Conductor::new(config, 0), world, now: S };
        rig.feed(Input::Connected { bssid: AP1 });
        assert_eq!(rig.core.machine().state(), State::Run);
        rig
    }

    fn feed(&mut self, input: Input) -> Vec<Command> {
        self.core.handle(input, self.now, &mut self.world)
    }

    fn after(&mut self, ns: u64, input: Input) -> Vec<Command> {
        self.now += ns;
        self.feed(input)
    }

    /// Time passes to the conductor's next deadline, which is served.
    fn until_deadline(&mut self) -> Vec<Command> {
        self.now = self.core.next_deadline().expect("a deadline is set");
        self.feed(Input::Tick)
    }
}

fn roams(commands: &[Command]) -> Vec<RoamOrder> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Roam(order) => Some(*order),
            _ => None,
        })
        .collect()
}

fn notices(commands: &[Command]) -> Vec<Notice> {
    commands
        .iter()
        .filter_map(|c| match c {
            Command::Notify(notice) => Some(*notice),
            _ => None,
        })
        .collect()
}

fn held(commands: &[Command]) -> Option<Hold> {
    notices(commands).into_iter().find_map(|n| match n {
        Notice::RoamHeld { hold, .. } => Some(hold),
        _ => None,
    })
}

fn ended(commands: &[Command]) -> Option<RoamResult> {
    notices(commands).into_iter().find_map(|n| match n {
        Notice::RoamEnded { result, .. } => Some(result),
        _ => None,
    })
}

fn lost(last_alive_ns: u64) -> Input {
    Input::Liveness(Change::Lost { last_alive_ns })
}

fn deauth_frame(reason: u16) -> Input {
    let leave = Leave {
        kind: LeaveKind::Deauth,
        bssid: AP1,
        receiver: STATION,
        transmitter: AP1,
        reason,
        from_ap: true,
        protected: false,
    };
    Input::Leave { leave, station: STATION }
}

fn disconnected_by_ap(reason: u16) -> Input {
    Input::Disconnected { bssid: Some(AP1), reason, by_ap: true }
}

/// The whole story of a silent AP: the liveness verdict, the roam, the connection, the first
/// data frame, and the transition's report with every step on its time.
#[test]
fn a_silent_ap_is_left_for_the_best_candidate() {
    let mut rig = Rig::new(wpa_supplicant());
    let alive = rig.now + 100 * MS;
    let out = rig.after(175 * MS, lost(alive));
    assert_eq!(out[0], Command::OpenWindow { lost_ns: alive });
    assert_eq!(
        notices(&out)[..2],
        [
            Notice::LossDetected {
                trigger: Trigger::NoAck,
                bssid: AP1,
                source: LossSource::Ack,
                lost_ns: alive,
                detected_ns: rig.now,
                best: Some(AP2),
                known: 1,
                signal: None,
            },
            Notice::State { from: State::Run, to: State::Roaming },
        ]
    );
    let order = roams(&out)[0];
    assert_eq!((order.target.bssid, order.generation), (AP2, 1));
    assert!(!order.scan_first, "wpa_supplicant knows AP2");
    assert!(!order.reconnect, "a reassociation from a live link");

    let out = rig.after(90 * MS, Input::Connected { bssid: AP2 });
    assert_eq!(ended(&out), Some(RoamResult::Success));
    assert!(
        notices(&out).iter().any(|n| matches!(n, Notice::RoamEnded { target_freq_mhz: 2437, .. })),
        "the outcome names where the roam went (its band labels the metric)"
    );
    assert!(!out.iter().any(|c| matches!(c, Command::PutBack { .. })), "nothing was pinned");
    assert!(rig.core.awaits_first_data());
    let out = rig.after(10 * MS, Input::FirstData);
    let [Command::FinishTransition(t)] = &out[..] else { panic!("{out:?}") };
    assert_eq!((t.trigger, t.from, t.to), (Some(Trigger::NoAck), Some(AP1), Some(AP2)));
    assert_eq!(t.marks.detected - t.marks.lost, 75 * MS);
    assert_eq!(t.duration_ns(), Some(100 * MS));
    assert_eq!(rig.core.next_deadline(), None, "no deadline left behind");
}

/// A loss already being acted on is not acted on again (one roam in flight).
#[test]
fn a_second_loss_during_a_roam_starts_nothing() {
    let mut rig = Rig::new(wpa_supplicant());
    assert_eq!(roams(&rig.after(100 * MS, lost(rig.now))).len(), 1);
    let again = rig.after(20 * MS, Input::ConnectionLoss { last_heard_ns: None });
    assert!(roams(&again).is_empty(), "{again:?}");
}

/// Observe-only holds the loss; the AP heard again makes it a false alarm, whose transition
/// is dropped unreported.
#[test]
fn an_ap_heard_again_before_roam_acted_was_a_false_alarm() {
    let mut config = wpa_supplicant();
    config.machine.observe_only = true;
    let mut rig = Rig::new(config);
    let out = rig.after(100 * MS, lost(rig.now));
    assert_eq!(held(&out), Some(Hold::ObserveOnly));
    assert!(roams(&out).is_empty());
    assert_eq!(rig.core.next_deadline(), None, "observe-only never retries");
    let out = rig.after(30 * MS, Input::Liveness(Change::Back));
    assert!(notices(&out).contains(&Notice::FalseAlarm { trigger: Trigger::NoAck }));
    assert!(out.contains(&Command::AbandonWindow));
    assert_eq!(rig.core.machine().state(), State::Run);
    assert!(rig.core.transition().is_none());
}

/// The kernel sees the deauthentication first, the manager processes it after: roam acts once
/// it has, with the kernel's time and the manager's reason, and pins the reconnection.
#[test]
fn a_deauth_is_acted_on_once_the_manager_processed_it() {
    let mut rig = Rig::new(wpa_supplicant());
    let out = rig.after(100 * MS, deauth_frame(0));
    assert!(out.is_empty(), "the manager has not processed it yet: {out:?}");
    let seen = rig.now;
    let out = rig.after(4 * MS, disconnected_by_ap(3));
    let trigger = Trigger::Deauth { reason: 3 };
    assert!(notices(&out).contains(&Notice::ApEnded(trigger)));
    assert_eq!(
        out.iter().find(|c| matches!(c, Command::OpenWindow { .. })),
        Some(&Command::OpenWindow { lost_ns: seen })
    );
    let order = roams(&out)[0];
    assert!(order.reconnect && order.target.bssid == AP2);
    let out = rig.after(120 * MS, Input::Connected { bssid: AP2 });
    let put_back = out.iter().position(|c| *c == Command::PutBack { generation: 1 });
    let result = out.iter().position(|c| matches!(c, Command::Notify(Notice::RoamEnded { .. })));
    assert!(put_back.is_some() && put_back < result, "the pin is undone as the roam ends: {out:?}");
}

/// A reason that lets the station straight back in (7) is left to wpa_supplicant, which
/// reconnects by itself; nothing is retried behind its back.
#[test]
fn a_recoverable_deauth_is_left_to_wpa_supplicant() {
    let mut rig = Rig::new(wpa_supplicant());
    rig.after(100 * MS, deauth_frame(7));
    let out = rig.after(3 * MS, disconnected_by_ap(7));
    assert_eq!(held(&out), Some(Hold::ManagerReconnects));
    assert!(roams(&out).is_empty());
    assert_eq!(rig.core.next_deadline(), None);
}

/// Frames the station sent itself, or of another BSS, are not the AP ending anything.
#[test]
fn only_the_serving_aps_own_deauth_counts() {
    let mut rig = Rig::new(wpa_supplicant());
    let Input::Leave { mut leave, station } = deauth_frame(3) else { unreachable!() };
    leave.transmitter = STATION;
    rig.after(MS, Input::Leave { leave, station });
    leave.transmitter = OTHER;
    leave.bssid = OTHER;
    rig.after(MS, Input::Leave { leave, station });
    // The manager's disconnect then carries the loss, at its own time, with its reason.
    let out = rig.after(MS, disconnected_by_ap(1));
    assert!(out.contains(&Command::OpenWindow { lost_ns: rig.now }), "{out:?}");
}

/// A roam that reaches no connection in time ends as a timeout; its pin is put back; with
/// wpa_supplicant (which reconnects by itself) nothing is retried.
#[test]
fn a_roam_times_out_at_its_deadline() {
    let mut rig = Rig::new(wpa_supplicant());
    rig.after(100 * MS, deauth_frame(3));
    let out = rig.after(MS, disconnected_by_ap(3));
    assert_eq!(roams(&out).len(), 1);
    let started = rig.now;
    let out = rig.until_deadline();
    assert_eq!(rig.now - started, ROAM_TIMEOUT);
    assert_eq!(ended(&out), Some(RoamResult::Timeout));
    assert!(out.contains(&Command::PutBack { generation: 1 }));
    assert_eq!(rig.core.next_deadline(), None);
}

/// The race the roam's number settles: roam 1 times out and is retried as roam 2; the late
/// failure report of roam 1 must not end roam 2, and roam 2's own does.
#[test]
fn a_late_report_of_an_earlier_roam_does_not_touch_the_next() {
    let mut rig = Rig::new(nl80211());
    rig.after(100 * MS, deauth_frame(3));
    rig.after(MS, disconnected_by_ap(3));
    let out = rig.until_deadline();
    assert_eq!(ended(&out), Some(RoamResult::Timeout));
    // nl80211 retries; the limiter's backoff holds the first try.
    let mut second = Vec::new();
    for _ in 0..4 {
        second = rig.until_deadline();
        if !roams(&second).is_empty() {
            break;
        }
        assert!(matches!(held(&second), Some(Hold::BackingOff { .. })), "{second:?}");
    }
    assert_eq!(roams(&second)[0].generation, 2);
    assert!(rig.after(MS, Input::ActionFailed { generation: 1 }).is_empty());
    assert_eq!(rig.core.machine().state(), State::Roaming);
    let out = rig.after(MS, Input::ActionFailed { generation: 2 });
    assert_eq!(ended(&out), Some(RoamResult::Failure));
}

/// Only the roam that pinned the manager puts a pin back: a later roam from a live link
/// changes nothing, so undoes nothing.
#[test]
fn a_pin_is_put_back_once_by_the_roam_that_made_it() {
    let mut rig = Rig::new(wpa_supplicant());
    rig.after(100 * MS, deauth_frame(3));
    rig.after(MS, disconnected_by_ap(3));
    let first = rig.after(50 * MS, Input::ConnectFailed { bssid: Some(AP2) });
    assert_eq!(ended(&first), Some(RoamResult::Failure));
    assert_eq!(first.iter().filter(|c| matches!(c, Command::PutBack { .. })).count(), 1);
    // wpa_supplicant reconnects to AP1 by itself; a later silence roams from a live link.
    rig.after(S, Input::Connected { bssid: AP1 });
    rig.now += 20 * S; // past the limiter's backoff
    rig.feed(lost(rig.now));
    let out = rig.after(80 * MS, Input::Connected { bssid: AP2 });
    assert_eq!(ended(&out), Some(RoamResult::Success));
    assert!(!out.iter().any(|c| matches!(c, Command::PutBack { .. })), "{out:?}");
}

/// A refusal by a BSS roam did not target (the manager trying another on its own) is not the
/// roam's failure.
#[test]
fn a_refusal_by_another_bss_is_not_the_roams() {
    let mut rig = Rig::new(wpa_supplicant());
    rig.after(100 * MS, lost(rig.now));
    assert!(rig.after(MS, Input::ConnectFailed { bssid: Some(OTHER) }).is_empty());
    assert_eq!(rig.core.machine().state(), State::Roaming);
}

/// As in the VM's `open-single-ap-reboot` without a monitor: the pinned target had gone too
/// and its authentication timed out, which wpa_supplicant reports by no event; it scans again.
/// The pin goes when that scan starts, not after wpa_supplicant chose from its results (with
/// the pin in place it found nothing and waited 5 s to scan again).
#[test]
fn a_pinned_target_that_never_answered_is_unpinned_when_the_manager_scans_again() {
    let mut rig = Rig::new(wpa_supplicant());
    rig.after(100 * MS, deauth_frame(3));
    let order = roams(&rig.after(MS, disconnected_by_ap(3)))[0];
    assert!(order.reconnect && order.target.bssid == AP2);
    let auth = Input::Connecting { step: TransitionStep::Auth, bssid: Some(AP2) };
    assert!(rig.after(5 * MS, auth).iter().all(|c| !matches!(c, Command::PutBack { .. })));
    let out = rig.after(500 * MS, Input::Scanning);
    assert_eq!(ended(&out), Some(RoamResult::Failure));
    assert!(out.contains(&Command::PutBack { generation: order.generation }));
    assert!(rig.after(50 * MS, Input::ScanDone).is_empty());
}

const SCAN_AGE_OLD: u64 = policy::candidate::SCAN_ENTRY_USABLE_MS + 1;

/// wpa_supplicant rescans an expired entry by itself: roam scans only for a target missing
/// from its table.
#[test]
fn wpa_supplicant_is_asked_to_scan_only_for_a_target_it_lacks() {
    let mut rig = Rig::new(wpa_supplicant());
    rig.world.candidates = vec![candidate(AP2, Some(SCAN_AGE_OLD))];
    assert!(!roams(&rig.after(100 * MS, lost(rig.now)))[0].scan_first);
    let mut rig = Rig::new(wpa_supplicant());
    rig.world.candidates = vec![candidate(AP2, None)];
    assert!(roams(&rig.after(100 * MS, lost(rig.now)))[0].scan_first);
}

/// A reconnection pins the manager to its target: one the kernel does not hear right now
/// (a scan entry only, as without a monitor or on another channel) is asked first whether it
/// is there. A reassociation from a live link pins nothing, and a scan first is check enough.
#[test]
fn a_reconnection_to_a_target_known_only_from_its_scan_entry_is_confirmed_first() {
    let reconnection = |heard_age_ms: Option<u64>, scan_age_ms: Option<u64>| {
        let mut rig = Rig::new(wpa_supplicant());
        rig.world.candidates = vec![Candidate { heard_age_ms, ..candidate(AP2, scan_age_ms) }];
        rig.after(100 * MS, deauth_frame(3));
        roams(&rig.after(MS, disconnected_by_ap(3)))[0]
    };
    let order = reconnection(None, Some(3_000));
    assert!(order.reconnect && order.confirm_first && !order.scan_first);
    let stale_air = policy::candidate::HEARD_ALIVE_MS + 1;
    assert!(reconnection(Some(stale_air), Some(3_000)).confirm_first, "unheard for a while");
    assert!(!reconnection(Some(50), Some(3_000)).confirm_first, "the kernel hears it now");
    let order = reconnection(Some(50), None);
    assert!(order.scan_first && !order.confirm_first, "the scan is the check");

    let mut rig = Rig::new(wpa_supplicant());
    rig.world.candidates = vec![Candidate { heard_age_ms: None, ..candidate(AP2, Some(3_000)) }];
    let order = roams(&rig.after(100 * MS, lost(rig.now)))[0];
    assert!(!order.reconnect && !order.confirm_first, "a reassociation pins nothing");
}

/// A transition the manager began itself (a deliberate roam) is measured too, and ends after
/// the first-data wait when the station is idle.
#[test]
fn a_transition_the_manager_began_is_measured_and_ends_without_data() {
    let mut rig = Rig::new(wpa_supplicant());
    let out = rig.after(S, Input::Connecting { step: TransitionStep::Auth, bssid: None });
    assert_eq!(out[0], Command::OpenWindow { lost_ns: rig.now });
    rig.after(10 * MS, Input::Connecting { step: TransitionStep::Associated, bssid: Some(AP2) });
    let connected = rig.now + 20 * MS;
    rig.after(20 * MS, Input::Connected { bssid: AP2 });
    let out = rig.until_deadline();
    assert_eq!(rig.now - connected, super::FIRST_DATA_WAIT_NS);
    let [Command::FinishTransition(t)] = &out[..] else { panic!("{out:?}") };
    assert_eq!((t.trigger, t.to, t.marks.acted), (None, Some(AP2), 0));
    assert_eq!(rig.core.next_deadline(), None);
}

/// mac80211 giving up is a loss from the AP's last frame; before the network is known there is
/// nothing to decide on, and nothing is opened.
#[test]
fn mac80211s_verdict_is_a_loss_from_the_last_frame_heard() {
    let mut rig = Rig::new(wpa_supplicant());
    let heard = rig.now + 50 * MS;
    let out = rig.after(S, Input::ConnectionLoss { last_heard_ns: Some(heard) });
    assert!(notices(&out).iter().any(|n| matches!(
        n,
        Notice::LossDetected { source: LossSource::Mac80211, lost_ns, .. } if *lost_ns == heard
    )));
    let mut rig = Rig::new(wpa_supplicant());
    rig.world.network_known = false;
    assert!(rig.after(S, Input::ConnectionLoss { last_heard_ns: None }).is_empty());
}

/// A fading signal moves a station whose link still works: a reassociation (nothing pinned)
/// to the target the signal rule chose, measured as a transition of its own.
#[test]
fn a_fading_signal_roams_from_the_live_link_to_the_target_it_names() {
    let mut rig = Rig::new(wpa_supplicant());
    // The loss ranking would pick AP2; the signal rule names OTHER.
    let target = candidate(OTHER, Some(500));
    let out = rig.after(S, Input::SignalFading { target, serving_x16: -74 * 16 });
    assert_eq!(out[0], Command::OpenWindow { lost_ns: rig.now });
    assert!(notices(&out).iter().any(|n| matches!(
        n,
        Notice::LossDetected {
            trigger: Trigger::Signal,
            source: LossSource::Signal,
            best,
            signal: Some(SignalLevels { serving_x16: -1184, .. }),
            ..
        } if *best == Some(OTHER)
    )));
    let order = roams(&out)[0];
    assert_eq!((order.target.bssid, order.reconnect, order.scan_first), (OTHER, false, false));
    // Once moving, the signal says nothing more.
    assert!(rig.after(500 * MS, Input::SignalFading { target, serving_x16: -74 * 16 }).is_empty());
    let out = rig.after(60 * MS, Input::Connected { bssid: OTHER });
    assert_eq!(ended(&out), Some(RoamResult::Success));
    assert!(!out.iter().any(|c| matches!(c, Command::PutBack { .. })));
}

/// Not connected, or a transition under way (the manager roaming by itself): no signal roam.
#[test]
fn a_fading_signal_waits_for_a_settled_link() {
    let mut rig = Rig::new(wpa_supplicant());
    let target = candidate(OTHER, Some(500));
    rig.after(S, Input::Connecting { step: TransitionStep::Auth, bssid: None });
    assert!(roams(&rig.after(10 * MS, Input::SignalFading { target, serving_x16: -74 * 16 }))
        .is_empty());
    rig.after(10 * MS, Input::Disconnected { bssid: Some(AP1), reason: 3, by_ap: false });
    assert!(roams(&rig.after(10 * MS, Input::SignalFading { target, serving_x16: -74 * 16 }))
        .is_empty());
}
