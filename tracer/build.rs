//! Builds the eBPF programs (`tracer-ebpf`) for the bpf target with the
//! pinned nightly and bpf-linker, into `OUT_DIR`, where `src/ebpf` embeds
//! them in the binary. `cargo xtask setup` installs what this needs.
use anyhow::{Context as _, anyhow};
use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
    let cargo_metadata::Metadata { packages, .. } = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("cargo metadata")?;
    let ebpf = packages
        .into_iter()
        .find(|p| p.name.as_str() == "tracer-ebpf")
        .ok_or_else(|| anyhow!("tracer-ebpf package not found"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("tracer-ebpf manifest has no parent directory"))?;
    let package = Package {
        name: ebpf.name.as_str(),
        root_dir: root_dir.as_str(),
        ..Default::default()
    };
    // The nightly whose LLVM matches bpf-linker's (22); `xtask setup`
    // checks that. Never `rustup update` it.
    aya_build::build_ebpf([package], Toolchain::Custom("nightly"))
}
