//! `report.json`: what `n3xnet-report` says of itself, the contract between
//! the reporter and its readers (`n3xnetctl status`, tests, monitoring).
//! It lives in the reporter's own runtime directory: the reporter runs
//! without privileges and writes nothing of n3xnetd's.
//!
//! Compatibility as for `status.json` ([`super::status`]): within one
//! [`REPORT_SCHEMA_VERSION`] fields are only ever added.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where n3xnet-report's unit keeps its runtime directory
/// (`RuntimeDirectory=n3xnet-report`), and so its status file.
pub const DEFAULT_REPORT_DIR: &str = "/run/n3xnet-report";

/// The file name under the reporter's runtime directory.
pub const REPORT_FILE: &str = "report.json";

/// Version of the report JSON; fields are only ever added within one.
pub const REPORT_SCHEMA_VERSION: u32 = 1;

/// The reporter as a whole (`report.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportStatus {
    pub schema_version: u32,
    pub pid: u32,
    /// The daemon's status file it follows.
    pub follows: PathBuf,
    /// The pid of the n3xnetd whose status was read last; `None` before
    /// the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daemon_pid: Option<u32>,
    /// The `STATUS=` line.
    pub status: String,
    /// Where the Kubernetes feedback stands (when it is enabled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesStatus>,
    /// The files it keeps current (NFD feature file, Prometheus textfile).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileStatus>,
    pub updated_at_ms: u64,
}

/// A file the reporter keeps showing the daemon's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileStatus {
    pub kind: FileKind,
    pub path: PathBuf,
    /// When it was last (re)written, ms since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_at_ms: Option<u64>,
    /// Why the last write failed (retried on the next change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    /// node-feature-discovery's local feature file (`features.d`).
    Nfd,
    /// node_exporter's textfile collector (`*.prom`).
    Textfile,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Nfd => "nfd",
            FileKind::Textfile => "textfile",
        }
    }
}

/// Where the Kubernetes feedback stands, as `kubernetes` in `report.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesStatus {
    pub state: SyncState,
    /// `kubernetes: synced`, `kubernetes: retrying in 4s (403 Forbidden: ...)`.
    pub summary: String,
    /// The Node written to.
    pub node: String,
    pub kubeconfig: PathBuf,
    /// Why the last attempt failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Write requests (patches, events) that succeeded since start.
    pub writes: u64,
    /// When the Node last matched the health (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// The kubeconfig does not exist (yet: k3s writes it when the agent
    /// registers); watched for with inotify.
    Waiting,
    /// A change is being debounced or written.
    Syncing,
    /// The Node shows the current health.
    Synced,
    /// The last attempt failed; retrying with backoff.
    Retrying,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_report_reads_and_the_parts_round_trip() {
        let r: ReportStatus = serde_json::from_str(
            r#"{"schemaVersion": 1, "pid": 9, "follows": "/run/n3xnet/status.json",
                "status": "waiting", "updatedAtMs": 1, "addedLater": 0}"#,
        )
        .unwrap();
        assert!(r.kubernetes.is_none() && r.files.is_empty() && r.daemon_pid.is_none());
        let full = ReportStatus {
            kubernetes: Some(KubernetesStatus {
                state: SyncState::Retrying,
                summary: "kubernetes: retrying in 4s".into(),
                node: "server-1".into(),
                kubeconfig: "/etc/rancher/k3s/k3s.yaml".into(),
                error: None,
                writes: 3,
                synced_at_ms: Some(5),
            }),
            files: vec![FileStatus {
                kind: FileKind::Textfile,
                path: "/var/lib/prometheus/node-exporter/n3xnet.prom".into(),
                written_at_ms: Some(2),
                error: None,
            }],
            ..r
        };
        let json = serde_json::to_string(&full).unwrap();
        assert!(json.contains(r#""kind":"textfile""#), "{json}");
        assert_eq!(serde_json::from_str::<ReportStatus>(&json).unwrap(), full);
    }
}
