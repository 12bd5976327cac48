//! Whose files n3xnet obeys. Whoever can write the profile or n3xnetd's
//! configuration owns the node's network (and, through a route or a VLAN,
//! often more), so the privileged paths refuse files that anyone but root
//! could change, as sshd's `StrictModes` does for `authorized_keys`:
//! `n3xnetd` at start and reload, and `n3xnetctl apply`. Offline commands
//! (`validate`, `plan`, `render`, ...) change nothing and read any file.
//!
//! A file is trusted when the file and every directory on its real path
//! (symlinks resolved: what is read is what is checked) are owned by root
//! and not writable by a group other than root's or by everyone. A
//! world-writable directory is accepted only with the sticky bit (`/tmp`):
//! there nobody but a file's owner can replace it. The check applies only
//! when running as root; an unprivileged process can change nothing a
//! file could make it do.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

const GROUP_WRITE: u32 = 0o020;
const OTHER_WRITE: u32 = 0o002;
const STICKY: u32 = 0o1000;

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("cannot check who may change {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `why` names the path that makes it unsafe and how.
    #[error(
        "refusing {}: {why}, so someone other than root could change the node's network \
         (as root: chown root:root and chmod go-w it)",
        file.display()
    )]
    Untrusted { file: PathBuf, why: String },
}

/// The owner and mode of one path on the way to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub mode: u32,
    pub is_dir: bool,
}

/// Refuses `path` if a non-root user could change it (see the module
/// head); accepts anything when not running as root.
pub fn check(path: &Path) -> Result<(), TrustError> {
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TrustError::Io { path, source }
    };
    // A missing file is the loader's to report; its directories are still
    // checked, or someone else could create it between here and the read.
    let existing = path
        .ancestors()
        .find(|p| p.as_os_str().is_empty() || p.exists())
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let real = std::fs::canonicalize(existing).map_err(io(existing))?;
    let mut entries = Vec::new();
    for p in real.ancestors() {
        let m = std::fs::metadata(p).map_err(io(p))?;
        entries.push(Entry {
            path: p.to_path_buf(),
            uid: m.uid(),
            gid: m.gid(),
            mode: m.mode(),
            is_dir: m.is_dir(),
        });
    }
    match unsafe_because(&entries) {
        Some(why) => Err(TrustError::Untrusted {
            file: path.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// Why the file (first entry) with these ancestors is unsafe, if it is.
pub fn unsafe_because(entries: &[Entry]) -> Option<String> {
    entries.iter().find_map(|e| {
        let path = e.path.display();
        if e.uid != 0 {
            Some(format!("{path} is owned by uid {}", e.uid))
        } else if e.mode & GROUP_WRITE != 0 && e.gid != 0 {
            Some(format!("{path} is writable by group {}", e.gid))
        } else if e.mode & OTHER_WRITE != 0 && !(e.is_dir && e.mode & STICKY != 0) {
            Some(format!("{path} is writable by everyone"))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, uid: u32, gid: u32, mode: u32, is_dir: bool) -> Entry {
        Entry {
            path: path.into(),
            uid,
            gid,
            mode,
            is_dir,
        }
    }

    fn chain(file_mode: u32, dir: Entry) -> Vec<Entry> {
        vec![
            entry("/etc/n3xnet/profile.toml", 0, 0, file_mode, false),
            dir,
            entry("/", 0, 0, 0o755, true),
        ]
    }

    #[test]
    fn root_owned_and_not_writable_by_others_is_trusted() {
        let root_dir = entry("/etc/n3xnet", 0, 0, 0o755, true);
        assert_eq!(unsafe_because(&chain(0o644, root_dir.clone())), None);
        // Group root may write: only root is in it on a sane system.
        assert_eq!(unsafe_because(&chain(0o664, root_dir)), None);
        // /tmp: world-writable but sticky.
        let tmp = entry("/tmp", 0, 0, 0o1777, true);
        assert_eq!(unsafe_because(&chain(0o600, tmp)), None);
    }

    #[test]
    fn anyone_else_who_could_write_it_is_named() {
        let root_dir = entry("/etc/n3xnet", 0, 0, 0o755, true);
        assert_eq!(
            unsafe_because(&chain(0o666, root_dir.clone())).as_deref(),
            Some("/etc/n3xnet/profile.toml is writable by everyone")
        );
        assert_eq!(
            unsafe_because(&chain(0o620, entry("/etc/n3xnet", 0, 0, 0o755, true))),
            None
        );
        let mut owned = chain(0o644, root_dir);
        owned[0].uid = 1000;
        assert_eq!(
            unsafe_because(&owned).as_deref(),
            Some("/etc/n3xnet/profile.toml is owned by uid 1000")
        );
        // The directory: whoever can write it can replace the file.
        let staff = entry("/etc/n3xnet", 0, 50, 0o775, true);
        assert_eq!(
            unsafe_because(&chain(0o644, staff)).as_deref(),
            Some("/etc/n3xnet is writable by group 50")
        );
        let open = entry("/srv/profiles", 0, 0, 0o777, true);
        assert_eq!(
            unsafe_because(&chain(0o644, open)).as_deref(),
            Some("/srv/profiles is writable by everyone")
        );
        let home = entry("/home/op", 1000, 1000, 0o755, true);
        assert_eq!(
            unsafe_because(&chain(0o644, home)).as_deref(),
            Some("/home/op is owned by uid 1000")
        );
    }
}
