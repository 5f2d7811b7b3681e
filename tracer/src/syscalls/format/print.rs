//! The printers every layout shares: decimal, hex, pointers, octal
//! modes, and strace's `printflags` (the names of the set bits) and
//! `printxval` (the name of a value), with strace's `/* X_??? */` comment
//! for what has no name. All append to the caller's buffer, without
//! allocating.

/// strace's `printflags`: the names of the set bits in table order, then
/// the unnamed rest in hex; a value without any named bit gets the
/// `unknown` comment; zero is the table's name for zero, or `0`.
pub fn write_flags(out: &mut Vec<u8>, value: u64, table: &[(u64, &str)], unknown: Option<&str>) {
    if value == 0 {
        let zero = table.iter().find(|&&(bits, _)| bits == 0);
        out.extend_from_slice(zero.map_or("0", |&(_, name)| name).as_bytes());
        return;
    }
    let mut rest = value;
    let mut named = false;
    for &(bits, name) in table {
        if bits != 0 && rest & bits == bits {
            if named {
                out.push(b'|');
            }
            out.extend_from_slice(name.as_bytes());
            rest &= !bits;
            named = true;
        }
    }
    if rest == 0 {
        return;
    }
    if named {
        out.push(b'|');
        push_hex(out, rest);
    } else {
        push_hex(out, rest);
        if let Some(unknown) = unknown {
            comment(out, unknown);
        }
    }
}

/// strace's `printxval`: the value's name, or hex and the `unknown`
/// comment.
pub fn write_enum(out: &mut Vec<u8>, value: u64, table: &[(u64, &str)], unknown: &str) {
    match table.iter().find(|&&(v, _)| v == value) {
        Some((_, name)) => out.extend_from_slice(name.as_bytes()),
        None => self::unknown(out, value, unknown),
    }
}

/// strace's `printxval` without a default: the value's name, or plain
/// hex (`0x1234abcd`, no comment).
pub fn write_enum_or_hex(out: &mut Vec<u8>, value: u64, table: &[(u64, &str)]) {
    match table.iter().find(|&&(v, _)| v == value) {
        Some((_, name)) => out.extend_from_slice(name.as_bytes()),
        None => push_hex0(out, value),
    }
}

/// strace's `printflags` without a default, as its terminal decoder
/// uses it: nothing at all for zero, unnamed bits in plain hex.
pub fn write_flags_bare(out: &mut Vec<u8>, value: u64, table: &[(u64, &str)]) {
    if value != 0 {
        write_flags(out, value, table, None);
    }
}

pub fn unknown(out: &mut Vec<u8>, value: u64, what: &str) {
    push_hex0(out, value);
    comment(out, what);
}

pub fn comment(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b" /* ");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b" */");
}

pub fn sep(out: &mut Vec<u8>, index: usize) {
    if index > 0 {
        out.extend_from_slice(b", ");
    }
}

pub fn push_u64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
}

/// `NULL` or `0x7ffd…`.
pub fn push_ptr(out: &mut Vec<u8>, value: u64) {
    if value == 0 {
        out.extend_from_slice(b"NULL");
    } else {
        push_hex(out, value);
    }
}

/// `0` or `0x1f`, like C's `%#x`.
pub fn push_hex0(out: &mut Vec<u8>, value: u64) {
    if value == 0 {
        out.push(b'0');
    } else {
        push_hex(out, value);
    }
}

pub fn push_hex(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(b"0x");
    push_digits(out, value, 4);
}

/// Octal like C's `%#03o`, as strace prints modes: `0644`, `022`, `000`.
pub fn push_mode(out: &mut Vec<u8>, mode: u64) {
    let digits = (64 - mode.leading_zeros()).div_ceil(3).max(1);
    // `#` adds a leading 0 to nonzero values; then pad to 3 characters.
    let prefix = u32::from(mode != 0);
    for _ in (digits + prefix)..3 {
        out.push(b'0');
    }
    if mode != 0 {
        out.push(b'0');
    }
    push_digits(out, mode, 3);
}

/// The digits of `value` in base `1 << bits_per_digit`, at least one.
pub fn push_digits(out: &mut Vec<u8>, value: u64, bits_per_digit: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mask = (1 << bits_per_digit) - 1;
    let digits = (64 - value.leading_zeros()).div_ceil(bits_per_digit).max(1);
    for digit in (0..digits).rev() {
        out.push(DIGITS[((value >> (digit * bits_per_digit)) & mask) as usize]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        let show = |f: fn(&mut Vec<u8>, u64), v| {
            let mut out = Vec::new();
            f(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(show(push_u64, u64::MAX), "18446744073709551615");
        assert_eq!(show(push_hex, 0), "0x0");
        assert_eq!(show(push_hex0, 0), "0");
        assert_eq!(show(push_hex0, 0x1f), "0x1f");
        assert_eq!(show(push_ptr, 0), "NULL");
        assert_eq!(show(push_ptr, 0x7ffd_0000), "0x7ffd0000");
        // strace's `%#03o`.
        assert_eq!(show(push_mode, 0), "000");
        assert_eq!(show(push_mode, 0o7), "007");
        assert_eq!(show(push_mode, 0o22), "022");
        assert_eq!(show(push_mode, 0o644), "0644");
        assert_eq!(show(push_mode, 0o4755), "04755");
        let mut out = Vec::new();
        push_i64(&mut out, i64::MIN);
        assert_eq!(out, b"-9223372036854775808");
    }

    #[test]
    fn flags_name_bits_in_table_order_then_the_rest() {
        const TABLE: &[(u64, &str)] = &[(0, "X_NONE"), (1, "X_A"), (6, "X_BC"), (2, "X_B")];
        let flags = |value, unknown| {
            let mut out = Vec::new();
            write_flags(&mut out, value, TABLE, unknown);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(flags(0, None), "X_NONE");
        assert_eq!(flags(7, None), "X_A|X_BC");
        assert_eq!(flags(3, None), "X_A|X_B");
        assert_eq!(flags(0x11, Some("X_???")), "X_A|0x10");
        assert_eq!(flags(0x10, Some("X_???")), "0x10 /* X_??? */");
        assert_eq!(flags(0x10, None), "0x10");
        let mut out = Vec::new();
        write_flags(&mut out, 0, &[(1, "Y")], None);
        assert_eq!(out, b"0");
    }

    #[test]
    fn enums_name_the_value_or_comment_it() {
        let value = |v| {
            let mut out = Vec::new();
            write_enum(&mut out, v, &[(0, "E_ZERO"), (5, "E_FIVE")], "E_???");
            String::from_utf8(out).unwrap()
        };
        assert_eq!(value(5), "E_FIVE");
        assert_eq!(value(0), "E_ZERO");
        assert_eq!(value(6), "0x6 /* E_??? */");
    }
}
