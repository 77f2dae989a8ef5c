//! The socket filter against the real verifier: real radiotap + 802.11 frames injected through a
//! TUN device reach it exactly as frames of a monitor interface would.

use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use integration_test::{in_netns, Tun};
use roam_common::{
    bss::NS_PER_TU,
    event::{Event, EventKind, EVENT_FLAG_FROM_AP},
    frame::{
        fixtures::{beacon_every, deauth, hwsim_radiotap, AP, STA},
        ies::ssid_hash,
    },
    maps::FilterConfig,
    MacAddr,
};
use roam_user::ebpf::events::EventReader;

const AP_B: MacAddr = MacAddr([0x02, 0x00, 0x00, 0x00, 0x01, 0x00]);
/// Short beacon intervals keep the test fast; the policy scales with the interval.
const INTERVAL_TU: u16 = 10;
const SILENCE_INTERVALS: u32 = 3;
const WAIT: Duration = Duration::from_secs(3);

fn next_of(events: &mut EventReader, kind: EventKind) -> Result<Event> {
    let deadline = Instant::now() + WAIT;
    while let Some(ev) = events.next_timeout(deadline.saturating_duration_since(Instant::now()))? {
        if ev.kind() == Some(kind) {
            return Ok(ev);
        }
    }
    anyhow::bail!("no {kind:?} event within {WAIT:?}")
}

#[test]
fn per_bss_table_and_events_from_real_frames() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon0")?;
        let mut observer = tun.observer()?;
        ensure!(observer.report().is_attached("roam_frames"), "{}", observer.report());
        let mut events = observer.take_events()?;
        observer.set_filter_config(&FilterConfig {
            assoc_bssid: AP,
            station: STA,
            silence_intervals: SILENCE_INTERVALS,
            ..Default::default()
        })?;

        let rt_a = hwsim_radiotap(2412, -40, 0);
        let rt_b = hwsim_radiotap(2412, -60, 0);
        let beacon_a = beacon_every(&rt_a, AP, b"roam-test", 1, INTERVAL_TU);
        let beacon_b = beacon_every(&rt_b, AP_B, b"roam-test", 1, INTERVAL_TU);

        // Both BSSes beacon: each is announced once, however many beacons follow.
        tun.inject(&beacon_a)?;
        tun.inject(&beacon_b)?;
        let first =
            [next_of(&mut events, EventKind::BssNew)?, next_of(&mut events, EventKind::BssNew)?];
        let mut announced: Vec<MacAddr> = first.iter().map(|e| e.bssid).collect();
        announced.sort();
        assert_eq!(announced, vec![AP, AP_B]);
        assert!(first
            .iter()
            .all(|e| e.ssid_hash == ssid_hash(b"roam-test") && e.value == INTERVAL_TU as u64));
        for _ in 0..4 {
            tun.inject(&beacon_a)?;
            tun.inject(&beacon_b)?;
        }

        // A falls silent; B keeps beaconing at its interval (real time must pass for silence).
        let silent_since = Instant::now();
        let silent = loop {
            tun.inject(&beacon_b)?;
            if let Some(ev) =
                events.next_timeout(Duration::from_nanos(INTERVAL_TU as u64 * NS_PER_TU))?
            {
                if ev.kind() == Some(EventKind::BssSilent) {
                    break ev;
                }
                anyhow::bail!("unexpected event while A is silent: {ev:?}");
            }
            ensure!(silent_since.elapsed() < WAIT, "no silence event within {WAIT:?}");
        };
        assert_eq!(silent.bssid, AP);
        let threshold_ns = SILENCE_INTERVALS as u64 * INTERVAL_TU as u64 * NS_PER_TU;
        assert!(
            silent.value > threshold_ns,
            "reported after {} ns, threshold {threshold_ns}",
            silent.value
        );

        // The AP kicks the station off: deauth, reason 7, seen as coming from the AP.
        tun.inject(&deauth(&rt_a, 12, 0, AP, STA, AP, 7))?;
        let kicked = next_of(&mut events, EventKind::Deauth)?;
        assert_eq!((kicked.bssid, kicked.addr1, kicked.reason), (AP, STA, 7));
        assert_ne!(kicked.flags & EVENT_FLAG_FROM_AP, 0);
        // A deauth between two other stations is none of roam's business.
        tun.inject(&deauth(&rt_b, 12, 0, AP_B, MacAddr([2, 0, 0, 0, 9, 9]), AP_B, 3))?;

        // A beacons again: reported as heard, once.
        tun.inject(&beacon_a)?;
        let back = next_of(&mut events, EventKind::BssHeard)?;
        assert_eq!(back.bssid, AP);
        tun.inject(&beacon_a)?;

        let table = observer.bss_table()?;
        let row =
            |bssid| table.iter().find(|(b, _)| *b == bssid).map(|(_, r)| *r).context("row missing");
        let (a, b) = (row(AP)?, row(AP_B)?);
        // A: 1 + 4 beacons, then 2 after the silence; the deauth it sent counts as a frame.
        assert_eq!((a.beacon_count, a.frame_count), (7, 8));
        assert!(b.beacon_count >= 6);
        assert_eq!((a.beacon_interval_tu, a.freq_mhz, a.signal_last_dbm), (INTERVAL_TU, 2412, -40));
        assert_eq!(b.signal_avg_x16 / 16, -60);
        assert_eq!(a.ssid_hash, ssid_hash(b"roam-test"));

        // Nothing else was queued: no event per beacon.
        let rest = events.drain();
        assert!(rest.is_empty(), "unexpected events: {rest:?}");
        let stats = observer.filter_stats()?;
        assert_eq!(stats.events_lost, 0);
        assert_eq!(stats.frames, stats.parsed(), "{stats:?}");
        Ok(())
    })
}

/// A beacon in the serving AP's name (anyone can send one) that claims a 1 TU interval must not
/// make its silence threshold 3 ms: the interval is taken once, from the first plausible
/// beacon, and the association's interval overrides it.
#[test]
fn a_forged_beacon_interval_does_not_shorten_the_silence_threshold() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon2")?;
        let mut observer = tun.observer()?;
        let mut events = observer.take_events()?;
        let rt = hwsim_radiotap(2412, -40, 0);
        let threshold_ns = SILENCE_INTERVALS as u64 * INTERVAL_TU as u64 * NS_PER_TU;
        for assoc_beacon_interval_tu in [0, INTERVAL_TU as u32] {
            observer.set_filter_config(&FilterConfig {
                assoc_bssid: AP,
                station: STA,
                silence_intervals: SILENCE_INTERVALS,
                assoc_beacon_interval_tu,
                ..Default::default()
            })?;
            tun.inject(&beacon_every(&rt, AP, b"roam-test", 1, INTERVAL_TU))?;
            tun.inject(&beacon_every(&rt, AP, b"roam-test", 1, 1))?;
            let silent_since = Instant::now();
            // Other frames tick the clock every millisecond while the AP is silent.
            let silent = loop {
                tun.inject(&beacon_every(&rt, AP_B, b"roam-test", 1, INTERVAL_TU))?;
                if let Some(ev) = events.next_timeout(Duration::from_millis(1))? {
                    if ev.kind() == Some(EventKind::BssSilent) {
                        break ev;
                    }
                }
                ensure!(silent_since.elapsed() < WAIT, "no silence event within {WAIT:?}");
            };
            ensure!(
                silent.value > threshold_ns,
                "assoc interval {assoc_beacon_interval_tu}: silent after {} ns, before the \
                 threshold of {threshold_ns} ns",
                silent.value
            );
        }
        Ok(())
    })
}

#[test]
fn short_and_malformed_frames_are_counted_not_read_past() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon1")?;
        let mut observer = tun.observer()?;
        let mut events = observer.take_events()?;
        let frame = beacon_every(&hwsim_radiotap(2412, -40, 0), AP, b"roam-test", 1, 100);
        // Every prefix of a real beacon (TUN refuses empty writes), then garbage radiotap.
        for n in 1..frame.len() {
            tun.inject(&frame[..n])?;
        }
        let mut bad_version = frame.clone();
        bad_version[0] = 7;
        tun.inject(&bad_version)?;
        let mut endless_presence = vec![0u8, 0, 255, 0];
        endless_presence.extend(std::iter::repeat_n(0xffu8, 300));
        tun.inject(&endless_presence)?;
        // Only a prefix holding the beacon's fixed fields announces the BSS, and only once.
        let announced = events.next_timeout(WAIT)?.context("no event for the long prefixes")?;
        assert_eq!((announced.kind(), announced.bssid), (Some(EventKind::BssNew), AP));
        // The filter is unharmed: a complete beacon of another BSS is announced next.
        tun.inject(&beacon_every(&hwsim_radiotap(2412, -40, 0), AP_B, b"roam-test", 1, 100))?;
        let next = events.next_timeout(WAIT)?.context("no event for the complete beacon")?;
        assert_eq!((next.kind(), next.bssid), (Some(EventKind::BssNew), AP_B));
        assert!(events.drain().is_empty());

        let stats = observer.filter_stats()?;
        let injected = frame.len() as u64 - 1 + 2 + 1;
        assert_eq!(stats.frames, injected);
        // Every prefix shorter than radiotap + header + fixed fields is malformed, as is the
        // garbage; every longer prefix parses (its elements are optional).
        let must_fail = (26 + 24 + 12 - 1) + 2;
        assert_eq!((stats.malformed, stats.ignored), (must_fail, 0), "{stats:?}");
        Ok(())
    })
}

/// The kernel verifies a program in at most one million instructions (the paths it explores,
/// loops unrolled); the frame filter, by far the largest of roam's, must stay far below that,
/// or a kernel whose verifier explores a little more refuses it, and the agent's start waits on
/// it (714 k took 3.5 s here; 81 k since the element walk's bounds go through map memory).
const VERIFIED_INSTRUCTIONS_MAX: u32 = 200_000;

#[test]
fn the_frame_filter_keeps_a_margin_under_the_verifiers_budget() -> Result<()> {
    in_netns(|| {
        let tun = Tun::create("roammon0")?;
        let observer = tun.observer()?;
        ensure!(observer.report().is_attached("roam_frames"), "{}", observer.report());
        let verified = aya::programs::loaded_programs()
            .filter_map(Result::ok)
            .find(|program| program.name_as_str() == Some("roam_frames"))
            .context("roam_frames is attached but not among the loaded programs")?
            .verified_instruction_count()
            .context("this kernel does not report verified instructions (5.16 and later do)")?;
        eprintln!("roam_frames: {verified} instructions verified");
        ensure!(
            verified <= VERIFIED_INSTRUCTIONS_MAX,
            "roam_frames took {verified} verified instructions, more than {VERIFIED_INSTRUCTIONS_MAX}: the parser alone takes about 7 k, so look at what follows it in frames.rs, which the verifier explores once per way the parser can end (see roam_common::maps::Opaque)"
        );
        Ok(())
    })
}

/// The filter on `tun`, for a station of the network "roam-test" associated with AP.
fn watching_the_network(tun: &Tun) -> Result<(roam_user::ebpf::Observer, EventReader)> {
    let mut observer = tun.observer()?;
    let events = observer.take_events()?;
    observer.set_filter_config(&FilterConfig {
        assoc_bssid: AP,
        station: STA,
        silence_intervals: SILENCE_INTERVALS,
        own_ssid_hash: ssid_hash(b"roam-test"),
        ..Default::default()
    })?;
    Ok((observer, events))
}

/// Beacons of every other network around (or a flood of invented BSSes) are counted in the
/// table but wake the agent only for BSSes of the station's own network.
#[test]
fn only_bsses_of_the_stations_network_are_announced() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon4")?;
        let (observer, mut events) = watching_the_network(&tun)?;
        let rt = hwsim_radiotap(2412, -50, 0);
        for i in 0..16u8 {
            tun.inject(&beacon_every(&rt, MacAddr([2, 0, 0, 9, i, 0]), b"elsewhere", 1, 100))?;
        }
        tun.inject(&beacon_every(&rt, AP_B, b"roam-test", 1, 100))?;
        let new = next_of(&mut events, EventKind::BssNew)?;
        assert_eq!(new.bssid, AP_B, "the first BSS announced is the network's own");
        let rest = events.drain();
        assert!(rest.is_empty(), "other networks' BSSes were announced: {rest:?}");
        let table = observer.bss_table()?;
        let others = table.iter().filter(|(_, row)| row.ssid_hash == ssid_hash(b"elsewhere"));
        let evicted = observer.filter_stats()?.evictions;
        assert_eq!(others.count() as u64 + evicted, 16, "the others have their rows all the same");
        Ok(())
    })
}

/// A flood of invented BSSes of the station's own SSID wakes the agent a bounded number of
/// times a second; the rest are counted for it to read from the table.
#[test]
fn a_flood_of_the_networks_own_bsses_is_announced_within_the_wake_budget() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon5")?;
        let (observer, mut events) = watching_the_network(&tun)?;
        let rt = hwsim_radiotap(2412, -50, 0);
        for i in 0..100u8 {
            tun.inject(&beacon_every(&rt, MacAddr([6, 0, 0, 7, i, 0]), b"roam-test", 1, 100))?;
        }
        // Every frame is in once the statistics count them all.
        let deadline = Instant::now() + WAIT;
        while observer.filter_stats()?.frames < 100 {
            ensure!(Instant::now() < deadline, "the filter saw {:?}", observer.filter_stats()?);
            std::thread::sleep(Duration::from_millis(5));
        }
        let announced =
            events.drain().iter().filter(|e| e.kind() == Some(EventKind::BssNew)).count() as u64;
        let stats = observer.filter_stats()?;
        let budget = u64::from(roam_common::bss::NEW_BSS_WAKES_PER_SECOND);
        // The coarse clock may turn a second during the burst: two budgets at most.
        assert!((budget..=2 * budget).contains(&announced), "{announced} announced");
        assert_eq!(announced + stats.new_bss_unannounced, 100, "{stats:?}");
        Ok(())
    })
}

/// The serving AP's smoothed signal falling below the agent's watch level wakes it once, with
/// the level; another BSS's weak beacons and the serving AP's strong ones do not.
#[test]
fn a_fading_serving_ap_is_reported_weak_once() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon5")?;
        let mut observer = tun.observer()?;
        let mut events = observer.take_events()?;
        observer.set_filter_config(&FilterConfig {
            assoc_bssid: AP,
            station: STA,
            silence_intervals: SILENCE_INTERVALS,
            weak_signal_x16: -64 * 16,
            ..Default::default()
        })?;
        let beacon = |bssid, dbm| {
            beacon_every(&hwsim_radiotap(2412, dbm, 0), bssid, b"roam-test", 1, INTERVAL_TU)
        };
        for _ in 0..20 {
            tun.inject(&beacon(AP, -50))?;
            tun.inject(&beacon(AP_B, -85))?;
        }
        // Fading: the average (weight 1/8 per frame) crosses -64 dBm within a few frames.
        for _ in 0..40 {
            tun.inject(&beacon(AP, -80))?;
        }
        let weak = next_of(&mut events, EventKind::SignalWeak)?;
        ensure!(weak.bssid == AP, "weak event for {}", weak.bssid);
        let level_x16 = weak.value as i64 as i32;
        ensure!((-66 * 16..-64 * 16).contains(&level_x16), "reported at {} dBm x16", level_x16);
        ensure!(
            next_of(&mut events, EventKind::SignalWeak).is_err(),
            "a second report within the same weak spell"
        );
        Ok(())
    })
}
