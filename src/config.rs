//! `/etc/n3xnet/n3xnet.toml`: how the daemon finds its profile and node, and
//! how it supervises them.
//!
//! The file is small, but a typo in it decides whether a node's network is
//! repaired or left broken, so it is read like a profile: through the
//! positioned source tree, every problem reported at once with its field
//! path, line and column, the value found and what was expected.
//!
//! ```toml
//! profile = "/etc/n3xnet/profile.toml"   # required
//! node = "server-1"                      # default: the hostname
//! role = "server"                        # default: nodes.<node>.role
//! drift = "enforce"                      # or "report"
//!
//! [online]
//! require = ["cluster"]                  # default
//! timeout = "60s"                        # default; "infinity" waits forever
//!
//! # [kubernetes] and [prometheus] are read by n3xnet-report, the
//! # unprivileged reporter; n3xnetd itself ignores them.
//! [kubernetes]                           # feedback on the node's Node object
//! enable = true                          # default
//! dataDir = "/var/lib/rancher/k3s"       # default: k3s's data dir
//! kubeconfig = "/etc/n3xnet/kube.yaml"   # default: <dataDir>/agent/kubelet.kubeconfig
//! node = "server-1"                      # default: the daemon's node
//! prefix = "network.n3x.io/"             # default
//! debounce = "2s"                        # default
//! heartbeat = "5min"                     # default; "infinity": none
//! nfdFeatureFile = "/etc/kubernetes/node-feature-discovery/features.d/n3xnet"  # default: none
//!
//! [prometheus]
//! textfile = "/var/lib/prometheus/node-exporter/n3xnet.prom"  # default: none
//! ```
//!
//! There is deliberately no watchdog setting: systemd's `WatchdogSec=`
//! (seen as `WATCHDOG_USEC`) is the single knob, so the unit file and the
//! daemon can never disagree about it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::kinds::Role;
use crate::profile::diag::{index, join, Diags};
use crate::profile::source::{self, Format, Node, Value};
use crate::profile::{Diagnostic, Report};

/// Where the daemon's configuration lives unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/n3xnet/n3xnet.toml";

/// How long start waits for the online set unless `online.timeout` says.
pub const DEFAULT_ONLINE_TIMEOUT: Duration = Duration::from_secs(60);

/// The daemon's configuration, every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonConfig {
    /// `profile` (required): the profile file, TOML or JSON by the `.json`
    /// extension. A relative path is taken from the configuration file's
    /// directory, so a configuration and its profile can move together.
    pub profile: PathBuf,
    /// `node`: the node of the profile this machine is. Default: the
    /// hostname, as the kubelet names the Node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `role` (`server` | `agent`): the node's k3s role, reported in the
    /// status. Default: `nodes.<node>.role` of the profile; when both are
    /// given they must agree, so a node cannot be two things at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// `drift` (`enforce` | `report`): what the daemon does when a managed
    /// link, address, route or option drifts from the profile while it runs.
    pub drift: DriftPolicy,
    /// `[online]`: when the node counts as online.
    pub online: OnlineConfig,
    /// `[kubernetes]`: labels and a condition on the node's Node object
    /// (n3xnet-report's).
    pub kubernetes: KubernetesConfig,
    /// `[prometheus]`: metrics for node_exporter (n3xnet-report's).
    pub prometheus: PrometheusConfig,
    /// `[multus]`: the node's side of `node-pools` Multus networks.
    pub multus: MultusConfig,
}

/// `[multus]`: where n3xnetd keeps this node's CNI config files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MultusConfig {
    /// `multus.confDir`: write this node's `<nad>.conf` of every
    /// `ipam = "node-pools"` network here, at start and on reload, only when
    /// its content changes; Multus reads it for a NAD without `spec` (n3x's
    /// Multus module: `/etc/cni/multus/net.d`). Default: none (write nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf_dir: Option<PathBuf>,
}

/// What to do about drift found while running. The profile is applied at
/// start and on reload under either policy: those are the operator's own
/// requests; the policy only governs repairs the daemon would start itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftPolicy {
    /// Re-apply the minimal diff, with backoff when the drift keeps coming
    /// back (someone or something is fighting the profile).
    #[default]
    Enforce,
    /// Log the drift and show it in the status; change nothing.
    Report,
}

impl DriftPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftPolicy::Enforce => "enforce",
            DriftPolicy::Report => "report",
        }
    }
}

/// `[online]`: the node is online when every required logical network is
/// up (ok or degraded, see [`crate::health`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OnlineConfig {
    /// `online.require`: logical networks that must be up: `cluster`,
    /// `storage`, or a Multus host shim as `multus:<nad>`. Default:
    /// `["cluster"]` (the cluster interface up, carrier on, with its
    /// address; through a bond, at least `minLinks` (and at least one) ports
    /// up). Every entry must be a network of the node. Empty: online as
    /// soon as the profile is applied.
    pub require: Vec<String>,
    /// `online.timeout`: how long start waits for the online set before the
    /// daemon declares itself started anyway (systemd `READY=1`), degraded
    /// and saying why in its status: a dead cable must not keep the
    /// supervisor, which repairs and reports, from running. Written as a
    /// duration (`"500ms"`, `"90s"`, `"2min"`, `"1h"`) or whole seconds;
    /// `"infinity"` waits forever (then set `TimeoutStartSec=infinity` in
    /// the unit too). Keep it below the unit's `TimeoutStartSec` (90 s).
    /// Default: 60 s. `None` is infinity.
    #[serde(with = "duration_ms")]
    pub timeout: Option<Duration>,
}

impl Default for OnlineConfig {
    fn default() -> Self {
        OnlineConfig {
            require: vec!["cluster".to_owned()],
            timeout: Some(DEFAULT_ONLINE_TIMEOUT),
        }
    }
}

/// k3s's default data directory (n3x also uses `/var/lib/k3s`).
pub const DEFAULT_K3S_DATA_DIR: &str = "/var/lib/rancher/k3s";

/// `[kubernetes]`: how n3xnet-report publishes the node's network on its
/// Node (see [`crate::kubernetes`]). Used by builds with the `kube` feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesConfig {
    /// `kubernetes.enable`: publish at all. Default: true; a node without
    /// the kubeconfig (yet) waits for it to appear (inotify).
    pub enable: bool,
    /// `kubernetes.dataDir`: k3s's data directory. Default:
    /// `/var/lib/rancher/k3s`.
    pub data_dir: PathBuf,
    /// `kubernetes.kubeconfig`: the credentials. Default: the kubelet's
    /// own, `<dataDir>/agent/kubelet.kubeconfig` (`system:node:<name>`, so
    /// agents need no extra secret). A relative path is taken from the
    /// configuration file's directory.
    pub kubeconfig: Option<PathBuf>,
    /// `kubernetes.node`: the Node's name. Default: the daemon's node.
    pub node: Option<String>,
    /// `kubernetes.prefix`: in front of every label and the annotation.
    /// A DNS subdomain and `/`, outside `kubernetes.io` and `k8s.io`
    /// (which NodeRestriction keeps from nodes).
    pub prefix: String,
    /// `kubernetes.debounce`: a change is written once it held this long.
    #[serde(with = "duration_ms")]
    pub debounce: Option<Duration>,
    /// `kubernetes.heartbeat`: the condition is rewritten this often even
    /// without change, so a stale one can be told from a dead daemon.
    /// `None` ("infinity"): never.
    #[serde(with = "duration_ms")]
    pub heartbeat: Option<Duration>,
    /// `kubernetes.nfdFeatureFile`: also write the labels to this
    /// node-feature-discovery feature file (`features.d`), whatever
    /// `enable` says. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nfd_feature_file: Option<PathBuf>,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        KubernetesConfig {
            enable: true,
            data_dir: PathBuf::from(DEFAULT_K3S_DATA_DIR),
            kubeconfig: None,
            node: None,
            prefix: "network.n3x.io/".to_owned(),
            debounce: Some(Duration::from_secs(2)),
            heartbeat: Some(Duration::from_secs(300)),
            nfd_feature_file: None,
        }
    }
}

/// `[prometheus]`: the node's network as metrics (see
/// [`crate::report::textfile`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusConfig {
    /// `prometheus.textfile`: keep this node_exporter textfile-collector
    /// file current (a `*.prom` name in the directory given to
    /// `--collector.textfile.directory`; Debian's prometheus-node-exporter
    /// reads `/var/lib/prometheus/node-exporter`). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub textfile: Option<PathBuf>,
}

impl KubernetesConfig {
    /// The kubeconfig to use.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.kubeconfig
            .clone()
            .unwrap_or_else(|| self.data_dir.join("agent/kubelet.kubeconfig"))
    }
}

/// `timeoutMs` in JSON: milliseconds, `null` for infinity.
mod duration_ms {
    use std::time::Duration;

    pub fn serialize<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem of the file, one per line.
    #[error("{0}")]
    Invalid(Report),
}

/// The top-level keys of the file. The decoder refuses any key not listed
/// here before it looks at it, so a key cannot be accepted without being
/// listed, and tests/docs_keys.rs checks that n3xnet.toml(5) documents
/// every one: a new key cannot go undocumented.
pub const KNOWN_KEYS: &[&str] = &[
    "profile",
    "node",
    "role",
    "drift",
    "online",
    "kubernetes",
    "prometheus",
    "multus",
];
/// The keys of `[online]`; see [`KNOWN_KEYS`].
pub const ONLINE_KEYS: &[&str] = &["require", "timeout"];
/// The keys of `[prometheus]`; see [`KNOWN_KEYS`].
pub const PROMETHEUS_KEYS: &[&str] = &["textfile"];
/// The keys of `[multus]`; see [`KNOWN_KEYS`].
pub const MULTUS_KEYS: &[&str] = &["confDir"];
/// The keys of `[kubernetes]`; see [`KNOWN_KEYS`].
pub const KUBERNETES_KEYS: &[&str] = &[
    "enable",
    "dataDir",
    "kubeconfig",
    "node",
    "prefix",
    "debounce",
    "heartbeat",
    "nfdFeatureFile",
];

/// The entries of a table whose keys are in `known`; any other key is
/// reported as unknown (listing `known`) and left out.
fn known_entries<'e>(
    entries: &'e [source::Entry],
    path: &str,
    known: &'static [&'static str],
    d: &mut Diags,
) -> impl Iterator<Item = &'e source::Entry> {
    let (ok, unknown): (Vec<_>, Vec<_>) = entries
        .iter()
        .partition(|e| known.contains(&e.key.as_str()));
    for e in unknown {
        unknown_key(&join(path, &e.key), &e.key, known, d);
    }
    ok.into_iter()
}

fn unknown_key(path: &str, key: &str, known: &[&str], d: &mut Diags) {
    d.push(
        path,
        Some(format!("unknown key {key:?}")),
        format!("one of the known keys: {}", known.join(", ")),
    );
}

impl DaemonConfig {
    /// Reads and checks the configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, base).map_err(|d| ConfigError::Invalid(Report::new(path, d)))
    }

    /// Parses configuration text; a relative `profile` is resolved against
    /// `base`. Returns every problem at once.
    pub fn parse(text: &str, base: &Path) -> Result<Self, Vec<Diagnostic>> {
        let mut d = Diags::default();
        let root = match source::parse(text, Format::Toml) {
            Ok(root) => root,
            Err(errors) => {
                for e in errors {
                    d.push_at(
                        "(syntax)",
                        e.pos,
                        None,
                        format!("valid TOML: {}", e.message),
                    );
                }
                return Err(d.into_vec());
            }
        };
        let config = decode(&root, base, &mut d);
        let mut list = d.into_vec();
        // Table order is not file order: report top to bottom.
        list.sort_by_key(|d| (d.line.is_none(), d.line, d.column));
        match config {
            Some(c) if list.is_empty() => Ok(c),
            _ => Err(list),
        }
    }
}

/// The entries of a table node, with their positions recorded.
fn entries<'n>(node: &'n Node, path: &str, d: &mut Diags) -> Option<&'n [source::Entry]> {
    let Value::Table(entries) = &node.value else {
        d.push(path, Some(node.value.brief()), "a table");
        return None;
    };
    for e in entries {
        d.record(&join(path, &e.key), e.key_pos.or(e.node.pos));
    }
    Some(entries)
}

fn string<'n>(node: &'n Node, path: &str, d: &mut Diags, expected: &str) -> Option<&'n str> {
    match &node.value {
        Value::Str(s) if !s.is_empty() => Some(s),
        v => {
            d.push(path, Some(v.brief()), expected);
            None
        }
    }
}

fn decode(root: &Node, base: &Path, d: &mut Diags) -> Option<DaemonConfig> {
    let entries = entries(root, "", d)?;
    let mut profile = None;
    let mut config = DaemonConfig {
        profile: PathBuf::new(),
        node: None,
        role: None,
        drift: DriftPolicy::default(),
        online: OnlineConfig::default(),
        kubernetes: KubernetesConfig::default(),
        prometheus: PrometheusConfig::default(),
        multus: MultusConfig::default(),
    };
    for e in known_entries(entries, "", KNOWN_KEYS, d) {
        let path = join("", &e.key);
        let n = &e.node;
        match e.key.as_str() {
            "profile" => {
                profile = string(n, &path, d, "the path of the profile file").map(|p| base.join(p))
            }
            "node" => {
                config.node = string(n, &path, d, "a node name of the profile").map(str::to_owned)
            }
            "role" => {
                config.role = string(n, &path, d, "\"server\" or \"agent\"").and_then(|s| {
                    let role = s.parse().ok();
                    if role.is_none() {
                        d.push(&path, Some(format!("{s:?}")), "\"server\" or \"agent\"");
                    }
                    role
                })
            }
            "drift" => {
                const EXPECTED: &str = "\"enforce\" or \"report\"";
                match string(n, &path, d, EXPECTED) {
                    Some("enforce") => config.drift = DriftPolicy::Enforce,
                    Some("report") => config.drift = DriftPolicy::Report,
                    Some(s) => d.push(&path, Some(format!("{s:?}")), EXPECTED),
                    None => {}
                }
            }
            "online" => online(n, &path, &mut config.online, d),
            "kubernetes" => kubernetes(n, &path, base, &mut config.kubernetes, d),
            "prometheus" => prometheus(n, &path, base, &mut config.prometheus, d),
            "multus" => multus(n, &path, base, &mut config.multus, d),
            // Listed but not decoded: a bug the unit tests catch.
            _ => unknown_key(&path, &e.key, KNOWN_KEYS, d),
        }
    }
    match profile {
        Some(p) => config.profile = p,
        None if entries.iter().any(|e| e.key == "profile") => {}
        None => d.push(
            "profile",
            None,
            "missing: expected the path of the profile file",
        ),
    }
    Some(config)
}

fn online(node: &Node, path: &str, online: &mut OnlineConfig, d: &mut Diags) {
    let Some(entries) = entries(node, path, d) else {
        return;
    };
    for e in known_entries(entries, path, ONLINE_KEYS, d) {
        let path = join(path, &e.key);
        match e.key.as_str() {
            "require" => {
                const EXPECTED: &str =
                    "an array of logical networks: \"cluster\", \"storage\" or \"multus:<nad>\"";
                let Value::Array(items) = &e.node.value else {
                    d.push(&path, Some(e.node.value.brief()), EXPECTED);
                    continue;
                };
                online.require = items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, n)| string(n, &index(&path, i), d, EXPECTED))
                    .map(str::to_owned)
                    .collect();
            }
            "timeout" => {
                if let Some(t) = duration(&e.node, &path, false, d) {
                    online.timeout = t;
                }
            }
            _ => unknown_key(&path, &e.key, ONLINE_KEYS, d),
        }
    }
}

/// A duration field: `None` after reporting a problem; zero only when
/// `zero_ok`.
fn duration(node: &Node, path: &str, zero_ok: bool, d: &mut Diags) -> Option<Option<Duration>> {
    const EXPECTED: &str =
        "a duration like \"90s\", \"2min\", \"500ms\", whole seconds, or \"infinity\"";
    let parsed = match &node.value {
        Value::Int(s) => u64::try_from(*s).ok().map(|s| Some(Duration::from_secs(s))),
        Value::Str(s) => parse_duration(s),
        _ => None,
    };
    match parsed {
        Some(Some(t)) if t.is_zero() && !zero_ok => None,
        p => p,
    }
    .or_else(|| {
        d.push(path, Some(node.value.brief()), EXPECTED);
        None
    })
}

fn kubernetes(node: &Node, path: &str, base: &Path, k: &mut KubernetesConfig, d: &mut Diags) {
    let Some(entries) = entries(node, path, d) else {
        return;
    };
    for e in known_entries(entries, path, KUBERNETES_KEYS, d) {
        let path = join(path, &e.key);
        let n = &e.node;
        match e.key.as_str() {
            "enable" => match n.value {
                Value::Bool(b) => k.enable = b,
                ref v => d.push(&path, Some(v.brief()), "true or false"),
            },
            "dataDir" => {
                if let Some(p) = string(n, &path, d, "a directory") {
                    k.data_dir = base.join(p);
                }
            }
            "kubeconfig" => {
                k.kubeconfig = string(n, &path, d, "the path of a kubeconfig").map(|p| base.join(p))
            }
            "node" => k.node = string(n, &path, d, "a Node name").map(str::to_owned),
            "nfdFeatureFile" => {
                k.nfd_feature_file = string(n, &path, d, "the path of a file").map(|p| base.join(p))
            }
            "prefix" => {
                const EXPECTED: &str = "a DNS subdomain followed by '/', outside kubernetes.io and k8s.io (NodeRestriction refuses those to nodes)";
                match string(n, &path, d, EXPECTED) {
                    Some(p) if label_prefix_ok(p) => k.prefix = p.to_owned(),
                    Some(p) => d.push(&path, Some(format!("{p:?}")), EXPECTED),
                    None => {}
                }
            }
            "debounce" => {
                if let Some(t) = duration(n, &path, true, d) {
                    match t {
                        Some(t) => k.debounce = Some(t),
                        None => d.push(&path, Some(n.value.brief()), "a finite duration"),
                    }
                }
            }
            "heartbeat" => {
                if let Some(t) = duration(n, &path, false, d) {
                    k.heartbeat = t;
                }
            }
            _ => unknown_key(&path, &e.key, KUBERNETES_KEYS, d),
        }
    }
}

fn prometheus(node: &Node, path: &str, base: &Path, p: &mut PrometheusConfig, d: &mut Diags) {
    let Some(entries) = entries(node, path, d) else {
        return;
    };
    for e in known_entries(entries, path, PROMETHEUS_KEYS, d) {
        let path = join(path, &e.key);
        match e.key.as_str() {
            "textfile" => {
                // node_exporter reads only `*.prom` files of its directory.
                const EXPECTED: &str = "the path of a file whose name ends in \".prom\"";
                match string(&e.node, &path, d, EXPECTED) {
                    Some(f) if f.ends_with(".prom") && !f.ends_with("/.prom") => {
                        p.textfile = Some(base.join(f));
                    }
                    Some(f) => d.push(&path, Some(format!("{f:?}")), EXPECTED),
                    None => {}
                }
            }
            _ => unknown_key(&path, &e.key, PROMETHEUS_KEYS, d),
        }
    }
}

fn multus(node: &Node, path: &str, base: &Path, m: &mut MultusConfig, d: &mut Diags) {
    let Some(entries) = entries(node, path, d) else {
        return;
    };
    for e in known_entries(entries, path, MULTUS_KEYS, d) {
        let path = join(path, &e.key);
        match e.key.as_str() {
            "confDir" => {
                m.conf_dir = string(
                    &e.node,
                    &path,
                    d,
                    "the directory Multus reads CNI configs from",
                )
                .map(|dir| base.join(dir));
            }
            _ => unknown_key(&path, &e.key, MULTUS_KEYS, d),
        }
    }
}

/// A label prefix a node may write: a lower-case DNS subdomain (at most
/// 253 characters) and `/`, not in `kubernetes.io` or `k8s.io` (whose
/// labels NodeRestriction allows a node only in a few fixed names).
pub fn label_prefix_ok(prefix: &str) -> bool {
    let Some(domain) = prefix.strip_suffix('/') else {
        return false;
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let reserved = ["kubernetes.io", "k8s.io"]
        .iter()
        .any(|r| domain == *r || domain.ends_with(&format!(".{r}")));
    !domain.is_empty() && domain.len() <= 253 && domain.split('.').all(label_ok) && !reserved
}

/// `"90s"`, `"2min"`, `"1h"`, `"500ms"` (systemd's spelling) or
/// `"infinity"`; `Some(None)` is infinity, `None` is not a duration.
pub fn parse_duration(s: &str) -> Option<Option<Duration>> {
    let s = s.trim();
    if s == "infinity" {
        return Some(None);
    }
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    let ms = match unit.trim() {
        "ms" => 1,
        "s" | "sec" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    Some(Some(Duration::from_millis(n.checked_mul(ms)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DaemonConfig, Vec<String>> {
        DaemonConfig::parse(text, Path::new("/etc/n3xnet"))
            .map_err(|d| d.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn minimal_file_takes_every_default() {
        let c = parse("profile = \"p.toml\"").unwrap();
        assert_eq!(c.profile, Path::new("/etc/n3xnet/p.toml"));
        assert_eq!(c.node, None);
        assert_eq!(c.role, None);
        assert_eq!(c.drift, DriftPolicy::Enforce);
        assert_eq!(c.online.require, ["cluster"]);
        assert_eq!(c.online.timeout, Some(Duration::from_secs(60)));
    }

    #[test]
    fn every_field() {
        let c = parse(
            "profile = \"/srv/p.json\"\nnode = \"n1\"\nrole = \"agent\"\ndrift = \"report\"\n\
             [online]\nrequire = [\"cluster\", \"multus:pods\"]\ntimeout = \"2min\"\n",
        )
        .unwrap();
        assert_eq!(c.profile, Path::new("/srv/p.json"));
        assert_eq!(c.node.as_deref(), Some("n1"));
        assert_eq!(c.role, Some(Role::Agent));
        assert_eq!(c.drift, DriftPolicy::Report);
        assert_eq!(c.online.require, ["cluster", "multus:pods"]);
        assert_eq!(c.online.timeout, Some(Duration::from_secs(120)));
        let c =
            parse("profile = \"p\"\nonline = { require = [], timeout = \"infinity\" }").unwrap();
        assert!(c.online.require.is_empty());
        assert_eq!(c.online.timeout, None);
        let c = parse("profile = \"p\"\nonline.timeout = 5").unwrap();
        assert_eq!(c.online.timeout, Some(Duration::from_secs(5)));
    }

    #[test]
    fn every_problem_names_its_field_and_line() {
        let errors = parse(
            "nodes = \"n\"\nrole = \"boss\"\ndrift = \"fix\"\nnode = 5\n\
             [online]\nrequire = \"cluster\"\ntimeout = \"soon\"\nwait = 1\n",
        )
        .unwrap_err();
        let expect = [
            "nodes: found unknown key \"nodes\", expected one of the known keys",
            "role: found \"boss\", expected \"server\" or \"agent\"",
            "drift: found \"fix\", expected \"enforce\" or \"report\"",
            "node: found 5, expected a node name",
            "online.require: found \"cluster\", expected an array",
            "online.timeout: found \"soon\", expected a duration",
            "online.wait: found unknown key \"wait\"",
            "profile: missing",
        ];
        assert_eq!(errors.len(), expect.len(), "{errors:#?}");
        for (e, x) in errors.iter().zip(expect) {
            assert!(e.starts_with(x), "{e:?} does not start with {x:?}");
        }
        let d =
            DaemonConfig::parse("profile = \"p\"\ndrift = \"fix\"", Path::new("/")).unwrap_err();
        assert_eq!((d[0].line, d[0].column), (Some(2), Some(1)));
    }

    #[test]
    fn syntax_errors_and_zero_timeout_are_refused() {
        assert!(parse("profile = ").unwrap_err()[0].starts_with("(syntax)"));
        assert!(parse("profile = \"p\"\nonline.timeout = \"0s\"").is_err());
        assert!(parse("profile = \"p\"\nonline.timeout = -1").is_err());
        assert!(parse("profile = \"\"").is_err());
    }

    #[test]
    fn kubernetes_defaults_and_every_field() {
        let c = parse("profile = \"p\"").unwrap();
        assert_eq!(c.kubernetes, KubernetesConfig::default());
        assert!(c.kubernetes.enable);
        assert_eq!(
            c.kubernetes.kubeconfig_path(),
            Path::new("/var/lib/rancher/k3s/agent/kubelet.kubeconfig")
        );
        assert_eq!(c.kubernetes.debounce, Some(Duration::from_secs(2)));
        assert_eq!(c.kubernetes.heartbeat, Some(Duration::from_secs(300)));
        let c = parse(
            "profile = \"p\"\n[kubernetes]\nenable = false\ndataDir = \"/var/lib/k3s\"\n\
             node = \"n-1\"\nprefix = \"net.example.com/\"\ndebounce = \"0s\"\nheartbeat = \"infinity\"\n",
        )
        .unwrap();
        let k = &c.kubernetes;
        assert!(!k.enable);
        assert_eq!(
            k.kubeconfig_path(),
            Path::new("/var/lib/k3s/agent/kubelet.kubeconfig")
        );
        assert_eq!(k.node.as_deref(), Some("n-1"));
        assert_eq!(k.prefix, "net.example.com/");
        assert_eq!((k.debounce, k.heartbeat), (Some(Duration::ZERO), None));
        let c = parse(
            "profile = \"p\"\nkubernetes.kubeconfig = \"kube.yaml\"\nkubernetes.nfdFeatureFile = \"/f/n3x\"",
        )
        .unwrap();
        assert_eq!(
            c.kubernetes.nfd_feature_file.as_deref(),
            Some(Path::new("/f/n3x"))
        );
        assert_eq!(
            c.kubernetes.kubeconfig_path(),
            Path::new("/etc/n3xnet/kube.yaml")
        );
    }

    #[test]
    fn kubernetes_problems_are_named() {
        let errors = parse(
            "profile = \"p\"\n[kubernetes]\nenable = \"yes\"\nprefix = \"node-restriction.kubernetes.io/\"\n\
             heartbeat = \"0s\"\ndebounce = \"infinity\"\ntoken = \"x\"\n",
        )
        .unwrap_err();
        let expect = [
            "kubernetes.enable: found \"yes\", expected true or false",
            "kubernetes.prefix: found \"node-restriction.kubernetes.io/\"",
            "kubernetes.heartbeat: found \"0s\", expected a duration",
            "kubernetes.debounce: found \"infinity\", expected a finite duration",
            "kubernetes.token: found unknown key",
        ];
        assert_eq!(errors.len(), expect.len(), "{errors:#?}");
        for (e, x) in errors.iter().zip(expect) {
            assert!(e.starts_with(x), "{e:?} does not start with {x:?}");
        }
    }

    #[test]
    fn prometheus_textfile_must_be_a_prom_file() {
        let c = parse("profile = \"p\"").unwrap();
        assert_eq!(c.prometheus.textfile, None);
        let c = parse("profile = \"p\"\nprometheus.textfile = \"/var/lib/x/n3xnet.prom\"").unwrap();
        assert_eq!(
            c.prometheus.textfile.as_deref(),
            Some(Path::new("/var/lib/x/n3xnet.prom"))
        );
        let errors = parse("profile = \"p\"\n[prometheus]\ntextfile = \"/var/lib/x/n3xnet.txt\"")
            .unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].starts_with("prometheus.textfile: found \"/var/lib/x/n3xnet.txt\", expected the path of a file whose name ends in \".prom\""),
            "{errors:#?}"
        );
    }

    #[test]
    fn multus_conf_dir_is_relative_to_the_configuration() {
        assert_eq!(parse("profile = \"p\"").unwrap().multus.conf_dir, None);
        let c = parse("profile = \"p\"\n[multus]\nconfDir = \"/etc/cni/multus/net.d\"").unwrap();
        assert_eq!(
            c.multus.conf_dir.as_deref(),
            Some(Path::new("/etc/cni/multus/net.d"))
        );
    }

    /// Every listed key is decoded: given a value of no type any key
    /// takes, each is refused for its value, never as unknown. (The
    /// decoder refuses unlisted keys, so list and decoder agree both ways.)
    #[test]
    fn every_listed_key_is_decoded() {
        let tables: [(&str, &[&str]); 5] = [
            ("", KNOWN_KEYS),
            ("online.", ONLINE_KEYS),
            ("kubernetes.", KUBERNETES_KEYS),
            ("prometheus.", PROMETHEUS_KEYS),
            ("multus.", MULTUS_KEYS),
        ];
        for (prefix, keys) in tables {
            for key in keys {
                let bad = format!("{prefix}{key} = 1970-01-01\n");
                let text = match bad.starts_with("profile ") {
                    true => bad,
                    false => format!("profile = \"p\"\n{bad}"),
                };
                let errors = parse(&text).unwrap_err();
                assert!(
                    errors
                        .iter()
                        .any(|e| e.starts_with(&format!("{prefix}{key}:")))
                        && errors.iter().all(|e| !e.contains("unknown key")),
                    "{prefix}{key}: {errors:#?}"
                );
            }
        }
        let errors = parse("profile = \"p\"\nkubernetes.tokenFile = \"t\"").unwrap_err();
        assert!(
            errors[0].contains("unknown key \"tokenFile\"")
                && errors[0].contains(&KUBERNETES_KEYS.join(", ")),
            "{errors:?}"
        );
    }

    #[test]
    fn label_prefixes() {
        for ok in [
            "network.n3x.io/",
            "n3x/",
            "a-b.example.com/",
            "kubernetes.iox/",
        ] {
            assert!(label_prefix_ok(ok), "{ok}");
        }
        for bad in [
            "network.n3x.io",
            "/",
            "Net.example/",
            "kubernetes.io/",
            "node.kubernetes.io/",
            "node-restriction.kubernetes.io/",
            "x.k8s.io/",
            "a..b/",
            "-a/",
            "a/b/",
        ] {
            assert!(!label_prefix_ok(bad), "{bad}");
        }
    }

    #[test]
    fn durations() {
        let ms = |s| parse_duration(s).map(|d| d.map(|d| d.as_millis()));
        assert_eq!(ms("500ms"), Some(Some(500)));
        assert_eq!(ms("90s"), Some(Some(90_000)));
        assert_eq!(ms("2min"), Some(Some(120_000)));
        assert_eq!(ms("1h"), Some(Some(3_600_000)));
        assert_eq!(ms("infinity"), Some(None));
        for bad in ["", "s", "10", "10 days", "-1s", "1.5s"] {
            assert_eq!(ms(bad), None, "{bad:?}");
        }
    }
}
