//! IEEE 802.11 reason codes (802.11-2020 table 9-49) that matter for roaming decisions.

/// The name of a deauthentication / disassociation reason code.
pub fn reason_name(code: u16) -> &'static str {
    match code {
        1 => "unspecified",
        2 => "previous authentication no longer valid",
        3 => "station leaving (deauthenticated)",
        4 => "disassociated due to inactivity",
        5 => "AP unable to handle all associated stations",
        6 => "class 2 frame from nonauthenticated station",
        7 => "class 3 frame from nonassociated station",
        8 => "station leaving (disassociated)",
        9 => "station not authenticated",
        10 => "power capability unacceptable",
        11 => "supported channels unacceptable",
        12 => "BSS transition management",
        13 => "invalid element",
        14 => "MIC failure",
        15 => "4-way handshake timeout",
        16 => "group key handshake timeout",
        17 => "element differs between handshake and (re)association",
        23 => "IEEE 802.1X authentication failed",
        24 => "cipher suite rejected by policy",
        34 => "too many frames unacknowledged (poor channel conditions)",
        _ => "other",
    }
}

/// Reasons after which the AP is still there and reconnecting to it is worth a try: the AP lost
/// state (class 2/3 frame from a station it forgot) or expired an idle station. wpa_supplicant
/// treats the same set as recoverable for its same-BSS fast reconnect.
pub fn is_recoverable(code: u16) -> bool {
    matches!(code, 4 | 6 | 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_recoverable_set() {
        assert_eq!(reason_name(7), "class 3 frame from nonassociated station");
        assert_eq!(reason_name(9999), "other");
        assert!(is_recoverable(7) && is_recoverable(4) && !is_recoverable(3));
    }
}
