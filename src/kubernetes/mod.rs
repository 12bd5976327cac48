//! Kubernetes feedback: n3xnetd tells the cluster how the node's network
//! is, on the node's own Node object, with the node's own credentials.
//!
//! - [`labels`]: `network.n3x.io/health=ok|degraded|down`, one per network
//!   and bond ([`labels::labels`] has the list);
//! - [`condition`]: the NodeCondition `N3xNetworkReady`;
//! - [`node`]: the request bodies (merge patch of labels and the ownership
//!   annotation, strategic merge patch of the condition, Events);
//! - [`schedule`]: debounce, heartbeat, backoff;
//! - [`nfd`]: the same labels as a node-feature-discovery feature file;
//! - `task` (cargo feature `kube`): the daemon task that talks to the API
//!   server through kube-rs, fed by the daemon's status watch.
//!
//! Everything but `task` is pure and compiled in every build.

pub mod condition;
pub mod labels;
pub mod nfd;
pub mod node;
pub mod schedule;
#[cfg(feature = "kube")]
mod task;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::watch;

use crate::config::KubernetesConfig;
use crate::daemon::DaemonStatus;

#[cfg(feature = "kube")]
pub use task::{run, FeedbackError};

/// Where the feedback task reports; `None` while there is none.
pub type Feedback = watch::Receiver<Option<KubernetesStatus>>;

/// Starts the feedback task beside the supervisor, fed by its status
/// watch, when `config` enables it and the build has the `kube` feature,
/// and the NFD feature file writer when configured; the task's own
/// status. Call from within the daemon's runtime.
pub fn spawn(config: &KubernetesConfig, daemon: watch::Receiver<Arc<DaemonStatus>>) -> Feedback {
    if let Some(path) = &config.nfd_feature_file {
        tokio::spawn(nfd::serve(
            path.clone(),
            config.prefix.clone(),
            daemon.clone(),
        ));
    }
    let (tx, rx) = watch::channel(None);
    #[cfg(feature = "kube")]
    if config.enable {
        tokio::spawn(run(config.clone(), daemon, tx));
        return rx;
    }
    #[cfg(not(feature = "kube"))]
    if config.enable {
        tracing::debug!("built without the kube feature: no kubernetes feedback");
    }
    drop((daemon, tx));
    rx
}

/// Where the feedback stands, as `kubernetes` in the daemon's status file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncState {
    /// The kubeconfig does not exist (yet: k3s writes it when the agent
    /// registers); looked for again every 30 s.
    Waiting,
    /// A change is being debounced or written.
    Syncing,
    /// The Node shows the current health.
    Synced,
    /// The last attempt failed; retrying with backoff.
    Retrying,
}
