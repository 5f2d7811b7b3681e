//! Task lifecycle: `sched_process_fork`/`sched_process_exit` keep `TRACED`
//! in step with the children of traced processes; `sched_process_exec`
//! names a task after its new image and starts the daemon's watches.

use aya_ebpf::{
    Global,
    bindings::BPF_RB_NO_WAKEUP,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_ktime_get_ns, bpf_probe_read_kernel,
        generated,
    },
    macros::{map, tracepoint},
    maps::HashMap,
    programs::TracePointContext,
};
use tracer_common::{FLAG_EXIT_STATUS, FLAG_OWNER, OWNER_MIXED, TaskRecord, counter, kind, traced};

use crate::{
    EVENTS, capture::capture_exec_file, count, inflight_slot, is_traced, set_traced,
    stack::stacks_on,
};

/// Process names (`comm`, NUL-padded) whose processes are traced from
/// their `execve` on.
#[map(name = "WATCH_COMMS")]
static WATCH_COMMS: HashMap<[u8; 16], u8> = HashMap::with_max_entries(256, 0);

/// cgroup v2 ids whose processes are traced from their `execve` on.
#[map(name = "WATCH_CGROUPS")]
static WATCH_CGROUPS: HashMap<u64, u8> = HashMap::with_max_entries(256, 0);

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
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
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
    if stacks_on() {
        capture_exec_file(&ctx, tgid);
    }
    match exec_owner() {
        Some(owner) => emit_task(kind::EXEC, FLAG_OWNER, tgid, tgid, owner),
        None => emit_task(kind::EXEC, 0, tgid, tgid, 0),
    }
    0
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
