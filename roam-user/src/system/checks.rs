//! The individual checks. Each looks at one thing and returns a [`Check`]
//! whose detail says what it found and whose fix says what to do.

use std::fs;
use std::io;
use std::path::Path;
use std::time::Duration;

use super::caps::{parse_proc_status, Capability, CapabilityAudit, Credentials, REQUIRED};
use super::iface::{self, InterfaceMode};
use super::report::Check;
use super::roots::SysRoots;
use crate::wpa::{WpaCtrl, WpaError};

pub const PRIVILEGES: &str = "privileges";
pub const KERNEL_BTF: &str = "kernel BTF";
pub const INTERFACE: &str = "interface";
pub const WIRELESS: &str = "wireless";
pub const MODE: &str = "mode";
pub const PHY: &str = "phy";
pub const LINK: &str = "link";
pub const WPA_SUPPLICANT: &str = "wpa_supplicant";
pub const TX_STATUS: &str = "tx status";

/// How long wpa_supplicant gets to answer `PING`.
const WPA_PING_TIMEOUT: Duration = Duration::from_secs(1);

fn capability_list<'a>(caps: impl IntoIterator<Item = &'a Capability>) -> String {
    caps.into_iter().map(|cap| cap.name()).collect::<Vec<_>>().join(", ")
}

fn read_credentials(path: &Path) -> Result<Credentials, Check> {
    let text = fs::read_to_string(path).map_err(|err| {
        Check::missing(
            PRIVILEGES,
            format!("cannot read {}: {err}", path.display()),
            "mount procfs: mount -t proc proc /proc",
        )
    })?;
    parse_proc_status(&text).map_err(|err| {
        Check::missing(
            PRIVILEGES,
            format!("cannot parse {}: {err}", path.display()),
            "check that /proc is a procfs mount (mount -t proc proc /proc)",
        )
    })
}

pub fn privileges(roots: &SysRoots) -> Check {
    let creds = match read_credentials(&roots.proc_self_status) {
        Ok(creds) => creds,
        Err(failed) => return failed,
    };
    let who = match creds.effective_uid {
        0 => "root (euid 0)".to_owned(),
        uid => format!("euid {uid}"),
    };
    let audit = CapabilityAudit::of(creds.effective_caps);

    if audit.missing.is_empty() {
        let detail = if audit.via_sys_admin.is_empty() {
            format!("{who} with {}", capability_list(&REQUIRED))
        } else {
            format!(
                "{who}; CAP_SYS_ADMIN stands in for {} (as on kernels before 5.8)",
                capability_list(&audit.via_sys_admin)
            )
        };
        return Check::ok(PRIVILEGES, detail);
    }

    let missing = capability_list(&audit.missing);
    if creds.effective_uid == 0 {
        // Root without the capabilities: a restricted bounding set, which
        // in practice means a container.
        Check::missing(
            PRIVILEGES,
            format!("{who} but lacking {missing} (restricted capability set, e.g. a container)"),
            "give the container the capabilities: docker run --cap-add BPF --cap-add PERFMON \
             --cap-add NET_ADMIN --cap-add NET_RAW (or --privileged)",
        )
    } else {
        Check::missing(
            PRIVILEGES,
            format!("{who} lacking {missing}"),
            "run with sudo, or grant CAP_BPF,CAP_PERFMON,CAP_NET_ADMIN,CAP_NET_RAW \
             (setcap cap_bpf,cap_perfmon,cap_net_admin,cap_net_raw+ep $(command -v roam), \
             or systemd AmbientCapabilities=CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_RAW); \
             on kernels before 5.8, CAP_SYS_ADMIN replaces CAP_BPF and CAP_PERFMON",
        )
    }
}

/// roam's programs follow kernel pointers with struct offsets read from the running kernel's
/// BTF.
pub fn kernel_btf(roots: &SysRoots) -> Check {
    let path = &roots.kernel_btf;
    match fs::File::open(path) {
        Ok(_) => Check::ok(KERNEL_BTF, format!("{} readable", path.display())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Check::missing(
            KERNEL_BTF,
            format!("no {}: the kernel exposes no BTF", path.display()),
            "boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (the default of current distribution kernels)",
        ),
        Err(err) => Check::missing(
            KERNEL_BTF,
            format!("cannot read {}: {err}", path.display()),
            "run with sudo",
        ),
    }
}

/// Whether the driver reports the 802.11 acknowledgement of roam's probes
/// (NL80211_FEATURE_SK_TX_STATUS), as nl80211 answered: roam's quickest and surest sign that the
/// AP is gone. Without it roam still runs, on the other signs.
pub fn tx_status(reported: Result<bool, String>) -> Check {
    match reported {
        Ok(true) => Check::ok(
            TX_STATUS,
            "the driver reports the 802.11 acknowledgement of roam's probes \
             (NL80211_FEATURE_SK_TX_STATUS)",
        ),
        Ok(false) => Check::warning(
            TX_STATUS,
            "the driver reports no 802.11 acknowledgements (no NL80211_FEATURE_SK_TX_STATUS, as \
             with full-MAC drivers such as brcmfmac): roam cannot ask the AP whether it is there",
            "nothing to do: roam then relies on deauthentications, the monitor and mac80211's \
             beacon loss, no sooner than stock",
        ),
        Err(why) => Check::warning(
            TX_STATUS,
            format!("could not read the radio's features from nl80211: {why}"),
            "run with sudo; roam finds out while running whether acknowledgements come",
        ),
    }
}

pub fn interface(roots: &SysRoots, iface: &str) -> Check {
    if !iface::is_valid_name(iface) {
        return Check::missing(
            INTERFACE,
            format!("{iface:?} is not a valid interface name"),
            "pass an interface name as listed by `ip link`, e.g. wlan0",
        );
    }
    if roots.sys_class_net.join(iface).exists() {
        return Check::ok(INTERFACE, format!("{iface} exists"));
    }

    let wireless = iface::wireless_interfaces(&roots.sys_class_net);
    let mut findings = vec![format!("{iface} is not in this network namespace")];
    findings.push(if wireless.is_empty() {
        "no wireless interfaces here".to_owned()
    } else {
        format!("wireless interfaces here: {}", wireless.join(", "))
    });
    let namespaces = iface::named_netns(&roots.named_netns);
    if !namespaces.is_empty() {
        findings.push(format!("named network namespaces: {}", namespaces.join(", ")));
    }
    let example = wireless.first().map_or("wlan0", String::as_str);
    Check::missing(
        INTERFACE,
        findings.join("; "),
        format!(
            "pass an existing interface (e.g. --iface {example}); if {iface} lives in another \
             network namespace (list them with `ip netns`), run roam there: ip netns exec NS roam ..."
        ),
    )
}

/// Names a real wireless interface of this system as the example, when
/// there is one other than the rejected `iface`.
fn managed_interface_fix(roots: &SysRoots, iface: &str) -> String {
    let wireless = iface::wireless_interfaces(&roots.sys_class_net);
    let example = wireless.iter().find(|name| *name != iface).map_or("wlan0", String::as_str);
    format!("pass the station's managed interface, e.g. {example}")
}

/// roam needs a cfg80211 (nl80211) interface.
pub fn wireless(roots: &SysRoots, iface: &str) -> Check {
    let dir = roots.sys_class_net.join(iface);
    if iface::is_cfg80211(&dir) {
        return Check::ok(WIRELESS, format!("{iface} is an 802.11 interface (cfg80211)"));
    }
    if iface::is_wext_only(&dir) {
        return Check::missing(
            WIRELESS,
            format!("{iface} has a wireless-extensions-only driver (no cfg80211/nl80211)"),
            "use a driver based on cfg80211/mac80211",
        );
    }
    let kind = match iface::link_type(&dir) {
        Ok(arphrd) => iface::describe_link_type(arphrd, iface::devtype(&dir).as_deref()),
        Err(err) => format!("type unreadable: {err}"),
    };
    Check::missing(
        WIRELESS,
        format!("{iface} is not a wireless interface ({kind})"),
        managed_interface_fix(roots, iface),
    )
}

/// roam acts for a station; monitor and non-802.11 interfaces cannot roam.
pub fn mode(roots: &SysRoots, iface: &str) -> Check {
    let dir = roots.sys_class_net.join(iface);
    match iface::detect_mode(&dir) {
        Ok(InterfaceMode::StationOrAp) => Check::ok(
            MODE,
            "802.11 data interface (ARPHRD_ETHER, DEVTYPE=wlan); station vs AP/mesh not distinguished",
        ),
        Ok(InterfaceMode::Monitor) => Check::missing(
            MODE,
            format!("{iface} is a monitor interface (ARPHRD_IEEE80211_RADIOTAP)"),
            format!(
                "{}, or switch it: ip link set {iface} down && iw dev {iface} set type managed \
                 && ip link set {iface} up",
                managed_interface_fix(roots, iface)
            ),
        ),
        Ok(InterfaceMode::Other { arphrd, devtype }) => Check::missing(
            MODE,
            format!(
                "{iface} is not an 802.11 station interface ({})",
                iface::describe_link_type(arphrd, devtype.as_deref())
            ),
            managed_interface_fix(roots, iface),
        ),
        Err(err) => Check::missing(
            MODE,
            format!("cannot read {}/type: {err}", dir.display()),
            "check that sysfs is mounted on /sys",
        ),
    }
}

pub fn phy(roots: &SysRoots, iface: &str) -> Check {
    let dir = roots.sys_class_net.join(iface);
    match iface::phy_name(&dir) {
        Some(name) => Check::ok(PHY, name),
        None => Check::warning(
            PHY,
            format!("cannot tell the wiphy of {iface}"),
            format!("inspect {}/phy80211 and `iw dev {iface} info`", dir.display()),
        ),
    }
}

/// Informational: roam can start on a disconnected interface, but has
/// nothing to do until it is associated.
pub fn link(roots: &SysRoots, iface: &str) -> Check {
    let dir = roots.sys_class_net.join(iface);
    let operstate = match iface::operstate(&dir) {
        Ok(state) => state,
        Err(err) => {
            return Check::warning(
                LINK,
                format!("cannot read operstate: {err}"),
                format!("check `ip link show {iface}`"),
            )
        }
    };
    if let Ok(false) = iface::is_admin_up(&dir) {
        return Check::warning(
            LINK,
            format!("{iface} is administratively down"),
            format!("ip link set {iface} up"),
        );
    }
    match operstate.as_str() {
        "up" => Check::ok(LINK, "up (associated)"),
        "dormant" => Check::warning(
            LINK,
            "dormant: associated, authentication not finished",
            format!("wait for the 4-way handshake; see `wpa_cli -i {iface} status`"),
        ),
        "down" | "lowerlayerdown" => Check::warning(
            LINK,
            format!("{operstate}: no carrier, not associated with an AP"),
            format!("connect first, e.g. `wpa_cli -i {iface} reconnect`"),
        ),
        other => Check::warning(
            LINK,
            format!("operstate {other}"),
            format!("check `ip link show {iface}`"),
        ),
    }
}

/// wpa_supplicant is optional (roam falls back to driving nl80211 itself,
/// which only works for open networks), so "not running" is a warning. But
/// if it runs and we cannot talk to it, roaming behind its back would fight
/// its own connection management: that blocks.
pub async fn wpa_supplicant(ctrl_dir: &Path, iface: &str) -> Check {
    let socket = ctrl_dir.join(iface);
    let absent = || {
        Check::warning(
            WPA_SUPPLICANT,
            format!(
                "no control socket at {}: roam would use the bare nl80211 backend (open networks only)",
                socket.display()
            ),
            "start wpa_supplicant with ctrl_interface=/run/wpa_supplicant or pass --wpa-ctrl-dir",
        )
    };
    if fs::symlink_metadata(&socket).is_err() {
        return absent();
    }
    let answer =
        async { WpaCtrl::open(ctrl_dir, iface).await?.with_timeout(WPA_PING_TIMEOUT).ping().await };
    match answer.await {
        Ok(()) => Check::ok(WPA_SUPPLICANT, format!("answers PING at {}", socket.display())),
        Err(WpaError::SocketMissing { .. }) => absent(),
        Err(WpaError::StaleSocket { .. }) => Check::warning(
            WPA_SUPPLICANT,
            format!(
                "{} is a stale socket: wpa_supplicant is not running for {iface}",
                socket.display()
            ),
            format!(
                "start wpa_supplicant for {iface} (ctrl_interface={}), or delete the stale socket",
                ctrl_dir.display()
            ),
        ),
        Err(WpaError::PermissionDenied { .. }) => Check::missing(
            WPA_SUPPLICANT,
            format!("permission denied on {}", socket.display()),
            "run roam as root, or add its user to the GROUP= of ctrl_interface in wpa_supplicant.conf",
        ),
        Err(WpaError::Timeout { .. }) => Check::missing(
            WPA_SUPPLICANT,
            format!(
                "{} did not answer PING within {} s",
                socket.display(),
                WPA_PING_TIMEOUT.as_secs()
            ),
            "wpa_supplicant looks hung: check `journalctl -u wpa_supplicant` and restart it",
        ),
        Err(err) => Check::missing(
            WPA_SUPPLICANT,
            err.to_string(),
            format!(
                "check that {} is wpa_supplicant's: wpa_cli -p {} -i {iface} ping",
                socket.display(),
                ctrl_dir.display()
            ),
        ),
    }
}
