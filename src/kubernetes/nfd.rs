//! The second sink: the same labels as a node-feature-discovery local
//! feature file (`features.d`), for clusters whose NFD publishes node
//! labels. nfd-worker reads the directory on its own schedule and
//! nfd-master writes the labels, so this needs no credentials and no
//! `kube` feature; the namespace (`network.n3x.io`) must be allowed in
//! nfd-master's `extraLabelNs`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::watch;

use super::labels::{self, Labels};
use crate::daemon::DaemonStatus;

/// The file's text: a comment, then one `name=value` line per label.
pub fn features_file(labels: &Labels) -> String {
    let mut out = String::from("# written by n3xnetd: the node's network health; do not edit\n");
    for (k, v) in labels {
        out.push_str(k);
        out.push('=');
        out.push_str(v);
        out.push('\n');
    }
    out
}

/// Writes `text` atomically (temporary file in the same directory, then
/// rename): nfd-worker must never read half a file.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Keeps `path` holding the labels of the latest status (rewritten only
/// when they change) until the status channel closes.
pub async fn serve(path: PathBuf, prefix: String, mut daemon: watch::Receiver<Arc<DaemonStatus>>) {
    let mut written: Option<String> = None;
    let mut warned = false;
    loop {
        let text = features_file(&labels::for_status(&daemon.borrow_and_update(), &prefix));
        if written.as_ref() != Some(&text) {
            match write_atomic(&path, &text) {
                Ok(()) => {
                    written = Some(text);
                    warned = false;
                }
                // Retried on the next change; said once.
                Err(e) if !warned => {
                    tracing::warn!(path = %path.display(), "cannot write the NFD feature file: {e}");
                    warned = true;
                }
                Err(_) => {}
            }
        }
        if daemon.changed().await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_label_after_a_comment() {
        let l: Labels = [("p/health", "ok"), ("p/bond0.ports-up", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(
            features_file(&l),
            "# written by n3xnetd: the node's network health; do not edit\n\
             p/bond0.ports-up=2\np/health=ok\n"
        );
    }

    #[test]
    fn written_atomically_replacing_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n3xnet");
        write_atomic(&path, "a=1\n").unwrap();
        write_atomic(&path, "a=2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a=2\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left");
        assert!(write_atomic(&dir.path().join("missing/n3xnet"), "").is_err());
    }
}
