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
//!   server through kube-rs.
//!
//! Both sinks follow n3xnetd's status as the contract defines it
//! ([`crate::api::status`]), never the daemon's internals: today through
//! the daemon's status watch, tomorrow from `status.json` in a process of
//! their own.
//!
//! Everything but `task` is pure and compiled in every build.

pub mod condition;
pub mod labels;
pub mod nfd;
pub mod node;
pub mod schedule;
#[cfg(feature = "kube")]
mod task;

use std::sync::Arc;

use tokio::sync::watch;

use crate::api::status::{DaemonStatus, KubernetesStatus};
use crate::config::KubernetesConfig;

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
