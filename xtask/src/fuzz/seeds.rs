//! The fuzzer's seeds from the VM testbed: one boot of the scenarios that exercise every
//! parser (beacons, probe responses, authentication, association, deauthentication,
//! disassociation; the supplicant's events around them), recorded, then cut into one file per
//! distinct input under tests/fuzz/seeds/<target>.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use anyhow::{bail, Context as _, Result};
use roam_common::frame::{ies::fnv1a, Bytes};
use roam_testbed::stack::Stack;

use crate::{
    build,
    cmd::{note, step},
    vm,
};

/// Scenarios whose air holds every frame kind roam parses.
const SCENARIOS: &[&str] = &["silent-ap-loss", "ap-deauth", "ap-disassoc", "deliberate-roam"];
/// Frames kept per (type/subtype, length) class: beacons differ in little but their timestamp.
const FRAMES_PER_CLASS: usize = 2;
/// pcap's link type for radiotap-headed 802.11 (DLT_IEEE802_11_RADIO).
const LINKTYPE_RADIOTAP: u32 = 127;

pub fn capture(seeds_dir: &Path) -> Result<()> {
    step("Recording the VM testbed's air and supplicant events for the fuzzer's seeds");
    let selection = vm::scenarios::Selection {
        scenarios: SCENARIOS.iter().map(|name| vm::scenarios::load(name)).collect::<Result<_>>()?,
        stacks: vec![Stack::WpaSupplicant],
        channels: None,
        repeats: 1,
        probe_interval_ms: vm::DEFAULT_PROBE_INTERVAL_MS,
    };
    let mut plan = vm::scenarios::plan(&selection)?;
    plan.capture_frames = true;
    let roam = build::build(true)?;
    let spec = vm::ImageSpec { roam: Some(roam), ..vm::ImageSpec::default() };
    let options = vm::RunOptions { no_summary: true, ..vm::RunOptions::default() };
    let outcome = vm::run_plan(&spec, &plan, &options)?;
    if !outcome.failures.is_empty() {
        let failures: Vec<String> = outcome.failures.iter().map(ToString::to_string).collect();
        bail!("the recording session failed: {}", failures.join("; "));
    }

    let mut frames = Vec::new();
    let mut events = BTreeSet::new();
    for entry in fs::read_dir(outcome.session.dir.join("runs"))? {
        let run = entry?.path();
        if let Ok(pcap) = fs::read(run.join("frames.pcap")) {
            frames.extend(pcap_frames(&pcap).with_context(|| format!("in {}", run.display()))?);
        }
        if let Ok(log) = fs::read_to_string(run.join("wpa_supplicant.log")) {
            events.extend(log.lines().filter_map(control_event));
        }
    }
    let frames = distinct_frames(frames);
    let nl80211: Vec<Vec<u8>> = frames.iter().filter_map(|f| nl80211_event(f)).collect();
    write_seeds(&seeds_dir.join("frame"), frames.iter().map(Vec::as_slice))?;
    write_seeds(&seeds_dir.join("wpa_event"), events.iter().map(|e| e.as_bytes()))?;
    write_seeds(&seeds_dir.join("netlink_event"), nl80211.iter().map(Vec::as_slice))?;
    note(format!(
        "{} frames, {} supplicant events and {} nl80211 events from session {}",
        frames.len(),
        events.len(),
        nl80211.len(),
        outcome.session.dir.display()
    ));
    Ok(())
}

/// The packets of a pcap file (microsecond or nanosecond, little-endian, radiotap). Pure.
pub fn pcap_frames(pcap: &[u8]) -> Result<Vec<Vec<u8>>> {
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(pcap.get(at..at + 4)?.try_into().ok()?))
    };
    match u32_at(0) {
        Some(0xa1b2_c3d4 | 0xa1b2_3c4d) => {}
        _ => bail!("not a little-endian pcap file"),
    }
    if u32_at(20) != Some(LINKTYPE_RADIOTAP) {
        bail!("link type {:?}, not radiotap ({LINKTYPE_RADIOTAP})", u32_at(20));
    }
    let mut frames = Vec::new();
    let mut at = 24;
    while at < pcap.len() {
        let captured = u32_at(at + 8).context("a truncated record header")? as usize;
        let data = pcap.get(at + 16..at + 16 + captured).context("a truncated record")?;
        frames.push(data.to_vec());
        at += 16 + captured;
    }
    Ok(frames)
}

/// A few frames of each (802.11 type/subtype, length) class, in order of appearance. Pure.
pub fn distinct_frames(frames: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut per_class: BTreeMap<(u8, usize), usize> = BTreeMap::new();
    let mut kept = Vec::new();
    for frame in frames {
        let frame_control = without_radiotap(&frame).and_then(|f| f.first().copied());
        let class = (frame_control.unwrap_or(0), frame.len());
        let seen = per_class.entry(class).or_default();
        if *seen < FRAMES_PER_CLASS && !kept.contains(&frame) {
            *seen += 1;
            kept.push(frame);
        }
    }
    kept
}

/// The nl80211 event cfg80211 sends for a management frame the station received (the
/// netlink_event target's input: the command byte, then the attributes), for the frames that
/// make one: authentication, association responses, deauthentication, disassociation. Pure.
pub fn nl80211_event(radiotap_frame: &[u8]) -> Option<Vec<u8>> {
    const AUTHENTICATE: u8 = 37;
    const ASSOCIATE: u8 = 38;
    const DEAUTHENTICATE: u8 = 39;
    const DISASSOCIATE: u8 = 40;
    const ATTR_WIPHY: u16 = 1;
    const ATTR_IFINDEX: u16 = 3;
    const ATTR_FRAME: u16 = 51;
    let frame = without_radiotap(radiotap_frame)?;
    let command = match frame.first()? {
        0xb0 => AUTHENTICATE,
        0x10 | 0x30 => ASSOCIATE,
        0xc0 => DEAUTHENTICATE,
        0xa0 => DISASSOCIATE,
        _ => return None,
    };
    let mut event = vec![command];
    for (kind, value) in [
        (ATTR_WIPHY, &1u32.to_le_bytes()[..]),
        (ATTR_IFINDEX, &4u32.to_le_bytes()),
        (ATTR_FRAME, frame),
    ] {
        let length = 4 + value.len();
        event.extend((length as u16).to_le_bytes());
        event.extend(kind.to_le_bytes());
        event.extend(value);
        event.resize(event.len() + (length.next_multiple_of(4) - length), 0);
    }
    Some(event)
}

/// `<3>CTRL-EVENT-...` as the control socket delivers it, from a line of wpa_supplicant's
/// debug log (`1795291217.524818: sta0: CTRL-EVENT-CONNECTED - ...`). Pure.
pub fn control_event(line: &str) -> Option<String> {
    let at = line.find("CTRL-EVENT-")?;
    Some(format!("<3>{}", &line[at..]))
}

/// One file per seed, named by its content's hash (re-recording adds, never duplicates).
fn write_seeds<'a>(dir: &Path, seeds: impl Iterator<Item = &'a [u8]>) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for seed in seeds {
        fs::write(dir.join(format!("{:08x}", fnv1a(seed))), seed)?;
    }
    Ok(())
}

/// The 802.11 frame behind a captured frame's radiotap header, read as the frame filter reads it.
fn without_radiotap(captured: &[u8]) -> Option<&[u8]> {
    let radiotap = roam_common::frame::radiotap::parse(&Bytes::new(captured)).ok()?;
    captured.get(radiotap.len as usize..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap(records: &[&[u8]]) -> Vec<u8> {
        let mut file = Vec::new();
        for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, LINKTYPE_RADIOTAP] {
            file.extend(word.to_le_bytes());
        }
        for record in records {
            for word in [0u32, 0, record.len() as u32, record.len() as u32] {
                file.extend(word.to_le_bytes());
            }
            file.extend(*record);
        }
        file
    }

    #[test]
    fn pcap_records_are_cut_out_whole() {
        let frames =
            pcap_frames(&pcap(&[b"\x00\x00\x04\x00\x80", b"\x00\x00\x04\x00\xc0\x00"])).unwrap();
        assert_eq!(
            frames,
            vec![b"\x00\x00\x04\x00\x80".to_vec(), b"\x00\x00\x04\x00\xc0\x00".to_vec()]
        );
        let mut truncated = pcap(&[b"\x00\x00\x04\x00\x80"]);
        truncated.pop();
        assert!(pcap_frames(&truncated).is_err());
        assert!(pcap_frames(b"not a pcap file at all, no").is_err());
    }

    #[test]
    fn only_a_few_frames_of_a_class_are_kept() {
        // An 8-byte radiotap header (no fields), then the frame.
        let frame = |fc: u8, n: u8| vec![0, 0, 8, 0, 0, 0, 0, 0, fc, n];
        let frames = distinct_frames(vec![
            frame(0x80, 1),
            frame(0x80, 2),
            frame(0x80, 3),
            frame(0x80, 1),
            frame(0xc0, 1),
        ]);
        assert_eq!(frames, vec![frame(0x80, 1), frame(0x80, 2), frame(0xc0, 1)]);
    }

    #[test]
    fn received_deauths_become_nl80211_events() {
        let deauth =
            [&[0u8, 0, 8, 0, 0, 0, 0, 0][..], &[0xc0, 0, 0, 0], &[0; 20], &[3, 0]].concat();
        let event = nl80211_event(&deauth).unwrap();
        assert_eq!(event[0], 39);
        // wiphy (8 bytes), ifindex (8 bytes), then the frame attribute: 4 + 26 bytes, padded.
        assert_eq!(&event[17..21], &[30, 0, 51, 0]);
        assert_eq!(event.len(), 1 + 8 + 8 + 32);
        assert_eq!(
            nl80211_event(&[0, 0, 8, 0, 0, 0, 0, 0, 0x80, 0]),
            None,
            "a beacon makes no MLME event"
        );
        assert_eq!(nl80211_event(&[0, 0, 4, 0, 0xc0, 0]), None, "no frame behind a bad header");
    }

    #[test]
    fn log_lines_become_control_socket_events() {
        assert_eq!(
            control_event("1795291217.524818: sta0: CTRL-EVENT-SCAN-STARTED ").as_deref(),
            Some("<3>CTRL-EVENT-SCAN-STARTED ")
        );
        assert_eq!(control_event("1795291217.5: sta0: State: COMPLETED"), None);
    }
}
