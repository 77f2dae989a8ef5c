//! Errors of roam's nl80211 client, and how kernel errnos become them.
//!
//! An enum rather than `anyhow`, because the agent acts on the kind:
//! `ScanBusy` means "wait and retry", `BssNotFound` means "scan that
//! frequency first", `PermissionDenied` means "tell the user to use sudo".
//! Every message names the problem and, where there is one, the fix.

use std::io;
use std::time::Duration;

use nix::errno::Errno;

use roam_common::MacAddr;

pub type Result<T, E = Nl80211Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Nl80211Error {
    /// The generic netlink controller does not know "nl80211": the kernel
    /// has no cfg80211 (module not loaded, or no Wi-Fi support at all).
    #[error(
        "nl80211 family not found: is cfg80211 loaded? (`modprobe cfg80211`; a kernel \
         without Wi-Fi support has no nl80211)"
    )]
    FamilyNotFound,
    /// The kernel refused for lack of privilege (EPERM/EACCES).
    #[error(
        "{op} on {iface} was refused: needs CAP_NET_ADMIN: run roam with sudo{}",
        owner_hint(op)
    )]
    PermissionDenied { op: &'static str, iface: String },
    /// No network interface with this name or index in our namespace.
    #[error("interface {iface} does not exist in this network namespace (see `ip link`)")]
    NoSuchInterface { iface: String },
    /// The interface exists but cfg80211 does not manage it.
    #[error("interface {iface} is not a wireless interface (see `iw dev`)")]
    NotWireless { iface: String },
    /// The operation needs the interface up (ENETDOWN).
    #[error("interface {iface} is down: bring it up with `ip link set {iface} up`")]
    InterfaceDown { iface: String },
    /// The monitor name we were asked to use belongs to an interface that is
    /// not our leftover; `holder` says what it is.
    #[error(
        "cannot create monitor interface {name}: the name is taken by {holder}; choose \
         another name or delete that interface"
    )]
    NameTaken { name: String, holder: String },
    /// Refused before asking the kernel: the kernel would reject it anyway
    /// with a bare EINVAL.
    #[error("invalid nl80211 request: {0}")]
    InvalidArgument(String),
    /// TRIGGER_SCAN returned EBUSY: another scan (ours, the kernel's
    /// connect logic, or a supplicant's) is running on this radio.
    #[error(
        "a scan is already running on {iface}'s radio (EBUSY): wait for it to finish and retry"
    )]
    ScanBusy { iface: String },
    /// The scan ended with NL80211_CMD_SCAN_ABORTED (e.g. the interface went
    /// down, or a connection attempt needed the radio).
    #[error("the scan on {iface} was aborted by the kernel before it finished")]
    ScanAborted { iface: String },
    /// CONNECT/AUTHENTICATE returned ENOENT: cfg80211 has no scan entry for
    /// this BSS, so it cannot build the authentication request.
    #[error(
        "cfg80211 has no scan entry for BSS {bssid} on {freq_mhz} MHz (ENOENT from connect on \
         {iface}): scan that frequency first"
    )]
    BssNotFound { iface: String, bssid: MacAddr, freq_mhz: u32 },
    /// No answer (reply or event) within the deadline.
    #[error("{what}: no answer within {} ms (timeout)", after.as_millis())]
    Timeout { what: String, after: Duration },
    /// Any other errno from the kernel, with a hint when we know one.
    #[error("{} on {iface} failed: {errno}{}", op.label(), hint(*op, *errno).map_or_else(String::new, |h| format!(" ({h})")))]
    Kernel { op: Op, iface: String, errno: Errno },
    /// A local socket operation failed; `context` says which.
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
    /// The kernel answered something we cannot use (undecodable message,
    /// missing attribute, closed connection).
    #[error("unexpected nl80211 answer while {context}: {detail}")]
    Protocol { context: String, detail: String },
}

/// nl80211_disconnect() also answers EPERM to root when the connection is owned
/// (NL80211_ATTR_SOCKET_OWNER) by another socket, as iwd does.
fn owner_hint(op: &str) -> &'static str {
    if op == Op::Disconnect.label() {
        " (if it already runs as root: another program, such as iwd, owns this connection)"
    } else {
        ""
    }
}

/// What we were asking the kernel when it answered with an errno: names the
/// request in messages and decides how an errno is read (ENOENT means "no
/// such family" for one request and "no such BSS" for another).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    ResolveFamily,
    JoinGroup,
    GetInterface,
    GetWiphy,
    NewInterface,
    DelInterface,
    LinkUp,
    TriggerScan,
    GetScan,
    GetStation,
    Frame,
    Connect { bssid: MacAddr, freq_mhz: u32 },
    Disconnect,
}

impl Op {
    /// The kernel's name for the request, as `iw --debug` and the kernel
    /// sources call it, so messages can be searched for.
    pub fn label(self) -> &'static str {
        match self {
            Op::ResolveFamily => "CTRL_CMD_GETFAMILY(nl80211)",
            Op::JoinGroup => "NETLINK_ADD_MEMBERSHIP",
            Op::GetInterface => "NL80211_CMD_GET_INTERFACE",
            Op::GetWiphy => "NL80211_CMD_GET_WIPHY",
            Op::NewInterface => "NL80211_CMD_NEW_INTERFACE",
            Op::DelInterface => "NL80211_CMD_DEL_INTERFACE",
            Op::LinkUp => "RTM_NEWLINK (set up)",
            Op::TriggerScan => "NL80211_CMD_TRIGGER_SCAN",
            Op::GetScan => "NL80211_CMD_GET_SCAN",
            Op::GetStation => "NL80211_CMD_GET_STATION",
            Op::Frame => "NL80211_CMD_FRAME",
            Op::Connect { .. } => "NL80211_CMD_CONNECT",
            Op::Disconnect => "NL80211_CMD_DISCONNECT",
        }
    }
}

/// Reads a kernel errno in the light of the request that got it. Pure, so
/// the whole table is unit-tested.
pub(crate) fn from_errno(op: Op, iface: &str, errno: Errno) -> Nl80211Error {
    let iface = iface.to_owned();
    match (op, errno) {
        (Op::ResolveFamily, Errno::ENOENT) => Nl80211Error::FamilyNotFound,
        (_, Errno::EPERM | Errno::EACCES) => {
            Nl80211Error::PermissionDenied { op: op.label(), iface }
        }
        // nl80211's pre_doit answers ENODEV when the ifindex has no wireless
        // device behind it (whether or not a netdev with that index exists;
        // callers that can tell the two apart refine this).
        (
            Op::GetInterface
            | Op::DelInterface
            | Op::TriggerScan
            | Op::GetScan
            | Op::GetStation
            | Op::Connect { .. }
            | Op::Disconnect,
            Errno::ENODEV,
        ) => Nl80211Error::NotWireless { iface },
        (_, Errno::ENETDOWN) => Nl80211Error::InterfaceDown { iface },
        (Op::TriggerScan, Errno::EBUSY) => Nl80211Error::ScanBusy { iface },
        (Op::Connect { bssid, freq_mhz }, Errno::ENOENT) => {
            Nl80211Error::BssNotFound { iface, bssid, freq_mhz }
        }
        _ => Nl80211Error::Kernel { op, iface, errno },
    }
}

/// A hint for errnos whose bare text ("Device or resource busy") does not
/// say what to do.
fn hint(op: Op, errno: Errno) -> Option<&'static str> {
    let is = |o: Op| o == op;
    let connect = matches!(op, Op::Connect { .. });
    Some(match errno {
        Errno::EOPNOTSUPP if is(Op::NewInterface) => {
            "the driver cannot create an interface of this type (no monitor mode?)"
        }
        Errno::EOPNOTSUPP => "the driver does not support this operation",
        Errno::ERFKILL => "the radio is blocked by rfkill: run `rfkill unblock wifi`",
        Errno::ENODEV if is(Op::NewInterface) => {
            "no such wireless device (see `iw phy` for the phy numbers)"
        }
        Errno::EBUSY if is(Op::LinkUp) || is(Op::NewInterface) => {
            "the radio cannot run this interface next to its current ones \
             (interface combination limits, or a different channel)"
        }
        Errno::EEXIST if is(Op::NewInterface) => "an interface with this name already exists",
        Errno::EALREADY if connect => {
            "the interface is connected or connecting to another network: disconnect first"
        }
        Errno::EINPROGRESS if connect => "a connection attempt is already in progress",
        Errno::EINVAL if connect => {
            "the kernel rejected the parameters (SSID, or a frequency this radio cannot use)"
        }
        Errno::EINVAL if is(Op::TriggerScan) => {
            "none of the requested frequencies is usable on this radio, or too many SSIDs"
        }
        Errno::ENOLINK | Errno::ENOTCONN => "the interface is not connected",
        _ => return None,
    })
}

impl Nl80211Error {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        // A socket refused for lack of privilege deserves the sudo hint too.
        if source.raw_os_error() == Some(libc::EPERM) {
            return Nl80211Error::PermissionDenied { op: "socket", iface: "nl80211".into() };
        }
        Nl80211Error::Io { context: context.into(), source }
    }

    pub(crate) fn protocol(context: impl Into<String>, detail: impl Into<String>) -> Self {
        Nl80211Error::Protocol { context: context.into(), detail: detail.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BSSID: MacAddr = MacAddr([0x02, 0, 0, 0, 0x01, 0]);

    #[test]
    fn missing_family_says_cfg80211() {
        let err = from_errno(Op::ResolveFamily, "nl80211", Errno::ENOENT);
        assert!(matches!(err, Nl80211Error::FamilyNotFound));
        assert!(err.to_string().starts_with("nl80211 family not found: is cfg80211 loaded?"));
    }

    #[test]
    fn eperm_asks_for_cap_net_admin_whatever_the_request() {
        for op in [Op::TriggerScan, Op::NewInterface, Op::JoinGroup, Op::LinkUp] {
            let err = from_errno(op, "wlan0", Errno::EPERM);
            assert!(matches!(err, Nl80211Error::PermissionDenied { .. }), "{op:?}");
            assert!(err.to_string().contains("needs CAP_NET_ADMIN: run roam with sudo"), "{err}");
        }
    }

    #[test]
    fn eperm_on_disconnect_mentions_a_connection_owner() {
        let err = from_errno(Op::Disconnect, "wlan0", Errno::EPERM);
        assert!(err.to_string().contains("owns this connection"), "{err}");
    }

    #[test]
    fn enodev_means_not_wireless() {
        let err = from_errno(Op::GetInterface, "eth0", Errno::ENODEV);
        assert!(matches!(&err, Nl80211Error::NotWireless { iface } if iface == "eth0"));
        assert_eq!(err.to_string(), "interface eth0 is not a wireless interface (see `iw dev`)");
    }

    #[test]
    fn ebusy_from_trigger_scan_is_scan_busy_but_not_elsewhere() {
        assert!(matches!(
            from_errno(Op::TriggerScan, "wlan0", Errno::EBUSY),
            Nl80211Error::ScanBusy { .. }
        ));
        let other = from_errno(Op::LinkUp, "mon0", Errno::EBUSY);
        assert!(matches!(other, Nl80211Error::Kernel { errno: Errno::EBUSY, .. }));
        assert!(other.to_string().contains("interface combination"), "{other}");
    }

    #[test]
    fn enoent_from_connect_is_bss_not_found_with_the_target() {
        let err = from_errno(Op::Connect { bssid: BSSID, freq_mhz: 2437 }, "wlan0", Errno::ENOENT);
        assert!(matches!(err, Nl80211Error::BssNotFound { bssid: BSSID, freq_mhz: 2437, .. }));
        let text = err.to_string();
        assert!(text.contains("02:00:00:00:01:00"), "{text}");
        assert!(text.contains("2437 MHz"), "{text}");
        assert!(text.contains("scan that frequency first"), "{text}");
    }

    #[test]
    fn enoent_elsewhere_is_a_plain_kernel_error() {
        assert!(matches!(
            from_errno(Op::GetScan, "wlan0", Errno::ENOENT),
            Nl80211Error::Kernel { errno: Errno::ENOENT, .. }
        ));
    }

    #[test]
    fn enetdown_says_how_to_bring_the_interface_up() {
        let err = from_errno(Op::TriggerScan, "wlan0", Errno::ENETDOWN);
        assert_eq!(
            err.to_string(),
            "interface wlan0 is down: bring it up with `ip link set wlan0 up`"
        );
    }

    #[test]
    fn kernel_errors_name_request_interface_errno_and_hint() {
        let err = from_errno(Op::NewInterface, "mon0", Errno::EOPNOTSUPP);
        let text = err.to_string();
        assert!(text.starts_with("NL80211_CMD_NEW_INTERFACE on mon0 failed: EOPNOTSUPP"), "{text}");
        assert!(text.contains("no monitor mode"), "{text}");

        let rfkill = from_errno(Op::LinkUp, "mon0", Errno::ERFKILL).to_string();
        assert!(rfkill.contains("rfkill unblock wifi"), "{rfkill}");

        let already =
            from_errno(Op::Connect { bssid: BSSID, freq_mhz: 5180 }, "wlan0", Errno::EALREADY);
        assert!(already.to_string().contains("disconnect first"), "{already}");
    }

    #[test]
    fn errors_without_a_known_hint_still_read_well() {
        let err = from_errno(Op::GetScan, "wlan0", Errno::EIO);
        assert!(err.to_string().starts_with("NL80211_CMD_GET_SCAN on wlan0 failed: EIO"), "{err}");
        assert!(!err.to_string().contains("()"));
    }

    #[test]
    fn io_eperm_becomes_permission_denied() {
        let err = Nl80211Error::io("opening socket", io::Error::from_raw_os_error(libc::EPERM));
        assert!(matches!(err, Nl80211Error::PermissionDenied { .. }));
        let other = Nl80211Error::io("opening socket", io::Error::from_raw_os_error(libc::EMFILE));
        assert!(other.to_string().starts_with("opening socket: "), "{other}");
    }
}
