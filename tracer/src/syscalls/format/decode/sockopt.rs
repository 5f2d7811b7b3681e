//! `setsockopt` and `getsockopt`, as strace's `net.c` shows them: the
//! level and the option by name (`SOL_TCP, TCP_NODELAY`), the value as
//! an `int` (`[1]`) for the options that hold one, `struct linger` and
//! `struct ucred` by field, else the bytes quoted; `getsockopt`'s length
//! in and out (`[8 => 4]`).
//!
//! The value is the argument's capture (`crate::syscalls::structs`): at
//! entry for `setsockopt`, at exit for `getsockopt` (as many bytes as
//! the length it returned), at most the 32 bytes strace shows.

use tracer_common::MAX_ARGS;

use crate::syscalls::{
    ArgKind, errno,
    format::{
        Strings,
        args::write_arg,
        print::{push_i64, push_ptr, push_u64, write_enum},
        quote::{write_quoted, write_quoted_hex},
    },
    xlat::net::*,
};

use super::u32_at;

/// Most bytes of a value strace quotes (its `-s 32`).
const MAX_QUOTED: usize = 32;

/// `name`'s option at `level`: `SO_REUSEADDR`, `0x270f /* SO_??? */`, or
/// the number at a level without names.
fn write_optname(out: &mut Vec<u8>, level: u32, name: u32, get: bool) {
    let name64 = u64::from(name);
    match level {
        SOL_SOCKET if name == SO_ATTACH_FILTER => out.extend_from_slice(if get {
            b"SO_GET_FILTER"
        } else {
            b"SO_ATTACH_FILTER"
        }),
        SOL_SOCKET => write_enum(out, name64, SO_OPTIONS, "SO_???"),
        SOL_IP => write_enum(out, name64, IP_OPTIONS, "IP_???"),
        SOL_IPV6 => write_enum(out, name64, IPV6_OPTIONS, "IPV6_???"),
        SOL_TCP => write_enum(out, name64, TCP_OPTIONS, "TCP_???"),
        SOL_UDP => write_enum(out, name64, UDP_OPTIONS, "UDP_???"),
        _ => push_u64(out, name64),
    }
}

/// `fd, level, name, ` of both calls.
fn write_head(out: &mut Vec<u8>, args: &[u64; MAX_ARGS], strings: &Strings<'_>, get: bool) {
    write_arg(out, ArgKind::Fd, args[0], strings[0], args);
    out.extend_from_slice(b", ");
    let (level, name) = (args[1] as u32, args[2] as u32);
    write_enum(out, level.into(), SOCKET_LAYERS, "SOL_??");
    out.extend_from_slice(b", ");
    write_optname(out, level, name, get);
    out.extend_from_slice(b", ");
}

/// `[1]` from the first four bytes.
fn write_int(out: &mut Vec<u8>, bytes: &[u8]) -> Option<()> {
    let v = u32_at(bytes, 0)? as i32;
    out.push(b'[');
    push_i64(out, v.into());
    out.push(b']');
    Some(())
}

/// `len` bytes quoted, as strace's `printstrn`: at most 32 of them, then
/// `...`.
fn write_str(out: &mut Vec<u8>, bytes: &[u8], len: usize) -> Option<()> {
    let shown = len.min(MAX_QUOTED);
    write_quoted(out, bytes.get(..shown)?, len > MAX_QUOTED);
    Some(())
}

/// Signed `int` fields of `names` from `bytes`, as many as `len` holds:
/// `{l_onoff=1, l_linger=5}`.
fn write_fields(
    out: &mut Vec<u8>,
    bytes: &[u8],
    len: usize,
    names: &[&str],
    signed: bool,
) -> Option<()> {
    out.push(b'{');
    for (i, name) in names.iter().enumerate() {
        if (i + 1) * 4 > len {
            break;
        }
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        let v = u32_at(bytes, i * 4)?;
        if signed {
            push_i64(out, (v as i32).into());
        } else {
            push_u64(out, v.into());
        }
    }
    out.push(b'}');
    Some(())
}

/// `setsockopt(fd, level, name, value, len)`.
pub fn write_setsockopt(out: &mut Vec<u8>, args: &[u64; MAX_ARGS], strings: &Strings<'_>) {
    write_head(out, args, strings, false);
    let (level, name, addr) = (args[1] as u32, args[2] as u32, args[3]);
    let len = args[4] as u32 as i32;
    let bytes = strings[3].map_or(&[][..], |c| c.bytes);
    let shown = (addr != 0)
        .then(|| match (level, name) {
            (SOL_SOCKET, SO_LINGER) if len >= 8 => {
                write_fields(out, bytes.get(..8)?, 8, &["l_onoff", "l_linger"], true)
            }
            (SOL_SOCKET, SO_LINGER) => None,
            (SOL_SOCKET, n) if SO_INT_OPTIONS.contains(&n) && len >= 4 => write_int(out, bytes),
            (SOL_SOCKET, n) if SO_INT_OPTIONS.contains(&n) => None,
            // Structures strace decodes and tracer does not yet.
            (SOL_SOCKET, 26 | 51)
            | (SOL_IP, 35 | 36 | 42 | 45)
            | (SOL_IPV6, 20 | 21 | 27 | 28 | 42 | 45) => None,
            (SOL_NETLINK, _) if len >= 4 => write_int(out, bytes),
            (SOL_NETLINK, _) => None,
            _ if len == 4 => write_int(out, bytes),
            _ => write_str(out, bytes, usize::try_from(len).ok()?),
        })
        .flatten();
    if shown.is_none() {
        push_ptr(out, addr);
    }
    out.extend_from_slice(b", ");
    push_i64(out, len.into());
}

/// `getsockopt(fd, level, name, value, [len in => len out])`: the value
/// only when the call succeeded.
pub fn write_getsockopt(
    out: &mut Vec<u8>,
    args: &[u64; MAX_ARGS],
    strings: &Strings<'_>,
    ret: Option<i64>,
) {
    write_head(out, args, strings, true);
    let (level, name, addr) = (args[1] as u32, args[2] as u32, args[3]);
    let lens = strings[4].map_or(&[][..], |c| c.bytes);
    let (Some(ulen), rlen) = (u32_at(lens, 0), u32_at(lens, 4)) else {
        push_ptr(out, addr);
        out.extend_from_slice(b", ");
        return push_ptr(out, args[4]);
    };
    let (ulen, rlen) = (ulen as i32, rlen.unwrap_or(ulen) as i32);
    let bytes = strings[3].map_or(&[][..], |c| c.bytes);
    let shown = (ret.is_some_and(|r| r >= 0) && ulen > 0 && rlen > 0 && addr != 0)
        .then(|| {
            let len = rlen as usize;
            match (level, name) {
                (SOL_SOCKET, SO_LINGER) => {
                    write_fields(out, bytes, len.min(8), &["l_onoff", "l_linger"], true)
                }
                (SOL_SOCKET, SO_PEERCRED) => {
                    write_fields(out, bytes, len.min(12), &["pid", "uid", "gid"], false)
                }
                (SOL_SOCKET, SO_ERROR) if len < 4 => {
                    write_quoted_hex(out, bytes.get(..len)?);
                    Some(())
                }
                (SOL_SOCKET, SO_ERROR) => {
                    let err = u32_at(bytes, 0)?;
                    out.push(b'[');
                    match errno::name(err as i32).filter(|_| err != 0) {
                        Some(name) => out.extend_from_slice(name.as_bytes()),
                        None => push_u64(out, err.into()),
                    }
                    out.push(b']');
                    Some(())
                }
                (SOL_SOCKET, n) if SO_INT_OPTIONS.contains(&n) && len >= 4 => write_int(out, bytes),
                (SOL_SOCKET, n) if SO_INT_OPTIONS.contains(&n) => {
                    write_quoted_hex(out, bytes.get(..len)?);
                    Some(())
                }
                (SOL_SOCKET, 26) => None,
                (SOL_NETLINK, _) => write_int(out, bytes),
                _ if len == 4 => write_int(out, bytes),
                _ => write_str(out, bytes, len),
            }
        })
        .flatten();
    if shown.is_none() {
        push_ptr(out, addr);
    }
    out.extend_from_slice(b", [");
    if ulen != rlen {
        push_i64(out, ulen.into());
        out.extend_from_slice(b" => ");
    }
    push_i64(out, rlen.into());
    out.push(b']');
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    fn int(v: i32) -> Vec<u8> {
        v.to_ne_bytes().to_vec()
    }

    #[test]
    fn setsockopt_as_strace_prints_it() {
        // strace 6.1 on this machine, for the same calls.
        let set = |level: u64, name: u64, len: u64, ret: i64, bytes: &[u8]| {
            with_bytes("setsockopt", &[5, level, name, P, len], Some(ret), 3, bytes)
        };
        assert_eq!(
            set(1, 2, 4, 0, &int(1)),
            "setsockopt(5, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0"
        );
        assert_eq!(
            set(6, 1, 4, 0, &int(1)),
            "setsockopt(5, SOL_TCP, TCP_NODELAY, [1], 4) = 0"
        );
        assert_eq!(
            set(0, 1, 4, 0, &int(1)),
            "setsockopt(5, SOL_IP, IP_TOS, [1], 4) = 0"
        );
        assert_eq!(
            set(41, 26, 4, 0, &int(1)),
            "setsockopt(5, SOL_IPV6, IPV6_V6ONLY, [1], 4) = 0"
        );
        assert_eq!(
            set(17, 1, 4, -92, &int(3)),
            "setsockopt(5, SOL_UDP, UDP_CORK, [3], 4) = -1 ENOPROTOOPT (Protocol not available)"
        );
        // An int option longer than an int: still the int; shorter: the pointer.
        assert_eq!(
            set(1, 7, 8, 0, &[int(3), int(0)].concat()),
            "setsockopt(5, SOL_SOCKET, SO_SNDBUF, [3], 8) = 0"
        );
        assert_eq!(
            set(1, 9, 2, -22, &int(2)[..2]),
            "setsockopt(5, SOL_SOCKET, SO_KEEPALIVE, 0x1000, 2) = -1 EINVAL (Invalid argument)"
        );
        // Elsewhere, a length other than an int's: the bytes.
        let b = [1u8, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            set(6, 1, 16, 0, &b),
            "setsockopt(5, SOL_TCP, TCP_NODELAY, \"\\1\\0\\0\\0\\2\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\", 16) = 0"
        );
        assert_eq!(
            set(1, 20, 5, -22, &b[..5]),
            "setsockopt(5, SOL_SOCKET, SO_RCVTIMEO_OLD, \"\\1\\0\\0\\0\\2\", 5) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            set(1, 20, 4, -22, &b[..4]),
            "setsockopt(5, SOL_SOCKET, SO_RCVTIMEO_OLD, [1], 4) = -1 EINVAL (Invalid argument)"
        );
        assert_eq!(
            set(1, 20, 0, -22, &[]),
            "setsockopt(5, SOL_SOCKET, SO_RCVTIMEO_OLD, \"\", 0) = -1 EINVAL (Invalid argument)"
        );
        let linger = [int(1), int(5)].concat();
        assert_eq!(
            set(1, 13, 8, 0, &linger),
            "setsockopt(5, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=5}, 8) = 0"
        );
        assert_eq!(
            set(1, 13, 4, -22, &linger[..4]),
            "setsockopt(5, SOL_SOCKET, SO_LINGER, 0x1000, 4) = -1 EINVAL (Invalid argument)"
        );
        // Unknown levels and names.
        assert_eq!(
            set(1234, 5678, 4, -92, &int(1)),
            "setsockopt(5, 0x4d2 /* SOL_?? */, 5678, [1], 4) = -1 ENOPROTOOPT (Protocol not available)"
        );
        assert_eq!(
            set(1, 9999, 4, -92, &int(1)),
            "setsockopt(5, SOL_SOCKET, 0x270f /* SO_??? */, [1], 4) = -1 ENOPROTOOPT (Protocol not available)"
        );
        // Not read: NULL, or the address.
        assert_eq!(
            call("setsockopt", &[5, 1, 2, 0, 4], Some(-14)),
            "setsockopt(5, SOL_SOCKET, SO_REUSEADDR, NULL, 4) = -1 EFAULT (Bad address)"
        );
        assert_eq!(
            call("setsockopt", &[5, 1, 2, 8, 4], Some(-14)),
            "setsockopt(5, SOL_SOCKET, SO_REUSEADDR, 0x8, 4) = -1 EFAULT (Bad address)"
        );
        // A long value: 32 bytes, then `...`.
        let long = [b'a'; 32];
        assert_eq!(
            set(6, 13, 40, 0, &long),
            format!(
                "setsockopt(5, SOL_TCP, TCP_CONGESTION, \"{}\"..., 40) = 0",
                "a".repeat(32)
            )
        );
    }

    #[test]
    fn getsockopt_as_strace_prints_it() {
        let get = |level: u64, name: u64, lens: [u32; 2], ret: i64, bytes: &[u8]| {
            let mut ev = event("getsockopt", &[5, level, name, P, P], Some(ret));
            set_bytes(&mut ev, 3, bytes);
            let l: Vec<u8> = lens.iter().flat_map(|v| v.to_ne_bytes()).collect();
            set_bytes(&mut ev, 4, if ret < 0 { &l[..4] } else { &l });
            render_event(&ev)
        };
        assert_eq!(
            get(1, 4, [4, 4], 0, &int(0)),
            "getsockopt(5, SOL_SOCKET, SO_ERROR, [0], [4]) = 0"
        );
        assert_eq!(
            get(1, 4, [4, 4], 0, &int(111)),
            "getsockopt(5, SOL_SOCKET, SO_ERROR, [ECONNREFUSED], [4]) = 0"
        );
        assert_eq!(
            get(1, 3, [4, 4], 0, &int(1)),
            "getsockopt(5, SOL_SOCKET, SO_TYPE, [1], [4]) = 0"
        );
        assert_eq!(
            get(1, 8, [8, 4], 0, &int(131072)),
            "getsockopt(5, SOL_SOCKET, SO_RCVBUF, [131072], [8 => 4]) = 0"
        );
        assert_eq!(
            get(6, 2, [4, 4], 0, &int(536)),
            "getsockopt(5, SOL_TCP, TCP_MAXSEG, [536], [4]) = 0"
        );
        assert_eq!(
            get(1, 13, [8, 8], 0, &[int(1), int(5)].concat()),
            "getsockopt(5, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=5}, [8]) = 0"
        );
        assert_eq!(
            get(1, 4, [2, 2], 0, &[0, 0]),
            "getsockopt(5, SOL_SOCKET, SO_ERROR, \"\\x00\\x00\", [2]) = 0"
        );
        assert_eq!(
            get(6, 1, [3, 3], 0, &[1, 0, 0]),
            "getsockopt(5, SOL_TCP, TCP_NODELAY, \"\\1\\0\\0\", [3]) = 0"
        );
        assert_eq!(
            get(1, 20, [16, 16], 0, &[0; 16]),
            "getsockopt(5, SOL_SOCKET, SO_RCVTIMEO_OLD, \"\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\\0\", [16]) = 0"
        );
        assert_eq!(
            get(1, 4, [0, 0], 0, &[]),
            "getsockopt(5, SOL_SOCKET, SO_ERROR, 0x1000, [0]) = 0"
        );
        assert_eq!(
            get(1, 17, [12, 12], 0, &[int(42), int(0), int(0)].concat()),
            "getsockopt(5, SOL_SOCKET, SO_PEERCRED, {pid=42, uid=0, gid=0}, [12]) = 0"
        );
        assert_eq!(
            get(1, 4, [4, 4], -14, &[]),
            "getsockopt(5, SOL_SOCKET, SO_ERROR, 0x1000, [4]) = -1 EFAULT (Bad address)"
        );
        // No length read: both pointers.
        assert_eq!(
            call("getsockopt", &[5, 1, 4, P, 0], Some(-14)),
            "getsockopt(5, SOL_SOCKET, SO_ERROR, 0x1000, NULL) = -1 EFAULT (Bad address)"
        );
    }
}
