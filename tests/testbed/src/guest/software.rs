//! What the guest runs, as its kernel and daemons report it: the figures of a session are of
//! these versions (a guest of another Debian release runs other ones).

use std::{fs, process::Command};

use roam_testbed::plan::Software;

use super::paths;

pub fn read() -> Software {
    Software {
        kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_default(),
        hostapd: version_of(paths::HOSTAPD, "-v"),
        wpa_supplicant: version_of(paths::WPA_SUPPLICANT, "-v"),
        iwd: version_of(paths::IWD, "--version"),
    }
}

/// The version a daemon prints (on stdout or stderr; hostapd -v exits 1 after printing it).
fn version_of(program: &str, flag: &str) -> String {
    let Ok(out) = Command::new(program).arg(flag).output() else {
        return String::new();
    };
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    parse_version(&text).unwrap_or_default()
}

/// `hostapd v2.10` -> `2.10`; `3.8` -> `3.8`: the first line's last word, without the `v`.
fn parse_version(text: &str) -> Option<String> {
    let word = text.lines().next()?.split_whitespace().last()?;
    Some(word.strip_prefix('v').unwrap_or(word).to_owned())
}

#[cfg(test)]
mod tests {
    use super::parse_version;

    #[test]
    fn versions_as_the_daemons_print_them() {
        assert_eq!(
            parse_version("hostapd v2.10\nUser space daemon for IEEE 802.11 AP management,\n")
                .as_deref(),
            Some("2.10")
        );
        assert_eq!(
            parse_version("wpa_supplicant v2.11\nCopyright (c) 2003-2024\n").as_deref(),
            Some("2.11")
        );
        assert_eq!(parse_version("3.8\n").as_deref(), Some("3.8"));
        assert_eq!(parse_version(""), None);
    }
}
