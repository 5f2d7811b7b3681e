//! The ptrace source: the same events as eBPF, for kernels or sandboxes
//! without it, and as the comparison point for observer cost.
//!
//! Every ptrace request must come from the thread that attached, so one
//! dedicated thread seizes the targets and runs the `waitpid` loop; events
//! reach the pipeline through a channel, in batches. The main thread asks
//! it to stop by setting a flag and interrupting its `waitpid` with a
//! signal; the thread then interrupts and detaches every tracee, passing on
//! any signal that was about to be delivered, so they all go on running.
//!
//! Tracees are seized (`PTRACE_SEIZE`) without `PTRACE_O_EXITKILL`: if the
//! tracer dies, even by SIGKILL, the kernel detaches them and they resume.

mod memory;
pub mod seccomp;
pub(crate) mod tracee;

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc,
    },
    thread::{self, JoinHandle},
    time::Duration,
};

use nix::{
    sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction},
    unistd::Pid,
};
use thiserror::Error;

use crate::{event::Event, exit::Ended};

#[derive(Debug, Error)]
pub enum PtraceError {
    #[error("cannot attach to process {pid}: {errno}{hint}")]
    Attach {
        pid: i32,
        errno: nix::errno::Errno,
        /// Why, as far as tracer can tell: ` (already traced by PID 1234
        /// (strace))`.
        hint: String,
    },
    #[error("the ptrace thread is gone")]
    ThreadGone,
    #[error("cannot start the ptrace thread: {0}")]
    Spawn(std::io::Error),
}

/// The signal that interrupts the ptrace thread's `waitpid` on stop.
const WAKE: Signal = Signal::SIGURG;

enum Request {
    /// Seize every thread of process `tgid`; `launched` when it is our
    /// gated child (one thread, not yet exec'd).
    Trace {
        tgid: u32,
        launched: bool,
        reply: mpsc::Sender<Result<Vec<u32>, PtraceError>>,
    },
    /// Take the user stack (`-k`) at the entry of the syscalls `filter`
    /// selects.
    Stacks(crate::syscalls::filter::SyscallFilter),
    /// All targets are attached: start the wait loop.
    Run,
}

/// Shared between the ptrace thread and the source handle.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Exit statuses of processes that were our own children.
    statuses: Mutex<HashMap<i32, Ended>>,
    /// What watching cost the tracees: the time they spent stopped in the
    /// tracer, from each stop to its resumption, summed over threads.
    stopped_ns: AtomicU64,
    /// Set by the thread when every tracee is gone or detached.
    finished: AtomicBool,
    /// The thread holds events it has not sent (its batch is sent when
    /// full; a target that makes a syscall a second would otherwise wait
    /// minutes for its lines).
    pending: AtomicBool,
}

pub struct PtraceSource {
    requests: mpsc::Sender<Request>,
    events: mpsc::Receiver<Vec<Event>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    running: bool,
}

impl PtraceSource {
    /// Starts the ptrace thread; up to `capture_bytes` of each data buffer
    /// are read from the tracees, and the structures behind pointers
    /// (`crate::syscalls::structs`) when `structs` (some sink shows them).
    pub fn new(capture_bytes: u32, structs: bool) -> Result<Self, PtraceError> {
        install_wake_handler();
        let (requests, request_rx) = mpsc::channel();
        let (event_tx, events) = mpsc::channel();
        let shared = Arc::new(Shared::default());
        let thread_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("ptrace".into())
            .spawn(move || {
                tracee::run(
                    request_rx,
                    event_tx,
                    thread_shared,
                    capture_bytes as usize,
                    structs,
                )
            })
            .map_err(PtraceError::Spawn)?;
        Ok(Self {
            requests,
            events,
            shared,
            thread: Some(thread),
            running: false,
        })
    }

    /// Seizes every thread of `tgid` and returns their tids.
    pub fn trace(&mut self, tgid: u32, launched: bool) -> Result<Vec<u32>, PtraceError> {
        let (reply, answer) = mpsc::channel();
        self.requests
            .send(Request::Trace {
                tgid,
                launched,
                reply,
            })
            .map_err(|_| PtraceError::ThreadGone)?;
        answer.recv().map_err(|_| PtraceError::ThreadGone)?
    }

    /// Takes the user stack at the entry of every syscall `filter` selects
    /// (`-k`); call before [`PtraceSource::start`].
    pub fn stacks(&mut self, filter: crate::syscalls::filter::SyscallFilter) {
        let _ = self.requests.send(Request::Stacks(filter));
    }

    /// Starts the wait loop once every target is attached.
    pub fn start(&mut self) {
        if !self.running {
            self.running = true;
            let _ = self.requests.send(Request::Run);
        }
    }

    pub fn drain(&mut self, mut sink: impl FnMut(Event)) -> usize {
        let mut n = 0;
        while let Ok(batch) = self.events.try_recv() {
            n += batch.len();
            batch.into_iter().for_each(&mut sink);
        }
        n
    }

    /// Waits up to `timeout` for events; used instead of a sleep so ptrace
    /// events are handed on as soon as they come. When none came and the
    /// thread holds some back, it is woken to send them: a quiet target's
    /// lines are at most two waits late. A target that fills a batch
    /// within a wait needs no signal; a slower one gets at most one per
    /// wait (123 for a ptrace `dd bs=1` of 40k syscalls).
    pub fn wait(&self, timeout: Duration) -> Option<Vec<Event>> {
        let batch = self.events.recv_timeout(timeout).ok();
        if batch.is_none() && self.shared.pending.load(Ordering::Acquire) {
            self.wake();
        }
        batch
    }

    /// Interrupts the thread's `waitpid` (`EINTR`): it then sends what it
    /// holds and looks at the stop flag.
    fn wake(&self) {
        use std::os::unix::thread::JoinHandleExt;
        if let Some(thread) = &self.thread
            && !thread.is_finished()
        {
            // SAFETY: the thread is alive (not finished, and joined only
            // in `detach`, which takes it), so its pthread_t is valid; the
            // handler does nothing.
            unsafe { libc::pthread_kill(thread.as_pthread_t(), WAKE as i32) };
        }
    }

    /// Exit status of `pid`, one of our own children, once it is reaped.
    pub fn status(&self, pid: Pid) -> Option<Ended> {
        self.shared
            .statuses
            .lock()
            .ok()
            .and_then(|s| s.get(&pid.as_raw()).copied())
    }

    /// True when every tracee has exited or been detached.
    pub fn finished(&self) -> bool {
        self.shared.finished.load(Ordering::Acquire)
    }

    /// Time the tracees have spent stopped in the tracer so far.
    pub fn stopped_ns(&self) -> u64 {
        self.shared.stopped_ns.load(Ordering::Relaxed)
    }

    /// Detaches every tracee (they keep running) and joins the thread.
    pub fn detach(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.start();
        // The thread may be about to block in waitpid when the flag is
        // set: keep waking it until it has finished.
        while self.thread.as_ref().is_some_and(|t| !t.is_finished()) {
            self.wake();
            thread::sleep(Duration::from_millis(5));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for PtraceSource {
    fn drop(&mut self) {
        self.detach();
    }
}

/// A handler that does nothing, installed without `SA_RESTART` so that the
/// signal makes the ptrace thread's `waitpid` return `EINTR`.
fn install_wake_handler() {
    extern "C" fn wake(_: libc::c_int) {}
    let action = SigAction::new(SigHandler::Handler(wake), SaFlags::empty(), SigSet::empty());
    // SAFETY: the handler is async-signal-safe (it does nothing).
    let _ = unsafe { sigaction(WAKE, &action) };
}
