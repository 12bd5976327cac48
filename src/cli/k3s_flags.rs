//! `n3xnetctl k3s-flags`: the k3s flags that agree with the node's network.

use clap::builder::{PossibleValuesParser, TypedValueParser};

use crate::desired::DesiredNetwork;
use crate::kinds::Role;
use crate::render::k3s::{self, FlagFormat};

use super::profile_args::ProfileArgs;
use super::Failure;
use crate::exit;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// The node's k3s role (default: `nodes.<node>.role` of the profile).
    #[arg(long, value_parser = role_parser())]
    pub role: Option<Role>,
    /// `args` (n3x's extraFlags), `env` (/etc/default/k3s-*), `config` (config.yaml.d drop-in).
    #[arg(long, default_value = "args", value_parser = format_parser())]
    pub format: FlagFormat,
}

// The values are listed to clap, not only parsed, so that `--help`, the
// man page and the shell completions offer them.

pub(super) fn role_parser() -> impl TypedValueParser<Value = Role> {
    PossibleValuesParser::new(["server", "agent"]).try_map(|s| {
        s.parse::<Role>()
            .map_err(|()| format!("unknown role {s:?}: expected server or agent"))
    })
}

fn format_parser() -> impl TypedValueParser<Value = FlagFormat> {
    PossibleValuesParser::new(FlagFormat::ALL.map(FlagFormat::as_str))
        .try_map(|s| s.parse::<FlagFormat>())
}

pub fn run(a: &Args) -> Result<u8, Failure> {
    let (loaded, desired) = a.profile.resolve()?;
    let role = role_of(a.role, &desired)?;
    let text = k3s::flags(&loaded.profile, &desired.node, role, a.format).map_err(k3s_failure)?;
    print!("{text}");
    Ok(exit::OK)
}

/// The node's role: `--role`, else the profile's; k3s needs one.
pub(super) fn role_of(explicit: Option<Role>, desired: &DesiredNetwork) -> Result<Role, Failure> {
    explicit.or(desired.role).ok_or_else(|| {
        Failure::new(
            exit::USAGE,
            format!(
                "node {} has no role in the profile (nodes.{}.role): pass --role server|agent",
                desired.node, desired.node
            ),
        )
    })
}

/// k3s flags that cannot be computed are a problem of the profile.
pub(super) fn k3s_failure(e: k3s::K3sError) -> Failure {
    Failure::new(exit::INVALID_PROFILE, e.to_string())
}
