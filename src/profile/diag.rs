//! Profile problems, each naming the field path, the value found and what was
//! expected, with the source position where the format has one.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::source::Pos;

/// One problem with a profile.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Diagnostic {
    /// Field path, e.g. `bondConfig.primary` or `routes[0].via`.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// What was there (`None` for a missing field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<String>,
    pub expected: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(found) => write!(
                f,
                "{}: found {}, expected {}",
                self.path, found, self.expected
            ),
            None => write!(f, "{}: {}", self.path, self.expected),
        }
    }
}

/// Appends a key to a field path, quoting keys that contain a dot so that
/// `mtu."bond0.100"` stays unambiguous.
pub fn join(path: &str, key: &str) -> String {
    let key = if key.contains(['.', ' ', '"']) || key.is_empty() {
        format!("{key:?}")
    } else {
        key.to_string()
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

pub fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// Collects diagnostics while a profile is decoded and validated. Decoding
/// records where each path was written so later semantic checks can point
/// at the line too.
#[derive(Debug, Default)]
pub struct Diags {
    list: Vec<Diagnostic>,
    positions: HashMap<String, Pos>,
}

impl Diags {
    pub fn record(&mut self, path: &str, pos: Option<Pos>) {
        if let Some(pos) = pos {
            self.positions.entry(path.to_string()).or_insert(pos);
        }
    }

    /// Reports a problem at `path`; `found` is `None` for a missing value.
    pub fn push(&mut self, path: &str, found: Option<String>, expected: impl Into<String>) {
        let pos = self.lookup(path);
        self.push_at(path, pos, found, expected);
    }

    /// Reports a problem at a known position (syntax errors).
    pub fn push_at(
        &mut self,
        path: &str,
        pos: Option<Pos>,
        found: Option<String>,
        expected: impl Into<String>,
    ) {
        self.list.push(Diagnostic {
            path: path.to_string(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.col),
            found,
            expected: expected.into(),
        });
    }

    /// The position of `path`, else of its nearest written ancestor.
    fn lookup(&self, path: &str) -> Option<Pos> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            let cut = p.rfind(['.', '['])?;
            p = &p[..cut];
        }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }
}

/// Every problem found in one profile file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub file: PathBuf,
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn new(file: &Path, diagnostics: Vec<Diagnostic>) -> Self {
        Report {
            file: file.to_path_buf(),
            diagnostics,
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.diagnostics.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            if let (Some(l), Some(c)) = (d.line, d.column) {
                write!(f, ":{l}:{c}")?;
            }
            write!(f, ": {d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Report {}
