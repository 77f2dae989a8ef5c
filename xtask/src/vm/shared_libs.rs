//! The shared libraries a binary needs in the guest: as the host's `ldd` resolves them, or,
//! for a guest of another Debian release, as that release's own dynamic loader resolves them
//! inside its unpacked root.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context as _, Result};
use object::{elf, read::elf::FileHeader as _, Endianness};

/// Where a binary's libraries come from.
#[derive(Clone, Debug)]
pub enum Libraries {
    /// The host's.
    Host,
    /// An unpacked Debian root (its lib64 loader and lib/<triplet> libraries, under /usr or,
    /// as bookworm's packages still ship them, not).
    Root(PathBuf),
}

/// A library to copy: the file to read, and its path in the guest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Library {
    pub file: PathBuf,
    /// `None`: the same path as on the host, once its directory symlinks are resolved.
    pub guest: Option<String>,
}

/// The dynamic loader: trixie's libc6 ships it under /usr, bookworm's in /lib64.
const LOADERS: &[&str] = &["usr/lib64/ld-linux-x86-64.so.2", "lib64/ld-linux-x86-64.so.2"];
const LIBRARY_DIRS: &[&str] =
    &["usr/lib/x86_64-linux-gnu", "usr/lib", "lib/x86_64-linux-gnu", "lib"];
/// The top-level directories a merged-/usr system (the guest) has only as links into /usr.
const MERGED_INTO_USR: &[&str] = &["lib/", "lib64/", "bin/", "sbin/"];

impl Libraries {
    /// Libraries (including the dynamic loader) that `binary` loads; empty for a static one.
    pub fn of(&self, binary: &Path) -> Result<Vec<Library>> {
        let root = match self {
            Libraries::Host => {
                let libs = of(binary)?;
                return Ok(libs.into_iter().map(|file| Library { file, guest: None }).collect());
            }
            Libraries::Root(root) => root,
        };
        let linking = Linking::of(binary)?;
        if !linking.needs_libraries {
            return Ok(Vec::new());
        }
        // The binary's own RUNPATH (systemd's programs keep libsystemd-shared in a private
        // directory) is a guest path: searched under the root, ahead of the usual directories.
        // A relative one ($ORIGIN) the loader resolves from the binary, already in the root.
        let path: Vec<String> = linking
            .run_path
            .iter()
            .filter_map(|dir| dir.strip_prefix('/'))
            .chain(LIBRARY_DIRS.iter().copied())
            .map(|dir| root.join(dir).display().to_string())
            .collect();
        let loader = LOADERS
            .iter()
            .map(|loader| root.join(loader))
            .find(|loader| loader.exists())
            .with_context(|| format!("{} has no dynamic loader (libc6)", root.display()))?;
        let out = Command::new(&loader)
            .arg("--library-path")
            .arg(path.join(":"))
            .arg("--list")
            .arg(binary)
            .output()
            .with_context(|| format!("cannot run {}", loader.display()))?;
        if !out.status.success() {
            bail!(
                "{} cannot list the libraries of {}: {}",
                loader.display(),
                binary.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let listed = parse_ldd(&String::from_utf8_lossy(&out.stdout))
            .with_context(|| format!("{} --list {}", loader.display(), binary.display()))?;
        listed.into_iter().map(|file| in_root(root, file)).collect()
    }
}

/// What an x86-64 ELF file asks of the dynamic loader.
#[derive(Debug, Default, PartialEq, Eq)]
struct Linking {
    /// It names a library it needs (DT_NEEDED): a static binary does not, and the loader's
    /// `--list` crashes on one instead of saying so.
    needs_libraries: bool,
    /// Its DT_RUNPATH, or DT_RPATH where it has no DT_RUNPATH: directories, as the guest sees
    /// them.
    run_path: Vec<String>,
}

impl Linking {
    fn of(binary: &Path) -> Result<Self> {
        let data = fs::read(binary).with_context(|| format!("cannot read {}", binary.display()))?;
        Linking::parse(&data).with_context(|| format!("{} is not an x86-64 ELF", binary.display()))
    }

    fn parse(data: &[u8]) -> Result<Self> {
        let header = elf::FileHeader64::<Endianness>::parse(data)?;
        let endian = header.endian()?;
        let sections = header.sections(endian, data)?;
        let table = sections.dynamic_table(endian, data)?;
        let needs_libraries = table.iter().any(|d| d.tag == elf::DT_NEEDED);
        let entry = |tag: i64| -> Result<Option<String>> {
            let Some(found) = table.iter().find(|d| d.tag == tag) else {
                return Ok(None);
            };
            Ok(Some(String::from_utf8_lossy(table.string(found)?).into_owned()))
        };
        let run_path = match entry(elf::DT_RUNPATH)? {
            Some(dirs) => Some(dirs),
            None => entry(elf::DT_RPATH)?,
        };
        let run_path = run_path
            .map(|dirs| dirs.split(':').filter(|d| !d.is_empty()).map(str::to_owned).collect())
            .unwrap_or_default();
        Ok(Linking { needs_libraries, run_path })
    }
}

/// A library the root's loader listed: under the root, at the same path in the guest, where
/// /lib is /usr/lib.
fn in_root(root: &Path, file: PathBuf) -> Result<Library> {
    let inside = file.strip_prefix(root).with_context(|| {
        format!("{} is outside {}: the loader looked on the host", file.display(), root.display())
    })?;
    let inside = inside.display().to_string();
    let merged = match MERGED_INTO_USR.iter().any(|top| inside.starts_with(top)) {
        true => format!("/usr/{inside}"),
        false => format!("/{inside}"),
    };
    Ok(Library { guest: Some(merged), file })
}

/// Libraries (including the dynamic loader) that a host `binary` loads; empty for a static one.
pub fn of(binary: &Path) -> Result<Vec<PathBuf>> {
    let out =
        Command::new("ldd").arg(binary).output().context("cannot run ldd (package libc-bin)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        // ldd fails on static binaries ("not a dynamic executable"), which need nothing.
        return Ok(Vec::new());
    }
    parse_ldd(&text).with_context(|| format!("ldd {}", binary.display()))
}

fn parse_ldd(text: &str) -> Result<Vec<PathBuf>> {
    let mut libs = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.contains("=> not found") {
            bail!("missing library: {line}");
        }
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or `/lib64/ld-linux... (0x...)`;
        // the vDSO has no file.
        let path = match line.split_once(" => ") {
            Some((_, rest)) => rest,
            None => line,
        };
        let path = path.split(" (").next().unwrap_or_default().trim();
        if path.starts_with('/') {
            libs.push(PathBuf::from(path));
        }
    }
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_output_parses() {
        let text = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                    \tlibnl-3.so.200 => /lib/x86_64-linux-gnu/libnl-3.so.200 (0x00007f74)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f74)\n";
        assert_eq!(
            parse_ldd(text).unwrap(),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libnl-3.so.200"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2")
            ]
        );
        assert!(parse_ldd("\tlibfoo.so => not found\n").is_err());
    }

    #[test]
    fn a_program_needs_libraries_and_the_loader_none() {
        let this_test = Linking::of(&std::env::current_exe().unwrap()).unwrap();
        assert!(this_test.needs_libraries);
        let loader = Linking::of(Path::new("/lib64/ld-linux-x86-64.so.2")).unwrap();
        assert_eq!(loader, Linking { needs_libraries: false, run_path: Vec::new() });
        assert!(Linking::parse(b"#!/bin/sh\n").is_err());
    }

    #[test]
    fn systemd_programs_name_their_private_library_directory() {
        // Where the host has systemd-networkd (the bookworm guest's comes from the host).
        let networkd = Path::new("/usr/lib/systemd/systemd-networkd");
        if networkd.exists() {
            let linking = Linking::of(networkd).unwrap();
            assert_eq!(linking.run_path, ["/usr/lib/x86_64-linux-gnu/systemd"]);
        }
    }

    #[test]
    fn a_root_library_keeps_its_path_inside_the_root() {
        let root = Path::new("/vm/trixie/root");
        let lib = in_root(root, root.join("usr/lib/x86_64-linux-gnu/libc.so.6")).unwrap();
        assert_eq!(lib.guest.as_deref(), Some("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(in_root(root, PathBuf::from("/usr/lib/x86_64-linux-gnu/libc.so.6")).is_err());
    }

    #[test]
    fn a_split_usr_library_goes_where_the_merged_guest_keeps_it() {
        let root = Path::new("/vm/managers/root");
        let lib = in_root(root, root.join("lib/x86_64-linux-gnu/libudev.so.1")).unwrap();
        assert_eq!(lib.guest.as_deref(), Some("/usr/lib/x86_64-linux-gnu/libudev.so.1"));
        let loader = in_root(root, root.join("lib64/ld-linux-x86-64.so.2")).unwrap();
        assert_eq!(loader.guest.as_deref(), Some("/usr/lib64/ld-linux-x86-64.so.2"));
    }
}
