//! Files other programs read while n3xnet writes them, and files n3xnet
//! waits for.
//!
//! - [`write_atomic`]: a reader (networkd, nfd-worker, `wait-online`, the
//!   next start's lease store) sees the old file or the new one, never half
//!   of one: the bytes go to a hidden temporary file in the same directory
//!   (hidden, so readers that take every file of a directory skip it), then
//!   a rename replaces the file. [`Durability::Durable`] also syncs the data
//!   and the rename to disk, for files that must survive a power cut.
//! - [`DirWatch`], [`DirChanges`], [`created`]: waiting for a file to
//!   appear or change without polling: inotify watches its directory, or
//!   the deepest existing one on the way to it (the system bus's socket at
//!   boot, the kubelet's kubeconfig once k3s has registered the node,
//!   n3xnetd's status file for `wait-online` and `n3xnet-report`).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Write as _};
use std::os::fd::{AsFd as _, AsRawFd, RawFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify, WatchDescriptor};
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

/// Wakes its owner when a directory changes (an entry created, written,
/// renamed or removed), or, while the directory does not exist, when its
/// nearest existing ancestor does: the moment to look again. The one
/// inotify mechanism behind both waits n3xnet does, [`created`] (async)
/// and `n3xnetctl wait-online` ([`DirWatch::wait`], blocking).
pub struct DirWatch {
    inotify: Inotify,
    /// The directory watched now, and its watch.
    watched: Option<(PathBuf, WatchDescriptor)>,
}

impl DirWatch {
    pub fn new() -> io::Result<DirWatch> {
        Ok(DirWatch {
            inotify: Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)?,
            watched: None,
        })
    }

    /// Watches `dir`, or its nearest existing ancestor while it does not
    /// exist. Call it before every look at what is awaited, so that no
    /// change between the look and the wait is missed.
    pub fn arm(&mut self, dir: &Path) -> io::Result<()> {
        let mask = AddWatchFlags::IN_CREATE
            | AddWatchFlags::IN_MOVED_TO
            | AddWatchFlags::IN_CLOSE_WRITE
            | AddWatchFlags::IN_DELETE
            | AddWatchFlags::IN_MOVED_FROM
            | AddWatchFlags::IN_DELETE_SELF
            | AddWatchFlags::IN_MOVE_SELF
            | AddWatchFlags::IN_ONLYDIR;
        let mut target = dir;
        while !target.is_dir() {
            match target.parent() {
                Some(p) if !p.as_os_str().is_empty() => target = p,
                _ => {
                    target = Path::new(".");
                    break;
                }
            }
        }
        if let Some((path, wd)) = self.watched.take() {
            if path == target {
                self.watched = Some((path, wd));
            } else {
                // Gone with its directory already (IN_IGNORED) or not:
                // either way it must not wake us any more.
                let _ = self.inotify.rm_watch(wd);
            }
        }
        // Re-adding an existing watch is harmless: the kernel keeps its wd.
        let wd = self.inotify.add_watch(target, mask)?;
        self.watched = Some((target.to_owned(), wd));
        Ok(())
    }

    /// Blocks until a change or `deadline` (`None`: forever); `false` when
    /// the deadline passed.
    pub fn wait(&self, deadline: Option<std::time::Instant>) -> io::Result<bool> {
        loop {
            let timeout = match deadline {
                None => PollTimeout::NONE,
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    // Round up: waking a millisecond early would only loop.
                    let ms = left.as_micros().div_ceil(1000);
                    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(self.inotify.as_fd(), PollFlags::POLLIN)];
            match poll(&mut fds, timeout) {
                Ok(0) | Err(Errno::EINTR) => continue, // re-check the deadline
                Ok(_) if self.drain()? => return Ok(true),
                Ok(_) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Reads every pending event; whether there was any.
    fn drain(&self) -> io::Result<bool> {
        let mut any = false;
        loop {
            match self.inotify.read_events() {
                Ok(events) => any |= !events.is_empty(),
                Err(Errno::EAGAIN) => return Ok(any),
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }
}

impl AsRawFd for DirWatch {
    fn as_raw_fd(&self) -> RawFd {
        self.inotify.as_fd().as_raw_fd()
    }
}

/// Resolves when something is created on the way to `path` (the file
/// itself, or a missing directory above it): the moment to look again.
/// Resolves at once if `path` exists.
pub async fn created(path: &Path) -> io::Result<()> {
    let Some((dir, name)) = deepest_missing(path) else {
        return Ok(());
    };
    let mut changes = DirChanges::new()?;
    changes.arm(dir)?;
    // Looked at after the watch was set: nothing created in between is
    // missed.
    while !dir.join(name).exists() {
        changes.changed().await?;
    }
    Ok(())
}

/// [`DirWatch`] on the async runtime: `n3xnet-report` follows n3xnetd's
/// status file with it, [`created`] waits for a file with it.
pub struct DirChanges {
    fd: AsyncFd<DirWatch>,
}

impl DirChanges {
    pub fn new() -> io::Result<DirChanges> {
        // SAFETY: the descriptor is owned by the DirWatch, which moves into
        // the AsyncFd and so stays open for as long as it is registered.
        let fd = unsafe { AsyncFd::register_with_interest(DirWatch::new()?, Interest::READABLE)? };
        Ok(DirChanges { fd })
    }

    /// [`DirWatch::arm`]: call before every look at what is awaited.
    pub fn arm(&mut self, dir: &Path) -> io::Result<()> {
        self.fd.get_mut().arm(dir)
    }

    /// Resolves once the watched directory changed since the last call.
    pub async fn changed(&self) -> io::Result<()> {
        loop {
            let mut ready = self.fd.readable().await?;
            // Would-block: the readiness was stale; wait again.
            if let Ok(drained) = ready.try_io(|w| w.get_ref().drain_or_block()) {
                return drained;
            }
        }
    }
}

impl DirWatch {
    /// [`Self::drain`] for tokio: `WouldBlock` when there was nothing.
    fn drain_or_block(&self) -> io::Result<()> {
        if self.drain()? {
            Ok(())
        } else {
            Err(io::ErrorKind::WouldBlock.into())
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
