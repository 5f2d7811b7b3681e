//! Delays by seccomp user notification.
//!
//! Three pieces:
//! - [`channel`], before the fork: the filter program and a socketpair. The
//!   child's end is close-on-exec, and the filter lets the one `sendmsg` on
//!   it (that fd, flags no program uses) through even when `sendmsg` is
//!   delayed, so handing the listener over can never wait for a supervisor
//!   that does not have it yet.
//! - [`ChildEnd::install`], in the forked child before `execve`: installs
//!   the filter with `SECCOMP_FILTER_FLAG_NEW_LISTENER` and sends the
//!   listener over the socket (`SCM_RIGHTS`). The listener is close-on-exec
//!   (the kernel makes it so), so the command starts with exactly the fds
//!   it would have had untraced.
//! - [`Supervisor`], in tracer: a receiver thread takes notifications as
//!   they come and a timer thread answers each at its own deadline, so
//!   threads delayed at once are held concurrently, not one after another.
//!   A delay of 0 is answered at once (the cost of interception alone).

use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    io,
    os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd},
    sync::{Arc, Condvar, Mutex},
    thread::{self, JoinHandle},
    time::{Duration, Instant},
};

use anyhow::{Context as _, Result, bail};

use super::Delay;
use crate::ptrace::seccomp::{self, Actions};

/// Whether the kernel has seccomp user notification (5.5+ for CONTINUE).
pub fn supported() -> bool {
    let mut sizes = libc::seccomp_notif_sizes {
        seccomp_notif: 0,
        seccomp_notif_resp: 0,
        seccomp_data: 0,
    };
    // SAFETY: SECCOMP_GET_NOTIF_SIZES writes into `sizes` only.
    let ok = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_GET_NOTIF_SIZES,
            0,
            &mut sizes as *mut libc::seccomp_notif_sizes,
        )
    } == 0;
    ok && sizes.seccomp_notif as usize >= size_of::<libc::seccomp_notif>()
}

/// What the forked child needs: the filter and its end of the socket.
pub struct ChildEnd {
    prog: Vec<libc::sock_filter>,
    sock: OwnedFd,
}

/// What tracer keeps: its end of the socket.
pub struct ParentEnd {
    sock: OwnedFd,
}

/// Builds the filter for `delay` and the socketpair the listener travels
/// over. Drop the [`ChildEnd`] in the parent once the child is forked.
pub fn channel(delay: &Delay) -> io::Result<(ChildEnd, ParentEnd)> {
    let mut fds = [0; 2];
    // SAFETY: socketpair writes two fds into `fds`.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both fds were just created and are owned by nobody else.
    let (parent, child) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let prog = seccomp::program_with(
        |nr| delay.set.matches(nr),
        Actions {
            selected: libc::SECCOMP_RET_USER_NOTIF,
            // Another architecture's numbers mean other syscalls: leave
            // them alone rather than delay the wrong ones.
            foreign: libc::SECCOMP_RET_ALLOW,
            exempt: Some((
                libc::SYS_sendmsg as u32,
                child.as_raw_fd() as u32,
                HANDOVER_FLAGS as u32,
            )),
        },
    );
    Ok((ChildEnd { prog, sock: child }, ParentEnd { sock: parent }))
}

impl ChildEnd {
    /// Installs the filter in the calling process and sends its listener to
    /// tracer. Returns the errno on failure.
    ///
    /// # Safety
    /// Async-signal-safe (libc calls on memory prepared before the fork):
    /// meant for the forked child between its gate and `execve`.
    pub unsafe fn install(&self) -> Result<(), i32> {
        let fprog = libc::sock_fprog {
            len: self.prog.len() as u16,
            filter: self.prog.as_ptr().cast_mut(),
        };
        let set_filter = || {
            // SAFETY: seccomp(2) reads only `fprog`, which outlives the call.
            unsafe {
                libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
                    &fprog as *const libc::sock_fprog,
                ) as RawFd
            }
        };
        // SAFETY: reading errno of this thread.
        let errno = || unsafe { *libc::__errno_location() };
        // Root (CAP_SYS_ADMIN) needs no `no_new_privs`, and setting it would
        // change the command (setuid programs would stop working): only
        // when the kernel insists.
        let mut listener = set_filter();
        if listener < 0 && errno() == libc::EACCES {
            // SAFETY: prctl on the calling process.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err(errno());
            }
            listener = set_filter();
        }
        if listener < 0 {
            return Err(errno());
        }
        // SAFETY: sendmsg of a stack buffer; the listener stays open until
        // execve closes it (close-on-exec).
        unsafe { send_fd(self.sock.as_raw_fd(), listener) }
    }
}

/// The flags of the hand-over `sendmsg`, which the filter lets through
/// undelayed. `MSG_CMSG_CLOEXEC` means nothing to `sendmsg` (AF_UNIX
/// ignores it) and no program passes it there: with the fd number it makes
/// a call the command cannot make by accident, so its own `sendmsg`s on a
/// reused fd number are still delayed.
const HANDOVER_FLAGS: libc::c_int = libc::MSG_NOSIGNAL | libc::MSG_CMSG_CLOEXEC;

/// Control-message buffer for one fd, aligned as `cmsghdr` requires.
#[repr(C, align(8))]
struct CmsgBuf([u8; 64]);

/// Sends `fd` over `sock` with `SCM_RIGHTS`.
///
/// # Safety
/// Async-signal-safe: stack memory and sendmsg(2) only.
unsafe fn send_fd(sock: RawFd, fd: RawFd) -> Result<(), i32> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut buf = CmsgBuf([0; 64]);
    // SAFETY: the CMSG_* helpers do pointer arithmetic inside `buf`, which
    // is large and aligned enough for one int-sized control message.
    unsafe {
        let space = libc::CMSG_SPACE(size_of::<RawFd>() as u32) as usize;
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = buf.0.as_mut_ptr().cast();
        msg.msg_controllen = space;
        let cmsg = libc::CMSG_FIRSTHDR(&msg);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(size_of::<RawFd>() as u32) as usize;
        std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), fd);
        if libc::sendmsg(sock, &msg, HANDOVER_FLAGS) == 1 {
            Ok(())
        } else {
            Err(*libc::__errno_location())
        }
    }
}

impl ParentEnd {
    /// Waits for the child's listener. Fails when the child could not
    /// install the filter (it exits instead of running the command).
    pub fn receive(self) -> Result<OwnedFd> {
        let mut byte = [0u8; 1];
        let mut iov = libc::iovec {
            iov_base: byte.as_mut_ptr().cast(),
            iov_len: 1,
        };
        let mut buf = CmsgBuf([0; 64]);
        // SAFETY: recvmsg into stack buffers; the fd read from the control
        // message is new and owned by nobody else.
        unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = &mut iov;
            msg.msg_iovlen = 1;
            msg.msg_control = buf.0.as_mut_ptr().cast();
            msg.msg_controllen = buf.0.len();
            let n = loop {
                let n = libc::recvmsg(self.sock.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC);
                if n >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break n;
                }
            };
            if n < 0 {
                return Err(io::Error::last_os_error())
                    .context("cannot receive the seccomp listener");
            }
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            if n == 0
                || cmsg.is_null()
                || (*cmsg).cmsg_level != libc::SOL_SOCKET
                || (*cmsg).cmsg_type != libc::SCM_RIGHTS
            {
                bail!("the command could not install the delay filter (seccomp)");
            }
            let fd = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>());
            Ok(OwnedFd::from_raw_fd(fd))
        }
    }
}

/// Notifications waiting for their deadline.
#[derive(Default)]
struct Queue {
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    closed: bool,
}

/// Holds every notified syscall for the delay, then lets it run.
pub struct Supervisor {
    receiver: JoinHandle<u64>,
}

impl Supervisor {
    /// Starts serving `listener`. Runs until every task that has the
    /// filter is gone.
    pub fn start(listener: OwnedFd, delay: Duration) -> io::Result<Self> {
        let listener = Arc::new(listener);
        let queue = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
        let timer = match delay.is_zero() {
            true => None,
            false => {
                let listener = Arc::clone(&listener);
                let queue = Arc::clone(&queue);
                Some(
                    thread::Builder::new()
                        .name("delay-timer".into())
                        .spawn(move || answer_when_due(&listener, &queue))?,
                )
            }
        };
        let receiver = thread::Builder::new()
            .name("delay-recv".into())
            .spawn(move || {
                let count = receive_all(&listener, delay, &queue);
                let (lock, wake) = &*queue;
                if let Ok(mut q) = lock.lock() {
                    q.closed = true;
                }
                wake.notify_all();
                if let Some(timer) = timer {
                    let _ = timer.join();
                }
                count
            })?;
        Ok(Supervisor { receiver })
    }

    /// Waits until every task with the filter is gone (call after reaping
    /// the command); returns how many syscalls were delayed.
    pub fn wait(self) -> u64 {
        self.receiver.join().unwrap_or(0)
    }
}

/// Takes notifications until the filter has no task left.
fn receive_all(listener: &OwnedFd, delay: Duration, queue: &(Mutex<Queue>, Condvar)) -> u64 {
    let mut count = 0;
    loop {
        let mut pfd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: poll on one pollfd of our own.
        let rc = unsafe { libc::poll(&mut pfd, 1, -1) };
        if rc < 0 {
            if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
                continue;
            }
            break;
        }
        if pfd.revents & libc::POLLIN == 0 {
            // POLLHUP: no task uses the filter any more.
            break;
        }
        // SAFETY: an all-zero seccomp_notif is what RECV requires.
        let mut notif: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: RECV fills `notif`.
        let rc = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut notif as *mut libc::seccomp_notif,
            )
        };
        if rc != 0 {
            // ENOENT: the task died before we took its notification.
            match io::Error::last_os_error().raw_os_error() {
                Some(libc::ENOENT | libc::EINTR) => continue,
                _ => break,
            }
        }
        count += 1;
        if delay.is_zero() {
            answer(listener, notif.id);
            continue;
        }
        let due = Instant::now() + delay;
        let (lock, wake) = queue;
        if let Ok(mut q) = lock.lock() {
            let earliest = q.due.peek().is_none_or(|Reverse((t, _))| due < *t);
            q.due.push(Reverse((due, notif.id)));
            if earliest {
                wake.notify_one();
            }
        }
    }
    count
}

/// How long before a deadline the timer thread stops sleeping and spins.
const SPIN: Duration = Duration::from_micros(40);

/// The timer thread: answers each notification at its deadline.
fn answer_when_due(listener: &OwnedFd, queue: &(Mutex<Queue>, Condvar)) {
    // A sleep may overshoot by the timer slack (50 µs by default): ask for
    // none, as the delays are what is being measured.
    // SAFETY: prctl on the calling thread.
    unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 1, 0, 0, 0) };
    let (lock, wake) = queue;
    let Ok(mut q) = lock.lock() else { return };
    loop {
        let now = Instant::now();
        match q.due.peek() {
            Some(&Reverse((due, id))) if due <= now => {
                q.due.pop();
                drop(q);
                answer(listener, id);
                let Ok(next) = lock.lock() else { return };
                q = next;
            }
            Some(&Reverse((due, _))) if due - now <= SPIN => {
                // Waking from a sleep takes tens of µs on a busy machine:
                // the last stretch is spun, with the queue unlocked.
                drop(q);
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
                let Ok(next) = lock.lock() else { return };
                q = next;
            }
            Some(&Reverse((due, _))) => {
                let Ok((next, _)) = wake.wait_timeout(q, due - now - SPIN) else {
                    return;
                };
                q = next;
            }
            None if q.closed => return,
            None => {
                let Ok(next) = wake.wait(q) else { return };
                q = next;
            }
        }
    }
}

/// Lets notified syscall `id` run as it would have.
fn answer(listener: &OwnedFd, id: u64) {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val: 0,
        error: 0,
        flags: libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32,
    };
    // SAFETY: SEND reads `resp`. ENOENT (the task died meanwhile) is fine.
    unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp as *mut libc::seccomp_notif_resp,
        )
    };
}
