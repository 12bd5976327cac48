//! Profiles: the one source of truth for a node's network, in n3x's
//! vocabulary, loaded from TOML or JSON.

pub mod decode;
pub mod diag;
pub mod model;
pub mod source;

pub use diag::{Diagnostic, Report};
pub use model::Profile;
