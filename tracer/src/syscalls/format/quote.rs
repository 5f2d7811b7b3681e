//! Strings and names from the target, as strace shows them: quoted, with
//! C escapes for what is not printable ASCII. Everything the target
//! controls (file names, data, `-y` descriptor names) goes through here,
//! so that it cannot put control characters on the terminal or break the
//! one-line format.

/// Appends `bytes` quoted like strace: printable ASCII as is, C escapes
/// for `"`, `\` and the usual controls, octal for the rest, and `...` after
/// the closing quote when the string was `truncated`.
pub fn write_quoted(out: &mut Vec<u8>, bytes: &[u8], truncated: bool) {
    out.push(b'"');
    write_escaped(out, bytes, true);
    out.push(b'"');
    if truncated {
        out.extend_from_slice(b"...");
    }
}

/// Appends `bytes` quoted with every byte in hex, as strace's
/// `QUOTE_FORCE_HEX`: `"\x00\x00"`.
pub fn write_quoted_hex(out: &mut Vec<u8>, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &c in bytes {
        out.extend_from_slice(&[
            b'\\',
            b'x',
            DIGITS[usize::from(c >> 4)],
            DIGITS[usize::from(c & 15)],
        ]);
    }
    out.push(b'"');
}

/// `bytes` with everything but printable ASCII escaped, C style (and `"`
/// and `\` too when `quoted`): what comes from the target (data, file
/// names) must not put control characters on the terminal or break the
/// line format.
pub fn write_escaped(out: &mut Vec<u8>, bytes: &[u8], quoted: bool) {
    for (i, &c) in bytes.iter().enumerate() {
        let escape = match c {
            b'"' if quoted => b'"',
            b'\\' if quoted => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x0b => b'v',
            0x0c => b'f',
            0x20..=0x7e => {
                out.push(c);
                continue;
            }
            _ => {
                // Shortest octal form, unless an octal digit follows and
                // would be read as part of it.
                out.push(b'\\');
                let next_is_digit = matches!(bytes.get(i + 1), Some(b'0'..=b'7'));
                if next_is_digit || c >= 0o100 {
                    out.push(b'0' + (c >> 6));
                }
                if next_is_digit || c >= 0o10 {
                    out.push(b'0' + ((c >> 3) & 7));
                }
                out.push(b'0' + (c & 7));
                continue;
            }
        };
        out.push(b'\\');
        out.push(escape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quoted(bytes: &[u8], truncated: bool) -> String {
        let mut out = Vec::new();
        write_quoted(&mut out, bytes, truncated);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn quoting_follows_strace() {
        assert_eq!(quoted(b"/etc/hosts", false), r#""/etc/hosts""#);
        assert_eq!(quoted(b"a\"b\\c", false), r#""a\"b\\c""#);
        assert_eq!(quoted(b"\t\n\r\x0b\x0c", false), r#""\t\n\r\v\f""#);
        // Shortest octal, three digits when a digit follows.
        assert_eq!(quoted(b"\x7fELF\x02\x01\x00", false), r#""\177ELF\2\1\0""#);
        assert_eq!(quoted(b"\x001", false), r#""\0001""#);
        assert_eq!(quoted(b"\x08x\xff", false), r#""\10x\377""#);
        assert_eq!(quoted(b"abc", true), r#""abc"..."#);
        assert_eq!(quoted(b"", false), r#""""#);
    }
}
