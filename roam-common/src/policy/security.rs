//! Whether a BSS offers the security the station's network uses: a roam target must, or the
//! roam is a downgrade (a WPA2-PSK ghost of a WPA3 network) or a connection that cannot work.
//!
//! The network's side is what the station negotiated (one protocol, AKM and pairwise cipher);
//! the BSS's side is what it advertises (any number of each, in a WPA and an RSN element). A
//! BSS is admitted when it offers the negotiated triple. Anything roam cannot name is
//! [`NetworkSecurity::Unknown`], and the caller falls back to the privacy bit: never a reason to
//! refuse a BSS that the manager would accept.

use core::marker::PhantomData;

/// An authentication and key management suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Akm {
    Eap,
    Psk,
    FtEap,
    FtPsk,
    EapSha256,
    PskSha256,
    Sae,
    FtSae,
    SaeExtKey,
    FtSaeExtKey,
    EapSuiteB,
    EapSuiteB192,
    EapSha384,
    FtEapSha384,
    FilsSha256,
    FilsSha384,
    FtFilsSha256,
    FtFilsSha384,
    Owe,
    Dpp,
    Osen,
}

impl Akm {
    /// Authenticates with 802.1X/EAP: a connection without a cached PMKSA runs a full EAP
    /// exchange.
    pub fn is_eap(self) -> bool {
        matches!(
            self,
            Akm::Eap
                | Akm::FtEap
                | Akm::EapSha256
                | Akm::EapSuiteB
                | Akm::EapSuiteB192
                | Akm::EapSha384
                | Akm::FtEapSha384
                | Akm::FilsSha256
                | Akm::FilsSha384
                | Akm::FtFilsSha256
                | Akm::FtFilsSha384
        )
    }

    /// A fast transition over 802.1X. A reconnection here (after a deauthentication, or a
    /// fast transition that failed) is an FT initial association, in which wpa_supplicant
    /// offers a cached PMKSA only where the network block allows it (`ft_eap_pmksa_caching`,
    /// off by default: an AP that derives the FT keys from a cached PMK as hostapd did before
    /// 2.9 fails the handshake). Otherwise every reconnection runs a full EAP exchange.
    pub fn is_ft_eap(self) -> bool {
        matches!(self, Akm::FtEap | Akm::FtEapSha384)
    }

    /// Its name in labels, logs and `roam status`: wpa_supplicant's key_mgmt, lowercase.
    pub fn name(self) -> &'static str {
        match self {
            Akm::Eap => "eap",
            Akm::Psk => "psk",
            Akm::FtEap => "ft-eap",
            Akm::FtPsk => "ft-psk",
            Akm::EapSha256 => "eap-sha256",
            Akm::PskSha256 => "psk-sha256",
            Akm::Sae => "sae",
            Akm::FtSae => "ft-sae",
            Akm::SaeExtKey => "sae-ext-key",
            Akm::FtSaeExtKey => "ft-sae-ext-key",
            Akm::EapSuiteB => "eap-suite-b",
            Akm::EapSuiteB192 => "eap-suite-b-192",
            Akm::EapSha384 => "eap-sha384",
            Akm::FtEapSha384 => "ft-eap-sha384",
            Akm::FilsSha256 => "fils-sha256",
            Akm::FilsSha384 => "fils-sha384",
            Akm::FtFilsSha256 => "ft-fils-sha256",
            Akm::FtFilsSha384 => "ft-fils-sha384",
            Akm::Owe => "owe",
            Akm::Dpp => "dpp",
            Akm::Osen => "osen",
        }
    }
}

/// A pairwise cipher suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Cipher {
    Tkip,
    Ccmp,
    Ccmp256,
    Gcmp,
    Gcmp256,
}

/// A suite that fits a bit of a [`SuiteSet`]: its discriminant.
pub trait Suite: Copy {
    fn bit(self) -> u32;
}

impl Suite for Akm {
    fn bit(self) -> u32 {
        1 << self as u8
    }
}

impl Suite for Cipher {
    fn bit(self) -> u32 {
        1 << self as u8
    }
}

/// A set of suites of one kind (no_std, no allocation: one bit each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteSet<T>(u32, PhantomData<T>);

impl<T> Default for SuiteSet<T> {
    fn default() -> Self {
        SuiteSet(0, PhantomData)
    }
}

impl<T: Suite> SuiteSet<T> {
    pub fn with(self, suite: T) -> Self {
        SuiteSet(self.0 | suite.bit(), PhantomData)
    }
    pub fn contains(self, suite: T) -> bool {
        self.0 & suite.bit() != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// A set of AKMs.
pub type AkmSet = SuiteSet<Akm>;
/// A set of pairwise ciphers.
pub type CipherSet = SuiteSet<Cipher>;

/// What one WPA or RSN element offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Suites {
    pub akms: AkmSet,
    pub pairwise: CipherSet,
}

impl Suites {
    fn offer(&self, akm: Akm, pairwise: Cipher) -> bool {
        self.akms.contains(akm) && self.pairwise.contains(pairwise)
    }
}

/// The element a protected network's keys come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// The vendor WPA element (WPA1).
    Wpa,
    /// The RSN element (WPA2, WPA3).
    Rsn,
}

/// What a BSS advertises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BssSecurity {
    pub wpa: Option<Suites>,
    pub rsn: Option<Suites>,
    /// Privacy without a WPA or RSN element.
    pub wep: bool,
}

impl BssSecurity {
    pub fn is_open(&self) -> bool {
        self.wpa.is_none() && self.rsn.is_none() && !self.wep
    }
}

/// The security the station negotiated with its current AP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetworkSecurity {
    Open,
    Wep,
    Protected {
        proto: Proto,
        akm: Akm,
        pairwise: Cipher,
    },
    /// Something roam does not name (an AKM or cipher it does not know, no status yet).
    Unknown,
}

impl NetworkSecurity {
    /// The station authenticates with 802.1X/EAP: a roam to a BSS without a cached key runs
    /// a full EAP exchange.
    pub fn is_enterprise(&self) -> bool {
        matches!(self, NetworkSecurity::Protected { akm, .. } if akm.is_eap())
    }

    /// See [`Akm::is_ft_eap`].
    pub fn is_ft_eap(&self) -> bool {
        matches!(self, NetworkSecurity::Protected { akm, .. } if akm.is_ft_eap())
    }

    /// The authentication the station uses, for labels and `roam status`: an AKM's name, or
    /// `open`, `wep`, `unknown`.
    pub fn akm_name(&self) -> &'static str {
        match self {
            NetworkSecurity::Open => "open",
            NetworkSecurity::Wep => "wep",
            NetworkSecurity::Protected { akm, .. } => akm.name(),
            NetworkSecurity::Unknown => "unknown",
        }
    }

    /// Whether `bss` offers what the station uses; `None` when the network's security is
    /// unknown and only the privacy bit can be compared.
    pub fn admits(&self, bss: &BssSecurity) -> Option<bool> {
        match *self {
            NetworkSecurity::Open => Some(bss.is_open()),
            NetworkSecurity::Wep => Some(bss.wep && bss.wpa.is_none() && bss.rsn.is_none()),
            NetworkSecurity::Protected { proto, akm, pairwise } => {
                let element = match proto {
                    Proto::Wpa => bss.wpa,
                    Proto::Rsn => bss.rsn,
                };
                Some(element.is_some_and(|s| s.offer(akm, pairwise)))
            }
            NetworkSecurity::Unknown => None,
        }
    }

    /// Whether the network is protected at all; `None` when unknown.
    pub fn is_protected(&self) -> Option<bool> {
        match self {
            NetworkSecurity::Open => Some(false),
            NetworkSecurity::Wep | NetworkSecurity::Protected { .. } => Some(true),
            NetworkSecurity::Unknown => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsn(akms: &[Akm], ciphers: &[Cipher]) -> Suites {
        Suites {
            akms: akms.iter().fold(AkmSet::default(), |s, a| s.with(*a)),
            pairwise: ciphers.iter().fold(CipherSet::default(), |s, c| s.with(*c)),
        }
    }

    const WPA2_PSK: NetworkSecurity =
        NetworkSecurity::Protected { proto: Proto::Rsn, akm: Akm::Psk, pairwise: Cipher::Ccmp };
    const SAE: NetworkSecurity =
        NetworkSecurity::Protected { proto: Proto::Rsn, akm: Akm::Sae, pairwise: Cipher::Ccmp };

    #[test]
    fn only_ft_over_8021x_is_ft_eap() {
        let with =
            |akm| NetworkSecurity::Protected { proto: Proto::Rsn, akm, pairwise: Cipher::Ccmp };
        for akm in [Akm::FtEap, Akm::FtEapSha384] {
            assert!(with(akm).is_ft_eap(), "{akm:?}");
        }
        for akm in [Akm::Eap, Akm::FtSae, Akm::FtPsk, Akm::FtFilsSha256] {
            assert!(!with(akm).is_ft_eap(), "{akm:?}");
        }
        assert!(!NetworkSecurity::Unknown.is_ft_eap());
    }

    #[test]
    fn a_bss_offering_the_negotiated_suites_is_admitted() {
        let mixed = BssSecurity {
            rsn: Some(rsn(&[Akm::Psk, Akm::Sae], &[Cipher::Ccmp])),
            ..Default::default()
        };
        assert_eq!(WPA2_PSK.admits(&mixed), Some(true));
        assert_eq!(SAE.admits(&mixed), Some(true));
    }

    #[test]
    fn a_downgrade_or_another_cipher_is_refused() {
        let psk_only =
            BssSecurity { rsn: Some(rsn(&[Akm::Psk], &[Cipher::Ccmp])), ..Default::default() };
        assert_eq!(SAE.admits(&psk_only), Some(false), "WPA3 network, WPA2-only BSS");
        let tkip =
            BssSecurity { rsn: Some(rsn(&[Akm::Psk], &[Cipher::Tkip])), ..Default::default() };
        assert_eq!(WPA2_PSK.admits(&tkip), Some(false));
        let wpa1 =
            BssSecurity { wpa: Some(rsn(&[Akm::Psk], &[Cipher::Ccmp])), ..Default::default() };
        assert_eq!(WPA2_PSK.admits(&wpa1), Some(false), "the right suites in the wrong element");
        assert_eq!(WPA2_PSK.admits(&BssSecurity::default()), Some(false), "an open ghost");
    }

    #[test]
    fn open_and_wep_admit_only_their_own_kind() {
        let open = BssSecurity::default();
        let wep = BssSecurity { wep: true, ..Default::default() };
        let psk =
            BssSecurity { rsn: Some(rsn(&[Akm::Psk], &[Cipher::Ccmp])), ..Default::default() };
        assert_eq!(NetworkSecurity::Open.admits(&open), Some(true));
        assert_eq!(NetworkSecurity::Open.admits(&psk), Some(false));
        assert_eq!(NetworkSecurity::Open.admits(&wep), Some(false));
        assert_eq!(NetworkSecurity::Wep.admits(&wep), Some(true));
        assert_eq!(NetworkSecurity::Wep.admits(&psk), Some(false));
    }

    #[test]
    fn an_unknown_network_leaves_it_to_the_privacy_bit() {
        assert_eq!(NetworkSecurity::Unknown.admits(&BssSecurity::default()), None);
        assert_eq!(NetworkSecurity::Unknown.is_protected(), None);
        assert_eq!(WPA2_PSK.is_protected(), Some(true));
    }
}
