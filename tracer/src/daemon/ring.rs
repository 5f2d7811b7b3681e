//! The bounded ring of recent events that the daemon keeps per watched
//! process: what a dump is made of.
//!
//! A ring is bounded two ways at once, by age (`--keep`) and by bytes
//! (`--keep-bytes`), so that a quiet process keeps its last minutes and a
//! busy one cannot take the machine's memory. Sizes are estimates of what
//! an item holds on the heap, cheap enough to compute for every event.

use std::collections::VecDeque;

use crate::{
    event::{Event, TaskEvent},
    recording::Item,
};

/// How much history a ring keeps.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    /// Items older than this before the newest are dropped.
    pub ns: u64,
    /// The oldest items are dropped until the ring holds at most this.
    pub bytes: usize,
}

/// Approximate heap and inline bytes held by `item`.
pub fn item_bytes(item: &Item) -> usize {
    let extra = match item {
        Item::Event(Event::Syscall(ev)) => {
            ev.data.as_ref().map_or(0, |d| d.bytes.capacity() + 32)
                + ev.strings.as_ref().map_or(0, |s| {
                    std::mem::size_of_val(&**s)
                        + s.iter()
                            .flatten()
                            .map(|a| a.bytes.capacity())
                            .sum::<usize>()
                })
                // A stack's maps are shared by every stack of the process.
                + ev.stack.as_ref().map_or(0, |s| {
                    std::mem::size_of_val(&**s) + s.ips.capacity() * 8
                })
        }
        Item::Event(Event::Task(
            TaskEvent::Spawned { comm, .. }
            | TaskEvent::Named { comm, .. }
            | TaskEvent::Exited { comm, .. },
        )) => comm.capacity(),
        Item::Event(Event::Task(TaskEvent::Signal { .. } | TaskEvent::Stopped { .. })) => 0,
        Item::Anomaly(_) => 64,
    };
    std::mem::size_of::<Item>() + extra
}

/// A bounded ring of recent items: by age and by bytes.
#[derive(Debug, Default)]
pub struct Ring {
    items: VecDeque<Item>,
    bytes: usize,
    /// Items dropped to stay within bounds.
    pub evicted: u64,
}

impl Ring {
    /// A ring holding `items` as they are (a snapshot for a dump; its
    /// byte count is not kept).
    pub fn snapshot(items: VecDeque<Item>) -> Self {
        Ring {
            items,
            bytes: 0,
            evicted: 0,
        }
    }

    pub fn push(&mut self, item: Item, keep: Keep) {
        let newest = item.ts();
        self.bytes += item_bytes(&item);
        self.items.push_back(item);
        self.evict(newest, keep);
    }

    /// Drops items older than `keep.ns` before `now`, and the oldest until
    /// the ring fits `keep.bytes`.
    pub fn evict(&mut self, now: u64, keep: Keep) {
        let oldest_kept = now.saturating_sub(keep.ns);
        while let Some(front) = self.items.front() {
            if self.bytes <= keep.bytes && front.ts() >= oldest_kept {
                break;
            }
            self.bytes -= item_bytes(front);
            self.items.pop_front();
            self.evicted += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Approximate bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The items, oldest first.
    pub fn items(&self) -> &VecDeque<Item> {
        &self.items
    }

    /// The items, oldest first, taking them.
    pub fn into_items(self) -> VecDeque<Item> {
        self.items
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SyscallEvent;

    fn sc(ts: u64) -> Item {
        Item::Event(Event::Syscall(SyscallEvent {
            tgid: 1,
            tid: 1,
            nr: 0,
            args: [0; 6],
            enter_ns: ts,
            exit_ns: Some(ts + 10),
            ret: Some(0),
            strings: None,
            data: None,
            request: None,
            stack: None,
        }))
    }

    #[test]
    fn ring_is_bounded_by_bytes_and_age() {
        let keep = Keep {
            ns: 1_000,
            bytes: 100 * std::mem::size_of::<Item>(),
        };
        let mut ring = Ring::default();
        for t in 0..1000 {
            ring.push(sc(t), keep);
        }
        assert!(ring.len() <= 100);
        assert_eq!(ring.evicted + ring.len() as u64, 1000);
        ring.evict(1_000_000, keep);
        assert_eq!(ring.len(), 0);
        assert_eq!(ring.bytes(), 0);
    }

    #[test]
    fn age_alone_drops_old_items() {
        let keep = Keep {
            ns: 100,
            bytes: usize::MAX,
        };
        let mut ring = Ring::default();
        for t in [0, 50, 120, 160] {
            ring.push(sc(t), keep);
        }
        let kept: Vec<u64> = ring.items().iter().map(Item::ts).collect();
        assert_eq!(kept, [120, 160], "0 and 50 are more than 100 ns older");
        assert_eq!(ring.evicted, 2);
    }
}
