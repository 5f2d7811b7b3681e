//! The structures behind pointer arguments (`struct stat`, a `sigaction`,
//! a socket address, `execve`'s argv, ...): the kernel's half of the
//! struct-capture table (`tracer/src/syscalls/structs.rs`), followed as
//! the loader wrote it into the `CAPTURE` slot's `structs`.
//!
//! Each capture is a record of kind `STRUCT` sent when its bytes are
//! valid: what the call reads at `sys_enter`, what it wrote at `sys_exit`
//! (just before the syscall record, re-reading the slot only for calls
//! that have such a row); userspace attaches it to the argument as it does
//! paths. Only the calls with rows pay, and only when a sink shows them
//! (the loader leaves `structs` empty otherwise). A `STACK` row's bytes
//! are at the stack pointer at entry (`rt_sigreturn`'s frame), not behind
//! an argument: [`enter_args`] puts that address in the row's argument
//! for the captures at entry, so that the code both programs inline stays
//! as it was (the verifier walked 37k more instructions of `sys_exit`,
//! 687k instead of 650k, when it looked at the flag itself). The ptrace side
//! (`tracer/src/ptrace/memory.rs`, `read_struct`) takes the same bytes.

use aya_ebpf::{cty::c_void, helpers::bpf_probe_read_user, helpers::generated};
use tracer_common::{CaptureSpec, MAX_ARGS, StructSpec, kind, structs};

use super::{copy_user, opaque, scratch, send_capture};

/// `d_reclen`'s offset in `struct linux_dirent64`.
const DIRENT_RECLEN: u64 = 16;
/// Most elements walked by the loops (dirents, argv, envp): the table's
/// limits are below it, and it bounds the loops for the verifier.
const MAX_WALK: u32 = 4096;
/// Most strings of an array gathered, above the table's limit (33): their
/// bytes (each at most `STR_BYTES` and its NUL) stay within the scratch.
const MAX_STRINGS: u32 = 40;

/// The call whose structures are taken, passed by reference: a BPF call
/// takes at most five arguments.
pub struct StructCall<'a> {
    pub tid: u32,
    pub nr: i64,
    pub args: &'a [u64; MAX_ARGS],
    /// `None` at enter; at exit, the call's return value.
    pub ret: Option<i64>,
}

/// Captures the structures of `spec` valid now: at enter (`call.ret` is
/// `None`), or at exit with the call's return value.
#[inline(always)]
pub fn capture_structs(call: &StructCall, spec: &CaptureSpec) {
    let when = if call.ret.is_some() {
        structs::EXIT
    } else {
        structs::ENTER
    };
    let mut i = 0;
    while i < structs::MAX {
        let s = &spec.structs[i];
        // Only the rows due now pay for a call.
        if s.size != structs::NONE && s.flags & when != 0 {
            capture_struct(call, s);
        }
        i += 1;
    }
}

/// One structure, due now. A call of its own, so that the verifier checks its body
/// (the dirent and pointer walks, the strings) once per row, and the
/// paths through one row's capture do not multiply the next row's.
#[inline(never)]
fn capture_struct(call: &StructCall, s: &StructSpec) {
    let (tid, nr, args, ret) = (call.tid, call.nr, call.args, call.ret);
    if s.flags & structs::SUCCESS != 0 && matches!(ret, Some(r) if r < 0) {
        return;
    }
    let arg = s.arg as usize;
    if arg >= MAX_ARGS || args[arg] == 0 {
        return;
    }
    let ptr = args[arg];
    let limit = s.bytes as u32;
    let Some(scratch) = scratch() else { return };
    let len = match s.size {
        structs::DIRENT_COUNT => {
            let total = match ret {
                Some(r) if r >= 0 => r as u64,
                _ => return,
            };
            let n = count_dirents(ptr, total, limit);
            scratch.bytes[..4].copy_from_slice(&n.to_ne_bytes());
            4
        }
        structs::PTR_COUNT => {
            let Some(n) = count_pointers(ptr, limit) else {
                return;
            };
            scratch.bytes[..4].copy_from_slice(&n.to_ne_bytes());
            4
        }
        structs::STR_ARRAY => match gather_strings(ptr, limit) {
            Some(len) => len,
            None => return,
        },
        _ => {
            let len = plain_len(s, args, ret);
            if len == 0 || !copy_user(scratch, 0, ptr, len) {
                return;
            }
            len
        }
    };
    send_capture(scratch, kind::STRUCT, s.arg, 0, tid, nr, len);
}

/// The arguments as the captures at entry see them: a `STACK` row's
/// argument is the address of what it takes, `sp` plus its offset.
#[inline(always)]
pub fn enter_args(spec: &CaptureSpec, args: &[u64; MAX_ARGS], sp: u64) -> [u64; MAX_ARGS] {
    let mut at = *args;
    let mut i = 0;
    while i < structs::MAX {
        let s = &spec.structs[i];
        let arg = s.arg as usize;
        if s.flags & structs::STACK != 0 && arg < MAX_ARGS {
            at[arg] = sp.wrapping_add(s.offset as u64);
        }
        i += 1;
    }
    at
}

/// The size of a plain capture, as `plain_len` in the table's module
/// computes it: fixed, from an argument (counting bytes or elements of
/// `1 << shift` bytes), from the return value, or from
/// the `int` an argument points to; at most `bytes` and `MAX_BYTES`.
#[inline(always)]
fn plain_len(s: &StructSpec, args: &[u64; MAX_ARGS], ret: Option<i64>) -> u32 {
    let cap = if (s.bytes as u32) < structs::MAX_BYTES {
        s.bytes as u32
    } else {
        structs::MAX_BYTES
    };
    let want: u64 = match s.size {
        structs::SIZE_FIXED => cap as u64,
        structs::SIZE_ARG => {
            let j = s.size_arg as usize;
            if j >= MAX_ARGS {
                return 0;
            }
            // Elements of `1 << shift` bytes; a count above `u32` is
            // above any cap, and below it the shift cannot overflow.
            if args[j] > u32::MAX as u64 {
                cap as u64
            } else {
                args[j] << (s.shift & 7)
            }
        }
        structs::SIZE_RET => match ret {
            Some(r) if r > 0 => r as u64,
            _ => 0,
        },
        structs::SIZE_DEREF => {
            let j = s.size_arg as usize;
            if j >= MAX_ARGS {
                return 0;
            }
            // SAFETY: a user read of one `int`, validated by the helper.
            match unsafe { bpf_probe_read_user(args[j] as *const u32) } {
                Ok(n) => n as u64,
                Err(_) => 0,
            }
        }
        _ => 0,
    };
    if want < cap as u64 { want as u32 } else { cap }
}

/// A walk over user memory, advanced by a `bpf_loop` callback: the
/// verifier checks the callback once, where a plain loop of thousands of
/// steps would exceed its limits.
#[repr(C)]
struct Walk {
    ptr: u64,
    /// Bytes walked (dirents) or elements counted (pointers).
    off: u64,
    /// Bytes there are to walk (dirents).
    total: u64,
    n: u32,
    /// Whether the first read failed.
    fault: u32,
}

/// One `linux_dirent64` record: counts it and steps over it by its
/// `d_reclen`; 1 stops the loop.
extern "C" fn dirent_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the caller's `Walk`, alive across `bpf_loop`.
    let w = unsafe { &mut *ctx.cast::<Walk>() };
    if w.off + DIRENT_RECLEN + 2 > w.total {
        return 1;
    }
    // SAFETY: a user read of one `u16`, validated by the helper.
    let Ok(reclen) =
        (unsafe { bpf_probe_read_user((w.ptr + w.off + DIRENT_RECLEN) as *const u16) })
    else {
        return 1;
    };
    if reclen == 0 {
        return 1;
    }
    w.off += reclen as u64;
    w.n += 1;
    0
}

/// One pointer of a NULL-terminated array: counts it; 1 stops the loop.
extern "C" fn pointer_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the caller's `Walk`, alive across `bpf_loop`.
    let w = unsafe { &mut *ctx.cast::<Walk>() };
    // SAFETY: a user read of one pointer, validated by the helper.
    let Ok(p) = (unsafe { bpf_probe_read_user((w.ptr + w.off * 8) as *const u64) }) else {
        if w.off == 0 {
            w.fault = 1;
        }
        return 1;
    };
    if p == 0 {
        return 1;
    }
    w.off += 1;
    w.n += 1;
    0
}

/// Runs `step` over `w` at most `limit` times.
#[inline(always)]
fn walk(w: &mut Walk, limit: u32, step: extern "C" fn(u64, *mut c_void) -> i64) {
    let limit = if limit < MAX_WALK { limit } else { MAX_WALK };
    // SAFETY: `step` takes the `Walk` it is given, which outlives the call.
    unsafe {
        generated::bpf_loop(
            limit,
            step as *mut c_void,
            (w as *mut Walk).cast::<c_void>(),
            0,
        );
    }
}

/// Counts the `linux_dirent64` records in the `total` bytes at `ptr` by
/// their `d_reclen`, at most `limit`.
#[inline(always)]
fn count_dirents(ptr: u64, total: u64, limit: u32) -> u32 {
    let mut w = Walk {
        ptr,
        off: 0,
        total,
        n: 0,
        fault: 0,
    };
    walk(&mut w, limit, dirent_step);
    w.n
}

/// Counts the pointers before the NULL of the array at `ptr`, at most
/// `limit`; `None` when the array cannot be read at all.
#[inline(always)]
fn count_pointers(ptr: u64, limit: u32) -> Option<u32> {
    let mut w = Walk {
        ptr,
        off: 0,
        total: 0,
        n: 0,
        fault: 0,
    };
    walk(&mut w, limit, pointer_step);
    (w.fault == 0).then_some(w.n)
}

/// The gathering of an array's strings, advanced by a `bpf_loop`
/// callback: the verifier checks one step, where a plain loop had it walk
/// every step of the bound on every path that reached it.
#[repr(C)]
struct Strings {
    ptr: u64,
    /// Bytes gathered so far.
    off: u32,
    /// Whether the array's first pointer could not be read.
    fault: u32,
}

/// One string of the array: its pointer read, the string copied into the
/// scratch after the ones before (cut at `STR_BYTES`, with its NUL); 1
/// stops the loop (the array's NULL, or a pointer that cannot be read).
extern "C" fn string_step(index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the caller's `Strings`, alive across `bpf_loop`.
    let g = unsafe { &mut *ctx.cast::<Strings>() };
    // SAFETY: a user read of one pointer, validated by the helper.
    let Ok(p) = (unsafe { bpf_probe_read_user((g.ptr + index * 8) as *const u64) }) else {
        if index == 0 {
            g.fault = 1;
        }
        return 1;
    };
    if p == 0 {
        return 1;
    }
    let Some(scratch) = scratch() else { return 1 };
    // `off` < MAX_STRINGS * (STR_BYTES + 1) < MAX_DATA: masked for the
    // verifier.
    let at = (opaque(g.off) & (tracer_common::capture::MAX_DATA - 1)) as usize;
    // SAFETY: at most STR_BYTES + 1 bytes at `at` < MAX_DATA, within the
    // scratch; the helper validates the user address and always ends what
    // it copies with a NUL.
    let got = unsafe {
        generated::bpf_probe_read_user_str(
            scratch.bytes.as_mut_ptr().add(at).cast::<c_void>(),
            structs::STR_BYTES + 1,
            p as *const c_void,
        )
    };
    if got <= 0 {
        // Unreadable: an empty string keeps the count.
        scratch.bytes[at] = 0;
        g.off += 1;
    } else {
        g.off += got as u32;
    }
    0
}

/// Gathers the strings of the NULL-terminated array at `ptr` (at most
/// `limit`) into the scratch, each cut at `STR_BYTES` and followed by its
/// NUL; returns the bytes gathered, `None` when the array cannot be read.
#[inline(always)]
fn gather_strings(ptr: u64, limit: u32) -> Option<u32> {
    let limit = if limit < MAX_STRINGS {
        limit
    } else {
        MAX_STRINGS
    };
    let mut g = Strings {
        ptr,
        off: 0,
        fault: 0,
    };
    // SAFETY: `string_step` takes the `Strings` it is given, which
    // outlives the call.
    unsafe {
        generated::bpf_loop(
            limit,
            string_step as *mut c_void,
            (&raw mut g).cast::<c_void>(),
            0,
        );
    }
    (g.fault == 0).then_some(g.off)
}
