//! `mmap` flags: the map type, then flags, then the huge page size.

use crate::syscalls::{
    format::print::{push_u64, write_enum, write_flags},
    xlat::mm::{MAP_HUGE_MASK, MAP_HUGE_SHIFT, MAP_TYPE, MAP_TYPES, MMAP_FLAGS},
};

/// The map type (`MAP_PRIVATE`), then flags, then the huge page size.
pub fn write_mmap_flags(out: &mut Vec<u8>, flags: u64) {
    write_enum(out, flags & MAP_TYPE, MAP_TYPES, "MAP_???");
    let huge = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
    let rest = flags & !MAP_TYPE & !(MAP_HUGE_MASK << MAP_HUGE_SHIFT);
    if rest != 0 {
        out.push(b'|');
        write_flags(out, rest, MMAP_FLAGS, None);
    }
    if huge != 0 {
        out.push(b'|');
        push_u64(out, huge);
        out.extend_from_slice(b"<<MAP_HUGE_SHIFT");
    }
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn mmap_and_mprotect() {
        let mmap = |prot, flags| args("mmap", &[0x7f0000, 8192, prot, flags, 3, 0x1000]);
        let tail = |s: String| {
            s.strip_prefix("mmap(0x7f0000, 8192, ")
                .unwrap()
                .strip_suffix(", 3, 0x1000)")
                .unwrap()
                .to_owned()
        };
        assert_eq!(tail(mmap(0, 2)), "PROT_NONE, MAP_PRIVATE");
        assert_eq!(tail(mmap(7, 0)), "PROT_READ|PROT_WRITE|PROT_EXEC, MAP_FILE");
        assert_eq!(
            tail(mmap(0x10, 3)),
            "0x10 /* PROT_??? */, MAP_SHARED_VALIDATE"
        );
        assert_eq!(
            tail(mmap(0x1000000, 0x802)),
            "PROT_GROWSDOWN, MAP_PRIVATE|MAP_DENYWRITE"
        );
        assert_eq!(
            tail(mmap(1, 0x40022 | (21 << 26))),
            "PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|21<<MAP_HUGE_SHIFT"
        );
        assert_eq!(tail(mmap(1, 0xf)), "PROT_READ, 0xf /* MAP_??? */");
        assert_eq!(
            tail(mmap(1, 0x100002)),
            "PROT_READ, MAP_PRIVATE|MAP_FIXED_NOREPLACE"
        );
        assert_eq!(
            args("mprotect", &[0x7f0000, 4096, 5]),
            "mprotect(0x7f0000, 4096, PROT_READ|PROT_EXEC)"
        );
        assert_eq!(args("munmap", &[0x7f00, 4096]), "munmap(0x7f00, 4096)");
    }
}
