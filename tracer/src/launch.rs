//! Starting the traced command so that nothing it does goes unrecorded, and
//! so that it starts as it would without tracer.
//!
//! **A small launcher.** `record` forks a launcher first thing, while
//! tracer is still small and has one thread: before the eBPF ring (64 MiB
//! by default) is mapped, before the programs, maps and threads exist. A
//! command forked from the grown tracer inherits all of that, and its
//! `execve` pays for tearing it down (3-4 ms instead of ~0.5 ms). When the
//! source is ready, tracer asks the launcher over a pipe; the launcher
//! forks the command with `CLONE_PARENT`, so the command is tracer's child
//! (tracer reaps it and gets its exact status, ptrace mode seizes it as
//! before), tells tracer its pid and exits.
//!
//! **A gate.** The command is held at a gate (a blocking pipe read) before
//! `execve`. Tracer registers its pid with the source (eBPF filter map, or
//! `PTRACE_SEIZE`) and only then opens the gate, so the very first syscall
//! of the new program, `execve` itself, is recorded.
//!
//! **What it inherits.** Before the gate the command puts back the signal
//! dispositions, the signal mask and the closed standard fds tracer was
//! started with ([`inherited`]): std's runtime ignores SIGPIPE and fills
//! closed fds with /dev/null, and tracer installs its own handlers, none of
//! which the command should see. Its process group, session, environment,
//! rlimits, umask and cwd are tracer's, as they would be the shell's job's.
//!
//! Exec failures travel back over a close-on-exec pipe, as `std::process`
//! does it, so "command not found" is an error of the tracer, not a
//! mysterious exit status 127.

pub mod inherited;

use std::{
    ffi::{CString, OsString},
    os::{
        fd::{AsRawFd, OwnedFd},
        unix::ffi::OsStrExt,
    },
    path::PathBuf,
};

use nix::{
    errno::Errno,
    fcntl::OFlag,
    sys::{
        signal::{Signal, kill},
        wait::waitpid,
    },
    unistd::{ForkResult, Pid, fork, pipe2},
};
use thiserror::Error;

use inherited::Inherited;

#[derive(Debug, Error)]
pub enum LaunchError {
    #[error("no command given")]
    Empty,
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{program}: argument contains a NUL byte")]
    Nul { program: String },
    #[error("cannot run {program}: {errno}")]
    Exec { program: String, errno: Errno },
    #[error("cannot start {program}: {errno}")]
    Fork { program: String, errno: Errno },
}

/// How the command prepares itself between the gate and `execve`.
#[derive(Clone, Copy, Default)]
pub struct Prepare {
    /// Install the delay filter given to [`Launcher::start`] and hand its
    /// listener to tracer (delay injection, `crate::inject`).
    pub delay: bool,
    /// Stop with SIGSTOP once released, so a ptrace tracer that seized it
    /// can start syscall tracing right before `execve` (as strace's child
    /// does after `PTRACE_TRACEME`).
    pub stop_before_exec: bool,
    /// Install the seccomp filter given to [`Launcher::start`] before that
    /// stop, so that only the selected syscalls stop the tracee.
    pub seccomp: bool,
}

impl Prepare {
    fn to_byte(self) -> u8 {
        1 | (self.stop_before_exec as u8) << 1 | (self.seccomp as u8) << 2 | (self.delay as u8) << 3
    }

    fn from_byte(byte: u8) -> Self {
        Self {
            stop_before_exec: byte & 2 != 0,
            seccomp: byte & 4 != 0,
            delay: byte & 8 != 0,
        }
    }
}

/// Everything the command needs to `execve`, built before any fork so the
/// forked processes only read memory.
struct Command {
    path: CString,
    /// Keeps the strings `argv` points into alive.
    _args: Vec<CString>,
    argv: Vec<*const libc::c_char>,
    seccomp: Option<Vec<libc::sock_filter>>,
    /// The delay filter and the socket its listener goes back over.
    delay: Option<std::sync::Arc<crate::inject::notify::ChildEnd>>,
    inherited: Inherited,
}

/// The launcher process, waiting for the request to fork the command.
/// Dropped unused, it sees its request pipe close and exits.
pub struct Launcher {
    pid: Pid,
    program: String,
    request: OwnedFd,
    reply: OwnedFd,
    gate: OwnedFd,
    report: OwnedFd,
}

/// Resolves `program` like `execvp` would, so that a missing command is
/// reported before anything is forked.
pub fn resolve(program: &OsString) -> Result<PathBuf, LaunchError> {
    let display = program.to_string_lossy().into_owned();
    if program.as_bytes().contains(&b'/') {
        let path = PathBuf::from(program);
        return if path.exists() {
            Ok(path)
        } else {
            Err(LaunchError::NotFound(display))
        };
    }
    which::which(program).map_err(|_| LaunchError::NotFound(display))
}

impl Launcher {
    /// Forks the launcher for `argv`. Call it while tracer is small and has
    /// a single thread. `seccomp` is the filter a ptrace source may ask the
    /// command to install; `delay` the delay-injection filter (its socket
    /// must exist before this fork, so that the command inherits it).
    pub fn start(
        argv: &[OsString],
        seccomp: Option<Vec<libc::sock_filter>>,
        delay: Option<std::sync::Arc<crate::inject::notify::ChildEnd>>,
    ) -> Result<Self, LaunchError> {
        let first = argv.first().ok_or(LaunchError::Empty)?;
        let program = first.to_string_lossy().into_owned();
        let path = resolve(first)?;
        let nul = || LaunchError::Nul {
            program: program.clone(),
        };
        let args = argv
            .iter()
            .map(|a| CString::new(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| nul())?;
        let mut pointers: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        pointers.push(std::ptr::null());
        let command = Command {
            path: CString::new(path.as_os_str().as_bytes()).map_err(|_| nul())?,
            _args: args,
            argv: pointers,
            seccomp,
            delay,
            inherited: Inherited::at_startup(),
        };

        let fork_err = |errno| LaunchError::Fork {
            program: program.clone(),
            errno,
        };
        let (request_r, request_w) = pipe2(OFlag::O_CLOEXEC).map_err(fork_err)?;
        let (reply_r, reply_w) = pipe2(OFlag::O_CLOEXEC).map_err(fork_err)?;
        let (gate_r, gate_w) = pipe2(OFlag::O_CLOEXEC).map_err(fork_err)?;
        let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC).map_err(fork_err)?;

        // SAFETY: the launcher and the command only make raw syscalls and
        // async-signal-safe libc calls on memory prepared before the fork,
        // and end in execve or _exit.
        match unsafe { fork() }.map_err(fork_err)? {
            ForkResult::Child => {
                drop((request_w, reply_r, gate_w, report_r));
                launcher(&command, &request_r, &reply_w, &gate_r, &report_w)
            }
            ForkResult::Parent { child } => Ok(Self {
                pid: child,
                program,
                request: request_w,
                reply: reply_r,
                gate: gate_w,
                report: report_r,
            }),
        }
    }

    /// Has the launcher fork the command, held at its gate, and reaps the
    /// launcher.
    pub fn spawn(self, prepare: Prepare) -> Result<Gated, LaunchError> {
        let Launcher {
            pid: launcher,
            program,
            request,
            reply,
            gate,
            report,
        } = self;
        let fork_err = |errno| LaunchError::Fork {
            program: program.clone(),
            errno,
        };
        let written = nix::unistd::write(&request, &[prepare.to_byte()]);
        drop(request);
        let mut buf = [0u8; 4];
        let n = read_full(&reply, &mut buf);
        let _ = waitpid(launcher, None);
        written.map_err(fork_err)?;
        let answer = i32::from_ne_bytes(buf);
        if n != buf.len() {
            return Err(fork_err(Errno::ECHILD));
        }
        if answer <= 0 {
            return Err(fork_err(Errno::from_raw(-answer)));
        }
        Ok(Gated {
            pid: Pid::from_raw(answer),
            program,
            gate,
            report,
        })
    }
}

/// The launcher's life: wait for the request, fork the command as a
/// sibling (tracer's child), say its pid, exit. Never returns.
fn launcher(
    command: &Command,
    request: &OwnedFd,
    reply: &OwnedFd,
    gate: &OwnedFd,
    report: &OwnedFd,
) -> ! {
    // SAFETY (whole function): raw syscalls and async-signal-safe libc
    // calls on memory prepared before the fork; no allocation.
    unsafe {
        // The terminal's signals go to the whole group: the launcher must
        // outlive them (tracer decides what they mean).
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_SETMASK, &all, std::ptr::null_mut());

        let mut byte = 0u8;
        if raw_read(request.as_raw_fd(), &mut byte) != 1 {
            // tracer gave up before launching (an error, or it died).
            libc::_exit(0);
        }
        // CLONE_PARENT: the command's parent is tracer, not us.
        let pid = libc::syscall(
            libc::SYS_clone,
            libc::CLONE_PARENT | libc::SIGCHLD,
            0,
            0,
            0,
            0,
        );
        if pid == 0 {
            command_child(command, Prepare::from_byte(byte), gate, report);
        }
        let answer: i32 = if pid < 0 {
            -*libc::__errno_location()
        } else {
            pid as i32
        };
        let bytes = answer.to_ne_bytes();
        libc::write(reply.as_raw_fd(), bytes.as_ptr().cast(), bytes.len());
        libc::_exit(0)
    }
}

/// The command's side, from its birth to `execve`. Never returns.
///
/// It was made by a raw `clone`, so glibc's idea of its thread (cached tid)
/// is stale: only plain syscall wrappers are used (`kill(getpid())`, not
/// `raise`).
fn command_child(command: &Command, prepare: Prepare, gate: &OwnedFd, report: &OwnedFd) -> ! {
    // SAFETY (whole function): async-signal-safe calls on memory prepared
    // before the fork; ends in execve or _exit.
    unsafe {
        // Dispositions and mask as tracer was started with, before the
        // gate: a Ctrl-C from here on does to the command what it would
        // do untraced.
        command.inherited.restore_signals();
        let mut byte = 0u8;
        if raw_read(gate.as_raw_fd(), &mut byte) != 1 {
            // tracer gave up (or died) before opening the gate: never run
            // the command untraced.
            libc::_exit(127);
        }
        if prepare.seccomp
            && let Some(prog) = &command.seccomp
        {
            // On failure the tracer sees no seccomp in /proc and traces
            // every syscall instead: slower, never wrong.
            let _ = crate::ptrace::seccomp::install(prog);
        }
        if prepare.delay
            && let Some(delay) = &command.delay
            && let Err(errno) = delay.install()
        {
            // Never run the command without the delays it was asked for.
            let errno = errno.to_ne_bytes();
            libc::write(report.as_raw_fd(), errno.as_ptr().cast(), errno.len());
            libc::_exit(127)
        }
        if prepare.stop_before_exec {
            libc::kill(libc::getpid(), libc::SIGSTOP);
        }
        command.inherited.restore_fds();
        libc::execv(command.path.as_ptr(), command.argv.as_ptr());
        let errno = (*libc::__errno_location()).to_ne_bytes();
        libc::write(report.as_raw_fd(), errno.as_ptr().cast(), errno.len());
        libc::_exit(127)
    }
}

/// read(2) of one byte, retried on EINTR; async-signal-safe.
fn raw_read(fd: i32, byte: &mut u8) -> isize {
    loop {
        // SAFETY: read(2) into a valid one-byte buffer.
        let n = unsafe { libc::read(fd, (byte as *mut u8).cast(), 1) };
        // SAFETY: reading errno of this thread.
        if n >= 0 || unsafe { *libc::__errno_location() } != libc::EINTR {
            return n;
        }
    }
}

/// The command, forked and waiting at the gate, not yet running.
pub struct Gated {
    pid: Pid,
    program: String,
    gate: OwnedFd,
    report: OwnedFd,
}

impl Gated {
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Opens the gate and waits for the outcome of `execve`. On success the
    /// command is running; on failure it has been reaped.
    pub fn release(self) -> Result<Pid, LaunchError> {
        self.release_with(|| ()).map(|(pid, ())| pid)
    }

    /// [`Gated::release`], running `opened` between opening the gate and
    /// waiting for `execve`: what must be ready before the command runs
    /// (the delay supervisor: `execve` itself may be a delayed syscall).
    pub fn release_with<T>(self, opened: impl FnOnce() -> T) -> Result<(Pid, T), LaunchError> {
        let Gated {
            pid,
            program,
            gate,
            report,
        } = self;
        // Only the byte opens the gate (EOF makes the child give up); a write
        // error (child already dead) surfaces below as a missing report.
        let _ = nix::unistd::write(&gate, &[1]);
        drop(gate);
        let ready = opened();
        let mut buf = [0u8; 4];
        let n = read_full(&report, &mut buf);
        if n == buf.len() {
            let errno = Errno::from_raw(i32::from_ne_bytes(buf));
            let _ = waitpid(pid, None);
            return Err(LaunchError::Exec { program, errno });
        }
        Ok((pid, ready))
    }

    /// Gives up: the command never runs. Closing the gate makes it exit;
    /// the caller reaps it (a ptrace source may hold it stopped, hence the
    /// kill).
    pub fn abort(self) -> Pid {
        let _ = kill(self.pid, Signal::SIGKILL);
        self.pid
    }
}

fn read_full(fd: &OwnedFd, buf: &mut [u8]) -> usize {
    let mut done = 0;
    while done < buf.len() {
        match nix::unistd::read(fd, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(Errno::EINTR) => continue,
            Err(_) => break,
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::WaitStatus;

    fn launch(argv: &[&str]) -> Result<Gated, LaunchError> {
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        Launcher::start(&argv, None, None)?.spawn(Prepare::default())
    }

    #[test]
    fn runs_the_command_after_release_as_our_child() {
        let gated = launch(&["true"]).unwrap();
        let pid = gated.release().unwrap();
        // Our child, not the launcher's: we reap it.
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0));
    }

    #[test]
    fn missing_command_is_an_error() {
        let err = launch(&["no-such-command-xyz"]).err().unwrap();
        assert!(matches!(err, LaunchError::NotFound(_)), "{err}");
        assert!(matches!(launch(&[]), Err(LaunchError::Empty)));
    }

    #[test]
    fn exec_failure_is_reported() {
        // A file that exists but cannot be executed (no x bit: even root
        // gets EACCES).
        let tmp = crate::files::test_dir("tracer-noexec-");
        let path = tmp.path().join("noexec");
        std::fs::write(&path, "not a program").unwrap();
        let err = launch(&[path.to_str().unwrap()])
            .unwrap()
            .release()
            .err()
            .unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(
            matches!(
                err,
                LaunchError::Exec {
                    errno: Errno::EACCES,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn aborted_command_never_runs() {
        let tmp = crate::files::test_dir("tracer-abort-");
        let marker = tmp.path().join("ran");
        let script = format!("touch {}", marker.display());
        let pid = launch(&["sh", "-c", &script]).unwrap().abort();
        assert!(matches!(
            waitpid(pid, None).unwrap(),
            WaitStatus::Signaled(_, Signal::SIGKILL, _)
        ));
        assert!(!marker.exists());
    }
}
