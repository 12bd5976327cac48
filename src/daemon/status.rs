//! The daemon's status: one serializable snapshot, written to the status
//! file (`$RUNTIME_DIRECTORY/status.json`) and then published on a watch
//! channel every time it changes; the D-Bus properties and signals
//! (`super::dbus`) and the Kubernetes feedback subscribe to the channel.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::config::DriftPolicy;
use crate::engine::Outcome;
use crate::health::Health;
use crate::kubernetes::KubernetesStatus;

/// Version of the status JSON; fields are only ever added within one.
pub const STATUS_SCHEMA_VERSION: u32 = 1;

/// The file name under the runtime directory.
pub const STATUS_FILE: &str = "status.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Applying the profile and waiting for the online set.
    Starting,
    Running,
    Reloading,
    /// Exiting; the network is left as it is.
    Stopped,
}

impl Phase {
    /// The name, as in the status file.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Reloading => "reloading",
            Phase::Stopped => "stopped",
        }
    }
}

/// What caused an apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    /// The profile applied at start (retried until it succeeds once).
    Start,
    /// Drift found while running (enforce mode).
    Repair,
    /// A reload with a valid configuration and profile.
    Reload,
    /// An explicit request to reconcile now.
    Reconcile,
    /// An operator resumed repairs after a pause.
    Resume,
}

/// The last apply.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplySummary {
    pub trigger: Trigger,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Write requests, rollback included.
    pub writes: u64,
    /// Operations carried out.
    pub ops: Vec<String>,
    pub total_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at_ms: u64,
}

/// Drift between the profile and the kernel, as last seen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftStatus {
    /// The plan that would repair it (empty: in sync).
    pub pending: Vec<String>,
    /// Why the profile cannot be applied to this kernel at all (a declared
    /// NIC missing, a foreign link holding a declared name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
    /// Repairs of this drift wait: it came back `streak` times in a row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff: Option<BackoffStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackoffStatus {
    pub streak: u32,
    /// Milliseconds until the next repair attempt, when this was written.
    pub next_in_ms: u64,
}

/// The daemon as a whole (`status.json`, schema [`STATUS_SCHEMA_VERSION`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonStatus {
    pub schema_version: u32,
    pub pid: u32,
    pub node: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<&'static str>,
    pub config: PathBuf,
    pub profile: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    pub drift_policy: DriftPolicy,
    pub phase: Phase,
    /// `READY=1` was sent: the online set held, or `online.timeout` passed.
    pub ready: bool,
    /// An operator paused repairs (`n3xnetctl pause`): drift is reported,
    /// never repaired, and a reload is checked but not applied until resume.
    pub paused: bool,
    /// The `STATUS=` line.
    pub status: String,
    /// `None` until the first read of the kernel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    pub drift: DriftStatus,
    /// Write requests sent to the kernel since start (0 when everything
    /// was already in sync).
    pub writes: u64,
    /// Drift repairs since start.
    pub repairs: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_apply: Option<ApplySummary>,
    /// The last reload's problems; the previous profile is still running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reload_error: Option<String>,
    /// The DHCP clients' leases (nodes with a DHCP link only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dhcp: Vec<super::dhcp::LeaseStatus>,
    /// Where the Kubernetes feedback stands (when it is enabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesStatus>,
    pub updated_at_ms: u64,
}

/// Milliseconds since the Unix epoch (for humans and other hosts; the
/// daemon's own timing uses the monotonic clock).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Writes `status` atomically (temporary file, then rename), so a reader
/// never sees half a file.
pub fn write_file(path: &Path, status: &DaemonStatus) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(status).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&json)?;
    f.write_all(b"\n")?;
    drop(f);
    std::fs::rename(&tmp, path)
}
