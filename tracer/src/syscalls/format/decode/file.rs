//! File arguments with a structure of their own: `open` flags (an access
//! mode, then flags), file types with permissions (`S_IFCHR|0620`),
//! device numbers (`makedev(0x1, 0x3)`), `statx` flags (a sync mode, then
//! `AT_*` flags); and what file calls write back: `getdents64`'s entry
//! count (`0x55… /* 5 entries */`), `pipe2`'s descriptors (`[3, 4]`),
//! `getcwd`'s path and `readlink`'s target.

use crate::{
    pipeline::SHOWN_BYTES,
    syscalls::{
        format::{
            print::{push_hex0, push_i64, push_mode, push_ptr, push_u64, write_flags},
            quote::write_quoted,
        },
        xlat::fs::{AT_FLAGS, FILE_TYPES, OPEN_FLAGS, S_IFMT, STATX_SYNC, STATX_SYNC_MASK},
    },
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

/// `getdents64`'s buffer: the pointer, then how many entries the call
/// returned (counted by the source).
pub fn write_dirents(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    push_ptr(out, raw);
    if let Some(n) = super::u32_at(bytes, 0) {
        out.extend_from_slice(b" /* ");
        push_u64(out, n.into());
        out.extend_from_slice(if n == 1 { b" entry */" } else { b" entries */" });
    }
}

/// Two `int`s: `pipe2`'s `[3, 4]`.
pub fn write_int_pair(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let (Some(a), Some(b)) = (super::u32_at(bytes, 0), super::u32_at(bytes, 4)) else {
        return push_ptr(out, raw);
    };
    out.push(b'[');
    push_i64(out, (a as i32).into());
    out.extend_from_slice(b", ");
    push_i64(out, (b as i32).into());
    out.push(b']');
}

/// `getcwd`'s path: the bytes returned, up to their NUL.
pub fn write_cwd(out: &mut Vec<u8>, bytes: &[u8]) {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    write_quoted(out, &bytes[..end], false);
}

/// A string the call wrote, `-s 32` as strace shows it (`readlink`).
pub fn write_str(out: &mut Vec<u8>, bytes: &[u8]) {
    let shown = bytes.len().min(SHOWN_BYTES);
    write_quoted(out, &bytes[..shown], bytes.len() > shown);
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn what_file_calls_write_back() {
        assert_eq!(
            with_bytes(
                "getdents64",
                &[3, 0x5560_347e_6cd0, 32768],
                Some(128),
                1,
                &5u32.to_ne_bytes()
            ),
            "getdents64(3, 0x5560347e6cd0 /* 5 entries */, 32768) = 128"
        );
        assert_eq!(
            with_bytes(
                "getdents64",
                &[3, P, 32768],
                Some(0),
                1,
                &0u32.to_ne_bytes()
            ),
            "getdents64(3, 0x1000 /* 0 entries */, 32768) = 0"
        );
        let fds: Vec<u8> = [7u32, 8].iter().flat_map(|v| v.to_ne_bytes()).collect();
        assert_eq!(
            with_bytes("pipe2", &[P, 0o2000000], Some(0), 0, &fds),
            "pipe2([7, 8], O_CLOEXEC) = 0"
        );
        assert_eq!(
            with_bytes("getcwd", &[P, 4096], Some(5), 0, b"/tmp\0"),
            "getcwd(\"/tmp\", 4096) = 5"
        );
        assert_eq!(
            with_bytes("readlink", &[P, P, 4096], Some(40), 1, &[b'x'; 40]),
            format!("readlink(0x1000, \"{}\"..., 4096) = 40", "x".repeat(32))
        );
        assert_eq!(
            with_bytes("readlink", &[P, P, 10], Some(10), 1, &[b'x'; 10]),
            "readlink(0x1000, \"xxxxxxxxxx\", 10) = 10"
        );
    }

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
