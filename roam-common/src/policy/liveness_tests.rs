//! The liveness rule on a simulated clock.

use super::liveness::{AckReports, Liveness, LivenessConfig, Verdict};

const MS: u64 = 1_000_000;
const T0: u64 = 10_000 * MS;

fn watching() -> Liveness {
    let mut l = Liveness::new(LivenessConfig::default());
    l.associated(T0);
    l
}

/// Sends the probe due at `now` and returns its id (the probe must be due).
fn send(l: &mut Liveness, now: u64) -> u64 {
    assert!(l.probe_due(now), "a probe is due at {now}: next wakeup {:?}", l.next_wakeup_ns());
    l.probe_sent(now)
}

/// `n` probes in a row, each reported not acknowledged 4 ms after it went, each sent when due.
fn fail(l: &mut Liveness, mut now: u64, n: u32) -> (u64, Verdict) {
    let mut verdict = l.verdict();
    for _ in 0..n {
        now = l.next_wakeup_ns().expect("a probe is planned").max(now);
        let id = send(l, now);
        now += 4 * MS;
        verdict = l.report(id, false, now);
    }
    (now, verdict)
}

#[test]
fn an_ap_that_stops_acknowledging_is_lost_after_three_failures_in_a_row() {
    let mut l = watching();
    // Idle, nothing heard: the first probe goes one interval after the association.
    assert!(!l.probe_due(T0 + 149 * MS));
    let id = send(&mut l, T0 + 150 * MS);
    assert_eq!(l.report(id, true, T0 + 154 * MS), Verdict::Alive);
    let (at, verdict) = fail(&mut l, T0 + 154 * MS, 2);
    assert_eq!(verdict, Verdict::Doubt { failures: 2 });
    // Failures are retried fast: 10 ms apart, not an interval.
    assert!(at < T0 + 154 * MS + 150 * MS + 30 * MS, "{at}");
    let (_, verdict) = fail(&mut l, at, 1);
    assert_eq!(verdict, Verdict::Lost { last_alive_ns: T0 + 154 * MS });
    assert_eq!(l.next_wakeup_ns(), None, "a lost AP is not asked again");
}

#[test]
fn a_dropped_probe_proves_nothing() {
    let mut l = watching();
    let id = send(&mut l, T0 + 150 * MS);
    // No report within the timeout: the stack dropped it.
    l.tick(T0 + 649 * MS);
    assert!(!l.probe_due(T0 + 649 * MS), "still waiting for the report");
    l.tick(T0 + 650 * MS);
    assert_eq!(l.verdict(), Verdict::Alive);
    // Its report, should it come after all, is too late to count.
    assert_eq!(l.report(id, false, T0 + 700 * MS), Verdict::Alive);
    // Asked again at the ordinary pace, not the retry pace.
    assert_eq!(l.next_wakeup_ns(), Some(T0 + 800 * MS));
    // Two failures around a dropped probe are still two, not three.
    let (at, _) = fail(&mut l, T0 + 800 * MS, 2);
    let next = l.next_wakeup_ns().unwrap();
    send(&mut l, next);
    l.tick(at + 600 * MS);
    assert_eq!(l.verdict(), Verdict::Doubt { failures: 2 });
}

#[test]
fn acknowledgements_resuming_after_two_failures_clear_the_doubt() {
    let mut l = watching();
    let (at, verdict) = fail(&mut l, T0, 2);
    assert_eq!(verdict, Verdict::Doubt { failures: 2 });
    let next = l.next_wakeup_ns().unwrap().max(at);
    let id = send(&mut l, next);
    assert_eq!(l.report(id, true, at + 20 * MS), Verdict::Alive);
    // The count starts again from zero: two more failures are not a loss.
    let (_, verdict) = fail(&mut l, at + 20 * MS, 2);
    assert_eq!(verdict, Verdict::Doubt { failures: 2 });
}

#[test]
fn failures_while_scanning_prove_nothing() {
    let mut l = watching();
    let (at, _) = fail(&mut l, T0, 2);
    // A scan takes the station off its channel for a while.
    l.away(at, at + 2_000 * MS);
    assert_eq!(l.verdict(), Verdict::Alive, "the failures before the scan are forgotten");
    assert!(!l.probe_due(at + 1_000 * MS), "nothing is asked while away");
    // A probe sent just before the scan and failed during it does not count either.
    let mut l = watching();
    let id = send(&mut l, T0 + 150 * MS);
    l.away(T0 + 151 * MS, T0 + 900 * MS);
    assert_eq!(l.report(id, false, T0 + 160 * MS), Verdict::Alive);
    // Back on the channel early (the scan ended): asking resumes at once.
    l.back(T0 + 500 * MS);
    assert!(l.probe_due(T0 + 500 * MS));
    let (_, verdict) = fail(&mut l, T0 + 500 * MS, 3);
    assert_eq!(verdict, Verdict::Lost { last_alive_ns: T0 });
}

#[test]
fn an_ap_whose_beacons_stop_while_it_acknowledges_stays_alive() {
    // The monitor's silence (a beacon-filtering driver) is only a hint: roam asks, the AP
    // answers, and it stays alive however long its beacons are not heard.
    let mut l = watching();
    let mut now = T0;
    for _ in 0..100 {
        l.suspect(now);
        let id = send(&mut l, now);
        assert_eq!(l.report(id, true, now + 3 * MS), Verdict::Alive);
        now += 300 * MS;
    }
    assert_eq!(l.last_alive_ns(), now - 300 * MS + 3 * MS);
}

#[test]
fn frames_from_the_ap_keep_it_alive_without_probes() {
    let mut l = watching();
    // Traffic from the AP every 10 ms: no probe is ever due.
    for k in 1..1_000u64 {
        let now = T0 + k * 10 * MS;
        l.heard(now);
        assert!(!l.probe_due(now), "no probe while frames keep arriving ({k})");
    }
    let last = T0 + 999 * 10 * MS;
    // The frames stop: one interval later roam asks.
    assert!(!l.probe_due(last + 149 * MS));
    assert!(l.probe_due(last + 150 * MS));
}

#[test]
fn a_frame_heard_after_the_first_failure_clears_the_doubt_and_one_before_does_not() {
    let mut l = watching();
    let (at, _) = fail(&mut l, T0, 2);
    // Heard before the failures began (a late reading of an old frame): no news.
    l.heard(T0 + 100 * MS);
    assert_eq!(l.verdict(), Verdict::Doubt { failures: 2 });
    // Heard after: the AP is there.
    l.heard(at);
    assert_eq!(l.verdict(), Verdict::Alive);
    // A lost AP heard again is alive again (the agent then calls it a false alarm).
    let mut l = watching();
    let (at, verdict) = fail(&mut l, T0, 3);
    assert!(matches!(verdict, Verdict::Lost { .. }));
    l.heard(at + MS);
    assert_eq!(l.verdict(), Verdict::Alive);
}

#[test]
fn a_hint_is_not_undone_by_news_older_than_it() {
    let mut l = watching();
    // Traffic from the AP until 20 ms; then the station sends into silence for 40 ms.
    l.heard(T0 + 20 * MS);
    l.suspect(T0 + 60 * MS);
    // The kernel's last frame, read after the hint, is the one from before it: still ask.
    l.heard(T0 + 20 * MS + 1);
    assert!(l.probe_due(T0 + 60 * MS));
    // A frame from after the hint answers it: no probe needed.
    l.heard(T0 + 61 * MS);
    assert!(!l.probe_due(T0 + 61 * MS));
}

#[test]
fn a_hint_asks_at_once() {
    let mut l = watching();
    assert!(!l.probe_due(T0 + 20 * MS));
    l.suspect(T0 + 20 * MS);
    assert!(l.probe_due(T0 + 20 * MS));
    let id = send(&mut l, T0 + 20 * MS);
    // A second hint while a probe is out changes nothing.
    l.suspect(T0 + 21 * MS);
    assert!(!l.probe_due(T0 + 21 * MS));
    assert_eq!(l.report(id, true, T0 + 24 * MS), Verdict::Alive);
    assert_eq!(l.next_wakeup_ns(), Some(T0 + 174 * MS));
}

#[test]
fn a_driver_without_ack_reports_is_not_asked_for_ever() {
    let mut l = watching();
    let mut now = T0;
    for _ in 0..10 {
        now = l.next_wakeup_ns().unwrap();
        send(&mut l, now);
        now += 500 * MS;
        l.tick(now);
    }
    assert_eq!(l.ack_reports(), AckReports::Missing);
    assert_eq!(l.next_wakeup_ns(), None);
    assert!(!l.probe_due(now + 10_000 * MS));
    assert_eq!(l.verdict(), Verdict::Alive, "no report is no evidence: never lost");

    // A driver that did report once is not given up on when reports stop for a while.
    let mut l = watching();
    let id = send(&mut l, T0 + 150 * MS);
    l.report(id, true, T0 + 151 * MS);
    for _ in 0..20 {
        let now = l.next_wakeup_ns().unwrap();
        send(&mut l, now);
        l.tick(now + 500 * MS);
    }
    assert_eq!(l.ack_reports(), AckReports::Reported);
    assert!(l.next_wakeup_ns().is_some());
}

#[test]
fn leaving_the_ap_stops_the_watch_and_a_new_association_starts_afresh() {
    let mut l = watching();
    let (at, _) = fail(&mut l, T0, 2);
    l.disassociated();
    assert_eq!(l.verdict(), Verdict::Idle);
    assert_eq!(l.next_wakeup_ns(), None);
    l.heard(at);
    assert_eq!(l.verdict(), Verdict::Idle);
    l.associated(at + 100 * MS);
    assert_eq!(l.verdict(), Verdict::Alive);
    let (_, verdict) = fail(&mut l, at + 100 * MS, 2);
    assert_eq!(verdict, Verdict::Doubt { failures: 2 }, "the old failures do not count");
}

/// Traffic both ways: the kernel wakes the agent when the station sends into silence, so the
/// agent looks again only after the busy interval, and a hint still brings the probe at once.
/// A station that only receives keeps the probe interval.
#[test]
fn a_link_busy_both_ways_is_looked_at_less_often_and_a_hint_still_asks_at_once() {
    let mut l = watching();
    let first = T0 + 10 * MS;
    l.traffic(first - 5 * MS, first - 2 * MS, first);
    assert_eq!(l.next_wakeup_ns(), Some(first - 5 * MS + 150 * MS), "one look is no busy link");
    let now = T0 + 140 * MS;
    l.traffic(now - 5 * MS, now - 2 * MS, now);
    assert_eq!(l.next_wakeup_ns(), Some(now - 5 * MS + 1_000 * MS));
    assert!(!l.probe_due(now + 500 * MS));
    // The station sends into silence: the kernel's hint.
    let hint = now + 300 * MS;
    l.suspect(hint);
    assert!(l.probe_due(hint), "a hint asks at once");
    // While the hint waits, traffic news from before it changes nothing.
    l.traffic(now, now, hint);
    assert!(l.probe_due(hint));

    let mut l = watching();
    l.traffic(now - 5 * MS, T0 - 1_000 * MS, now);
    assert_eq!(l.next_wakeup_ns(), Some(now - 5 * MS + 150 * MS), "receiving only");
}

/// A station that sends once a second (a ping, a keep-alive) has just sent at some looks: its
/// next packet is up to a second away, so it is no busy link and the probe interval holds.
#[test]
fn a_station_that_sends_once_a_second_keeps_the_probe_interval() {
    let mut l = watching();
    let mut look = T0 + 150 * MS;
    let mut sent = T0;
    for _ in 0..20 {
        if look >= sent + 1_000 * MS {
            sent += 1_000 * MS;
        }
        // Its packet and the answer, just before this look when one was due.
        l.traffic((sent + 2 * MS).min(look), sent, look);
        let next = l.next_wakeup_ns().expect("watching");
        // A probe interval, maybe from a report just after the look; never the busy interval.
        assert!(next <= look + 200 * MS, "looked at again {} ms later", (next - look) / MS);
        look = next.max(look + MS);
        // Nobody answers or is asked here: a probe due counts as sent and acknowledged.
        if l.probe_due(look) {
            let id = l.probe_sent(look);
            l.report(id, true, look + MS);
        }
    }
}
