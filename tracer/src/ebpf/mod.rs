//! The eBPF source: loads the programs embedded from `tracer-ebpf`, keeps the
//! `TRACED` filter map, and drains the ring buffer into [`Event`]s.
//!
//! Dropping [`EbpfSource`] detaches every program: the traced processes go
//! on exactly as before, since eBPF never stops them.

mod creds;
mod decode;
pub mod floor;
mod stacks;
pub mod tracefs;

use std::{
    io,
    os::fd::OwnedFd,
    path::Path,
    time::{Duration, Instant},
};

use aya::{
    Btf, Ebpf, EbpfLoader,
    maps::{Array, HashMap, MapData, PerCpuArray, RingBuf},
    programs::{
        BtfTracePoint, RawTracePoint, TracePoint, raw_trace_point::RawTracePointLinkId,
        tp_btf::BtfTracePointLinkId,
    },
};
use thiserror::Error;
use tracer_common::{CaptureSpec, capture, counter, names, traced};

use crate::{
    event::Event,
    stdio::note,
    syscalls::{self, filter::SyscallFilter},
};

/// The object built by `build.rs` from `tracer-ebpf`.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/tracer-ebpf"));

/// Why the eBPF source could not be set up. Each variant says what the user
/// can do about it.
#[derive(Debug, Error)]
pub enum EbpfError {
    #[error(
        "not permitted to load eBPF programs ({0}): run as root, or grant CAP_BPF and CAP_PERFMON"
    )]
    NotPermitted(String),
    #[error("the kernel rejected the eBPF programs: {0}")]
    Rejected(String),
    #[error("tracepoint {0} is missing: {1}")]
    TracepointMissing(String, String),
    #[error("tracefs is not available: {0}")]
    Tracefs(#[from] tracefs::TracefsError),
    #[error("ring buffer size {0} is not a power of two of at least 4096 bytes")]
    BadRingSize(u32),
    #[error("eBPF map error: {0}")]
    Map(String),
    #[error("cannot detach {0}: {1}")]
    Detach(String, String),
    #[error("{0:?} is not a process name (1 to 15 bytes, as in /proc/PID/comm)")]
    BadProcessName(String),
    #[error("capture size {0} is above the limit of {max} bytes", max = capture::MAX_DATA)]
    BadCaptureSize(u32),
}

/// A loaded and attached set of tracer programs.
pub struct EbpfSource {
    // Field order matters for Drop only in that `ebpf` owns the links: the
    // programs detach when it drops.
    ebpf: Ebpf,
    traced: Array<MapData, u8>,
    events: RingBuf<MapData>,
    counters: PerCpuArray<MapData, u64>,
    watch_comms: HashMap<MapData, [u8; 16], u8>,
    watch_cgroups: HashMap<MapData, u64, u8>,
    decoder: decode::Decoder,
    /// The `raw_syscalls` links, while attached (see
    /// [`EbpfSource::set_syscall_probes`]).
    syscall_links: Option<SyscallLinks>,
    /// Samples of the programs' own run time.
    stats: StatsSampler,
}

/// The links of the `raw_syscalls` programs: `sys_enter` is a BTF
/// tracepoint (it reads `pt_regs` directly), `sys_exit` a raw one.
struct SyscallLinks {
    enter: BtfTracePointLinkId,
    exit: RawTracePointLinkId,
}

/// Attaches the loaded `raw_syscalls` programs.
fn attach_syscall_programs(ebpf: &mut Ebpf) -> Result<SyscallLinks, EbpfError> {
    let missing = |tp: &str, e: &aya::programs::ProgramError| {
        EbpfError::TracepointMissing(format!("raw_syscalls/{tp}"), chain(e))
    };
    let enter: &mut BtfTracePoint = program_mut(ebpf, names::SYS_ENTER)?;
    let enter = enter.attach().map_err(|e| missing("sys_enter", &e))?;
    let exit: &mut RawTracePoint = program_mut(ebpf, names::SYS_EXIT)?;
    let exit = exit
        .attach("sys_exit")
        .map_err(|e| missing("sys_exit", &e))?;
    Ok(SyscallLinks { enter, exit })
}

/// Loads and attaches `signal_deliver` (for the life of the object).
fn attach_signal_program(ebpf: &mut Ebpf, btf: &Btf) -> Result<(), EbpfError> {
    let program: &mut BtfTracePoint = program_mut(ebpf, names::SIGNAL_DELIVER)?;
    program
        .load("signal_deliver", btf)
        .map_err(|e| classify_program_error(names::SIGNAL_DELIVER, &e))?;
    program.attach().map_err(|e| {
        EbpfError::TracepointMissing(format!("signal/{}", names::SIGNAL_DELIVER), chain(&e))
    })?;
    Ok(())
}

/// Detaches what [`attach_syscall_programs`] attached.
fn detach_syscall_programs(ebpf: &mut Ebpf, links: SyscallLinks) -> Result<(), EbpfError> {
    let failed =
        |prog: &str, e: &aya::programs::ProgramError| EbpfError::Detach(prog.to_owned(), chain(e));
    let enter: &mut BtfTracePoint = program_mut(ebpf, names::SYS_ENTER)?;
    enter
        .detach(links.enter)
        .map_err(|e| failed(names::SYS_ENTER, &e))?;
    let exit: &mut RawTracePoint = program_mut(ebpf, names::SYS_EXIT)?;
    exit.detach(links.exit)
        .map_err(|e| failed(names::SYS_EXIT, &e))
}

/// The kernel counts programs' run time only while statistics are enabled
/// (`BPF_ENABLE_STATS`, while its fd is open), and counting costs two
/// clock reads per run of every program on every syscall of every task:
/// measured here it doubled the slowdown of untraced processes. So it is
/// enabled in short windows (`WINDOW` out of every `PERIOD`), and the cost
/// per run measured in them is applied to all runs.
struct StatsSampler {
    /// Open while a window is on.
    fd: Option<OwnedFd>,
    /// (run time, run count) and time at the start of the open window.
    start: (u64, u64),
    opened: Instant,
    next_toggle: Instant,
    /// Summed over closed windows.
    time_ns: u64,
    runs: u64,
    window_ns: u64,
    /// Whether the kernel supports it at all.
    available: bool,
}

const WINDOW: Duration = Duration::from_millis(20);
const PERIOD: Duration = Duration::from_millis(200);

impl StatsSampler {
    fn new() -> Self {
        Self {
            fd: None,
            start: (0, 0),
            opened: Instant::now(),
            next_toggle: Instant::now(),
            time_ns: 0,
            runs: 0,
            window_ns: 0,
            available: true,
        }
    }

    /// Opens or closes the window when it is time; `totals` reads the
    /// programs' cumulative (run time, run count).
    fn tick(&mut self, totals: impl Fn() -> Option<(u64, u64)>) {
        let now = Instant::now();
        if !self.available || now < self.next_toggle {
            return;
        }
        if self.fd.is_some() {
            self.close(totals);
            self.next_toggle = now + PERIOD - WINDOW;
            return;
        }
        match aya::sys::enable_stats(aya::sys::Stats::RunTime) {
            Ok(fd) => {
                self.start = totals().unwrap_or_default();
                self.opened = now;
                self.fd = Some(fd);
                self.next_toggle = now + WINDOW;
            }
            Err(_) => self.available = false,
        }
    }

    /// Closes the open window, if any, and adds what it measured.
    fn close(&mut self, totals: impl Fn() -> Option<(u64, u64)>) {
        if let Some(fd) = self.fd.take() {
            let (time, runs) = totals().unwrap_or(self.start);
            drop(fd);
            self.time_ns += time.saturating_sub(self.start.0);
            self.runs += runs.saturating_sub(self.start.1);
            self.window_ns += self.opened.elapsed().as_nanos() as u64;
        }
    }

    /// Average run time of one program run, from the windows so far.
    fn ns_per_run(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.time_ns as f64 / self.runs as f64)
    }
}

impl EbpfSource {
    /// Loads and attaches the programs. Nothing is recorded until a tgid is
    /// added with [`EbpfSource::trace`]. Only the syscalls in `record` are
    /// recorded (the others cost the traced tasks one array lookup); up to
    /// `capture_bytes` of each data buffer are captured (0: none), and the
    /// structures behind pointers when `structs` (a sink shows them).
    pub fn load(
        ring_bytes: u32,
        capture_bytes: u32,
        structs: bool,
        record: &SyscallFilter,
    ) -> Result<Self, EbpfError> {
        Self::load_with(ring_bytes, capture_bytes, structs, record, true)
    }

    /// Loads the programs with only the fork/exec/exit ones attached: the
    /// syscall programs are loaded but never attached (until
    /// [`EbpfSource::set_syscall_probes`]), so no syscall on the machine
    /// ever runs them, and the signal program is not attached at all. For
    /// watching processes' lives alone (`compare -p`).
    pub fn load_task_programs(ring_bytes: u32) -> Result<Self, EbpfError> {
        Self::load_with(ring_bytes, 0, false, &SyscallFilter::all(), false)
    }

    fn load_with(
        ring_bytes: u32,
        capture_bytes: u32,
        structs: bool,
        record: &SyscallFilter,
        syscall_probes: bool,
    ) -> Result<Self, EbpfError> {
        if ring_bytes < 4096 || !ring_bytes.is_power_of_two() {
            return Err(EbpfError::BadRingSize(ring_bytes));
        }
        if capture_bytes > capture::MAX_DATA {
            return Err(EbpfError::BadCaptureSize(capture_bytes));
        }
        raise_memlock_limit();
        let tracefs = tracefs::ensure_mounted()?;
        let fork_child =
            tracefs::field_offset(&tracefs, "sched", "sched_process_fork", "child_pid")?
                .ok_or_else(|| {
                    EbpfError::TracepointMissing(
                        "sched/sched_process_fork".into(),
                        "its record has no child_pid field".into(),
                    )
                })?;
        let group_dead =
            tracefs::field_offset(&tracefs, "sched", "sched_process_exit", "group_dead")?
                .unwrap_or(u32::MAX);
        let exec_filename =
            tracefs::field_offset(&tracefs, "sched", "sched_process_exec", "filename")?
                .unwrap_or(u32::MAX);

        // Without the layout, EXEC records carry no owner and the daemon
        // falls back to /proc: worse for short-lived processes, not wrong.
        let cred = creds::cred_offsets(Path::new(creds::VMLINUX_BTF)).unwrap_or_else(|e| {
            note!("tracer: exec records will not carry owners: {e}");
            creds::CredOffsets {
                task_cred: u32::MAX,
                uid: u32::MAX,
                euid: u32::MAX,
                suid: u32::MAX,
            }
        });

        // Without it, exits carry no status: `+++` lines and exports say
        // less, nothing else changes.
        let exit_code =
            creds::exit_code_offset(Path::new(creds::VMLINUX_BTF)).unwrap_or_else(|e| {
                note!("tracer: exit records will not carry statuses: {e}");
                u32::MAX
            });

        let pid_max = pid_max();
        let mut ebpf = EbpfLoader::new()
            .map_max_entries(names::EVENTS, ring_bytes)
            .map_max_entries(names::TRACED, pid_max)
            .override_global(names::FORK_CHILD_PID_OFFSET, &fork_child, true)
            .override_global(names::EXIT_GROUP_DEAD_OFFSET, &group_dead, true)
            .override_global(names::TASK_CRED_OFFSET, &cred.task_cred, true)
            .override_global(names::CRED_UID_OFFSET, &cred.uid, true)
            .override_global(names::CRED_EUID_OFFSET, &cred.euid, true)
            .override_global(names::CRED_SUID_OFFSET, &cred.suid, true)
            .override_global(names::TASK_EXIT_CODE_OFFSET, &exit_code, true)
            .override_global(names::CAPTURE_BYTES, &capture_bytes, true)
            .override_global(names::EXEC_FILENAME_OFFSET, &exec_filename, true)
            .load(OBJECT)
            .map_err(|e| classify_load_error(&e))?;

        let btf = Btf::from_sys_fs().map_err(|e| {
            EbpfError::Rejected(format!(
                "cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): {}",
                chain(&e)
            ))
        })?;
        let enter: &mut BtfTracePoint = program_mut(&mut ebpf, names::SYS_ENTER)?;
        enter
            .load("sys_enter", &btf)
            .map_err(|e| classify_program_error(names::SYS_ENTER, &e))?;
        let exit: &mut RawTracePoint = program_mut(&mut ebpf, names::SYS_EXIT)?;
        exit.load()
            .map_err(|e| classify_program_error(names::SYS_EXIT, &e))?;
        // The signal program records deliveries to traced tasks: what
        // recording shows, not what watching processes' lives needs.
        let syscall_links = match syscall_probes {
            true => {
                let links = attach_syscall_programs(&mut ebpf)?;
                attach_signal_program(&mut ebpf, &btf)?;
                Some(links)
            }
            false => None,
        };
        // The syscall table and the `-e` set go in before any task is
        // traced.
        let mut specs: Array<_, CaptureSpec> =
            Array::try_from(ebpf.map_mut(names::CAPTURE).ok_or_else(|| {
                EbpfError::Map(format!("map {} missing from the object", names::CAPTURE))
            })?)
            .map_err(|e| EbpfError::Map(chain(&e)))?;
        for nr in 0..capture::SYSCALLS {
            let spec = spec_for(nr, record, capture_bytes > 0, structs);
            if spec != CaptureSpec::default() {
                specs
                    .set(nr, spec, 0)
                    .map_err(|e| EbpfError::Map(chain(&e)))?;
            }
        }

        for prog in [names::SCHED_FORK, names::SCHED_EXIT, names::SCHED_EXEC] {
            let program: &mut TracePoint = program_mut(&mut ebpf, prog)?;
            program
                .load()
                .map_err(|e| classify_program_error(prog, &e))?;
            program
                .attach("sched", prog)
                .map_err(|e| EbpfError::TracepointMissing(format!("sched/{prog}"), chain(&e)))?;
        }

        let traced = Array::try_from(take_map(&mut ebpf, names::TRACED)?)
            .map_err(|e| EbpfError::Map(chain(&e)))?;
        let events = RingBuf::try_from(take_map(&mut ebpf, names::EVENTS)?)
            .map_err(|e| EbpfError::Map(chain(&e)))?;
        let counters = PerCpuArray::try_from(take_map(&mut ebpf, names::COUNTERS)?)
            .map_err(|e| EbpfError::Map(chain(&e)))?;
        let watch_comms = HashMap::try_from(take_map(&mut ebpf, names::WATCH_COMMS)?)
            .map_err(|e| EbpfError::Map(chain(&e)))?;
        let watch_cgroups = HashMap::try_from(take_map(&mut ebpf, names::WATCH_CGROUPS)?)
            .map_err(|e| EbpfError::Map(chain(&e)))?;
        let mut stats = StatsSampler::new();
        stats.tick(|| None);
        Ok(Self {
            ebpf,
            traced,
            events,
            counters,
            watch_comms,
            watch_cgroups,
            decoder: decode::Decoder::default(),
            syscall_links,
            stats,
        })
    }

    /// Starts recording process `tgid` (all its threads, and the children it
    /// forks from now on); with `at_exec`, from its next `execve` on.
    pub fn trace(&mut self, tgid: u32, at_exec: bool) -> Result<(), EbpfError> {
        let state = if at_exec { traced::AT_EXEC } else { traced::ON };
        self.traced
            .set(tgid, state, 0)
            .map_err(|e| EbpfError::Map(format!("cannot trace pid {tgid}: {}", chain(&e))))
    }

    /// Attaches (`true`) or detaches the `raw_syscalls` programs. While they
    /// are attached every syscall of every task on the machine goes through
    /// the tracepoint slow path (see the README's measurements), so a
    /// long-running user with nothing to record (the daemon without
    /// watches) detaches them. The fork/exit/exec programs stay.
    pub fn set_syscall_probes(&mut self, on: bool) -> Result<(), EbpfError> {
        match (on, self.syscall_links.take()) {
            (true, None) => self.syscall_links = Some(attach_syscall_programs(&mut self.ebpf)?),
            (false, Some(links)) => detach_syscall_programs(&mut self.ebpf, links)?,
            (_, links) => self.syscall_links = links,
        }
        Ok(())
    }

    /// Stops recording process `tgid` (its children already forked stay
    /// traced until they exit).
    pub fn untrace(&mut self, tgid: u32) -> Result<(), EbpfError> {
        self.traced
            .set(tgid, traced::OFF, 0)
            .map_err(|e| EbpfError::Map(format!("cannot untrace pid {tgid}: {}", chain(&e))))
    }

    /// Traces every process that execs with this name (`comm`: at most 15
    /// bytes, as the kernel truncates), from its `execve` on. A
    /// `TaskEvent::Named` announces each one.
    pub fn watch_comm(&mut self, comm: &str) -> Result<(), EbpfError> {
        self.watch_comms
            .insert(comm_key(comm)?, 1, 0)
            .map_err(|e| EbpfError::Map(format!("cannot watch {comm}: {}", chain(&e))))
    }

    pub fn unwatch_comm(&mut self, comm: &str) -> Result<(), EbpfError> {
        match self.watch_comms.remove(&comm_key(comm)?) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(EbpfError::Map(chain(&e))),
        }
    }

    /// Traces every process that execs in cgroup (v2) `id` (the inode
    /// number of its directory under /sys/fs/cgroup), from its `execve` on.
    pub fn watch_cgroup(&mut self, id: u64) -> Result<(), EbpfError> {
        self.watch_cgroups
            .insert(id, 1, 0)
            .map_err(|e| EbpfError::Map(format!("cannot watch cgroup {id}: {}", chain(&e))))
    }

    pub fn unwatch_cgroup(&mut self, id: u64) -> Result<(), EbpfError> {
        match self.watch_cgroups.remove(&id) {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(EbpfError::Map(chain(&e))),
        }
    }

    /// Hands every record in the ring buffer to `sink`, in ring order.
    /// Returns the number of records drained.
    pub fn drain(&mut self, mut sink: impl FnMut(Event)) -> usize {
        self.tick();
        let mut n = 0;
        while let Some(item) = self.events.next() {
            n += 1;
            if let Some(event) = self.decoder.record(&item) {
                sink(event);
            }
        }
        self.forget_unknown_stacks();
        n
    }

    /// Syscall and task records the kernel side could not deliver (the
    /// ring was full), summed over CPUs.
    pub fn lost(&self) -> u64 {
        self.counter(counter::LOST_SYSCALLS) + self.counter(counter::LOST_TASKS)
    }

    /// Syscall records lost (ring full, or an `INFLIGHT` slot taken).
    pub fn lost_syscalls(&self) -> u64 {
        self.counter(counter::LOST_SYSCALLS)
    }

    /// Task records (fork, exit, exec) that did not fit in the ring.
    pub fn lost_tasks(&self) -> u64 {
        self.counter(counter::LOST_TASKS)
    }

    /// Capture records (paths, data) that did not fit in the ring: their
    /// syscalls may have been recorded, and show pointers instead.
    pub fn lost_captures(&self) -> u64 {
        self.counter(counter::LOST_CAPTURES)
    }

    /// `-k`: takes the user stack at the entry of the syscalls `filter`
    /// selects (of those recorded). Call before tracing anything.
    pub fn stacks(&mut self, filter: &SyscallFilter) -> Result<(), EbpfError> {
        let map_err = |e: aya::maps::MapError| EbpfError::Map(chain(&e));
        let missing = |name: &str| EbpfError::Map(format!("map {name} missing from the object"));
        let mut specs: Array<_, CaptureSpec> = Array::try_from(
            self.ebpf
                .map_mut(names::CAPTURE)
                .ok_or_else(|| missing(names::CAPTURE))?,
        )
        .map_err(map_err)?;
        for nr in 0..capture::SYSCALLS {
            let spec = specs.get(&nr, 0).map_err(map_err)?;
            if spec.record != 0 && filter.matches(nr) {
                specs
                    .set(nr, CaptureSpec { stack: 1, ..spec }, 0)
                    .map_err(map_err)?;
            }
        }
        let mut config: Array<_, u32> = Array::try_from(
            self.ebpf
                .map_mut(names::STACK_CONFIG)
                .ok_or_else(|| missing(names::STACK_CONFIG))?,
        )
        .map_err(map_err)?;
        config.set(0, 1, 0).map_err(map_err)?;
        self.decoder.stacks = Some(stacks::StackTable::default());
        Ok(())
    }

    /// Stacks lost: their records did not fit in the ring, or their
    /// syscall named one that never came.
    pub fn lost_stacks(&self) -> u64 {
        self.counter(counter::LOST_STACKS) + self.decoder.stacks.as_ref().map_or(0, |s| s.missed)
    }

    /// Has the kernel forget the stacks syscall records named but that
    /// never came, so that they are sent again when they recur.
    fn forget_unknown_stacks(&mut self) {
        let Some(table) = &mut self.decoder.stacks else {
            return;
        };
        let unknown = table.take_unknown();
        if unknown.is_empty() {
            return;
        }
        if let Some(map) = self.ebpf.map_mut(names::STACK_SEEN)
            && let Ok(mut seen) = HashMap::<_, u64, u8>::try_from(map)
        {
            for id in unknown {
                let _ = seen.remove(&id);
            }
        }
    }

    /// Syscalls of traced tasks that the `-e` set left out in the kernel.
    pub fn filtered(&self) -> u64 {
        self.counter(counter::FILTERED)
    }

    fn counter(&self, index: u32) -> u64 {
        self.counters
            .get(&index, 0)
            .map(|per_cpu| per_cpu.iter().sum())
            .unwrap_or(0)
    }

    /// Captures (paths, data) dropped because their syscall record never
    /// came: it was lost, or the call was still in flight at detach.
    pub fn orphaned_captures(&self) -> u64 {
        self.decoder.orphaned()
    }

    /// Opens or closes a run-time sampling window when due; call it from
    /// the consumer loop.
    pub fn tick(&mut self) {
        let ebpf = &self.ebpf;
        self.stats.tick(|| program_totals(ebpf));
    }

    /// Closes a sampling window that is still open: the trace is over.
    pub fn stop_sampling(&mut self) {
        let ebpf = &self.ebpf;
        self.stats.close(|| program_totals(ebpf));
        self.stats.available = false;
    }

    /// Cumulative (run time ns, run count) of the fork/exec/exit programs
    /// alone, as the kernel counts them while run-time statistics are on
    /// (`aya::sys::enable_stats`): what watching processes' lives costs,
    /// without the syscall programs.
    pub fn task_program_totals(&self) -> Option<(u64, u64)> {
        let (mut time, mut count) = (0, 0);
        for name in [names::SCHED_FORK, names::SCHED_EXIT, names::SCHED_EXEC] {
            let info = self.ebpf.program(name)?.info().ok()?;
            time += info.run_time().as_nanos() as u64;
            count += info.run_count();
        }
        Some((time, count))
    }

    /// The programs' average run time per run, measured in the sampling
    /// windows (over every task they ran for); and the rate of runs per
    /// second over the machine in those windows.
    pub fn run_cost(&self) -> Option<(f64, f64)> {
        let per_run = self.stats.ns_per_run()?;
        let rate = self.stats.runs as f64 / (self.stats.window_ns as f64 / 1e9);
        Some((per_run, rate))
    }
}

/// The `CAPTURE` slot of syscall `nr` (slot `capture::OTHER` stands for
/// every number beyond the table) when `record` is the set to record,
/// its data buffer only when `data`, its structures only when `structs`.
fn spec_for(nr: u32, record: &SyscallFilter, data: bool, structs: bool) -> CaptureSpec {
    let known = nr < capture::OTHER.min(syscalls::NR_END);
    let spec = if known {
        syscalls::capture_spec(nr)
    } else {
        CaptureSpec::default()
    };
    CaptureSpec {
        // Numbers from the table's end on (and slot OTHER) are selected
        // together: `matches` says so for all of them alike.
        record: u8::from(record.matches(nr)),
        // With data capture off (`-s 0`) no call parks a data mode, so
        // `sys_exit` skips the capture path with one compare.
        data: if data { spec.data } else { capture::NONE },
        exit_structs: if structs { spec.exit_structs } else { 0 },
        structs: if structs {
            spec.structs
        } else {
            Default::default()
        },
        ..spec
    }
}

/// The `WATCH_COMMS` key of `comm`: NUL-padded to 16 bytes, as the kernel
/// stores it.
fn comm_key(comm: &str) -> Result<[u8; 16], EbpfError> {
    let bytes = comm.as_bytes();
    if bytes.is_empty() || bytes.len() > 15 || bytes.contains(&0) {
        return Err(EbpfError::BadProcessName(comm.to_owned()));
    }
    let mut key = [0u8; 16];
    key[..bytes.len()].copy_from_slice(bytes);
    Ok(key)
}

/// Cumulative (run time ns, run count) of the programs tracer loads (the
/// object's floor programs are not among them).
fn program_totals(ebpf: &Ebpf) -> Option<(u64, u64)> {
    let (mut time, mut count) = (0, 0);
    for &name in names::RECORDER_PROGRAMS {
        let info = ebpf.program(name)?.info().ok()?;
        time += info.run_time().as_nanos() as u64;
        count += info.run_count();
    }
    Some((time, count))
}

fn program_mut<'a, T>(ebpf: &'a mut Ebpf, name: &str) -> Result<&'a mut T, EbpfError>
where
    &'a mut T: TryFrom<&'a mut aya::programs::Program, Error = aya::programs::ProgramError>,
{
    let program = ebpf
        .program_mut(name)
        .ok_or_else(|| EbpfError::Rejected(format!("program {name} missing from the object")))?;
    program
        .try_into()
        .map_err(|e| EbpfError::Rejected(chain(&e)))
}

fn take_map(ebpf: &mut Ebpf, name: &str) -> Result<aya::maps::Map, EbpfError> {
    ebpf.take_map(name)
        .ok_or_else(|| EbpfError::Map(format!("map {name} missing from the object")))
}

/// `kernel.pid_max`: the size of the `TRACED` array. A pid above it cannot
/// exist; if the sysctl is raised while tracing, such pids go untraced.
fn pid_max() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 22)
}

/// Raising RLIMIT_MEMLOCK fails without CAP_SYS_RESOURCE; kernels since 5.11
/// account BPF memory to the cgroup instead, so failure is not fatal.
fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: setrlimit reads the struct we pass and nothing else.
    let _ = unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}

/// The error and its sources on one line: aya's top-level messages alone
/// ("error loading map") hide the errno that says what went wrong.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

fn is_permission(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && matches!(io.raw_os_error(), Some(libc::EPERM | libc::EACCES))
        {
            return true;
        }
        current = e.source();
    }
    false
}

fn classify_load_error(error: &aya::EbpfError) -> EbpfError {
    if is_permission(error) {
        EbpfError::NotPermitted(chain(error))
    } else {
        EbpfError::Rejected(chain(error))
    }
}

fn classify_program_error(name: &str, error: &aya::programs::ProgramError) -> EbpfError {
    if is_permission(error) {
        EbpfError::NotPermitted(chain(error))
    } else {
        let mut text = format!("{name}: {}", chain(error));
        if !Path::new("/sys/kernel/btf/vmlinux").exists() {
            text.push_str(" (this kernel has no BTF at /sys/kernel/btf/vmlinux)");
        }
        EbpfError::Rejected(text)
    }
}

#[cfg(test)]
mod tests {
    //! These load the real programs into the running kernel (tests run as
    //! root) and trace real children.

    use std::{
        io::Write as _,
        process::{Child, Command, Stdio},
        time::{Duration, Instant},
    };

    use super::*;
    use crate::event::TaskEvent;

    #[test]
    fn every_shared_name_is_in_the_object_and_nothing_else() {
        raise_memlock_limit();
        let mut loader = EbpfLoader::new();
        // `true`: loading fails if the object has no such global.
        for global in names::GLOBALS {
            loader.override_global(global, &0u32, true);
        }
        let ebpf = loader.load(OBJECT).expect("the object loads");
        for map in names::MAPS {
            assert!(ebpf.map(map).is_some(), "map {map} is not in the object");
        }
        let programs = || names::RECORDER_PROGRAMS.iter().chain(names::FLOOR_PROGRAMS);
        for program in programs() {
            assert!(
                ebpf.program(program).is_some(),
                "program {program} is not in the object"
            );
        }
        // The other way: the object's own maps (not the sections aya makes
        // maps of for globals) and programs are all listed.
        for (name, _) in ebpf.maps() {
            assert!(
                names::MAPS.contains(&name) || name.starts_with('.'),
                "map {name} is not in tracer_common::names::MAPS"
            );
        }
        for (name, _) in ebpf.programs() {
            assert!(
                programs().any(|&p| p == name),
                "program {name} is not in tracer_common::names' program lists"
            );
        }
    }

    #[test]
    fn bad_sizes_are_refused_before_anything_loads() {
        assert!(matches!(
            EbpfSource::load(3000, 0, true, &SyscallFilter::all()),
            Err(EbpfError::BadRingSize(3000))
        ));
        assert!(matches!(
            EbpfSource::load(1 << 16, capture::MAX_DATA + 1, true, &SyscallFilter::all()),
            Err(EbpfError::BadCaptureSize(_))
        ));
    }

    #[test]
    fn structures_are_captured_only_when_shown() {
        let all = SyscallFilter::all();
        let stat = crate::syscalls::by_name("newfstatat").unwrap();
        let shown = spec_for(stat, &all, true, true);
        assert_eq!((shown.structs[0].arg, shown.exit_structs), (2, 1));
        assert_eq!(shown.paths, 0b10);
        let summary = spec_for(stat, &all, true, false);
        assert_eq!(
            summary.structs,
            [Default::default(); tracer_common::structs::MAX]
        );
        assert_eq!(
            (summary.exit_structs, summary.paths, summary.record),
            (0, 0b10, 1)
        );
    }

    #[test]
    fn process_names_are_checked() {
        assert_eq!(&comm_key("nginx").unwrap()[..6], b"nginx\0");
        assert_eq!(comm_key("fifteen-bytes-x").unwrap()[15], 0);
        for bad in ["", "sixteen-bytes-xx", "a\0b"] {
            let err = comm_key(bad).unwrap_err();
            assert!(matches!(err, EbpfError::BadProcessName(_)), "{bad:?}");
            assert!(err.to_string().contains("is not a process name"), "{err}");
        }
    }

    /// `cat`, waiting on a pipe for what the test writes.
    fn cat() -> Child {
        Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("cat runs")
    }

    /// Drains `source` until `done` says so, or fails after 10 s.
    fn drain_until(
        source: &mut EbpfSource,
        events: &mut Vec<Event>,
        done: impl Fn(&[Event]) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(events) {
            assert!(Instant::now() < deadline, "timed out; got {events:?}");
            source.drain(|event| events.push(event));
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn writes_of(events: &[Event], pid: u32, bytes: &[u8]) -> usize {
        let write = syscalls::by_name("write");
        events
            .iter()
            .filter(|event| match event {
                Event::Syscall(ev) => {
                    ev.tgid == pid
                        && Some(ev.nr) == write
                        && ev.data.as_ref().is_some_and(|d| d.bytes == bytes)
                }
                Event::Task(_) => false,
            })
            .count()
    }

    fn exited(events: &[Event], pid: u32) -> bool {
        events.iter().any(|event| {
            matches!(event, Event::Task(TaskEvent::Exited { tgid, group_dead: true, .. }) if *tgid == pid)
        })
    }

    #[test]
    fn a_traced_process_is_recorded_with_its_data_and_exit() {
        let mut source =
            EbpfSource::load(1 << 20, 64, true, &SyscallFilter::all()).expect("the programs load");
        let mut child = cat();
        let pid = child.id();
        source.trace(pid, false).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        // cat may have entered its first read before it was traced: the
        // second line is read by a call that began after its first write.
        stdin.write_all(b"first\n").unwrap();
        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| {
            writes_of(events, pid, b"first\n") == 1
        });
        stdin.write_all(b"hello\n").unwrap();
        drop(stdin);
        child.wait().unwrap();
        drain_until(&mut source, &mut events, |events| exited(events, pid));
        // cat read the line and wrote it out, captured as it went.
        let read = syscalls::by_name("read");
        assert!(
            events.iter().any(|event| matches!(event, Event::Syscall(ev)
                if ev.tgid == pid && Some(ev.nr) == read && ev.ret == Some(6)
                    && ev.data.as_ref().is_some_and(|d| d.bytes == b"hello\n"))),
            "no read of the line in {events:?}"
        );
        assert_eq!(writes_of(&events, pid, b"hello\n"), 1);
        // Nothing of other processes.
        assert!(events.iter().all(|event| match event {
            Event::Syscall(ev) => ev.tgid == pid,
            Event::Task(_) => true,
        }));
        assert_eq!(source.lost(), 0);
    }

    /// The status of `pid`'s process exit, from its group-dead record.
    fn exit_status_of(events: &[Event], pid: u32) -> Option<i32> {
        events.iter().find_map(|event| match event {
            Event::Task(TaskEvent::Exited {
                tgid,
                group_dead: true,
                status,
                ..
            }) if *tgid == pid => *status,
            _ => None,
        })
    }

    /// #16: the kernel's `exit_code`, wait(2)-encoded: `exit 3` is
    /// `3 << 8`, a SIGKILL is 9.
    #[test]
    fn exits_carry_their_wait_status() {
        let mut source =
            EbpfSource::load(1 << 20, 0, true, &SyscallFilter::all()).expect("the programs load");
        let mut exiting = Command::new("sh")
            .args(["-c", "read line; exit 3"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let mut killed = cat();
        let (exiting_pid, killed_pid) = (exiting.id(), killed.id());
        source.trace(exiting_pid, false).unwrap();
        source.trace(killed_pid, false).unwrap();
        exiting.stdin.take().unwrap().write_all(b"go\n").unwrap();
        killed.kill().unwrap();
        assert_eq!(exiting.wait().unwrap().code(), Some(3));
        killed.wait().unwrap();
        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| {
            exited(events, exiting_pid) && exited(events, killed_pid)
        });
        assert_eq!(exit_status_of(&events, exiting_pid), Some(3 << 8));
        assert_eq!(exit_status_of(&events, killed_pid), Some(libc::SIGKILL));
    }

    /// #16: signals delivered to a traced process, with their siginfo.
    #[test]
    fn signal_deliveries_carry_their_siginfo() {
        let mut source =
            EbpfSource::load(1 << 20, 0, false, &SyscallFilter::all()).expect("the programs load");
        let mut child = Command::new("/usr/bin/python3")
            .args(["-S", "-c", crate::event::SIGNALLING_PROGRAM])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        source.trace(pid, false).unwrap();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        assert!(child.wait().unwrap().success());
        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| exited(events, pid));
        assert_eq!(
            crate::event::signals_of(&events, pid),
            [(libc::SIGUSR1, 0, pid), (libc::SIGRTMIN() + 1, 0, pid)],
            "{events:?}"
        );
        assert_eq!(exit_status_of(&events, pid), Some(0));
    }

    /// #13: the `-e` set is applied in the kernel. cat's reads are left
    /// out (counted as filtered), its writes recorded with their data.
    #[test]
    fn syscalls_outside_the_set_are_left_out_in_the_kernel() {
        let writes = SyscallFilter::parse(&["trace=write"]).unwrap();
        let mut source = EbpfSource::load(1 << 20, 64, true, &writes).expect("the programs load");
        let mut child = cat();
        let pid = child.id();
        source.trace(pid, false).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"first\n").unwrap();
        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| {
            writes_of(events, pid, b"first\n") == 1
        });
        drop(stdin);
        child.wait().unwrap();
        drain_until(&mut source, &mut events, |events| exited(events, pid));
        let write = syscalls::by_name("write");
        assert!(
            events.iter().all(|event| match event {
                Event::Syscall(ev) => Some(ev.nr) == write,
                Event::Task(_) => true,
            }),
            "only writes: {events:?}"
        );
        // At least the read that returned the line, and the one that saw
        // the end of input.
        assert!(source.filtered() >= 2, "{}", source.filtered());
        assert_eq!(source.lost(), 0);
    }

    #[test]
    fn an_untraced_process_is_no_longer_recorded() {
        let mut source =
            EbpfSource::load(1 << 20, 64, true, &SyscallFilter::all()).expect("the programs load");
        let mut child = cat();
        let pid = child.id();
        source.trace(pid, false).unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"one\n").unwrap();
        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| {
            writes_of(events, pid, b"one\n") == 1
        });

        source.untrace(pid).unwrap();
        stdin.write_all(b"two\n").unwrap();
        drop(stdin);
        child.wait().unwrap();
        // Everything the kernel side wrote is in the ring by now.
        source.drain(|event| events.push(event));
        assert_eq!(writes_of(&events, pid, b"two\n"), 0, "{events:?}");
        assert!(!exited(&events, pid), "{events:?}");
    }

    #[test]
    fn a_watched_name_is_traced_from_its_exec() {
        let mut source =
            EbpfSource::load(1 << 20, 64, true, &SyscallFilter::all()).expect("the programs load");
        // The kernel names a process after the file it executes: a link
        // with a name of our own, so no other process matches.
        let tmp = crate::files::test_dir("tracer-ebpf-watch-");
        let dir = tmp.path().to_path_buf();
        let name = format!("tw{}", std::process::id() % 1_000_000);
        let link = dir.join(&name);
        std::os::unix::fs::symlink(which::which("cat").unwrap(), &link).unwrap();
        source.watch_comm(&name).unwrap();
        let mut child = Command::new(&link)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"watched\n").unwrap();
        drop(stdin);
        child.wait().unwrap();
        source.unwatch_comm(&name).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| exited(events, pid));
        assert!(
            events.iter().any(|event| matches!(event,
                Event::Task(TaskEvent::Named { tgid, comm, .. }) if *tgid == pid && *comm == name)),
            "no Named event for {name} in {events:?}"
        );
        assert_eq!(writes_of(&events, pid, b"watched\n"), 1);
    }

    /// The owner the kernel records at exec (issue #11 item 12): a plain
    /// process's uid, and "mixed" for one whose uids differ after exec (a
    /// setuid program), read from the credentials exec installed.
    #[test]
    fn exec_records_carry_the_owner_from_the_credentials() {
        use std::os::unix::{fs::PermissionsExt, process::CommandExt};

        use crate::event::Owner;
        const NOBODY: u32 = 65534;
        let mut source =
            EbpfSource::load(1 << 20, 0, true, &SyscallFilter::all()).expect("the programs load");
        let tmp = crate::files::test_dir("tracer-ebpf-owner-");
        let dir = tmp.path().to_path_buf();
        // nobody runs programs here: made private, then opened to reading.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let tag = std::process::id() % 100_000;
        let program = |name: &str, owner: u32, mode: u32| {
            let path = dir.join(name);
            std::fs::copy(which::which("true").unwrap(), &path).unwrap();
            std::os::unix::fs::chown(&path, Some(owner), None).unwrap();
            // After chown, which clears the setuid bit.
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            path
        };
        let (plain, setuid) = (format!("to{tag}p"), format!("to{tag}s"));
        let plain_path = program(&plain, 0, 0o755);
        // Root running a program setuid to nobody: uid 0, euid 65534.
        let setuid_path = program(&setuid, NOBODY, 0o4755);
        source.watch_comm(&plain).unwrap();
        source.watch_comm(&setuid).unwrap();
        let run = |cmd: &mut Command| {
            let mut child = cmd.spawn().unwrap();
            let pid = child.id();
            child.wait().unwrap();
            pid
        };
        let as_nobody = run(Command::new(&plain_path).uid(NOBODY).gid(NOBODY));
        let as_root = run(&mut Command::new(&plain_path));
        let mixed = run(&mut Command::new(&setuid_path));
        source.unwatch_comm(&plain).unwrap();
        source.unwatch_comm(&setuid).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();

        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| {
            [as_nobody, as_root, mixed]
                .iter()
                .all(|pid| exited(events, *pid))
        });
        let owner_of = |pid: u32| {
            events.iter().find_map(|event| match event {
                Event::Task(TaskEvent::Named { tgid, owner, .. }) if *tgid == pid => Some(*owner),
                _ => None,
            })
        };
        assert_eq!(owner_of(as_nobody), Some(Some(Owner::Uid(NOBODY))));
        assert_eq!(owner_of(as_root), Some(Some(Owner::Uid(0))));
        assert_eq!(owner_of(mixed), Some(Some(Owner::Mixed)));
    }

    /// `lab/stacks/NAME` built with frame pointers into a scratch file.
    fn deep(name: &str) -> std::path::PathBuf {
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/../lab/stacks/");
        // One private directory (mkdtemp) per test process, shared by the
        // builds (and Go's cache); kept, as the programs run from it.
        static DIR: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
        let dir = DIR.get_or_init(|| crate::files::test_dir("tracer-ebpf-deep-").keep());
        let exe = dir.join(name.replace('.', "-"));
        let mut cmd = if name.ends_with(".go") {
            let mut cmd = Command::new("go");
            cmd.arg("build")
                .env("GOCACHE", dir.join("gocache"))
                .env("GOPATH", dir.join("gopath"));
            cmd
        } else {
            let mut cmd = Command::new("gcc");
            cmd.args(["-O2", "-fno-omit-frame-pointer"]);
            cmd
        };
        let status = cmd
            .arg("-o")
            .arg(&exe)
            .arg(format!("{src}{name}"))
            .status()
            .unwrap();
        assert!(status.success(), "cannot build {name}");
        exe
    }

    /// #17: the stack of a process that is gone before a single record is
    /// read (nothing stops it in eBPF mode) is still named: C through the
    /// kernel's build ids, Go (no GNU build id, fixed addresses) through
    /// the file it exec'd. A hot loop's stack is sent once.
    #[test]
    fn stacks_of_a_process_gone_before_they_are_read_are_named() {
        let filter = SyscallFilter::parse(&["trace=getppid"]).unwrap();
        for (name, expected) in [
            ("deep.c", ["stack_inner", "stack_middle", "stack_outer"]),
            (
                "deep.go",
                ["main.stackMiddle", "main.stackOuter", "main.main"],
            ),
        ] {
            let exe = deep(name);
            let mut source =
                EbpfSource::load(1 << 20, 0, false, &filter).expect("the programs load");
            source.stacks(&filter).unwrap();
            let script = format!("read line; exec {}", exe.display());
            let mut child = Command::new("sh")
                .args(["-c", &script])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            let pid = child.id();
            source.trace(pid, false).unwrap();
            child.stdin.take().unwrap().write_all(b"go\n").unwrap();
            child.wait().unwrap();
            assert!(!Path::new(&format!("/proc/{pid}")).exists());
            let mut events = Vec::new();
            drain_until(&mut source, &mut events, |events| exited(events, pid));
            // The shell calls getppid too: the program's is the last.
            let mut stack = events
                .iter()
                .rev()
                .find_map(|event| match event {
                    Event::Syscall(ev) if ev.tgid == pid => ev.stack.clone(),
                    _ => None,
                })
                .expect("a stack");
            crate::stacks::symbolize::Symbolizer::default().symbolize(&mut stack);
            let names = stack.names();
            assert!(names.windows(3).any(|w| w == expected), "{name}: {names:?}");
            assert_eq!(source.lost_stacks(), 0);
            std::fs::remove_file(&exe).unwrap();
        }
    }

    /// The verifier's budget per program, in instructions processed (the
    /// kernel's limit is 1,000,000). Far below the limit, so that a new
    /// compiler or kernel that makes the verifier walk more cannot stop
    /// tracer from loading unnoticed; at the last measurement the largest
    /// program took under a tenth of it.
    const VERIFIER_BUDGET: u32 = 200_000;

    /// #13, #17: every program tracer loads verifies in bounded work. The
    /// `-k` code in `sys_enter` (two 64-frame loops) once made the verifier
    /// walk the rest of the program once per depth (707,774 instructions);
    /// `sys_exit`, with the exit-time captures inlined, took 650,367. Both
    /// now keep their capture work in subprograms and callbacks the
    /// verifier checks once.
    ///
    /// The capture size is a read-only global the verifier sees (with 0
    /// it drops the data path), so each size verifies differently: `-s 0`,
    /// a small one, the default and the most there is are all loaded.
    #[test]
    fn every_program_verifies_within_its_budget() {
        for capture_bytes in [0, 64, 512, capture::MAX_DATA] {
            let source = EbpfSource::load(1 << 16, capture_bytes, true, &SyscallFilter::all())
                .expect("the programs load");
            let mut report = Vec::new();
            for &name in names::RECORDER_PROGRAMS {
                let info = source.ebpf.program(name).unwrap().info().unwrap();
                let verified = info
                    .verified_instruction_count()
                    .expect("the kernel reports the verifier's work");
                report.push((name, verified));
            }
            eprintln!("-s {capture_bytes}: verified {report:?}");
            for (name, verified) in report {
                assert!(
                    verified < VERIFIER_BUDGET,
                    "{name} took {verified} instructions to verify with -s {capture_bytes} \
                     (budget {VERIFIER_BUDGET})"
                );
            }
        }
    }

    /// The same stack, again and again, crosses the ring once; every
    /// syscall record still carries it.
    #[test]
    fn a_recurring_stack_is_sent_once() {
        let filter = SyscallFilter::parse(&["trace=getppid"]).unwrap();
        let mut source = EbpfSource::load(1 << 20, 0, false, &filter).expect("the programs load");
        source.stacks(&filter).unwrap();
        let tmp = crate::files::test_dir("tracer-ebpf-loop-");
        let dir = tmp.path().to_path_buf();
        let exe = dir.join("loop");
        let mut gcc = Command::new("gcc")
            .args(["-O0", "-fno-omit-frame-pointer", "-x", "c", "-", "-o"])
            .arg(&exe)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        gcc.stdin
            .take()
            .unwrap()
            .write_all(
                b"#include <unistd.h>\nint main(void) { char c; read(0, &c, 1);\n\
                  for (int i = 0; i < 500; i++) getppid(); return 0; }\n",
            )
            .unwrap();
        assert!(gcc.wait().unwrap().success());
        let mut child = Command::new(&exe).stdin(Stdio::piped()).spawn().unwrap();
        let pid = child.id();
        source.trace(pid, false).unwrap();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        child.wait().unwrap();
        let mut stack_records = 0;
        let mut events = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !exited(&events, pid) {
            assert!(Instant::now() < deadline, "timed out");
            let mut all = Vec::new();
            // The raw records, to count the stacks among them.
            while let Some(item) = source.events.next() {
                all.push(item.to_vec());
            }
            for item in &all {
                if u16::from_ne_bytes([item[0], item[1]]) == tracer_common::kind::STACK {
                    stack_records += 1;
                }
                if let Some(event) = source.decoder.record(item) {
                    events.push(event);
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::fs::remove_dir_all(&dir).unwrap();
        let calls = events
            .iter()
            .filter(|e| matches!(e, Event::Syscall(ev) if ev.tgid == pid && ev.stack.is_some()))
            .count();
        assert_eq!(calls, 500);
        assert_eq!(stack_records, 1, "stack records for 500 calls");
    }

    /// A child that opens and statfs's a path whose bytes are in a page of
    /// a file mapping it never touched (the file's path, at offset 0):
    /// `sys_enter` cannot fault such a page in, the kernel has by exit.
    /// Two mappings, so that the first call's fault-around does not map
    /// the second's page.
    const UNTOUCHED_PATH_PROGRAM: &str = "import ctypes, os, sys\n\
        libc = ctypes.CDLL(None)\n\
        libc.mmap.restype = ctypes.c_void_p\n\
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]\n\
        fd = os.open(sys.argv[1], os.O_RDONLY)\n\
        buf = ctypes.create_string_buffer(256)\n\
        sys.stdin.readline()\n\
        first = libc.mmap(None, 4096, 1, 2, fd, 0)\n\
        second = libc.mmap(None, 4096, 1, 2, fd, 0)\n\
        assert libc.syscall(257, -100, ctypes.c_void_p(first), 0) >= 0\n\
        assert libc.syscall(137, ctypes.c_void_p(second), buf) == 0\n";

    /// #16: a path `sys_enter` could not read (its page not yet faulted
    /// in) is read again at `sys_exit` and joined to its call.
    #[test]
    fn paths_in_pages_not_yet_faulted_in_are_read_at_exit() {
        let mut source =
            EbpfSource::load(1 << 20, 0, false, &SyscallFilter::all()).expect("the programs load");
        let tmp = crate::files::test_dir("tracer-ebpf-reread-");
        let file = tmp.path().join("reread");
        let path = file.to_str().unwrap().as_bytes().to_vec();
        let mut contents = path.clone();
        contents.resize(4096, 0);
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
            .and_then(|mut f| f.write_all(&contents))
            .unwrap();
        let mut child = Command::new("/usr/bin/python3")
            .args(["-S", "-c", UNTOUCHED_PATH_PROGRAM])
            .arg(&file)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        source.trace(pid, false).unwrap();
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let status = child.wait().unwrap();
        std::fs::remove_file(&file).unwrap();
        assert!(status.success());
        let mut events = Vec::new();
        drain_until(&mut source, &mut events, |events| exited(events, pid));
        let path_of = |name: &str, arg: usize| {
            let nr = syscalls::by_name(name);
            events.iter().rev().find_map(|event| match event {
                Event::Syscall(ev) if ev.tgid == pid && Some(ev.nr) == nr => Some(
                    ev.strings
                        .as_ref()
                        .and_then(|strings| strings[arg].as_ref())
                        .map(|s| s.bytes.clone()),
                ),
                _ => None,
            })
        };
        assert_eq!(path_of("openat", 1), Some(Some(path.clone())));
        assert_eq!(path_of("statfs", 0), Some(Some(path)));
    }
}
