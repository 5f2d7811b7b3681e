//! Socket arguments: `socket`'s type with its flags and its protocol
//! named in the namespace of the family; socket addresses (`{sa_family=
//! AF_UNIX, sun_path="/run/x"}`, `inet_addr("127.0.0.1")`, ...) and the
//! in-out address lengths (`[128 => 16]`), as strace's `sockaddr.c`
//! prints them.

use crate::syscalls::{
    format::{
        print::{push_digits, push_hex, push_i64, push_ptr, push_u64, write_enum, write_flags},
        quote::write_quoted,
    },
    xlat::net::{
        ADDRESS_FAMILIES, AF_INET, AF_INET6, AF_NETLINK, INET_PROTOCOLS, NETLINK_PROTOCOLS,
        SOCK_FLAGS, SOCK_TYPE_MASK, SOCK_TYPES,
    },
};

use super::u32_at;

const AF_UNIX: u32 = 1;

/// A socket address of `bytes.len()` bytes (its length as the call gave
/// or returned it).
pub fn write_sockaddr(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let Some(family) = bytes.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]])) else {
        return push_ptr(out, raw);
    };
    let family = u32::from(family);
    let body = &bytes[2..];
    out.extend_from_slice(b"{sa_family=");
    write_enum(out, family.into(), ADDRESS_FAMILIES, "AF_???");
    match family {
        AF_UNIX if body.is_empty() => {}
        AF_UNIX => {
            out.extend_from_slice(b", sun_path=");
            if body[0] == 0 {
                // Abstract: every byte counts, NULs included.
                out.push(b'@');
                write_quoted(out, &body[1..], false);
            } else {
                let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                write_quoted(out, &body[..end], false);
            }
        }
        AF_INET if body.len() >= 6 => {
            out.extend_from_slice(b", sin_port=htons(");
            push_u64(out, u16::from_be_bytes([body[0], body[1]]).into());
            out.extend_from_slice(b"), sin_addr=inet_addr(\"");
            let addr = std::net::Ipv4Addr::new(body[2], body[3], body[4], body[5]);
            out.extend_from_slice(addr.to_string().as_bytes());
            out.extend_from_slice(b"\")");
        }
        AF_INET6 if body.len() >= 26 => {
            out.extend_from_slice(b", sin6_port=htons(");
            push_u64(out, u16::from_be_bytes([body[0], body[1]]).into());
            out.extend_from_slice(b"), sin6_flowinfo=htonl(");
            push_u64(
                out,
                u32::from_be_bytes([body[2], body[3], body[4], body[5]]).into(),
            );
            out.extend_from_slice(b"), inet_pton(AF_INET6, \"");
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&body[6..22]);
            out.extend_from_slice(std::net::Ipv6Addr::from(octets).to_string().as_bytes());
            out.extend_from_slice(b"\", &sin6_addr), sin6_scope_id=");
            push_u64(out, u32_at(body, 22).unwrap_or(0).into());
        }
        AF_NETLINK if body.len() >= 10 => {
            let pad = u16::from_ne_bytes([body[0], body[1]]);
            if pad != 0 {
                out.extend_from_slice(b", nl_pad=");
                push_hex(out, pad.into());
            }
            out.extend_from_slice(b", nl_pid=");
            push_u64(out, u32_at(body, 2).unwrap_or(0).into());
            out.extend_from_slice(b", nl_groups=");
            // C's `%#08x`: eight characters, `0x` counted, none for 0.
            let groups = u64::from(u32_at(body, 6).unwrap_or(0));
            let digits = (64 - groups.leading_zeros()).div_ceil(4).max(1) as usize;
            let width: usize = if groups == 0 { 8 } else { 6 };
            if groups != 0 {
                out.extend_from_slice(b"0x");
            }
            out.extend(std::iter::repeat_n(b'0', width.saturating_sub(digits)));
            push_digits(out, groups, 4);
        }
        _ => {
            out.extend_from_slice(b", sa_data=");
            write_quoted(out, body, false);
        }
    }
    out.push(b'}');
}

/// An in-out `socklen_t`: `[16]`, or `[128 => 16]` when the call changed
/// it (the capture holds the value at entry, then at exit).
pub fn write_socklen(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let (before, after) = (u32_at(bytes, 0), u32_at(bytes, 4));
    let Some(before) = before else {
        return push_ptr(out, raw);
    };
    out.push(b'[');
    push_u64(out, before.into());
    if let Some(after) = after.filter(|&a| a != before) {
        out.extend_from_slice(b" => ");
        push_u64(out, after.into());
    }
    out.push(b']');
}

/// The protocol of `socket`, named in the family's namespace.
pub fn write_socket_protocol(out: &mut Vec<u8>, protocol: i32, family: u32) {
    match family {
        AF_INET | AF_INET6 => {
            write_enum(out, protocol as u32 as u64, INET_PROTOCOLS, "IPPROTO_???")
        }
        AF_NETLINK => write_enum(
            out,
            protocol as u32 as u64,
            NETLINK_PROTOCOLS,
            "NETLINK_???",
        ),
        _ => push_i64(out, protocol.into()),
    }
}

/// `socket`'s type: `SOCK_STREAM|SOCK_CLOEXEC`, the type and its flags.
pub fn write_socket_type(out: &mut Vec<u8>, ty: u32) {
    // strace shows no comment for a type of 0.
    if ty == 0 {
        out.push(b'0');
        return;
    }
    write_enum(out, (ty & SOCK_TYPE_MASK).into(), SOCK_TYPES, "SOCK_???");
    let flags = ty & !SOCK_TYPE_MASK;
    if flags != 0 {
        out.push(b'|');
        write_flags(out, flags.into(), SOCK_FLAGS, None);
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn addresses_as_strace_prints_them() {
        // strace 6.1 on this machine, for the same addresses.
        let unix = |path: &[u8]| {
            let mut b = 1u16.to_ne_bytes().to_vec();
            b.extend_from_slice(path);
            b
        };
        assert_eq!(
            with_bytes(
                "connect",
                &[3, P, 110],
                Some(-2),
                1,
                &unix(b"/var/run/nscd/socket\0\0\0")
            ),
            "connect(3, {sa_family=AF_UNIX, sun_path=\"/var/run/nscd/socket\"}, 110) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(
            with_bytes("connect", &[6, P, 11], Some(0), 1, &unix(b"\0abstract")),
            "connect(6, {sa_family=AF_UNIX, sun_path=@\"abstract\"}, 11) = 0"
        );
        assert_eq!(
            with_bytes("connect", &[6, P, 2], Some(0), 1, &unix(b"")),
            "connect(6, {sa_family=AF_UNIX}, 2) = 0"
        );
        let mut inet = 2u16.to_ne_bytes().to_vec();
        inet.extend_from_slice(&[0xd7, 0x1d, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            with_bytes("bind", &[3, P, 16], Some(0), 1, &inet),
            "bind(3, {sa_family=AF_INET, sin_port=htons(55069), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0"
        );
        let mut inet6 = 10u16.to_ne_bytes().to_vec();
        inet6.extend_from_slice(&80u16.to_be_bytes());
        inet6.extend_from_slice(&5u32.to_be_bytes());
        inet6.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
        inet6.extend_from_slice(&0u32.to_ne_bytes());
        assert_eq!(
            with_bytes("connect", &[4, P, 28], Some(0), 1, &inet6),
            "connect(4, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(5), \
             inet_pton(AF_INET6, \"::1\", &sin6_addr), sin6_scope_id=0}, 28) = 0"
        );
        let netlink = |pad: u16, pid: u32, groups: u32| {
            let mut b = 16u16.to_ne_bytes().to_vec();
            b.extend_from_slice(&pad.to_ne_bytes());
            b.extend_from_slice(&pid.to_ne_bytes());
            b.extend_from_slice(&groups.to_ne_bytes());
            with_bytes("bind", &[5, P, 12], Some(0), 1, &b)
        };
        assert_eq!(
            netlink(0xf7eb, 0, 5),
            "bind(5, {sa_family=AF_NETLINK, nl_pad=0xf7eb, nl_pid=0, nl_groups=0x000005}, 12) = 0"
        );
        assert_eq!(
            netlink(0, 21818, 0),
            "bind(5, {sa_family=AF_NETLINK, nl_pid=21818, nl_groups=00000000}, 12) = 0"
        );
    }

    #[test]
    fn address_lengths_in_and_out() {
        let mut inet = 2u16.to_ne_bytes().to_vec();
        inet.extend_from_slice(&[0, 80, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut ev = event("getsockname", &[3, P, P], Some(0));
        let lens: Vec<u8> = [128u32, 16].iter().flat_map(|v| v.to_ne_bytes()).collect();
        set_bytes(&mut ev, 1, &inet);
        set_bytes(&mut ev, 2, &lens);
        assert_eq!(
            render_event(&ev),
            "getsockname(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr(\"10.0.0.1\")}, [128 => 16]) = 0"
        );
        let lens: Vec<u8> = [16u32, 16].iter().flat_map(|v| v.to_ne_bytes()).collect();
        set_bytes(&mut ev, 2, &lens);
        assert!(render_event(&ev).ends_with(", [16]) = 0"));
    }

    #[test]
    fn sockets() {
        assert_eq!(
            args("socket", &[2, 1, 0]),
            "socket(AF_INET, SOCK_STREAM, IPPROTO_IP)"
        );
        assert_eq!(
            args("socket", &[10, 0x80802, 17]),
            "socket(AF_INET6, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_UDP)"
        );
        assert_eq!(
            args("socket", &[1, 1, 0]),
            "socket(AF_UNIX, SOCK_STREAM, 0)"
        );
        assert_eq!(
            args("socket", &[16, 3, 0]),
            "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)"
        );
        assert_eq!(
            args("socket", &[99, 0, 0]),
            "socket(0x63 /* AF_??? */, 0, 0)"
        );
        assert_eq!(
            args("accept4", &[3, 0, 0, 0x80800]),
            "accept4(3, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK)"
        );
        assert_eq!(args("connect", &[3, P, 16]), "connect(3, 0x1000, 16)");
    }
}
