//! Turns off the kernel's module autoloading once the testbed's modules are in.
//!
//! Why: in this VM every access point shares one kernel. When hostapd disables an AP it takes
//! the interface out of the bridge, and the *other* APs' hostapd (2.10, built with full dynamic
//! VLAN support) reads that link event, gets a garbled interface name ("d") and looks it up
//! with `if_nametoindex`. The lookup of a device that does not exist makes the kernel run
//! modprobe for `netdev-d`, then for `d`, and hostapd waits in the ioctl meanwhile. Under TCG each
//! modprobe costs 60-85 ms, so the AP the station was moving to answered its authentication
//! 100-150 ms late (traced: `module_request` from hostapd while the station's auth request
//! waited). APs on separate hardware never hold each other up like that.
//!
//! The image holds only the modules the testbed loads at boot (and the radio module, which it
//! loads itself with modprobe), so an autoload could never find anything new: turning it off
//! changes no outcome, only removes the exec. `module/module_request` stays in the trace, so a
//! request that still happens is visible.

use anyhow::{ensure, Result};

use super::system::write_knob;

const MODPROBE_PATH: &str = "/proc/sys/kernel/modprobe";

/// Empties the kernel's modprobe path: `request_module` then fails at once with ENOENT.
pub fn disable() -> Result<()> {
    write_knob(MODPROBE_PATH, "\n")?;
    let now = std::fs::read_to_string(MODPROBE_PATH)?;
    ensure!(now.trim().is_empty(), "{MODPROBE_PATH} is still `{}`", now.trim());
    Ok(())
}
