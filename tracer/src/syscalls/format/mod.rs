//! strace-style rendering of one syscall:
//! `openat(AT_FDCWD, "/etc/hosts", O_RDONLY|O_CLOEXEC) = 3`.
//!
//! This runs for every event of a text trace (millions a second), so it
//! writes straight into the caller's buffer: no allocation besides that
//! buffer's growth, no `format!`, no fallible path. Every argument kind
//! renders every 64-bit value; what has no name is shown in hex, with
//! strace's `/* X_??? */` comment where strace has one. The expected
//! strings in the tests are strace 6.1's output for the same values.
//!
//! Laid out as strace's sources are, each part with its tests:
//! - this module renders a whole call (name, arguments, return value) and
//!   picks the layout of its arguments;
//! - [`args`]: the generic layout, one rendering per [`super::ArgKind`];
//! - [`decode`]: the families whose arguments need more than a kind
//!   (clone, futex, fcntl, ioctl, sockets, poll, ...), one file per
//!   family; a decoder for a new structure goes there; some show part of
//!   what a call answered after its return value, as strace does
//!   (`poll`'s `= 1 ([{fd=3, revents=POLLIN}])`);
//! - [`print`](mod@print): numbers, flags and enumerations (strace's `printflags`,
//!   `printxval`), which every layout shares;
//! - [`quote`]: strings and names from the target, quoted and escaped.
//!
//! The names of values (flags, commands) are tables in `super::xlat`.

mod args;
mod decode;
mod print;
mod quote;
#[cfg(test)]
mod testing;

use tracer_common::MAX_ARGS;

use tracer_common::capture;

use super::{Ret, data, errno, nr, structs};
use crate::event::SyscallEvent;
use args::write_args;
use decode::{
    clone::write_clone,
    fcntl::{write_fcntl, write_fcntl_value},
    futex::write_futex,
    ioctl::write_ioctl,
    poll::write_outcome,
    sockopt::{write_getsockopt, write_setsockopt},
    write_struct,
};
pub use decode::{
    siginfo::{write_exit_status, write_siginfo},
    signal::write_signal,
};
use print::{push_hex, push_hex0, push_i64, push_mode, sep};
pub use quote::write_quoted;

/// A string argument read from the tracee's memory, for the
/// [`super::ArgKind::Path`] and [`super::ArgKind::Str`] arguments: sources that capture strings pass them to
/// [`write_call_with`], which quotes them like strace (`"/etc/hosts"`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Captured<'a> {
    /// The bytes, without the terminating NUL.
    pub bytes: &'a [u8],
    /// The string goes on beyond `bytes` (capture limit): shown as `"…"...`.
    pub truncated: bool,
}

/// Captured strings by argument position.
pub type Strings<'a> = [Option<Captured<'a>>; MAX_ARGS];

/// No captured strings: pointers are shown as addresses.
pub const NO_STRINGS: Strings<'static> = [None; MAX_ARGS];

/// Appends `name(args) = ret` for `ev`: no prefix, no newline.
pub fn write_call(out: &mut Vec<u8>, ev: &SyscallEvent) {
    write_call_with(out, ev, &NO_STRINGS);
}

/// What `ev` carries to show in place of pointers: its string arguments,
/// and its captured data as the buffer argument (`args[1]` of every call
/// that has data: `read(3, "GET / HTTP/1.1\r\n"..., 4096)`).
pub fn captured_of(ev: &SyscallEvent) -> Strings<'_> {
    let mut captured = match &ev.strings {
        None => NO_STRINGS,
        Some(strings) => std::array::from_fn(|i| {
            strings[i].as_ref().map(|s| Captured {
                bytes: &s.bytes,
                truncated: s.truncated,
            })
        }),
    };
    if let Some(data) = &ev.data {
        captured[1] = Some(Captured {
            bytes: &data.bytes,
            truncated: data.truncated,
        });
    }
    captured
}

/// [`write_call`], showing `strings[i]` for argument `i` when it is a
/// string argument.
pub fn write_call_with(out: &mut Vec<u8>, ev: &SyscallEvent, strings: &Strings<'_>) {
    let args = &ev.args;
    let Some(sc) = super::get(ev.nr) else {
        // strace's fallback for numbers it does not know: raw hex.
        out.extend_from_slice(b"syscall_");
        push_hex(out, u64::from(ev.nr));
        out.push(b'(');
        for (i, &arg) in args.iter().enumerate() {
            sep(out, i);
            push_hex0(out, arg);
        }
        out.push(b')');
        write_return(out, Ret::Hex, ev.ret);
        return;
    };
    out.extend_from_slice(sc.name.as_bytes());
    out.push(b'(');
    match ev.nr {
        nr::CLONE => write_clone(out, args),
        nr::FUTEX => write_futex(out, args),
        nr::FCNTL => write_fcntl(out, args),
        nr::IOCTL => write_ioctl(out, args, strings, ev.ret),
        nr::SETSOCKOPT => write_setsockopt(out, args, strings),
        nr::GETSOCKOPT => write_getsockopt(out, args, strings, ev.ret),
        // A call without arguments whose frame was captured
        // (`rt_sigreturn({mask=[]})`), shown as its first argument.
        _ if sc.args.is_empty()
            && let Some(frame) = strings[0]
            && let Some(shape) = structs::shape(ev.nr, 0) =>
        {
            write_struct(out, ev.nr, 0, shape, 0, frame.bytes, args);
        }
        _ if strings[1].is_none() && ev.ret == Some(0) && data::mode(ev.nr) == capture::BUF_OUT => {
            // A read that returned 0 filled none of its buffer: strace's
            // `read(3, "", 1024) = 0`, known without capturing a byte.
            let mut strings = *strings;
            strings[1] = Some(Captured {
                bytes: &[],
                truncated: false,
            });
            write_args(out, ev.nr, sc.args, args, &strings);
        }
        _ => write_args(out, ev.nr, sc.args, args, strings),
    }
    out.push(b')');
    match (ev.nr, ev.ret) {
        (nr::FCNTL, Some(value)) if value >= 0 => {
            out.extend_from_slice(b" = ");
            write_fcntl_value(out, args, value);
        }
        _ => write_return(out, sc.ret, ev.ret),
    }
    write_outcome(out, ev.nr, args, ev.ret, strings);
}

/// Appends ` = ret`: `?` when the call never returned, strace's
/// `-1 ENOENT (No such file or directory)` for errors (and `? ERESTARTSYS
/// (…)` for interrupted calls), else the value as `ret` says.
pub fn write_return(out: &mut Vec<u8>, ret: Ret, value: Option<i64>) {
    out.extend_from_slice(b" = ");
    let Some(value) = value else {
        out.push(b'?');
        return;
    };
    if (-4095..0).contains(&value) {
        // In range, so the negation fits.
        let errno = (-value) as i32;
        match errno::name(errno) {
            Some(name) if errno::is_restart(errno) => {
                out.extend_from_slice(b"? ");
                out.extend_from_slice(name.as_bytes());
            }
            Some(name) => {
                out.extend_from_slice(b"-1 ");
                out.extend_from_slice(name.as_bytes());
            }
            None => {
                out.extend_from_slice(b"-1 (errno ");
                push_i64(out, errno.into());
                out.push(b')');
                return;
            }
        }
        out.extend_from_slice(b" (");
        let text = errno::description(errno);
        out.extend_from_slice(text.as_bytes());
        if text == errno::UNKNOWN {
            // glibc's strerror: "Unknown error 515".
            out.push(b' ');
            push_i64(out, errno.into());
        }
        out.push(b')');
        return;
    }
    match ret {
        Ret::Dec => push_i64(out, value),
        Ret::Hex => push_hex0(out, value as u64),
        Ret::Oct => push_mode(out, value as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::format::testing::*;

    #[test]
    fn end_of_file_reads_show_an_empty_buffer() {
        assert_eq!(
            call("read", &[3, P, 1024], Some(0)),
            "read(3, \"\", 1024) = 0"
        );
        assert_eq!(
            call("pread64", &[3, P, 10, 5], Some(0)),
            "pread64(3, \"\", 10, 5) = 0"
        );
        // Not a read: the pointer stays.
        assert_eq!(
            call("write", &[1, P, 0], Some(0)),
            "write(1, 0x1000, 0) = 0"
        );
    }

    #[test]
    fn errors_and_special_returns() {
        let enoent = call("openat", &[neg(-100), P, 0], Some(-2));
        assert_eq!(
            enoent,
            "openat(AT_FDCWD, 0x1000, O_RDONLY) = -1 ENOENT (No such file or directory)"
        );
        assert_eq!(call("exit_group", &[0], None), "exit_group(0) = ?");
        assert_eq!(
            call("read", &[3, P, 10], Some(-512)),
            "read(3, 0x1000, 10) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        );
        assert_eq!(
            call("close", &[3], Some(-514)),
            "close(3) = ? ERESTARTNOHAND (To be restarted if no handler)"
        );
        assert_eq!(
            call("nanosleep", &[P, 0], Some(-516)),
            "nanosleep(0x1000, NULL) = ? ERESTART_RESTARTBLOCK (Interrupted by signal)"
        );
        assert_eq!(
            call("ioctl", &[1, 0x5401, 0x7ffd1234], Some(-515)),
            "ioctl(1, TCGETS, 0x7ffd1234) = -1 ENOIOCTLCMD (Unknown error 515)"
        );
        assert_eq!(
            call("sched_yield", &[], Some(-4000)),
            "sched_yield() = -1 (errno 4000)"
        );
        assert_eq!(call("fsync", &[5], Some(-41)), "fsync(5) = -1 (errno 41)");
        // Below the errno range: a value, not an error.
        assert_eq!(
            call("lseek", &[3, 0, 2], Some(-4096)),
            "lseek(3, 0, SEEK_END) = -4096"
        );
    }

    #[test]
    fn address_returns_are_hex() {
        let mmap = call(
            "mmap",
            &[0, 8192, 3, 0x22, neg(-1), 0],
            Some(0x7f2c_f2b4_e000),
        );
        assert_eq!(
            mmap,
            "mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2cf2b4e000"
        );
        assert_eq!(
            call("brk", &[0], Some(0x5630_a5e4_5000)),
            "brk(NULL) = 0x5630a5e45000"
        );
        assert_eq!(
            call("mmap", &[0, 1, 0, 2, 3, 0], Some(-12))
                .rsplit_once(" = ")
                .unwrap()
                .1,
            "-1 ENOMEM (Cannot allocate memory)"
        );
        assert_eq!(call("umask", &[0o22], Some(0o77)), "umask(022) = 077");
        assert_eq!(call("getpid", &[], Some(42)), "getpid() = 42");
    }

    #[test]
    fn unknown_syscalls_are_raw() {
        assert_eq!(
            render(500, &[1, 2, 3, 0, u64::MAX, 0x7f], Some(5)),
            "syscall_0x1f4(0x1, 0x2, 0x3, 0, 0xffffffffffffffff, 0x7f) = 0x5"
        );
        assert_eq!(
            render(340, &[], Some(-38)),
            "syscall_0x154(0, 0, 0, 0, 0, 0) = -1 ENOSYS (Function not implemented)"
        );
        assert_eq!(
            render(u32::MAX, &[], None),
            "syscall_0xffffffff(0, 0, 0, 0, 0, 0) = ?"
        );
    }

    #[test]
    fn every_known_syscall_renders_extreme_values() {
        // No panic, and valid UTF-8, for any input.
        for nr in 0..crate::syscalls::NR_END + 10 {
            for fill in [0, u64::MAX, 0x8000_0000_0000_0000, 0xffff_ffff] {
                for ret in [
                    None,
                    Some(0),
                    Some(-1),
                    Some(-4095),
                    Some(i64::MIN),
                    Some(i64::MAX),
                ] {
                    let line = render(nr, &[fill; MAX_ARGS], ret);
                    assert!(line.contains(" = "), "{line}");
                }
            }
        }
    }

    #[test]
    fn no_reallocation_for_a_warm_buffer() {
        let ev = SyscallEvent {
            tgid: 1,
            tid: 1,
            nr: 0,
            args: [3, P, 10, 0, 0, 0],
            enter_ns: 0,
            exit_ns: Some(1),
            ret: Some(10),
            strings: None,
            data: None,
            request: None,
            stack: None,
        };
        let mut out = Vec::with_capacity(256);
        let before = out.as_ptr();
        for _ in 0..1000 {
            out.clear();
            write_call(&mut out, &ev);
        }
        assert_eq!(out.as_ptr(), before);
        assert_eq!(out, b"read(3, 0x1000, 10) = 10");
    }
}
