//! Capture of what user memory holds: path arguments, and a prefix of the
//! data buffers of the calls that move data. Costs only traced tasks.
//!
//! Paths are taken at enter (an `execve`'s are gone by its exit) and sent
//! as records of their own; one not yet paged in is taken again at exit.
//! Data buffers are taken at exit, written ones too (the buffer still
//! holds what was written), and sent inside their syscall's record: one
//! ring write per captured call instead of two, which measured ~45 ns per
//! captured call.
//!
//! The structures behind pointer arguments ([`structs`]) are taken when
//! their bytes are valid (enter or exit) and sent as records of their own.
//! What `sys_exit` takes is one call into [`exit`].
//!
//! Loops over user memory whose length is only known at run time (iovecs,
//! argv strings, dirents) are `bpf_loop` callbacks, and the captures calls
//! of their own: the verifier then checks each once, where unrolled loops
//! and inlined captures multiplied its paths (`sys_exit` once took 650,367
//! of its 1,000,000 instructions; `tracer/src/ebpf` tests the budget).

use aya_ebpf::{
    EbpfContext, Global,
    bindings::BPF_RB_NO_WAKEUP,
    cty::c_void,
    helpers::{bpf_probe_read_user, generated},
    macros::map,
    maps::PerCpuArray,
    programs::TracePointContext,
};
use tracer_common::{
    CAPTURE_FAULT, CAPTURE_TRUNCATED, CaptureRecord, CaptureSpec, Inflight, MAX_ARGS,
    SyscallRecord, capture, counter, kind,
};

use crate::{EVENTS, count};

pub(crate) mod exit;
pub(crate) mod structs;

/// Where capture records are assembled before they are copied into the
/// ring: too big for the 512-byte stack.
#[map(name = "SCRATCH")]
static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

/// Offset of `filename`'s `__data_loc` word in the `sched_process_exec`
/// record (from tracefs; `u32::MAX`: unknown, no exec paths).
#[unsafe(no_mangle)]
static EXEC_FILENAME_OFFSET: Global<u32> = Global::new(u32::MAX);

/// Most bytes of a data buffer to capture; 0 turns data capture off.
#[unsafe(no_mangle)]
static CAPTURE_BYTES: Global<u32> = Global::new(512);

/// A record in the making: a path capture (`header` and `bytes`), or a
/// syscall with its data (all three). `bytes` is three times the cap so
/// that the verifier can prove every copy in bounds from masks alone: an
/// offset below 4096 (`& OFF_MASK`) plus a length below 8192 (`& LEN_MASK`).
#[repr(C)]
pub struct Scratch {
    syscall: SyscallRecord,
    header: CaptureRecord,
    bytes: [u8; 3 * capture::MAX_DATA as usize],
}
const OFF_MASK: u32 = capture::MAX_DATA - 1;
const LEN_MASK: u32 = 2 * capture::MAX_DATA - 1;
const HEADER_BYTES: u32 = size_of::<CaptureRecord>() as u32;
const SYSCALL_BYTES: u32 = size_of::<SyscallRecord>() as u32;

#[inline(always)]
fn scratch() -> Option<&'static mut Scratch> {
    // SAFETY: this CPU's own slot, valid for the program's run; programs do
    // not nest on one CPU for these tracepoints.
    SCRATCH.get_ptr_mut(0).map(|p| unsafe { &mut *p })
}

/// Hides `x`'s range from LLVM, so that a mask applied after it stays in
/// the program: LLVM drops masks it can prove redundant, and then the
/// verifier, which cannot follow LLVM's proof, rejects the access.
#[inline(always)]
pub(crate) fn opaque(x: u32) -> u32 {
    // SAFETY: a volatile read of a local.
    unsafe { core::ptr::read_volatile(&x) }
}

/// Copies `len` user bytes from `src` to `scratch.bytes[off..]`.
#[inline(always)]
fn copy_user(scratch: &mut Scratch, off: u32, src: u64, len: u32) -> bool {
    let off = (opaque(off) & OFF_MASK) as usize;
    let len = opaque(len) & LEN_MASK;
    // SAFETY: `off + len` < 3 * MAX_DATA = `bytes.len()` by the masks; the
    // helper validates the user address and fails instead of faulting.
    let ret = unsafe {
        generated::bpf_probe_read_user(
            scratch.bytes.as_mut_ptr().add(off).cast::<c_void>(),
            len,
            src as *const c_void,
        )
    };
    ret == 0
}

/// Sends the header and the first `len` bytes of `scratch`.
#[inline(always)]
fn send_capture(scratch: &mut Scratch, kind: u16, arg: u8, flags: u8, tid: u32, nr: i64, len: u32) {
    let len = opaque(len) & LEN_MASK;
    scratch.header = CaptureRecord {
        kind,
        arg,
        flags,
        tid,
        nr: nr as i32,
        len,
    };
    let size = (HEADER_BYTES + len) as usize;
    // SAFETY: `size` <= header + 2 * MAX_DATA, within the struct from
    // `header` on.
    let record =
        unsafe { core::slice::from_raw_parts((&raw const scratch.header).cast::<u8>(), size) };
    if EVENTS
        .output::<[u8]>(record, BPF_RB_NO_WAKEUP as u64)
        .is_err()
    {
        count(counter::LOST_CAPTURES);
    }
}

/// `-k`: sends the path process `tgid` exec'd (`filename` of the
/// `sched_process_exec` record in `ctx`, as given to `execve`), so that
/// userspace can name the frames of a process that is gone before it could
/// read its maps.
#[inline(always)]
pub(crate) fn capture_exec_file(ctx: &TracePointContext, tgid: u32) {
    let offset = EXEC_FILENAME_OFFSET.load();
    if offset == u32::MAX {
        return;
    }
    // SAFETY: offset from the tracepoint's format file; checked read.
    let Ok(loc) = (unsafe { ctx.read_at::<u32>(offset as usize) }) else {
        return;
    };
    let Some(scratch) = scratch() else { return };
    // SAFETY: a `__data_loc` word's low half is the string's offset in the
    // record; the helper validates the read and bounds it to MAX_PATH,
    // within the scratch buffer.
    let ret = unsafe {
        generated::bpf_probe_read_kernel_str(
            scratch.bytes.as_mut_ptr().cast::<c_void>(),
            capture::MAX_PATH,
            ctx.as_ptr()
                .cast::<u8>()
                .add((loc & 0xffff) as usize)
                .cast::<c_void>(),
        )
    };
    if ret <= 0 {
        return;
    }
    send_capture(scratch, kind::EXEC_FILE, 0, 0, tgid, -1, ret as u32 - 1);
}

/// Captures the NUL-terminated path at `src` (argument `arg`). When the
/// read fails and `retry` is set, sends nothing and returns `false`: the
/// caller reads it again at exit.
#[inline(always)]
fn capture_path(tid: u32, nr: i64, arg: u8, src: u64, retry: bool) -> bool {
    let Some(scratch) = scratch() else {
        return true;
    };
    // SAFETY: the destination is the scratch buffer, MAX_PATH < its size;
    // the helper validates the user address.
    let ret = unsafe {
        generated::bpf_probe_read_user_str(
            scratch.bytes.as_mut_ptr().cast::<c_void>(),
            capture::MAX_PATH,
            src as *const c_void,
        )
    };
    if ret <= 0 {
        if retry {
            return false;
        }
        send_capture(scratch, kind::PATH, arg, CAPTURE_FAULT, tid, nr, 0);
        return true;
    }
    // `ret` counts the NUL; a full buffer may have cut the path short.
    let len = ret as u32 - 1;
    let flags = if ret as u32 == capture::MAX_PATH {
        CAPTURE_TRUNCATED
    } else {
        0
    };
    send_capture(scratch, kind::PATH, arg, flags, tid, nr, len);
    true
}

/// One `struct iovec`.
#[repr(C)]
struct Iovec {
    base: u64,
    len: u64,
}

/// An iovec array being gathered into the scratch, advanced by a
/// `bpf_loop` callback: the verifier checks one step once, where a plain
/// loop had it walk every step on every path (the byte counts differ
/// between paths, so they never merge), most of `sys_exit`'s verification.
#[repr(C)]
struct Gather {
    /// The iovec array and its length.
    iov: u64,
    count: u64,
    /// Most bytes to gather; bytes gathered so far.
    limit: u32,
    copied: u32,
    /// Entries visited whole.
    visited: u32,
    /// Bytes left behind (a longer buffer, an entry not visited).
    more: u8,
    /// A read failed.
    fault: u8,
}

/// One iovec: its bytes appended to the scratch, up to the limit; 1 stops
/// the loop.
extern "C" fn iov_step(index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the caller's `Gather`, alive across `bpf_loop`.
    let g = unsafe { &mut *ctx.cast::<Gather>() };
    if index >= g.count {
        return 1;
    }
    if g.copied >= g.limit {
        g.more = 1;
        return 1;
    }
    // SAFETY: a user read of one iovec, validated by the helper.
    let Ok(entry) =
        (unsafe { bpf_probe_read_user((g.iov as *const Iovec).wrapping_add(index as usize)) })
    else {
        g.fault = 1;
        return 1;
    };
    let room = g.limit - g.copied;
    let n = if entry.len < room as u64 {
        entry.len as u32
    } else {
        if entry.len > room as u64 {
            g.more = 1;
        }
        room
    };
    if n > 0 {
        let copied = match scratch() {
            Some(scratch) => copy_user(scratch, g.copied, entry.base, n),
            None => false,
        };
        if !copied {
            g.fault = 1;
            return 1;
        }
    }
    g.copied += n;
    g.visited += 1;
    0
}

/// Copies up to `limit` bytes of a syscall's data into `scratch.bytes`:
/// from `buf` for the plain calls, gathered from the iovec array `buf` of
/// `count` entries for vectored ones (`iov`). `total` is the size of the
/// transfer when known (`u64::MAX` for vectored inputs, whose size is the
/// sum of their iovecs), to tell whether the capture is whole. Returns
/// the `CAPTURE_*` flags and the bytes copied.
#[inline(always)]
fn copy_data(
    scratch: &mut Scratch,
    iov: bool,
    buf: u64,
    count: u64,
    total: u64,
    limit: u32,
) -> (u8, u32) {
    let limit = if total < limit as u64 {
        total as u32
    } else {
        limit
    };
    let mut copied: u32 = 0;
    let mut fault = false;
    // Bytes left behind: a longer buffer, iovecs not visited.
    let mut more = false;
    if iov {
        let mut g = Gather {
            iov: buf,
            count,
            limit,
            copied: 0,
            visited: 0,
            more: 0,
            fault: 0,
        };
        // SAFETY: `iov_step` takes the `Gather` it is given, which
        // outlives the call.
        unsafe {
            generated::bpf_loop(
                capture::MAX_IOV,
                iov_step as *mut c_void,
                (&raw mut g).cast::<c_void>(),
                0,
            );
        }
        copied = g.copied;
        fault = g.fault != 0;
        more = g.more != 0 || (g.visited == capture::MAX_IOV && (g.visited as u64) < count);
    } else if limit > 0 {
        if copy_user(scratch, 0, buf, limit) {
            copied = limit;
        } else {
            fault = true;
        }
    }
    let mut flags = 0;
    if fault && copied == 0 {
        flags |= CAPTURE_FAULT;
    }
    let truncated = if total == u64::MAX {
        more || fault
    } else {
        total > copied as u64
    };
    if truncated {
        flags |= CAPTURE_TRUNCATED;
    }
    (flags, copied)
}

/// `struct msghdr`'s `msg_iov` and `msg_iovlen`, at byte 16.
#[repr(C)]
struct MsgIov {
    iov: u64,
    iovlen: u64,
}
const MSGHDR_IOV: usize = 16;

/// Copies the data of a call in `mode` into `scratch.bytes`; `total` is
/// what moved (the count for plain inputs, `u64::MAX` for vectored ones,
/// the return value for outputs). `None` when the `msghdr` cannot be read.
#[inline(always)]
fn copy_mode(
    scratch: &mut Scratch,
    mode: u8,
    args: &[u64; MAX_ARGS],
    total: u64,
    limit: u32,
) -> Option<(u8, u32)> {
    match mode {
        capture::BUF_IN | capture::BUF_OUT => {
            Some(copy_data(scratch, false, args[1], total, total, limit))
        }
        capture::IOV_IN | capture::IOV_OUT => {
            Some(copy_data(scratch, true, args[1], args[2], total, limit))
        }
        capture::MSG_IN | capture::MSG_OUT => {
            // SAFETY: a user read of two fields of the msghdr, validated.
            let msg = unsafe {
                bpf_probe_read_user(
                    (args[1] as *const u8)
                        .wrapping_add(MSGHDR_IOV)
                        .cast::<MsgIov>(),
                )
            }
            .ok()?;
            Some(copy_data(scratch, true, msg.iov, msg.iovlen, total, limit))
        }
        _ => None,
    }
}

/// Captures the paths at enter. A path whose page is not yet faulted in
/// (a string constant of a binary not yet read, a file mapping) cannot be
/// read here, where the helper may not fault: the returned mask (a bit per
/// argument) lists them for [`reread_paths`], by when the kernel has
/// faulted them in. Except for `exec` calls (`retry` false), whose paths
/// are gone with the old image by exit: their faults are sent now.
#[inline(always)]
pub(crate) fn capture_enter(
    tid: u32,
    nr: i64,
    spec: CaptureSpec,
    args: &[u64; MAX_ARGS],
    retry: bool,
) -> u8 {
    let mut failed = 0;
    let mut i = 0;
    while i < MAX_ARGS {
        if spec.paths & (1 << i) != 0
            && args[i] != 0
            && !capture_path(tid, nr, i as u8, args[i], retry)
        {
            failed |= 1 << i;
        }
        i += 1;
    }
    failed
}

/// Reads again, at exit, the paths `capture_enter` could not (`failed`):
/// sent as at enter, before the syscall record they join. One that still
/// faults (a bad pointer) is sent as a fault. A call of its own (see
/// [`exit`]): the verifier checks its six reads once, apart from the
/// other exit captures.
#[inline(never)]
pub(crate) fn reread_paths(tid: u32, nr: i64, failed: u8, args: &[u64; MAX_ARGS]) {
    let mut i = 0;
    while i < MAX_ARGS {
        if failed & (1 << i) != 0 {
            capture_path(tid, nr, i as u8, args[i], false);
        }
        i += 1;
    }
}

/// How many bytes a call in data `mode` moved, as far as exit can tell:
/// the count of a plain input (what the caller asked to write: the
/// capture shows the buffer, as strace does, whatever was accepted),
/// `u64::MAX` for vectored inputs (the sum of their iovecs), the return
/// value of an output. `None` when there is nothing to capture (an output
/// that moved nothing).
#[inline(always)]
fn data_total(mode: u8, args: &[u64; MAX_ARGS], ret: i64) -> Option<u64> {
    match mode {
        capture::BUF_IN => Some(args[2]),
        capture::IOV_IN | capture::MSG_IN => Some(u64::MAX),
        capture::BUF_OUT | capture::IOV_OUT | capture::MSG_OUT if ret > 0 => Some(ret as u64),
        _ => None,
    }
}

/// Emits the completed syscall in `pending` (thread group `tgid`, return
/// value `ret`, exit time `now`) with its data buffer (the data mode kept
/// from the spec at enter) as one [`kind::SYSCALL_DATA`] record. Returns
/// `false`, having sent nothing, when there is no data to take: the caller
/// then emits the plain record. Inlined into [`exit`]'s one call: the
/// most common capture at exit pays for one BPF call, not two.
#[inline(always)]
pub(crate) fn emit_with_data(pending: &Inflight, tgid: u32, ret: i64, now: u64) -> bool {
    let mode = pending.exit_data;
    let args = &pending.args;
    let Some(total) = data_total(mode, args, ret) else {
        return false;
    };
    let limit = CAPTURE_BYTES.load();
    if limit == 0 {
        return false;
    }
    let limit = if limit > capture::MAX_DATA {
        capture::MAX_DATA
    } else {
        limit
    };
    let Some(scratch) = scratch() else {
        return false;
    };
    let Some((flags, len)) = copy_mode(scratch, mode, args, total, limit) else {
        return false;
    };
    let len = opaque(len) & LEN_MASK;
    scratch.header = CaptureRecord {
        kind: kind::DATA,
        arg: 1,
        flags,
        tid: pending.tid,
        nr: pending.nr as i32,
        len,
    };
    scratch.syscall = SyscallRecord {
        kind: kind::SYSCALL_DATA,
        flags: 0,
        nr: pending.nr as i32,
        tgid,
        tid: pending.tid,
        enter_ns: pending.enter_ns,
        exit_ns: now,
        ret,
        args: *args,
        stack: pending.stack,
    };
    let size = (SYSCALL_BYTES + HEADER_BYTES + len) as usize;
    // SAFETY: `size` <= both headers + 2 * MAX_DATA, within the struct.
    let bytes =
        unsafe { core::slice::from_raw_parts((scratch as *const Scratch).cast::<u8>(), size) };
    if EVENTS
        .output::<[u8]>(bytes, BPF_RB_NO_WAKEUP as u64)
        .is_err()
    {
        count(counter::LOST_SYSCALLS);
    }
    true
}
