//! `ioctl` requests: the name for the common ones, else the request's
//! encoded fields as strace shows them.

use crate::syscalls::{format::print::push_hex0, xlat::ioctl::IOCTLS};

/// `TCGETS` for a few common requests, else strace's decoding of the
/// request's fields: `_IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x1, 0x18)`.
pub fn write_ioctl_request(out: &mut Vec<u8>, request: u32) {
    if let Some((_, name)) = IOCTLS.iter().find(|&&(r, _)| r == request) {
        out.extend_from_slice(name.as_bytes());
        return;
    }
    let dirs: [&[u8]; 4] = [
        b"_IOC_NONE",
        b"_IOC_WRITE",
        b"_IOC_READ",
        b"_IOC_READ|_IOC_WRITE",
    ];
    out.extend_from_slice(b"_IOC(");
    out.extend_from_slice(dirs[(request >> 30) as usize]);
    for field in [
        (request >> 8) & 0xff,
        request & 0xff,
        (request >> 16) & 0x3fff,
    ] {
        out.extend_from_slice(b", ");
        push_hex0(out, field.into());
    }
    out.push(b')');
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn ioctl_requests() {
        assert_eq!(
            args("ioctl", &[1, 0x5413, P]),
            "ioctl(1, TIOCGWINSZ, 0x1000)"
        );
        assert_eq!(
            args("ioctl", &[3, 0xc0186201, 0]),
            "ioctl(3, _IOC(_IOC_READ|_IOC_WRITE, 0x62, 0x1, 0x18), 0)"
        );
        assert_eq!(
            args("ioctl", &[neg(-1), 0, 0]),
            "ioctl(-1, _IOC(_IOC_NONE, 0, 0, 0), 0)"
        );
    }
}
