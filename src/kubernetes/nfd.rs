//! The second sink: the same labels as a node-feature-discovery local
//! feature file (`features.d`), for clusters whose NFD publishes node
//! labels. nfd-worker reads the directory on its own schedule and
//! nfd-master writes the labels, so this needs no credentials and no
//! `kube` feature; the namespace (`network.n3x.io`) must be allowed in
//! nfd-master's `extraLabelNs`.

use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;

use super::labels::{self, Labels};
use crate::api::status::DaemonStatus;
use crate::files::{write_atomic, Durability};

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

/// Keeps `path` holding the labels of the latest status (rewritten only
/// when they change) until the status channel closes.
pub async fn serve(path: PathBuf, prefix: String, mut daemon: watch::Receiver<Arc<DaemonStatus>>) {
    let mut written: Option<String> = None;
    let mut warned = false;
    loop {
        let text = {
            let status = daemon.borrow_and_update();
            features_file(&labels::for_profile(
                status.health.as_ref(),
                &status.profile,
                &prefix,
            ))
        };
        if written.as_ref() != Some(&text) {
            // On disk (`/etc/kubernetes/node-feature-discovery/features.d`):
            // a power cut must not leave an empty file behind.
            match write_atomic(&path, text.as_bytes(), Durability::Durable) {
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
}
