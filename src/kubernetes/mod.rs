//! Kubernetes feedback: n3xnet-report tells the cluster how the node's
//! network is, on the node's own Node object, with the node's own
//! credentials.
//!
//! - [`labels`]: `network.n3x.io/health=ok|degraded|down`, one per network
//!   and bond ([`labels::labels`] has the list);
//! - [`condition`]: the NodeCondition `N3xNetworkReady`;
//! - [`node`]: the request bodies (merge patch of labels and the ownership
//!   annotation, strategic merge patch of the condition, Events);
//! - [`schedule`]: debounce, heartbeat, backoff;
//! - [`nfd`]: the same labels as a node-feature-discovery feature file;
//! - `task` (cargo feature `kube`): the task that talks to the API server
//!   through kube-rs.
//!
//! Every part follows n3xnetd's status as the contract defines it
//! ([`crate::api::status`]), read from `status.json` by
//! [`crate::report`] in a process of its own: none of this code, nor
//! kube-rs, rustls or hyper, is in the privileged daemon.
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

use crate::api::report::KubernetesStatus;
use crate::api::status::DaemonStatus;
use crate::config::KubernetesConfig;

#[cfg(feature = "kube")]
pub use task::{run, FeedbackError};

/// Where the feedback task reports; `None` while there is none.
pub type Feedback = watch::Receiver<Option<KubernetesStatus>>;

/// Starts the feedback task, fed by `daemon`, when `config` enables it
/// and the build has the `kube` feature; the task's own status. Call from
/// within a runtime.
pub fn spawn(config: &KubernetesConfig, daemon: watch::Receiver<Arc<DaemonStatus>>) -> Feedback {
    let (tx, rx) = watch::channel(None);
    #[cfg(feature = "kube")]
    if config.enable {
        tokio::spawn(run(config.clone(), daemon, tx));
        return rx;
    }
    #[cfg(not(feature = "kube"))]
    if config.enable {
        tracing::info!("built without the kube feature: no kubernetes feedback");
    }
    drop((daemon, tx));
    rx
}
