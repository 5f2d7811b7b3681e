//! Project chores: `cargo xtask setup | test | demo | bench | install |
//! gen-syscalls`.
//!
//! `setup` installs everything a fresh machine lacks, idempotently; `test`,
//! `demo` and `bench` run it first, so the README's two commands work on a
//! machine that has nothing but the Rust toolchains.

mod bench;
mod delay_bench;
mod gen_syscalls;
mod install;
mod setup;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what building and testing need (idempotent).
    Setup,
    /// Setup, then format check, clippy, and the whole test suite.
    Test,
    /// Setup, build, and run tracer on the bundled workload.
    Demo,
    /// Setup, build, and measure tracer's overhead against other tracers.
    Bench(bench::BenchArgs),
    /// Setup, build the release `tracer`, and put it in /usr/local/bin
    /// (idempotent).
    Install(install::InstallArgs),
    /// Regenerate tracer/src/syscalls/table.rs from this machine's kernel
    /// headers and tracefs.
    GenSyscalls,
}

fn main() -> Result<()> {
    let result = task(Cli::parse());
    // The reader of our output went away (`cargo xtask bench | head`):
    // end quietly with the shell's 141, as tracer does (its `stdio.rs`).
    if let Err(err) = &result
        && broken_pipe(err)
    {
        std::process::exit(141);
    }
    result
}

fn broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn task(cli: Cli) -> Result<()> {
    let root = workspace_root();
    std::env::set_current_dir(&root)?;
    match cli.task {
        Task::Setup => setup::run(),
        Task::Test => {
            setup::run()?;
            test()
        }
        Task::Demo => {
            setup::run()?;
            demo(&root)
        }
        Task::Bench(args) => {
            setup::run()?;
            bench::run(&root, &args)
        }
        Task::Install(args) => {
            setup::run()?;
            install::run(&root, &args)
        }
        Task::GenSyscalls => gen_syscalls::run(&root.join("tracer/src/syscalls/table.rs")),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// Runs `cmd`, failing with its description when it does not succeed.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed: {status}");
    }
    Ok(())
}

/// A new directory of our own in the temporary directory: mode 0700,
/// created exclusively under a name nobody prepared (tasks run as root;
/// a predictable, reused `/tmp` name could be another user's).
pub fn private_dir(prefix: &str) -> Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let nanos = |n: u32| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
            .wrapping_add(n)
    };
    for attempt in 0..100 {
        let dir = std::env::temp_dir().join(format!(
            "{prefix}-{}-{:08x}",
            std::process::id(),
            nanos(attempt)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    bail!("cannot find a free name for a {prefix} directory")
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    setup::apply_env(&mut cmd);
    cmd
}

fn test() -> Result<()> {
    run(cargo().args(["fmt", "--all", "--", "--check"]))?;
    // The default members: everything but tracer-ebpf, which only builds
    // for the bpf target (tracer's build script does that).
    run(cargo().args([
        "clippy",
        "--locked",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    run(cargo().args(["test", "--locked", "--release"]))
}

fn demo(root: &Path) -> Result<()> {
    run(cargo().args(["build", "--locked", "--release", "--bins"]))?;
    let bin = root.join("target/release");
    let tracer = bin.join("tracer");
    eprintln!("\n== tracer record -T: the syscalls of `ls /` ==");
    run(Command::new(&tracer).args(["record", "-T", "--", "ls", "/"]))?;
    eprintln!("\n== tracer record -c: summary of `dd bs=1 count=200000`, with observer cost ==");
    run(Command::new(&tracer).args([
        "record",
        "-c",
        "--",
        "dd",
        "if=/dev/zero",
        "of=/dev/null",
        "bs=1",
        "count=200000",
    ]))?;
    eprintln!("\n== tracer overhead: what each mode adds to one syscall ==");
    run(Command::new(&tracer).args(["overhead", "--syscalls", "20000", "--rounds", "3"]))?;
    let scratch = private_dir("tracer-demo")?;
    let recording = scratch.join("server.rec");
    eprintln!(
        "\n== tracer record --by-request -w: lab/pooled_buffer_server's request bleed, caught \
         from outside (ptrace, which widens its race window) =="
    );
    // The server exits 1 when a client got another request's response:
    // that is the point, so its status is shown, not checked.
    let status = Command::new(&tracer)
        .args(["record", "--mode", "ptrace", "--by-request", "-c", "-w"])
        .arg(&recording)
        .arg("--")
        .arg(bin.join("pooled_buffer_server"))
        .status()?;
    eprintln!("(server {status})");
    eprintln!(
        "\n== tracer report --request req-3 -tt: one request's syscalls, from the recording =="
    );
    run(Command::new(&tracer)
        .args(["report", "--request", "req-3", "-tt"])
        .arg(&recording))?;
    let trace = scratch.join("server.perfetto-trace");
    eprintln!("\n== tracer export --format perfetto: a timeline for ui.perfetto.dev ==");
    run(Command::new(&tracer)
        .args(["export", "--format", "perfetto", "-o"])
        .arg(&trace)
        .arg(&recording))?;
    eprintln!("open {} in https://ui.perfetto.dev", trace.display());
    eprintln!(
        "\n== tracer compare: does lab/pooled_buffer_server's race survive being watched? =="
    );
    run(Command::new(&tracer)
        .args(["compare", "--runs", "40", "--"])
        .arg(bin.join("pooled_buffer_server")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn private_dirs_are_new_and_0700() {
        let a = private_dir("xtask-test").unwrap();
        let b = private_dir("xtask-test").unwrap();
        assert_ne!(a, b);
        for dir in [a, b] {
            let meta = std::fs::symlink_metadata(&dir).unwrap();
            assert!(meta.is_dir());
            assert_eq!(meta.mode() & 0o777, 0o700);
            std::fs::remove_dir(&dir).unwrap();
        }
    }

    #[test]
    fn a_closed_output_is_told_from_other_errors() {
        use anyhow::Context as _;
        use std::io::Write as _;
        let (read, mut write) = std::io::pipe().unwrap();
        drop(read);
        let err = write.write_all(b"report").context("bench").unwrap_err();
        assert!(broken_pipe(&err));
        assert!(!broken_pipe(&anyhow::anyhow!("dd failed")));
    }
}
