//! The `--profile`/`--node` pair most commands take, and loading it.

use std::path::PathBuf;

use crate::desired::DesiredNetwork;
use crate::exit;
use crate::profile::{self, Loaded, Report};

use super::Failure;

#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// Profile file (TOML, or JSON by the .json extension).
    #[arg(long, short = 'p', value_name = "FILE")]
    pub profile: PathBuf,
    /// Node to act for (default: this machine's hostname).
    #[arg(long, short = 'n', value_name = "NODE")]
    pub node: Option<String>,
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
        let node = profile::node_name(self.node.as_deref());
        let invalid = |d| {
            Failure::new(
                exit::INVALID_PROFILE,
                Report::new(&self.profile, d).to_string(),
            )
        };
        loaded
            .profile
            .require_node(&node, "--node", "")
            .map_err(|d| invalid(vec![d]))?;
        let desired = profile::resolve(&loaded.profile, &node).map_err(invalid)?;
        Ok((loaded, desired, text))
    }
}
