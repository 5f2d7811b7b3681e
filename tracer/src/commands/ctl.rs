//! `tracer ctl`: the daemon's client. One request per invocation over the
//! daemon's Unix socket (JSON lines, see `daemon::api`).

use std::{
    io::{self, BufRead, BufReader, Read, Write},
    os::unix::net::UnixStream,
    path::PathBuf,
};

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;

use crate::{
    daemon::api::{ListReply, Request, StatsReply},
    exit::Exit,
    stdio::{note, outln},
};

#[derive(Debug, Args)]
pub struct CtlArgs {
    /// The daemon's socket.
    #[arg(long, value_name = "PATH", default_value = crate::daemon::DEFAULT_SOCKET)]
    pub socket: PathBuf,
    /// Print the daemon's JSON answer as it is.
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub command: CtlCommand,
}

#[derive(Debug, Subcommand)]
pub enum CtlCommand {
    /// Watch a process, or every process started with a name or in a
    /// cgroup. Prints the watch's ID.
    Watch {
        /// The process to watch (and the children it forks).
        #[arg(required_unless_present_any = ["cgroup", "comm"], conflicts_with_all = ["cgroup", "comm"],
              value_parser = clap::value_parser!(u32).range(1..))]
        pid: Option<u32>,
        /// Every process that execs in this cgroup v2 directory.
        #[arg(long, value_name = "PATH", conflicts_with = "comm")]
        cgroup: Option<String>,
        /// Every process that execs with this name (as in /proc/PID/comm).
        #[arg(long, value_name = "NAME")]
        comm: Option<String>,
    },
    /// Stop a watch.
    Unwatch { id: u64 },
    /// Watches, their processes, and dumps.
    List,
    /// Dump watch ID's rings now (or fetch dump NAME) and write it to FILE.
    Dump {
        /// A watch ID, or the name of a dump from `list`.
        id: String,
        /// Where to write the recording (mode 0600).
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: PathBuf,
    },
    /// Live events of watch ID, in `tracer record`'s text format.
    Stream { id: u64 },
    /// Events/s, lost events, memory, observer cost per process.
    Stats,
}

pub fn run(args: CtlArgs) -> Result<Exit> {
    let request = match &args.command {
        CtlCommand::Watch { pid, cgroup, comm } => Request::Watch {
            pid: *pid,
            comm: comm.clone(),
            cgroup: cgroup.clone(),
        },
        CtlCommand::Unwatch { id } => Request::Unwatch { watch: *id },
        CtlCommand::List => Request::List {},
        CtlCommand::Dump { id, .. } => match id.parse::<u64>() {
            Ok(watch) => Request::Dump {
                watch: Some(watch),
                name: None,
            },
            Err(_) => Request::Dump {
                watch: None,
                name: Some(id.clone()),
            },
        },
        CtlCommand::Stream { id } => Request::Stream { watch: *id },
        CtlCommand::Stats => Request::Stats {},
    };
    let stream = UnixStream::connect(&args.socket).with_context(|| {
        format!(
            "cannot connect to the daemon at {} (is `tracer daemon` running, and may you use its socket?)",
            args.socket.display()
        )
    })?;
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    (&stream).write_all(&line)?;
    let mut reader = BufReader::new(&stream);
    let mut answer = String::new();
    reader
        .read_line(&mut answer)
        .context("no answer from the daemon")?;
    let value: Value = serde_json::from_str(&answer)
        .with_context(|| format!("bad answer from the daemon: {answer:?}"))?;
    if value["ok"] != Value::Bool(true) {
        bail!(
            "{}",
            value["error"].as_str().unwrap_or("the daemon refused")
        );
    }
    if args.json
        && !matches!(
            args.command,
            CtlCommand::Dump { .. } | CtlCommand::Stream { .. }
        )
    {
        outln!("{}", answer.trim_end())?;
        return Ok(Exit::Code(0));
    }
    match args.command {
        CtlCommand::Watch { .. } => outln!("{}", value["watch"])?,
        CtlCommand::Unwatch { id } => outln!("watch {id} removed")?,
        CtlCommand::List => print_list(&serde_json::from_value(value)?)?,
        CtlCommand::Stats => print_stats(&serde_json::from_value(value)?)?,
        CtlCommand::Dump { write, .. } => {
            let len = value["bytes"].as_u64().context("answer without a size")?;
            let mut file = crate::files::create_private(&write)?;
            let copied = io::copy(&mut reader.take(len), &mut file)?;
            if copied != len {
                bail!("the daemon sent {copied} of {len} bytes");
            }
            note!(
                "tracer: {} ({}) written to {}",
                value["name"].as_str().unwrap_or("dump"),
                value["reason"].as_str().unwrap_or(""),
                write.display()
            );
        }
        CtlCommand::Stream { .. } => {
            // Until the daemon ends the stream or our reader goes away
            // (`ctl stream | head`: then tracer ends as `stdio` says).
            let mut out = crate::stdio::Guarded(io::stdout().lock());
            let mut buf = [0u8; 65536];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                out.write_all(&buf[..n])?;
                out.flush()?;
            }
        }
    }
    Ok(Exit::Code(0))
}

fn print_list(list: &ListReply) -> io::Result<()> {
    if list.watches.is_empty() {
        outln!("no watches")?;
    }
    for w in &list.watches {
        outln!(
            "watch {}: {} (uid {}), {} processes, {} dumps, {} suppressed",
            w.id,
            w.target,
            w.owner,
            w.processes.len(),
            w.dumps,
            w.suppressed
        )?;
        for p in &w.processes {
            outln!(
                "  pid {} {} (uid {}): {} syscalls, ring {} events / {} KiB",
                p.pid,
                p.comm,
                p.uid,
                p.syscalls,
                p.ring_events,
                p.ring_bytes / 1024
            )?;
        }
    }
    for d in &list.dumps {
        outln!(
            "dump {} (watch {}, pid {}, {}, {} events, {} bytes)",
            d.name,
            d.watch,
            d.pid,
            d.reason,
            d.events,
            d.bytes
        )?;
    }
    Ok(())
}

fn print_stats(s: &StatsReply) -> io::Result<()> {
    outln!("events/s:        {:.0}", s.events_per_s)?;
    outln!("events total:    {}", s.events_total)?;
    outln!("lost events:     {}", s.lost_events)?;
    outln!("ring memory:     {} KiB", s.ring_bytes / 1024)?;
    if let Some(rss) = s.rss_bytes {
        outln!("daemon RSS:      {} KiB", rss / 1024)?;
    }
    outln!("watches:         {}", s.watches)?;
    outln!(
        "dumps:           {} written, {} suppressed by the rate limit",
        s.dumps_written,
        s.dumps_suppressed
    )?;
    if s.missed_unowned > 0 {
        outln!(
            "missed:          {} processes gone before their owner could be checked (non-root watches)",
            s.missed_unowned
        )?;
    }
    if let Some(ns) = s.ns_per_program_run {
        outln!("eBPF program run: {ns:.0} ns on average")?;
    }
    for p in &s.processes {
        let cost = match (p.observer_ns, p.observer_share) {
            (Some(ns), Some(share)) => format!(
                "observer cost {:.1} ms ({:.2}% of {:.0} s watched)",
                ns as f64 / 1e6,
                share * 100.0,
                p.watched_s
            ),
            _ => "observer cost not measured yet".into(),
        };
        outln!(
            "pid {} {}: {} syscalls, {}",
            p.pid,
            p.comm,
            p.syscalls,
            cost
        )?;
    }
    Ok(())
}
