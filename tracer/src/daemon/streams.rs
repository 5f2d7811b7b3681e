//! Streaming a watch's events to clients (`ctl stream`) as the text lines
//! `tracer record` prints.
//!
//! The collector thread must never wait for a client: each stream renders
//! into a buffer, the buffer is sent in chunks on a bounded channel, and a
//! client too slow to keep up loses lines (it is told how many) rather than
//! hold up recording.

use std::{cell::RefCell, io, rc::Rc};

use tokio::sync::mpsc;

use crate::{
    event::Event,
    output::text::{TextOptions, TextSink},
    pipeline::Pipeline,
};

/// A client following a watch's events as text.
pub struct Stream {
    tx: mpsc::Sender<Vec<u8>>,
    pipeline: Pipeline,
    buf: Rc<RefCell<Vec<u8>>>,
    dropped: u64,
}

/// `Write` into a buffer shared with the stream, which sends it on.
struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl io::Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream {
    /// A stream to `tx` that already knows the processes `known` (tgid,
    /// name), so their lines carry names.
    pub fn new(tx: mpsc::Sender<Vec<u8>>, known: Vec<(u32, String)>, now: u64) -> Self {
        let buf = Rc::new(RefCell::new(Vec::new()));
        let sink = TextSink::new(SharedBuf(Rc::clone(&buf)), TextOptions::default());
        let mut pipeline = Pipeline::new(Default::default(), vec![Box::new(sink)]);
        for (tgid, comm) in known {
            let _ = pipeline.add_task(tgid, tgid, Some(comm), now);
        }
        Stream {
            tx,
            pipeline,
            buf,
            dropped: 0,
        }
    }

    /// A process joined the watch.
    pub fn add_process(&mut self, tgid: u32, now: u64) {
        let _ = self.pipeline.add_task(tgid, tgid, None, now);
    }

    /// Renders `event` into the buffer.
    pub fn push(&mut self, event: &Event) {
        let _ = self.pipeline.push(event.clone());
    }

    /// Sends what is buffered; false when the client went away.
    pub fn flush(&mut self) -> bool {
        let mut buf = self.buf.borrow_mut();
        if buf.is_empty() {
            return !self.tx.is_closed();
        }
        let mut chunk = std::mem::take(&mut *buf);
        if self.dropped > 0 && self.tx.capacity() > 1 {
            let note = format!("tracer: {} lines dropped (client too slow)\n", self.dropped);
            chunk.splice(0..0, note.into_bytes());
            self.dropped = 0;
        }
        match self.tx.try_send(chunk) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(chunk)) => {
                self.dropped += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
                true
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    /// The watch ends: what is buffered still goes out, then the stream
    /// ends (when it is dropped).
    pub fn close(&self) {
        let chunk = std::mem::take(&mut *self.buf.borrow_mut());
        if !chunk.is_empty() {
            let _ = self.tx.try_send(chunk);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SyscallEvent;

    fn getpid(tgid: u32, ts: u64) -> Event {
        Event::Syscall(SyscallEvent {
            tgid,
            tid: tgid,
            nr: crate::syscalls::by_name("getpid").unwrap(),
            args: [0; 6],
            enter_ns: ts,
            exit_ns: Some(ts + 1),
            ret: Some(i64::from(tgid)),
            strings: None,
            data: None,
            request: None,
            stack: None,
        })
    }

    #[test]
    fn lines_go_out_and_a_slow_client_is_told_what_it_lost() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut s = Stream::new(tx, vec![(7, "app".into())], 0);
        s.push(&getpid(7, 1));
        assert!(s.flush());
        let first = String::from_utf8(rx.try_recv().unwrap()).unwrap();
        assert!(first.contains("getpid()"), "{first}");
        // The channel holds two chunks: the third is lost.
        for ts in 2..=4 {
            s.push(&getpid(7, ts));
            assert!(s.flush());
        }
        assert_eq!(s.dropped, 1);
        rx.try_recv().unwrap();
        rx.try_recv().unwrap();
        s.push(&getpid(7, 5));
        assert!(s.flush());
        let note = String::from_utf8(rx.try_recv().unwrap()).unwrap();
        assert!(
            note.starts_with("tracer: 1 lines dropped (client too slow)\n"),
            "{note}"
        );
        drop(rx);
        s.push(&getpid(7, 6));
        assert!(!s.flush(), "a client that hung up ends its stream");
    }
}
