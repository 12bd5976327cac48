//! Running code inside a named network namespace (`ip netns` convention).
//!
//! A netlink socket stays bound to the namespace it was created in, and
//! `/proc/sys/net` resolves against the namespace of the task that opens a
//! file. So both only need the calling *thread* to be in the namespace for
//! the moment the socket or file is opened; the thread is moved back right
//! after, so the rest of the process (the tokio runtime thread included) is
//! never surprised by a foreign namespace.

use std::fs::File;
use std::path::{Path, PathBuf};

use nix::sched::{setns, CloneFlags};

use super::error::NetlinkError;

/// Where `ip netns add NAME` bind-mounts the namespace.
pub const NETNS_DIR: &str = "/run/netns";

/// The calling thread's own namespace (not the process leader's).
const THREAD_NETNS: &str = "/proc/thread-self/ns/net";

/// What identifies a network namespace however it is reached: the device
/// and inode of its nsfs file. `/run/netns/NAME` (a bind mount of it),
/// `/proc/PID/ns/net` and a second name for the same namespace all give
/// the same id, so everything keyed by it (the writer lock) is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetnsId {
    pub dev: u64,
    pub ino: u64,
}

impl NetnsId {
    /// The namespace named `netns` (`/run/netns/NAME`), or, for `None`, the
    /// one process `pid` (`None`: this process) lives in.
    pub fn of(netns: Option<&str>, pid: Option<u32>) -> Result<NetnsId, NetlinkError> {
        let path = match (netns, pid) {
            (Some(name), _) => {
                check_name(name)?;
                Path::new(NETNS_DIR).join(name)
            }
            (None, Some(pid)) => PathBuf::from(format!("/proc/{pid}/ns/net")),
            (None, None) => PathBuf::from("/proc/self/ns/net"),
        };
        let meta = std::fs::metadata(&path).map_err(|source| NetlinkError::NetnsOpen {
            name: netns.unwrap_or("(current)").to_owned(),
            path,
            source,
        })?;
        use std::os::unix::fs::MetadataExt as _;
        Ok(NetnsId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

fn check_name(name: &str) -> Result<(), NetlinkError> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        return Err(NetlinkError::InvalidNetnsName(name.to_owned()));
    }
    Ok(())
}

/// An open handle on a named network namespace.
#[derive(Debug)]
pub struct Netns {
    name: String,
    file: File,
}

impl Netns {
    pub fn open(name: &str) -> Result<Self, NetlinkError> {
        check_name(name)?;
        let path = Path::new(NETNS_DIR).join(name);
        let file = File::open(&path).map_err(|source| NetlinkError::NetnsOpen {
            name: name.to_owned(),
            path,
            source,
        })?;
        Ok(Netns {
            name: name.to_owned(),
            file,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `f` with the calling thread inside this namespace and moves the
    /// thread back afterwards, also when `f` panics.
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> Result<T, NetlinkError> {
        let home_path = PathBuf::from(THREAD_NETNS);
        let home = File::open(&home_path).map_err(|source| NetlinkError::NetnsOpen {
            name: "(current)".to_owned(),
            path: home_path,
            source,
        })?;
        setns(&self.file, CloneFlags::CLONE_NEWNET).map_err(|source| NetlinkError::NetnsEnter {
            name: self.name.clone(),
            source,
        })?;
        let _back = GoHome { home };
        Ok(f())
    }
}

/// Moves the thread back to its original namespace when dropped.
struct GoHome {
    home: File,
}

impl Drop for GoHome {
    fn drop(&mut self) {
        if let Err(e) = setns(&self.home, CloneFlags::CLONE_NEWNET) {
            // Every later socket or sysctl of this thread would silently act
            // on the wrong namespace; there is no safe way to continue.
            tracing::error!("cannot return to the original network namespace: {e}; aborting");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_names_that_escape_the_netns_dir() {
        for bad in ["", ".", "..", "a/b", "../x"] {
            assert!(
                matches!(Netns::open(bad), Err(NetlinkError::InvalidNetnsName(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn this_process_and_its_own_pid_are_one_namespace() {
        let me = NetnsId::of(None, None).unwrap();
        assert_eq!(NetnsId::of(None, Some(std::process::id())).unwrap(), me);
        assert!(matches!(
            NetnsId::of(Some("../x"), None),
            Err(NetlinkError::InvalidNetnsName(_))
        ));
    }

    #[test]
    fn missing_namespace_names_the_path() {
        let err = Netns::open("n3xnet-does-not-exist").unwrap_err();
        assert!(
            err.to_string().contains("/run/netns/n3xnet-does-not-exist"),
            "{err}"
        );
    }
}
