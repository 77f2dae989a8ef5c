//! Parsers for the multi-line `key=value` replies of `STATUS` and
//! `BSS <bssid>` (wpa_supplicant 2.10).

use std::fmt;
use std::str::FromStr;

use super::error::{Result, WpaError};
use roam_common::MacAddr;

/// `wpa_state=` of `STATUS`, wpa_supplicant's `enum wpa_states`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WpaState {
    Disconnected,
    InterfaceDisabled,
    Inactive,
    Scanning,
    Authenticating,
    Associating,
    Associated,
    FourWayHandshake,
    GroupHandshake,
    Completed,
    /// A state newer than this parser; kept rather than failing the reply.
    Unknown(String),
}

const STATE_NAMES: [(&str, WpaState); 10] = [
    ("DISCONNECTED", WpaState::Disconnected),
    ("INTERFACE_DISABLED", WpaState::InterfaceDisabled),
    ("INACTIVE", WpaState::Inactive),
    ("SCANNING", WpaState::Scanning),
    ("AUTHENTICATING", WpaState::Authenticating),
    ("ASSOCIATING", WpaState::Associating),
    ("ASSOCIATED", WpaState::Associated),
    ("4WAY_HANDSHAKE", WpaState::FourWayHandshake),
    ("GROUP_HANDSHAKE", WpaState::GroupHandshake),
    ("COMPLETED", WpaState::Completed),
];

impl WpaState {
    /// Associated and keyed: the only state in which a roam makes sense.
    pub fn is_connected(&self) -> bool {
        *self == WpaState::Completed
    }
}

impl WpaState {
    /// Never fails: an unknown name becomes [`WpaState::Unknown`].
    pub fn from_name(name: &str) -> Self {
        STATE_NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map_or_else(|| WpaState::Unknown(name.to_owned()), |(_, state)| state.clone())
    }
}

impl fmt::Display for WpaState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            WpaState::Unknown(name) => name.as_str(),
            known => {
                STATE_NAMES.iter().find(|(_, state)| state == known).map_or("?", |(name, _)| name)
            }
        };
        f.write_str(name)
    }
}

/// The fields of a `STATUS` reply roam uses. Fields absent in the current
/// state (no `bssid` while disconnected) are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub wpa_state: WpaState,
    pub bssid: Option<MacAddr>,
    pub freq_mhz: Option<u32>,
    /// As printed by wpa_supplicant (non-printable bytes escaped).
    pub ssid: Option<String>,
    /// Network block id in wpa_supplicant's configuration.
    pub network_id: Option<u32>,
    /// `station`, `AP`, `P2P GO`, `mesh`, ...
    pub mode: Option<String>,
    /// `WPA2-PSK`, `SAE`, `FT-PSK`, `NONE`, ...
    pub key_mgmt: Option<String>,
    pub pairwise_cipher: Option<String>,
    pub group_cipher: Option<String>,
    /// The interface's own MAC address.
    pub address: Option<MacAddr>,
    pub ip_address: Option<String>,
}

/// Parses the reply to `STATUS`.
pub fn parse_status(reply: &str) -> Result<Status> {
    let fields = KeyValues::parse("STATUS", reply)?;
    Ok(Status {
        wpa_state: WpaState::from_name(fields.require("wpa_state")?),
        bssid: fields.parsed("bssid")?,
        freq_mhz: fields.parsed("freq")?,
        ssid: fields.text("ssid"),
        network_id: fields.parsed("id")?,
        mode: fields.text("mode"),
        key_mgmt: fields.text("key_mgmt"),
        pairwise_cipher: fields.text("pairwise_cipher"),
        group_cipher: fields.text("group_cipher"),
        address: fields.parsed("address")?,
        ip_address: fields.text("ip_address"),
    })
}

/// One scan table entry, from `BSS <bssid>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bss {
    /// wpa_supplicant's entry id (the one in `CTRL-EVENT-BSS-ADDED`).
    pub id: Option<u32>,
    pub bssid: MacAddr,
    pub freq_mhz: u32,
    /// Signal strength; dBm with every nl80211 driver.
    pub level_dbm: i32,
    /// Seconds since the BSS was last seen in a scan.
    pub age_secs: u32,
    /// In TU, as its beacons or probe responses said (`beacon_int`, absent before 2.x).
    pub beacon_interval_tu: Option<u16>,
    /// As printed by wpa_supplicant (non-printable bytes escaped).
    pub ssid: String,
    /// `[WPA2-PSK-CCMP][ESS]` split into `["WPA2-PSK-CCMP", "ESS"]`.
    pub flags: Vec<String>,
}

/// The APs wpa_supplicant holds a PMKSA for (`PMKSA`: `Index / AA / PMKID / expiration (in
/// seconds) / opportunistic`, then one line per entry): a return to one of them needs no EAP
/// exchange. Lines that are not entries are skipped.
pub fn parse_pmksa(reply: &str) -> Vec<MacAddr> {
    reply
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            fields.next()?.parse::<u32>().ok()?;
            fields.next()?.parse().ok()
        })
        .collect()
}

/// A network block's boolean variable as `GET_NETWORK` prints it (an integer, 0 for no);
/// `None` for `FAIL` (a variable this supplicant does not know) or anything else.
pub fn parse_network_flag(reply: &str) -> Option<bool> {
    reply.trim_end().parse::<i64>().ok().map(|value| value != 0)
}

/// Parses the reply to `BSS <bssid>`. An empty reply is how wpa_supplicant
/// says the BSS is not in its scan table: `Ok(None)`.
pub fn parse_bss(reply: &str) -> Result<Option<Bss>> {
    if reply.trim().is_empty() {
        return Ok(None);
    }
    let fields = KeyValues::parse("BSS", reply)?;
    Ok(Some(Bss {
        id: fields.parsed("id")?,
        bssid: fields.required("bssid")?,
        freq_mhz: fields.required("freq")?,
        level_dbm: fields.required("level")?,
        age_secs: fields.required("age")?,
        beacon_interval_tu: fields.parsed("beacon_int")?,
        ssid: fields.text("ssid").unwrap_or_default(),
        flags: split_flags(fields.text("flags").as_deref().unwrap_or("")),
    }))
}

fn split_flags(flags: &str) -> Vec<String> {
    flags.split(['[', ']']).filter(|flag| !flag.is_empty()).map(str::to_owned).collect()
}

/// The lines of a `key=value` reply. Values run to the end of the line (an
/// SSID may contain `=` and spaces).
struct KeyValues<'a> {
    what: &'static str,
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> KeyValues<'a> {
    fn parse(what: &'static str, reply: &'a str) -> Result<Self> {
        let mut pairs = Vec::new();
        for line in reply.lines().filter(|line| !line.is_empty()) {
            match line.split_once('=') {
                Some(pair) => pairs.push(pair),
                // `FAIL`, `UNKNOWN COMMAND`, or not a reply to this command.
                None => {
                    return Err(WpaError::MalformedReply {
                        what,
                        detail: format!("line {line:?} is not key=value"),
                    })
                }
            }
        }
        Ok(KeyValues { what, pairs })
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }

    fn text(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    fn require(&self, key: &str) -> Result<&'a str> {
        self.get(key).ok_or_else(|| WpaError::MalformedReply {
            what: self.what,
            detail: format!("no {key}= line"),
        })
    }

    /// A present but unparsable value is an error, not `None`: it means we
    /// misunderstand the reply, and guessing would hide that.
    fn parsed<T: FromStr>(&self, key: &str) -> Result<Option<T>> {
        self.get(key).map(|value| self.parse_value(key, value)).transpose()
    }

    fn required<T: FromStr>(&self, key: &str) -> Result<T> {
        self.parse_value(key, self.require(key)?)
    }

    fn parse_value<T: FromStr>(&self, key: &str, value: &str) -> Result<T> {
        value.parse().map_err(|_| WpaError::MalformedReply {
            what: self.what,
            detail: format!("{key}={value:?} does not parse"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wpa_cli -i wlan0 status` while connected (wpa_supplicant 2.10,
    /// mac80211_hwsim).
    const STATUS_COMPLETED: &str = "bssid=02:00:00:00:01:00\n\
        freq=2412\n\
        ssid=roam-test\n\
        id=0\n\
        mode=station\n\
        wifi_generation=4\n\
        pairwise_cipher=CCMP\n\
        group_cipher=CCMP\n\
        key_mgmt=WPA2-PSK\n\
        wpa_state=COMPLETED\n\
        ip_address=10.0.0.2\n\
        p2p_device_address=02:00:00:00:00:00\n\
        address=02:00:00:00:00:00\n\
        uuid=f2d8c1c4-3b7e-5c5d-9a4c-6f1a2b3c4d5e\n\
        ieee80211ac=1\n";

    const STATUS_DISCONNECTED: &str = "wpa_state=DISCONNECTED\n\
        p2p_device_address=02:00:00:00:00:00\n\
        address=02:00:00:00:00:00\n\
        uuid=f2d8c1c4-3b7e-5c5d-9a4c-6f1a2b3c4d5e\n";

    /// `wpa_cli -i wlan0 bss 02:00:00:00:01:00`.
    const BSS_REPLY: &str = "id=1\n\
        bssid=02:00:00:00:01:00\n\
        freq=2412\n\
        beacon_int=100\n\
        capabilities=0x0411\n\
        qual=0\n\
        noise=-92\n\
        level=-30\n\
        tsf=0000001234567890\n\
        age=2\n\
        ie=0009726f616d2d74657374010882848b960c12182403010130140100000fac040100000fac040100000fac020c00\n\
        flags=[WPA2-PSK-CCMP][ESS]\n\
        ssid=roam-test\n\
        snr=62\n\
        est_throughput=65000\n\
        update_idx=3\n\
        beacon_ie=0009726f616d2d74657374\n";

    #[test]
    fn status_when_completed() {
        let status = parse_status(STATUS_COMPLETED).unwrap();
        assert_eq!(status.wpa_state, WpaState::Completed);
        assert!(status.wpa_state.is_connected());
        assert_eq!(status.bssid, Some(MacAddr([2, 0, 0, 0, 1, 0])));
        assert_eq!(status.freq_mhz, Some(2412));
        assert_eq!(status.ssid.as_deref(), Some("roam-test"));
        assert_eq!(status.network_id, Some(0));
        assert_eq!(status.mode.as_deref(), Some("station"));
        assert_eq!(status.key_mgmt.as_deref(), Some("WPA2-PSK"));
        assert_eq!(status.pairwise_cipher.as_deref(), Some("CCMP"));
        assert_eq!(status.group_cipher.as_deref(), Some("CCMP"));
        assert_eq!(status.address, Some(MacAddr([2, 0, 0, 0, 0, 0])));
        assert_eq!(status.ip_address.as_deref(), Some("10.0.0.2"));
    }

    #[test]
    fn status_when_disconnected_has_no_bss_fields() {
        let status = parse_status(STATUS_DISCONNECTED).unwrap();
        assert_eq!(status.wpa_state, WpaState::Disconnected);
        assert!(!status.wpa_state.is_connected());
        assert_eq!(status.bssid, None);
        assert_eq!(status.freq_mhz, None);
        assert_eq!(status.ssid, None);
    }

    #[test]
    fn every_wpa_state_round_trips() {
        for (name, state) in STATE_NAMES {
            let parsed = WpaState::from_name(name);
            assert_eq!(parsed, state);
            assert_eq!(parsed.to_string(), name);
        }
        let future = WpaState::from_name("SOMETHING_NEW");
        assert_eq!(future, WpaState::Unknown("SOMETHING_NEW".into()));
        assert_eq!(future.to_string(), "SOMETHING_NEW");
    }

    #[test]
    fn status_rejects_fail_and_broken_values() {
        assert!(matches!(
            parse_status("FAIL\n"),
            Err(WpaError::MalformedReply { what: "STATUS", .. })
        ));
        let err = parse_status("wpa_state=COMPLETED\nbssid=zz\n").unwrap_err();
        assert!(err.to_string().contains("bssid"), "{err}");
        let err = parse_status("address=02:00:00:00:00:00\n").unwrap_err();
        assert!(err.to_string().contains("no wpa_state= line"), "{err}");
    }

    #[test]
    fn status_ssid_keeps_equals_signs() {
        let status = parse_status("wpa_state=COMPLETED\nssid=a=b c\n").unwrap();
        assert_eq!(status.ssid.as_deref(), Some("a=b c"));
    }

    #[test]
    fn bss_entry() {
        let bss = parse_bss(BSS_REPLY).unwrap().expect("entry present");
        assert_eq!(
            bss,
            Bss {
                id: Some(1),
                bssid: MacAddr([2, 0, 0, 0, 1, 0]),
                freq_mhz: 2412,
                level_dbm: -30,
                age_secs: 2,
                beacon_interval_tu: Some(100),
                ssid: "roam-test".into(),
                flags: vec!["WPA2-PSK-CCMP".into(), "ESS".into()],
            }
        );
    }

    #[test]
    fn bss_not_in_table_is_none() {
        assert_eq!(parse_bss("").unwrap(), None);
        assert_eq!(parse_bss("\n").unwrap(), None);
    }

    #[test]
    fn bss_missing_required_field_is_an_error() {
        let without_level = BSS_REPLY.replace("level=-30\n", "");
        let err = parse_bss(&without_level).unwrap_err();
        assert!(err.to_string().contains("no level= line"), "{err}");
        assert!(parse_bss("FAIL\n").is_err());
    }

    #[test]
    fn a_network_flag_reads_as_its_integer() {
        assert_eq!(parse_network_flag("0\n"), Some(false));
        assert_eq!(parse_network_flag("1"), Some(true));
        assert_eq!(parse_network_flag("FAIL\n"), None);
        assert_eq!(parse_network_flag(""), None);
    }
}
