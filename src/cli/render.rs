//! `n3xnetctl render`: configuration for other tools from the same profile.

use std::path::PathBuf;

use clap::Subcommand;

use crate::render::{multus, networkd, write_dir};

use super::exit;
use super::profile_args::{Failure, ProfileArgs};

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
    /// The Multus NetworkAttachmentDefinitions (YAML) of the profile.
    Multus {
        /// Profile file (TOML, or JSON by the .json extension).
        #[arg(long, short = 'p', value_name = "FILE")]
        profile: PathBuf,
    },
    /// The resolved desired network of one node, as JSON (what plan/apply act on).
    Desired {
        #[command(flatten)]
        profile: ProfileArgs,
    },
}

pub fn run(a: &Args) -> u8 {
    match render(&a.what) {
        Ok(()) => exit::OK,
        Err(f) => {
            eprintln!("n3xnetctl render: {}", f.message);
            f.code
        }
    }
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
        What::Multus { profile } => {
            let loaded = crate::profile::load(profile)?;
            let yaml = multus::render(&loaded.profile).map_err(|e| Failure {
                code: exit::INVALID_PROFILE,
                message: e.to_string(),
            })?;
            print!("{yaml}");
        }
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
