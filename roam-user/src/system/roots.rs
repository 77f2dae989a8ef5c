//! Where the checks look. Real paths by default; tests point them into a
//! fake tree so every check can be exercised without root or Wi-Fi.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysRoots {
    /// `/sys/class/net`: one entry per interface of this network namespace.
    pub sys_class_net: PathBuf,
    /// `/proc/self/status`: effective uid and capabilities.
    pub proc_self_status: PathBuf,
    /// `/sys/kernel/btf/vmlinux`: kernel BTF, needed for CO-RE relocations.
    pub kernel_btf: PathBuf,
    /// Candidate tracefs `events` directories, in order of preference.
    pub tracefs_events: Vec<PathBuf>,
    /// `/run/netns`: named network namespaces (`ip netns add`).
    pub named_netns: PathBuf,
    /// `kernel.perf_event_paranoid`: at 3 and above (Debian's and Ubuntu's patch), perf events
    /// need CAP_SYS_ADMIN.
    pub perf_event_paranoid: PathBuf,
}

impl SysRoots {
    /// The running system's paths.
    pub fn host() -> Self {
        SysRoots {
            sys_class_net: "/sys/class/net".into(),
            proc_self_status: "/proc/self/status".into(),
            kernel_btf: "/sys/kernel/btf/vmlinux".into(),
            // Since Linux 4.1 tracefs has its own mount point; older setups
            // only have it under debugfs.
            tracefs_events: vec![
                "/sys/kernel/tracing/events".into(),
                "/sys/kernel/debug/tracing/events".into(),
            ],
            named_netns: "/run/netns".into(),
            perf_event_paranoid: "/proc/sys/kernel/perf_event_paranoid".into(),
        }
    }
}

impl Default for SysRoots {
    fn default() -> Self {
        SysRoots::host()
    }
}
