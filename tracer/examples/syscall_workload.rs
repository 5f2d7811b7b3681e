//! A deterministic target for tracer's integration tests: it makes known
//! syscalls in known numbers from known threads and processes, so a trace
//! of it can be checked exactly.
//!
//! - `standard`: 1000 `getppid` from the main thread; one `openat` of a
//!   missing path with the unusual flags `O_RDONLY|O_NOCTTY|O_NOFOLLOW`
//!   (ENOENT); a thread that makes 50 `getuid`; a forked child that makes
//!   25 `getgid` and exits 3. Prints `pid=N`, `thread_tid=N` and `child_pid=N`.
//! - `serve`: for each line `N` on stdin, makes N `getppid` and answers
//!   `done N`; exits 0 at end of input. Used to attach to a running process.
//! - `signal`: prints `pid=N`, waits for SIGUSR1, prints `got SIGUSR1` and
//!   exits 0. Checks that signals reach a traced process.
//! - `leader-exits`: a thread serves as `serve` does while the main thread
//!   exits on its own (`exit(2)`), leaving a zombie leader and a live
//!   process. Prints `pid=N` and `thread_tid=N`. Checks attaching to it.
//! - `capture`: moves known bytes through every call whose data tracer
//!   captures: `write`/`read` and `writev`/`readv` on a pipe,
//!   `sendto`/`recvfrom` and `sendmsg`/`recvmsg` on a socketpair,
//!   `pwrite64`/`pread64` on a file, and a 2000-byte `write` to /dev/null.

use std::io::{BufRead, Write};

fn syscall0(nr: libc::c_long) -> libc::c_long {
    // SAFETY: the syscalls used here take no arguments and touch no memory.
    unsafe { libc::syscall(nr) }
}

fn standard() {
    println!("pid={}", std::process::id());
    for _ in 0..1000 {
        syscall0(libc::SYS_getppid);
    }
    let path = c"/nonexistent/tracer-test-missing";
    // SAFETY: a valid C string; the call fails with ENOENT.
    let fd = unsafe {
        libc::openat(
            libc::AT_FDCWD,
            path.as_ptr(),
            libc::O_RDONLY | libc::O_NOCTTY | libc::O_NOFOLLOW,
        )
    };
    assert_eq!(fd, -1);

    let thread = std::thread::spawn(|| {
        for _ in 0..50 {
            syscall0(libc::SYS_getuid);
        }
        syscall0(libc::SYS_gettid)
    });
    let tid = thread.join().expect("thread");
    println!("thread_tid={tid}");

    // SAFETY: the child only makes raw syscalls and _exits.
    match unsafe { libc::fork() } {
        0 => {
            for _ in 0..25 {
                syscall0(libc::SYS_getgid);
            }
            // SAFETY: _exit without running the parent's atexit handlers.
            unsafe { libc::_exit(3) }
        }
        -1 => panic!("fork failed"),
        child => {
            let mut status = 0;
            // SAFETY: waits for our own child.
            unsafe { libc::waitpid(child, &mut status, 0) };
            assert_eq!(libc::WEXITSTATUS(status), 3);
            println!("child_pid={child}");
        }
    }
}

fn serve() {
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    for line in stdin.lock().lines() {
        let Ok(n) = line.expect("stdin").trim().parse::<u32>() else {
            continue;
        };
        for _ in 0..n {
            syscall0(libc::SYS_getppid);
        }
        writeln!(stdout, "done {n}").expect("stdout");
        stdout.flush().expect("stdout");
    }
}

fn leader_exits() {
    println!("pid={}", std::process::id());
    std::thread::spawn(|| {
        println!("thread_tid={}", syscall0(libc::SYS_gettid));
        serve();
        std::process::exit(0);
    });
    // The raw exit(2), not pthread_exit (which would unwind through
    // main): only this thread ends, the process lives on in the other.
    // SAFETY: the other thread owns everything it uses.
    unsafe { libc::syscall(libc::SYS_exit, 0) };
    unreachable!("exit(2) returned");
}

fn iovec(bytes: &mut [u8]) -> libc::iovec {
    libc::iovec {
        iov_base: bytes.as_mut_ptr().cast(),
        iov_len: bytes.len(),
    }
}

fn capture() {
    let check = |ret: isize, want: usize| assert_eq!(ret, want as isize);
    let mut pipe = [0; 2];
    let mut buf = [0u8; 64];
    // SAFETY (this block and the ones below): plain syscalls on buffers
    // and fds we own, with their true lengths.
    unsafe {
        assert_eq!(libc::pipe(pipe.as_mut_ptr()), 0);
        let msg = b"write:hello tracer\n";
        check(libc::write(pipe[1], msg.as_ptr().cast(), msg.len()), 19);
        check(libc::read(pipe[0], buf.as_mut_ptr().cast(), buf.len()), 19);

        let (mut a, mut b) = (*b"writev:part one,", *b" part two");
        let iov = [iovec(&mut a), iovec(&mut b)];
        check(libc::writev(pipe[1], iov.as_ptr(), 2), 25);
        let (mut c, mut d) = ([0u8; 10], [0u8; 64]);
        let iov = [iovec(&mut c), iovec(&mut d)];
        check(libc::readv(pipe[0], iov.as_ptr(), 2), 25);

        let mut sv = [0; 2];
        assert_eq!(
            libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()),
            0
        );
        let ping = b"sendto:ping";
        check(
            libc::sendto(
                sv[0],
                ping.as_ptr().cast(),
                ping.len(),
                0,
                std::ptr::null(),
                0,
            ),
            11,
        );
        check(
            libc::recvfrom(
                sv[1],
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            ),
            11,
        );
        let (mut e, mut f) = (*b"sendmsg:", *b"pong");
        let mut iov = [iovec(&mut e), iovec(&mut f)];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = 2;
        check(libc::sendmsg(sv[0], &msg, 0), 12);
        let mut iov = [iovec(&mut buf)];
        msg.msg_iov = iov.as_mut_ptr();
        msg.msg_iovlen = 1;
        check(libc::recvmsg(sv[1], &mut msg, 0), 12);

        let path = std::env::temp_dir().join(format!("tracer-capture-{}", std::process::id()));
        let file = std::fs::File::create(&path).expect("temp file");
        let _ = std::fs::remove_file(&path);
        let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
        let data = b"pwrite:data";
        check(libc::pwrite(fd, data.as_ptr().cast(), data.len(), 0), 11);
        let file = std::fs::File::open(format!("/proc/self/fd/{fd}")).expect("reopen");
        let rd = std::os::fd::AsRawFd::as_raw_fd(&file);
        check(libc::pread(rd, buf.as_mut_ptr().cast(), buf.len(), 0), 11);

        let null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .expect("null");
        let big = [b'x'; 2000];
        check(
            libc::write(
                std::os::fd::AsRawFd::as_raw_fd(&null),
                big.as_ptr().cast(),
                big.len(),
            ),
            2000,
        );
    }
}

static GOT_SIGNAL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn signal() {
    extern "C" fn on_usr1(_: libc::c_int) {
        GOT_SIGNAL.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    // SAFETY: the handler only stores to an atomic.
    unsafe { libc::signal(libc::SIGUSR1, on_usr1 as *const () as libc::sighandler_t) };
    println!("pid={}", std::process::id());
    std::io::stdout().flush().expect("stdout");
    // Bounded: the test sends the signal within seconds.
    for _ in 0..30_000 {
        if GOT_SIGNAL.load(std::sync::atomic::Ordering::SeqCst) {
            println!("got SIGUSR1");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    eprintln!("no SIGUSR1 within 30 s");
    std::process::exit(1);
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("standard") => standard(),
        Some("serve") => serve(),
        Some("signal") => signal(),
        Some("capture") => capture(),
        Some("leader-exits") => leader_exits(),
        other => {
            eprintln!(
                "usage: syscall_workload standard|serve|signal|capture|leader-exits (got {other:?})"
            );
            std::process::exit(2);
        }
    }
}
