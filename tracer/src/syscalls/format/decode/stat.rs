//! `struct stat` and `struct statx`, as strace abbreviates them:
//! `{st_mode=S_IFREG|0644, st_size=34483, ...}`, a device's number in
//! place of its size, and statx's mask and attributes before them.
//!
//! The bytes are the kernel's x86_64 layouts, captured at exit of a call
//! that succeeded; a capture shorter than the fields shown (a fault)
//! leaves the pointer.

use crate::syscalls::{
    format::print::{push_mode, push_ptr, push_u64, write_flags},
    xlat::fs::{FILE_TYPES, MODE_BITS, S_IFBLK, S_IFCHR, S_IFMT, STATX_ATTRS, STATX_MASKS},
};

use super::{file::write_dev, u16_at, u32_at, u64_at};

/// `struct stat`: `{st_mode=S_IFREG|0644, st_size=34483, ...}`, or
/// `st_rdev=makedev(0x1, 0x3)` for devices.
pub fn write_stat(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let (Some(mode), Some(rdev), Some(size)) =
        (u32_at(bytes, 24), u64_at(bytes, 40), u64_at(bytes, 48))
    else {
        return push_ptr(out, raw);
    };
    out.extend_from_slice(b"{st_mode=");
    write_symbolic_mode(out, mode.into());
    if matches!(u64::from(mode) & S_IFMT, S_IFCHR | S_IFBLK) {
        out.extend_from_slice(b", st_rdev=");
        write_dev(out, rdev as u32);
    } else {
        out.extend_from_slice(b", st_size=");
        push_u64(out, size);
    }
    out.extend_from_slice(b", ...}");
}

/// `struct statx`: `{stx_mask=STATX_BASIC_STATS|STATX_MNT_ID,
/// stx_attributes=0, stx_mode=S_IFDIR|0755, stx_size=4096, ...}`.
pub fn write_statx(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let (Some(mask), Some(attributes), Some(mode), Some(size)) = (
        u32_at(bytes, 0),
        u64_at(bytes, 8),
        u16_at(bytes, 28),
        u64_at(bytes, 40),
    ) else {
        return push_ptr(out, raw);
    };
    out.extend_from_slice(b"{stx_mask=");
    write_flags(out, mask.into(), STATX_MASKS, Some("STATX_???"));
    out.extend_from_slice(b", stx_attributes=");
    write_flags(out, attributes, STATX_ATTRS, Some("STATX_ATTR_???"));
    out.extend_from_slice(b", stx_mode=");
    write_symbolic_mode(out, mode.into());
    out.extend_from_slice(b", stx_size=");
    push_u64(out, size);
    out.extend_from_slice(b", ...}");
}

/// strace's `print_symbolic_mode_t`: the file type, the set-id and sticky
/// bits by name, then the permissions in octal (`S_IFDIR|S_ISVTX|0777`).
fn write_symbolic_mode(out: &mut Vec<u8>, mode: u64) {
    if let Some((_, name)) = FILE_TYPES.iter().find(|&&(ty, _)| ty == mode & S_IFMT) {
        out.extend_from_slice(name.as_bytes());
        out.push(b'|');
    }
    for &(bit, name) in MODE_BITS {
        if mode & bit != 0 {
            out.extend_from_slice(name.as_bytes());
            out.push(b'|');
        }
    }
    push_mode(out, mode & 0o777);
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    /// A `struct stat` with `mode`, `rdev` and `size` set.
    fn stat(mode: u32, rdev: u64, size: u64) -> Vec<u8> {
        let mut b = vec![0u8; 144];
        b[24..28].copy_from_slice(&mode.to_ne_bytes());
        b[40..48].copy_from_slice(&rdev.to_ne_bytes());
        b[48..56].copy_from_slice(&size.to_ne_bytes());
        b
    }

    #[test]
    fn stat_as_strace_abbreviates_it() {
        // strace 6.1 on this machine, for the same files.
        let line = |nr, args: &[u64], arg, bytes: &[u8]| with_bytes(nr, args, Some(0), arg, bytes);
        assert_eq!(
            line(
                "newfstatat",
                &[3, P, P, 0x1000],
                2,
                &stat(0o100644, 0, 34011)
            ),
            "newfstatat(3, 0x1000, {st_mode=S_IFREG|0644, st_size=34011, ...}, AT_EMPTY_PATH) = 0"
        );
        assert_eq!(
            line("fstat", &[0, P], 1, &stat(0o20666, 0x103, 0)),
            "fstat(0, {st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}) = 0"
        );
        assert_eq!(
            line("stat", &[P, P], 1, &stat(0o41777, 0, 110592)),
            "stat(0x1000, {st_mode=S_IFDIR|S_ISVTX|0777, st_size=110592, ...}) = 0"
        );
        // A short capture (a fault) leaves the pointer.
        assert_eq!(line("fstat", &[0, P], 1, &[0; 30]), "fstat(0, 0x1000) = 0");
    }

    #[test]
    fn real_stat_bytes() {
        // The kernel's own bytes for /dev/null and the root directory.
        for (path, shown) in [
            (
                "/dev/null",
                "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}",
            ),
            ("/", "{st_mode=S_IFDIR|0755, st_size=4096, ...}"),
        ] {
            let c = std::ffi::CString::new(path).unwrap();
            let mut buf = [0u8; 144];
            // SAFETY: a valid path and a buffer of the kernel's size.
            let ret = unsafe {
                libc::syscall(
                    libc::SYS_newfstatat,
                    libc::AT_FDCWD,
                    c.as_ptr(),
                    buf.as_mut_ptr(),
                    0,
                )
            };
            assert_eq!(ret, 0);
            let line = with_bytes("newfstatat", &[neg(-100), P, P, 0], Some(0), 2, &buf);
            let size = std::fs::metadata(path).unwrap().len();
            let shown = shown.replace("4096", &size.to_string());
            assert_eq!(
                line,
                format!("newfstatat(AT_FDCWD, 0x1000, {shown}, 0) = 0")
            );
        }
    }

    #[test]
    fn statx_as_strace_abbreviates_it() {
        let mut b = vec![0u8; 256];
        b[0..4].copy_from_slice(&0x17ffu32.to_ne_bytes());
        b[28..30].copy_from_slice(&0o40755u16.to_ne_bytes());
        b[40..48].copy_from_slice(&4096u64.to_ne_bytes());
        assert_eq!(
            with_bytes("statx", &[neg(-100), P, 0x900, 2, P], Some(0), 4, &b),
            "statx(AT_FDCWD, 0x1000, AT_STATX_SYNC_AS_STAT|AT_SYMLINK_NOFOLLOW|AT_NO_AUTOMOUNT, \
             STATX_MODE, {stx_mask=STATX_BASIC_STATS|STATX_MNT_ID, stx_attributes=0, \
             stx_mode=S_IFDIR|0755, stx_size=4096, ...}) = 0"
        );
        b[0..4].copy_from_slice(&0x1fffu32.to_ne_bytes());
        b[28..30].copy_from_slice(&0o20666u16.to_ne_bytes());
        b[40..48].copy_from_slice(&0u64.to_ne_bytes());
        assert_eq!(
            with_bytes("statx", &[neg(-100), P, 0, 0xfff, P], Some(0), 4, &b),
            "statx(AT_FDCWD, 0x1000, AT_STATX_SYNC_AS_STAT, STATX_ALL, {stx_mask=STATX_ALL|STATX_MNT_ID, \
             stx_attributes=0, stx_mode=S_IFCHR|0666, stx_size=0, ...}) = 0"
        );
    }
}
