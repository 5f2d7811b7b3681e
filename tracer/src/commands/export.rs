//! `tracer export FILE`: a recording (or generated events) replayed
//! through a pipeline with one export sink, then a line on what it cost.

use std::{
    io::{self, BufWriter, Write},
    path::PathBuf,
    time::Instant,
};

use anyhow::{Context as _, Result, bail};
use clap::Args;

use crate::{
    exit::Exit,
    export::{Format, create, sink, synth},
    pipeline::Pipeline,
    stdio::note,
};

/// The arguments of `tracer export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// A recording made with `tracer record -w FILE`.
    #[arg(value_name = "FILE", required_unless_present = "synthetic")]
    pub recording: Option<PathBuf>,

    /// What to write.
    #[arg(long, value_enum)]
    pub format: Format,

    /// Write to OUT instead of standard output.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Export only these syscalls (strace syntax, as for `record -e`).
    #[arg(short = 'e', value_name = "EXPR")]
    pub exprs: Vec<String>,

    /// Include the user stacks of a recording made with `-k`, symbolized
    /// (frames as an array in JSONL and Chrome JSON).
    #[arg(short = 'k', long = "stack-trace")]
    pub stack_trace: bool,

    /// Export N generated events instead of a recording (benchmarks and
    /// tests: several processes and threads, requests handed across
    /// threads).
    #[arg(long, value_name = "N", hide = true, conflicts_with = "recording")]
    pub synthetic: Option<u64>,
}

/// Runs `tracer export`.
pub fn run(args: ExportArgs) -> Result<Exit> {
    let filter = crate::syscalls::filter::SyscallFilter::parse(&args.exprs)
        .context("invalid -e expression")?;
    let out: Box<dyn Write> = match &args.output {
        Some(path) => create(path)?,
        None => {
            if args.format == Format::Perfetto && is_terminal(&io::stdout()) {
                bail!("a Perfetto trace is binary: give -o OUT or redirect standard output");
            }
            Box::new(BufWriter::with_capacity(
                1 << 20,
                crate::stdio::Guarded(io::stdout().lock()),
            ))
        }
    };
    let mut pipeline = Pipeline::new(filter, vec![sink(args.format, out)]);
    if args.stack_trace {
        pipeline = pipeline.with_stacks(Default::default());
    }
    let started = Instant::now();
    let (run, warning, damaged) = match (&args.recording, args.synthetic) {
        (_, Some(events)) => (synth::generate(events, &mut pipeline)?, None, false),
        (Some(path), None) => {
            let replay = crate::recording::replay(path, &mut pipeline)?;
            let warning = replay.warning().map(|w| format!("{}: {w}", path.display()));
            // A recording cut short is what a killed tracer leaves: all of
            // it was exported. Damage means some of it could not be.
            let damaged = !matches!(
                replay.damage,
                None | Some(crate::recording::RecordingError::Truncated { .. })
            );
            (replay.run, warning, damaged)
        }
        (None, None) => bail!("give a recording to export"),
    };
    pipeline.finish(&run).context("cannot write the export")?;
    let secs = started.elapsed().as_secs_f64();
    let written = match args.output.as_deref().map(std::fs::metadata) {
        Some(Ok(meta)) if meta.is_file() => format!(", {} written", human(meta.len())),
        _ => String::new(),
    };
    let usage = rusage();
    let cpu = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    note!(
        "tracer: exported {} syscalls as {} in {secs:.2} s ({:.2} s CPU{written}, peak memory {})",
        pipeline.syscalls,
        args.format,
        cpu(usage.ru_utime) + cpu(usage.ru_stime),
        human((usage.ru_maxrss.max(0) as u64) << 10),
    );
    if let Some(warning) = warning {
        note!("tracer: {warning}");
    }
    if crate::output::lost_anything(&run) {
        note!("{}", crate::output::lost_banner(&run));
    }
    Ok(Exit::Code(if damaged { 1 } else { 0 }))
}

fn is_terminal(stream: &io::Stdout) -> bool {
    use std::io::IsTerminal as _;
    stream.is_terminal()
}

/// `812.3 MiB`, `35 KiB`.
fn human(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / f64::from(1 << 20))
    } else {
        format!("{} KiB", bytes.div_ceil(1024))
    }
}

/// This process's CPU time and peak memory (`ru_maxrss`, KiB).
fn rusage() -> libc::rusage {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    }
}
