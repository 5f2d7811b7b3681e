//! The attribution rules, on constructed events (the logic, not the
//! kernel: `tests/requests.rs` runs a real server).

use super::*;
use crate::{event::DataCapture, syscalls::xlat::fcntl::F_DUPFD_CLOEXEC};

const TGID: u32 = 100;

/// An event without times: [`Run::push`] gives it the next ones, unless a
/// test set them (`enter_ns` non-zero) to replay events out of time order.
fn event(tid: u32, nr: u32, fd: i32, data: Option<&[u8]>, ret: i64) -> SyscallEvent {
    SyscallEvent {
        tgid: TGID,
        tid,
        nr,
        args: [fd as u64, 0x1000, 4096, 0, 0, 0],
        enter_ns: 0,
        exit_ns: None,
        ret: Some(ret),
        strings: None,
        data: data.map(|bytes| {
            Box::new(DataCapture {
                bytes: bytes.to_vec(),
                truncated: false,
            })
        }),
        request: None,
        stack: None,
    }
}

/// Runs events through `attributor`, returns (the request each carried,
/// the anomalies).
struct Run {
    attributor: Attributor,
    anomalies: Vec<Anomaly>,
    /// Time of the next event pushed without times: events follow one
    /// another, 1 µs apart, each taking 0.5 µs.
    clock: u64,
}

impl Run {
    fn new() -> Self {
        Self {
            attributor: Attributor::default(),
            anomalies: Vec::new(),
            clock: 1_000,
        }
    }

    fn push(&mut self, mut ev: SyscallEvent) -> Option<String> {
        if ev.enter_ns == 0 {
            ev.enter_ns = self.clock;
            ev.exit_ns = Some(self.clock + 500);
            self.clock += 1_000;
        }
        if let Some(anomaly) = self.attributor.syscall(&mut ev) {
            self.anomalies.push(anomaly);
        }
        ev.request.map(|r| r.to_string())
    }

    fn read(&mut self, tid: u32, fd: i32, bytes: &str) -> Option<String> {
        let ret = bytes.len() as i64;
        self.push(event(tid, nr::READ, fd, Some(bytes.as_bytes()), ret))
    }

    fn write(&mut self, tid: u32, fd: i32, bytes: &str) -> Option<String> {
        let ret = bytes.len() as i64;
        self.push(event(tid, nr::WRITE, fd, Some(bytes.as_bytes()), ret))
    }

    fn other(&mut self, tid: u32) -> Option<String> {
        self.push(event(tid, nr::GETPPID, 0, None, 7))
    }

    fn call(&mut self, tid: u32, nr: u32, fd: i32, ret: i64) -> Option<String> {
        self.push(event(tid, nr, fd, None, ret))
    }

    fn bleeds(&self) -> Vec<(u32, i32, &str, &str)> {
        self.anomalies
            .iter()
            .map(|a| {
                assert_eq!(a.kind, REQUEST_BLEED);
                assert_eq!(a.tgid, TGID);
                (a.tid, a.fd, &*a.attributed, &*a.found)
            })
            .collect()
    }
}

fn request(id: &str) -> String {
    format!("GET / HTTP/1.1\r\nHost: lab\r\nX-Request-Id: {id}\r\n\r\n")
}

fn response(id: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nX-Request-Id: {id}\r\nContent-Length: 10\r\n\r\nhello {id}\n")
}

fn log(id: &str) -> String {
    format!("req={id} status=200\n")
}

fn some(id: &str) -> Option<String> {
    Some(id.to_string())
}

#[test]
fn without_data_nothing_is_attributed_or_kept() {
    let mut run = Run::new();
    assert_eq!(run.other(1), None);
    assert_eq!(run.call(1, nr::READ, 5, 100), None);
    assert_eq!(run.call(1, nr::CLOSE, 5, 0), None);
    assert!(run.attributor.threads.is_empty());
    assert!(run.attributor.conns.is_empty());
    assert!(run.attributor.clients.is_empty());
    assert!(run.attributor.streams.is_empty());
}

#[test]
fn a_read_attributes_the_thread_until_the_next_one() {
    let mut run = Run::new();
    assert_eq!(run.other(1), None);
    assert_eq!(run.read(1, 5, &request("a1")), some("a1"));
    assert_eq!(run.other(1), some("a1"));
    assert_eq!(run.other(2), None, "other threads are not affected");
    assert_eq!(run.write(1, 3, &log("a1")), some("a1"));
    assert_eq!(run.write(1, 5, &response("a1")), some("a1"));
    assert_eq!(run.read(1, 6, &request("b2")), some("b2"));
    assert_eq!(run.other(1), some("b2"));
    assert!(run.anomalies.is_empty());
}

/// The lab's pooled_buffer_server bug: worker 1 gave its response buffer
/// back before sending it, worker 2 refilled it with its own response.
#[test]
fn a_response_carrying_another_requests_id_is_bleed() {
    let mut run = Run::new();
    run.read(1, 5, &request("req-17"));
    run.read(2, 6, &request("req-23"));
    assert_eq!(run.write(1, 3, &log("req-17")), some("req-17"));
    assert_eq!(run.write(2, 4, &log("req-23")), some("req-23"));
    assert!(run.anomalies.is_empty());
    let sent_at = run.clock;
    assert_eq!(run.write(1, 5, &response("req-23")), some("req-17"));
    assert_eq!(run.bleeds(), [(1, 5, "req-17", "req-23")]);
    assert_eq!(run.anomalies[0].ts_ns, sent_at);
    assert_eq!(run.write(2, 6, &response("req-23")), some("req-23"));
    assert_eq!(run.anomalies.len(), 1);
    // After the bleed, the thread is still on its own request.
    assert_eq!(run.other(1), some("req-17"));
}

#[test]
fn the_fixed_server_has_no_anomalies() {
    let mut run = Run::new();
    for round in 0..20 {
        let (a, b) = (format!("r{round}a"), format!("r{round}b"));
        // Two workers interleaved, one connection per request, fds reused.
        run.call(1, nr::ACCEPT4, -1, 5);
        run.call(2, nr::ACCEPT4, -1, 6);
        assert_eq!(run.read(1, 5, &request(&a)), some(&a));
        assert_eq!(run.read(2, 6, &request(&b)), some(&b));
        assert_eq!(run.write(2, 6, &response(&b)), some(&b));
        assert_eq!(run.write(1, 5, &response(&a)), some(&a));
        assert_eq!(run.write(1, 3, &log(&a)), some(&a));
        assert_eq!(run.write(2, 3, &log(&b)), some(&b));
        assert_eq!(run.call(1, nr::CLOSE, 5, 0), some(&a));
        assert_eq!(run.call(2, nr::CLOSE, 6, 0), some(&b));
    }
    assert!(run.anomalies.is_empty(), "{:?}", run.anomalies);
    assert!(run.attributor.conns.is_empty());
}

#[test]
fn a_log_line_naming_another_id_switches_the_thread() {
    let mut run = Run::new();
    run.read(1, 5, &request("a"));
    assert_eq!(
        run.write(1, 2, "worker picked up request_id=b\n"),
        some("b")
    );
    assert_eq!(run.other(1), some("b"));
    assert!(run.anomalies.is_empty());
    // A thread with no request is attributed by what it writes.
    assert_eq!(run.write(9, 2, &log("c")), some("c"));
    assert_eq!(run.other(9), some("c"));
    assert!(run.anomalies.is_empty());
}

#[test]
fn a_worker_handed_the_connection_gets_its_request() {
    let mut run = Run::new();
    // Thread 1 accepts and reads; thread 2 answers, never reading the ID.
    run.read(1, 5, &request("x"));
    assert_eq!(run.write(2, 5, &response("x")), some("x"));
    run.read(1, 6, &request("y"));
    // Thread 2 is still on x, but the connection it writes to is y's.
    assert_eq!(run.call(2, nr::WRITE, 6, 0), some("y"));
    assert_eq!(run.write(2, 6, &response("y")), some("y"));
    // A read on a connection without an ID (the body) follows it too.
    assert_eq!(run.read(3, 5, "body bytes"), some("x"));
    assert!(run.anomalies.is_empty(), "{:?}", run.anomalies);
}

#[test]
fn an_event_loop_follows_its_connections() {
    let mut run = Run::new();
    run.read(1, 5, &request("a"));
    run.read(1, 6, &request("b"));
    assert_eq!(run.write(1, 5, &response("a")), some("a"));
    assert_eq!(run.write(1, 6, &response("b")), some("b"));
    assert_eq!(run.write(1, 6, &response("a")), some("b"));
    assert_eq!(run.bleeds(), [(1, 6, "b", "a")]);
}

#[test]
fn a_client_sending_requests_on_fresh_connections_is_not_bleed() {
    let mut run = Run::new();
    for n in 0..5 {
        let id = format!("c{n}");
        let fd = 10 + n;
        assert_eq!(run.write(7, fd, &request(&id)), some(&id));
        assert_eq!(run.read(7, fd, &response(&id)), some(&id));
        run.call(7, nr::CLOSE, fd, 0);
    }
    assert!(run.anomalies.is_empty(), "{:?}", run.anomalies);
}

#[test]
fn a_client_reusing_a_kept_alive_connection_is_not_bleed() {
    let mut run = Run::new();
    // A connection pool: one connection, one request after another, each
    // with the ID of the request being served upstream.
    for n in 0..5 {
        let id = format!("k{n}");
        assert_eq!(run.write(7, 10, &request(&id)), some(&id));
        assert_eq!(run.read(7, 10, &response(&id)), some(&id));
    }
    assert!(run.anomalies.is_empty(), "{:?}", run.anomalies);
    assert!(run.attributor.conns.is_empty());
    // A shared log fd is not a connection either: writing to it without
    // an ID changes nobody's request.
    run.read(1, 5, &request("a"));
    run.write(2, 3, &log("b"));
    assert_eq!(run.write(1, 3, "no id here\n"), some("a"));
    // Closing or reusing the fd forgets which side it was.
    run.call(7, nr::CLOSE, 10, 0);
    run.call(7, nr::ACCEPT4, 4, 3);
    assert!(run.attributor.clients.is_empty());
    run.read(7, 10, &request("s1"));
    run.write(7, 10, &response("s2"));
    assert_eq!(run.bleeds(), [(7, 10, "s1", "s2")]);
}

#[test]
fn a_header_split_across_reads_is_found() {
    let mut run = Run::new();
    let req = request("split-1");
    let cut = req.find("lit-1").unwrap();
    assert_eq!(run.read(1, 5, &req[..cut]), None);
    assert_eq!(run.read(1, 5, &req[cut..]), some("split-1"));
    // Same for a response written in two pieces: found, and bleed.
    let resp = response("other");
    let cut = resp.find("her").unwrap();
    assert_eq!(run.write(1, 5, &resp[..cut]), some("split-1"));
    assert!(run.anomalies.is_empty(), "a partial ID is never reported");
    assert_eq!(run.write(1, 5, &resp[cut..]), some("split-1"));
    assert_eq!(run.bleeds(), [(1, 5, "split-1", "other")]);
}

#[test]
fn truncated_and_partial_transfers() {
    let mut run = Run::new();
    // The read filled more than was captured: no joining across the gap.
    let mut ev = event(1, nr::READ, 5, Some(b"X-Request-Id: ab"), 100);
    ev.data.as_mut().unwrap().truncated = true;
    assert_eq!(run.push(ev), None);
    assert_eq!(run.read(1, 5, "c\r\n"), None);
    // A read that moved bytes nobody captured is a gap too.
    run.read(1, 6, "X-Request-Id: ab");
    run.call(1, nr::READ, 6, 10);
    assert_eq!(run.read(1, 6, "c\r\n"), None);
    // A write that sent only part of its buffer: the rest never left.
    let resp = response("zz");
    let sent = resp.find("zz").unwrap() + 1;
    let ev = event(2, nr::WRITE, 9, Some(resp.as_bytes()), sent as i64);
    assert_eq!(run.push(ev), None);
    // Failed calls move nothing.
    let ev = event(2, nr::WRITE, 9, Some(resp.as_bytes()), -11);
    assert_eq!(run.push(ev), None);
    assert!(run.anomalies.is_empty());
}

#[test]
fn closing_ends_the_request_and_reused_fds_start_clean() {
    let mut run = Run::new();
    run.read(1, 5, &request("a"));
    assert_eq!(run.call(1, nr::CLOSE, 5, 0), some("a"));
    assert_eq!(run.other(1), None);
    // fd 5 now names a log file: writing another ID there is a log line.
    run.read(2, 5, &request("b"));
    assert_eq!(run.call(2, nr::OPENAT, -100, 5), some("b"));
    assert_eq!(run.write(2, 5, &log("c")), some("c"));
    // accept, dup and fcntl(F_DUPFD) reuse fds as well.
    run.read(3, 6, &request("d"));
    run.call(3, nr::DUP2, 4, 6);
    assert_eq!(run.write(3, 6, &log("e")), some("e"));
    run.read(3, 7, &request("f"));
    let mut ev = event(3, nr::FCNTL, 4, None, 7);
    ev.args[1] = F_DUPFD_CLOEXEC.into();
    run.push(ev);
    assert_eq!(run.write(3, 7, &log("g")), some("g"));
    // fcntl(F_GETFL) returns flags, not an fd.
    run.read(3, 8, &request("h"));
    let mut ev = event(3, nr::FCNTL, 8, None, 8);
    ev.args[1] = 3;
    run.push(ev);
    run.write(3, 8, &log("i"));
    assert_eq!(run.bleeds(), [(3, 8, "h", "i")]);
    // close_range forgets a whole range.
    run.read(4, 20, &request("j"));
    run.read(4, 21, &request("k"));
    let mut ev = event(4, nr::CLOSE_RANGE, 20, None, 0);
    ev.args[1] = 30;
    run.push(ev);
    assert!(run.attributor.conns.keys().all(|&(_, fd)| fd < 20));
}

#[test]
fn tasks_inherit_and_are_forgotten() {
    let mut run = Run::new();
    run.write(1, 9, &log("z"));
    run.read(1, 5, &request("a"));
    run.attributor.task(&TaskEvent::Spawned {
        ts_ns: 0,
        parent_tgid: TGID,
        parent_tid: 1,
        tid: 2,
        comm: String::new(),
    });
    assert_eq!(run.other(2), some("a"));
    run.attributor.task(&TaskEvent::Spawned {
        ts_ns: 0,
        parent_tgid: TGID,
        parent_tid: 50,
        tid: 51,
        comm: String::new(),
    });
    assert_eq!(run.other(51), None);
    run.attributor.task(&TaskEvent::Exited {
        ts_ns: 0,
        tgid: TGID,
        tid: 2,
        group_dead: false,
        comm: String::new(),
        status: None,
    });
    assert_eq!(run.other(2), None);
    assert!(!run.attributor.conns.is_empty());
    run.attributor.task(&TaskEvent::Exited {
        ts_ns: 0,
        tgid: TGID,
        tid: 1,
        group_dead: true,
        comm: String::new(),
        status: None,
    });
    assert!(run.attributor.threads.is_empty());
    assert!(run.attributor.conns.is_empty());
    assert!(run.attributor.clients.is_empty());
    assert!(run.attributor.streams.is_empty());
}

#[test]
fn several_ids_in_one_read() {
    let mut run = Run::new();
    // Pipelined requests: the first is served first; answering either is
    // fine on that connection.
    let both = format!("{}{}", request("p1"), request("p2"));
    assert_eq!(run.read(1, 5, &both), some("p1"));
    assert_eq!(run.write(1, 5, &response("p1")), some("p1"));
    assert_eq!(run.write(1, 5, &response("p2")), some("p2"));
    // X-Request-Id takes precedence over traceparent and log tokens,
    // wherever it is; a response may echo any of them.
    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let head = format!(
        "GET /?req=q1 HTTP/1.1\r\ntraceparent: 00-{trace}-00f067aa0ba902b7-01\r\n\
         X-Request-Id: x1\r\n\r\n"
    );
    assert_eq!(run.read(2, 6, &head), some("x1"));
    let echo = format!("HTTP/1.1 200 OK\r\ntraceparent: 00-{trace}-00f067aa0ba902b7-01\r\n\r\n");
    assert_eq!(run.write(2, 6, &echo), some(trace));
    assert!(run.anomalies.is_empty(), "{:?}", run.anomalies);
}

#[test]
fn user_patterns() {
    let user = patterns::parse(r"X-Correlation-Id: (\w+)\r\n").unwrap();
    let mut run = Run {
        attributor: Attributor::new(Patterns::new(vec![user], false)),
        ..Run::new()
    };
    assert_eq!(run.read(1, 5, &request("ignored")), None);
    assert_eq!(
        run.read(1, 6, "GET / HTTP/1.1\r\nX-Correlation-Id: c1\r\n\r\n"),
        some("c1")
    );
    run.write(1, 6, "HTTP/1.1 200 OK\r\nX-Correlation-Id: c2\r\n\r\n");
    assert_eq!(run.bleeds(), [(1, 6, "c1", "c2")]);
}

#[test]
fn ids_are_interned_printable_and_swept() {
    let mut set = HashSet::new();
    let a = intern(&mut set, b"abc");
    let b = intern(&mut set, b"abc");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(&*intern(&mut set, b"a\x1bb"), "a\u{fffd}b");
    assert_eq!(&*intern(&mut set, b"a\xffb"), "a\u{fffd}b");
    let mut attributor = Attributor {
        interned: set,
        ..Attributor::default()
    };
    drop(b);
    attributor.sweep();
    assert_eq!(attributor.interned.len(), 1, "only a is still held");
    assert!(Arc::ptr_eq(&intern(&mut attributor.interned, b"abc"), &a));
    // A long run of requests keeps the table bounded.
    let mut run = Run::new();
    for n in 0..3 * SWEEP_MIN {
        run.read(1, 5, &request(&format!("id{n}")));
        run.call(1, nr::CLOSE, 5, 0);
    }
    assert!(run.attributor.interned.len() <= 2 * SWEEP_MIN);
}

/// Rule 7, from a failing run of `tests/requests.rs` under load: ptrace
/// reported worker 1's `close(7)` exit after worker 2 had accepted a new
/// connection as fd 7 and read its request. Taking that close for the new
/// connection's made the bleed on it look like a log line (rule 4).
#[test]
fn a_close_reported_after_the_fd_was_reused_is_the_old_ones() {
    let mut run = Run::new();
    run.call(1, nr::ACCEPT4, 3, 7);
    run.read(1, 7, &request("req-36"));
    run.write(1, 7, &response("req-36"));
    // Worker 1 enters close(7); its exit is reported late.
    let mut close = event(1, nr::CLOSE, 7, None, 0);
    close.enter_ns = run.clock;
    close.exit_ns = Some(run.clock + 500);
    run.clock += 1_000;
    // The number is free again: worker 2 gets it.
    run.call(2, nr::ACCEPT4, 3, 7);
    assert_eq!(run.read(2, 7, &request("req-30")), some("req-30"));
    assert_eq!(run.push(close.clone()), some("req-36"));
    assert_eq!(run.write(2, 7, &response("req-26")), some("req-30"));
    assert_eq!(run.bleeds(), [(2, 7, "req-30", "req-26")]);
    // close_range reported late spares the new connection the same way.
    let mut range = close;
    range.nr = nr::CLOSE_RANGE;
    range.args[1] = 9;
    run.push(range);
    assert!(run.attributor.conns.contains_key(&(TGID, 7)));
    // Its own close, which entered after the accept returned, ends it.
    assert_eq!(run.call(2, nr::CLOSE, 7, 0), some("req-30"));
    assert_eq!(run.other(2), None);
    assert!(run.attributor.conns.is_empty());
    assert!(run.attributor.opened.is_empty());
    // An accept reported after a newer one of the same number is ignored
    // (while attribution knows anything: see the limits).
    run.read(3, 9, &request("req-50"));
    run.call(1, nr::ACCEPT4, 3, 8);
    let mut old = event(2, nr::ACCEPT4, 3, None, 8);
    old.enter_ns = 1;
    old.exit_ns = Some(2);
    run.read(1, 8, &request("req-40"));
    run.push(old);
    run.write(1, 8, &response("req-41"));
    assert_eq!(run.bleeds()[1], (1, 8, "req-40", "req-41"));
}
