//! The statistics behind `tracer compare`, `amplify` and `overhead`: is a
//! failure rate under tracing really different from the untraced one, or is
//! it noise? Pure functions, no I/O, one submodule per kind of data:
//!
//! - [`proportion`]: failures counted per run (Bernoulli trials): Wilson
//!   intervals, Fisher's exact test, runs needed.
//! - [`rate`]: failures counted per unit of time (a log line per failure of
//!   a long-running service): exact Poisson intervals per hour and the
//!   Poisson rate ratio with its exact conditional test.
//! - [`rank`]: the comparison of per-window rates that does not assume the
//!   failures Poisson across windows (Mann–Whitney U).
//! - [`summary`]: medians, percentiles, and Holm's adjustment of many
//!   p-values.
//!
//! The special functions they share (`ln n!`, the normal quantile) live in
//! one private module. No input makes these functions panic or return NaN.

pub mod proportion;
// Until `compare -p` reports time units with them (#15).
#[allow(dead_code)]
pub mod rank;
#[allow(dead_code)]
pub mod rate;
mod special;
pub mod summary;

pub use proportion::{Z95, fisher_exact_two_sided, rule_of_three, runs_needed, wilson_interval};
pub use summary::{holm_adjust, median, percentile};
