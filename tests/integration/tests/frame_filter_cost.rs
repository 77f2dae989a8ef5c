//! Measures the frame filter's in-kernel cost per frame (kernel run-time statistics) over a
//! realistic mix: mostly beacons of known BSSes, as on a busy channel. Prints the figure; the
//! benchmark suite owns performance claims, this test only checks that stats are collected.

use anyhow::{ensure, Result};
use integration_test::{in_netns, Tun};
use roam_common::{
    frame::fixtures::{beacon, hwsim_radiotap, AP},
    maps::FilterConfig,
    MacAddr,
};
use roam_user::ebpf::{stats, Observer};

const FRAMES: u64 = 20_000;

#[test]
fn frame_filter_cost_per_frame() -> Result<()> {
    in_netns(|| {
        let mut tun = Tun::create("roammon9")?;
        let mut observer = tun.observer()?;
        observer.set_filter_config(&FilterConfig {
            assoc_bssid: AP,
            silence_intervals: 3,
            ..Default::default()
        })?;
        let aps: Vec<_> = (0..8u8).map(|i| [0x02, 0, 0, 0, i, 0]).collect();
        let frames: Vec<_> = aps
            .iter()
            .map(|ap| beacon(&hwsim_radiotap(2412, -50, 0), MacAddr(*ap), b"roam-test", 1))
            .collect();
        // Warm up (table rows exist, code is hot), then measure only the steady state.
        for f in &frames {
            tun.inject(f)?;
        }
        let before = run_stats(&observer);
        let _stats = stats::enable()?;
        for i in 0..FRAMES {
            tun.inject(&frames[(i % frames.len() as u64) as usize])?;
        }
        let (runs, ns) = run_stats(&observer);
        let (runs, ns) = (runs - before.0, ns - before.1);
        ensure!(runs >= FRAMES, "kernel stats counted {runs} runs for {FRAMES} frames");
        eprintln!("roam_frames: {runs} frames, {} ns per frame (steady state, 8 BSSes)", ns / runs);
        Ok(())
    })
}

fn run_stats(observer: &Observer) -> (u64, u64) {
    observer
        .program_stats()
        .into_iter()
        .find(|(n, _, _)| n == "roam_frames")
        .map_or((0, 0), |(_, runs, ns)| (runs, ns))
}
