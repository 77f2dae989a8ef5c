//! Unsolicited wpa_supplicant messages ("events") and their parser.
//!
//! Formats are those of wpa_supplicant 2.10 (`wpa_msg()` calls in
//! `events.c`, `sme.c`, `wpa_supplicant.c` and `bss.c`). Events reach only
//! sockets that sent `ATTACH` and start with `<level>`; through the global
//! control interface they are also prefixed with `IFNAME=<iface> `.

use roam_common::MacAddr;

/// The noise value wpa_supplicant reports when the driver gives none
/// (`WPA_INVALID_NOISE`).
const INVALID_NOISE: i32 = 9999;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WpaEvent {
    /// `CTRL-EVENT-CONNECTED`: association and key handshake done; data flows.
    Connected {
        bssid: MacAddr,
    },
    /// `CTRL-EVENT-DISCONNECTED`. `reason` is the IEEE 802.11 reason code;
    /// `locally_generated` tells our own deauth from the AP's.
    Disconnected {
        bssid: MacAddr,
        reason: u16,
        locally_generated: bool,
    },
    /// `CTRL-EVENT-BEACON-LOSS`: the driver stopped hearing the AP.
    BeaconLoss,
    ScanStarted,
    /// `CTRL-EVENT-SCAN-RESULTS`: the scan table was refreshed.
    ScanResults,
    /// `CTRL-EVENT-SIGNAL-CHANGE`: the signal crossed the configured
    /// `bgscan`/CQM threshold (`above_threshold` says which way).
    SignalChange {
        above_threshold: bool,
        signal_dbm: i32,
        /// `None` when the driver does not report noise.
        noise_dbm: Option<i32>,
        tx_rate_kbps: Option<u32>,
    },
    /// `SME: Trying to authenticate with ...` (drivers where
    /// wpa_supplicant runs the SME, e.g. mac80211).
    Authenticating {
        bssid: MacAddr,
        /// As wpa_supplicant prints it: non-printable bytes `\x`-escaped.
        ssid: String,
        freq_mhz: u32,
    },
    /// `Trying to associate with ...`.
    Associating {
        bssid: MacAddr,
        ssid: String,
        freq_mhz: u32,
    },
    /// `Associated with <bssid>`: associated, keys not yet installed.
    Associated {
        bssid: MacAddr,
    },
    /// `WPA: Key negotiation completed with <bssid> ...`.
    KeyNegotiationCompleted {
        bssid: MacAddr,
    },
    /// `CTRL-EVENT-EAP-STARTED`: an EAP exchange began (no cached key spared it).
    EapStarted,
    /// `CTRL-EVENT-EAP-SUCCESS`: it succeeded.
    EapSucceeded,
    /// `CTRL-EVENT-BSS-ADDED <id> <bssid>`: a new scan table entry.
    BssAdded {
        id: u32,
        bssid: MacAddr,
    },
    /// `CTRL-EVENT-BSS-REMOVED <id> <bssid>`: an entry aged out.
    BssRemoved {
        id: u32,
        bssid: MacAddr,
    },
    /// `CTRL-EVENT-SSID-TEMP-DISABLED`: repeated failures (e.g. a wrong
    /// key) made wpa_supplicant stop trying this network for a while.
    SsidTempDisabled {
        network_id: u32,
        ssid: String,
        auth_failures: u32,
        duration_secs: u32,
        reason: String,
    },
    /// `CTRL-EVENT-ASSOC-REJECT`: the AP refused the association (or it timed out).
    AssocRejected {
        /// Absent when wpa_supplicant did not know it (an association that timed out early).
        bssid: Option<MacAddr>,
        /// The IEEE 802.11 status code (0 with a timeout).
        status_code: u16,
    },
    /// `CTRL-EVENT-AUTH-REJECT <bssid> ...`: the AP refused the authentication.
    AuthRejected {
        bssid: MacAddr,
        status_code: u16,
    },
    /// `CTRL-EVENT-NETWORK-NOT-FOUND`: a scan found no BSS the network may use (a pinned
    /// BSS that is gone).
    NetworkNotFound,
    /// `CTRL-EVENT-TERMINATING`: wpa_supplicant is exiting; no more
    /// events will come on this socket.
    Terminating,
    /// Anything else, or a known event whose fields did not parse, without
    /// its `<level>` prefix.
    Other(String),
}

/// Parses one unsolicited message. Never fails: what it does not recognise
/// comes back as [`WpaEvent::Other`] so the caller can still log it.
pub fn parse_event(msg: &str) -> WpaEvent {
    let body = strip_prefixes(msg).trim_end_matches(['\n', '\r']);
    parse_body(body).unwrap_or_else(|| WpaEvent::Other(body.to_owned()))
}

/// Strips `IFNAME=wlan0 ` (global control interface) and `<3>` (level).
fn strip_prefixes(msg: &str) -> &str {
    let msg = match msg.strip_prefix("IFNAME=") {
        Some(rest) => rest.split_once(' ').map_or("", |(_, after)| after),
        None => msg,
    };
    match msg.strip_prefix('<').and_then(|rest| rest.split_once('>')) {
        Some((level, body)) if level.bytes().all(|b| b.is_ascii_digit()) => body,
        _ => msg,
    }
}

fn parse_body(body: &str) -> Option<WpaEvent> {
    // Events whose name is followed by fields (or nothing, sometimes with a
    // trailing space as in "CTRL-EVENT-SCAN-STARTED ").
    let (name, args) = body.split_once(' ').unwrap_or((body, ""));
    let event = match name {
        "CTRL-EVENT-CONNECTED" => WpaEvent::Connected {
            bssid: mac(args.strip_prefix("- Connection to ")?.split(' ').next()?)?,
        },
        "CTRL-EVENT-DISCONNECTED" => {
            let fields = Fields::new(args);
            WpaEvent::Disconnected {
                bssid: mac(fields.get("bssid")?)?,
                reason: fields.get("reason")?.parse().ok()?,
                locally_generated: fields.get("locally_generated") == Some("1"),
            }
        }
        "CTRL-EVENT-BEACON-LOSS" => WpaEvent::BeaconLoss,
        "CTRL-EVENT-EAP-STARTED" => WpaEvent::EapStarted,
        "CTRL-EVENT-EAP-SUCCESS" => WpaEvent::EapSucceeded,
        "CTRL-EVENT-SCAN-STARTED" => WpaEvent::ScanStarted,
        "CTRL-EVENT-SCAN-RESULTS" => WpaEvent::ScanResults,
        "CTRL-EVENT-TERMINATING" => WpaEvent::Terminating,
        "CTRL-EVENT-SIGNAL-CHANGE" => {
            let fields = Fields::new(args);
            let noise: i32 = fields.get("noise")?.parse().ok()?;
            WpaEvent::SignalChange {
                above_threshold: fields.get("above")? == "1",
                signal_dbm: fields.get("signal")?.parse().ok()?,
                noise_dbm: (noise != INVALID_NOISE).then_some(noise),
                tx_rate_kbps: fields.get("txrate").and_then(|rate| rate.parse().ok()),
            }
        }
        "CTRL-EVENT-BSS-ADDED" | "CTRL-EVENT-BSS-REMOVED" => {
            let (id, bssid) = args.trim().split_once(' ')?;
            let (id, bssid) = (id.parse().ok()?, mac(bssid)?);
            if name == "CTRL-EVENT-BSS-ADDED" {
                WpaEvent::BssAdded { id, bssid }
            } else {
                WpaEvent::BssRemoved { id, bssid }
            }
        }
        "CTRL-EVENT-ASSOC-REJECT" => {
            let fields = Fields::new(args);
            WpaEvent::AssocRejected {
                bssid: fields.get("bssid").and_then(mac).filter(|b| !b.is_unset()),
                status_code: fields.get("status_code")?.parse().ok()?,
            }
        }
        "CTRL-EVENT-AUTH-REJECT" => {
            let (bssid, rest) = args.trim().split_once(' ')?;
            WpaEvent::AuthRejected {
                bssid: mac(bssid)?,
                status_code: Fields::new(rest).get("status_code")?.parse().ok()?,
            }
        }
        "CTRL-EVENT-NETWORK-NOT-FOUND" => WpaEvent::NetworkNotFound,
        "CTRL-EVENT-SSID-TEMP-DISABLED" => {
            let fields = Fields::new(args);
            WpaEvent::SsidTempDisabled {
                network_id: fields.get("id")?.parse().ok()?,
                ssid: fields.get("ssid")?.to_owned(),
                auth_failures: fields.get("auth_failures")?.parse().ok()?,
                duration_secs: fields.get("duration")?.parse().ok()?,
                reason: fields.get("reason").unwrap_or_default().to_owned(),
            }
        }
        _ => return parse_sentence(body),
    };
    Some(event)
}

/// The progress messages that are plain sentences rather than
/// `CTRL-EVENT-*` names.
fn parse_sentence(body: &str) -> Option<WpaEvent> {
    if let Some(rest) = body.strip_prefix("SME: Trying to authenticate with ") {
        let (bssid, ssid, freq_mhz) = bssid_ssid_freq(rest)?;
        return Some(WpaEvent::Authenticating { bssid, ssid, freq_mhz });
    }
    if let Some(rest) = body.strip_prefix("Trying to associate with ") {
        let (bssid, ssid, freq_mhz) = bssid_ssid_freq(rest)?;
        return Some(WpaEvent::Associating { bssid, ssid, freq_mhz });
    }
    if let Some(rest) = body.strip_prefix("Associated with ") {
        return Some(WpaEvent::Associated { bssid: mac(rest.trim_end())? });
    }
    if let Some(rest) = body.strip_prefix("WPA: Key negotiation completed with ") {
        return Some(WpaEvent::KeyNegotiationCompleted { bssid: mac(rest.split(' ').next()?)? });
    }
    None
}

/// Parses `02:00:00:00:02:00 (SSID='roam-test' freq=2412 MHz)`. The SSID
/// sits between the first `SSID='` and the last `' freq=`, so quotes and
/// spaces inside it do not confuse the split.
fn bssid_ssid_freq(rest: &str) -> Option<(MacAddr, String, u32)> {
    let (bssid, details) = rest.split_once(" (SSID='")?;
    let (ssid, freq) = details.rsplit_once("' freq=")?;
    let freq_mhz = freq.strip_suffix(" MHz)")?.parse().ok()?;
    Some((mac(bssid)?, ssid.to_owned(), freq_mhz))
}

fn mac(text: &str) -> Option<MacAddr> {
    text.parse().ok()
}

/// `key=value` fields separated by spaces, where a value may be
/// double-quoted (`ssid="my net"`). Quoted values keep wpa_supplicant's
/// escaping (`\"`, `\\`) verbatim; only the surrounding quotes go.
struct Fields<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl<'a> Fields<'a> {
    fn new(text: &'a str) -> Self {
        let mut pairs = Vec::new();
        let mut rest = text.trim_start();
        while !rest.is_empty() {
            let Some((key, after_eq)) = rest.split_once('=') else {
                break;
            };
            // A key never contains spaces; if it does we have walked into
            // free text and stop.
            if key.contains(' ') {
                break;
            }
            let (value, remainder) = match after_eq.strip_prefix('"') {
                Some(quoted) => {
                    let end = closing_quote(quoted).unwrap_or(quoted.len());
                    (&quoted[..end], quoted.get(end + 1..).unwrap_or(""))
                }
                None => after_eq.split_once(' ').unwrap_or((after_eq, "")),
            };
            pairs.push((key, value));
            rest = remainder.trim_start();
        }
        Fields { pairs }
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
    }
}

/// Index of the first `"` not escaped by a backslash.
fn closing_quote(quoted: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, byte) in quoted.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'"' => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bssid(text: &str) -> MacAddr {
        text.parse().unwrap()
    }

    #[test]
    fn eap_exchanges() {
        assert_eq!(
            parse_event("<3>CTRL-EVENT-EAP-STARTED EAP authentication started"),
            WpaEvent::EapStarted
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-EAP-SUCCESS EAP authentication completed successfully"),
            WpaEvent::EapSucceeded
        );
    }

    #[test]
    fn connected() {
        assert_eq!(
            parse_event(
                "<3>CTRL-EVENT-CONNECTED - Connection to 02:00:00:00:01:00 completed [id=0 id_str=]"
            ),
            WpaEvent::Connected {
                bssid: bssid("02:00:00:00:01:00")
            }
        );
    }

    #[test]
    fn disconnected_locally_and_by_the_ap() {
        assert_eq!(
            parse_event(
                "<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:01:00 reason=4 locally_generated=1"
            ),
            WpaEvent::Disconnected {
                bssid: bssid("02:00:00:00:01:00"),
                reason: 4,
                locally_generated: true,
            }
        );
        // The AP's deauth carries no locally_generated field at all.
        assert_eq!(
            parse_event("<3>CTRL-EVENT-DISCONNECTED bssid=02:00:00:00:02:00 reason=3"),
            WpaEvent::Disconnected {
                bssid: bssid("02:00:00:00:02:00"),
                reason: 3,
                locally_generated: false,
            }
        );
    }

    #[test]
    fn field_less_events_with_and_without_trailing_space() {
        assert_eq!(parse_event("<3>CTRL-EVENT-BEACON-LOSS"), WpaEvent::BeaconLoss);
        assert_eq!(parse_event("<3>CTRL-EVENT-SCAN-STARTED "), WpaEvent::ScanStarted);
        assert_eq!(parse_event("<3>CTRL-EVENT-SCAN-RESULTS "), WpaEvent::ScanResults);
        assert_eq!(parse_event("<3>CTRL-EVENT-TERMINATING"), WpaEvent::Terminating);
    }

    #[test]
    fn signal_change_treats_9999_as_no_noise() {
        assert_eq!(
            parse_event("<3>CTRL-EVENT-SIGNAL-CHANGE above=1 signal=-45 noise=9999 txrate=54000"),
            WpaEvent::SignalChange {
                above_threshold: true,
                signal_dbm: -45,
                noise_dbm: None,
                tx_rate_kbps: Some(54000),
            }
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-SIGNAL-CHANGE above=0 signal=-78 noise=-92 txrate=6500"),
            WpaEvent::SignalChange {
                above_threshold: false,
                signal_dbm: -78,
                noise_dbm: Some(-92),
                tx_rate_kbps: Some(6500),
            }
        );
    }

    #[test]
    fn association_progress() {
        assert_eq!(
            parse_event("<3>SME: Trying to authenticate with 02:00:00:00:02:00 (SSID='roam-test' freq=2437 MHz)"),
            WpaEvent::Authenticating {
                bssid: bssid("02:00:00:00:02:00"),
                ssid: "roam-test".into(),
                freq_mhz: 2437,
            }
        );
        assert_eq!(
            parse_event(
                "<3>Trying to associate with 02:00:00:00:02:00 (SSID='roam-test' freq=2412 MHz)"
            ),
            WpaEvent::Associating {
                bssid: bssid("02:00:00:00:02:00"),
                ssid: "roam-test".into(),
                freq_mhz: 2412,
            }
        );
        assert_eq!(
            parse_event("<3>Associated with 02:00:00:00:02:00"),
            WpaEvent::Associated { bssid: bssid("02:00:00:00:02:00") }
        );
        assert_eq!(
            parse_event(
                "<3>WPA: Key negotiation completed with 02:00:00:00:02:00 [PTK=CCMP GTK=CCMP]"
            ),
            WpaEvent::KeyNegotiationCompleted { bssid: bssid("02:00:00:00:02:00") }
        );
    }

    #[test]
    fn ssid_with_quote_and_freq_text_inside() {
        assert_eq!(
            parse_event("<3>Trying to associate with 02:00:00:00:02:00 (SSID='it's freq=1 x' freq=5180 MHz)"),
            WpaEvent::Associating {
                bssid: bssid("02:00:00:00:02:00"),
                ssid: "it's freq=1 x".into(),
                freq_mhz: 5180,
            }
        );
    }

    #[test]
    fn bss_table_changes() {
        assert_eq!(
            parse_event("<3>CTRL-EVENT-BSS-ADDED 1 02:00:00:00:02:00"),
            WpaEvent::BssAdded { id: 1, bssid: bssid("02:00:00:00:02:00") }
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-BSS-REMOVED 1 02:00:00:00:02:00"),
            WpaEvent::BssRemoved { id: 1, bssid: bssid("02:00:00:00:02:00") }
        );
    }

    #[test]
    fn ssid_temp_disabled_with_quoted_ssid() {
        assert_eq!(
            parse_event(
                "<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid=\"roam \\\"test\\\"\" auth_failures=1 duration=10 reason=WRONG_KEY"
            ),
            WpaEvent::SsidTempDisabled {
                network_id: 0,
                ssid: "roam \\\"test\\\"".into(),
                auth_failures: 1,
                duration_secs: 10,
                reason: "WRONG_KEY".into(),
            }
        );
    }

    #[test]
    fn rejections_and_a_network_not_found_are_events_of_their_own() {
        // As wpa_supplicant 2.10 prints them (events.c, sme.c).
        assert_eq!(
            parse_event("<3>CTRL-EVENT-ASSOC-REJECT bssid=02:00:00:00:01:00 status_code=17"),
            WpaEvent::AssocRejected { bssid: Some(bssid("02:00:00:00:01:00")), status_code: 17 }
        );
        assert_eq!(
            parse_event(
                "<3>CTRL-EVENT-ASSOC-REJECT bssid=00:00:00:00:00:00 status_code=1 timeout=1"
            ),
            WpaEvent::AssocRejected { bssid: None, status_code: 1 }
        );
        assert_eq!(
            parse_event(
                "<3>CTRL-EVENT-AUTH-REJECT 02:00:00:00:01:00 auth_type=0 auth_transaction=2 status_code=1"
            ),
            WpaEvent::AuthRejected { bssid: bssid("02:00:00:00:01:00"), status_code: 1 }
        );
        assert_eq!(parse_event("<3>CTRL-EVENT-NETWORK-NOT-FOUND "), WpaEvent::NetworkNotFound);
    }

    #[test]
    fn global_interface_prefix_and_other_levels_are_stripped() {
        assert_eq!(parse_event("IFNAME=wlan0 <2>CTRL-EVENT-SCAN-RESULTS "), WpaEvent::ScanResults);
    }

    #[test]
    fn unknown_and_garbled_events_become_other_without_level() {
        assert_eq!(
            parse_event("<3>CTRL-EVENT-REGDOM-CHANGE init=CORE type=WORLD\n"),
            WpaEvent::Other("CTRL-EVENT-REGDOM-CHANGE init=CORE type=WORLD".into())
        );
        // A known name with a broken field must not be guessed at.
        assert_eq!(
            parse_event("<3>CTRL-EVENT-DISCONNECTED bssid=nonsense reason=4"),
            WpaEvent::Other("CTRL-EVENT-DISCONNECTED bssid=nonsense reason=4".into())
        );
        assert_eq!(
            parse_event("<3>CTRL-EVENT-CONNECTED"),
            WpaEvent::Other("CTRL-EVENT-CONNECTED".into())
        );
        assert_eq!(parse_event("<x>hello"), WpaEvent::Other("<x>hello".into()));
    }
}
