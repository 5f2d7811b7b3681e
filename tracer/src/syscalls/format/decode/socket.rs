//! `socket`'s arguments: the type with its flags, and the protocol named
//! in the namespace of the family.

use crate::syscalls::{
    format::print::{push_i64, write_enum, write_flags},
    xlat::net::{
        AF_INET, AF_INET6, AF_NETLINK, INET_PROTOCOLS, NETLINK_PROTOCOLS, SOCK_FLAGS,
        SOCK_TYPE_MASK, SOCK_TYPES,
    },
};

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
