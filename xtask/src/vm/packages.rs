//! Packages the testbed needs: qemu on the host, and the Debian packages whose binaries go into
//! the guest (for a bookworm guest the image copies them from the host, with their shared
//! libraries; for another release they come from its archive, see `release`).

use std::process::Command;

use anyhow::Result;

use crate::{cmd, setup};

/// Packages only the host needs.
const HOST_ONLY: &[&str] = &["qemu-system-x86"];

/// The packages whose programs run in the guest: the host's for a bookworm guest, the
/// release's own (with their dependencies) for the others.
pub const GUEST_PACKAGES: &[&str] = &[
    "hostapd",
    "wpasupplicant",
    // The iwd stack: iwd, and the D-Bus daemon and client it is run and driven with (not
    // `dbus`, which also sets up the host's system bus). Debian installs iwd's service
    // disabled: the host's own Wi-Fi is left alone.
    "iwd",
    "dbus-daemon",
    "dbus-bin",
    "iw",
    "iproute2",
    "busybox-static",
    "tcpdump",
    "wireless-regdb",
    "kmod",
    // setpriv (essential on the host, not a dependency of anything above).
    "util-linux",
    // Lists programs and links in the guest: nothing of roam's may be left after a test.
    "bpftool",
];

/// More packages for the guests made from a release's archive: NetworkManager for the
/// networkmanager stacks, dnsmasq as the DHCP server and router advertiser behind the APs,
/// systemd for networkd.
pub const ROOT_ONLY_PACKAGES: &[&str] = &["network-manager", "dnsmasq-base", "systemd"];

/// What a bookworm guest needs that the host does not install: the same managers, from
/// bookworm's archive (systemd-networkd is the host's own).
pub const BOOKWORM_MANAGER_PACKAGES: &[&str] = &["network-manager", "dnsmasq-base"];

/// Installs whatever is missing (apt-get, as root).
pub fn ensure() -> Result<()> {
    setup::ensure_apt_packages(HOST_ONLY)?;
    setup::ensure_apt_packages(GUEST_PACKAGES)
}

/// `package version` lines of the packages the base image is made of: its cache key.
pub fn installed_versions() -> Result<String> {
    cmd::output(
        Command::new("dpkg-query").args(["-W", "-f=${Package} ${Version}\\n"]).args(GUEST_PACKAGES),
    )
}
