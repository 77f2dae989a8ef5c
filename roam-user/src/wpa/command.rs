//! Builders for the control commands roam sends. Arguments are typed or
//! checked here so a bad value fails in roam with a clear message instead of
//! as a bare `FAIL` from wpa_supplicant.

use super::error::{Result, WpaError};
use roam_common::MacAddr;

pub const PING: &str = "PING";
pub const STATUS: &str = "STATUS";
pub const ATTACH: &str = "ATTACH";
pub const DETACH: &str = "DETACH";
/// Connect again, with the network's current configuration (its BSSID pin, if any).
pub const REASSOCIATE: &str = "REASSOCIATE";
/// Leave the current AP, and stay disconnected until `REASSOCIATE`.
pub const DISCONNECT: &str = "DISCONNECT";
/// wpa_supplicant's ignore list, one BSSID a line (2.10's name).
pub const BSSID_IGNORE: &str = "BSSID_IGNORE";
/// The same before 2.10.
pub const BLACKLIST: &str = "BLACKLIST";
/// How long wpa_supplicant's last scan results may be used to connect without a new scan.
pub const SCAN_RESULTS_VALID_FOR_CONNECT: &str = "scan_res_valid_for_connect";

/// `BSSID <network id> <bssid>`: pins the network to one BSS (00:00:00:00:00:00 unpins).
pub fn network_bssid(network_id: u32, bssid: MacAddr) -> String {
    format!("BSSID {network_id} {bssid}")
}

/// `GET_NETWORK <network id> <name>`: a network block's variable (FAIL when it is unset).
pub fn get_network(network_id: u32, name: &str) -> String {
    format!("GET_NETWORK {network_id} {name}")
}

/// `SET <name> <value>`: a global parameter.
pub fn set(name: &str, value: &str) -> String {
    format!("SET {name} {value}")
}

/// `GET <name>`: a global parameter's value.
pub fn get(name: &str) -> String {
    format!("GET {name}")
}

/// `ROAM <bssid>`: reassociate to another BSS of the current ESS. The target
/// must already be in wpa_supplicant's scan table.
pub fn roam(bssid: MacAddr) -> String {
    format!("ROAM {bssid}")
}

/// `BSS <bssid>`: one entry of the scan table (see
/// [`parse_bss`](super::parse_bss)).
pub fn bss(bssid: MacAddr) -> String {
    format!("BSS {bssid}")
}

/// `SCAN freq=2412,2437`: a scan limited to the given channels, which is
/// what keeps a pre-roam scan short.
///
/// Frequencies are in MHz and must lie in a Wi-Fi band (2.4, 4.9/5, 6 or
/// 60 GHz); an empty list is refused because wpa_supplicant would treat it
/// as a full scan, the opposite of what the caller asked for.
pub fn scan_freq(freqs_mhz: &[u32]) -> Result<String> {
    if freqs_mhz.is_empty() {
        return Err(WpaError::InvalidArgument("SCAN freq= needs at least one frequency".into()));
    }
    if let Some(bad) = freqs_mhz.iter().find(|&&f| !is_wifi_frequency(f)) {
        return Err(WpaError::InvalidArgument(format!(
            "{bad} MHz is not a Wi-Fi channel frequency (expected 2400-7125 or 57000-71000 MHz)"
        )));
    }
    let list: Vec<String> = freqs_mhz.iter().map(u32::to_string).collect();
    Ok(format!("SCAN freq={}", list.join(",")))
}

fn is_wifi_frequency(mhz: u32) -> bool {
    (2_400..=7_125).contains(&mhz) || (57_000..=71_000).contains(&mhz)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BSSID: MacAddr = MacAddr([0x02, 0, 0, 0, 0x02, 0]);

    #[test]
    fn pin_and_parameters() {
        let ap: MacAddr = "02:00:00:00:01:00".parse().unwrap();
        assert_eq!(network_bssid(3, ap), "BSSID 3 02:00:00:00:01:00");
        assert_eq!(network_bssid(3, MacAddr::UNSET), "BSSID 3 00:00:00:00:00:00");
        assert_eq!(set(SCAN_RESULTS_VALID_FOR_CONNECT, "5"), "SET scan_res_valid_for_connect 5");
        assert_eq!(get(SCAN_RESULTS_VALID_FOR_CONNECT), "GET scan_res_valid_for_connect");
    }

    #[test]
    fn roam_and_bss_use_canonical_bssid() {
        assert_eq!(roam(BSSID), "ROAM 02:00:00:00:02:00");
        assert_eq!(bss(BSSID), "BSS 02:00:00:00:02:00");
    }

    #[test]
    fn scan_freq_joins_with_commas() {
        assert_eq!(scan_freq(&[2412, 2437]).unwrap(), "SCAN freq=2412,2437");
        assert_eq!(scan_freq(&[5180]).unwrap(), "SCAN freq=5180");
        assert_eq!(scan_freq(&[5955, 60480]).unwrap(), "SCAN freq=5955,60480");
    }

    #[test]
    fn scan_freq_rejects_empty_and_non_wifi_frequencies() {
        assert!(matches!(scan_freq(&[]), Err(WpaError::InvalidArgument(_))));
        // Channel numbers instead of MHz are the likely mistake.
        let err = scan_freq(&[2412, 6]).unwrap_err();
        assert!(err.to_string().contains("6 MHz"), "{err}");
        assert!(scan_freq(&[0]).is_err());
        assert!(scan_freq(&[8000]).is_err());
    }
}
