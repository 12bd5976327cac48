//! Offline generators: configuration for other tools (systemd-networkd,
//! Multus, k3s flags), rendered from the same profile n3xnet applies, for
//! hosts that keep networkd, for the cluster's NetworkAttachmentDefinitions
//! and for k3s; and the per-node tree (n3xnetd's configuration, k3s flags,
//! unit symlinks) that makes a machine with the package installed an n3xnet
//! node.
//!
//! Every renderer is pure and deterministic (same input, same bytes) so its
//! output can be committed, diffed and golden-tested.

pub mod k3s;
pub mod multus;
pub mod networkd;
pub mod node;

use std::fs;
use std::path::{Path, PathBuf};

use crate::files::{write_atomic, Durability};

/// One generated file: its bare name and its whole contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub name: String,
    pub contents: String,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to write {name:?} into {}: not a plain file name", dir.display())]
    BadName { dir: PathBuf, name: String },
}

/// Creates `out` (and its parents) and writes every file into it. Each file
/// is written to a temporary name and renamed into place, so a reader such as
/// networkd never sees half a file; a file that already holds the same bytes
/// is not touched (in sync = zero writes). Files already in `out` that are
/// not in `files` are left alone: they may belong to someone else. Returns
/// how many files were written.
pub fn write_dir(out: &Path, files: &[RenderedFile]) -> Result<usize, WriteError> {
    fs::create_dir_all(out).map_err(|source| WriteError::CreateDir {
        path: out.to_path_buf(),
        source,
    })?;
    let mut written = 0;
    for f in files {
        if f.name.is_empty() || f.name.starts_with('.') || f.name.contains(['/', '\\', '\0']) {
            return Err(WriteError::BadName {
                dir: out.to_path_buf(),
                name: f.name.clone(),
            });
        }
        let path = out.join(&f.name);
        if fs::read(&path).is_ok_and(|old| old == f.contents.as_bytes()) {
            continue;
        }
        write_atomic(&path, f.contents.as_bytes(), Durability::Durable).map_err(|source| {
            WriteError::Write {
                path: path.clone(),
                source,
            }
        })?;
        tracing::debug!(path = %path.display(), bytes = f.contents.len(), "wrote");
        written += 1;
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, contents: &str) -> RenderedFile {
        RenderedFile {
            name: name.into(),
            contents: contents.into(),
        }
    }

    #[test]
    fn writes_files_and_keeps_foreign_ones() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join("99-foreign.network"), "x").unwrap();
        fs::write(out.join("20-eth1.network"), "old").unwrap();
        write_dir(
            &out,
            &[
                file("20-eth1.network", "new\n"),
                file("10-bond0.netdev", "b\n"),
            ],
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(out.join("20-eth1.network")).unwrap(),
            "new\n"
        );
        assert_eq!(
            fs::read_to_string(out.join("10-bond0.netdev")).unwrap(),
            "b\n"
        );
        assert_eq!(
            fs::read_to_string(out.join("99-foreign.network")).unwrap(),
            "x"
        );
        let mut names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["10-bond0.netdev", "20-eth1.network", "99-foreign.network"]
        );
    }

    #[test]
    fn files_already_in_sync_are_not_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let files = [file("a.conf", "1\n"), file("b.conf", "2\n")];
        assert_eq!(write_dir(dir.path(), &files).unwrap(), 2);
        let inode = |n: &str| fs::metadata(dir.path().join(n)).unwrap().ino();
        let before = (inode("a.conf"), inode("b.conf"));
        assert_eq!(write_dir(dir.path(), &files).unwrap(), 0);
        assert_eq!((inode("a.conf"), inode("b.conf")), before);
        let changed = [file("a.conf", "1\n"), file("b.conf", "3\n")];
        assert_eq!(write_dir(dir.path(), &changed).unwrap(), 1);
        assert_eq!(inode("a.conf"), before.0);
        assert_ne!(inode("b.conf"), before.1);
    }

    #[test]
    fn creates_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x/y/z");
        write_dir(&out, &[file("f", "1")]).unwrap();
        assert_eq!(fs::read_to_string(out.join("f")).unwrap(), "1");
    }

    #[test]
    fn refuses_names_that_leave_the_directory() {
        // The output directory inside a private one, so what `../x` would
        // make is ours to look for (not whatever else is in /tmp).
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("out");
        for bad in ["../x", "", ".hidden", "a/b"] {
            let e = write_dir(&dir, &[file(bad, "1")]).unwrap_err();
            assert!(matches!(e, WriteError::BadName { .. }), "{bad}: {e}");
        }
        assert!(!base.path().join("x").exists());
    }

    #[test]
    fn reports_the_path_it_could_not_create() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        fs::write(&blocker, "").unwrap();
        let e = write_dir(&blocker.join("sub"), &[file("f", "1")]).unwrap_err();
        assert!(e.to_string().contains("cannot create directory"), "{e}");
        assert!(e.to_string().contains("file/sub"), "{e}");
    }
}
