//! `cargo xtask setup`: make a fresh machine able to build and test tracer.
//!
//! Each step checks first and says what it found or did; a second run does
//! nothing. What it installs, and why:
//! - the nightly's `rust-src`: the eBPF crate is built with `-Z build-std`;
//! - LLVM 22 dev packages, then `bpf-linker` built against them: the linker
//!   of the bpf target. Its LLVM must match the nightly's (22), so neither
//!   the nightly nor bpf-linker may float;
//! - strace and bpftrace: the benchmark compares against them;
//! - tracefs, mounted if missing: the `sched` tracepoints attach through it;
//! - the `perfetto` Python package: the export tests decode Perfetto traces
//!   with its `perfetto_trace_pb2`, perfetto's real schema.

use std::{path::Path, process::Command};

use anyhow::{Context as _, Result, bail};

use crate::run as exec;

/// The nightly that builds the eBPF object, as installed on the machine.
const NIGHTLY: &str = "nightly";
const LLVM_MAJOR: &str = "22";
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
const BPF_LINKER_VERSION: &str = "0.13.0";
// gcc and golang-go build the programs the `-k` tests take stacks of
// (`lab/stacks/`).
const APT_PACKAGES: &[&str] = &[
    "llvm-22-dev",
    "libpolly-22-dev",
    "strace",
    "bpftrace",
    "gcc",
    "golang-go",
];

pub fn run() -> Result<()> {
    check_nightly()?;
    rust_src()?;
    apt_packages()?;
    bpf_linker()?;
    tracefs()?;
    perfetto_python()?;
    eprintln!("xtask setup: all set");
    Ok(())
}

/// Environment every cargo invocation of ours needs: bpf-linker and LLVM's
/// tools on PATH.
pub fn apply_env(cmd: &mut Command) {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env(
        "PATH",
        format!("{home}/.cargo/bin:{LLVM_PREFIX}/bin:{path}"),
    );
    cmd.env("LLVM_PREFIX", LLVM_PREFIX);
}

fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check_nightly() -> Result<()> {
    let version = output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "-vV"]))
        .context("the `nightly` toolchain is needed to build the eBPF programs")?;
    let llvm = version
        .lines()
        .find_map(|l| l.strip_prefix("LLVM version: "))
        .unwrap_or("unknown");
    if llvm.split('.').next() != Some(LLVM_MAJOR) {
        bail!(
            "the nightly toolchain uses LLVM {llvm}, but bpf-linker is built against LLVM \
             {LLVM_MAJOR}: the two must match"
        );
    }
    eprintln!("xtask setup: ok: nightly toolchain with LLVM {llvm}");
    Ok(())
}

fn rust_src() -> Result<()> {
    let installed = output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        NIGHTLY,
        "--installed",
    ]))?;
    if installed.lines().any(|l| l.starts_with("rust-src")) {
        eprintln!("xtask setup: ok: rust-src for {NIGHTLY}");
        return Ok(());
    }
    exec(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", NIGHTLY]))
        .context("cannot install rust-src (needed to build core for the bpf target)")
}

fn package_installed(name: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", name])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn apt_packages() -> Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| !package_installed(p))
        .collect();
    if missing.is_empty() {
        eprintln!("xtask setup: ok: packages {}", APT_PACKAGES.join(" "));
        return Ok(());
    }
    exec(Command::new("apt-get").arg("update"))?;
    exec(
        Command::new("apt-get")
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn bpf_linker() -> Result<()> {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let linker = Path::new(&home).join(".cargo/bin/bpf-linker");
    if let Ok(version) = output(Command::new(&linker).arg("--version"))
        && version.contains(BPF_LINKER_VERSION)
    {
        eprintln!("xtask setup: ok: bpf-linker {BPF_LINKER_VERSION}");
        return Ok(());
    }
    let mut cmd = Command::new("cargo");
    cmd.args([
        "install",
        "bpf-linker",
        "--locked",
        "--version",
        &format!("={BPF_LINKER_VERSION}"),
        "--no-default-features",
        "--features",
        &format!("llvm-{LLVM_MAJOR}"),
    ]);
    apply_env(&mut cmd);
    exec(&mut cmd).context("cannot build bpf-linker")
}

fn tracefs() -> Result<()> {
    for root in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        if Path::new(root).join("events").is_dir() {
            eprintln!("xtask setup: ok: tracefs at {root}");
            return Ok(());
        }
    }
    exec(Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]))
        .context("cannot mount tracefs")
}

/// The `perfetto` package (with `protobuf`) for `python3`, pinned: the
/// export tests decode traces with the schema it ships.
const PERFETTO_PY: &str = "0.59.1";
const PROTOBUF_PY: &str = "7.36.2";

fn perfetto_python() -> Result<()> {
    let probe = "import google.protobuf, perfetto.protos.perfetto.trace.perfetto_trace_pb2; \
                 from importlib.metadata import version; print(version('perfetto'))";
    if let Ok(found) = output(Command::new("python3").args(["-c", probe]))
        && found.trim() == PERFETTO_PY
    {
        eprintln!("xtask setup: ok: python3 perfetto {PERFETTO_PY}");
        return Ok(());
    }
    exec(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        &format!("perfetto=={PERFETTO_PY}"),
        &format!("protobuf=={PROTOBUF_PY}"),
    ]))
    .context("cannot install the perfetto Python package (the export tests decode with it)")
}
