//! Process structures: `execve`'s argument array and environment count
//! (`["ls", "-la"], 0x7ffd… /* 38 vars */`), resource limits
//! (`{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}`), wait statuses
//! (`[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`) and `uname`'s names, as
//! strace's `execve.c`, `resource.c`, `wait.c` and `uname.c` print them.

use tracer_common::structs::STR_BYTES;

use crate::{
    pipeline::SHOWN_BYTES,
    syscalls::format::{
        print::{push_ptr, push_u64},
        quote::write_quoted,
    },
};

use super::{signal::write_signal, u32_at, u64_at};

/// Most elements of an array strace shows before `...` (its `-s 32`).
const SHOWN_ELEMENTS: usize = 32;

/// `argv`: the captured strings (each cut at [`STR_BYTES`], then a NUL),
/// quoted and cut as strace's `-s 32` cuts them.
pub fn write_argv(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'[');
    let mut strings = bytes.split(|&b| b == 0);
    // The bytes end with a NUL: the last piece is empty.
    let count = bytes.iter().filter(|&&b| b == 0).count();
    for i in 0..count.min(SHOWN_ELEMENTS) {
        let s = strings.next().unwrap_or_default();
        if i > 0 {
            out.extend_from_slice(b", ");
        }
        let cut = s.len() > SHOWN_BYTES;
        write_quoted(out, &s[..s.len().min(SHOWN_BYTES)], cut);
    }
    if count > SHOWN_ELEMENTS {
        out.extend_from_slice(b", ...");
    }
    out.push(b']');
    debug_assert!(STR_BYTES as usize > SHOWN_BYTES);
}

/// `envp`: the pointer, then how many variables it holds.
pub fn write_envp(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    push_ptr(out, raw);
    if let Some(n) = u32_at(bytes, 0) {
        out.extend_from_slice(b" /* ");
        push_u64(out, n.into());
        out.extend_from_slice(if n == 1 { b" var */" } else { b" vars */" });
    }
}

/// `struct rlimit64`: `{rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}`.
pub fn write_rlimit(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let (Some(cur), Some(max)) = (u64_at(bytes, 0), u64_at(bytes, 8)) else {
        return push_ptr(out, raw);
    };
    out.extend_from_slice(b"{rlim_cur=");
    write_rlim(out, cur);
    out.extend_from_slice(b", rlim_max=");
    write_rlim(out, max);
    out.push(b'}');
}

/// One limit: strace's `sprint_rlim64`.
fn write_rlim(out: &mut Vec<u8>, value: u64) {
    if value == u64::MAX {
        out.extend_from_slice(b"RLIM64_INFINITY");
    } else if value > 1024 && value.is_multiple_of(1024) {
        push_u64(out, value / 1024);
        out.extend_from_slice(b"*1024");
    } else {
        push_u64(out, value);
    }
}

/// A wait status: `[{WIFEXITED(s) && WEXITSTATUS(s) == 0}]`.
pub fn write_wait_status(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    let Some(status) = u32_at(bytes, 0) else {
        return push_ptr(out, raw);
    };
    out.extend_from_slice(b"[{");
    let low = status & 0x7f;
    if status & 0xff == 0x7f {
        out.extend_from_slice(b"WIFSTOPPED(s) && WSTOPSIG(s) == ");
        write_signal(out, ((status >> 8) & 0xff) as i32);
    } else if status == 0xffff {
        out.extend_from_slice(b"WIFCONTINUED(s)");
    } else if low == 0 {
        out.extend_from_slice(b"WIFEXITED(s) && WEXITSTATUS(s) == ");
        push_u64(out, ((status >> 8) & 0xff).into());
    } else {
        out.extend_from_slice(b"WIFSIGNALED(s) && WTERMSIG(s) == ");
        write_signal(out, low as i32);
        if status & 0x80 != 0 {
            out.extend_from_slice(b" && WCOREDUMP(s)");
        }
    }
    out.extend_from_slice(b"}]");
}

/// `struct utsname`, abbreviated: `{sysname="Linux", nodename="vm", ...}`.
pub fn write_utsname(out: &mut Vec<u8>, raw: u64, bytes: &[u8]) {
    /// Each field's size (`__NEW_UTS_LEN + 1`).
    const FIELD: usize = 65;
    let (Some(sysname), Some(nodename)) = (bytes.get(..FIELD), bytes.get(FIELD..2 * FIELD)) else {
        return push_ptr(out, raw);
    };
    let cut = |f: &[u8]| {
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        f[..end].to_vec()
    };
    out.extend_from_slice(b"{sysname=");
    write_quoted(out, &cut(sysname), false);
    out.extend_from_slice(b", nodename=");
    write_quoted(out, &cut(nodename), false);
    out.extend_from_slice(b", ...}");
}

#[cfg(test)]
mod tests {
    use crate::syscalls::format::testing::*;

    #[test]
    fn execve_as_strace_prints_it() {
        // strace 6.1 on this machine: 32 elements then `...`, strings
        // cut at 32 bytes.
        let mut argv = Vec::new();
        let mut strings: Vec<String> = vec!["true".into()];
        strings.extend((30..36).map(|n| "a".repeat(n)));
        strings.extend((0..30).map(|n| n.to_string()));
        for s in strings.iter().take(33) {
            argv.extend_from_slice(&s.as_bytes()[..s.len().min(33)]);
            argv.push(0);
        }
        let mut ev = event("execve", &[P, P, 0x7fb1_626c_4830], Some(0));
        set_bytes(&mut ev, 1, &argv);
        set_bytes(&mut ev, 2, &1u32.to_ne_bytes());
        let a = |n| "a".repeat(n);
        let mut expected = format!(
            "execve(0x1000, [\"true\", \"{}\", \"{}\", \"{}\", \"{}\"..., \"{}\"..., \"{}\"...",
            a(30),
            a(31),
            a(32),
            a(32),
            a(32),
            a(32)
        );
        for n in 0..25 {
            expected += &format!(", \"{n}\"");
        }
        expected += ", ...], 0x7fb1626c4830 /* 1 var */) = 0";
        assert_eq!(render_event(&ev), expected);
        set_bytes(&mut ev, 1, b"ls\0-la\0");
        set_bytes(&mut ev, 2, &63u32.to_ne_bytes());
        assert_eq!(
            render_event(&ev),
            "execve(0x1000, [\"ls\", \"-la\"], 0x7fb1626c4830 /* 63 vars */) = 0"
        );
    }

    #[test]
    fn real_uname_bytes() {
        // SAFETY: an all-zero utsname is valid; the kernel fills it.
        let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
        // SAFETY: a valid buffer of the kernel's size.
        assert_eq!(unsafe { libc::uname(&mut uts) }, 0);
        // SAFETY: plain bytes of the whole struct.
        let bytes = unsafe {
            std::slice::from_raw_parts((&raw const uts).cast::<u8>(), size_of::<libc::utsname>())
        };
        assert_eq!(bytes.len(), 390);
        let node = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        let node = node.trim_end();
        assert_eq!(
            with_bytes("uname", &[P], Some(0), 0, bytes),
            format!("uname({{sysname=\"Linux\", nodename=\"{node}\", ...}}) = 0")
        );
    }

    #[test]
    fn rlimits_as_strace_prints_them() {
        let rl = |cur: u64, max: u64| {
            let b: Vec<u8> = [cur, max].iter().flat_map(|v| v.to_ne_bytes()).collect();
            with_bytes("prlimit64", &[0, 3, 0, P], Some(0), 3, &b)
        };
        assert_eq!(
            rl(8192 * 1024, u64::MAX),
            "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=8192*1024, rlim_max=RLIM64_INFINITY}) = 0"
        );
        assert_eq!(
            rl(1024, 4096),
            "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=1024, rlim_max=4*1024}) = 0"
        );
        assert_eq!(
            rl(0, 2_097_153),
            "prlimit64(0, RLIMIT_STACK, NULL, {rlim_cur=0, rlim_max=2097153}) = 0"
        );
    }

    #[test]
    fn wait_statuses_as_strace_prints_them() {
        let st = |s: u32| with_bytes("wait4", &[neg(-1), P, 0, 0], Some(42), 1, &s.to_ne_bytes());
        assert_eq!(
            st(3 << 8),
            "wait4(-1, [{WIFEXITED(s) && WEXITSTATUS(s) == 3}], 0, NULL) = 42"
        );
        assert_eq!(
            st(9),
            "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGKILL}], 0, NULL) = 42"
        );
        assert_eq!(
            st(0x8b),
            "wait4(-1, [{WIFSIGNALED(s) && WTERMSIG(s) == SIGSEGV && WCOREDUMP(s)}], 0, NULL) = 42"
        );
        assert_eq!(
            st(0x137f),
            "wait4(-1, [{WIFSTOPPED(s) && WSTOPSIG(s) == SIGSTOP}], 0, NULL) = 42"
        );
        assert_eq!(st(0xffff), "wait4(-1, [{WIFCONTINUED(s)}], 0, NULL) = 42");
    }
}
