//! Turns off address-space layout randomisation in the guest, so that qemu's translation cache
//! holds still.
//!
//! Why: qemu TCG (7.2) translates guest code into host code once and finds it again by the
//! guest's virtual address. With ASLR every new process (the agent restarted each run, every
//! `ip`, `iw`, `tc`, `bpftool` and `dbus-send` the testbed runs) maps its code at new addresses,
//! so its whole start is translated afresh. Read off qemu's monitor (`info jit`) during 36 runs
//! of silent-ap-loss: the generated code grew ~10 MB/s and filled the 1 GiB cache every ~100 s.
//! Each fill is a flush of every translation, after which both vCPUs translate everything
//! they run again; runs that overlapped one had a vCPU stand still 59-131 ms inside their
//! traffic gap (see `stalls`), whatever the stack. With ASLR off the same plan grew the cache
//! to 220 MB and no further, no flush, and no stall of 50 ms or more in any gap.
//!
//! The testbed VM is a throwaway machine with no network to the host; the stacks under test do
//! not depend on where their code is mapped, and on hardware (or KVM) there is no translation
//! cache for ASLR to churn.

use anyhow::{ensure, Result};

use super::system::write_knob;

const RANDOMIZE_VA_SPACE: &str = "/proc/sys/kernel/randomize_va_space";

/// Maps every process's code, stack and libraries at the same addresses from now on.
pub fn disable() -> Result<()> {
    write_knob(RANDOMIZE_VA_SPACE, "0")?;
    let now = std::fs::read_to_string(RANDOMIZE_VA_SPACE)?;
    ensure!(now.trim() == "0", "{RANDOMIZE_VA_SPACE} is still {}", now.trim());
    Ok(())
}
