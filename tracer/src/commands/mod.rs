//! The subcommands that run once and exit: each file parses nothing (clap
//! does that in `cli`) and owns one command's flow from its arguments to
//! its exit status. The long-running `daemon` is a subsystem of its own,
//! beside this folder.

pub mod amplify;
pub mod compare;
pub mod ctl;
pub mod delay;
pub mod export;
mod options;
pub mod overhead;
pub mod record;
pub mod report;
pub mod run_mode;
pub mod show;
