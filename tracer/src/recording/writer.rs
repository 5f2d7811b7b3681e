//! Writes a recording as events arrive: one frame per event, strings
//! interned, timestamps as deltas. A sink like any other, so a recording
//! holds exactly what the other outputs of the same run were given.

use std::{
    collections::HashMap,
    fs::File,
    io::{self, BufWriter, Write},
    path::Path,
    sync::Arc,
};

use anyhow::{Context as _, Result};

use super::format::{
    Append, ArgsCache, Bytes, EndRecord, Header, MAGIC, MAX_MAPS, MAX_PAYLOAD, MAX_STRING_BYTES,
    MAX_STRINGS, MappingFrame, MapsFrame, Record, StackFrame, SyscallFrame, VERSION, delta, varint,
};
use crate::{
    clock::clock_ns,
    event::{Anomaly, SyscallEvent, TaskEvent},
    pipeline::{RunInfo, Sink, Tasks},
    stacks::{ProcessMaps, UserStack},
};

/// Trace time between flushes: a tracer killed with SIGKILL loses at most
/// about this much of the recording (plus what the source still held).
const FLUSH_EVERY_NS: u64 = 1_000_000_000;

impl Header {
    /// The header of a recording that starts now on this machine.
    pub fn now(mode: &str, command: Vec<String>, targets: Vec<u32>, keep_payload: bool) -> Header {
        let proc_text = |path: &str| {
            std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let mono = clock_ns(libc::CLOCK_MONOTONIC);
        Header {
            version: VERSION,
            host: proc_text("/proc/sys/kernel/hostname"),
            kernel: proc_text("/proc/sys/kernel/osrelease"),
            mode: mode.to_owned(),
            command,
            targets,
            start_ns: mono,
            realtime_offset_ns: realtime_offset_ns(),
            boottime_offset_ns: clock_offset_ns(libc::CLOCK_BOOTTIME),
            keep_payload,
        }
    }
}

/// `CLOCK_REALTIME - CLOCK_MONOTONIC` now. A live run that also writes a
/// recording shows its times with the offset in the header, so that the
/// report of the recording matches it to the microsecond.
pub fn realtime_offset_ns() -> i64 {
    clock_offset_ns(libc::CLOCK_REALTIME)
}

/// `clock - CLOCK_MONOTONIC` now.
fn clock_offset_ns(clock: libc::clockid_t) -> i64 {
    let mono = clock_ns(libc::CLOCK_MONOTONIC);
    (clock_ns(clock) as i128 - mono as i128) as i64
}

/// A recording being written to `W`.
pub struct Writer<W: Write> {
    out: W,
    /// The payload being encoded, reused.
    payload: Vec<u8>,
    /// Interned text → its string number.
    strings: HashMap<Box<str>, u32>,
    /// Their bytes together.
    string_bytes: usize,
    /// The last request ID interned: consecutive events of a thread mostly
    /// share it, and comparing pointers is cheaper than hashing.
    last_request: Option<(Arc<str>, u32)>,
    /// Timestamp of the previous record, the base of the next delta.
    last_ts: u64,
    args: ArgsCache,
    /// Flush once an event is at least this late.
    flush_at: u64,
    /// Maps written so far, by number (held, so that a pointer is never
    /// reused for other maps while it is known here).
    maps: Vec<Arc<ProcessMaps>>,
}

impl Writer<BufWriter<File>> {
    /// Creates (or truncates) `path`, mode 0600, and writes the header.
    pub fn create(path: &Path, header: &Header) -> Result<Self> {
        let file = crate::files::create_private(path)?;
        Writer::new(BufWriter::with_capacity(1 << 20, file), header)
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

impl<W: Write> Writer<W> {
    /// Starts a recording on `out`: magic, version, header.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        let mut writer = Self {
            out,
            payload: Vec::with_capacity(256),
            strings: HashMap::new(),
            string_bytes: 0,
            last_request: None,
            last_ts: header.start_ns,
            args: ArgsCache::default(),
            flush_at: header.start_ns.saturating_add(FLUSH_EVERY_NS),
            maps: Vec::new(),
        };
        let mut header = header.clone();
        header.version = VERSION;
        writer.write(&Record::Header(header))?;
        // The header is on disk even if tracer is killed before the first
        // event: the file is then an empty recording, not a broken one.
        writer.out.flush()?;
        Ok(writer)
    }

    /// Records the source's running total of lost events, for writers that
    /// know it before the end (the daemon); `finish` records the final one.
    #[allow(dead_code, reason = "for the daemon's dumps")]
    pub fn lost(&mut self, total: u64) -> io::Result<()> {
        self.write(&Record::Lost(total))
    }

    /// The output, flushed.
    #[allow(dead_code, reason = "for the daemon's dumps")]
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// Frames and writes one record.
    fn write(&mut self, record: &Record<'_>) -> io::Result<()> {
        self.payload.clear();
        postcard::serialize_with_flavor(record, Append(&mut self.payload))
            .map_err(io::Error::other)?;
        let len = u32::try_from(self.payload.len())
            .ok()
            .filter(|&len| len <= MAX_PAYLOAD)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "a record is too large for a recording",
                )
            })?;
        let (len, n) = varint(len);
        let mut frame = [0; 9];
        frame[..n].copy_from_slice(&len[..n]);
        frame[n..n + 4].copy_from_slice(&crc32fast::hash(&self.payload).to_le_bytes());
        self.out.write_all(&frame[..n + 4])?;
        self.out.write_all(&self.payload)
    }

    /// The string number of `text`, defining it first if new.
    fn intern(&mut self, text: &str) -> io::Result<u32> {
        if let Some(&n) = self.strings.get(text) {
            return Ok(n);
        }
        if self.strings.len() >= MAX_STRINGS || self.string_bytes + text.len() > MAX_STRING_BYTES {
            self.clear_strings()?;
        }
        let n = self.strings.len() as u32;
        self.write(&Record::Str(text))?;
        self.strings.insert(text.into(), n);
        self.string_bytes += text.len();
        Ok(n)
    }

    /// Starts the string table over unless every one of `texts` fits in
    /// it: a record that refers to several strings must not have the
    /// numbers of its first ones cleared while its last one is interned.
    fn reserve(&mut self, texts: &[&str]) -> io::Result<()> {
        let (mut count, mut bytes) = (0, 0);
        for text in texts.iter().filter(|t| !self.strings.contains_key(**t)) {
            count += 1;
            bytes += text.len();
        }
        if self.strings.len() + count > MAX_STRINGS || self.string_bytes + bytes > MAX_STRING_BYTES
        {
            self.clear_strings()?;
        }
        Ok(())
    }

    /// Forgets every string number, in the file and here.
    fn clear_strings(&mut self) -> io::Result<()> {
        self.write(&Record::ClearStrings)?;
        self.strings.clear();
        self.string_bytes = 0;
        self.last_request = None;
        Ok(())
    }

    fn intern_request(&mut self, request: &Arc<str>) -> io::Result<u32> {
        if let Some((last, n)) = &self.last_request
            && Arc::ptr_eq(last, request)
        {
            return Ok(*n);
        }
        let n = self.intern(request)?;
        self.last_request = Some((Arc::clone(request), n));
        Ok(n)
    }

    /// The maps number of `maps`, writing them first if new.
    fn maps_id(&mut self, maps: &Arc<ProcessMaps>) -> io::Result<u32> {
        if let Some(id) = self.maps.iter().rposition(|m| Arc::ptr_eq(m, maps)) {
            return Ok(id as u32);
        }
        if self.maps.len() >= MAX_MAPS as usize {
            self.maps.clear();
        }
        let id = self.maps.len() as u32;
        self.write(&Record::Maps(MapsFrame {
            id,
            tgid: maps.tgid,
            mappings: maps
                .mappings
                .iter()
                .map(|m| MappingFrame {
                    start: m.start,
                    end: m.end,
                    offset: m.offset,
                    path: &m.path,
                    build_id: m.build_id.as_deref(),
                })
                .collect(),
        }))?;
        self.maps.push(Arc::clone(maps));
        Ok(id)
    }

    /// Writes the record of `stack`, which precedes its syscall's.
    fn stack(&mut self, stack: &UserStack) -> io::Result<()> {
        let maps = match &stack.maps {
            Some(maps) => Some(self.maps_id(maps)?),
            None => None,
        };
        let names: Vec<&str> = stack
            .symbols
            .iter()
            .flatten()
            .flatten()
            .map(|s| &*s.name)
            .collect();
        self.reserve(&names)?;
        let mut symbols = Vec::new();
        for sym in stack.symbols.iter().flatten() {
            symbols.push(match sym {
                Some(sym) => Some((self.intern(&sym.name)?, sym.offset)),
                None => None,
            });
        }
        self.write(&Record::Stack(StackFrame {
            maps,
            ips: stack.ips.clone(),
            truncated: stack.truncated,
            symbols,
        }))
    }

    /// The delta to `ts`, which becomes the base of the next one.
    fn advance(&mut self, ts: u64) -> i64 {
        let d = delta(self.last_ts, ts);
        self.last_ts = ts;
        d
    }

    fn maybe_flush(&mut self, ts: u64) -> io::Result<()> {
        if ts >= self.flush_at {
            self.flush_at = ts.saturating_add(FLUSH_EVERY_NS);
            self.out.flush()?;
        }
        Ok(())
    }
}

impl<W: Write> Sink for Writer<W> {
    fn syscall(&mut self, ev: &SyscallEvent, _tasks: &Tasks) -> io::Result<()> {
        if let Some(stack) = &ev.stack {
            self.stack(stack)?;
            // Its strings may have started the table over.
            self.last_request = None;
        }
        let request = match &ev.request {
            Some(request) => Some(self.intern_request(request)?),
            None => None,
        };
        let enter = self.advance(ev.enter_ns);
        let mut args = ev.args;
        let mut same_args = 0;
        if let Some(previous) = self.args.get(ev.tid) {
            for (i, (arg, previous)) in args.iter_mut().zip(previous).enumerate() {
                if *arg == *previous && *arg != 0 {
                    *arg = 0;
                    same_args |= 1 << i;
                }
            }
        }
        self.args.set(ev.tid, ev.args);
        let record = Record::Syscall(SyscallFrame {
            tid: ev.tid,
            tgid_delta: i64::from(ev.tgid) - i64::from(ev.tid),
            nr: ev.nr,
            same_args,
            args,
            enter,
            exit: ev.exit_ns.map(|exit| exit.wrapping_sub(ev.enter_ns)),
            ret: ev.ret,
            strings: ev.strings.as_ref().map(|strings| {
                std::array::from_fn(|i| {
                    strings[i].as_ref().map(|s| Bytes {
                        bytes: &s.bytes,
                        truncated: s.truncated,
                    })
                })
            }),
            data: ev.data.as_ref().map(|d| Bytes {
                bytes: &d.bytes,
                truncated: d.truncated,
            }),
            request,
        });
        self.write(&record)?;
        self.maybe_flush(ev.enter_ns)
    }

    fn task(&mut self, event: &TaskEvent, _tasks: &Tasks) -> io::Result<()> {
        let record = match event {
            TaskEvent::Spawned {
                ts_ns,
                parent_tgid,
                parent_tid,
                tid,
                comm,
            } => Record::Spawned {
                comm: self.intern(comm)?,
                ts: self.advance(*ts_ns),
                parent_tgid: *parent_tgid,
                parent_tid: *parent_tid,
                tid: *tid,
            },
            TaskEvent::Named {
                ts_ns,
                tgid,
                tid,
                comm,
                ..
            } => Record::Named {
                comm: self.intern(comm)?,
                ts: self.advance(*ts_ns),
                tgid: *tgid,
                tid: *tid,
            },
            TaskEvent::Exited {
                ts_ns,
                tgid,
                tid,
                group_dead,
                comm,
                status: None,
            } => Record::Exited {
                comm: self.intern(comm)?,
                ts: self.advance(*ts_ns),
                tgid: *tgid,
                tid: *tid,
                group_dead: *group_dead,
            },
            TaskEvent::Exited {
                ts_ns,
                tgid,
                tid,
                group_dead,
                comm,
                status: Some(status),
            } => Record::ExitedWith {
                comm: self.intern(comm)?,
                ts: self.advance(*ts_ns),
                tgid: *tgid,
                tid: *tid,
                group_dead: *group_dead,
                status: *status,
            },
            TaskEvent::Signal {
                ts_ns,
                tgid,
                tid,
                info,
            } => Record::Signal {
                ts: self.advance(*ts_ns),
                tgid: *tgid,
                tid: *tid,
                signo: info.signo,
                errno: info.errno,
                code: info.code,
                fields: info.fields,
            },
            TaskEvent::Stopped {
                ts_ns,
                tgid,
                tid,
                signo,
            } => Record::Stopped {
                ts: self.advance(*ts_ns),
                tgid: *tgid,
                tid: *tid,
                signo: *signo,
            },
        };
        self.write(&record)
    }

    fn anomaly(&mut self, anomaly: &Anomaly, _tasks: &Tasks) -> io::Result<()> {
        self.reserve(&[&anomaly.kind, &anomaly.attributed, &anomaly.found])?;
        let record = Record::Anomaly {
            kind: self.intern(&anomaly.kind)?,
            attributed: self.intern(&anomaly.attributed)?,
            found: self.intern(&anomaly.found)?,
            ts: self.advance(anomaly.ts_ns),
            tgid: anomaly.tgid,
            tid: anomaly.tid,
            fd: anomaly.fd,
        };
        self.write(&record)
    }

    fn finish(&mut self, run: &RunInfo, _tasks: &Tasks) -> io::Result<()> {
        self.write(&Record::End(EndRecord {
            lost_events: run.lost_events,
            lost_tasks: run.lost_tasks,
            lost_captures: run.lost_captures,
            syscalls: run.syscalls,
            start_ns: run.start_ns,
            end_ns: run.end_ns,
            observer: run
                .observer
                .map(|o| (o.total_ns, o.machine_ns, o.slow_path_ns)),
        }))?;
        self.out.flush()
    }
}
