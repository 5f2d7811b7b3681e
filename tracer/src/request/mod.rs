//! Request attribution: which request each thread is serving.
//!
//! Placeholder interface; the implementation lands with issue #5.

use crate::event::{Anomaly, SyscallEvent, TaskEvent};

#[derive(Debug, Default)]
pub struct Attributor {}

impl Attributor {
    /// Sets `ev.request`, learning request IDs from its captured data;
    /// returns an anomaly when the event writes another request's ID.
    pub fn syscall(&mut self, _ev: &mut SyscallEvent) -> Option<Anomaly> {
        None
    }

    /// Forgets the state of tasks that exited.
    pub fn task(&mut self, _ev: &TaskEvent) {}
}
