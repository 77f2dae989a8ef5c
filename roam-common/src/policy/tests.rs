use super::{
    candidate::{
        best_candidate, best_candidate_with_cached_key, Candidate, CandidateSource, Lost,
        SCAN_ENTRY_USABLE_MS,
    },
    limiter::{Limiter, LimiterConfig, Refusal},
    machine::{Action, Hold, Input, Machine, MachineConfig, Outcome, CATCH_UP_AFTER_NS},
    state::State,
    trigger::Trigger,
};
use crate::MacAddr;

const AP1: MacAddr = MacAddr([2, 0, 0, 0, 0, 0]);
const AP2: MacAddr = MacAddr([2, 0, 0, 0, 1, 0]);
const AP3: MacAddr = MacAddr([2, 0, 0, 0, 2, 0]);
const MS: u64 = 1_000_000;
const S: u64 = 1_000 * MS;

fn cand(bssid: MacAddr, signal: i32, heard_ms: Option<u64>, scan_ms: Option<u64>) -> Candidate {
    Candidate {
        bssid,
        freq_mhz: 2412,
        signal_dbm: Some(signal),
        heard_age_ms: heard_ms,
        scan_age_ms: scan_ms,
    }
}

fn machine(observe_only: bool) -> Machine {
    let config = MachineConfig {
        observe_only,
        limiter: LimiterConfig::default(),
        manager_reconnects_recoverable: true,
    };
    let mut m = Machine::new(config, 0);
    m.handle(Input::Authenticating { bssid: AP1 }, MS);
    m.handle(Input::Associated { bssid: AP1 }, 2 * MS);
    let step = m.handle(Input::Connected { bssid: AP1 }, 3 * MS);
    assert_eq!(step.transition, Some((State::Assoc, State::Run)));
    m
}

#[test]
fn best_candidate_prefers_fresh_and_strong_and_not_the_lost_bss() {
    let strong_but_stale = cand(AP2, -40, None, Some(20_000));
    let weaker_but_alive = cand(AP3, -50, Some(100), Some(2_000));
    let current = cand(AP1, -30, Some(10), Some(1_000));
    let all = [current, strong_but_stale, weaker_but_alive];
    // AP1 was lost 5 ms ago and last heard 10 ms ago: not heard since.
    let lost = Some(Lost { bssid: AP1, since_ms: 5 });
    // -40 - 20 s = -60 against -50 - 0 + 5 = -45.
    assert_eq!(best_candidate(&all, lost, 2_000).unwrap().bssid, AP3);
    assert_eq!(best_candidate(&all[..1], lost, 2_000), None);
    assert_eq!(weaker_but_alive.source(), CandidateSource::Both);
    assert_eq!(strong_but_stale.source(), CandidateSource::Supplicant);
}

/// On an enterprise network a BSS the station holds a PMKSA for spares a full EAP exchange:
/// it goes first unless it is far weaker.
#[test]
fn a_candidate_with_a_cached_key_goes_first_unless_far_weaker() {
    let strong = cand(AP2, -45, Some(100), Some(1_000));
    let cached = cand(AP3, -52, Some(100), Some(1_000));
    let all = [strong, cached];
    let has_key = |b: &MacAddr| *b == AP3;
    assert_eq!(best_candidate(&all, None, 2_000).unwrap().bssid, AP2);
    assert_eq!(best_candidate_with_cached_key(&all, None, 2_000, has_key).unwrap().bssid, AP3);
    let far = [strong, cand(AP3, -70, Some(100), Some(1_000))];
    assert_eq!(best_candidate_with_cached_key(&far, None, 2_000, has_key).unwrap().bssid, AP2);
    assert_eq!(best_candidate_with_cached_key(&all, None, 2_000, |_| false).unwrap().bssid, AP2);
    // Only heard on the air: no key makes it beat one the manager's table lists.
    let heard_only = [strong, cand(AP3, -46, Some(100), None)];
    assert_eq!(
        best_candidate_with_cached_key(&heard_only, None, 2_000, has_key).unwrap().bssid,
        AP2
    );
}

/// An AP switched off a moment ago is still in the manager's table; the monitor, listening on
/// its channel until the loss, knows it went silent. A scan since the loss knows better.
#[test]
fn a_bss_silent_where_the_monitor_listened_has_gone_until_a_scan_sees_it_again() {
    let just_lost = Lost { bssid: AP1, since_ms: 10 };
    let switched_off = cand(AP2, -45, Some(2_500), Some(4_000));
    assert!(switched_off.is_usable(2_000), "its scan entry is young");
    assert!(switched_off.gone_silent(Some(2412), 2_000, just_lost));
    assert!(!switched_off.gone_silent(Some(2437), 2_000, just_lost), "another channel");
    assert!(!switched_off.gone_silent(None, 2_000, just_lost), "no monitor listening");
    assert!(!cand(AP2, -45, Some(100), Some(4_000)).gone_silent(Some(2412), 2_000, just_lost));
    assert!(!cand(AP2, -45, None, Some(4_000)).gone_silent(Some(2412), 2_000, just_lost));

    // Five seconds after the loss: unheard since (the radio left the channel), but was it
    // silent while the monitor still listened?
    let lost_5s_ago = Lost { bssid: AP1, since_ms: 5_000 };
    let heard_just_before_the_loss = cand(AP2, -45, Some(5_500), Some(9_000));
    assert!(!heard_just_before_the_loss.gone_silent(Some(2412), 2_000, lost_5s_ago));
    let silent_before_the_loss = cand(AP2, -45, Some(7_500), Some(9_000));
    assert!(silent_before_the_loss.gone_silent(Some(2412), 2_000, lost_5s_ago));
    let back_in_a_scan = cand(AP2, -45, Some(7_500), Some(300));
    assert!(!back_in_a_scan.gone_silent(Some(2412), 2_000, lost_5s_ago), "a scan saw it since");
}

#[test]
fn a_candidate_is_usable_if_heard_recently_or_in_a_young_scan_entry() {
    let heard_only = cand(AP2, -50, Some(500), None);
    assert!(heard_only.is_usable(2_000));
    assert!(!heard_only.roamable_without_scan(), "cfg80211 does not know it: scan first");
    let expiring = cand(AP2, -50, None, Some(SCAN_ENTRY_USABLE_MS + 1));
    assert!(!expiring.is_usable(2_000));
    let gone = cand(AP2, -50, Some(5_000), None);
    assert!(!gone.is_usable(2_000));
    let unknown_signal = Candidate { signal_dbm: None, ..cand(AP2, 0, Some(0), None) };
    assert_eq!(unknown_signal.score(), -85 + 5);
}

#[test]
fn the_lost_bss_is_a_candidate_again_once_it_is_back_ranked_lower() {
    let lost = Some(Lost { bssid: AP1, since_ms: 3_000 });
    // The only AP of the network, rebooted, beacons again: the way back.
    let back = cand(AP1, -40, Some(50), None);
    assert_eq!(best_candidate(&[back], lost, 2_000).unwrap().bssid, AP1);
    // Another AP as good, or less than the penalty weaker, is preferred.
    let other = cand(AP2, -45, Some(50), None);
    assert_eq!(best_candidate(&[back, other], lost, 2_000).unwrap().bssid, AP2);
    // A scan entry counts only if younger than the loss by more than its granularity: an
    // entry of age "0 s" may be 999 ms old.
    let scanned = cand(AP1, -40, None, Some(0));
    assert_eq!(best_candidate(&[scanned], Some(Lost { bssid: AP1, since_ms: 900 }), 2_000), None);
    assert!(best_candidate(&[scanned], lost, 2_000).is_some());
    // The deauthentication that ended the association is a frame of the lost BSS too.
    let its_deauth = cand(AP1, -40, Some(2_950), None);
    assert_eq!(best_candidate(&[its_deauth], lost, 5_000), None);
}

/// A ghost: a BSS only heard on the air (beacons anyone can forge), louder and fresher than
/// the real AP the scan table lists. The listed one wins; the heard one only when alone.
#[test]
fn a_bss_the_scan_table_lists_comes_before_one_only_heard() {
    let ghost = cand(AP3, -30, Some(10), None);
    let listed = cand(AP2, -60, None, Some(3_000));
    assert!(ghost.score() > listed.score());
    assert_eq!(best_candidate(&[ghost, listed], None, 2_000).unwrap().bssid, AP2);
    assert_eq!(best_candidate(&[ghost], None, 2_000).unwrap().bssid, AP3);
}

#[test]
fn ties_break_on_the_lower_bssid() {
    let a = cand(AP3, -50, Some(0), Some(0));
    let b = cand(AP2, -50, Some(0), Some(0));
    assert_eq!(best_candidate(&[a, b], None, 1_000).unwrap().bssid, AP2);
    assert_eq!(best_candidate(&[b, a], None, 1_000).unwrap().bssid, AP2);
}

#[test]
fn silence_with_a_candidate_roams_and_connection_completes_it() {
    let mut m = machine(false);
    let target = cand(AP2, -45, Some(50), Some(3_000));
    let step =
        m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: Some(&target) }, S);
    assert_eq!(step.transition, Some((State::Run, State::Roaming)));
    assert_eq!(
        step.action,
        Some(Action::Roam { trigger: Trigger::Silence, target, scan_first: false })
    );
    // The roam's own steps are phases, not states.
    for input in [
        Input::Disconnected,
        Input::Authenticating { bssid: AP2 },
        Input::Associated { bssid: AP2 },
    ] {
        assert_eq!(m.handle(input, S + MS).transition, None);
        assert_eq!(m.state(), State::Roaming);
    }
    // A second loss while roaming is ignored: one action in flight.
    let again = m.handle(
        Input::Loss { trigger: Trigger::BeaconLoss, bssid: AP1, best: Some(&target) },
        S + 2 * MS,
    );
    assert_eq!(again.action, None);
    let step = m.handle(Input::Connected { bssid: AP2 }, S + 300 * MS);
    assert_eq!(step.transition, Some((State::Roaming, State::Run)));
    assert_eq!(
        step.outcome,
        Some(Outcome::Succeeded { trigger: Trigger::Silence, target: AP2, reached: AP2 })
    );
    assert_eq!(m.current_bss(), Some(AP2));
}

#[test]
fn a_target_unknown_to_the_connection_layer_is_scanned_first() {
    let mut m = machine(false);
    let heard_only = cand(AP2, -45, Some(50), None);
    let step =
        m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: Some(&heard_only) }, S);
    assert!(matches!(step.action, Some(Action::Roam { scan_first: true, .. })));
}

/// wpa_supplicant reports no event when an authentication times out: it scans again. A scan
/// after the target was tried ends the roam (roam's pin must be gone before the manager
/// chooses from that scan); a scan before it (the manager finding the target) does not.
#[test]
fn a_scan_after_the_target_was_tried_is_the_roams_failure() {
    let mut m = machine(false);
    let target = cand(AP2, -45, None, Some(3_000));
    let loss =
        Input::Loss { trigger: Trigger::Deauth { reason: 3 }, bssid: AP1, best: Some(&target) };
    m.handle(Input::Disconnected, S);
    assert!(m.handle(loss, S).action.is_some());
    assert_eq!(m.handle(Input::Scanning, S + 10 * MS), Default::default(), "finding the target");
    m.handle(Input::Authenticating { bssid: AP3 }, S + 20 * MS);
    assert!(!m.target_tried(), "another BSS is not the target");
    assert_eq!(m.handle(Input::Scanning, S + 30 * MS), Default::default());
    m.handle(Input::Authenticating { bssid: AP2 }, S + 40 * MS);
    assert!(m.target_tried());
    let step = m.handle(Input::Scanning, S + 500 * MS);
    assert_eq!(
        step.outcome,
        Some(Outcome::Failed { trigger: Trigger::Deauth { reason: 3 }, target: AP2 })
    );
    assert_eq!(m.state(), State::Suspect);
    assert!(!m.target_tried(), "nothing in flight");
}

/// The fast roam's second way (a full reconnection) scans the target's channel first. The
/// manager may try the target again on its own before that scan starts (wpa_supplicant
/// retrying with SAE once the target refused its PMKSA): the scan is still roam's, not a
/// failure; a scan after it is.
#[test]
fn the_second_ways_own_scan_is_not_the_roams_failure() {
    let mut m = machine(false);
    let target = cand(AP2, -45, None, Some(3_000));
    let loss = Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: Some(&target) };
    assert!(m.handle(loss, S).action.is_some());
    m.handle(Input::Authenticating { bssid: AP2 }, S + 10 * MS);
    m.attempt_again(true);
    m.handle(Input::Authenticating { bssid: AP2 }, S + 20 * MS);
    assert_eq!(m.handle(Input::Scanning, S + 30 * MS), Default::default(), "roam's own scan");
    assert_eq!(m.state(), State::Roaming);
    let step = m.handle(Input::Scanning, S + 500 * MS);
    assert_eq!(step.outcome, Some(Outcome::Failed { trigger: Trigger::Silence, target: AP2 }));
}

#[test]
fn a_machine_told_to_observe_holds_and_acts_again_once_allowed() {
    let target = cand(AP2, -45, Some(50), Some(3_000));
    let loss = Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: Some(&target) };
    let mut m = machine(false);
    m.set_observe_only(true);
    let step = m.handle(loss, S);
    assert_eq!(step.action, None);
    assert!(matches!(step.outcome, Some(Outcome::Held { hold: Hold::ObserveOnly, .. })));

    let mut m = machine(false);
    m.set_observe_only(true);
    m.set_observe_only(false);
    assert!(matches!(m.handle(loss, S).action, Some(Action::Roam { .. })));
}

#[test]
fn observe_only_and_no_candidate_hold_in_suspect() {
    let target = cand(AP2, -45, Some(50), Some(3_000));
    let mut m = machine(true);
    let step =
        m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: Some(&target) }, S);
    assert_eq!(step.action, None);
    assert_eq!(step.transition, Some((State::Run, State::Suspect)));
    assert_eq!(
        step.outcome,
        Some(Outcome::Held { trigger: Trigger::Silence, hold: Hold::ObserveOnly })
    );
    // The supplicant recovers by itself.
    m.handle(Input::Disconnected, 2 * S);
    assert_eq!(m.state(), State::Init);
    m.handle(Input::Connected { bssid: AP2 }, 3 * S);
    assert_eq!(m.state(), State::Run);

    let mut m = machine(false);
    let step = m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: None }, S);
    assert_eq!(
        step.outcome,
        Some(Outcome::Held { trigger: Trigger::Silence, hold: Hold::NoCandidate })
    );
}

/// A deauthentication that lets the station straight back in (reason 7: the AP lost its
/// state, or someone spoofed it): wpa_supplicant reconnects to the same BSS at once, and roam
/// stays out of its way. Reason 3 (the AP is leaving) is roam's to act on; so is reason 7
/// where the manager does not reconnect by itself (bare nl80211).
#[test]
fn a_loss_the_manager_recovers_from_by_itself_is_left_to_it() {
    let target = cand(AP2, -45, Some(50), Some(3_000));
    let deauth = |reason| Trigger::Deauth { reason };
    let mut m = machine(false);
    m.handle(Input::Disconnected, S);
    let step = m.handle(Input::Loss { trigger: deauth(7), bssid: AP1, best: Some(&target) }, S);
    assert_eq!(step.action, None);
    assert_eq!(
        step.outcome,
        Some(Outcome::Held { trigger: deauth(7), hold: Hold::ManagerReconnects })
    );
    // wpa_supplicant's own reconnection to the same AP completes it.
    m.handle(Input::Authenticating { bssid: AP1 }, S + 20 * MS);
    m.handle(Input::Connected { bssid: AP1 }, S + 60 * MS);
    assert_eq!(m.state(), State::Run);

    let mut m = machine(false);
    m.handle(Input::Disconnected, S);
    let step = m.handle(Input::Loss { trigger: deauth(3), bssid: AP1, best: Some(&target) }, S);
    assert!(matches!(step.action, Some(Action::Roam { .. })), "{step:?}");

    let config = MachineConfig {
        observe_only: false,
        limiter: LimiterConfig::default(),
        manager_reconnects_recoverable: false,
    };
    let mut m = Machine::new(config, 0);
    m.handle(Input::Connected { bssid: AP1 }, MS);
    m.handle(Input::Disconnected, S);
    let step = m.handle(Input::Loss { trigger: deauth(7), bssid: AP1, best: Some(&target) }, S);
    assert!(matches!(step.action, Some(Action::Roam { .. })), "bare nl80211: {step:?}");
}

#[test]
fn the_ap_heard_again_is_a_false_alarm() {
    let mut m = machine(true);
    m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: None }, S);
    let step = m.handle(Input::ApHeard { bssid: AP1 }, S + 10 * MS);
    assert_eq!(step.transition, Some((State::Suspect, State::Run)));
    assert_eq!(step.outcome, Some(Outcome::FalseAlarm { trigger: Trigger::Silence }));
}

#[test]
fn deauth_after_the_supplicant_noticed_still_acts_once() {
    let mut m = machine(false);
    let target = cand(AP2, -45, Some(50), Some(3_000));
    // The supplicant's DISCONNECTED arrived first.
    m.handle(Input::Disconnected, S);
    assert_eq!(m.state(), State::Init);
    let deauth = Trigger::Deauth { reason: 3 };
    let step = m.handle(Input::Loss { trigger: deauth, bssid: AP1, best: Some(&target) }, S + MS);
    assert_eq!(step.transition, Some((State::Init, State::Roaming)));
    assert!(step.action.is_some());
    // Loss of a BSS the station is not on is stale.
    let mut m = machine(false);
    let step =
        m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP3, best: Some(&target) }, S);
    assert_eq!(step, Default::default());
}

#[test]
fn failures_back_off_and_timeouts_count_as_failures() {
    let mut m = machine(false);
    let target = cand(AP2, -45, Some(50), Some(3_000));
    let loss = |m: &mut Machine, at| {
        m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: Some(&target) }, at)
    };
    assert!(loss(&mut m, S).action.is_some());
    let step = m.handle(Input::ActionFailed, S + MS);
    assert_eq!(step.outcome, Some(Outcome::Failed { trigger: Trigger::Silence, target: AP2 }));
    assert_eq!(m.state(), State::Suspect);
    // The station is still on AP1 (the roam failed); the AP is heard again, then lost again.
    m.handle(Input::ApHeard { bssid: AP1 }, S + 2 * MS);
    assert_eq!(m.state(), State::Run);
    let step = loss(&mut m, S + 100 * MS);
    assert_eq!(
        step.outcome,
        Some(Outcome::Held {
            trigger: Trigger::Silence,
            hold: Hold::BackingOff { until_ns: S + MS + 500 * MS }
        })
    );
    m.handle(Input::ApHeard { bssid: AP1 }, S + 200 * MS);
    assert!(loss(&mut m, S + 600 * MS).action.is_some(), "backoff over");
    let step = m.handle(Input::RoamTimeout, 3 * S);
    assert!(matches!(step.outcome, Some(Outcome::TimedOut { .. })));
}

#[test]
fn a_held_loss_is_retried_only_when_asked_and_allowed() {
    let mut m = machine(false);
    let target = cand(AP2, -45, Some(50), Some(3_000));
    // The AP ended the association and nothing was known to go to: held, disconnected.
    m.handle(Input::Loss { trigger: Trigger::Deauth { reason: 3 }, bssid: AP1, best: None }, S);
    m.handle(Input::Disconnected, S);
    assert_eq!(m.state(), State::Init);
    assert_eq!(m.handle(Input::Retry { best: None }, S + MS).action, None, "still nothing");
    // Nowhere to go, so a scan: the loss is still held during it.
    m.handle(Input::Scanning, S + MS);
    assert_eq!(m.state(), State::Scan);
    let step = m.handle(Input::Retry { best: Some(&target) }, S + 2 * MS);
    assert!(matches!(step.action, Some(Action::Roam { target: t, .. }) if t.bssid == AP2));
    assert_eq!(m.state(), State::Roaming);
    assert_eq!(
        m.handle(Input::Retry { best: Some(&target) }, S + 3 * MS),
        Default::default(),
        "one in flight"
    );
    // It fails: the next retry waits out the backoff.
    m.handle(Input::ActionFailed, S + 4 * MS);
    let step = m.handle(Input::Retry { best: Some(&target) }, S + 5 * MS);
    assert!(matches!(step.outcome, Some(Outcome::Held { hold: Hold::BackingOff { .. }, .. })));
    assert!(m.handle(Input::Retry { best: Some(&target) }, S + 600 * MS).action.is_some());
    // Connected: nothing is held, a retry does nothing.
    m.handle(Input::Connected { bssid: AP2 }, S + 700 * MS);
    assert_eq!(m.handle(Input::Retry { best: Some(&target) }, S + 800 * MS), Default::default());
}

#[test]
fn limiter_doubles_backoff_and_caps_roams_per_minute() {
    let mut l = Limiter::new(LimiterConfig {
        backoff_initial_ns: 100 * MS,
        backoff_max_ns: 350 * MS,
        max_roams_per_minute: 3,
    });
    l.failed(0);
    assert_eq!(l.check(50 * MS), Err(Refusal::BackingOff { until_ns: 100 * MS }));
    l.failed(0);
    assert_eq!(l.check(150 * MS), Err(Refusal::BackingOff { until_ns: 200 * MS }));
    l.failed(0);
    l.failed(0);
    assert_eq!(l.check(0), Err(Refusal::BackingOff { until_ns: 350 * MS }), "capped at max");
    l.succeeded();
    for i in 1..=3 {
        assert_eq!(l.check(i * S), Ok(()));
        l.started(i * S);
    }
    assert_eq!(l.check(10 * S), Err(Refusal::Capped { until_ns: 61 * S }));
    assert_eq!(l.check(61 * S), Ok(()), "the first roam left the minute");
}

#[test]
fn every_state_has_a_distinct_name() {
    let mut names: Vec<_> = State::ALL.iter().map(|s| s.name()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), State::ALL.len());
}

#[test]
fn a_connection_whose_events_were_lost_is_caught_up_with() {
    let mut m = machine(false);
    assert!(!m.missed_connection(AP1, 10 * MS), "running on the BSS the manager reports");
    assert!(m.missed_connection(AP2, 10 * MS), "running, but the manager is on another BSS");

    // The AP goes; the supplicant reconnects, and its CONNECTED is lost: stuck in ASSOC.
    m.handle(Input::Disconnected, 20 * MS);
    m.handle(Input::Associating { bssid: AP2 }, 30 * MS);
    assert_eq!(m.state(), State::Assoc);
    assert!(!m.missed_connection(AP2, 40 * MS), "a connection in progress is not yet missed");
    let late = 30 * MS + CATCH_UP_AFTER_NS;
    assert!(m.missed_connection(AP2, late));
    let step = m.handle(Input::Connected { bssid: AP2 }, late);
    assert_eq!(step.transition, Some((State::Assoc, State::Run)));
    assert_eq!(m.current_bss(), Some(AP2));
}

#[test]
fn a_held_loss_or_a_roam_in_flight_is_never_overridden() {
    let mut m = machine(true);
    let step = m.handle(Input::Loss { trigger: Trigger::Silence, bssid: AP1, best: None }, 5 * MS);
    assert_eq!(m.state(), State::Suspect, "{step:?}");
    // The supplicant still reports the silent AP: that is no missed connection.
    assert!(!m.missed_connection(AP1, 5 * MS + 2 * CATCH_UP_AFTER_NS));
}

/// The JSON the agent writes names states, triggers and sources as its logs and metrics do.
#[cfg(feature = "serde")]
#[test]
fn serde_names_are_the_metric_names() {
    use super::TriggerKind;
    let json = |v: &dyn erased::Json| v.json();
    for s in State::ALL {
        assert_eq!(json(&s), format!("\"{}\"", s.name()));
    }
    for t in TriggerKind::ALL {
        assert_eq!(json(&t), format!("\"{}\"", t.name()));
    }
    for c in [CandidateSource::Kernel, CandidateSource::Supplicant, CandidateSource::Both] {
        assert_eq!(json(&c), format!("\"{}\"", c.name()));
    }
}

#[cfg(feature = "serde")]
mod erased {
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap()
        }
    }
}

#[test]
fn only_an_ap_that_stopped_answering_is_gone() {
    for gone in [Trigger::Silence, Trigger::NoAck, Trigger::BeaconLoss] {
        assert!(gone.ap_is_gone(), "{gone:?}");
    }
    for answering in
        [Trigger::Deauth { reason: 3 }, Trigger::Disassoc { reason: 8 }, Trigger::Signal]
    {
        assert!(!answering.ap_is_gone(), "{answering:?}");
    }
}
