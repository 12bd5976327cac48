//! `n3xnetctl validate`: every problem of every given profile, at once.

use std::path::PathBuf;

use serde::Serialize;

use super::Failure;
use crate::exit;
use crate::profile::{self, Diagnostic, LoadError, Report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Profile files (TOML, or JSON by the .json extension).
    #[arg(required = true, value_name = "PROFILE")]
    pub profiles: Vec<PathBuf>,
    /// Also require this node to be in each profile.
    #[arg(long, short = 'n')]
    pub node: Option<String>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Outcome {
    file: PathBuf,
    valid: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    nodes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    problems: Vec<Diagnostic>,
}

pub fn run(a: &Args) -> Result<u8, Failure> {
    let mut code = exit::OK;
    let mut outcomes = Vec::new();
    for path in &a.profiles {
        let (outcome, c) = check(path, a.node.as_deref());
        if c != exit::OK && (code == exit::OK || c == exit::NO_INPUT) {
            code = c;
        }
        if !a.json {
            match (&outcome.error, outcome.valid) {
                (Some(e), _) => eprintln!("{e}"),
                (None, true) => println!(
                    "{}: valid ({} nodes: {})",
                    path.display(),
                    outcome.nodes.len(),
                    outcome.nodes.join(", ")
                ),
                (None, false) => {
                    eprintln!("{}", Report::new(path, outcome.problems.clone()));
                    eprintln!(
                        "{}: invalid ({} problems)",
                        path.display(),
                        outcome.problems.len()
                    );
                }
            }
        }
        outcomes.push(outcome);
    }
    if a.json {
        let s = serde_json::to_string_pretty(&outcomes)
            .map_err(|e| Failure::new(exit::SOFTWARE, format!("cannot encode the result: {e}")))?;
        println!("{s}");
    }
    Ok(code)
}

fn check(path: &std::path::Path, node: Option<&str>) -> (Outcome, u8) {
    let mut out = Outcome {
        file: path.to_path_buf(),
        valid: false,
        nodes: Vec::new(),
        error: None,
        problems: Vec::new(),
    };
    match profile::load(path) {
        Ok(loaded) => {
            out.nodes = loaded.profile.node_names();
            if let Some(Err(d)) = node.map(|n| loaded.profile.require_node(n, "--node", "")) {
                out.problems.push(d);
                return (out, exit::INVALID_PROFILE);
            }
            out.valid = true;
            (out, exit::OK)
        }
        Err(LoadError::Invalid(report)) => {
            out.problems = report.diagnostics;
            (out, exit::INVALID_PROFILE)
        }
        Err(e @ LoadError::Io { .. }) => {
            out.error = Some(e.to_string());
            (out, exit::NO_INPUT)
        }
    }
}
