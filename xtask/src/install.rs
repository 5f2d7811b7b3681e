//! `cargo xtask install`: builds the release `tracer` and puts it on the
//! PATH (`/usr/local/bin/tracer` by default), so that the README's
//! examples, which type `tracer ...`, work as written.
//!
//! Idempotent: an identical binary already in place is left alone. The
//! new binary is written beside the old one under a temporary name and
//! renamed over it, so a `tracer` that is running, or being started, never
//! sees a half-written file. `--prefix` and `--destdir` (or `DESTDIR`)
//! put it elsewhere, as `make install` does; the tests use them.

use std::{
    fs,
    io::{self, Read},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, Result};

#[derive(clap::Args)]
pub struct InstallArgs {
    /// Installation prefix: the binary goes to PREFIX/bin/tracer.
    #[arg(long, value_name = "DIR", default_value = "/usr/local")]
    pub prefix: PathBuf,
    /// Stage the installation under DIR (DIR/PREFIX/bin/tracer), for
    /// packaging. Default: the `DESTDIR` environment variable, if set.
    #[arg(long, value_name = "DIR")]
    pub destdir: Option<PathBuf>,
}

/// What `install_binary` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Installed,
    Unchanged,
}

pub fn run(root: &Path, args: &InstallArgs) -> Result<()> {
    let args = &InstallArgs {
        prefix: args.prefix.clone(),
        destdir: args.destdir.clone().or_else(|| {
            std::env::var_os("DESTDIR")
                .filter(|d| !d.is_empty())
                .map(Into::into)
        }),
    };
    crate::run(crate::cargo().args([
        "build",
        "--locked",
        "--release",
        "-p",
        "tracer",
        "--bin",
        "tracer",
    ]))?;
    let bin_dir = bin_dir(args);
    let dest = bin_dir.join("tracer");
    match install_binary(&root.join("target/release/tracer"), &dest)? {
        Outcome::Installed => eprintln!("xtask: installed {}", dest.display()),
        Outcome::Unchanged => eprintln!("xtask: {} is up to date", dest.display()),
    }
    let on_path = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir == bin_dir));
    if !on_path && args.destdir.is_none() {
        eprintln!(
            "xtask: {} is not on your PATH: add it, or run {}",
            bin_dir.display(),
            dest.display()
        );
    }
    Ok(())
}

/// `DESTDIR/PREFIX/bin`: the prefix is re-rooted under the staging
/// directory (joining an absolute path would replace it).
pub fn bin_dir(args: &InstallArgs) -> PathBuf {
    let prefix = match &args.destdir {
        Some(destdir) => destdir.join(args.prefix.strip_prefix("/").unwrap_or(&args.prefix)),
        None => args.prefix.clone(),
    };
    prefix.join("bin")
}

/// Copies `src` to `dest` (mode 0755), atomically replacing what is there,
/// unless `dest` already is an identical executable.
pub fn install_binary(src: &Path, dest: &Path) -> Result<Outcome> {
    let new = fs::read(src).with_context(|| {
        format!(
            "cannot read {} (was the release build made?)",
            src.display()
        )
    })?;
    if let Ok(meta) = fs::symlink_metadata(dest)
        && meta.is_file()
        && meta.permissions().mode() & 0o777 == 0o755
        && same_content(dest, &new)?
    {
        return Ok(Outcome::Unchanged);
    }
    let dir = dest.parent().context("the destination has no directory")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = dest.file_name().context("the destination has no name")?;
    let staged = dir.join(format!(".{}.xtask-install", name.to_string_lossy()));
    // A leftover of an interrupted install: ours to replace.
    let _ = fs::remove_file(&staged);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o755)
        .custom_flags(libc_o_nofollow())
        .open(&staged)
        .with_context(|| format!("cannot create {}", staged.display()))?;
    io::Write::write_all(&mut file, &new)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", staged.display()))?;
    // The umask may have narrowed the mode given at creation.
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755))?;
    fs::rename(&staged, dest)
        .with_context(|| format!("cannot move {} to {}", staged.display(), dest.display()))?;
    Ok(Outcome::Installed)
}

fn same_content(path: &Path, bytes: &[u8]) -> Result<bool> {
    let mut old = Vec::with_capacity(bytes.len());
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut old))
        .with_context(|| format!("cannot read {}", path.display()))?;
    Ok(old == bytes)
}

/// `O_NOFOLLOW` (x86-64 and aarch64 Linux), without a libc dependency for
/// one constant.
const fn libc_o_nofollow() -> i32 {
    0o400000
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// A fresh private directory of this test (mkdtemp: a random name,
    /// mode 0700), removed by the test.
    fn scratch(name: &str) -> PathBuf {
        tempfile::Builder::new()
            .prefix(&format!("xtask-install-test-{name}-"))
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .unwrap()
            .keep()
    }

    #[test]
    fn prefix_and_destdir() {
        let args = |prefix: &str, destdir: Option<&str>| InstallArgs {
            prefix: prefix.into(),
            destdir: destdir.map(Into::into),
        };
        assert_eq!(
            bin_dir(&args("/usr/local", None)),
            Path::new("/usr/local/bin")
        );
        assert_eq!(
            bin_dir(&args("/usr/local", Some("/tmp/stage"))),
            Path::new("/tmp/stage/usr/local/bin")
        );
        assert_eq!(bin_dir(&args("opt", Some("/s"))), Path::new("/s/opt/bin"));
        use clap::Parser;
        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            install: InstallArgs,
        }
        let cli = Cli::try_parse_from(["install"]).unwrap();
        assert_eq!(cli.install.prefix, Path::new("/usr/local"));
    }

    /// Installs a real executable into a temporary prefix, runs it from
    /// there, installs again (nothing changes), then a changed binary
    /// replaces it.
    #[test]
    fn installs_idempotently_and_replaces_atomically() {
        let dir = scratch("prefix");
        let src_dir = scratch("src");
        let src = src_dir.join("tracer");
        fs::copy("/bin/true", &src).unwrap();
        let args = InstallArgs {
            prefix: dir.clone(),
            destdir: None,
        };
        let dest = bin_dir(&args).join("tracer");
        assert_eq!(install_binary(&src, &dest).unwrap(), Outcome::Installed);
        let meta = fs::metadata(&dest).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o755);
        assert!(
            std::process::Command::new(&dest)
                .status()
                .unwrap()
                .success()
        );
        let inode = meta.ino();

        assert_eq!(install_binary(&src, &dest).unwrap(), Outcome::Unchanged);
        assert_eq!(fs::metadata(&dest).unwrap().ino(), inode, "left alone");

        fs::copy("/bin/false", &src).unwrap();
        assert_eq!(install_binary(&src, &dest).unwrap(), Outcome::Installed);
        assert_ne!(fs::metadata(&dest).unwrap().ino(), inode, "renamed over");
        assert!(
            !std::process::Command::new(&dest)
                .status()
                .unwrap()
                .success()
        );
        let names: Vec<_> = fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["tracer"], "no staging file left");

        // A missing build says so.
        let err = install_binary(&src_dir.join("missing"), &dest).unwrap_err();
        assert!(format!("{err:#}").contains("release build"), "{err:#}");
        fs::remove_dir_all(&dir).unwrap();
        fs::remove_dir_all(&src_dir).unwrap();
    }
}
