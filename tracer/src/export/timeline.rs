//! The timeline model the Perfetto and Chrome exports share: which names
//! the tracks of threads and processes carry, which thread serves which
//! request and the spans that makes ([`Requests`]), and syscalls per second
//! per process ([`Rates`]).
//!
//! It knows nothing of either format: each sink asks it what happened
//! (a span closed, a process ended, a task was renamed) and writes that in
//! its own encoding, so the two timelines cannot disagree. It keeps state
//! per task, process and request being served, never per event.

use std::collections::HashMap;

use crate::{
    event::{RequestId, SyscallEvent, TaskEvent},
    pipeline::Tasks,
};

/// The state a timeline sink keeps besides its own encoding: task names,
/// requests, rates, and the names its thread and process tracks were given.
#[derive(Default)]
pub(crate) struct Timeline {
    pub names: Names,
    pub requests: Requests,
    pub rates: Rates,
    /// Thread tracks named so far: tid -> (tgid, name given).
    threads: HashMap<u32, (u32, String)>,
    /// Process tracks named so far: tgid -> name given.
    processes: HashMap<u32, String>,
}

/// The tracks a task's first event needs: the name for each one the sink
/// has not written yet (its process's first).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct NewTracks {
    pub process: Option<String>,
    pub thread: Option<String>,
}

/// A track whose name changed (an exec, or a name learnt after the task's
/// first event): the sink writes its name again.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Rename {
    Thread { tgid: u32, tid: u32, name: String },
    Process { tgid: u32, name: String },
}

/// What one task event does to the timeline, for the sink to write.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TaskStep {
    /// The request span closed by the task's exit.
    pub closed: Option<Span>,
    /// The task's process ended (its thread group is dead): the last
    /// samples of its rate counter. Its tracks are forgotten, to be named
    /// again should the ids come back.
    pub ended: Option<Vec<Sample>>,
    /// Tracks to name again, thread first, at the event's time.
    pub renamed: Vec<Rename>,
}

impl Timeline {
    /// The tracks `tid` of process `tgid` needs named before its first
    /// event; they count as named from now on.
    pub fn new_tracks(&mut self, tasks: &Tasks, tgid: u32, tid: u32) -> NewTracks {
        let mut new = NewTracks::default();
        if !self.processes.contains_key(&tgid) {
            let name = self.names.comm(tasks, tgid, tgid).to_owned();
            self.processes.insert(tgid, name.clone());
            new.process = Some(name);
        }
        if self.threads.get(&tid).map(|t| t.0) != Some(tgid) {
            let name = self.names.comm(tasks, tid, tgid).to_owned();
            self.threads.insert(tid, (tgid, name.clone()));
            new.thread = Some(name);
        }
        new
    }

    /// The task step both timelines share: names, requests and rates
    /// follow `ev`, and the sink learns what to write.
    pub fn task(&mut self, ev: &TaskEvent, tasks: &Tasks) -> TaskStep {
        self.names.task(ev);
        let mut step = TaskStep {
            closed: self.requests.task(ev),
            ..Default::default()
        };
        if let TaskEvent::Exited {
            tgid,
            tid,
            group_dead,
            ..
        } = ev
        {
            self.threads.remove(tid);
            if *group_dead {
                self.processes.remove(tgid);
                step.ended = Some(self.rates.end(*tgid));
            }
            return step;
        }
        // Named again after an exec, or once the name of a task whose first
        // syscall came before its spawn event is known.
        let tid = ev.tid();
        let Some((tgid, old)) = self.threads.get(&tid) else {
            return step;
        };
        let tgid = *tgid;
        let name = self.names.comm(tasks, tid, tgid);
        if old.as_str() != name {
            step.renamed.push(Rename::Thread {
                tgid,
                tid,
                name: name.to_owned(),
            });
            self.threads.insert(tid, (tgid, name.to_owned()));
        }
        if tid == tgid
            && let Some(process) = self.processes.get_mut(&tgid)
            && process.as_str() != name
        {
            step.renamed.push(Rename::Process {
                tgid,
                name: name.to_owned(),
            });
            *process = name.to_owned();
        }
        step
    }
}

/// Task names for the exports: a task's own, else its process's, else its
/// creator's, which a forked task inherits (a source may not have read the
/// name of a child that exited at once).
#[derive(Default)]
pub(crate) struct Names {
    parent: HashMap<u32, u32>,
}

impl Names {
    pub fn task(&mut self, ev: &TaskEvent) {
        match ev {
            TaskEvent::Spawned {
                tid, parent_tid, ..
            } => {
                self.parent.insert(*tid, *parent_tid);
            }
            TaskEvent::Exited { tid, .. } => {
                self.parent.remove(tid);
            }
            TaskEvent::Named { .. } | TaskEvent::Signal { .. } | TaskEvent::Stopped { .. } => {}
        }
    }

    pub fn comm<'a>(&self, tasks: &'a Tasks, tid: u32, tgid: u32) -> &'a str {
        if let Some(name) = tasks.comm(tid).or_else(|| tasks.comm(tgid)) {
            return name;
        }
        let mut task = tid;
        // A chain of creators, bounded should it ever loop.
        for _ in 0..16 {
            match self.parent.get(&task) {
                Some(&parent) if parent != task => task = parent,
                _ => break,
            }
            if let Some(name) = tasks.comm(task) {
                return name;
            }
        }
        ""
    }
}

/// Where a request entered a thread: the first syscall a thread made for
/// it after serving something else (or nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub tgid: u32,
    pub tid: u32,
    pub ts_ns: u64,
}

/// A stretch of time during which at least one thread served a request:
/// from the start of its earliest syscall to the end of its latest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub request: RequestId,
    /// Unique per span, from 1.
    pub id: u64,
    /// The process where the span began.
    pub tgid: u32,
    pub start_ns: u64,
    pub end_ns: u64,
    /// How many times the request entered a thread during the span.
    pub entries: u64,
}

struct Open {
    span: Span,
    /// Threads serving the request now.
    serving: u32,
    last_entry: Entry,
}

/// What one syscall did to the requests.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// The syscall is where its request entered the thread; with the
    /// previous entry of the same request, if it is served or was recently.
    pub entry: Option<Option<Entry>>,
    /// The thread stopped serving a request that no thread serves now.
    pub closed: Option<Span>,
}

/// Follows which thread serves which request, for the flows and the
/// per-request tracks. Keeps state for the requests being served, and the
/// last entry of the [`RECENT`] requests served last.
#[derive(Default)]
pub(crate) struct Requests {
    serving: HashMap<u32, RequestId>,
    open: HashMap<RequestId, Open>,
    spans: u64,
    /// Requests no thread serves now, oldest first, with their last entry:
    /// a request that goes back to being served (events arrive as calls
    /// end, so a hand-off can be seen after the sender moved on) links up.
    recent: HashMap<RequestId, Entry>,
    recent_order: std::collections::VecDeque<RequestId>,
}

/// How many requests no longer served [`Requests`] remembers.
pub(crate) const RECENT: usize = 4096;

impl Requests {
    pub fn syscall(&mut self, ev: &SyscallEvent) -> Step {
        let mut step = Step::default();
        let current = self.serving.get(&ev.tid);
        if current.map(|r| &**r) != ev.request.as_deref() {
            if let Some(old) = current.cloned() {
                self.serving.remove(&ev.tid);
                step.closed = self.leave(&old);
            }
            if let Some(request) = &ev.request {
                let entry = Entry {
                    tgid: ev.tgid,
                    tid: ev.tid,
                    ts_ns: ev.enter_ns,
                };
                self.serving.insert(ev.tid, request.clone());
                let previous = match self.open.get_mut(request) {
                    Some(open) => {
                        open.serving += 1;
                        open.span.entries += 1;
                        Some(std::mem::replace(&mut open.last_entry, entry))
                    }
                    None => {
                        self.spans += 1;
                        let span = Span {
                            request: request.clone(),
                            id: self.spans,
                            tgid: ev.tgid,
                            start_ns: ev.enter_ns,
                            end_ns: ev.enter_ns,
                            entries: 1,
                        };
                        let open = Open {
                            span,
                            serving: 1,
                            last_entry: entry,
                        };
                        self.open.insert(request.clone(), open);
                        self.recent.remove(request)
                    }
                };
                step.entry = Some(previous);
            }
        }
        if let Some(request) = &ev.request
            && let Some(open) = self.open.get_mut(request)
        {
            // Events come in roughly as syscalls end: a call of another
            // thread may have begun before the span's first.
            let end = ev.exit_ns.unwrap_or(ev.enter_ns);
            open.span.start_ns = open.span.start_ns.min(ev.enter_ns);
            open.span.end_ns = open.span.end_ns.max(end);
        }
        step
    }

    /// A task exited: it serves nothing any more.
    pub fn task(&mut self, ev: &TaskEvent) -> Option<Span> {
        let TaskEvent::Exited { tid, .. } = ev else {
            return None;
        };
        let old = self.serving.remove(tid)?;
        self.leave(&old)
    }

    /// Every span still open, by start time: the trace is over.
    pub fn finish(&mut self) -> Vec<Span> {
        self.serving.clear();
        let mut spans: Vec<Span> = self.open.drain().map(|(_, open)| open.span).collect();
        spans.sort_by_key(|s| (s.start_ns, s.id));
        spans
    }

    fn leave(&mut self, request: &RequestId) -> Option<Span> {
        let open = self.open.get_mut(request)?;
        open.serving = open.serving.saturating_sub(1);
        if open.serving > 0 {
            return None;
        }
        let open = self.open.remove(request)?;
        if self
            .recent
            .insert(request.clone(), open.last_entry)
            .is_none()
        {
            self.recent_order.push_back(request.clone());
        }
        while self.recent_order.len() > RECENT {
            if let Some(old) = self.recent_order.pop_front() {
                self.recent.remove(&old);
            }
        }
        Some(open.span)
    }
}

/// Syscalls per second per process, in one-second buckets from the first
/// event of the trace.
#[derive(Default)]
pub(crate) struct Rates {
    origin: Option<u64>,
    buckets: HashMap<u32, (u64, u64)>,
}

/// A value of a process's rate counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    pub tgid: u32,
    pub ts_ns: u64,
    pub count: u64,
}

pub(crate) const SECOND: u64 = 1_000_000_000;

impl Rates {
    /// Counts one syscall of `tgid` at `ts_ns`; hands `emit` the samples of
    /// the buckets this closes: the count of the finished second, and a
    /// zero when seconds without syscalls follow.
    pub fn count(&mut self, tgid: u32, ts_ns: u64, mut emit: impl FnMut(Sample)) {
        let origin = *self.origin.get_or_insert(ts_ns);
        let second = ts_ns.saturating_sub(origin) / SECOND;
        let (current, count) = self.buckets.entry(tgid).or_insert((second, 0));
        // Events of a process arrive nearly in order; a late one counts in
        // the current second.
        if second > *current {
            emit(Sample {
                tgid,
                ts_ns: origin + *current * SECOND,
                count: *count,
            });
            if second > *current + 1 {
                emit(Sample {
                    tgid,
                    ts_ns: origin + (*current + 1) * SECOND,
                    count: 0,
                });
            }
            *current = second;
            *count = 0;
        }
        *count += 1;
    }

    /// The last bucket of a process that exited, and a zero after it.
    pub fn end(&mut self, tgid: u32) -> Vec<Sample> {
        match (self.origin, self.buckets.remove(&tgid)) {
            (Some(origin), Some((second, count))) => vec![
                Sample {
                    tgid,
                    ts_ns: origin + second * SECOND,
                    count,
                },
                Sample {
                    tgid,
                    ts_ns: origin + (second + 1) * SECOND,
                    count: 0,
                },
            ],
            _ => Vec::new(),
        }
    }

    /// The last bucket of every process, and a zero after it.
    pub fn finish(&mut self) -> Vec<Sample> {
        let Some(origin) = self.origin else {
            return Vec::new();
        };
        let mut samples = Vec::new();
        let mut buckets: Vec<(u32, (u64, u64))> = self.buckets.drain().collect();
        buckets.sort_unstable();
        for (tgid, (second, count)) in buckets {
            samples.push(Sample {
                tgid,
                ts_ns: origin + second * SECOND,
                count,
            });
            samples.push(Sample {
                tgid,
                ts_ns: origin + (second + 1) * SECOND,
                count: 0,
            });
        }
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{export::tests::event, pipeline::Pipeline};

    #[test]
    fn requests_enter_hand_off_and_close() {
        let mut r = Requests::default();
        // Thread 1 takes request a, thread 2 joins it, thread 1 moves on.
        let s = r.syscall(&event(1, 1, 100, Some("a")));
        assert_eq!(s.entry, Some(None));
        assert!(r.syscall(&event(1, 1, 200, Some("a"))).entry.is_none());
        let s = r.syscall(&event(1, 2, 300, Some("a")));
        let first = Entry {
            tgid: 1,
            tid: 1,
            ts_ns: 100,
        };
        assert_eq!(s.entry, Some(Some(first)));
        let s = r.syscall(&event(1, 1, 400, Some("b")));
        assert!(s.closed.is_none(), "thread 2 still serves a");
        // Thread 2 stops serving: a is closed, spanning 100..310.
        let s = r.syscall(&event(1, 2, 500, None));
        let span = s.closed.unwrap();
        assert_eq!(
            (&*span.request, span.start_ns, span.end_ns),
            ("a", 100, 310)
        );
        assert_eq!(span.entries, 2);
        // Back to a: a new span, linked to a's last entry.
        let s = r.syscall(&event(1, 2, 550, Some("a")));
        let last = Entry {
            tgid: 1,
            tid: 2,
            ts_ns: 300,
        };
        assert_eq!(s.entry, Some(Some(last)));
        assert_eq!(r.syscall(&event(1, 2, 560, None)).closed.unwrap().id, 3);
        // b ends with its thread.
        let exited = TaskEvent::Exited {
            ts_ns: 600,
            tgid: 1,
            tid: 1,
            group_dead: false,
            comm: String::new(),
            status: None,
        };
        assert_eq!(&*r.task(&exited).unwrap().request, "b");
        assert!(r.finish().is_empty());
    }

    #[test]
    fn spans_cover_calls_that_began_earlier() {
        // Thread 2's call began before thread 1's but ended after it, so it
        // arrives second.
        let mut r = Requests::default();
        r.syscall(&event(1, 1, 100, Some("a")));
        let mut late = event(1, 2, 50, Some("a"));
        late.exit_ns = Some(400);
        r.syscall(&late);
        let span = r.finish().pop().unwrap();
        assert_eq!((span.start_ns, span.end_ns), (50, 400));
    }

    #[test]
    fn forked_tasks_inherit_their_creators_name() {
        let mut pipeline = Pipeline::new(Default::default(), vec![]);
        pipeline.add_task(5, 5, Some("server".into()), 0).unwrap();
        let mut names = Names::default();
        // The source could not read the child's name: it had exited.
        let spawned = TaskEvent::Spawned {
            ts_ns: 1,
            parent_tgid: 5,
            parent_tid: 5,
            tid: 6,
            comm: String::new(),
        };
        names.task(&spawned);
        pipeline.push(crate::event::Event::Task(spawned)).unwrap();
        assert_eq!(names.comm(pipeline.tasks(), 6, 6), "server");
        assert_eq!(names.comm(pipeline.tasks(), 7, 7), "");
    }

    #[test]
    fn rates_per_second() {
        let mut rates = Rates::default();
        let mut out = Vec::new();
        for ts in [0, 10, 20, SECOND + 5, 3 * SECOND] {
            rates.count(7, 1000 + ts, |s| out.push(s));
        }
        let s = |ts_ns, count| Sample {
            tgid: 7,
            ts_ns: 1000 + ts_ns,
            count,
        };
        assert_eq!(out, [s(0, 3), s(SECOND, 1), s(2 * SECOND, 0)]);
        assert_eq!(rates.finish(), [s(3 * SECOND, 1), s(4 * SECOND, 0)]);
        rates.count(7, 1000, |_| {});
        assert_eq!(rates.end(7), [s(0, 1), s(SECOND, 0)]);
        assert!(rates.end(7).is_empty() && rates.finish().is_empty());
    }

    #[test]
    fn the_task_step_names_renames_and_ends_tracks() {
        let mut pipeline = Pipeline::new(Default::default(), vec![]);
        pipeline.add_task(5, 5, Some("sh".into()), 0).unwrap();
        let mut t = Timeline::default();
        let named = |name: &str| NewTracks {
            process: Some(name.into()),
            thread: Some(name.into()),
        };
        assert_eq!(t.new_tracks(pipeline.tasks(), 5, 5), named("sh"));
        assert_eq!(t.new_tracks(pipeline.tasks(), 5, 5), NewTracks::default());
        t.rates.count(5, 100, |_| {});

        // An exec: both tracks of the main thread are named again, once.
        let exec = TaskEvent::Named {
            ts_ns: 10,
            tgid: 5,
            tid: 5,
            comm: "server".into(),
            owner: None,
        };
        pipeline
            .push(crate::event::Event::Task(exec.clone()))
            .unwrap();
        let step = t.task(&exec, pipeline.tasks());
        let name = String::from("server");
        let renamed = [
            Rename::Thread {
                tgid: 5,
                tid: 5,
                name: name.clone(),
            },
            Rename::Process { tgid: 5, name },
        ];
        assert_eq!(step.renamed, renamed);
        assert_eq!((step.closed, step.ended), (None, None));
        assert!(t.task(&exec, pipeline.tasks()).renamed.is_empty());

        // The process ends: its counter's last samples, and its tracks
        // are forgotten, to be named again should the pid come back.
        let exit = TaskEvent::Exited {
            ts_ns: 20,
            tgid: 5,
            tid: 5,
            group_dead: true,
            comm: "server".into(),
            status: None,
        };
        let step = t.task(&exit, pipeline.tasks());
        let sample = |ts_ns, count| Sample {
            tgid: 5,
            ts_ns,
            count,
        };
        assert_eq!(
            step.ended,
            Some(vec![sample(100, 1), sample(100 + SECOND, 0)])
        );
        assert!(step.renamed.is_empty());
        assert_eq!(t.new_tracks(pipeline.tasks(), 5, 5), named("server"));
    }
}
