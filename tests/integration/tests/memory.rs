//! The agent's peak memory: making aya's loader must not cost a parse of the kernel's BTF (on a
//! 6.18 host, 24 MB of a 26 MB peak; the benchmark's cost table measures the agent's own peak).
//! Its own binary without the test harness: the loader is made on the main thread of a fresh,
//! single-threaded process, as in the agent's `main`, and the high-water mark is this test's.

use anyhow::{ensure, Context as _, Result};

/// The kernel's BTF read alone is 5-6 MB; its parse 15-24 MB more.
const GROWTH_LIMIT_KB: u64 = 3 * 1024;

fn main() -> Result<()> {
    the_loader_is_made_without_parsing_the_kernels_btf()?;
    println!("test the_loader_is_made_without_parsing_the_kernels_btf ... ok");
    Ok(())
}

fn the_loader_is_made_without_parsing_the_kernels_btf() -> Result<()> {
    ensure!(
        std::path::Path::new("/sys/kernel/btf/vmlinux").exists(),
        "this kernel has no BTF: nothing to measure"
    );
    let before = high_water_mark_kb()?;
    roam_user::ebpf::loader::prepare();
    let grew = high_water_mark_kb()?.saturating_sub(before);
    ensure!(
        grew < GROWTH_LIMIT_KB,
        "making the loader raised the peak resident set by {grew} kB: the kernel's BTF was parsed"
    );
    Ok(())
}

/// `VmHWM`: the process's peak resident set so far.
fn high_water_mark_kb() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/self/status")
}
