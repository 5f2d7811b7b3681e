//! Starting the traced command so that nothing it does goes unrecorded.
//!
//! The child is forked and then held at a gate (a blocking pipe read) before
//! `execve`. The tracer registers the child's pid with its source (eBPF
//! filter map, or `PTRACE_SEIZE`) and only then opens the gate, so the very
//! first syscall of the new program, `execve` itself, is recorded.
//!
//! Exec failures travel back over a close-on-exec pipe, as `std::process`
//! does it, so "command not found" is an error of the tracer, not a
//! mysterious exit status 127.

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
    sys::wait::waitpid,
    unistd::{ForkResult, Pid, fork, pipe2},
};
use thiserror::Error;

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

/// A forked child waiting at the gate, not yet running the command.
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
    /// command is running; on failure the child has been reaped.
    pub fn release(self) -> Result<Pid, LaunchError> {
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
        let mut buf = [0u8; 4];
        let n = read_full(&report, &mut buf);
        if n == buf.len() {
            let errno = Errno::from_raw(i32::from_ne_bytes(buf));
            let _ = waitpid(pid, None);
            return Err(LaunchError::Exec { program, errno });
        }
        Ok(pid)
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

/// How the child prepares itself between the gate and `execve`.
#[derive(Clone, Default)]
pub struct Prepare {
    /// Stop with SIGSTOP once released, so a ptrace tracer that seized it
    /// can start syscall tracing right before `execve` (as strace's child
    /// does after `PTRACE_TRACEME`).
    pub stop_before_exec: bool,
    /// A seccomp filter to install before that stop, so that only the
    /// selected syscalls stop the tracee (built before the fork).
    pub seccomp: Option<Vec<libc::sock_filter>>,
}

/// Forks a child that will run `argv` once released.
pub fn spawn_gated(argv: &[OsString], prepare: Prepare) -> Result<Gated, LaunchError> {
    let first = argv.first().ok_or(LaunchError::Empty)?;
    let program = first.to_string_lossy().into_owned();
    let path = resolve(first)?;
    let nul = || LaunchError::Nul {
        program: program.clone(),
    };
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| nul())?;
    let c_argv = argv
        .iter()
        .map(|a| CString::new(a.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| nul())?;

    let fork_err = |errno| LaunchError::Fork {
        program: program.clone(),
        errno,
    };
    let (gate_r, gate_w) = pipe2(OFlag::O_CLOEXEC).map_err(fork_err)?;
    let (report_r, report_w) = pipe2(OFlag::O_CLOEXEC).map_err(fork_err)?;

    // SAFETY: between fork and exec the child only calls async-signal-safe
    // functions (read, execv, write, _exit) on memory prepared before the
    // fork.
    match unsafe { fork() }.map_err(fork_err)? {
        ForkResult::Child => {
            drop(gate_w);
            drop(report_r);
            let mut byte = [0u8; 1];
            let opened = loop {
                // SAFETY: plain read(2) into a stack buffer.
                let n = unsafe { libc::read(gate_r.as_raw_fd(), byte.as_mut_ptr().cast(), 1) };
                if n >= 0 || Errno::last() != Errno::EINTR {
                    break n == 1;
                }
            };
            if !opened {
                // The tracer gave up (or died) before opening the gate: never
                // run the command untraced.
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(127) }
            }
            if let Some(prog) = &prepare.seccomp {
                // On failure the tracer sees no seccomp in /proc and traces
                // every syscall instead: slower, never wrong.
                // SAFETY: prctl/seccomp on memory prepared before the fork.
                let _ = unsafe { crate::ptrace::seccomp::install(prog) };
            }
            if prepare.stop_before_exec {
                // SAFETY: raise is async-signal-safe.
                unsafe { libc::raise(libc::SIGSTOP) };
            }
            let _ = nix::unistd::execv(&c_path, &c_argv);
            let errno = Errno::last_raw().to_ne_bytes();
            // SAFETY: write(2) of a stack buffer, then _exit: no unwinding,
            // no atexit handlers of the tracer run in the child.
            unsafe {
                libc::write(report_w.as_raw_fd(), errno.as_ptr().cast(), errno.len());
                libc::_exit(127)
            }
        }
        ForkResult::Parent { child } => Ok(Gated {
            pid: child,
            program,
            gate: gate_w,
            report: report_r,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::wait::WaitStatus;

    #[test]
    fn runs_the_command_after_release() {
        let gated = spawn_gated(&["true".into()], Prepare::default()).unwrap();
        let pid = gated.release().unwrap();
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0));
    }

    #[test]
    fn missing_command_is_an_error() {
        let err = spawn_gated(&["no-such-command-xyz".into()], Prepare::default())
            .err()
            .unwrap();
        assert!(matches!(err, LaunchError::NotFound(_)), "{err}");
        assert!(matches!(
            spawn_gated(&[], Prepare::default()),
            Err(LaunchError::Empty)
        ));
    }

    #[test]
    fn exec_failure_is_reported() {
        // A file that exists but cannot be executed (no x bit: even root
        // gets EACCES).
        let path = std::env::temp_dir().join(format!("tracer-noexec-{}", std::process::id()));
        std::fs::write(&path, "not a program").unwrap();
        let err = spawn_gated(&[path.clone().into()], Prepare::default())
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
}
