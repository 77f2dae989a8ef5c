//! A held loss tried again where nobody else reconnects (bare nl80211).

use super::*;

/// Where nobody else reconnects and nowhere is known: a scan of every channel, then again
/// after a wait that doubles; the lost AP heard again is tried at once.
#[test]
fn with_nowhere_to_go_nl80211_scans_and_waits_longer_each_time() {
    let mut rig = Rig::new(nl80211());
    rig.world.candidates.clear();
    let out = rig.after(100 * MS, lost(rig.now));
    assert_eq!(held(&out), Some(Hold::NoCandidate));
    let held_at = rig.now;
    let out = rig.until_deadline();
    assert_eq!(rig.now - held_at, 2 * S);
    assert_eq!(out.first(), Some(&Command::Scan(ScanScope::LostChannel)), "where it rebooted");
    assert_eq!(held(&out), Some(Hold::NoCandidate));
    let retried_at = rig.now;
    let out = rig.until_deadline();
    assert_eq!(rig.now - retried_at, 4 * S, "the wait doubles");
    assert_eq!(out.first(), Some(&Command::Scan(ScanScope::Every)), "then anywhere");
    let out = rig.until_deadline();
    assert_eq!(out.first(), Some(&Command::Scan(ScanScope::LostChannel)), "in turn");

    // The lost AP beacons again (it rebooted): it is a candidate now, tried at once.
    rig.world.candidates = vec![Candidate { heard_age_ms: Some(1), ..candidate(AP1, Some(10)) }];
    let out = rig.after(500 * MS, Input::BssHeard { bssid: AP1 });
    let order = roams(&out)[0];
    assert_eq!(order.target.bssid, AP1);
    assert!(!order.scan_first, "cfg80211's entry is fresh");
}

/// A scan that finds somewhere to go ends a held loss's wait at once (nl80211 reads the table
/// whole after each scan).
#[test]
fn a_scan_that_finds_a_candidate_ends_the_wait() {
    let mut rig = Rig::new(nl80211());
    rig.world.candidates.clear();
    assert_eq!(held(&rig.after(100 * MS, lost(rig.now))), Some(Hold::NoCandidate));
    rig.world.candidates = vec![candidate(AP2, Some(SCAN_AGE_OLD))];
    let order = roams(&rig.after(800 * MS, Input::ScanDone))[0];
    assert!(order.scan_first, "cfg80211's entry is about to expire: scan its channel first");
}

/// Found by the suite (open-single-ap-reboot, roam-nl80211): the AP ended the association,
/// nowhere was known, and the scan roam then asked for moved the machine to SCAN, where
/// neither the scan's results nor the retry timer reached the held loss: never reconnected.
#[test]
fn a_held_loss_survives_the_scan_it_asked_for() {
    let mut rig = Rig::new(nl80211());
    rig.world.candidates.clear();
    rig.after(100 * MS, deauth_frame(3));
    assert_eq!(held(&rig.after(4 * MS, disconnected_by_ap(3))), Some(Hold::NoCandidate));
    assert!(matches!(rig.until_deadline().first(), Some(Command::Scan(_))));
    rig.after(10 * MS, Input::Scanning);
    assert_eq!(rig.core.machine().state(), State::Scan);

    // The scan finds nothing yet: the timer still stands and tries again.
    assert!(roams(&rig.after(3 * S, Input::ScanDone)).is_empty());
    assert!(matches!(rig.until_deadline().first(), Some(Command::Scan(_))), "retried in SCAN");
    rig.after(10 * MS, Input::Scanning);

    // The AP is back from its reboot and the next scan sees it.
    rig.world.candidates = vec![candidate(AP1, Some(10))];
    let order = roams(&rig.after(3 * S, Input::ScanDone))[0];
    assert_eq!(order.target.bssid, AP1);
}
