//! What the daemon runs on: its configuration, the profile it names and the
//! node's desired network, loaded and checked together. Used at start (a
//! problem is exit 65/66) and on reload (a problem keeps the running setup).

use std::path::{Path, PathBuf};

use crate::change::reach::{default_targets, Target};
use crate::config::{ConfigError, DaemonConfig};
use crate::desired::DesiredNetwork;
use crate::exit;
use crate::health;
use crate::kinds::Role;
use crate::profile::{self, Diagnostic, LoadError, Report};
use crate::render::{multus, RenderedFile};
use crate::trust::{self, TrustError};

/// A configuration with its profile resolved for this node.
#[derive(Debug, Clone)]
pub struct Setup {
    pub config_path: PathBuf,
    pub config: DaemonConfig,
    /// The configured role, else the profile's.
    pub role: Option<Role>,
    pub desired: DesiredNetwork,
    /// The profile's text, as validated: what a confirmed change's journal
    /// keeps to revert to ([`super::pending`]).
    pub profile_text: String,
    /// What a change to this setup checks with `--confirm-when reachable`
    /// ([`crate::change::reach::default_targets`]).
    pub(crate) reach: Vec<Target>,
    /// The node's Multus CNI config files, for `multus.confDir` (empty
    /// when it is not set).
    pub cni_configs: Vec<RenderedFile>,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Profile(#[from] LoadError),
    /// The configuration or the profile could be changed by someone other
    /// than root.
    #[error(transparent)]
    Untrusted(#[from] TrustError),
    /// The profile does not resolve for the node, or the configuration
    /// contradicts it.
    #[error("{0}")]
    Invalid(Report),
}

impl SetupError {
    /// `n3xnetctl`'s codes: 66 unreadable file, 65 invalid, 77 unsafe.
    pub fn exit_code(&self) -> u8 {
        match self {
            SetupError::Config(ConfigError::Io { .. })
            | SetupError::Profile(LoadError::Io { .. })
            | SetupError::Untrusted(TrustError::Io { .. }) => exit::NO_INPUT,
            SetupError::Untrusted(TrustError::Untrusted { .. }) => exit::NO_PERM,
            _ => exit::INVALID_PROFILE,
        }
    }

    /// The first problem, for a one-line status.
    pub fn headline(&self) -> String {
        let text = self.to_string();
        let count = text.lines().count();
        let first = text.lines().next().unwrap_or_default();
        if count > 1 {
            format!("{first} (and {} more)", count - 1)
        } else {
            first.to_owned()
        }
    }
}

impl Setup {
    pub fn load(config_path: &Path) -> Result<Setup, SetupError> {
        trust::check(config_path)?;
        let config = DaemonConfig::load(config_path)?;
        trust::check(&config.profile)?;
        let (loaded, text) = profile::load_with_text(&config.profile)?;
        Setup::resolve(config_path, config, &loaded.profile, text)
    }

    /// This setup's configuration with the profile `text` instead (a
    /// confirmed change's revert): checked like the file.
    pub fn with_profile_text(&self, text: &str) -> Result<Setup, SetupError> {
        let path = &self.config.profile;
        let parsed = profile::parse(text, profile::Format::from_path(path))
            .map_err(|d| SetupError::Profile(LoadError::Invalid(Report::new(path, d))))?;
        Setup::resolve(
            &self.config_path,
            self.config.clone(),
            &parsed,
            text.to_owned(),
        )
    }

    fn resolve(
        config_path: &Path,
        config: DaemonConfig,
        profile: &profile::Profile,
        profile_text: String,
    ) -> Result<Setup, SetupError> {
        let node = profile::node_name(config.node.as_deref());
        let invalid = |d: Vec<Diagnostic>| SetupError::Invalid(Report::new(config_path, d));

        let origin = if config.node.is_some() {
            ""
        } else {
            " (the hostname)"
        };
        profile
            .require_node(&node, "node", origin)
            .map_err(|d| invalid(vec![d]))?;
        let desired = profile::resolve(profile, &node)
            .map_err(|d| SetupError::Invalid(Report::new(&config.profile, d)))?;

        let mut problems = Vec::new();
        if let (Some(want), Some(have)) = (config.role, desired.role) {
            if want != have {
                problems.push(problem(
                    "role",
                    format!("{:?}", want.as_str()),
                    format!(
                        "{:?}, as nodes.{node}.role of {} says (or no role here)",
                        have.as_str(),
                        config.profile.display()
                    ),
                ));
            }
        }
        let networks: Vec<String> = health::networks(&desired)
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        for (i, r) in config.online.require.iter().enumerate() {
            if !networks.contains(r) {
                problems.push(problem(
                    &format!("online.require[{i}]"),
                    format!("{r:?}"),
                    format!("one of node {node}'s networks: {}", networks.join(", ")),
                ));
            }
        }
        let cni_configs = match config.multus.conf_dir {
            Some(_) => multus::node_configs(profile, &node).map_err(|e| {
                invalid(vec![problem("multus.confDir", node.clone(), e.to_string())])
            })?,
            None => Vec::new(),
        };
        if !problems.is_empty() {
            return Err(invalid(problems));
        }
        Ok(Setup {
            reach: default_targets(profile, &desired),
            cni_configs,
            config_path: config_path.to_path_buf(),
            role: config.role.or(desired.role),
            config,
            desired,
            profile_text,
        })
    }
}

fn problem(path: &str, found: String, expected: String) -> Diagnostic {
    Diagnostic {
        path: path.to_owned(),
        line: None,
        column: None,
        found: Some(found),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../profiles/demo.toml");

    fn load(config: &str, profile: &str) -> Result<Setup, SetupError> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.toml"), profile).unwrap();
        let path = dir.path().join("n3xnet.toml");
        std::fs::write(&path, config).unwrap();
        Setup::load(&path)
    }

    #[test]
    fn loads_a_node_with_the_profiles_role() {
        let s = load("profile = \"p.toml\"\nnode = \"agent-1\"", DEMO).unwrap();
        assert_eq!(s.desired.node, "agent-1");
        assert_eq!(s.role, Some(Role::Agent));
    }

    #[test]
    fn multus_conf_dir_brings_the_nodes_cni_configs() {
        let s = load("profile = \"p.toml\"\nnode = \"agent-1\"", DEMO).unwrap();
        assert!(s.cni_configs.is_empty());
        let s = load(
            "profile = \"p.toml\"\nnode = \"agent-1\"\n[multus]\nconfDir = \"net.d\"",
            DEMO,
        )
        .unwrap();
        let p = profile::parse(DEMO, profile::Format::Toml).unwrap();
        assert_eq!(s.cni_configs, multus::node_configs(&p, "agent-1").unwrap());
        assert_eq!(s.cni_configs[0].name, "pods.conf");
        assert!(s.config.multus.conf_dir.unwrap().ends_with("net.d"));
    }

    #[test]
    fn config_contradicting_the_profile_is_refused_naming_the_field() {
        let e = load(
            "profile = \"p.toml\"\nnode = \"agent-1\"\nrole = \"server\"\n\
             [online]\nrequire = [\"cluster\", \"storage\"]",
            DEMO,
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), exit::INVALID_PROFILE);
        let text = e.to_string();
        assert!(
            text.contains("n3xnet.toml: role: found \"server\", expected \"agent\""),
            "{text}"
        );
        assert!(
            text.contains("online.require[1]: found \"storage\", expected one of node agent-1's networks: cluster, multus:pods"),
            "{text}"
        );
        assert_eq!(e.headline().matches("(and 1 more)").count(), 1);
    }

    #[test]
    fn a_profile_text_resolves_like_the_file_it_came_from() {
        let s = load("profile = \"p.toml\"\nnode = \"server-1\"", DEMO).unwrap();
        assert_eq!(s.profile_text, DEMO);
        let again = s.with_profile_text(DEMO).unwrap();
        assert_eq!(again.desired, s.desired);
        assert_eq!(again.reach, s.reach);
        let other = s
            .with_profile_text(&DEMO.replace("192.168.1.1\"", "192.168.1.9\""))
            .unwrap();
        assert_ne!(other.desired.digest(), s.desired.digest());
        let e = s.with_profile_text("serverApi = 1").unwrap_err();
        assert_eq!(e.exit_code(), exit::INVALID_PROFILE);
        assert!(e.to_string().contains("p.toml"), "{e}");
    }

    #[test]
    fn unknown_node_and_unreadable_files() {
        let e = load("profile = \"p.toml\"\nnode = \"nope\"", DEMO).unwrap_err();
        assert!(
            e.to_string()
                .contains("node: found \"nope\", expected one of the profile's nodes: "),
            "{e}"
        );
        assert_eq!(e.exit_code(), exit::INVALID_PROFILE);
        let e = load("profile = \"missing.toml\"", DEMO).unwrap_err();
        assert_eq!(e.exit_code(), exit::NO_INPUT);
        let e = load("profile = \"p.toml\"\nnode = \"server-1\"", "serverApi = 1").unwrap_err();
        assert_eq!(e.exit_code(), exit::INVALID_PROFILE);
    }
}
