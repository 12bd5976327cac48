//! The `--profile`/`--node` pair most commands take, and loading it.

use std::path::PathBuf;

use crate::desired::DesiredNetwork;
use crate::profile::{self, Diagnostic, LoadError, Loaded, Report};

use super::exit;

#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// Profile file (TOML, or JSON by the .json extension).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub profile: PathBuf,
    /// Node to act for (default: this machine's hostname).
    #[arg(long, short = 'n', value_name = "NODE")]
    pub node: Option<String>,
}

/// Why a profile could not be used, with the exit code that says so.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl From<LoadError> for Failure {
    fn from(e: LoadError) -> Self {
        let code = match e {
            LoadError::Io { .. } => exit::NO_INPUT,
            LoadError::Invalid(_) => exit::INVALID_PROFILE,
        };
        Failure {
            code,
            message: e.to_string(),
        }
    }
}

/// `--node`, else the hostname (as the kubelet names the Node).
pub fn node_name(explicit: Option<&str>) -> String {
    explicit.map(str::to_string).unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    })
}

/// The problem of a `--node` the profile does not name, if it does not.
pub fn unknown_node(loaded: &Loaded, node: &str) -> Option<Diagnostic> {
    let names = loaded.profile.node_names();
    (!names.iter().any(|n| n == node)).then(|| Diagnostic {
        path: "--node".into(),
        line: None,
        column: None,
        found: Some(format!("{node:?}")),
        expected: format!("one of the profile's nodes: {}", names.join(", ")),
    })
}

impl ProfileArgs {
    /// Loads and validates the profile and resolves the node.
    pub fn resolve(&self) -> Result<(Loaded, DesiredNetwork), Failure> {
        self.resolve_with_text()
            .map(|(loaded, desired, _)| (loaded, desired))
    }

    /// [`Self::resolve`], also returning the profile's text as validated.
    pub fn resolve_with_text(&self) -> Result<(Loaded, DesiredNetwork, String), Failure> {
        let (loaded, text) = profile::load_with_text(&self.profile)?;
        let node = node_name(self.node.as_deref());
        if let Some(d) = unknown_node(&loaded, &node) {
            return Err(Failure {
                code: exit::INVALID_PROFILE,
                message: Report::new(&self.profile, vec![d]).to_string(),
            });
        }
        let desired = profile::resolve(&loaded.profile, &node).map_err(|d| Failure {
            code: exit::INVALID_PROFILE,
            message: Report::new(&self.profile, d).to_string(),
        })?;
        Ok((loaded, desired, text))
    }
}
