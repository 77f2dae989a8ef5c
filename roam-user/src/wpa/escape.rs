//! SSIDs as wpa_supplicant prints them. An SSID is up to 32 arbitrary bytes; the control
//! interface prints it through `printf_encode`: bytes 32-126 as they are, `"` `\` ESC LF CR TAB
//! as `\"` `\\` `\e` `\n` `\r` `\t`, everything else as `\xNN`. The kernel's frame filter hashes
//! the bytes on the air, so roam compares SSIDs as bytes, decoded the way `printf_decode` does.

/// The bytes of an SSID printed by wpa_supplicant (`STATUS`, `BSS`). Also reads the octal
/// escapes (`\NNN`) that `printf_decode` accepts; an unknown escape keeps its character.
pub fn ssid_bytes(printed: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(printed.len());
    let mut bytes = printed.bytes().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let Some(escaped) = bytes.next() else {
            // A lone trailing backslash: printf_encode never ends with one; keep it.
            out.push(b'\\');
            break;
        };
        match escaped {
            b'e' => out.push(0x1b),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'x' => {
                let mut value = 0u8;
                let mut digits = 0;
                while digits < 2 {
                    let Some(d) = bytes.peek().and_then(|&c| (c as char).to_digit(16)) else {
                        break;
                    };
                    value = value << 4 | d as u8;
                    bytes.next();
                    digits += 1;
                }
                if digits == 0 {
                    out.push(b'x');
                } else {
                    out.push(value);
                }
            }
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ssids_are_their_own_bytes() {
        assert_eq!(ssid_bytes("roam-test"), b"roam-test");
        assert_eq!(ssid_bytes("café = bar"), "café = bar".as_bytes(), "UTF-8 above 126 passes");
    }

    /// The encodings printf_encode produces, and what they stand for.
    #[test]
    fn escapes_are_decoded() {
        assert_eq!(ssid_bytes(r#"a\"b\\c"#), br#"a"b\c"#);
        assert_eq!(ssid_bytes(r"\e\n\r\t"), b"\x1b\n\r\t");
        assert_eq!(ssid_bytes(r"\xc3\xa4-\x00\x7f"), b"\xc3\xa4-\x00\x7f");
        assert_eq!(ssid_bytes(r"G\xE4ste"), b"G\xe4ste", "upper-case hex");
    }

    /// printf_decode's test vectors (hostap tests/test-printf.c): octal and short escapes.
    #[test]
    fn octal_and_short_escapes_are_read_like_printf_decode() {
        assert_eq!(ssid_bytes(r"a\0b\nc\ed\re\tf"), b"a\0b\nc\x1bd\re\tf");
        assert_eq!(ssid_bytes(r"\x001\0002\09"), b"\x001\x002\x009");
        assert_eq!(ssid_bytes(r"\12\x0a"), b"\n\n");
    }

    #[test]
    fn malformed_escapes_do_not_panic() {
        assert_eq!(ssid_bytes(r"end\"), b"end\\");
        assert_eq!(ssid_bytes(r"\xg"), b"xg");
        assert_eq!(ssid_bytes(r"\q"), b"q");
        assert_eq!(ssid_bytes(r"\777"), [0xff], "octal beyond a byte wraps like C's");
    }
}
