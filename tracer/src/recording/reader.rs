//! Reads a recording back one event at a time, in constant memory: one
//! frame buffer and at most [`MAX_STRINGS`] interned strings, whatever the
//! size of the file. Nothing in a file can make it panic: every length is
//! bounded, every number checked, every frame checksummed.

use std::{
    fs::File,
    io::{self, BufReader, Read},
    path::Path,
    sync::Arc,
};

use super::format::{
    ArgsCache, Bytes, END_TAG, EndRecord, EndRecordV1, Header, MAGIC, MAX_MAPS, MAX_PAYLOAD,
    MAX_STRING_BYTES, MAX_STRINGS, OLDEST_READABLE, Record, RecordingError, StackFrame,
    SyscallFrame, VERSION, apply,
};
use crate::{
    event::{Anomaly, ArgString, DataCapture, Event, SigInfo, SyscallEvent, TaskEvent},
    pipeline::{ObserverCost, RunInfo},
    stacks::{Mapping, ProcessMaps, Symbol, UserStack},
};

/// What a recording holds, in order; also what the daemon keeps in its
/// rings before they become recordings (one type for both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Event(Event),
    Anomaly(Anomaly),
}

impl Item {
    /// When it happened (`CLOCK_MONOTONIC` ns).
    pub fn ts(&self) -> u64 {
        match self {
            Item::Event(Event::Syscall(ev)) => ev.enter_ns,
            Item::Event(Event::Task(task)) => task.ts_ns(),
            Item::Anomaly(a) => a.ts_ns,
        }
    }
}

pub struct Reader<R: Read> {
    input: R,
    header: Header,
    /// Byte offset of the next frame, for error messages.
    offset: u64,
    /// The current frame's payload, reused.
    payload: Vec<u8>,
    strings: Vec<Arc<str>>,
    /// Their bytes together.
    string_bytes: usize,
    last_ts: u64,
    args: ArgsCache,
    /// Latest timestamp seen, the end of a recording cut short.
    latest_ts: u64,
    syscalls: u64,
    lost: u64,
    end: Option<EndRecord>,
    /// An error was returned: the iterator is over.
    failed: bool,
    /// Maps by number.
    maps: std::collections::HashMap<u32, Arc<ProcessMaps>>,
    /// The stack of the next syscall record.
    stack: Option<Box<UserStack>>,
}

impl Reader<BufReader<File>> {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let file = File::open(path)?;
        Reader::new(BufReader::with_capacity(1 << 16, file))
    }
}

impl<R: Read> Reader<R> {
    /// Reads the magic, the version and the header from `input`.
    pub fn new(mut input: R) -> Result<Self, RecordingError> {
        let mut start = [0; MAGIC.len() + 4];
        let got = read_full(&mut input, &mut start)?;
        let seen = got.min(MAGIC.len());
        if start[..seen] != MAGIC[..seen] {
            return Err(RecordingError::NotARecording);
        }
        if got < start.len() {
            return Err(RecordingError::NoHeader);
        }
        let version = u32::from_le_bytes(start[MAGIC.len()..].try_into().expect("4 bytes"));
        if !(OLDEST_READABLE..=VERSION).contains(&version) {
            return Err(RecordingError::Version { found: version });
        }
        let mut reader = Self {
            input,
            header: Header {
                version,
                host: String::new(),
                kernel: String::new(),
                mode: String::new(),
                command: vec![],
                targets: vec![],
                start_ns: 0,
                realtime_offset_ns: 0,
                boottime_offset_ns: 0,
                keep_payload: false,
            },
            offset: start.len() as u64,
            payload: Vec::new(),
            strings: Vec::new(),
            string_bytes: 0,
            last_ts: 0,
            args: ArgsCache::default(),
            latest_ts: 0,
            syscalls: 0,
            lost: 0,
            end: None,
            failed: false,
            maps: Default::default(),
            stack: None,
        };
        let at = reader.offset;
        match reader.frame() {
            Ok(true) => {}
            Ok(false) | Err(RecordingError::Truncated { .. }) => {
                return Err(RecordingError::NoHeader);
            }
            Err(e) => return Err(e),
        }
        let header = match decode(&reader.payload, at, version)? {
            Record::Header(header) => header,
            _ => {
                return Err(RecordingError::corrupt(
                    at,
                    "the first record is not a header",
                ));
            }
        };
        if header.version != version {
            return Err(RecordingError::corrupt(
                at,
                format!(
                    "the header says version {} in a version {version} file",
                    header.version
                ),
            ));
        }
        reader.last_ts = header.start_ns;
        reader.latest_ts = header.start_ns;
        reader.header = header;
        Ok(reader)
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The file ended with the record a finished run writes last.
    pub fn complete(&self) -> bool {
        self.end.is_some()
    }

    /// Syscall events read so far.
    pub fn syscalls_read(&self) -> u64 {
        self.syscalls
    }

    /// The run's totals: as the recorder wrote them at the end, or, for a
    /// recording cut short, what can be told from the events read.
    pub fn run(&self) -> RunInfo {
        let mode = match self.header.mode.as_str() {
            "ebpf" => "ebpf",
            "ptrace" => "ptrace",
            _ => "unknown",
        };
        match &self.end {
            Some(end) => RunInfo {
                mode,
                lost_events: end.lost_events,
                lost_tasks: end.lost_tasks,
                lost_captures: end.lost_captures,
                syscalls: end.syscalls,
                start_ns: end.start_ns,
                end_ns: end.end_ns,
                observer: end
                    .observer
                    .map(|(total_ns, machine_ns, slow_path_ns)| ObserverCost {
                        total_ns,
                        machine_ns,
                        slow_path_ns,
                    }),
            },
            None => RunInfo {
                mode,
                lost_events: self.lost,
                // Cut short: only the running total of lost events is kept.
                lost_tasks: 0,
                lost_captures: 0,
                syscalls: self.syscalls,
                start_ns: self.header.start_ns,
                end_ns: self.latest_ts.max(self.header.start_ns),
                observer: None,
            },
        }
    }

    /// The next event or anomaly; `None` at the end of the file (whole or
    /// cut short at a frame boundary: see [`Reader::complete`]).
    pub fn next_item(&mut self) -> Result<Option<Item>, RecordingError> {
        loop {
            let at = self.offset;
            if !self.frame()? {
                return Ok(None);
            }
            if self.end.is_some() {
                return Err(RecordingError::corrupt(at, "records after the end record"));
            }
            // Decoded records borrow the payload; take it out of `self`
            // meanwhile so that the string table can change.
            let payload = std::mem::take(&mut self.payload);
            let item =
                decode(&payload, at, self.header.version).and_then(|record| self.item(record, at));
            self.payload = payload;
            if let Some(item) = item? {
                return Ok(Some(item));
            }
        }
    }

    /// Turns a record into an item, or takes note of it.
    fn item(&mut self, record: Record<'_>, at: u64) -> Result<Option<Item>, RecordingError> {
        let item = match record {
            Record::Header(_) => return Err(RecordingError::corrupt(at, "a second header")),
            Record::Str(text) => {
                self.string_bytes += text.len();
                if self.strings.len() >= MAX_STRINGS || self.string_bytes > MAX_STRING_BYTES {
                    return Err(RecordingError::corrupt(at, "too many strings"));
                }
                self.strings.push(text.into());
                return Ok(None);
            }
            Record::ClearStrings => {
                self.strings.clear();
                self.string_bytes = 0;
                return Ok(None);
            }
            Record::Lost(total) => {
                self.lost = total;
                return Ok(None);
            }
            Record::End(end) => {
                self.end = Some(end);
                return Ok(None);
            }
            Record::Maps(maps) => {
                if maps.id >= MAX_MAPS {
                    return Err(RecordingError::corrupt(at, "maps number out of range"));
                }
                let mappings = maps
                    .mappings
                    .iter()
                    .map(|m| Mapping {
                        start: m.start,
                        end: m.end,
                        offset: m.offset,
                        path: m.path.into(),
                        build_id: m.build_id.map(Arc::from),
                    })
                    .collect();
                let maps_arc = Arc::new(ProcessMaps {
                    tgid: maps.tgid,
                    mappings,
                });
                self.maps.insert(maps.id, maps_arc);
                return Ok(None);
            }
            Record::Stack(stack) => {
                self.stack = Some(Box::new(self.user_stack(stack, at)?));
                return Ok(None);
            }
            Record::Syscall(record) => {
                let mut ev = self.syscall(record, at)?;
                ev.stack = self.stack.take();
                Item::Event(Event::Syscall(ev))
            }
            Record::Spawned {
                ts,
                parent_tgid,
                parent_tid,
                tid,
                comm,
            } => Item::Event(Event::Task(TaskEvent::Spawned {
                ts_ns: self.advance(ts),
                parent_tgid,
                parent_tid,
                tid,
                comm: self.string(comm, at)?.to_string(),
            })),
            Record::Named {
                ts,
                tgid,
                tid,
                comm,
            } => Item::Event(Event::Task(TaskEvent::Named {
                ts_ns: self.advance(ts),
                tgid,
                tid,
                comm: self.string(comm, at)?.to_string(),
                owner: None,
            })),
            Record::Exited {
                ts,
                tgid,
                tid,
                group_dead,
                comm,
            } => Item::Event(Event::Task(TaskEvent::Exited {
                ts_ns: self.advance(ts),
                tgid,
                tid,
                group_dead,
                comm: self.string(comm, at)?.to_string(),
                status: None,
            })),
            Record::ExitedWith {
                ts,
                tgid,
                tid,
                group_dead,
                comm,
                status,
            } => Item::Event(Event::Task(TaskEvent::Exited {
                ts_ns: self.advance(ts),
                tgid,
                tid,
                group_dead,
                comm: self.string(comm, at)?.to_string(),
                status: Some(status),
            })),
            Record::Signal {
                ts,
                tgid,
                tid,
                signo,
                errno,
                code,
                fields,
            } => Item::Event(Event::Task(TaskEvent::Signal {
                ts_ns: self.advance(ts),
                tgid,
                tid,
                info: SigInfo {
                    signo,
                    errno,
                    code,
                    fields,
                },
            })),
            Record::Stopped {
                ts,
                tgid,
                tid,
                signo,
            } => Item::Event(Event::Task(TaskEvent::Stopped {
                ts_ns: self.advance(ts),
                tgid,
                tid,
                signo,
            })),
            Record::Anomaly {
                kind,
                tgid,
                tid,
                fd,
                ts,
                attributed,
                found,
            } => Item::Anomaly(Anomaly {
                kind: self.string(kind, at)?.to_string(),
                tgid,
                tid,
                fd,
                ts_ns: self.advance(ts),
                attributed: self.string(attributed, at)?,
                found: self.string(found, at)?,
            }),
        };
        Ok(Some(item))
    }

    fn syscall(&mut self, r: SyscallFrame<'_>, at: u64) -> Result<SyscallEvent, RecordingError> {
        let tgid = i64::from(r.tid)
            .checked_add(r.tgid_delta)
            .and_then(|tgid| u32::try_from(tgid).ok())
            .ok_or_else(|| RecordingError::corrupt(at, "impossible thread group id"))?;
        let request = match r.request {
            Some(n) => Some(self.string(n, at)?),
            None => None,
        };
        let mut args = r.args;
        if r.same_args != 0 {
            let previous = self.args.get(r.tid).ok_or_else(|| {
                RecordingError::corrupt(at, "arguments refer to no earlier syscall")
            })?;
            for (i, (arg, previous)) in args.iter_mut().zip(previous).enumerate() {
                if r.same_args & (1 << i) != 0 {
                    *arg = *previous;
                }
            }
        }
        self.args.set(r.tid, args);
        let enter_ns = self.advance(r.enter);
        self.syscalls += 1;
        let owned = |b: Bytes<'_>| (b.bytes.to_vec(), b.truncated);
        Ok(SyscallEvent {
            tgid,
            tid: r.tid,
            nr: r.nr,
            args,
            enter_ns,
            exit_ns: r.exit.map(|d| enter_ns.wrapping_add(d)),
            ret: r.ret,
            strings: r.strings.map(|strings| {
                Box::new(strings.map(|s| {
                    s.map(owned)
                        .map(|(bytes, truncated)| ArgString { bytes, truncated })
                }))
            }),
            data: r
                .data
                .map(owned)
                .map(|(bytes, truncated)| Box::new(DataCapture { bytes, truncated })),
            request,
            stack: None,
        })
    }

    fn user_stack(&self, r: StackFrame, at: u64) -> Result<UserStack, RecordingError> {
        let maps = match r.maps {
            Some(id) => Some(
                self.maps
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| RecordingError::corrupt(at, format!("undefined maps {id}")))?,
            ),
            None => None,
        };
        if !r.symbols.is_empty() && r.symbols.len() != r.ips.len() {
            return Err(RecordingError::corrupt(
                at,
                "stack symbols do not match its frames",
            ));
        }
        let symbols = if r.symbols.is_empty() {
            None
        } else {
            let mut symbols = Vec::with_capacity(r.symbols.len());
            for sym in r.symbols {
                symbols.push(match sym {
                    Some((name, offset)) => Some(Symbol {
                        name: self.string(name, at)?,
                        offset,
                    }),
                    None => None,
                });
            }
            Some(symbols)
        };
        Ok(UserStack {
            ips: r.ips,
            truncated: r.truncated,
            maps,
            symbols,
        })
    }

    fn advance(&mut self, delta: i64) -> u64 {
        self.last_ts = apply(self.last_ts, delta);
        self.latest_ts = self.latest_ts.max(self.last_ts);
        self.last_ts
    }

    fn string(&self, n: u32, at: u64) -> Result<Arc<str>, RecordingError> {
        self.strings
            .get(n as usize)
            .cloned()
            .ok_or_else(|| RecordingError::corrupt(at, format!("undefined string {n}")))
    }

    /// Reads the next frame into `payload`. `Ok(false)` at a clean end of
    /// file (between frames).
    fn frame(&mut self) -> Result<bool, RecordingError> {
        let at = self.offset;
        let truncated = RecordingError::Truncated { offset: at };
        let mut len: u32 = 0;
        let mut prefix = 0u64;
        for i in 0..5 {
            let mut byte = [0; 1];
            if read_full(&mut self.input, &mut byte)? == 0 {
                return if i == 0 { Ok(false) } else { Err(truncated) };
            }
            prefix += 1;
            let bits = u32::from(byte[0] & 0x7f);
            if i == 4 && bits > 0x0f {
                return Err(RecordingError::corrupt(at, "record length overflows"));
            }
            len |= bits << (7 * i);
            if byte[0] & 0x80 == 0 {
                break;
            }
            if i == 4 {
                return Err(RecordingError::corrupt(at, "record length overflows"));
            }
        }
        if len > MAX_PAYLOAD {
            return Err(RecordingError::corrupt(
                at,
                format!("implausible record length {len}"),
            ));
        }
        let mut crc = [0; 4];
        if read_full(&mut self.input, &mut crc)? < crc.len() {
            return Err(truncated);
        }
        self.payload.clear();
        // `take` bounds the allocation by what the file really holds.
        (&mut self.input)
            .take(u64::from(len))
            .read_to_end(&mut self.payload)?;
        if self.payload.len() < len as usize {
            return Err(truncated);
        }
        if crc32fast::hash(&self.payload) != u32::from_le_bytes(crc) {
            return Err(RecordingError::corrupt(at, "checksum mismatch"));
        }
        // Keep large buffers from one huge payload from staying forever.
        if self.payload.capacity() > 1 << 20 && len < 1 << 16 {
            self.payload.shrink_to(1 << 16);
        }
        self.offset += prefix + 4 + u64::from(len);
        Ok(true)
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = Result<Item, RecordingError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        match self.next_item() {
            Ok(item) => item.map(Ok),
            Err(e) => {
                self.failed = true;
                Some(Err(e))
            }
        }
    }
}

/// A whole payload as one record of a file of `version`: trailing bytes
/// are as wrong as missing.
fn decode(payload: &[u8], at: u64, version: u32) -> Result<Record<'_>, RecordingError> {
    if version == 1 && payload.first() == Some(&END_TAG) {
        return match postcard::take_from_bytes::<(u8, EndRecordV1)>(payload) {
            Ok(((_, end), [])) => Ok(Record::End(end.into())),
            Ok(_) => Err(RecordingError::corrupt(at, "trailing bytes in a record")),
            Err(e) => Err(RecordingError::corrupt(at, format!("undecodable ({e})"))),
        };
    }
    match postcard::take_from_bytes::<Record<'_>>(payload) {
        Ok((record, [])) => Ok(record),
        Ok(_) => Err(RecordingError::corrupt(at, "trailing bytes in a record")),
        Err(e) => Err(RecordingError::corrupt(at, format!("undecodable ({e})"))),
    }
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}
