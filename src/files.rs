//! Files other programs read while n3xnet writes them, and files n3xnet
//! waits for.
//!
//! - [`write_atomic`]: a reader (networkd, nfd-worker, `wait-online`, the
//!   next start's lease store) sees the old file or the new one, never half
//!   of one: the bytes go to a hidden temporary file in the same directory
//!   (hidden, so readers that take every file of a directory skip it), then
//!   a rename replaces the file. [`Durability::Durable`] also syncs the data
//!   and the rename to disk, for files that must survive a power cut.
//! - [`created`]: waiting for a file to appear without polling: inotify
//!   watches the deepest existing directory on the way to it for the next
//!   path component to be created (the system bus's socket at boot, the
//!   kubelet's kubeconfig once k3s has registered the node).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::{AsFd as _, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// Whether a file must survive a power cut once written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// On disk before the call returns (leases, the NFD file, rendered
    /// configuration): data and rename synced.
    Durable,
    /// Lives on a tmpfs (`/run`) or is rewritten at every start anyway.
    Volatile,
}

/// Replaces `path` with `bytes` atomically (see the module head). The
/// temporary file is created exclusively, so a symlink planted under its
/// name is not followed; one left by a crash is removed first.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> io::Result<()> {
    let (dir, tmp) = temporary_beside(path)?;
    let mut file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
    let written = file.write_all(bytes).and_then(|()| match durability {
        Durability::Durable => file.sync_all(),
        Durability::Volatile => Ok(()),
    });
    drop(file);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    if durability == Durability::Durable {
        // The rename is durable once the directory is.
        File::open(if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        })?
        .sync_all()?;
    }
    Ok(())
}

/// The directory of `path` and the name of a temporary file beside it,
/// hidden, free (a stale one is removed): create it, then rename it over
/// `path`.
pub fn temporary_beside(path: &Path) -> io::Result<(&Path, PathBuf)> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a file path", path.display()),
        ));
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".n3xnet-tmp");
    let tmp = dir.join(tmp_name);
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok((dir, tmp)),
    }
}

/// Resolves when something is created on the way to `path` (the file
/// itself, or a missing directory above it): the moment to look again.
/// Resolves at once if `path` exists.
pub async fn created(path: &Path) -> io::Result<()> {
    let Some((dir, name)) = deepest_missing(path) else {
        return Ok(());
    };
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?;
    inotify.add_watch(dir, AddWatchFlags::IN_CREATE | AddWatchFlags::IN_MOVED_TO)?;
    // Created between the look and the watch.
    if dir.join(name).exists() {
        return Ok(());
    }
    // SAFETY: the descriptor is owned by the Inotify, which moves into the
    // AsyncFd and so stays open for as long as it is registered.
    let fd = unsafe { AsyncFd::register_with_interest(Watch(inotify), Interest::READABLE)? };
    loop {
        let mut ready = fd.readable().await?;
        let events = match ready.try_io(|w| w.get_ref().0.read_events().map_err(io::Error::from)) {
            Ok(events) => events?,
            Err(_would_block) => continue,
        };
        if events.iter().any(|e| e.name.as_deref() == Some(name)) {
            return Ok(());
        }
    }
}

/// The deepest existing ancestor of `path` and the name in it that is
/// missing; `None` if `path` exists.
fn deepest_missing(path: &Path) -> Option<(&Path, &OsStr)> {
    let mut missing = path;
    loop {
        let parent = missing.parent()?;
        let name = missing.file_name()?;
        if parent.as_os_str().is_empty() || parent.exists() {
            return (!path.exists()).then_some((parent, name));
        }
        missing = parent;
    }
}

/// An inotify instance as tokio's `AsyncFd` wants it.
struct Watch(Inotify);

impl AsRawFd for Watch {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_replaces_the_file_and_does_not_follow_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("status.json");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        // A symlink planted where the temporary file goes, and a stale one.
        std::os::unix::fs::symlink(&victim, dir.path().join(".status.json.n3xnet-tmp")).unwrap();
        write_atomic(&path, b"one", Durability::Volatile).unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
        write_atomic(&path, b"two", Durability::Durable).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "two");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn deepest_missing_names_the_first_missing_component() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("a/b/bus.sock");
        assert_eq!(
            deepest_missing(&socket),
            Some((dir.path(), OsStr::new("a")))
        );
        std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
        let b = dir.path().join("a/b");
        assert_eq!(
            deepest_missing(&socket),
            Some((b.as_path(), OsStr::new("bus.sock")))
        );
        std::fs::write(&socket, "").unwrap();
        assert_eq!(deepest_missing(&socket), None);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn created_resolves_when_the_file_appears() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("bus.sock");
        let wait = created(&socket);
        tokio::pin!(wait);
        // Nothing created yet: still waiting.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut wait)
                .await
                .is_err()
        );
        std::fs::write(dir.path().join("other"), "").unwrap();
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(50), &mut wait)
                .await
                .is_err(),
            "woke for another name"
        );
        std::fs::write(&socket, "").unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), wait)
            .await
            .expect("not woken by the file")
            .unwrap();
    }
}
