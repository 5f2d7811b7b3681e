//! `struct sysinfo` as strace's `sysinfo.c` shows it: every field, in
//! the kernel's order.

use crate::syscalls::format::print::{push_ptr, push_u64};

use super::{u16_at, u32_at, u64_at};

/// Bytes of x86_64's `struct sysinfo`.
const SYSINFO: usize = 112;

/// `{uptime=…, loads=[…, …, …], totalram=…, …, mem_unit=1}`.
pub fn write_sysinfo(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    if bytes.len() < SYSINFO {
        return push_ptr(out, raw);
    }
    let word = |at: usize| u64_at(bytes, at).unwrap_or(0);
    out.extend_from_slice(b"{uptime=");
    push_u64(out, word(0));
    out.extend_from_slice(b", loads=[");
    for i in 0..3 {
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        push_u64(out, word(8 + 8 * i));
    }
    out.push(b']');
    for (name, at) in [
        (&b", totalram="[..], 32),
        (b", freeram=", 40),
        (b", sharedram=", 48),
        (b", bufferram=", 56),
        (b", totalswap=", 64),
        (b", freeswap=", 72),
    ] {
        out.extend_from_slice(name);
        push_u64(out, word(at));
    }
    out.extend_from_slice(b", procs=");
    push_u64(out, u16_at(bytes, 80).unwrap_or(0).into());
    out.extend_from_slice(b", totalhigh=");
    push_u64(out, word(88));
    out.extend_from_slice(b", freehigh=");
    push_u64(out, word(96));
    out.extend_from_slice(b", mem_unit=");
    push_u64(out, u32_at(bytes, 104).unwrap_or(0).into());
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn sysinfo_as_strace_prints_it() {
        // strace 6.1 on this machine printed these values.
        let mut b = vec![0u8; 112];
        let put = |b: &mut Vec<u8>, at: usize, v: &[u8]| b[at..at + v.len()].copy_from_slice(v);
        for (at, v) in [
            (0, 21013u64),
            (8, 495232),
            (16, 344064),
            (24, 208448),
            (32, 25276502016),
            (40, 4829605888),
            (48, 9084928),
            (56, 157401088),
            (64, 0),
            (72, 0),
            (88, 0),
            (96, 0),
        ] {
            put(&mut b, at, &v.to_ne_bytes());
        }
        put(&mut b, 80, &121u16.to_ne_bytes());
        // Padding after `procs` is not a field.
        put(&mut b, 82, &0xffffu16.to_ne_bytes());
        put(&mut b, 104, &1u32.to_ne_bytes());
        assert_eq!(
            with_bytes("sysinfo", &[P], Some(0), 0, &b),
            "sysinfo({uptime=21013, loads=[495232, 344064, 208448], totalram=25276502016, \
             freeram=4829605888, sharedram=9084928, bufferram=157401088, totalswap=0, \
             freeswap=0, procs=121, totalhigh=0, freehigh=0, mem_unit=1}) = 0"
        );
        assert_eq!(
            call("sysinfo", &[P], Some(-14)),
            "sysinfo(0x1000) = -1 EFAULT (Bad address)"
        );
    }
}
