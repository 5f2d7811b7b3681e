//! How many connections the daemon serves at once, and for whom.
//!
//! Every connection costs the daemon a task and a buffer, so their number
//! is bounded; but one bound for everyone let a single user lock every
//! client out (root included) by opening idle connections. So each
//! non-root uid has its own bound, all non-root users together leave a
//! reserve that only root may use, and idle connections are dropped soon
//! (see `IDLE` where connections are served).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

/// The bounds.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections at once, everyone together.
    pub total: usize,
    /// Of those, how many only root may take.
    pub root_reserve: usize,
    /// Connections at once of one non-root uid.
    pub per_uid: usize,
}

/// The daemon's bounds: ample for `ctl` (one connection per command, a
/// few streams), small enough that 64 tasks never matter.
pub const LIMITS: Limits = Limits {
    total: 64,
    root_reserve: 16,
    per_uid: 16,
};

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    non_root: usize,
    per_uid: HashMap<u32, usize>,
}

/// The connections being served, counted per uid.
#[derive(Clone, Debug)]
pub struct Admission {
    limits: Limits,
    counts: Arc<Mutex<Counts>>,
}

/// One admitted connection; its place is given back when dropped.
#[derive(Debug)]
pub struct Slot {
    uid: u32,
    counts: Arc<Mutex<Counts>>,
}

/// Why a connection was turned away (the text is sent to the client).
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("too many connections of uid {0}; close some and try again")]
    PerUid(u32),
    #[error("too many clients; try again later")]
    Busy,
}

impl Admission {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            counts: Arc::default(),
        }
    }

    /// A slot for a connection of `uid` (from `SO_PEERCRED`), if within
    /// the bounds.
    pub fn admit(&self, uid: u32) -> Result<Slot, Refusal> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if c.total >= self.limits.total {
            return Err(Refusal::Busy);
        }
        if uid != 0 {
            if c.per_uid.get(&uid).copied().unwrap_or(0) >= self.limits.per_uid {
                return Err(Refusal::PerUid(uid));
            }
            if c.non_root >= self.limits.total.saturating_sub(self.limits.root_reserve) {
                return Err(Refusal::Busy);
            }
            c.non_root += 1;
            *c.per_uid.entry(uid).or_default() += 1;
        }
        c.total += 1;
        Ok(Slot {
            uid,
            counts: Arc::clone(&self.counts),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        c.total -= 1;
        if self.uid != 0 {
            c.non_root -= 1;
            if let Some(n) = c.per_uid.get_mut(&self.uid) {
                *n -= 1;
                if *n == 0 {
                    c.per_uid.remove(&self.uid);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: Limits = Limits {
        total: 10,
        root_reserve: 3,
        per_uid: 4,
    };

    #[test]
    fn one_user_cannot_lock_out_others_or_root() {
        let a = Admission::new(L);
        let mut held: Vec<Slot> = (0..4).map(|_| a.admit(1000).unwrap()).collect();
        assert_eq!(a.admit(1000).unwrap_err(), Refusal::PerUid(1000));
        // Another user still gets in, up to what root's reserve leaves.
        held.extend((0..3).map(|_| a.admit(1001).unwrap()));
        assert_eq!(a.admit(1002).unwrap_err(), Refusal::Busy, "7 = 10 - 3");
        // Root has its reserve, then the total holds for root too.
        held.extend((0..3).map(|_| a.admit(0).unwrap()));
        assert_eq!(a.admit(0).unwrap_err(), Refusal::Busy);
        // Places come back when connections end.
        held.retain(|s| s.uid != 1000);
        let again: Vec<Slot> = (0..4).map(|_| a.admit(1000).unwrap()).collect();
        drop((held, again));
        let c = a.counts.lock().unwrap();
        assert_eq!((c.total, c.non_root, c.per_uid.len()), (0, 0, 0));
    }
}
