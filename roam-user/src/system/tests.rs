//! `check_all_with` against fake /proc, /sys and wpa_supplicant
//! trees built in a temporary directory.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::net::UnixDatagram;

use super::*;

const ROOT_STATUS: &str = "Name:\troam\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n";
const USER_STATUS: &str = "Name:\troam\nUid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\n";

/// A fake system: every `SysRoots` path inside one temporary directory,
/// starting out healthy (root, BTF, no interfaces).
struct FakeSystem {
    base: PathBuf,
    roots: SysRoots,
}

impl FakeSystem {
    fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base =
            std::env::temp_dir().join(format!("roam-system-test-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let roots = SysRoots {
            sys_class_net: base.join("sys/class/net"),
            proc_self_status: base.join("proc/self/status"),
            kernel_btf: base.join("sys/kernel/btf/vmlinux"),
            named_netns: base.join("run/netns"),
            proc: base.join("proc"),
            networkd_links: base.join("run/systemd/netif/links"),
        };
        let system = FakeSystem { base, roots };
        system.write("proc/self/status", ROOT_STATUS);
        system.write("sys/kernel/btf/vmlinux", "BTF");
        system.mkdir("sys/class/net");
        system.mkdir("run/wpa_supplicant");
        system
    }

    fn write(&self, relative: &str, contents: &str) {
        let path = self.base.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn mkdir(&self, relative: &str) {
        fs::create_dir_all(self.base.join(relative)).unwrap();
    }

    fn remove(&self, relative: &str) {
        let path = self.base.join(relative);
        if path.is_dir() {
            fs::remove_dir_all(path).unwrap();
        } else {
            fs::remove_file(path).unwrap();
        }
    }

    /// An interface with sysfs `type`, optional `DEVTYPE`, `operstate` and
    /// `flags` (up).
    fn add_interface(&self, name: &str, arphrd: u16, devtype: Option<&str>) {
        let dir = format!("sys/class/net/{name}");
        self.write(&format!("{dir}/type"), &format!("{arphrd}\n"));
        let devtype_line = devtype.map_or(String::new(), |t| format!("DEVTYPE={t}\n"));
        self.write(
            &format!("{dir}/uevent"),
            &format!("{devtype_line}INTERFACE={name}\nIFINDEX=3\n"),
        );
        self.write(&format!("{dir}/operstate"), "up\n");
        self.write(&format!("{dir}/flags"), "0x1003\n");
    }

    /// A mac80211 station interface on `phy`.
    fn add_station(&self, name: &str, phy: &str) {
        self.add_interface(name, 1, Some("wlan"));
        self.write(&format!("sys/class/net/{name}/phy80211/name"), &format!("{phy}\n"));
        self.write(&format!("sys/class/net/{name}/ifindex"), "3\n");
        self.write("proc/4242/comm", "wpa_supplicant\n");
    }

    fn iface_file(&self, name: &str, file: &str, contents: &str) {
        self.write(&format!("sys/class/net/{name}/{file}"), contents);
    }

    fn wpa_dir(&self) -> PathBuf {
        self.base.join("run/wpa_supplicant")
    }

    async fn check(&self, iface: &str) -> Report {
        check_all_with(&self.roots, iface, &self.wpa_dir()).await
    }
}

impl Drop for FakeSystem {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.base);
    }
}

fn names(report: &Report) -> Vec<&'static str> {
    report.checks.iter().map(|check| check.name).collect()
}

fn status_of(report: &Report, name: &str) -> Status {
    report.get(name).unwrap_or_else(|| panic!("no {name} check in:\n{report}")).status
}

fn detail_of<'a>(report: &'a Report, name: &str) -> &'a str {
    &report.get(name).unwrap().detail
}

fn fix_of<'a>(report: &'a Report, name: &str) -> &'a str {
    report.get(name).unwrap().fix.as_deref().unwrap_or("")
}

/// Answers one `PING` with `PONG` on a fake wpa_supplicant socket.
async fn answer_ping(server: &UnixDatagram) {
    let mut buf = [0u8; 64];
    let (len, peer) = server.recv_from(&mut buf).await.unwrap();
    assert_eq!(&buf[..len], b"PING");
    server.send_to(b"PONG\n", peer.as_pathname().unwrap()).await.unwrap();
}

#[tokio::test]
async fn healthy_station_passes_everything() {
    let system = FakeSystem::new();
    system.add_station("wlan0", "phy0");
    let server = UnixDatagram::bind(system.wpa_dir().join("wlan0")).unwrap();

    let (report, ()) = tokio::join!(system.check("wlan0"), answer_ping(&server));

    assert_eq!(
        names(&report),
        [PRIVILEGES, KERNEL_BTF, INTERFACE, WIRELESS, MODE, PHY, LINK, WPA_SUPPLICANT, MANAGER]
    );
    for check in &report.checks {
        assert_eq!(check.status, Status::Ok, "{report}");
        assert_eq!(check.fix, None);
    }
    assert!(report.can_run());
    assert_eq!(detail_of(&report, PHY), "phy0");
    assert!(detail_of(&report, PRIVILEGES).starts_with("root (euid 0)"));
}

/// systemd-networkd manages the station without IgnoreCarrierLoss=: every roam would cost the
/// station its addresses. Said, with the file to fix.
#[tokio::test]
async fn networkd_dropping_addresses_on_carrier_loss_is_a_warning() {
    let system = FakeSystem::new();
    system.add_station("wlan0", "phy0");
    system.write("proc/77/comm", "systemd-network\n");
    let network = system.base.join("etc/systemd/network/25-wlan.network");
    system
        .write("etc/systemd/network/25-wlan.network", "[Match]\nName=wlan0\n[Network]\nDHCP=yes\n");
    system.write(
        "run/systemd/netif/links/3",
        &format!("ADMIN_STATE=configured\nNETWORK_FILE={}\n", network.display()),
    );
    let server = UnixDatagram::bind(system.wpa_dir().join("wlan0")).unwrap();
    let (report, ()) = tokio::join!(system.check("wlan0"), answer_ping(&server));
    assert_eq!(report.get(MANAGER).unwrap().status, Status::Warning, "{report}");
    assert!(fix_of(&report, MANAGER).contains("IgnoreCarrierLoss=3s"));
    assert!(report.can_run(), "a warning, not a blocker");

    // A drop-in sets it: fine.
    system.write(
        "etc/systemd/network/25-wlan.network.d/roam.conf",
        "[Network]\nIgnoreCarrierLoss=3s\n",
    );
    let (report, ()) = tokio::join!(system.check("wlan0"), answer_ping(&server));
    assert_eq!(report.get(MANAGER).unwrap().status, Status::Ok, "{report}");
}

#[tokio::test]
async fn unprivileged_user_is_told_about_sudo_and_capabilities() {
    let system = FakeSystem::new();
    system.write("proc/self/status", USER_STATUS);
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, PRIVILEGES), Status::Missing);
    assert_eq!(
        detail_of(&report, PRIVILEGES),
        "euid 1000 lacking CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW"
    );
    assert!(fix_of(&report, PRIVILEGES).starts_with("run with sudo"));
    assert!(fix_of(&report, PRIVILEGES).contains("AmbientCapabilities"));
    assert!(!report.can_run());
}

/// The four capabilities are enough whatever `kernel.perf_event_paranoid` says: the hooks are
/// raw tracepoints and fentry, which open no perf event (Debian's and Ubuntu's level 3 would
/// refuse those to anyone without CAP_SYS_ADMIN).
#[tokio::test]
async fn the_four_capabilities_are_enough_without_sys_admin() {
    let system = FakeSystem::new();
    // CAP_BPF (39), CAP_PERFMON (38), CAP_NET_ADMIN (12), CAP_NET_RAW (13).
    system.write("proc/self/status", "Uid:\t0\t0\t0\t0\nCapEff:\t000000c000003000\n");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, PRIVILEGES), Status::Ok, "{report}");
    assert_eq!(
        detail_of(&report, PRIVILEGES),
        "root (euid 0) with CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW"
    );
}

#[tokio::test]
async fn sys_admin_is_accepted_for_bpf_and_perfmon() {
    let system = FakeSystem::new();
    // CAP_SYS_ADMIN (21) + CAP_NET_ADMIN (12) + CAP_NET_RAW (13).
    system.write("proc/self/status", "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000203000\n");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, PRIVILEGES), Status::Ok, "{report}");
    assert!(
        detail_of(&report, PRIVILEGES).contains("CAP_SYS_ADMIN stands in for CAP_BPF, CAP_PERFMON")
    );
}

#[tokio::test]
async fn root_without_capabilities_is_pointed_at_the_container() {
    let system = FakeSystem::new();
    // Docker's default set: no CAP_BPF/PERFMON/NET_ADMIN, but CAP_NET_RAW.
    system.write("proc/self/status", "Uid:\t0\t0\t0\t0\nCapEff:\t00000000a80425fb\n");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, PRIVILEGES), Status::Missing);
    assert!(
        detail_of(&report, PRIVILEGES).contains("lacking CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN (")
    );
    assert!(fix_of(&report, PRIVILEGES).contains("--cap-add BPF"));
}

#[tokio::test]
async fn missing_btf_blocks_with_its_fix() {
    let system = FakeSystem::new();
    system.remove("sys/kernel/btf/vmlinux");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, KERNEL_BTF), Status::Missing);
    assert!(fix_of(&report, KERNEL_BTF).contains("CONFIG_DEBUG_INFO_BTF=y"));
}

#[tokio::test]
async fn unknown_interface_lists_wireless_ones_and_namespaces() {
    let system = FakeSystem::new();
    system.add_station("wlp2s0", "phy0");
    system.add_station("wlan1", "phy1");
    system.add_interface("eth0", 1, None);
    system.write("run/netns/lab", "");
    let report = system.check("wlan0").await;

    assert_eq!(status_of(&report, INTERFACE), Status::Missing);
    assert_eq!(
        detail_of(&report, INTERFACE),
        "wlan0 is not in this network namespace; wireless interfaces here: wlan1, wlp2s0; \
         named network namespaces: lab"
    );
    assert!(fix_of(&report, INTERFACE).contains("--iface wlan1"));
    assert!(fix_of(&report, INTERFACE).contains("ip netns exec NS roam"));
    // Nothing more to say about an interface that is not there.
    assert_eq!(names(&report).last(), Some(&INTERFACE));
}

#[tokio::test]
async fn path_like_interface_names_are_refused() {
    let system = FakeSystem::new();
    let report = system.check("../../etc").await;
    assert_eq!(status_of(&report, INTERFACE), Status::Missing);
    assert!(detail_of(&report, INTERFACE).contains("not a valid interface name"));
}

#[tokio::test]
async fn ethernet_interface_is_not_wireless() {
    let system = FakeSystem::new();
    system.add_interface("eth0", 1, None);
    system.add_station("wlan0", "phy0");
    let report = system.check("eth0").await;
    assert_eq!(status_of(&report, WIRELESS), Status::Missing);
    assert_eq!(detail_of(&report, WIRELESS), "eth0 is not a wireless interface (type 1: ethernet)");
    assert_eq!(fix_of(&report, WIRELESS), "pass the station's managed interface, e.g. wlan0");
    // The 802.11 checks would only add noise after this.
    assert_eq!(names(&report).last(), Some(&WIRELESS));
    assert!(!report.can_run());
}

#[tokio::test]
async fn hwsim_radiotap_interface_is_not_wireless() {
    let system = FakeSystem::new();
    system.add_interface("hwsim0", 803, None);
    let report = system.check("hwsim0").await;
    assert_eq!(status_of(&report, WIRELESS), Status::Missing);
    assert!(detail_of(&report, WIRELESS).contains("type 803: 802.11 radiotap monitor"));
}

#[tokio::test]
async fn monitor_interface_is_refused_with_iw_fix() {
    let system = FakeSystem::new();
    system.add_interface("mon0", 803, Some("wlan"));
    system.write("sys/class/net/mon0/phy80211/name", "phy0\n");
    system.add_station("wlp1s0", "phy1");
    let report = system.check("mon0").await;
    assert_eq!(status_of(&report, WIRELESS), Status::Ok);
    assert_eq!(status_of(&report, MODE), Status::Missing);
    assert!(detail_of(&report, MODE).contains("monitor"));
    let fix = fix_of(&report, MODE);
    // The example is another interface, never the rejected one.
    assert!(fix.starts_with("pass the station's managed interface, e.g. wlp1s0"), "{fix}");
    assert!(fix.contains("iw dev mon0 set type managed"), "{fix}");
}

#[tokio::test]
async fn cfg80211_interface_without_wlan_devtype_is_not_a_station() {
    let system = FakeSystem::new();
    system.add_interface("wlan0", 1, Some("bridge"));
    system.write("sys/class/net/wlan0/phy80211/name", "phy0\n");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, MODE), Status::Missing);
    assert!(detail_of(&report, MODE).contains("devtype bridge"));
}

#[tokio::test]
async fn wext_only_driver_is_refused() {
    let system = FakeSystem::new();
    system.add_interface("wlan0", 1, None);
    system.mkdir("sys/class/net/wlan0/wireless");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, WIRELESS), Status::Missing);
    assert!(detail_of(&report, WIRELESS).contains("wireless-extensions-only"));
}

#[tokio::test]
async fn phy_name_falls_back_to_the_symlink_target() {
    let system = FakeSystem::new();
    system.add_interface("wlan0", 1, Some("wlan"));
    system.mkdir("sys/class/ieee80211/phy3");
    std::os::unix::fs::symlink(
        "../../ieee80211/phy3",
        system.base.join("sys/class/net/wlan0/phy80211"),
    )
    .unwrap();
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, WIRELESS), Status::Ok, "{report}");
    assert_eq!(detail_of(&report, PHY), "phy3");
}

#[tokio::test]
async fn link_states_are_warnings_with_fixes() {
    let cases = [
        ("0x1002\n", "down\n", "wlan0 is administratively down", "ip link set wlan0 up"),
        (
            "0x1003\n",
            "down\n",
            "down: no carrier, not associated with an AP",
            "wpa_cli -i wlan0 reconnect",
        ),
        (
            "0x1003\n",
            "dormant\n",
            "dormant: associated, authentication not finished",
            "wpa_cli -i wlan0 status",
        ),
        ("0x1003\n", "unknown\n", "operstate unknown", "ip link show wlan0"),
    ];
    for (flags, operstate, detail, fix_part) in cases {
        let system = FakeSystem::new();
        system.add_station("wlan0", "phy0");
        system.iface_file("wlan0", "flags", flags);
        system.iface_file("wlan0", "operstate", operstate);
        let report = system.check("wlan0").await;
        assert_eq!(status_of(&report, LINK), Status::Warning, "{operstate}");
        assert_eq!(detail_of(&report, LINK), detail);
        assert!(fix_of(&report, LINK).contains(fix_part), "{}", fix_of(&report, LINK));
    }
}

#[tokio::test]
async fn absent_wpa_supplicant_is_only_a_warning() {
    let system = FakeSystem::new();
    system.add_station("wlan0", "phy0");
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, WPA_SUPPLICANT), Status::Warning);
    assert!(detail_of(&report, WPA_SUPPLICANT).contains("bare nl80211 backend"));
    assert!(fix_of(&report, WPA_SUPPLICANT).contains("--wpa-ctrl-dir"));
    assert!(report.can_run(), "{report}");
}

#[tokio::test]
async fn stale_wpa_socket_is_a_warning() {
    let system = FakeSystem::new();
    system.add_station("wlan0", "phy0");
    drop(std::os::unix::net::UnixDatagram::bind(system.wpa_dir().join("wlan0")).unwrap());
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, WPA_SUPPLICANT), Status::Warning);
    assert!(detail_of(&report, WPA_SUPPLICANT).contains("stale socket"));
}

#[tokio::test]
async fn silent_wpa_supplicant_blocks() {
    let system = FakeSystem::new();
    system.add_station("wlan0", "phy0");
    // Bound, so connect succeeds, but nobody ever reads: PING times out.
    let _server = UnixDatagram::bind(system.wpa_dir().join("wlan0")).unwrap();
    let report = system.check("wlan0").await;
    assert_eq!(status_of(&report, WPA_SUPPLICANT), Status::Missing);
    assert!(detail_of(&report, WPA_SUPPLICANT).contains("did not answer PING within 1 s"));
    assert!(!report.can_run());
}

#[tokio::test]
async fn report_prints_fixes_under_failed_checks() {
    let system = FakeSystem::new();
    system.write("proc/self/status", USER_STATUS);
    let report = system.check("wlan0").await;
    let text = report.to_string();
    assert!(text.contains("[MISS] privileges:"), "{text}");
    assert!(text.contains("fix: run with sudo"), "{text}");
    assert!(text.contains("[ ok ] kernel BTF:"), "{text}");
}

#[test]
fn acknowledgement_reports_are_a_warning_when_missing_never_a_blocker() {
    use super::checks::tx_status;
    assert_eq!(tx_status(Ok(true)).status, Status::Ok);
    assert!(tx_status(Ok(true)).detail.contains("NL80211_FEATURE_SK_TX_STATUS"));
    let without = tx_status(Ok(false));
    assert_eq!(without.status, Status::Warning);
    assert!(without.detail.contains("cannot ask the AP"), "{}", without.detail);
    assert_eq!(tx_status(Err("EPERM".into())).status, Status::Warning);
}
