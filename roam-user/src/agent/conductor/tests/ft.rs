//! 802.11r after the AP went away: the fast transition first, a full reconnection where it
//! fails.

use super::*;

/// A station that lost AP1 (it stopped acknowledging) and roams to AP2 by reassociation.
fn fast_roam_under_way() -> Rig {
    let mut rig = Rig::new(wpa_supplicant());
    let order = roams(&rig.after(100 * MS, lost(rig.now)))[0];
    assert!(!order.reconnect && order.target.bssid == AP2);
    assert!(!order.fallback, "a roam of its own");
    rig
}

fn authenticating(bssid: MacAddr) -> Input {
    Input::Connecting { step: TransitionStep::Auth, bssid: Some(bssid) }
}

/// As seen with FT-SAE in the VM: the target waits for keys from the dead AP and never
/// answers; wpa_supplicant gives up and authenticates with the next BSS it knows.
#[test]
fn the_manager_leaving_the_target_turns_the_roam_into_a_reconnection() {
    let mut rig = fast_roam_under_way();
    assert!(rig.after(5 * MS, authenticating(AP2)).iter().all(|c| !matches!(c, Command::Roam(_))));
    let out = rig.after(430 * MS, authenticating(AP1));
    let order = roams(&out)[0];
    assert_eq!((order.target.bssid, order.generation), (AP2, 2));
    assert!(order.reconnect, "a full reconnection from a disconnected station");
    assert!(order.scan_first, "with the target in wpa_supplicant's last scan results");
    assert!(order.leave_first, "wpa_supplicant's own attempt at the dead AP is ended");
    assert!(order.fallback, "the same roam, which the cap counted once");
    assert_eq!(order.trigger, Trigger::NoAck);
    assert!(ended(&out).is_none(), "still the same roam for the machine");

    assert!(rig.after(MS, Input::ActionFailed { generation: 1 }).is_empty(), "the first way's");
    let out = rig.after(100 * MS, Input::Connected { bssid: AP2 });
    assert_eq!(ended(&out), Some(RoamResult::Success));
    assert!(out.contains(&Command::PutBack { generation: 2 }), "the pin is undone");
}

/// The target tried and no word of it (its authentication timed out): wpa_supplicant scans,
/// and the roam goes on as the reconnection, whose own scan of the target's channel is no
/// failure.
#[test]
fn a_scan_after_the_target_was_tried_falls_back_and_the_fallbacks_scan_goes_on() {
    let mut rig = fast_roam_under_way();
    assert!(roams(&rig.after(5 * MS, Input::Scanning)).is_empty(), "before the target was tried");
    rig.after(5 * MS, authenticating(AP2));
    let order = roams(&rig.after(100 * MS, Input::Scanning))[0];
    assert!(order.reconnect && order.scan_first && order.generation == 2);
    let out = rig.after(MS, Input::Scanning);
    assert!(out.is_empty(), "the reconnection's own scan: {out:?}");
    let out = rig.after(100 * MS, Input::Connected { bssid: AP2 });
    assert_eq!(ended(&out), Some(RoamResult::Success));
}

/// Once: a reconnection refused too ends the roam as a failure.
#[test]
fn a_refused_fast_roam_falls_back_once() {
    let mut rig = fast_roam_under_way();
    let out = rig.after(50 * MS, Input::ConnectFailed { bssid: Some(AP2) });
    assert!(roams(&out)[0].reconnect);
    let out = rig.after(50 * MS, Input::ConnectFailed { bssid: Some(AP2) });
    assert!(roams(&out).is_empty());
    assert_eq!(ended(&out), Some(RoamResult::Failure));
    assert!(out.contains(&Command::PutBack { generation: 2 }));
}

/// No answer and no word from the manager: at the deadline, the reconnection, with its own.
#[test]
fn a_fast_roam_at_its_deadline_falls_back_with_a_deadline_of_its_own() {
    let mut rig = fast_roam_under_way();
    let started = rig.now;
    let out = rig.until_deadline();
    assert_eq!(rig.now - started, ROAM_TIMEOUT);
    assert!(roams(&out)[0].reconnect && ended(&out).is_none());
    let fell_back = rig.now;
    let out = rig.until_deadline();
    assert_eq!(rig.now - fell_back, ROAM_TIMEOUT);
    assert_eq!(ended(&out), Some(RoamResult::Timeout));
}

/// A refusal by another BSS is not the target's; a deauthentication's roam is a reconnection
/// already; a fading signal's roam leaves a live AP, which keeps the station if it fails.
#[test]
fn only_a_fast_roam_from_a_gone_ap_falls_back() {
    let mut rig = fast_roam_under_way();
    assert!(roams(&rig.after(50 * MS, Input::ConnectFailed { bssid: Some(OTHER) })).is_empty());

    let mut rig = Rig::new(wpa_supplicant());
    rig.after(100 * MS, deauth_frame(3));
    assert!(roams(&rig.after(MS, disconnected_by_ap(3)))[0].reconnect);
    let out = rig.after(50 * MS, Input::ConnectFailed { bssid: Some(AP2) });
    assert!(roams(&out).is_empty() && ended(&out) == Some(RoamResult::Failure));
}

/// FT-SAE or FT-EAP, the AP of the station's full authentication (the key holder) goes away:
/// the target has the keys if that AP pushed them at the join, or if it still answers on the
/// wire, so the fast transition is tried; its fallback is the full reconnection.
#[test]
fn after_the_key_holder_went_away_the_fast_transition_is_tried_first() {
    let mut rig = Rig::new(wpa_supplicant());
    let order = roams(&rig.after(100 * MS, lost(rig.now)))[0];
    assert!(!order.reconnect && !order.leave_first, "{order:?}");
    assert_eq!(order.target.bssid, AP2);
    // The target never answers (no keys): wpa_supplicant moves on to the dead AP.
    rig.after(5 * MS, authenticating(AP2));
    let order = roams(&rig.after(430 * MS, authenticating(AP1)))[0];
    assert!(order.reconnect && order.leave_first && order.fallback, "{order:?}");
}
