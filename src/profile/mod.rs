//! Profiles: the one source of truth for a node's network, in n3x's
//! vocabulary, loaded from TOML or JSON.
//!
//! Loading never stops at the first problem: the file is parsed into a
//! positioned tree, decoded field by field, then validated as a whole and
//! node by node, so an operator sees every mistake in one run.

pub mod decode;
pub mod diag;
pub mod model;
pub mod pools;
pub mod resolve;
pub mod source;
pub mod validate;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, Report};
pub use model::Profile;
pub use resolve::resolve;
pub use source::Format;

/// A profile read from a file and found valid.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub profile: Profile,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read profile {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(Report),
}

impl Profile {
    /// Every node the profile names, sorted.
    pub fn node_names(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self
            .ip_addresses
            .keys()
            .chain(self.reservations.keys())
            .chain(self.nodes.keys())
            .collect();
        names.into_iter().cloned().collect()
    }

    /// `Err`: the problem of a node the profile does not name, reported at
    /// `field` (`--node`, or `node` of n3xnet.toml); `origin` says where the
    /// name came from when not from the field itself (` (the hostname)`).
    pub fn require_node(&self, node: &str, field: &str, origin: &str) -> Result<(), Diagnostic> {
        let names = self.node_names();
        if names.iter().any(|n| n == node) {
            return Ok(());
        }
        Err(Diagnostic {
            path: field.to_owned(),
            line: None,
            column: None,
            found: Some(format!("{node:?}{origin}")),
            expected: format!("one of the profile's nodes: {}", names.join(", ")),
        })
    }
}

/// The node this machine is: `explicit` (`--node`, `node` of n3xnet.toml),
/// else the hostname, as the kubelet names the Node.
pub fn node_name(explicit: Option<&str>) -> String {
    explicit.map(str::to_string).unwrap_or_else(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default()
    })
}

/// Reads, decodes and validates the profile at `path` (TOML, or JSON by
/// the `.json` extension).
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    load_with_text(path).map(|(loaded, _)| loaded)
}

/// [`load`], also returning the text that was validated: a caller that
/// copies the profile (`n3xnetctl render node`) must copy exactly those
/// bytes, not a second read that may have changed in between.
pub fn load_with_text(path: &Path) -> Result<(Loaded, String), LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let profile = parse(&text, Format::from_path(path))
        .map_err(|d| LoadError::Invalid(Report::new(path, d)))?;
    let loaded = Loaded {
        path: path.to_path_buf(),
        profile,
    };
    Ok((loaded, text))
}

/// Parses, decodes and validates profile text; every problem at once.
pub fn parse(text: &str, format: Format) -> Result<Profile, Vec<Diagnostic>> {
    let mut d = diag::Diags::default();
    let root = match source::parse(text, format) {
        Ok(root) => root,
        Err(errors) => {
            for e in errors {
                d.push_at(
                    "(syntax)",
                    e.pos,
                    None,
                    format!("valid {}: {}", format.name(), e.message),
                );
            }
            return Err(d.into_vec());
        }
    };
    let profile = decode::profile(&root, &mut d);
    if let Some(p) = &profile {
        validate::validate(p, &mut d);
    }
    let mut list = d.into_vec();
    dedup(&mut list);
    list.sort_by_key(|d| (d.line.is_none(), d.line, d.column));
    match profile {
        Some(p) if list.is_empty() => Ok(p),
        _ => Err(list),
    }
}

/// Profile-wide problems are found once per node; report each once.
fn dedup(list: &mut Vec<Diagnostic>) {
    let mut seen = BTreeSet::new();
    list.retain(|d| seen.insert((d.path.clone(), d.found.clone(), d.expected.clone())));
}
