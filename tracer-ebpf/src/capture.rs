//! Capture of what user memory holds: path arguments, and a prefix of the
//! data buffers of the calls that move data. Costs only traced tasks.

use aya_ebpf::{
    Global,
    bindings::BPF_RB_NO_WAKEUP,
    cty::c_void,
    helpers::{bpf_probe_read_user, generated},
    macros::map,
    maps::PerCpuArray,
};
use tracer_common::{
    CAPTURE_FAULT, CAPTURE_TRUNCATED, CaptureRecord, CaptureSpec, MAX_ARGS, capture, counter, kind,
};

use crate::{EVENTS, count};

/// Where capture records are assembled before they are copied into the
/// ring: too big for the 512-byte stack.
#[map(name = "SCRATCH")]
static SCRATCH: PerCpuArray<Scratch> = PerCpuArray::with_max_entries(1, 0);

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
pub(crate) fn capture_enter(tid: u32, nr: i64, spec: CaptureSpec, args: &[u64; MAX_ARGS]) {
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
pub(crate) fn capture_exit(tid: u32, nr: i64, mode: u8, args: &[u64; MAX_ARGS], ret: i64) {
    if ret <= 0 {
        return;
    }
    if matches!(mode, capture::BUF_OUT | capture::IOV_OUT | capture::MSG_OUT) {
        capture_mode(tid, nr, mode, args, ret as u64);
    }
}
