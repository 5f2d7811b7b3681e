//! The kernel half of tracer: records every syscall of the traced processes.
//!
//! Hot path, per syscall of *every* task on the machine:
//! - `sys_enter`: one `TRACED` array lookup by tgid (inlined by the JIT);
//!   untraced tasks stop there. Traced ones read the syscall's `CAPTURE`
//!   slot (the `-e` set and what to capture, one inlined lookup); a
//!   syscall not in the set stops there, its slot never parked.
//!   Recorded ones load the six argument registers straight from the
//!   BTF-typed `pt_regs` (a BTF tracepoint: no helper call) and park them
//!   in their `INFLIGHT` slot (an array indexed by tid, updated in place).
//! - `sys_exit`: one `INFLIGHT` array lookup by tid (inlined, no hashing);
//!   a slot that is not this thread's (untraced task, or a fresh child
//!   returning from `fork` without an enter) stops there. A hit
//!   is written straight into a reserved ring-buffer entry and submitted
//!   without a wake-up: userspace drains on its own timer, so the producer
//!   never pays for waking the consumer.
//!
//! `sched_process_fork`/`sched_process_exit` keep `TRACED` in step with the
//! children of traced processes (an exit's record carries the task's
//! `exit_code`, its wait status); `sched_process_exec` names a task after
//! its new image, and starts tracing processes whose comm or cgroup is
//! watched (the daemon's `--comm`/`--cgroup` watches); its record carries
//! the process's owner, read from its credentials at exec, so that the
//! daemon need not ask `/proc` about a process that may already be gone.
//!
//! Capture (paths, data buffers) costs only traced tasks: the `CAPTURE`
//! slot read at enter (its exit mode is parked with the call), and for the calls
//! that move data or name files a copy from user memory into a per-CPU
//! scratch buffer, sent as a variable-size record (`bpf_ringbuf_output`):
//! a 10-byte write costs a 26-byte record, not a fixed 4 KiB one.
#![no_std]
#![no_main]

use aya_ebpf::{
    Global,
    bindings::BPF_RB_NO_WAKEUP,
    cty::c_void,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel,
        bpf_probe_read_user, generated,
    },
    macros::{btf_tracepoint, map, raw_tracepoint, tracepoint},
    maps::{Array, HashMap, PerCpuArray, RingBuf},
    programs::{BtfTracePointContext, RawTracePointContext, TracePointContext},
};
use tracer_common::{
    CAPTURE_FAULT, CAPTURE_TRUNCATED, CaptureRecord, CaptureSpec, FLAG_EXIT_STATUS, FLAG_NO_RETURN,
    FLAG_OWNER, INFLIGHT_SLOTS, Inflight, MAX_ARGS, OWNER_MIXED, SyscallRecord, TaskRecord,
    capture, counter, kind, traced,
};

/// Traced tgids: a byte per possible pid (the loader sizes it to
/// `kernel.pid_max`), non-zero when traced. An array, not a hash, because
/// every syscall of every task on the machine checks it: the JIT inlines an
/// array lookup into a bounds check and an add, where a hash lookup is a
/// call and a jhash.
///
/// Also marks the tids of threads created by traced processes, between
/// their fork and their exit: harmless, since no process can have a live
/// thread's tid as its tgid, and cheaper than telling threads from
/// processes at fork time.
#[map(name = "TRACED")]
static TRACED: Array<u8> = Array::with_max_entries(1 << 15, 0);

/// The syscall each traced thread is in, between enter and exit, in slot
/// `tid % INFLIGHT_SLOTS`. An array, not a hash keyed by tid: `sys_exit`
/// runs for every task on the machine, and an array lookup is inlined by
/// the JIT where a hash lookup is a call and a jhash; the slot's `tid`
/// tells whether it is this thread's (see `INFLIGHT_SLOTS` on sharing).
#[map(name = "INFLIGHT")]
static INFLIGHT: Array<Inflight> = Array::with_max_entries(INFLIGHT_SLOTS, 0);

/// Completed syscalls and task records. Its size is set by the loader.
#[map(name = "EVENTS")]
static EVENTS: RingBuf = RingBuf::with_byte_size(1 << 24, 0);

/// Per-CPU counters, indexed by `tracer_common::counter`.
#[map(name = "COUNTERS")]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

/// What to capture per syscall number (filled by the loader).
#[map(name = "CAPTURE")]
static CAPTURE: Array<CaptureSpec> = Array::with_max_entries(capture::SYSCALLS, 0);

/// Where capture records are assembled before they are copied into the
/// ring: too big for the 512-byte stack.
#[map(name = "SCRATCH")]
static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

/// Process names (`comm`, NUL-padded) whose processes are traced from
/// their `execve` on.
#[map(name = "WATCH_COMMS")]
static WATCH_COMMS: HashMap<[u8; 16], u8> = HashMap::with_max_entries(256, 0);

/// cgroup v2 ids whose processes are traced from their `execve` on.
#[map(name = "WATCH_CGROUPS")]
static WATCH_CGROUPS: HashMap<u64, u8> = HashMap::with_max_entries(256, 0);

/// Most bytes of a data buffer to capture; 0 turns data capture off.
#[unsafe(no_mangle)]
static CAPTURE_BYTES: Global<u32> = Global::new(512);

/// A capture record in the making. `bytes` is three times the cap so that
/// the verifier can prove every copy in bounds from masks alone: an offset
/// below 4096 (`& OFF_MASK`) plus a length below 8192 (`& LEN_MASK`).
#[repr(C)]
pub struct Scratch {
    header: CaptureRecord,
    bytes: [u8; 3 * capture::MAX_DATA as usize],
}
const OFF_MASK: u32 = capture::MAX_DATA - 1;
const LEN_MASK: u32 = 2 * capture::MAX_DATA - 1;
const HEADER_BYTES: u32 = size_of::<CaptureRecord>() as u32;

/// Offset of `child_pid` in the `sched_process_fork` record (read from
/// tracefs by the loader: it moved when `parent_comm` became `__data_loc`).
#[unsafe(no_mangle)]
static FORK_CHILD_PID_OFFSET: Global<u32> = Global::new(20);

/// Offset of `group_dead` in the `sched_process_exit` record, or `u32::MAX`
/// when the kernel does not have that field.
#[unsafe(no_mangle)]
static EXIT_GROUP_DEAD_OFFSET: Global<u32> = Global::new(u32::MAX);

/// Offset of `real_cred` in `struct task_struct`, or `u32::MAX` when the
/// loader could not read it from the kernel's BTF (then EXEC records carry
/// no owner). Read at exec so that the daemon knows who owns a process
/// even when it is gone before `/proc` could be asked.
#[unsafe(no_mangle)]
static TASK_CRED_OFFSET: Global<u32> = Global::new(u32::MAX);

/// Offsets of `uid`, `euid` and `suid` in `struct cred` (from BTF).
#[unsafe(no_mangle)]
static CRED_UID_OFFSET: Global<u32> = Global::new(u32::MAX);
#[unsafe(no_mangle)]
static CRED_EUID_OFFSET: Global<u32> = Global::new(u32::MAX);
#[unsafe(no_mangle)]
static CRED_SUID_OFFSET: Global<u32> = Global::new(u32::MAX);

/// Offset of `exit_code` in `struct task_struct` (from BTF), or `u32::MAX`
/// when the loader could not find it (then EXIT records carry no status).
#[unsafe(no_mangle)]
static TASK_EXIT_CODE_OFFSET: Global<u32> = Global::new(u32::MAX);

use tracer_common::nr::{
    EXECVE as SYS_EXECVE, EXECVEAT as SYS_EXECVEAT, EXIT as SYS_EXIT, EXIT_GROUP as SYS_EXIT_GROUP,
};

/// The x86_64 `struct pt_regs` up to `di`: the syscall argument registers
/// are di, si, dx, r10, r8, r9.
#[repr(C)]
struct PtRegs {
    _r15: u64,
    _r14: u64,
    _r13: u64,
    _r12: u64,
    _bp: u64,
    _bx: u64,
    _r11: u64,
    r10: u64,
    r9: u64,
    r8: u64,
    _ax: u64,
    _cx: u64,
    dx: u64,
    si: u64,
    di: u64,
}

#[inline(always)]
fn is_traced(tgid: u32) -> bool {
    match TRACED.get_ptr(tgid) {
        // SAFETY: pointer from a successful array lookup.
        Some(flag) => unsafe { *flag == traced::ON },
        None => false,
    }
}

#[inline(always)]
fn set_traced(pid: u32, value: u8) {
    if let Some(flag) = TRACED.get_ptr_mut(pid) {
        // SAFETY: pointer from a successful array lookup; a byte store.
        unsafe { *flag = value };
    }
}

#[inline(always)]
fn count(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: the pointer comes from a successful lookup of a per-CPU
        // array slot, valid and 8-byte aligned for the program's run. The
        // bpf target has no `fetch_add`; the slot is this CPU's own, so the
        // only race is a preemption between load and store, which can lose
        // one count, never invent one.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
fn emit_syscall(
    tgid: u32,
    tid: u32,
    nr: i64,
    args: &[u64; MAX_ARGS],
    enter_ns: u64,
    exit_ns: u64,
    ret: i64,
    flags: u16,
) {
    match EVENTS.reserve::<SyscallRecord>(0) {
        Some(mut entry) => {
            entry.write(SyscallRecord {
                kind: kind::SYSCALL,
                flags,
                nr: nr as i32,
                tgid,
                tid,
                enter_ns,
                exit_ns,
                ret,
                args: *args,
            });
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }
        None => count(counter::LOST_SYSCALLS),
    }
}

/// The spec of syscall `nr`: whether to record it, what to capture.
#[inline(always)]
fn spec_of(nr: i64) -> CaptureSpec {
    let index = if (0..capture::OTHER as i64).contains(&nr) {
        nr as u32
    } else {
        capture::OTHER
    };
    CAPTURE.get(index).copied().unwrap_or_default()
}

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
fn opaque(x: u32) -> u32 {
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
    // SAFETY: `size` <= header + 2 * MAX_DATA, within the struct.
    let record =
        unsafe { core::slice::from_raw_parts((scratch as *const Scratch).cast::<u8>(), size) };
    if EVENTS
        .output::<[u8]>(record, BPF_RB_NO_WAKEUP as u64)
        .is_err()
    {
        count(counter::LOST_CAPTURES);
    }
}

/// Captures the NUL-terminated path at `src` (argument `arg`).
#[inline(always)]
fn capture_path(tid: u32, nr: i64, arg: u8, src: u64) {
    let Some(scratch) = scratch() else { return };
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
        send_capture(scratch, kind::PATH, arg, CAPTURE_FAULT, tid, nr, 0);
        return;
    }
    // `ret` counts the NUL; a full buffer may have cut the path short.
    let len = ret as u32 - 1;
    let flags = if ret as u32 == capture::MAX_PATH {
        CAPTURE_TRUNCATED
    } else {
        0
    };
    send_capture(scratch, kind::PATH, arg, flags, tid, nr, len);
}

/// One `struct iovec`.
#[repr(C)]
struct Iovec {
    base: u64,
    len: u64,
}

/// Captures up to `limit` bytes of a syscall's data: from `buf` for the
/// plain calls, gathered from the iovec array `buf` of `count` entries for
/// vectored ones (`iov`). `total` is the size of the transfer when known
/// (`u64::MAX` for vectored inputs, whose size is the sum of their iovecs),
/// to tell whether the capture is whole.
#[inline(always)]
fn capture_data(tid: u32, nr: i64, iov: bool, buf: u64, count: u64, total: u64, limit: u32) {
    let Some(scratch) = scratch() else { return };
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
        let mut i: u32 = 0;
        while i < capture::MAX_IOV {
            if (i as u64) >= count {
                break;
            }
            if copied >= limit {
                more = true;
                break;
            }
            // SAFETY: a user read of one iovec, validated by the helper.
            let Ok(entry) =
                (unsafe { bpf_probe_read_user((buf as *const Iovec).wrapping_add(i as usize)) })
            else {
                fault = true;
                break;
            };
            let room = limit - copied;
            let n = if entry.len < room as u64 {
                entry.len as u32
            } else {
                more |= entry.len > room as u64;
                room
            };
            if n > 0 && !copy_user(scratch, copied, entry.base, n) {
                fault = true;
                break;
            }
            copied += n;
            i += 1;
        }
        if i == capture::MAX_IOV && (i as u64) < count {
            more = true;
        }
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
    send_capture(scratch, kind::DATA, 1, flags, tid, nr, copied);
}

/// `struct msghdr`'s `msg_iov` and `msg_iovlen`, at byte 16.
#[repr(C)]
struct MsgIov {
    iov: u64,
    iovlen: u64,
}
const MSGHDR_IOV: usize = 16;

/// Captures the data of syscall `nr` in `mode`; `total` is what moved (the
/// count for inputs, the return value for outputs).
#[inline(always)]
fn capture_mode(tid: u32, nr: i64, mode: u8, args: &[u64; MAX_ARGS], total: u64) {
    let limit = CAPTURE_BYTES.load();
    if limit == 0 {
        return;
    }
    let limit = if limit > capture::MAX_DATA {
        capture::MAX_DATA
    } else {
        limit
    };
    match mode {
        capture::BUF_IN | capture::BUF_OUT => {
            capture_data(tid, nr, false, args[1], total, total, limit)
        }
        capture::IOV_IN | capture::IOV_OUT => {
            capture_data(tid, nr, true, args[1], args[2], total, limit)
        }
        capture::MSG_IN | capture::MSG_OUT => {
            // SAFETY: a user read of two fields of the msghdr, validated.
            let Ok(msg) = (unsafe {
                bpf_probe_read_user(
                    (args[1] as *const u8)
                        .wrapping_add(MSGHDR_IOV)
                        .cast::<MsgIov>(),
                )
            }) else {
                return;
            };
            capture_data(tid, nr, true, msg.iov, msg.iovlen, total, limit)
        }
        _ => {}
    }
}

/// Captures what is valid at enter: paths, and the data being written.
#[inline(always)]
fn capture_enter(tid: u32, nr: i64, spec: CaptureSpec, args: &[u64; MAX_ARGS]) {
    let mut i = 0;
    while i < MAX_ARGS {
        if spec.paths & (1 << i) != 0 && args[i] != 0 {
            capture_path(tid, nr, i as u8, args[i]);
        }
        i += 1;
    }
    match spec.data {
        capture::BUF_IN => capture_mode(tid, nr, spec.data, args, args[2]),
        capture::IOV_IN | capture::MSG_IN => {
            // The size is the sum of the iovecs; unknown until they are
            // read, so count them as they come (`u64::MAX`: no bound).
            capture_mode(tid, nr, spec.data, args, u64::MAX)
        }
        _ => {}
    }
}

/// Captures what is valid at exit: the data that was read (`mode`, kept
/// from the spec at enter).
#[inline(always)]
fn capture_exit(tid: u32, nr: i64, mode: u8, args: &[u64; MAX_ARGS], ret: i64) {
    if ret <= 0 {
        return;
    }
    if matches!(mode, capture::BUF_OUT | capture::IOV_OUT | capture::MSG_OUT) {
        capture_mode(tid, nr, mode, args, ret as u64);
    }
}

/// A BTF tracepoint rather than a raw one: its `regs` argument is a
/// trusted pointer the verifier types from the kernel's BTF, so the six
/// argument registers are plain loads instead of a `bpf_probe_read_kernel`
/// call (with its fault-handling setup) on every traced syscall.
#[btf_tracepoint(function = "sys_enter")]
pub fn sys_enter(ctx: BtfTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let Some(flag) = TRACED.get_ptr_mut(tgid) else {
        return 0;
    };
    // SAFETY: pointer from a successful array lookup.
    let state = unsafe { *flag };
    if state == traced::OFF {
        return 0;
    }
    let nr: i64 = ctx.arg(1);
    if state == traced::AT_EXEC {
        if nr != SYS_EXECVE && nr != SYS_EXECVEAT {
            return 0;
        }
        // SAFETY: as above; a byte store.
        unsafe { *flag = traced::ON };
    }
    // The `-e` set, before any other work.
    let spec = spec_of(nr);
    if spec.record == 0 {
        count(counter::FILTERED);
        return 0;
    }
    let tid = pid_tgid as u32;
    let regs: *const PtRegs = ctx.arg(0);
    // SAFETY: the tracepoint's `struct pt_regs *`, valid for the program's
    // run; the verifier checks every load against the kernel's type.
    let args = unsafe {
        let r = &*regs;
        [r.di, r.si, r.dx, r.r10, r.r8, r.r9]
    };
    // SAFETY: reads the monotonic clock, no memory access.
    let now = unsafe { bpf_ktime_get_ns() };

    if nr == SYS_EXIT || nr == SYS_EXIT_GROUP {
        // Never returns: emit now, with no exit time.
        emit_syscall(tgid, tid, nr, &args, now, 0, 0, FLAG_NO_RETURN);
        return 0;
    }
    if spec.data != capture::NONE || spec.paths != 0 {
        capture_enter(tid, nr, spec, &args);
    }

    if let Some(slot) = inflight_slot(tid) {
        // SAFETY: pointer from a successful array lookup. Only the threads
        // that share this slot write it, one syscall at a time each.
        let slot = unsafe { &mut *slot };
        // A slot never used has tid 0 (no task's tid).
        if slot.nr >= 0 && slot.tid != tid && slot.tid != 0 {
            // Another thread's syscall is in this slot: its record is lost.
            count(counter::LOST_SYSCALLS);
        }
        slot.enter_ns = now;
        slot.exit_data = spec.data;
        slot.nr = nr;
        slot.args = args;
        slot.tid = tid;
    }
    0
}

/// The `INFLIGHT` slot of thread `tid`.
#[inline(always)]
fn inflight_slot(tid: u32) -> Option<*mut Inflight> {
    INFLIGHT.get_ptr_mut(tid & (INFLIGHT_SLOTS - 1))
}

#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn sys_exit(ctx: RawTracePointContext) -> i32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tid = pid_tgid as u32;
    let Some(slot) = inflight_slot(tid) else {
        return 0;
    };
    // SAFETY: pointer from a successful array lookup; see `sys_enter`.
    let pending = unsafe { &mut *slot };
    // Untraced tasks (and a fresh child returning from fork) stop here.
    if pending.tid != tid || pending.nr < 0 {
        return 0;
    }
    let ret: i64 = ctx.arg(1);
    // SAFETY: reads the monotonic clock, no memory access.
    let now = unsafe { bpf_ktime_get_ns() };
    capture_exit(tid, pending.nr, pending.exit_data, &pending.args, ret);
    emit_syscall(
        (pid_tgid >> 32) as u32,
        tid,
        pending.nr,
        &pending.args,
        pending.enter_ns,
        now,
        ret,
        0,
    );
    pending.nr = -1;
    0
}

#[inline(always)]
fn emit_task(kind: u16, flags: u16, tid: u32, tgid: u32, parent_tid: u32) {
    match EVENTS.reserve::<TaskRecord>(0) {
        Some(mut entry) => {
            let comm = bpf_get_current_comm().unwrap_or([0; 16]);
            entry.write(TaskRecord {
                kind,
                flags,
                tid,
                tgid,
                parent_tid,
                // SAFETY: reads the monotonic clock.
                ts_ns: unsafe { bpf_ktime_get_ns() },
                comm,
            });
            entry.submit(BPF_RB_NO_WAKEUP as u64);
        }
        None => count(counter::LOST_TASKS),
    }
}

#[tracepoint]
pub fn sched_process_fork(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        return 0;
    }
    // SAFETY: the offset comes from the tracepoint's own format file; the
    // helper validates the read.
    let Ok(child) = (unsafe { ctx.read_at::<i32>(FORK_CHILD_PID_OFFSET.load() as usize) }) else {
        return 0;
    };
    let child = child as u32;
    set_traced(child, traced::ON);
    emit_task(kind::FORK, 0, child, tgid, pid_tgid as u32);
    0
}

#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    let tgid = (pid_tgid >> 32) as u32;
    let tid = pid_tgid as u32;
    if !is_traced(tgid) {
        return 0;
    }
    let offset = EXIT_GROUP_DEAD_OFFSET.load();
    let group_dead = if offset == u32::MAX {
        false
    } else {
        // SAFETY: offset from the tracepoint's format file; checked read.
        unsafe { ctx.read_at::<u8>(offset as usize) }.unwrap_or(0) != 0
    };
    if let Some(slot) = inflight_slot(tid) {
        // SAFETY: pointer from a successful array lookup.
        let slot = unsafe { &mut *slot };
        if slot.tid == tid {
            // Killed in a syscall: it will not exit from it.
            slot.nr = -1;
        }
    }
    if tid != tgid {
        // Drop the thread's own key (see `TRACED`).
        set_traced(tid, traced::OFF);
    }
    if group_dead {
        set_traced(tgid, traced::OFF);
    }
    let mut flags = if group_dead {
        tracer_common::FLAG_GROUP_DEAD
    } else {
        0
    };
    let status = exit_status();
    if status.is_some() {
        flags |= FLAG_EXIT_STATUS;
    }
    emit_task(kind::EXIT, flags, tid, tgid, status.unwrap_or(0));
    0
}

/// The current task's exit status, `wait(2)`-encoded: `do_exit` stores it
/// in `task->exit_code` before `sched_process_exit` fires. `None` when the
/// loader found no layout or the read fails.
#[inline(always)]
fn exit_status() -> Option<u32> {
    let offset = TASK_EXIT_CODE_OFFSET.load();
    if offset == u32::MAX {
        return None;
    }
    // SAFETY: returns the current task's address; nothing is dereferenced.
    let task = unsafe { generated::bpf_get_current_task() };
    // SAFETY: a checked read of kernel memory at an offset from the
    // kernel's own BTF.
    unsafe { bpf_probe_read_kernel((task + u64::from(offset)) as *const u32) }.ok()
}

#[tracepoint]
pub fn sched_process_exec(_ctx: TracePointContext) -> u32 {
    let pid_tgid = bpf_get_current_pid_tgid();
    // After exec the task is its process's leader: pid == tgid.
    let tgid = (pid_tgid >> 32) as u32;
    if !is_traced(tgid) {
        let comm = bpf_get_current_comm().unwrap_or([0; 16]);
        // SAFETY: reads the current task's cgroup id, no memory access.
        let cgroup = unsafe { generated::bpf_get_current_cgroup_id() };
        let watched =
            WATCH_COMMS.get_ptr(comm).is_some() || WATCH_CGROUPS.get_ptr(cgroup).is_some();
        if !watched {
            return 0;
        }
        set_traced(tgid, traced::ON);
    }
    match exec_owner() {
        Some(owner) => emit_task(kind::EXEC, FLAG_OWNER, tgid, tgid, owner),
        None => emit_task(kind::EXEC, 0, tgid, tgid, 0),
    }
    0
}

/// The floor's target tgid (`u32::MAX`: none). See [`floor_enter`].
#[unsafe(no_mangle)]
static FLOOR_TGID: Global<u32> = Global::new(u32::MAX);

/// Runs of the floor programs that matched [`FLOOR_TGID`]: the work they
/// do on a match, so that the compare stays in the program.
#[map(name = "FLOOR_HITS")]
static FLOOR_HITS: Array<u64> = Array::with_max_entries(1, 0);

/// The floor: what any eBPF recorder on these tracepoints costs at least.
/// It reads the tgid, compares it with one value and returns, attached to
/// the same tracepoints the same way as [`sys_enter`] and [`sys_exit`].
/// Loaded only by the hidden `tracer floor-probe` (for `cargo xtask
/// bench`), never with the real programs.
#[btf_tracepoint(function = "sys_enter")]
pub fn floor_enter(_ctx: BtfTracePointContext) -> i32 {
    floor_check();
    0
}

/// `sys_exit`'s half of the floor (see [`floor_enter`]).
#[raw_tracepoint(tracepoint = "sys_exit")]
pub fn floor_exit(_ctx: RawTracePointContext) -> i32 {
    floor_check();
    0
}

#[inline(always)]
fn floor_check() {
    let tgid = (bpf_get_current_pid_tgid() >> 32) as u32;
    if tgid == FLOOR_TGID.load()
        && let Some(hits) = FLOOR_HITS.get_ptr_mut(0)
    {
        // SAFETY: pointer from a successful array lookup; a racy count is
        // fine, nothing depends on it.
        unsafe { *hits += 1 };
    }
}

/// The owner of the current task, from its credentials as exec left them
/// (a setuid image's are already installed when `sched_process_exec`
/// fires): its uid when the real, effective and saved uids agree, else
/// `OWNER_MIXED`. `None` when the loader found no layout or a read fails.
#[inline(always)]
fn exec_owner() -> Option<u32> {
    let cred_offset = TASK_CRED_OFFSET.load();
    if cred_offset == u32::MAX {
        return None;
    }
    // SAFETY: returns the current task's address; nothing is dereferenced.
    let task = unsafe { generated::bpf_get_current_task() };
    // SAFETY: checked reads of kernel memory (the helper fails cleanly on
    // a bad address); the offsets come from the kernel's own BTF.
    unsafe {
        let cred: u64 =
            bpf_probe_read_kernel((task + u64::from(cred_offset)) as *const u64).ok()?;
        let read = |offset: u32| bpf_probe_read_kernel((cred + u64::from(offset)) as *const u32);
        let uid = read(CRED_UID_OFFSET.load()).ok()?;
        let euid = read(CRED_EUID_OFFSET.load()).ok()?;
        let suid = read(CRED_SUID_OFFSET.load()).ok()?;
        Some(if uid == euid && uid == suid {
            uid
        } else {
            OWNER_MIXED
        })
    }
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Unreachable in a verified program: the verifier rejects any path that
    // could get here.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 4] = *b"GPL\0";
