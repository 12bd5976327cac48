//! Following n3xnetd's `status.json` without polling: inotify on its
//! directory (or the nearest existing one above it while n3xnetd has not
//! made it yet), a read after every change, and only a status that
//! differs from the last one is handed on. n3xnetd replaces the file by a
//! rename, so every read sees a whole status.

use std::io;
use std::path::{Path, PathBuf};

use crate::api::status::{DaemonStatus, STATUS_SCHEMA_VERSION};
use crate::files::DirChanges;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("cannot watch {} for n3xnetd's status: {source}", dir.display())]
    Watch {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
}

pub struct Follower {
    path: PathBuf,
    dir: PathBuf,
    changes: DirChanges,
    /// The bytes of the status last handed on.
    last: Option<Vec<u8>>,
    /// What was last said about an unreadable file, to say it once.
    complaint: Option<String>,
}

impl Follower {
    pub fn new(path: &Path) -> Result<Follower, FollowError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_owned();
        let changes = DirChanges::new().map_err(|source| FollowError::Watch {
            dir: dir.clone(),
            source,
        })?;
        Ok(Follower {
            path: path.to_owned(),
            dir,
            changes,
            last: None,
            complaint: None,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next status that differs from the last one returned (the
    /// current one on the first call); waits as long as it takes.
    pub async fn next(&mut self) -> Result<DaemonStatus, FollowError> {
        loop {
            let watch = |source| FollowError::Watch {
                dir: self.dir.clone(),
                source,
            };
            // Armed before the look: a change in between is not missed.
            self.changes.arm(&self.dir).map_err(watch)?;
            if let Some(status) = self.read() {
                return Ok(status);
            }
            self.changes
                .changed()
                .await
                .map_err(|source| FollowError::Watch {
                    dir: self.dir.clone(),
                    source,
                })?;
        }
    }

    /// The file's status if it is new; complaints (once each) otherwise.
    fn read(&mut self) -> Option<DaemonStatus> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            // Not started yet, or stopped (systemd removes the runtime
            // directory): the next one is awaited.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.complain(format!("cannot read {}: {e}", self.path.display()));
                return None;
            }
        };
        if self.last.as_ref() == Some(&bytes) {
            return None;
        }
        match serde_json::from_slice::<DaemonStatus>(&bytes) {
            Ok(status) => {
                if status.schema_version != STATUS_SCHEMA_VERSION {
                    self.complain(format!(
                        "{} has schema version {}, this reporter reads {STATUS_SCHEMA_VERSION}: \
                         update n3xnet-report together with n3xnetd",
                        self.path.display(),
                        status.schema_version
                    ));
                } else {
                    self.complaint = None;
                }
                self.last = Some(bytes);
                Some(status)
            }
            Err(e) => {
                self.complain(format!("cannot parse {}: {e}", self.path.display()));
                None
            }
        }
    }

    fn complain(&mut self, what: String) {
        if self.complaint.as_ref() != Some(&what) {
            tracing::warn!("{what}");
            self.complaint = Some(what);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::api::status::Phase;
    use crate::files::{write_atomic, Durability};

    fn write(path: &Path, status: &DaemonStatus) {
        let text = serde_json::to_vec(status).unwrap();
        write_atomic(path, &text, Durability::Volatile).unwrap();
    }

    #[test]
    fn waits_for_the_directory_and_hands_on_only_changes() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("n3xnet");
        let path = dir.join("status.json");
        let rt = crate::runtime::current_thread().unwrap();
        rt.block_on(async {
            let mut f = Follower::new(&path).unwrap();
            let mut s = DaemonStatus {
                schema_version: STATUS_SCHEMA_VERSION,
                pid: 7,
                ..DaemonStatus::default()
            };
            // Nothing there yet: the first status is awaited.
            let first = tokio::time::timeout(Duration::from_millis(50), f.next()).await;
            assert!(first.is_err(), "returned without a file");
            std::fs::create_dir(&dir).unwrap();
            write(&path, &s);
            let got = tokio::time::timeout(Duration::from_secs(5), f.next()).await;
            assert_eq!(got.unwrap().unwrap().pid, 7);
            // The same bytes again are no news; a change is.
            write(&path, &s);
            s.phase = Phase::Running;
            write(&path, &s);
            let got = tokio::time::timeout(Duration::from_secs(5), f.next()).await;
            assert_eq!(got.unwrap().unwrap().phase, Phase::Running);
            // A file that does not parse is skipped, the next good one read.
            std::fs::write(&path, "{").unwrap();
            s.pid = 8;
            write(&path, &s);
            let got = tokio::time::timeout(Duration::from_secs(5), f.next()).await;
            assert_eq!(got.unwrap().unwrap().pid, 8);
        });
    }
}
