//! The feedback task (cargo feature `kube`): keeps the node's Node showing
//! the daemon's health, through kube-rs with the kubeconfig's credentials.
//!
//! It runs in n3xnet-report, apart from n3xnetd, so an API server that is
//! down, slow or refusing (or a panic in this code) never holds up
//! networking; within the reporter every request has a timeout and every
//! failure waits with capped exponential backoff ([`Schedule`]), so the
//! file sinks beside it keep up.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::{Event, Node};
use kube::api::{Api, GetParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use serde_json::Value;
use tokio::sync::watch;
use tokio::time::Instant;

use super::condition::{rfc3339, Condition};
use super::labels;
use super::node::{event, label_patch, status_patch, NodeView};
use super::schedule::{Due, Published, Schedule};
use crate::api::report::{KubernetesStatus, SyncState};
use crate::api::status::DaemonStatus;
use crate::clock::{at, now_ms};
use crate::config::KubernetesConfig;

/// A missing kubeconfig (k3s writes the kubelet's when the agent
/// registers, possibly long after the network is up) is waited for with
/// inotify; this timer only backs that up (a watch that could not be set).
const LOOK_AGAIN: Duration = Duration::from_secs(300);
/// The longest one request may take (connect, send, answer).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one whole pass may take.
const PASS_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("no kubeconfig at {}", .0.display())]
    NoKubeconfig(PathBuf),
    #[error("cannot use kubeconfig {}: {source}", path.display())]
    Kubeconfig {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("cannot make a client from {}: {source}", path.display())]
    Client {
        path: PathBuf,
        #[source]
        source: kube::Error,
    },
    /// The API server answered with an error status.
    #[error("{what}: {code} {reason}: {message}")]
    Api {
        what: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{what}: {source}")]
    Transport {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{what}: {source}")]
    Body {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("no answer within {}s", PASS_TIMEOUT.as_secs())]
    Timeout,
}

impl FeedbackError {
    fn request(what: String, e: kube::Error) -> FeedbackError {
        match e {
            kube::Error::Api(s) => FeedbackError::Api {
                what,
                code: s.code,
                reason: s.reason.clone(),
                message: s.message.clone(),
            },
            source => FeedbackError::Transport { what, source },
        }
    }

    fn is_conflict(&self) -> bool {
        matches!(self, FeedbackError::Api { code: 409, .. })
    }
}

/// Keeps the Node current until the daemon's status channel closes;
/// reports where it stands on `out`.
pub async fn run(
    config: KubernetesConfig,
    mut daemon: watch::Receiver<Arc<DaemonStatus>>,
    out: watch::Sender<Option<KubernetesStatus>>,
) {
    let mut task = {
        let status = daemon.borrow_and_update();
        Task::new(config, &status, out)
    };
    loop {
        {
            let status = daemon.borrow_and_update();
            let p = task.published(&status);
            task.schedule.observe(p, Instant::now().into_std());
        }
        task.report();
        let wake = task.next_wake();
        tokio::select! {
            changed = daemon.changed() => if changed.is_err() {
                return;
            },
            _ = at(wake) => task.step().await,
            () = appeared(&task.kubeconfig), if task.state() == SyncState::Waiting => {
                task.step().await;
            }
        }
    }
}

/// Resolves when the missing kubeconfig may have appeared; never when it
/// cannot be watched ([`LOOK_AGAIN`] is the way then).
async fn appeared(path: &std::path::Path) {
    if let Err(e) = crate::files::created(path).await {
        tracing::info!(path = %path.display(), "kubernetes: cannot watch for the kubeconfig: {e}");
        std::future::pending::<()>().await;
    }
}

struct Task {
    config: KubernetesConfig,
    kubeconfig: PathBuf,
    node: String,
    schedule: Schedule,
    client: Option<Client>,
    /// The client is (re)made then; `None`: now.
    client_at: Option<Instant>,
    /// The last failure, until a pass succeeds.
    error: Option<FeedbackError>,
    retry_in: Option<Duration>,
    /// After a 409, read the Node from etcd rather than the cache.
    consistent_read: bool,
    writes: u64,
    synced_at_ms: Option<u64>,
    out: watch::Sender<Option<KubernetesStatus>>,
}

impl Task {
    fn new(
        config: KubernetesConfig,
        status: &DaemonStatus,
        out: watch::Sender<Option<KubernetesStatus>>,
    ) -> Task {
        let node = config.node.clone().unwrap_or_else(|| status.node.clone());
        tracing::info!(
            node = %node,
            kubeconfig = %config.kubeconfig_path().display(),
            "kubernetes feedback on"
        );
        Task {
            kubeconfig: config.kubeconfig_path(),
            schedule: Schedule::new(config.debounce.unwrap_or_default(), config.heartbeat),
            config,
            node,
            client: None,
            client_at: None,
            error: None,
            retry_in: None,
            consistent_read: false,
            writes: 0,
            synced_at_ms: None,
            out,
        }
    }

    fn published(&self, status: &DaemonStatus) -> Published {
        Published {
            labels: labels::for_profile(
                status.health.as_ref(),
                &status.profile,
                &self.config.prefix,
            ),
            condition: Condition::from_health(status.health.as_ref()),
        }
    }

    /// No client: when to make one. Else when the schedule wants a pass.
    fn next_wake(&self) -> Option<Instant> {
        if self.client.is_none() {
            return Some(self.client_at.unwrap_or_else(Instant::now));
        }
        self.schedule.next().map(|(at, _)| Instant::from_std(at))
    }

    async fn step(&mut self) {
        if self.client.is_none() {
            match self.connect().await {
                Ok(c) => self.client = Some(c),
                Err(e) => return self.fail(e),
            }
        }
        let now = Instant::now().into_std();
        let Some(due) = self.schedule.due(now) else {
            return;
        };
        match tokio::time::timeout(PASS_TIMEOUT, self.pass(due)).await {
            Ok(Ok(())) => {
                if let Some(e) = self.error.take() {
                    tracing::info!(node = %self.node, "kubernetes: synced again after: {e}");
                }
                self.retry_in = None;
                self.consistent_read = false;
            }
            Ok(Err(e)) => self.fail(e),
            Err(_) => self.fail(FeedbackError::Timeout),
        }
    }

    fn fail(&mut self, e: FeedbackError) {
        let now = Instant::now();
        let wait = match e {
            FeedbackError::NoKubeconfig(_) => LOOK_AGAIN,
            _ => self.schedule.failed(now.into_std()),
        };
        self.consistent_read |= e.is_conflict();
        // Warn once per kind of failure; each retry is still logged, which
        // the backoff keeps to a handful an hour.
        let repeated = self.error.as_ref().map(ToString::to_string) == Some(e.to_string());
        let retry_in_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        match e {
            FeedbackError::NoKubeconfig(_) if !repeated => {
                tracing::info!("kubernetes: {e}; waiting for it to appear");
            }
            FeedbackError::NoKubeconfig(_) => {}
            _ if !repeated => tracing::warn!(node = %self.node, retry_in_ms, "kubernetes: {e}"),
            _ => tracing::info!(node = %self.node, retry_in_ms, "kubernetes: still failing: {e}"),
        }
        // Made again on the retry: the credentials may have been rotated.
        self.client = None;
        self.client_at = Some(now + wait);
        self.retry_in = Some(wait);
        self.error = Some(e);
    }

    async fn connect(&self) -> Result<Client, FeedbackError> {
        let path = &self.kubeconfig;
        if !path.exists() {
            return Err(FeedbackError::NoKubeconfig(path.clone()));
        }
        let kc = |source| FeedbackError::Kubeconfig {
            path: path.clone(),
            source,
        };
        let kubeconfig = Kubeconfig::read_from(path).map_err(kc)?;
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(kc)?;
        config.connect_timeout = Some(REQUEST_TIMEOUT);
        config.read_timeout = Some(REQUEST_TIMEOUT);
        config.write_timeout = Some(REQUEST_TIMEOUT);
        // kube-rs would retry 429/503/504 itself, up to 15 times over
        // minutes, inside one pass; the schedule's backoff is the one
        // policy, and says so in the status.
        config.default_retry = false;
        Client::try_from(config).map_err(|source| FeedbackError::Client {
            path: path.clone(),
            source,
        })
    }

    /// Reads the Node, writes what differs; the condition also when its
    /// heartbeat is due.
    async fn pass(&mut self, due: Due) -> Result<(), FeedbackError> {
        let (Some(client), Some(wanted)) = (self.client.clone(), self.schedule.wanted().cloned())
        else {
            return Ok(());
        };
        let node = self.node.clone();
        let name = node.as_str();
        let nodes: Api<Node> = Api::all(client.clone());
        // The API server's cache is enough (and spares etcd), except right
        // after a conflict, which says the cache was behind.
        let gp = GetParams {
            resource_version: (!self.consistent_read).then(|| "0".to_owned()),
        };
        let found = nodes
            .get_with(name, &gp)
            .await
            .map_err(|e| FeedbackError::request(format!("get nodes/{name}"), e))?;
        let view = NodeView::from_json(&to_json(&found, name)?);
        let prefix = &self.config.prefix;
        if let Some(patch) = label_patch(&wanted.labels, &view, prefix) {
            nodes
                .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map_err(|e| FeedbackError::request(format!("patch nodes/{name}"), e))?;
            self.writes += 1;
            tracing::info!(node = name, patch = %patch, "kubernetes: labels written");
        }
        let now = Instant::now().into_std();
        let mut wrote = false;
        if !view.shows(&wanted.condition) || self.schedule.heartbeat_due(now) {
            let time = rfc3339(SystemTime::now());
            if view.transition_to(&wanted.condition) {
                self.post_event(&client, &view, &wanted.condition, &time)
                    .await;
            }
            let patch = status_patch(&wanted.condition, &view, &time);
            nodes
                .patch_status(name, &PatchParams::default(), &Patch::Strategic(&patch))
                .await
                .map_err(|e| FeedbackError::request(format!("patch nodes/{name}/status"), e))?;
            self.writes += 1;
            wrote = true;
            tracing::debug!(node = name, ?due, "kubernetes: condition written");
        }
        self.synced_at_ms = Some(now_ms());
        self.schedule
            .succeeded(wanted, wrote, Instant::now().into_std());
        Ok(())
    }

    /// An Event is worth one try: a refused or lost one must not keep the
    /// condition from being written.
    async fn post_event(&mut self, client: &Client, view: &NodeView, to: &Condition, time: &str) {
        let body = event(&self.node, view.condition.as_ref(), to, time);
        let result = match serde_json::from_value::<Event>(body) {
            Ok(e) => Api::<Event>::namespaced(client.clone(), "default")
                .create(&PostParams::default(), &e)
                .await
                .map_err(|e| FeedbackError::request("create events".to_owned(), e)),
            Err(source) => Err(FeedbackError::Body {
                what: "event".to_owned(),
                source,
            }),
        };
        match result {
            Ok(_) => self.writes += 1,
            Err(e) => tracing::warn!(node = %self.node, "kubernetes: event not recorded: {e}"),
        }
    }

    fn state(&self) -> SyncState {
        match &self.error {
            Some(FeedbackError::NoKubeconfig(_)) => SyncState::Waiting,
            Some(_) => SyncState::Retrying,
            None if self.synced_at_ms.is_none() => SyncState::Syncing,
            None if matches!(self.schedule.next(), Some((_, Due::Change))) => SyncState::Syncing,
            None => SyncState::Synced,
        }
    }

    /// Publishes where the task stands (only when that changed).
    fn report(&self) {
        let state = self.state();
        let summary = match (state, &self.error) {
            (SyncState::Waiting, _) => {
                format!("kubernetes: waiting for {}", self.kubeconfig.display())
            }
            (SyncState::Retrying, Some(e)) => format!(
                "kubernetes: retrying in {}s ({e})",
                self.retry_in.unwrap_or_default().as_secs()
            ),
            (SyncState::Syncing, _) => "kubernetes: syncing".to_owned(),
            _ => "kubernetes: synced".to_owned(),
        };
        let next = KubernetesStatus {
            state,
            summary,
            node: self.node.clone(),
            kubeconfig: self.kubeconfig.clone(),
            error: self.error.as_ref().map(ToString::to_string),
            writes: self.writes,
            synced_at_ms: self.synced_at_ms,
        };
        self.out.send_if_modified(|current| {
            if current.as_ref() == Some(&next) {
                return false;
            }
            *current = Some(next);
            true
        });
    }
}

fn to_json(node: &Node, name: &str) -> Result<Value, FeedbackError> {
    serde_json::to_value(node).map_err(|source| FeedbackError::Body {
        what: format!("nodes/{name}"),
        source,
    })
}
