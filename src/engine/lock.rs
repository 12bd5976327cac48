//! One writer per network namespace at a time.
//!
//! Why: a writer plans against a dump and then changes the kernel. Two
//! writers that dump before either writes plan the same creations, and the
//! second fails with `EEXIST` and rolls back; a daemon's repair in the
//! middle of an operator's apply fights it. So every writer (`n3xnetctl
//! apply`, n3xnetd's start apply, repairs, reload, reconcile) holds this
//! lock from before its dump to after its verify. `plan` and `check` only
//! read: they take none.
//!
//! What: an exclusive `flock(2)` on `/run/lock/n3xnet/netns-<dev>-<ino>`,
//! keyed by the namespace's nsfs inode ([`NetnsId`]), so two names for one
//! namespace share a lock and both binaries find it without configuration.
//! `flock`, not a PID file: the kernel drops it with the holder's last
//! descriptor, so a killed writer never leaves a stale lock. The holder
//! writes `PID COMMAND` into the file, only for the message of whoever
//! finds it held. The directory is created 0755 (and refused when it is a
//! symlink, writable by others or owned by another user); the file is
//! opened `O_NOFOLLOW`, created 0644, so a planted symlink is not followed.
//!
//! Waiting is event-driven: one thread blocks in `flock(LOCK_EX)` and the
//! kernel wakes it at the release; the caller awaits its answer, with a
//! timeout or not. A caller that gives up drops the receiving end; the
//! thread, should it get the lock later, has nobody to hand it to and drops
//! it at once, so an abandoned wait never keeps the lock. Not
//! `spawn_blocking`: a runtime's shutdown waits for its blocking threads,
//! and `n3xnetctl` would hang after its timeout. Not inotify on the lock
//! file: the kernel raises `IN_CLOSE` before it releases the lock, so a
//! retry woken by it can miss the release.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, FileExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use tokio::sync::oneshot;

use crate::netlink::{NetlinkError, NetnsId};

/// Where the locks live: known to both binaries without configuration,
/// and not under n3xnetd's `RuntimeDirectory=` (`/run/n3xnet`), which
/// systemd removes whenever the daemon stops: a lock held by an operator's
/// apply across a daemon restart must stay the same file.
pub const LOCK_DIR: &str = "/run/lock/n3xnet";

/// Who holds a lock, as it wrote itself into the lock file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "PID {pid} ({})", self.command),
            // Between its flock and its write, or a writer that died: the
            // file does not say.
            None => f.write_str("a process that has not said who it is"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Netns(#[from] NetlinkError),

    #[error("writer lock directory {}: {source}", .path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("writer lock directory {} is unsafe ({why}): refusing to use it", .path.display())]
    UnsafeDir { path: PathBuf, why: &'static str },

    #[error("writer lock {}: {source}", .path.display())]
    File {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "another writer holds the namespace: {holder}{after}; lock {path}",
        path = .path.display(),
        after = after_waiting(*.waited)
    )]
    Busy {
        path: PathBuf,
        holder: Holder,
        /// How long this writer waited (`None`: it did not).
        waited: Option<Duration>,
    },
}

fn after_waiting(waited: Option<Duration>) -> String {
    match waited {
        Some(w) if !w.is_zero() => format!(", still after waiting {} s", w.as_secs_f64()),
        _ => String::new(),
    }
}

/// The held lock of one namespace; released when dropped (or when the
/// process dies).
#[derive(Debug)]
pub struct WriterLock {
    _lock: Flock<File>,
}

/// Takes the writer lock of the namespace `netns` (`None`: this process's).
/// `wait`: `Some(ZERO)` fails at once when it is held, `Some(d)` waits up
/// to `d`, `None` until it is released.
pub async fn acquire(netns: Option<&str>, wait: Option<Duration>) -> Result<WriterLock, LockError> {
    let id = NetnsId::of(netns, None)?;
    acquire_at(&lock_path(Path::new(LOCK_DIR), id)?, wait).await
}

/// The lock file of namespace `id` in `dir`, the directory created safe.
fn lock_path(dir: &Path, id: NetnsId) -> Result<PathBuf, LockError> {
    let dir_error = |source| LockError::Dir {
        path: dir.to_owned(),
        source,
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(dir_error)?;
    let meta = std::fs::symlink_metadata(dir).map_err(dir_error)?;
    let why = if !meta.file_type().is_dir() {
        Some("not a directory")
    } else if meta.mode() & 0o022 != 0 {
        Some("writable by others")
    } else if meta.uid() != 0 && meta.uid() != nix::unistd::geteuid().as_raw() {
        Some("owned by another user")
    } else {
        None
    };
    if let Some(why) = why {
        return Err(LockError::UnsafeDir {
            path: dir.to_owned(),
            why,
        });
    }
    Ok(dir.join(format!("netns-{}-{}", id.dev, id.ino)))
}

async fn acquire_at(path: &Path, wait: Option<Duration>) -> Result<WriterLock, LockError> {
    let file_error = |source: io::Error| LockError::File {
        path: path.to_owned(),
        source,
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(file_error)?;
    let file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => return held(lock, path),
        Err((file, Errno::EWOULDBLOCK)) => file,
        Err((_, e)) => return Err(file_error(e.into())),
    };
    let holder = read_holder(&file);
    let busy = || LockError::Busy {
        path: path.to_owned(),
        holder: holder.clone(),
        waited: wait,
    };
    if wait == Some(Duration::ZERO) {
        return Err(busy());
    }
    tracing::info!(%holder, "another writer holds the namespace: waiting");
    let answer = block_in_thread(file);
    let answer = match wait {
        None => answer.await,
        Some(d) => tokio::time::timeout(d, answer).await.map_err(|_| busy())?,
    };
    let lock = answer
        .map_err(|_| file_error(io::Error::other("the waiting thread is gone")))?
        .map_err(|e| file_error(e.into()))?;
    held(lock, path)
}

/// Blocks a thread of its own in `flock(LOCK_EX)` (see the module head).
fn block_in_thread(file: File) -> oneshot::Receiver<Result<Flock<File>, Errno>> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut file = file;
        let result = loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Err((f, Errno::EINTR)) => file = f,
                other => break other.map_err(|(_, e)| e),
            }
        };
        // Nobody waits any more: the lock goes with the unsent answer.
        let _ = tx.send(result);
    });
    rx
}

/// Writes who holds the lock into it, for those that find it held.
fn held(lock: Flock<File>, path: &Path) -> Result<WriterLock, LockError> {
    let line = format!("{} {}\n", std::process::id(), command());
    lock.set_len(0)
        .and_then(|()| lock.write_all_at(line.as_bytes(), 0))
        .map_err(|source| LockError::File {
            path: path.to_owned(),
            source,
        })?;
    Ok(WriterLock { _lock: lock })
}

/// This process's command line, shortened to the program's name.
fn command() -> String {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    let name = Path::new(&program)
        .file_name()
        .map_or(program.clone(), |n| n.to_string_lossy().into_owned());
    std::iter::once(name)
        .chain(args)
        .collect::<Vec<_>>()
        .join(" ")
}

fn read_holder(file: &File) -> Holder {
    let mut buf = [0u8; 512];
    let n = file.read_at(&mut buf, 0).unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    let line = text.lines().next().unwrap_or("");
    let (pid, command) = line.split_once(' ').unwrap_or((line, ""));
    Holder {
        pid: pid.parse().ok(),
        command: command.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flock belongs to an open file description: two opens in one
    /// process conflict, which lets these tests run without root.
    fn path(dir: &tempfile::TempDir) -> PathBuf {
        lock_path(dir.path(), NetnsId { dev: 1, ino: 2 }).unwrap()
    }

    const LONG: Option<Duration> = Some(Duration::from_secs(10));

    #[tokio::test]
    async fn a_second_writer_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        assert!(path.ends_with("netns-1-2"));
        let first = acquire_at(&path, Some(Duration::ZERO)).await.unwrap();
        let e = acquire_at(&path, Some(Duration::ZERO)).await.unwrap_err();
        let LockError::Busy { holder, waited, .. } = &e else {
            panic!("{e}");
        };
        assert_eq!(holder.pid, Some(std::process::id()));
        assert_eq!(*waited, Some(Duration::ZERO));
        assert!(
            e.to_string().starts_with(&format!(
                "another writer holds the namespace: PID {}",
                std::process::id()
            )),
            "{e}"
        );
        drop(first);
        acquire_at(&path, Some(Duration::ZERO)).await.unwrap();
    }

    #[tokio::test]
    async fn a_waiter_gets_the_lock_when_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let first = acquire_at(&path, Some(Duration::ZERO)).await.unwrap();
        let waiter = acquire_at(&path, LONG);
        tokio::pin!(waiter);
        // Still held: the waiter waits (and does not spin: it is parked in
        // a thread the kernel wakes).
        assert!(tokio::time::timeout(Duration::from_millis(50), &mut waiter)
            .await
            .is_err());
        drop(first);
        waiter.await.unwrap();
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_keep_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let first = acquire_at(&path, Some(Duration::ZERO)).await.unwrap();
        let e = acquire_at(&path, Some(Duration::from_millis(20)))
            .await
            .unwrap_err();
        assert!(
            matches!(e, LockError::Busy { waited: Some(w), .. } if w == Duration::from_millis(20)),
            "{e}"
        );
        assert!(e.to_string().contains("still after waiting 0.02 s"), "{e}");
        // The abandoned thread gets it now, and lets it go at once.
        drop(first);
        acquire_at(&path, LONG).await.unwrap();
    }

    #[tokio::test]
    async fn a_planted_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let path = path(&dir);
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let e = acquire_at(&path, Some(Duration::ZERO)).await.unwrap_err();
        assert!(matches!(e, LockError::File { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep");
    }

    #[test]
    fn a_directory_others_may_write_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("lock");
        let id = NetnsId { dev: 1, ino: 2 };
        lock_path(&locks, id).unwrap();
        assert_eq!(std::fs::metadata(&locks).unwrap().mode() & 0o022, 0);
        std::fs::set_permissions(&locks, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            lock_path(&locks, id),
            Err(LockError::UnsafeDir {
                why: "writable by others",
                ..
            })
        ));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).unwrap();
        assert!(matches!(
            lock_path(&link, id),
            Err(LockError::UnsafeDir {
                why: "not a directory",
                ..
            })
        ));
    }
}
