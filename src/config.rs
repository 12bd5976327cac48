//! `/etc/n3xnet/n3xnet.toml`: how the daemon finds its profile and node.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Where the daemon's configuration lives unless `--config` says otherwise.
pub const DEFAULT_PATH: &str = "/etc/n3xnet/n3xnet.toml";

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonConfig {
    /// The profile file (TOML, or JSON by the .json extension).
    pub profile: PathBuf,
    /// The node this machine is; defaults to the hostname.
    #[serde(default)]
    pub node: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Invalid { path: PathBuf, message: String },
}

impl DaemonConfig {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<DaemonConfig>("profile = \"/p.toml\"\nnode = \"n\"").is_ok());
        assert!(toml::from_str::<DaemonConfig>("profile = \"/p.toml\"\nnodes = \"n\"").is_err());
        assert!(toml::from_str::<DaemonConfig>("node = \"n\"").is_err());
    }
}
