//! A fast roam that fails after the AP went away goes on once as a full reconnection.

use super::*;

/// A station that lost AP1 (it stopped acknowledging) and roams to AP2 by reassociation.
fn fast_roam_under_way() -> Rig {
    let mut rig = Rig::new(wpa_supplicant());
    let order = roams(&rig.after(100 * MS, lost(rig.now)))[0];
    assert!(!order.reconnect && order.target.bssid == AP2);
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
    assert_eq!(order.trigger, Trigger::NoAck);
    assert!(ended(&out).is_none(), "still the same roam for the machine");

    assert!(rig.after(MS, Input::ActionFailed { generation: 1 }).is_empty(), "the first way's");
    let out = rig.after(100 * MS, Input::Connected { bssid: AP2 });
    assert_eq!(ended(&out), Some(RoamResult::Success));
    assert!(out.contains(&Command::PutBack { generation: 2 }), "the pin is undone");
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
