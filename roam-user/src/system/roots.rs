//! Where the checks look. Real paths by default; tests point them into a
//! fake tree so every check can be exercised without root or Wi-Fi.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysRoots {
    /// `/sys/class/net`: one entry per interface of this network namespace.
    pub sys_class_net: PathBuf,
    /// `/proc/self/status`: effective uid and capabilities.
    pub proc_self_status: PathBuf,
    /// `/sys/kernel/btf/vmlinux`: kernel BTF, the source of the struct offsets the programs use.
    pub kernel_btf: PathBuf,
    /// `/run/netns`: named network namespaces (`ip netns add`).
    pub named_netns: PathBuf,
    /// `/proc`: the processes running (which connection manager).
    pub proc: PathBuf,
    /// `/run/systemd/netif/links`: systemd-networkd's state of each link, by ifindex.
    pub networkd_links: PathBuf,
}

impl SysRoots {
    /// The running system's paths.
    pub fn host() -> Self {
        SysRoots {
            sys_class_net: "/sys/class/net".into(),
            proc_self_status: "/proc/self/status".into(),
            kernel_btf: "/sys/kernel/btf/vmlinux".into(),
            named_netns: "/run/netns".into(),
            proc: "/proc".into(),
            networkd_links: "/run/systemd/netif/links".into(),
        }
    }
}

impl Default for SysRoots {
    fn default() -> Self {
        SysRoots::host()
    }
}
