//! The second sink: the same labels as a node-feature-discovery local
//! feature file (`features.d`), for clusters whose NFD publishes node
//! labels. nfd-worker reads the directory on its own schedule and
//! nfd-master writes the labels, so this needs no credentials and no
//! `kube` feature; the namespace (`network.n3x.io`) must be allowed in
//! nfd-master's `extraLabelNs`. n3xnet-report keeps the file current
//! ([`crate::report`]).

use super::labels::Labels;

/// The file's text: a comment, then one `name=value` line per label.
pub fn features_file(labels: &Labels) -> String {
    let mut out =
        String::from("# written by n3xnet-report: the node's network health; do not edit\n");
    for (k, v) in labels {
        out.push_str(k);
        out.push('=');
        out.push_str(v);
        out.push('\n');
    }
    out
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
            "# written by n3xnet-report: the node's network health; do not edit\n\
             p/bond0.ports-up=2\np/health=ok\n"
        );
    }
}
