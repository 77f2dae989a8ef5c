//! Fixed names and paths of the guest. Programs are called by absolute path: busybox's shell
//! would otherwise resolve `ip` or `modprobe` to its own, smaller applets.

pub const IP: &str = "/usr/bin/ip";
pub const IW: &str = "/usr/sbin/iw";
pub const MODPROBE: &str = "/usr/sbin/modprobe";
pub const HOSTAPD: &str = "/usr/sbin/hostapd";
pub const WPA_SUPPLICANT: &str = "/usr/sbin/wpa_supplicant";
/// iwd's daemon (Debian installs it outside PATH).
pub const IWD: &str = "/usr/libexec/iwd";
pub const DBUS_DAEMON: &str = "/usr/bin/dbus-daemon";
pub const DBUS_SEND: &str = "/usr/bin/dbus-send";
/// The manager stacks' programs (bookworm's guest takes NetworkManager and dnsmasq from
/// bookworm's archive, the host having neither).
pub const NETWORK_MANAGER: &str = "/usr/sbin/NetworkManager";
pub const NMCLI: &str = "/usr/bin/nmcli";
pub const UNSHARE: &str = "/usr/bin/unshare";
pub const DNSMASQ: &str = "/usr/sbin/dnsmasq";
pub const NETWORKD: &str = "/usr/lib/systemd/systemd-networkd";
pub const BUSYBOX: &str = "/usr/bin/busybox";
/// This program (the testbed's guest binary).
pub const TESTBED: &str = "/usr/bin/roam-testbed";
/// The roam agent, present when the host found a built one.
pub const ROAM: &str = "/usr/bin/roam";
/// util-linux's setpriv: runs the agent with the capability set of its systemd unit.
pub const SETPRIV: &str = "/usr/bin/setpriv";
/// Lists loaded programs and links: the suite's proof that nothing of roam's is left.
pub const BPFTOOL: &str = "/usr/sbin/bpftool";
pub const TCPDUMP: &str = "/usr/bin/tcpdump";

/// Scratch space for configuration files and control sockets.
pub const RUN_DIR: &str = "/run/roam-testbed";
/// Daemon logs of the current topology (sliced per run into the results).
pub const LOG_DIR: &str = "/tmp/roam-testbed-logs";
/// Where results are gathered before they are written to the results disk.
pub const RESULTS_DIR: &str = "/tmp/roam-testbed-results";

/// The station's network namespace: its traffic must cross the virtual air to reach the bridge.
pub const STA_NETNS: &str = "sta";
pub const STA_NETNS_PATH: &str = "/run/netns/sta";
pub const STA_IFACE: &str = "sta0";
pub const STA_ADDRESS: &str = "10.0.0.2/24";

/// The bridge the APs are ports of; it holds the echo responder's address. A fixed MAC keeps
/// the station's ARP entry valid across roams (a bridge otherwise takes a port's MAC).
pub const BRIDGE: &str = "br0";
pub const BRIDGE_MAC: &str = "02:00:00:00:ff:01";
pub const BRIDGE_ADDRESS: &str = "10.0.0.1/24";
pub const ECHO_ADDRESS: &str = "10.0.0.1:7777";
/// IPv6 beside IPv4 where the plan asks for the second probe: unique local addresses, fixed and
/// without duplicate address detection, so both are usable at once.
pub const STA_ADDRESS6: &str = "fd00:726f:616d::2/64";
pub const BRIDGE_ADDRESS6: &str = "fd00:726f:616d::1/64";
pub const ECHO_ADDRESS6: &str = "[fd00:726f:616d::1]:7777";

pub const SSID: &str = "roam-testbed";

/// The other network of a topology with `other_network`: its SSID, its LAN's bridge, and the
/// namespace of its gateway, which has the first gateway's address (`BRIDGE_ADDRESS`) and
/// another MAC.
pub const OTHER_SSID: &str = "roam-testbed-b";
pub const OTHER_BRIDGE: &str = "br1";
pub const OTHER_GATEWAY_NETNS: &str = "gw-b";
pub const OTHER_GATEWAY_NETNS_PATH: &str = "/run/netns/gw-b";
pub const OTHER_GATEWAY_MAC: &str = "02:00:00:00:ff:02";
/// The veth pair from the other bridge to its gateway's namespace.
pub const OTHER_GATEWAY_PORT: &str = "gwb-port";
pub const OTHER_GATEWAY_IFACE: &str = "gwb0";

/// Name of the i-th AP interface (and of its hostapd control socket).
pub fn ap_iface(index: usize) -> String {
    format!("ap{index}")
}
