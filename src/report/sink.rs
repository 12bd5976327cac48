//! The file sinks: a file kept showing something rendered from the
//! daemon's latest status (the NFD feature file, the Prometheus textfile),
//! rewritten atomically and only when its text changes, so an idle node
//! means no writes and readers never see half a file.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use crate::api::report::{FileKind, FileStatus};
use crate::api::status::DaemonStatus;
use crate::clock::now_ms;
use crate::files::{write_atomic, Durability};

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

    /// Keeps the file current until the status channel closes; reports on
    /// `out`. A failed write is retried on the next change (and said once).
    pub async fn serve(
        self,
        mut daemon: watch::Receiver<Arc<DaemonStatus>>,
        out: watch::Sender<FileStatus>,
    ) {
        let mut written: Option<String> = None;
        loop {
            let text = (self.render)(&daemon.borrow_and_update());
            if written.as_ref() != Some(&text) {
                // Both files are on disk (`/etc/kubernetes/...`,
                // `/var/lib/prometheus/...`): a power cut must not leave
                // an empty one behind.
                match write_atomic(&self.path, text.as_bytes(), Durability::Durable) {
                    Ok(()) => {
                        written = Some(text);
                        out.send_modify(|s| {
                            s.written_at_ms = Some(now_ms());
                            s.error = None;
                        });
                    }
                    Err(e) => {
                        let error = e.to_string();
                        if out.borrow().error.as_ref() != Some(&error) {
                            tracing::warn!(
                                path = %self.path.display(),
                                "cannot write the {} file: {error}",
                                self.kind.as_str()
                            );
                            out.send_modify(|s| s.error = Some(error));
                        }
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
            let (out_tx, mut out) = watch::channel(sink.initial());
            let task = tokio::spawn(sink.serve(rx, out_tx));
            out.changed().await.unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "pid=0\n");
            let first = out.borrow_and_update().written_at_ms;
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
            assert!(out.borrow_and_update().error.is_some());
            std::fs::create_dir(&dir).unwrap();
            tx.send(Arc::new(DaemonStatus {
                pid: 2,
                ..DaemonStatus::default()
            }))
            .unwrap();
            out.changed().await.unwrap();
            assert_eq!(out.borrow().error, None);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "pid=2\n");
            drop(tx);
            task.await.unwrap();
        });
    }
}
