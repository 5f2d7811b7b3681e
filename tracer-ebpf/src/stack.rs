//! `-k`: the user stacks of the syscalls the `-e` set selects, for traced
//! tasks only. Nothing here runs unless `-k` marked the syscall's
//! `CAPTURE` slot (`CaptureSpec::stack`), which `sys_enter` has already
//! read: with `-k` off the programs do no stack work at all.
//!
//! The kernel walks the user frame pointers (`bpf_get_stack` with
//! `BPF_F_USER_STACK`) into a per-CPU buffer; the addresses, hashed with
//! the process, make a stack id; the frames are sent only the first time
//! an id is seen (`STACK_SEEN`), so a hot loop's stack crosses the ring
//! once, and syscall records carry just the id. A stack sent carries the
//! kernel's own resolution of each frame to a build id and file offset
//! (`BPF_F_USER_BUILD_ID`), made while the process lives, and whether the
//! frame-pointer chain ended cleanly or broke.

use aya_ebpf::{
    EbpfContext,
    bindings::{BPF_F_USER_BUILD_ID, BPF_F_USER_STACK, BPF_RB_NO_WAKEUP},
    cty::c_void,
    helpers::{bpf_probe_read_user, generated},
    macros::map,
    maps::{Array, LruHashMap, PerCpuArray},
    programs::BtfTracePointContext,
};
use tracer_common::{BuildIdFrame, STACK_CUT, StackRecord, counter, kind, stack};

use crate::{EVENTS, capture::opaque, count};

/// The ids of the stacks already sent (see [`take_stack`]).
#[map(name = "STACK_SEEN")]
static STACK_SEEN: LruHashMap<u64, u8> = LruHashMap::with_max_entries(stack::SEEN_ENTRIES, 0);

/// Where a stack record is assembled: too big for the stack.
#[map(name = "STACK_SCRATCH")]
static STACK_SCRATCH: PerCpuArray<StackScratch> = PerCpuArray::with_max_entries(1, 0);

/// Slot 0 is non-zero while stacks are taken; exec records then carry the
/// executable's path ([`kind::EXEC_FILE`]).
#[map(name = "STACK_CONFIG")]
static STACK_CONFIG: Array<u32> = Array::with_max_entries(1, 0);

/// A stack record in the making: the header, the return addresses, and
/// the build-id frames right after the last address. `words` is 4 KiB so
/// that the verifier can bound both the build-id copy (at an offset below
/// 1024, 2 KiB long) and the record size (masked to 4095) from masks.
#[repr(C)]
pub struct StackScratch {
    header: StackRecord,
    words: [u64; 512],
}
const IPS_BYTES: u32 = stack::MAX_FRAMES * 8;
const BUILD_ID_BYTES: u32 = stack::MAX_FRAMES * size_of::<BuildIdFrame>() as u32;
const HEADER_BYTES: u32 = size_of::<StackRecord>() as u32;

/// Whether `-k` is on (exec records then carry the file exec'd).
#[inline(always)]
pub(crate) fn stacks_on() -> bool {
    STACK_CONFIG.get(0).is_some_and(|on| *on != 0)
}

/// The user stack of the current syscall, as a stack id (0: none): the
/// kernel walks the frame pointers (at most `MAX_FRAMES`), the addresses
/// are hashed with the process into the id, and the first time an id is
/// seen its frames are sent as a [`kind::STACK`] record. The id is
/// remembered only once its record is in the ring, so a syscall record
/// never names a stack that is not there before it (a lost record is
/// counted and its syscall goes without). `bp` is the thread's frame
/// pointer register at the syscall.
#[inline(always)]
pub(crate) fn take_stack(ctx: &BtfTracePointContext, tgid: u32, tid: u32, bp: u64) -> u64 {
    let Some(scratch) = STACK_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: this CPU's own slot, valid for the program's run; programs
    // do not nest on one CPU for this tracepoint.
    let scratch = unsafe { &mut *scratch };
    let words = scratch.words.as_mut_ptr();
    // SAFETY: the buffer holds IPS_BYTES and more; the helper walks user
    // memory with faults disabled.
    let walked = unsafe {
        generated::bpf_get_stack(
            ctx.as_ptr(),
            words.cast::<c_void>(),
            IPS_BYTES,
            BPF_F_USER_STACK as u64,
        )
    };
    if walked <= 0 {
        return 0;
    }
    let frames = (walked as u32 / 8).min(stack::MAX_FRAMES);
    // The helper zeroes the buffer past the frames it walked, so every
    // slot is hashed, with no exit that depends on the stack's depth: the
    // verifier then walks what follows once, not once per depth.
    let mut id: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tgid);
    let mut i: u32 = 0;
    while i < stack::MAX_FRAMES {
        // SAFETY: i < MAX_FRAMES, within `words`.
        let ip = unsafe { *words.add(i as usize) };
        id = (id ^ ip).wrapping_mul(0x0000_0100_0000_01b3);
        id ^= id >> 29;
        i += 1;
    }
    // 0 means "no stack".
    id |= 1;
    if STACK_SEEN.get_ptr(id).is_some() {
        return id;
    }
    let cut = frames >= stack::MAX_FRAMES || !chain_ends(bp);
    send_stack(ctx, scratch, frames, cut, tgid, tid, id)
}

/// Whether the frame-pointer chain from `fp` ends as a complete one does
/// (a zero frame pointer or return address), within `MAX_FRAMES`: the
/// kernel's walk stops alike at the end and at memory it cannot read (code
/// without frame pointers leaves anything in the register), so a stack
/// seen for the first time is walked again here to tell which. The same
/// rules as ptrace mode's walk.
#[inline(always)]
fn chain_ends(mut fp: u64) -> bool {
    let mut i: u32 = 1;
    while i < stack::MAX_FRAMES {
        if fp == 0 {
            return true;
        }
        if fp & 7 != 0 {
            return false;
        }
        // SAFETY: a checked read of user memory.
        let Ok(frame) = (unsafe { bpf_probe_read_user(fp as *const [u64; 2]) }) else {
            return false;
        };
        let [next, ret] = frame;
        if ret == 0 {
            return true;
        }
        if next != 0 && next <= fp {
            return false;
        }
        fp = next;
        i += 1;
    }
    fp == 0
}

/// Sends the stack in `scratch` (`frames` addresses) as stack `id`, with
/// its build-id frames, and remembers it as sent; the id, or 0 when the
/// ring had no room.
#[inline(always)]
fn send_stack(
    ctx: &BtfTracePointContext,
    scratch: &mut StackScratch,
    frames: u32,
    cut: bool,
    tgid: u32,
    tid: u32,
    id: u64,
) -> u64 {
    let off = opaque(frames * 8) & 1023;
    // SAFETY: `off` < 1024 and the copy is BUILD_ID_BYTES (2 KiB) long,
    // within the 4 KiB of `words`; the helper validates the rest.
    let resolved = unsafe {
        generated::bpf_get_stack(
            ctx.as_ptr(),
            scratch
                .words
                .as_mut_ptr()
                .cast::<u8>()
                .add(off as usize)
                .cast::<c_void>(),
            BUILD_ID_BYTES,
            (BPF_F_USER_STACK | BPF_F_USER_BUILD_ID) as u64,
        )
    };
    let build_ids = if resolved > 0 {
        resolved as u32 / size_of::<BuildIdFrame>() as u32
    } else {
        0
    };
    scratch.header = StackRecord {
        kind: kind::STACK,
        flags: if cut { STACK_CUT } else { 0 },
        frames: frames as u16,
        build_ids: build_ids as u16,
        tgid,
        tid,
        id,
    };
    let size = opaque(HEADER_BYTES + frames * 8 + build_ids * 32) & 4095;
    // SAFETY: `size` < 4096 <= the struct's size.
    let record = unsafe {
        core::slice::from_raw_parts((scratch as *const StackScratch).cast::<u8>(), size as usize)
    };
    if EVENTS
        .output::<[u8]>(record, BPF_RB_NO_WAKEUP as u64)
        .is_err()
    {
        count(counter::LOST_STACKS);
        return 0;
    }
    let _ = STACK_SEEN.insert(id, 1, 0);
    id
}
