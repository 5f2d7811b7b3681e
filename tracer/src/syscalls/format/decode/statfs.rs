//! `struct statfs` (`statfs`, `fstatfs`) as strace's `print_statfs.c`
//! shows it: the file system's magic by name, the counts, `f_fsid`'s two
//! words in hex, and `f_flags` only when `ST_VALID` says they are set.

use crate::syscalls::{
    format::print::{push_hex0, push_ptr, push_u64, write_enum_or_hex, write_flags},
    xlat::fs::{FS_MAGIC, ST_VALID, STATFS_FLAGS},
};

use super::{u32_at, u64_at};

/// `{f_type=EXT2_SUPER_MAGIC, f_bsize=4096, …, f_flags=ST_VALID|ST_RELATIME}`.
pub fn write_statfs(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let word = |i: usize| u64_at(bytes, i * 8);
    let (Some(flags), Some(fsid0), Some(fsid1)) = (word(10), u32_at(bytes, 56), u32_at(bytes, 60))
    else {
        return push_ptr(out, raw);
    };
    out.extend_from_slice(b"{f_type=");
    write_enum_or_hex(out, word(0).unwrap_or(0), FS_MAGIC);
    for (name, i) in [
        (&b", f_bsize="[..], 1),
        (b", f_blocks=", 2),
        (b", f_bfree=", 3),
        (b", f_bavail=", 4),
        (b", f_files=", 5),
        (b", f_ffree=", 6),
    ] {
        out.extend_from_slice(name);
        push_u64(out, word(i).unwrap_or(0));
    }
    out.extend_from_slice(b", f_fsid={val=[");
    push_hex0(out, fsid0.into());
    out.extend_from_slice(b", ");
    push_hex0(out, fsid1.into());
    out.extend_from_slice(b"]}, f_namelen=");
    push_u64(out, word(8).unwrap_or(0));
    out.extend_from_slice(b", f_frsize=");
    push_u64(out, word(9).unwrap_or(0));
    if flags & ST_VALID != 0 {
        out.extend_from_slice(b", f_flags=");
        write_flags(out, flags, STATFS_FLAGS, Some("ST_???"));
    }
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    fn statfs(words: [u64; 7], fsid: [u32; 2], namelen: u64, frsize: u64, flags: u64) -> Vec<u8> {
        let mut b: Vec<u8> = words.iter().flat_map(|w| w.to_ne_bytes()).collect();
        b.extend(fsid.iter().flat_map(|w| w.to_ne_bytes()));
        for w in [namelen, frsize, flags, 0, 0, 0, 0] {
            b.extend_from_slice(&w.to_ne_bytes());
        }
        b
    }

    #[test]
    fn statfs_as_strace_prints_it() {
        // strace 6.1 on this machine, for the same file systems.
        let proc = statfs([0x9fa0, 4096, 0, 0, 0, 0, 0], [0x15, 0], 255, 4096, 0x1020);
        assert_eq!(
            with_bytes("statfs", &[P, P], Some(0), 1, &proc),
            "statfs(0x1000, {f_type=PROC_SUPER_MAGIC, f_bsize=4096, f_blocks=0, f_bfree=0, \
             f_bavail=0, f_files=0, f_ffree=0, f_fsid={val=[0x15, 0]}, f_namelen=255, \
             f_frsize=4096, f_flags=ST_VALID|ST_RELATIME}) = 0"
        );
        let ext4 = statfs(
            [
                0xef53, 4096, 66053021, 52583130, 10351581, 16777216, 16251359,
            ],
            [0x38a3f163, 0xc5bf9b47],
            255,
            4096,
            0x1020,
        );
        assert_eq!(
            with_bytes("fstatfs", &[3, P], Some(0), 1, &ext4),
            "fstatfs(3, {f_type=EXT2_SUPER_MAGIC, f_bsize=4096, f_blocks=66053021, \
             f_bfree=52583130, f_bavail=10351581, f_files=16777216, f_ffree=16251359, \
             f_fsid={val=[0x38a3f163, 0xc5bf9b47]}, f_namelen=255, f_frsize=4096, \
             f_flags=ST_VALID|ST_RELATIME}) = 0"
        );
        // No ST_VALID: no flags; an unknown magic in plain hex; unknown
        // flag bits after the names.
        let odd = statfs([0x1234abcd, 512, 1, 2, 3, 4, 5], [0, 0], 1, 2, 0x8000_0009);
        assert_eq!(
            with_bytes("fstatfs", &[3, P], Some(0), 1, &odd),
            "fstatfs(3, {f_type=0x1234abcd, f_bsize=512, f_blocks=1, f_bfree=2, f_bavail=3, \
             f_files=4, f_ffree=5, f_fsid={val=[0, 0]}, f_namelen=1, f_frsize=2}) = 0"
        );
        let pipe = statfs(
            [0x50495045, 4096, 0, 0, 0, 0, 0],
            [0xf, 0],
            255,
            4096,
            0x20 | 0x4000,
        );
        assert_eq!(
            with_bytes("fstatfs", &[3, P], Some(0), 1, &pipe),
            "fstatfs(3, {f_type=PIPEFS_MAGIC, f_bsize=4096, f_blocks=0, f_bfree=0, f_bavail=0, \
             f_files=0, f_ffree=0, f_fsid={val=[0xf, 0]}, f_namelen=255, f_frsize=4096, \
             f_flags=ST_VALID|0x4000}) = 0"
        );
        assert_eq!(
            call("statfs", &[P, P], Some(-2)),
            "statfs(0x1000, 0x1000) = -1 ENOENT (No such file or directory)"
        );
    }
}
