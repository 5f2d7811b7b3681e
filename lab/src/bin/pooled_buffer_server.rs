//! # pooled_buffer_server: a response buffer used after it went back to the pool
//!
//! **Pattern.** A small HTTP-ish server on 127.0.0.1 (ephemeral port, four
//! worker threads) builds each response in a buffer taken from a pool of
//! reusable buffers. The bug: a worker returns the buffer to the pool,
//! *then* writes its access-log line (`req=<id> status=200`) and only then
//! sends the buffer's contents. If another worker takes that buffer (the
//! pool hands out the most recently returned one) and fills it during the
//! log `write`, the first client receives the second request's response.
//! Buffers are `Arc<Mutex<Vec<u8>>>`, so this is memory safe: it is the
//! logic of a C or Go buffer-pool bug without the undefined behaviour.
//!
//! The program runs its own clients: 10 threads send 5 requests each, one
//! connection per request, each with an `X-Request-Id: req-<n>` header that
//! the server echoes in its response and its log line. The server stops by
//! itself once the clients are done; sockets have 2 s timeouts.
//!
//! **Shows as** exit 1 and `FAIL: response for req-17 carried req-23's body
//! (1 of 50 responses wrong)`. `--fixed` sends before returning the buffer.
//!
//! **Measured** (2-core VM, release build, access log to /dev/null):
//! untraced 74/300 (24%); under `strace -f -o /dev/null` 100/100.
//!
//! **Serving outside clients.** `--serve N` runs the same server without
//! its own clients, for a client in another process (the request-attribution
//! test of `tracer`): it prints `port=<port>` on stdout, serves N
//! connections, prints `served=N` and exits 0. Combine with `--fixed` for
//! the correct server.
//!
//! **Why tracing changes it.** The window is one `write` syscall (the log
//! line). Under ptrace that `write` stops twice for the tracer and the
//! window grows from about a microsecond to tens of them, so another worker
//! nearly always lands in it: strace makes this bug *worse*. The access log
//! goes to /dev/null because a pipe or terminal there would change the
//! window as well; run the lab the same way in every mode you compare.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use lab::{Outcome, Variant};

const WORKERS: usize = 4;
const CLIENTS: usize = 10;
const REQUESTS_PER_CLIENT: usize = 5;
const TIMEOUT: Duration = Duration::from_secs(2);
/// Longest request head the server reads; the clients send ~60 bytes.
const MAX_REQUEST: u64 = 4096;

/// How long `--serve` waits for its clients.
const SERVE_TIMEOUT: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve") {
        return serve_main(&args);
    }
    lab::main(
        "pooled_buffer_server: responses built in pooled buffers that are returned too early\n\
         (--serve N: serve N connections from other processes, see the source)",
        run,
    )
}

/// `--serve N [--fixed]`.
fn serve_main(args: &[String]) -> ExitCode {
    let usage = || {
        eprintln!("error: usage: pooled_buffer_server --serve N [--fixed]");
        ExitCode::from(2)
    };
    let mut variant = Variant::Buggy;
    let mut count = 0;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fixed" => variant = Variant::Fixed,
            "--serve" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => count = n,
                None => return usage(),
            },
            _ => return usage(),
        }
    }
    match serve_for_others(variant, count) {
        Ok(()) => {
            println!("served={count}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(2)
        }
    }
}

/// Serves `count` connections from other processes.
fn serve_for_others(variant: Variant, count: usize) -> io::Result<()> {
    let (server, served) = Server::start(variant)?;
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "port={}", server.addr.port())?;
    stdout.flush()?;
    for _ in 0..count {
        if served.recv_timeout(SERVE_TIMEOUT).is_err() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "clients did not come",
            ));
        }
    }
    server.stop()
}

type Buffer = Arc<Mutex<Vec<u8>>>;

/// A last-in first-out pool of response buffers.
#[derive(Default)]
struct Pool(Mutex<Vec<Buffer>>);

impl Pool {
    fn take(&self) -> Buffer {
        lock(&self.0).pop().unwrap_or_default()
    }

    fn give_back(&self, buffer: Buffer) {
        lock(&self.0).push(buffer);
    }
}

/// Locks, ignoring poisoning: a panicked worker leaves buffers that are
/// still valid byte vectors.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The worker threads and how to stop them.
struct Server {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl Server {
    /// Starts the workers; the receiver gets one message per connection
    /// served.
    fn start(variant: Variant) -> io::Result<(Self, Receiver<()>)> {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0")?);
        let addr = listener.local_addr()?;
        let pool = Arc::new(Pool::default());
        let stopping = Arc::new(AtomicBool::new(false));
        let (done, served) = mpsc::channel();
        let workers = (0..WORKERS)
            .map(|_| {
                let (listener, pool, stopping) = (listener.clone(), pool.clone(), stopping.clone());
                let done = done.clone();
                let mut log = lab::log_sink()?;
                Ok(thread::spawn(move || {
                    while let Ok((conn, _)) = listener.accept() {
                        if stopping.load(Ordering::SeqCst) {
                            break;
                        }
                        // One bad connection must not stop the server.
                        let _ = serve(conn, &pool, &mut log, variant);
                        // Nobody counts when the lab runs its own clients.
                        let _ = done.send(());
                    }
                }))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let server = Self {
            addr,
            stopping,
            workers,
        };
        Ok((server, served))
    }

    /// Wakes every worker blocked in `accept` so that it sees the flag,
    /// and waits for them.
    fn stop(self) -> io::Result<()> {
        self.stopping.store(true, Ordering::SeqCst);
        for _ in 0..WORKERS {
            let _ = TcpStream::connect(self.addr);
        }
        for worker in self.workers {
            lab::joined(worker.join(), "worker")?;
        }
        Ok(())
    }
}

fn run(variant: Variant) -> io::Result<Outcome> {
    let (server, _served) = Server::start(variant)?;
    let addr = server.addr;
    let clients = (0..CLIENTS)
        .map(|c| thread::spawn(move || client(addr, c)))
        .collect::<Vec<_>>();
    let mut wrong = Vec::new();
    let mut client_error = None;
    for client in clients {
        match lab::joined(client.join(), "client")? {
            Ok(mismatches) => wrong.extend(mismatches),
            Err(err) => client_error = Some(err),
        }
    }
    server.stop()?;
    if let Some((sent, got)) = wrong.first() {
        return Ok(Outcome::Fail(format!(
            "response for {sent} carried {got}'s body ({} of {} responses wrong)",
            wrong.len(),
            CLIENTS * REQUESTS_PER_CLIENT
        )));
    }
    // A client that could not talk to the server is a broken run, not a race.
    client_error.map_or(Ok(Outcome::Pass), Err)
}

/// Serves one request on `conn`.
fn serve(conn: TcpStream, pool: &Pool, log: &mut impl Write, variant: Variant) -> io::Result<()> {
    conn.set_read_timeout(Some(TIMEOUT))?;
    conn.set_write_timeout(Some(TIMEOUT))?;
    let id = read_request_id(&conn)?;
    let buffer = pool.take();
    {
        let mut response = lock(&buffer);
        response.clear();
        let body = format!("hello {id}\n");
        write!(
            response,
            "HTTP/1.1 200 OK\r\nX-Request-Id: {id}\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )?;
    }
    let log_line = format!("req={id} status=200\n");
    let mut conn = conn;
    if variant.is_fixed() {
        conn.write_all(&lock(&buffer))?;
        pool.give_back(buffer);
        log.write_all(log_line.as_bytes())?;
    } else {
        // The bug: the buffer is back in the pool while we still need it.
        pool.give_back(buffer.clone());
        log.write_all(log_line.as_bytes())?;
        let response = lock(&buffer).clone();
        conn.write_all(&response)?;
    }
    conn.shutdown(Shutdown::Write)
}

/// Reads a request head and returns its `X-Request-Id` (empty if absent).
fn read_request_id(conn: &TcpStream) -> io::Result<String> {
    let mut head = BufReader::new(conn.take(MAX_REQUEST));
    let mut id = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if head.read_line(&mut line)? == 0 || line == "\r\n" {
            return Ok(id);
        }
        if let Some(value) = line.strip_prefix("X-Request-Id:") {
            id = value.trim().to_string();
        }
    }
}

/// Sends this client's requests one after another; returns the
/// `(sent id, echoed id)` pairs that did not match.
fn client(addr: SocketAddr, client: usize) -> io::Result<Vec<(String, String)>> {
    let mut wrong = Vec::new();
    for n in 0..REQUESTS_PER_CLIENT {
        let id = format!("req-{}", client * REQUESTS_PER_CLIENT + n);
        let mut conn = TcpStream::connect(addr)?;
        conn.set_read_timeout(Some(TIMEOUT))?;
        conn.set_write_timeout(Some(TIMEOUT))?;
        write!(
            conn,
            "GET / HTTP/1.1\r\nHost: lab\r\nX-Request-Id: {id}\r\n\r\n"
        )?;
        let mut response = String::new();
        conn.read_to_string(&mut response)?;
        let echoed = response
            .lines()
            .find_map(|line| line.strip_prefix("X-Request-Id:"))
            .map(str::trim)
            .unwrap_or("<none>");
        if echoed != id {
            wrong.push((id, echoed.to_string()));
        }
    }
    Ok(wrong)
}
