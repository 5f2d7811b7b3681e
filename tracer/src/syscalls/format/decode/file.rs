//! File arguments with a structure of their own: `open` flags (an access
//! mode, then flags), file types with permissions (`S_IFCHR|0620`),
//! device numbers (`makedev(0x1, 0x3)`), `statx` flags (a sync mode, then
//! `AT_*` flags).

use crate::syscalls::{
    format::print::{push_hex0, push_mode, write_flags},
    xlat::fs::{AT_FLAGS, FILE_TYPES, OPEN_FLAGS, S_IFMT, STATX_SYNC, STATX_SYNC_MASK},
};

/// `O_RDONLY|O_CLOEXEC`: the access mode, named even when 0, then flags.
pub fn write_open_flags(out: &mut Vec<u8>, flags: u64) {
    let modes: [&[u8]; 4] = [b"O_RDONLY", b"O_WRONLY", b"O_RDWR", b"O_ACCMODE"];
    out.extend_from_slice(modes[(flags & 3) as usize]);
    let rest = flags & !3;
    if rest != 0 {
        out.push(b'|');
        write_flags(out, rest, OPEN_FLAGS, None);
    }
}

/// `S_IFCHR|0620`, or plain octal for regular permissions.
pub fn write_file_mode(out: &mut Vec<u8>, mode: u64) {
    match FILE_TYPES.iter().find(|&&(ty, _)| ty == mode & S_IFMT) {
        Some((_, name)) => {
            out.extend_from_slice(name.as_bytes());
            out.push(b'|');
            push_mode(out, mode & !S_IFMT);
        }
        None => push_mode(out, mode),
    }
}

/// `makedev(0x1, 0x3)`, decoding the kernel's 32-bit `dev_t`.
pub fn write_dev(out: &mut Vec<u8>, dev: u32) {
    let major = (dev & 0xfff00) >> 8;
    let minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
    out.extend_from_slice(b"makedev(");
    push_hex0(out, major.into());
    out.extend_from_slice(b", ");
    push_hex0(out, minor.into());
    out.push(b')');
}

/// `statx`'s flags: the sync mode (whose 0 has a name), then `AT_*` flags.
pub fn write_statx_flags(out: &mut Vec<u8>, flags: u32) {
    let sync = u64::from(flags & STATX_SYNC_MASK);
    write_flags(out, sync, STATX_SYNC, None);
    let rest = u64::from(flags & !STATX_SYNC_MASK);
    if rest != 0 {
        out.push(b'|');
        write_flags(out, rest, AT_FLAGS, None);
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn openat() {
        let flags = 0o2000000; // O_RDONLY|O_CLOEXEC
        let line = call("openat", &[neg(-100), 0x5581_0000_1000, flags, 0], Some(3));
        assert_eq!(
            line,
            "openat(AT_FDCWD, 0x558100001000, O_RDONLY|O_CLOEXEC) = 3"
        );
        // The mode only with O_CREAT or O_TMPFILE.
        assert_eq!(
            args("openat", &[3, P, 0o1101, 0o644]),
            "openat(3, 0x1000, O_WRONLY|O_CREAT|O_TRUNC, 0644)"
        );
        assert_eq!(
            args("openat", &[neg(-100), P, 0o20200002, 0o600]),
            "openat(AT_FDCWD, 0x1000, O_RDWR|O_TMPFILE, 0600)"
        );
        assert_eq!(
            args("openat", &[neg(-100), P, 0o20000000, 0o644]),
            "openat(AT_FDCWD, 0x1000, O_RDONLY|__O_TMPFILE, 0644)"
        );
        assert_eq!(args("open", &[P, 0, 0o600]), "open(0x1000, O_RDONLY)");
        assert_eq!(
            args("openat", &[neg(-100), 0, 3, 0]),
            "openat(AT_FDCWD, NULL, O_ACCMODE)"
        );
    }

    #[test]
    fn open_flags_in_strace_order() {
        let cases = [
            (
                0o2000000 | 0o200000 | 0o400000,
                "O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY",
            ),
            (0o4010000, "O_RDONLY|O_SYNC"),
            (0o10000, "O_RDONLY|O_DSYNC"),
            (0o20000, "O_RDONLY|FASYNC"),
            (0o10000000, "O_RDONLY|O_PATH"),
            (0x40000000, "O_RDONLY|0x40000000"),
            (0o4000 | 2, "O_RDWR|O_NONBLOCK"),
        ];
        for (flags, expected) in cases {
            assert_eq!(
                args("openat", &[3, P, flags]),
                format!("openat(3, 0x1000, {expected})")
            );
        }
    }

    #[test]
    fn at_flags() {
        let stat = |flags| args("newfstatat", &[neg(-100), P, P, flags]);
        assert_eq!(stat(0), "newfstatat(AT_FDCWD, 0x1000, 0x1000, 0)");
        assert_eq!(
            stat(0x1100),
            "newfstatat(AT_FDCWD, 0x1000, 0x1000, AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH)"
        );
        assert_eq!(
            stat(0x6000),
            "newfstatat(AT_FDCWD, 0x1000, 0x1000, 0x6000 /* AT_??? */)"
        );
        assert_eq!(
            args("unlinkat", &[3, P, 0x200]),
            "unlinkat(3, 0x1000, AT_REMOVEDIR)"
        );
        assert_eq!(
            args("faccessat2", &[neg(-100), P, 4, 0x300]),
            "faccessat2(AT_FDCWD, 0x1000, R_OK, AT_SYMLINK_NOFOLLOW|AT_EACCESS)"
        );
        assert_eq!(
            args("faccessat2", &[neg(-100), P, 4, 0x400]),
            "faccessat2(AT_FDCWD, 0x1000, R_OK, 0x400 /* AT_??? */)"
        );
        assert_eq!(
            args("statx", &[3, P, 0x2100, 0x7ff, P]),
            "statx(3, 0x1000, AT_STATX_FORCE_SYNC|AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, 0x1000)"
        );
        assert_eq!(
            args("statx", &[3, P, 0x1000, 0xfff, P]),
            "statx(3, 0x1000, AT_STATX_SYNC_AS_STAT|AT_EMPTY_PATH, STATX_ALL, 0x1000)"
        );
        assert_eq!(args("access", &[P, 0]), "access(0x1000, F_OK)");
        assert_eq!(args("access", &[P, 7]), "access(0x1000, R_OK|W_OK|X_OK)");
        assert_eq!(args("access", &[P, 8]), "access(0x1000, 0x8 /* ?_OK */)");
    }

    #[test]
    fn modes() {
        assert_eq!(args("mkdir", &[P, 0o755]), "mkdir(0x1000, 0755)");
        assert_eq!(args("chmod", &[P, 0]), "chmod(0x1000, 000)");
        assert_eq!(args("chmod", &[P, 0o7]), "chmod(0x1000, 007)");
        assert_eq!(args("chmod", &[P, 0o4755]), "chmod(0x1000, 04755)");
        assert_eq!(args("chmod", &[P, 0x10001a4]), "chmod(0x1000, 0644)");
        assert_eq!(
            args("mknod", &[P, 0o20660, 0x103]),
            "mknod(0x1000, S_IFCHR|0660, makedev(0x1, 0x3))"
        );
        assert_eq!(args("mknod", &[P, 0o644, 0]), "mknod(0x1000, 0644)");
        assert_eq!(
            args("mknod", &[P, 0o140777, 5]),
            "mknod(0x1000, S_IFSOCK|0777)"
        );
        assert_eq!(args("umask", &[0]), "umask(000)");
    }

    #[test]
    fn descriptor_flags() {
        assert_eq!(args("pipe2", &[P, 0]), "pipe2(0x1000, 0)");
        assert_eq!(
            args("pipe2", &[P, 0x80800]),
            "pipe2(0x1000, O_NONBLOCK|O_CLOEXEC)"
        );
        assert_eq!(
            args("pipe2", &[P, 0o20000000]),
            "pipe2(0x1000, __O_TMPFILE)"
        );
        assert_eq!(args("dup3", &[3, 4, 0x80000]), "dup3(3, 4, O_CLOEXEC)");
    }
}
