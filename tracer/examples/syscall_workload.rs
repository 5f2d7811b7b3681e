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
        other => {
            eprintln!("usage: syscall_workload standard|serve|signal (got {other:?})");
            std::process::exit(2);
        }
    }
}
