//! Prerequisites of `roam check --iface IF`, also run by `roam run` so it
//! can refuse early with a useful message instead of failing mid-setup.
//!
//! Each check reads the system (procfs, sysfs, the wpa_supplicant
//! socket) and reports what it found and how to fix it. Checks about the
//! interface run only when it exists, and the 802.11 ones only when it is
//! wireless: their answers would be noise after a more basic failure.

pub mod caps;
mod checks;
pub mod iface;
mod manager;
mod report;
mod roots;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use checks::{
    tx_status, INTERFACE, KERNEL_BTF, LINK, MODE, PHY, PRIVILEGES, TX_STATUS, WIRELESS,
    WPA_SUPPLICANT,
};
pub use manager::MANAGER;
pub use report::{Check, Report, Status};
pub use roots::SysRoots;

/// Runs every check against the real system.
pub async fn check_all(iface: &str, wpa_ctrl_dir: &Path) -> Report {
    check_all_with(&SysRoots::host(), iface, wpa_ctrl_dir).await
}

/// Runs every check with the filesystem locations in `roots`.
pub async fn check_all_with(roots: &SysRoots, iface: &str, wpa_ctrl_dir: &Path) -> Report {
    let mut report = Report { checks: vec![checks::privileges(roots), checks::kernel_btf(roots)] };

    let interface = checks::interface(roots, iface);
    let interface_exists = interface.passed();
    report.checks.push(interface);
    if !interface_exists {
        return report;
    }

    let wireless = checks::wireless(roots, iface);
    let is_wireless = wireless.passed();
    report.checks.push(wireless);
    if !is_wireless {
        return report;
    }

    report.checks.push(checks::mode(roots, iface));
    report.checks.push(checks::phy(roots, iface));
    report.checks.push(checks::link(roots, iface));
    report.checks.push(checks::wpa_supplicant(wpa_ctrl_dir, iface).await);
    let ifindex = std::fs::read_to_string(roots.sys_class_net.join(iface).join("ifindex"))
        .ok()
        .and_then(|text| text.trim().parse().ok());
    report.checks.push(manager::check(roots, iface, ifindex));
    report
}
