//! Sinks that render events for people: strace-like lines and summaries.

pub mod summary;
pub mod text;

/// The line every output ends with when events were dropped: loud, because a
/// trace with holes must never pass for a complete one.
pub fn lost_banner(lost: u64) -> String {
    format!("tracer: LOST {lost} events (ring buffer full; raise --ring-size)")
}
