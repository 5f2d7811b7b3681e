//! Request attribution: which request each thread is serving, learnt from
//! the request IDs in the bytes it reads and writes, and request bleed: a
//! thread serving one request that sends another request's ID.
//!
//! IDs are found by [`patterns`] in the captured data of the read and write
//! families (`read`, `pread64`, `readv`, `preadv`, `recvfrom`, `recvmsg`
//! in; `write`, `pwrite64`, `writev`, `pwritev`, `sendto`, `sendmsg` out;
//! the fd is `args[0]`), searched per (process, fd, direction) stream so
//! that an ID cut by a read boundary is still found ([`stream`]).
//!
//! # Rules
//!
//! A *request connection* is an fd of a process on which an inbound read
//! carried a request ID before any write on it did (the server side of a
//! connection); it remembers the last few IDs that came in on it. An fd on
//! which an ID went out first (the client side of a connection, a log) is
//! never one.
//!
//! 1. An inbound read that carries IDs attributes the thread to the first
//!    ID of the highest-precedence pattern found (user patterns, then
//!    `X-Request-Id`, then `traceparent`, then log tokens), and (on the
//!    server side) makes the fd a request connection for every ID found.
//!    The read itself carries the ID. The thread stays on that request
//!    until something below changes it.
//! 2. Any read or write on a request connection attributes the thread to the
//!    connection's request, unless it is already on one of the connection's
//!    recent requests. This hands a request to a worker thread that never
//!    read its ID itself (an accept thread passing the connection on), and
//!    follows event loops that serve several connections in turn.
//! 3. A write on a request connection (a response) that carries an ID the
//!    connection never brought in is **request bleed**: an anomaly with the
//!    thread's request (`attributed`) and the foreign ID (`found`), the tid,
//!    fd and time. The event stays attributed to the thread's request. A
//!    response carrying the connection's own IDs is normal.
//! 4. A write that carries IDs anywhere else (a log line to a file, stderr
//!    or a pipe; an outgoing request to another service) switches the
//!    thread to the ID it names, without an anomaly: this is how a thread
//!    that was handed work, or a client sending a new request, is followed.
//!    A thread with no request that writes an ID is attributed the same way.
//! 5. Closing a request connection ends the attribution of a thread that
//!    was serving one of its requests (the `close` still carries it).
//! 6. A thread created by a thread that serves a request starts on that
//!    request. A thread that exits is forgotten; so are the connections and
//!    streams of a process that exits, and an fd's when it is closed or
//!    reused (`accept`, `open`, `dup`, …).
//! 7. A close that entered before the fd's current incarnation was
//!    returned (the exit of the `accept`, `open`, `dup`, … that made it)
//!    closed the previous one and is ignored. The close must take effect
//!    before the fd number can be handed out again, but ptrace reports
//!    stops of different threads in no particular order: under load a
//!    thread's `close(7)` exit has come in after another thread's
//!    `accept4() = 7` and the read of its request, and forgetting that
//!    connection then hid the bleed of its response (rule 4 instead of 3).
//!
//! Whether bytes are a response or a log line is told by where they go
//! (rules 3 and 4), not by the pattern that found the ID: a log line that
//! quotes a header is still a log line, and a client that sends one request
//! after another, on fresh connections or on one kept alive, is never
//! flagged.
//!
//! # Limits
//!
//! - Only captured bytes are searched: an ID past the capture size, or in
//!   a syscall the source did not capture, is not seen. Without capture
//!   (`ev.data` always `None`) nothing is attributed and every event costs
//!   one branch.
//! - A response on a connection whose request was not seen (read before
//!   the trace started) is not checked for bleed (rule 4 applies).
//! - A stale response on a keep-alive connection that repeats one of that
//!   connection's recent requests is not flagged.
//! - A log line that names another request switches the thread (rule 4):
//!   a log line built from a leaked buffer is not flagged, only responses.
//! - Rule 7 needs the `accept` (or `open`, `dup`, …) that made the fd to
//!   have been seen while attribution was learning anything; a connection
//!   whose fd came before that (or before the trace) relies on the order
//!   of the events alone.
//! - A match is found across a read boundary when it is at most
//!   [`stream::TAIL`] bytes long.
//! - Work handed between threads without I/O on a request connection or a
//!   log line naming the request (an in-memory queue) is not followed.
//! - Binary protocols (HTTP/2's HPACK, gRPC) do not show their headers as
//!   text; a `--request-id` pattern over the payload may still work.

pub mod patterns;
pub mod stream;

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use crate::{
    event::{Anomaly, RequestId, SyscallEvent, TaskEvent},
    hash::IntHasher,
    syscalls::{
        self,
        data::{Dir, direction},
        nr,
    },
};
use patterns::{Found, Patterns};
use stream::Streams;

/// The `Anomaly::kind` of request bleed.
pub const REQUEST_BLEED: &str = "request_bleed";

/// How many inbound IDs a request connection remembers.
const RECENT: usize = 8;

pub struct Attributor {
    patterns: Patterns,
    streams: Streams,
    /// tid → the request it is serving.
    threads: HashMap<u32, RequestId, IntHasher>,
    /// (tgid, fd) of request connections → the IDs that came in on them.
    conns: HashMap<(u32, i32), Recent, IntHasher>,
    /// (tgid, fd) on which an ID went out before any came in: the client
    /// side of a connection (or a log), never a request connection.
    clients: HashSet<(u32, i32), IntHasher>,
    /// (tgid, fd) → when the syscall that made its current incarnation
    /// (`accept`, `open`, `dup`, …) returned: closes that entered before
    /// then are late reports about the previous one (rule 7).
    opened: HashMap<(u32, i32), u64, IntHasher>,
    /// Every ID seen, so that each is one shared allocation.
    interned: HashSet<RequestId>,
    /// Size of `interned` at which IDs no longer referenced are dropped.
    sweep_at: usize,
    /// Reused per event: matches, then the IDs they found, by position,
    /// with the pattern number of each.
    found: Vec<Found>,
    ids: Vec<(usize, RequestId)>,
}

impl std::fmt::Debug for Attributor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attributor")
            .field("threads", &self.threads.len())
            .field("conns", &self.conns.len())
            .finish_non_exhaustive()
    }
}

impl Default for Attributor {
    /// The built-in patterns.
    fn default() -> Self {
        Self::new(Patterns::new(Vec::new(), true))
    }
}

impl Attributor {
    pub fn new(patterns: Patterns) -> Self {
        Self {
            patterns,
            streams: Streams::default(),
            threads: HashMap::default(),
            conns: HashMap::default(),
            clients: HashSet::default(),
            opened: HashMap::default(),
            interned: HashSet::new(),
            sweep_at: SWEEP_MIN,
            found: Vec::new(),
            ids: Vec::new(),
        }
    }

    /// Sets `ev.request`, learning request IDs from its captured data;
    /// returns an anomaly when the event writes another request's ID.
    pub fn syscall(&mut self, ev: &mut SyscallEvent) -> Option<Anomaly> {
        // Nothing learnt yet and nothing to learn from: the common case
        // without capture costs this one test.
        if ev.data.is_none()
            && self.threads.is_empty()
            && self.conns.is_empty()
            && self.clients.is_empty()
            && self.streams.is_empty()
        {
            return None;
        }
        match direction(ev.nr) {
            Some(dir) => self.io(ev, dir),
            None => {
                ev.request = self.threads.get(&ev.tid).cloned();
                self.fd_lifecycle(ev);
                None
            }
        }
    }

    /// Forgets the state of tasks that exited; starts new threads on their
    /// creator's request.
    pub fn task(&mut self, ev: &TaskEvent) {
        match ev {
            TaskEvent::Spawned {
                parent_tid, tid, ..
            } => {
                if let Some(request) = self.threads.get(parent_tid).cloned() {
                    self.threads.insert(*tid, request);
                }
            }
            TaskEvent::Exited {
                tgid,
                tid,
                group_dead,
                ..
            } => {
                self.threads.remove(tid);
                if *group_dead {
                    self.conns.retain(|&(t, _), _| t != *tgid);
                    self.clients.retain(|&(t, _)| t != *tgid);
                    self.opened.retain(|&(t, _), _| t != *tgid);
                    self.streams.retain(|t, _| t != *tgid);
                }
            }
            TaskEvent::Named { .. } | TaskEvent::Signal { .. } | TaskEvent::Stopped { .. } => {}
        }
    }

    fn io(&mut self, ev: &mut SyscallEvent, dir: Dir) -> Option<Anomaly> {
        let fd = ev.args[0] as i32;
        let key = (ev.tgid, fd);
        let moved = match ev.ret {
            Some(ret) if ret > 0 => ret as usize,
            _ => 0,
        };
        self.ids.clear();
        if moved > 0 {
            match &ev.data {
                Some(data) => {
                    // A write may have sent less than it passed.
                    let bytes = &data.bytes[..data.bytes.len().min(moved)];
                    let complete = data.bytes.len() >= moved;
                    self.found.clear();
                    let hay = self.streams.scan(
                        (ev.tgid, fd, dir),
                        bytes,
                        complete,
                        &mut self.patterns,
                        &mut self.found,
                    );
                    for f in &self.found {
                        let id = intern(&mut self.interned, &hay[f.start..f.end]);
                        self.ids.push((f.pattern, id));
                    }
                    if self.interned.len() >= self.sweep_at {
                        self.sweep();
                    }
                }
                None if !self.streams.is_empty() => self.streams.gap((ev.tgid, fd, dir)),
                None => {}
            }
        }
        // The first ID of the highest-precedence pattern.
        let primary = self
            .ids
            .iter()
            .min_by_key(|(pattern, _)| *pattern)
            .map(|(_, id)| id.clone());
        let mut anomaly = None;
        match (dir, self.conns.get(&key)) {
            (Dir::In, _) if primary.is_some() => {
                if !self.clients.contains(&key) {
                    let conn = self.conns.entry(key).or_default();
                    for (_, id) in &self.ids {
                        conn.push(id);
                    }
                }
                self.threads.insert(ev.tid, primary.expect("checked"));
            }
            (Dir::In, Some(conn)) => adopt(&mut self.threads, ev.tid, conn),
            (Dir::In, None) => {}
            (Dir::Out, Some(conn)) => {
                adopt(&mut self.threads, ev.tid, conn);
                let foreign = self.ids.iter().find(|(_, id)| !conn.contains(id));
                if let Some((_, found)) = foreign {
                    anomaly = Some(Anomaly {
                        kind: REQUEST_BLEED.to_string(),
                        tgid: ev.tgid,
                        tid: ev.tid,
                        fd,
                        ts_ns: ev.enter_ns,
                        attributed: self.threads[&ev.tid].clone(),
                        found: found.clone(),
                    });
                } else if let Some(primary) = primary {
                    self.threads.insert(ev.tid, primary);
                }
            }
            (Dir::Out, None) => {
                if let Some(primary) = primary {
                    self.threads.insert(ev.tid, primary);
                    self.clients.insert(key);
                }
            }
        }
        ev.request = self.threads.get(&ev.tid).cloned();
        anomaly
    }

    /// Closes and fd reuse: forget what the fd carried.
    fn fd_lifecycle(&mut self, ev: &SyscallEvent) {
        if self.conns.is_empty() && self.streams.is_empty() && self.clients.is_empty() {
            return;
        }
        // Rule 7: a close that entered before the fd was last handed out.
        let stale = |opened: &HashMap<(u32, i32), u64, IntHasher>, key| {
            opened.get(&key).is_some_and(|&at| ev.enter_ns < at)
        };
        match ev.nr {
            nr::CLOSE => {
                let key = (ev.tgid, ev.args[0] as i32);
                if stale(&self.opened, key) {
                    return;
                }
                self.opened.remove(&key);
                if let Some(conn) = self.conns.remove(&key)
                    && let Some(current) = self.threads.get(&ev.tid)
                    && conn.contains(current)
                {
                    self.threads.remove(&ev.tid);
                }
                self.clients.remove(&key);
                self.streams.forget_fd(key.0, key.1);
            }
            nr::CLOSE_RANGE => {
                let (tgid, first, last) = (ev.tgid, ev.args[0], ev.args[1]);
                let in_range = |t: u32, fd: i32| t == tgid && (first..=last).contains(&(fd as u64));
                let opened = &self.opened;
                let closed = |t: u32, fd: i32| in_range(t, fd) && !stale(opened, (t, fd));
                self.conns.retain(|&(t, fd), _| !closed(t, fd));
                self.clients.retain(|&(t, fd)| !closed(t, fd));
                self.streams.retain(|t, fd| !closed(t, fd));
                let enter_ns = ev.enter_ns;
                self.opened
                    .retain(|&(t, fd), &mut at| !(in_range(t, fd) && enter_ns >= at));
            }
            _ if let Some(fd) = syscalls::new_fd(ev.nr, &ev.args, ev.ret) => {
                let key = (ev.tgid, fd);
                let at = ev.exit_ns.unwrap_or(ev.enter_ns);
                // Reported after a newer incarnation of the same number.
                if self.opened.get(&key).is_some_and(|&newer| at < newer) {
                    return;
                }
                self.opened.insert(key, at);
                self.conns.remove(&key);
                self.clients.remove(&key);
                self.streams.forget_fd(key.0, key.1);
            }
            _ => {}
        }
    }

    /// Drops the IDs nothing refers to any more (no thread, connection or
    /// event): a long trace sees every request once.
    fn sweep(&mut self) {
        self.interned.retain(|id| Arc::strong_count(id) > 1);
        self.sweep_at = (self.interned.len() * 2).max(SWEEP_MIN);
    }
}

/// `interned` sizes below this are never swept.
const SWEEP_MIN: usize = 4096;

/// Puts `tid` on `conn`'s request unless it serves one of its requests.
fn adopt(threads: &mut HashMap<u32, RequestId, IntHasher>, tid: u32, conn: &Recent) {
    if threads.get(&tid).is_some_and(|r| conn.contains(r)) {
        return;
    }
    if let Some(latest) = conn.latest() {
        threads.insert(tid, latest.clone());
    }
}

/// The shared copy of the ID in `bytes`: made printable (control bytes and
/// invalid UTF-8 replaced), allocated only the first time it is seen.
fn intern(interned: &mut HashSet<RequestId>, bytes: &[u8]) -> RequestId {
    let clean = std::str::from_utf8(bytes)
        .ok()
        .filter(|s| !s.bytes().any(|b| b.is_ascii_control()));
    if let Some(text) = clean
        && let Some(id) = interned.get(text)
    {
        return id.clone();
    }
    let text: String = match clean {
        Some(text) => text.to_owned(),
        None => String::from_utf8_lossy(bytes)
            .chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect(),
    };
    if let Some(id) = interned.get(text.as_str()) {
        return id.clone();
    }
    let id: RequestId = Arc::from(text);
    interned.insert(id.clone());
    id
}

/// The last IDs that came in on a request connection.
#[derive(Debug, Default)]
struct Recent {
    ids: [Option<RequestId>; RECENT],
    /// Slot of the latest, and of the next to overwrite.
    latest: usize,
    next: usize,
}

impl Recent {
    fn contains(&self, id: &RequestId) -> bool {
        self.ids.iter().flatten().any(|r| r == id)
    }

    fn latest(&self) -> Option<&RequestId> {
        self.ids[self.latest].as_ref()
    }

    fn push(&mut self, id: &RequestId) {
        if let Some(slot) = self.ids.iter().position(|r| r.as_ref() == Some(id)) {
            self.latest = slot;
            return;
        }
        self.ids[self.next] = Some(id.clone());
        self.latest = self.next;
        self.next = (self.next + 1) % RECENT;
    }
}

/// Whether attribution uses syscall `nr`: the data syscalls it searches,
/// and those that close or reuse an fd ([`Attributor::fd_lifecycle`]). A
/// narrow `-e` still records these in the kernel while attribution is on.
pub fn needs(nr: u32) -> bool {
    direction(nr).is_some() || nr == nr::CLOSE || nr == nr::CLOSE_RANGE || syscalls::returns_fd(nr)
}

#[cfg(test)]
mod tests;
