//! The file sinks: a file kept showing something rendered from the
//! daemon's latest status (the NFD feature file, the Prometheus textfile),
//! rewritten atomically and only when its text changes ([`ChangedFile`]),
//! so an idle node means no writes and readers never see half a file.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use crate::api::report::{FileKind, FileStatus};
use crate::api::status::DaemonStatus;
use crate::clock::now_ms;
use crate::files::{write_atomic, Durability};

/// A file rewritten atomically, and only when its text changes.
///
/// Durable: both sinks' files are on disk (`/etc/kubernetes/...`,
/// `/var/lib/prometheus/...`), read by others possibly right after a power
/// cut and before the reporter runs again: an empty file would hide every
/// label or metric until then.
#[derive(Debug)]
pub struct ChangedFile {
    path: PathBuf,
    /// What the file holds since this process last wrote it; `None` before
    /// the first write, so a new reporter replaces what an older one left.
    last: Option<String>,
}

impl ChangedFile {
    pub fn new(path: PathBuf) -> ChangedFile {
        ChangedFile { path, last: None }
    }

    /// Writes `text` unless the file already holds it; whether it wrote.
    /// After a failure the next call tries again.
    pub fn publish(&mut self, text: String) -> io::Result<bool> {
        if self.last.as_ref() == Some(&text) {
            return Ok(false);
        }
        write_atomic(&self.path, text.as_bytes(), Durability::Durable)?;
        self.last = Some(text);
        Ok(true)
    }
}

/// What a sink writes, and where.
pub struct FileSink {
    pub kind: FileKind,
    pub path: PathBuf,
    pub render: Box<dyn Fn(&DaemonStatus) -> String + Send>,
}

impl FileSink {
    /// How the sink stands before its first write.
    pub fn initial(&self) -> FileStatus {
        FileStatus {
            kind: self.kind,
            path: self.path.clone(),
            written_at_ms: None,
            error: None,
        }
    }

    /// Keeps the file current until the status channel closes; reports in
    /// its slot `index` of `out`, the list of every sink's state (one list,
    /// so the reporter has one thing to watch). A failed write is retried
    /// on the next change (and said once).
    pub async fn serve(
        self,
        mut daemon: watch::Receiver<Arc<DaemonStatus>>,
        out: watch::Sender<Vec<FileStatus>>,
        index: usize,
    ) {
        let mut file = ChangedFile::new(self.path.clone());
        let set = |f: &dyn Fn(&mut FileStatus)| {
            out.send_modify(|v| {
                if let Some(s) = v.get_mut(index) {
                    f(s);
                }
            })
        };
        loop {
            let text = (self.render)(&daemon.borrow_and_update());
            match file.publish(text) {
                Ok(false) => {}
                Ok(true) => set(&|s| {
                    s.written_at_ms = Some(now_ms());
                    s.error = None;
                }),
                Err(e) => {
                    let error = e.to_string();
                    let said = out.borrow().get(index).and_then(|s| s.error.clone());
                    if said.as_ref() != Some(&error) {
                        tracing::warn!(
                            path = %self.path.display(),
                            "cannot write the {} file: {error}",
                            self.kind.as_str()
                        );
                        set(&|s| s.error = Some(error.clone()));
                    }
                }
            }
            if daemon.changed().await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_is_written_once_per_change() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n3xnet.prom");
        let mut file = ChangedFile::new(path.clone());
        assert!(file.publish("a 1\n".into()).unwrap());
        // The same text writes nothing: removed behind its back, the file
        // stays removed.
        std::fs::remove_file(&path).unwrap();
        assert!(!file.publish("a 1\n".into()).unwrap());
        assert!(!path.exists());
        assert!(file.publish("a 2\n".into()).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a 2\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["n3xnet.prom"]);
        // A failure is not remembered as written: the next call tries again.
        let mut missing = ChangedFile::new(dir.path().join("d/n3xnet.prom"));
        assert!(missing.publish("a 1\n".into()).is_err());
        std::fs::create_dir(dir.path().join("d")).unwrap();
        assert!(missing.publish("a 1\n".into()).unwrap());
    }

    #[test]
    fn writes_on_change_only_and_reports_failures() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("features.d");
        std::fs::create_dir(&dir).unwrap();
        let path = dir.join("out");
        let rt = crate::runtime::current_thread().unwrap();
        rt.block_on(async {
            let sink = FileSink {
                kind: FileKind::Nfd,
                path: path.clone(),
                render: Box::new(|s: &DaemonStatus| format!("pid={}\n", s.pid)),
            };
            let (tx, rx) = watch::channel(Arc::new(DaemonStatus::default()));
            let (out_tx, mut out) = watch::channel(vec![sink.initial()]);
            let task = tokio::spawn(sink.serve(rx, out_tx, 0));
            out.changed().await.unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "pid=0\n");
            let first = out.borrow_and_update()[0].written_at_ms;
            assert!(first.is_some());
            // A change that cannot be written (the directory is gone):
            // reported, then written once it can be.
            std::fs::remove_dir_all(&dir).unwrap();
            tx.send(Arc::new(DaemonStatus {
                pid: 1,
                ..DaemonStatus::default()
            }))
            .unwrap();
            out.changed().await.unwrap();
            assert!(out.borrow_and_update()[0].error.is_some());
            std::fs::create_dir(&dir).unwrap();
            tx.send(Arc::new(DaemonStatus {
                pid: 2,
                ..DaemonStatus::default()
            }))
            .unwrap();
            out.changed().await.unwrap();
            assert_eq!(out.borrow()[0].error, None);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "pid=2\n");
            drop(tx);
            task.await.unwrap();
        });
    }
}
