//! `n3xnet-report`: the node's network, as n3xnetd sees it, published to
//! the world outside the node (the Node object in Kubernetes, NFD's
//! feature file, node_exporter's textfile) by a process of its own.
//!
//! Why apart from n3xnetd: the daemon holds `CAP_NET_ADMIN` and must stay
//! small (its idle RSS target is 6 MiB); the reporter carries the TLS, HTTP
//! and Kubernetes client code, talks to servers that may be slow or
//! hostile, and runs with no capability at all. Its crash, hang or
//! trouble with the API server cannot touch networking: all it reads is
//! n3xnetd's `status.json` ([`crate::api::status`], the versioned
//! contract), followed with inotify ([`follow`]); all it writes is its
//! sinks ([`sink`]: the NFD feature file, the Prometheus [`textfile`]) and
//! its own `report.json` ([`crate::api::report`]).
//!
//! It reads the same `n3xnet.toml` as n3xnetd (`[kubernetes]`,
//! `[prometheus]`), so a configuration written before the split keeps
//! working unchanged once `n3xnet-report.service` runs beside n3xnetd.

mod follow;
pub mod sink;
pub mod textfile;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::api::report::{
    FileKind, FileStatus, KubernetesStatus, ReportStatus, REPORT_FILE, REPORT_SCHEMA_VERSION,
};
use crate::api::status::{DaemonStatus, DEFAULT_RUNTIME_DIR, STATUS_FILE};
use crate::clock::now_ms;
use crate::config::{ConfigError, DaemonConfig, DEFAULT_PATH};
use crate::exit;
use crate::files::{write_atomic, Durability};
use crate::kubernetes::{self, labels, nfd};
use crate::service::{runtime_file, Notifier};
use crate::trust::{self, TrustError};

pub use follow::{FollowError, Follower};
pub use sink::{ChangedFile, FileSink};

/// n3xnet reporter: publishes n3xnetd's view of the node's network to the
/// node's Kubernetes Node, an NFD feature file and a node_exporter
/// textfile (systemd Type=notify service, no privileges).
#[derive(Debug, Parser)]
#[command(name = "n3xnet-report", version, about, after_help = exit::help(exit::REPORT))]
pub struct Args {
    /// Configuration file (n3xnetd's; `[kubernetes]` and `[prometheus]`).
    #[arg(long, short = 'c', value_name = "FILE", default_value = DEFAULT_PATH)]
    pub config: PathBuf,
    /// n3xnetd's runtime directory, whose status.json is followed.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_RUNTIME_DIR)]
    pub status_dir: PathBuf,
    /// Directory for report.json [default: $RUNTIME_DIRECTORY, which systemd
    /// sets from RuntimeDirectory=; no report file without either].
    #[arg(long, value_name = "DIR")]
    pub runtime_dir: Option<PathBuf>,
}

/// The whole program: parse the command line, log, run; the exit code.
pub fn main() -> ExitCode {
    crate::service::main("n3xnet-report", run)
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Untrusted(#[from] TrustError),
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl StartError {
    fn exit_code(&self) -> u8 {
        match self {
            StartError::Untrusted(TrustError::Untrusted { .. }) => exit::NO_PERM,
            StartError::Untrusted(TrustError::Io { .. })
            | StartError::Config(ConfigError::Io { .. }) => exit::NO_INPUT,
            StartError::Config(ConfigError::Invalid(_)) => exit::INVALID_PROFILE,
        }
    }
}

/// The configuration, refused when someone other than root could change
/// it (it names the files the reporter writes).
fn load(path: &Path) -> Result<DaemonConfig, StartError> {
    trust::check(path)?;
    Ok(DaemonConfig::load(path)?)
}

/// Runs the reporter with `args` until it stops; returns the exit code.
pub fn run(args: &Args) -> u8 {
    let config = match load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            crate::service::cannot_start(&e);
            return e.exit_code();
        }
    };
    let runtime = match crate::service::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let report_file = runtime_file(args.runtime_dir.as_deref(), REPORT_FILE);
    let status_file = args.status_dir.join(STATUS_FILE);
    match runtime.block_on(serve(&config, &status_file, report_file)) {
        Ok(()) => exit::OK,
        Err(e) => {
            tracing::error!("{e}");
            exit::SOFTWARE
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum RunError {
    #[error(transparent)]
    Follow(#[from] FollowError),
    #[error("cannot handle signals: {0}")]
    Signal(#[source] std::io::Error),
}

/// The sinks `config` asks for, each rendering from the daemon's status.
fn file_sinks(config: &DaemonConfig) -> Vec<FileSink> {
    let mut sinks = Vec::new();
    if let Some(path) = &config.kubernetes.nfd_feature_file {
        let prefix = config.kubernetes.prefix.clone();
        sinks.push(FileSink {
            kind: FileKind::Nfd,
            path: path.clone(),
            render: Box::new(move |s: &DaemonStatus| {
                nfd::features_file(&labels::for_profile(s.health.as_ref(), &s.profile, &prefix))
            }),
        });
    }
    if let Some(path) = &config.prometheus.textfile {
        sinks.push(FileSink {
            kind: FileKind::Textfile,
            path: path.clone(),
            render: Box::new(textfile::render),
        });
    }
    sinks
}

/// Follows the daemon's status and feeds the sinks until SIGTERM/SIGINT.
async fn serve(
    config: &DaemonConfig,
    status_file: &Path,
    report_file: Option<PathBuf>,
) -> Result<(), RunError> {
    let mut term = signal(SignalKind::terminate()).map_err(RunError::Signal)?;
    let mut int = signal(SignalKind::interrupt()).map_err(RunError::Signal)?;
    let mut follower = Follower::new(status_file)?;
    let mut reporter = Reporter::new(status_file, report_file);
    // Ready once following: the reporter never holds up the boot, and
    // n3xnetd may not have written its status yet.
    reporter.publish(None, None, &[]);
    reporter.notifier.ready(&reporter.last.status);
    let first = tokio::select! {
        s = follower.next() => Some(s?),
        _ = term.recv() => None,
        _ = int.recv() => None,
    };
    let Some(first) = first else {
        reporter.stop();
        return Ok(());
    };
    let (daemon_tx, daemon) = watch::channel(Arc::new(first));
    let mut feedback = Some(kubernetes::spawn(&config.kubernetes, daemon.clone()));
    let sinks = file_sinks(config);
    let (files_tx, files) = watch::channel(sinks.iter().map(FileSink::initial).collect());
    for (i, sink) in sinks.into_iter().enumerate() {
        tokio::spawn(sink.serve(daemon.clone(), files_tx.clone(), i));
    }
    drop(files_tx);
    let mut files = Some(files);
    loop {
        {
            let kube = feedback.as_ref().and_then(|f| f.borrow().clone());
            let list = files
                .as_ref()
                .map(|f| f.borrow().clone())
                .unwrap_or_default();
            reporter.publish(Some(&daemon.borrow()), kube, &list);
        }
        tokio::select! {
            s = follower.next() => {
                daemon_tx.send_replace(Arc::new(s?));
            }
            () = changed(&mut feedback) => {}
            () = changed(&mut files) => {}
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    reporter.stop();
    Ok(())
}

/// Waits for a change on `rx`; never returns once its sender is gone.
async fn changed<T>(rx: &mut Option<watch::Receiver<T>>) {
    if let Some(r) = rx.as_mut() {
        if r.changed().await.is_ok() {
            return;
        }
    }
    *rx = None;
    std::future::pending().await
}

/// The reporter's own state: `report.json` and `STATUS=`.
struct Reporter {
    notifier: Notifier,
    file: Option<PathBuf>,
    last: ReportStatus,
}

impl Reporter {
    fn new(follows: &Path, file: Option<PathBuf>) -> Reporter {
        Reporter {
            notifier: Notifier::from_env(),
            file,
            last: ReportStatus {
                schema_version: REPORT_SCHEMA_VERSION,
                pid: std::process::id(),
                follows: follows.to_owned(),
                ..ReportStatus::default()
            },
        }
    }

    /// Writes `report.json` and `STATUS=` when anything changed.
    fn publish(
        &mut self,
        daemon: Option<&DaemonStatus>,
        kubernetes: Option<KubernetesStatus>,
        files: &[FileStatus],
    ) {
        let mut next = ReportStatus {
            daemon_pid: daemon.map(|d| d.pid),
            kubernetes,
            files: files.to_vec(),
            updated_at_ms: self.last.updated_at_ms,
            ..self.last.clone()
        };
        next.status = status_line(&next);
        if next == self.last && next.updated_at_ms != 0 {
            return;
        }
        next.updated_at_ms = now_ms();
        if let Some(path) = &self.file {
            let text = serde_json::to_vec_pretty(&next).unwrap_or_default();
            if let Err(e) = write_atomic(path, &text, Durability::Volatile) {
                tracing::warn!(path = %path.display(), "cannot write the report file: {e}");
            }
        }
        self.notifier.status(&next.status);
        self.last = next;
    }

    fn stop(&mut self) {
        tracing::info!("stopping");
        self.notifier.stopping();
    }
}

/// The `STATUS=` line: what is followed, then each sink's state, trouble
/// first-hand.
fn status_line(r: &ReportStatus) -> String {
    let mut parts = vec![match r.daemon_pid {
        Some(pid) => format!("following n3xnetd (pid {pid})"),
        None => format!("waiting for n3xnetd's status at {}", r.follows.display()),
    }];
    if let Some(k) = &r.kubernetes {
        parts.push(k.summary.clone());
    }
    for f in &r.files {
        parts.push(match &f.error {
            Some(e) => format!(
                "{}: cannot write {}: {e}",
                f.kind.as_str(),
                f.path.display()
            ),
            None if f.written_at_ms.is_some() => format!("{}: written", f.kind.as_str()),
            None => format!("{}: pending", f.kind.as_str()),
        });
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::report::SyncState;

    #[test]
    fn the_status_line_names_what_is_followed_and_each_sink() {
        let mut r = ReportStatus {
            follows: "/run/n3xnet/status.json".into(),
            ..ReportStatus::default()
        };
        assert_eq!(
            status_line(&r),
            "waiting for n3xnetd's status at /run/n3xnet/status.json"
        );
        r.daemon_pid = Some(42);
        r.kubernetes = Some(KubernetesStatus {
            state: SyncState::Synced,
            summary: "kubernetes: synced".into(),
            node: "server-1".into(),
            kubeconfig: "/k".into(),
            error: None,
            writes: 1,
            synced_at_ms: Some(1),
        });
        r.files = vec![
            FileStatus {
                kind: FileKind::Nfd,
                path: "/n".into(),
                written_at_ms: Some(1),
                error: None,
            },
            FileStatus {
                kind: FileKind::Textfile,
                path: "/t/n3xnet.prom".into(),
                written_at_ms: None,
                error: Some("Read-only file system (os error 30)".into()),
            },
        ];
        assert_eq!(
            status_line(&r),
            "following n3xnetd (pid 42); kubernetes: synced; nfd: written; \
             textfile: cannot write /t/n3xnet.prom: Read-only file system (os error 30)"
        );
    }
}
