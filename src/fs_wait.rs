//! Waiting for a file to appear without polling: inotify watches the
//! deepest existing directory on the way to it for the next path component
//! to be created (the system bus's socket at boot, the kubelet's kubeconfig
//! once k3s has registered the node).

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd as _, AsRawFd, RawFd};
use std::path::Path;

use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

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
