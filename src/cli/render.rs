//! `n3xnetctl render`: configuration for other tools from the same profile.

use std::path::PathBuf;

use clap::Subcommand;

use crate::kinds::Role;
use crate::profile::Format;
use crate::render::node::{self, NodeInput};
use crate::render::{multus, networkd, write_dir};

use super::k3s_flags::{k3s_failure, role_of, role_parser};
use super::profile_args::ProfileArgs;
use super::Failure;
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub what: What,
}

#[derive(Debug, Subcommand)]
pub enum What {
    /// systemd-networkd .netdev/.network files for one node, in n3x's layout.
    Networkd {
        #[command(flatten)]
        profile: ProfileArgs,
        /// Directory to write into (created; other files in it are left alone).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The Multus NetworkAttachmentDefinitions (YAML) of the profile; with --node and --out,
    /// instead that node's CNI config files (<nad>.conf) of its ipam = "node-pools" networks,
    /// for Multus' confDir (n3x: /etc/cni/multus/net.d).
    Multus {
        /// Profile file (TOML, or JSON by the .json extension).
        #[arg(long, short = 'p', value_name = "FILE")]
        profile: PathBuf,
        /// The node whose CNI config files to write.
        #[arg(long, short = 'n', value_name = "NODE", requires = "out")]
        node: Option<String>,
        /// Directory to write the node's files into (created; other files are left alone).
        #[arg(long, value_name = "DIR", requires = "node")]
        out: Option<PathBuf>,
    },
    /// The resolved desired network of one node, as JSON (what plan/apply act on).
    Desired {
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Everything one node needs beside the n3xnet package, as a root-like tree under DIR:
    /// etc/n3xnet/{n3xnet.toml,profile.*}, the k3s flags (etc/default/k3s-<role>,
    /// etc/rancher/k3s/config.yaml.d/50-n3xnet.yaml), and the symlinks enabling n3xnetd and
    /// n3xnet-wait-online and masking systemd-networkd. Nothing is written unless the profile
    /// is valid for the node.
    Node {
        /// Profile file (TOML, or JSON by the .json extension); copied as is.
        #[arg(long, short = 'p', value_name = "FILE")]
        profile: PathBuf,
        /// The node to render (required: the tree is for another machine, whose
        /// name this one's hostname says nothing about).
        #[arg(long, short = 'n', value_name = "NODE")]
        node: String,
        /// The node's k3s role (default: `nodes.<node>.role` of the profile).
        #[arg(long, value_parser = role_parser())]
        role: Option<Role>,
        /// Root of the tree (created; files it does not render are left alone).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

pub fn run(a: &Args) -> Result<u8, Failure> {
    render(&a.what).map(|()| exit::OK)
}

fn render(what: &What) -> Result<(), Failure> {
    match what {
        What::Networkd { profile, out } => {
            let (_, desired) = profile.resolve()?;
            let files = networkd::render(&desired);
            write_dir(out, &files).map_err(|e| Failure {
                code: exit::IO,
                message: e.to_string(),
            })?;
            for f in &files {
                println!("{}", out.join(&f.name).display());
            }
        }
        What::Multus { profile, node, out } => {
            let loaded = crate::profile::load(profile)?;
            let invalid = |e: multus::MultusError| Failure {
                code: exit::INVALID_PROFILE,
                message: e.to_string(),
            };
            let (Some(node), Some(out)) = (node, out) else {
                print!("{}", multus::render(&loaded.profile).map_err(invalid)?);
                return Ok(());
            };
            loaded
                .profile
                .require_node(node, "--node", "")
                .map_err(|d| {
                    Failure::new(
                        exit::INVALID_PROFILE,
                        crate::profile::Report::new(profile, vec![d]).to_string(),
                    )
                })?;
            let files = multus::node_configs(&loaded.profile, node).map_err(invalid)?;
            write_dir(out, &files).map_err(|e| Failure {
                code: exit::IO,
                message: e.to_string(),
            })?;
            for f in &files {
                println!("{}", out.join(&f.name).display());
            }
        }
        What::Node {
            profile,
            node,
            role,
            out,
        } => render_node(profile, node, *role, out)?,
        What::Desired { profile } => {
            let (_, desired) = profile.resolve()?;
            let json = serde_json::to_string_pretty(&desired).map_err(|e| Failure {
                code: exit::SOFTWARE,
                message: e.to_string(),
            })?;
            println!("{json}");
        }
    }
    Ok(())
}

/// `render node`: everything is computed and checked before the first write,
/// so an invalid profile, an unknown node or a role k3s cannot use leaves
/// DIR untouched.
fn render_node(
    profile: &std::path::Path,
    node: &str,
    role: Option<Role>,
    out: &std::path::Path,
) -> Result<(), Failure> {
    let args = ProfileArgs {
        profile: profile.to_path_buf(),
        node: Some(node.to_owned()),
    };
    let (loaded, desired, text) = args.resolve_with_text()?;
    let role = role_of(role, &desired)?;
    let source_name = profile
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let input = NodeInput {
        profile: &loaded.profile,
        profile_text: &text,
        profile_format: Format::from_path(profile),
        source_name: &source_name,
        node: &desired.node,
        role,
    };
    let tree = node::render(&input).map_err(k3s_failure)?;
    // n3xnetd must accept what it will read at boot: a failure here is our bug.
    let config = tree
        .files
        .iter()
        .find(|f| f.file.name == "n3xnet.toml")
        .map(|f| f.file.contents.as_str())
        .unwrap_or_default();
    crate::config::DaemonConfig::parse(config, std::path::Path::new("/etc/n3xnet")).map_err(
        |d| Failure {
            code: exit::SOFTWARE,
            message: format!(
                "rendered n3xnet.toml is invalid (a bug): {}",
                crate::profile::Report::new(std::path::Path::new("n3xnet.toml"), d)
            ),
        },
    )?;
    node::write_tree(out, &tree).map_err(|e| Failure {
        code: exit::IO,
        message: e.to_string(),
    })?;
    for f in &tree.files {
        println!("{}", out.join(&f.dir).join(&f.file.name).display());
    }
    for l in &tree.links {
        println!("{} -> {}", out.join(&l.path).display(), l.target);
    }
    Ok(())
}
