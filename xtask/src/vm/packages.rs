//! Host packages the testbed needs: qemu, and the Debian packages whose binaries go into the
//! guest (the image copies them from the host, with their shared libraries).

use std::process::Command;

use anyhow::Result;

use crate::{cmd, setup};

pub const HOST_PACKAGES: &[&str] = &[
    "qemu-system-x86",
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
    // Lists programs and links in the guest: nothing of roam's may be left after a test.
    "bpftool",
];

/// Installs whatever is missing (apt-get, as root).
pub fn ensure() -> Result<()> {
    setup::ensure_apt_packages(HOST_PACKAGES)
}

/// `package version` lines of the packages the base image is made of: its cache key.
pub fn installed_versions() -> Result<String> {
    cmd::output(
        Command::new("dpkg-query").args(["-W", "-f=${Package} ${Version}\\n"]).args(HOST_PACKAGES),
    )
}
