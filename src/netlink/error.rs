//! The netlink layer's error type.
//!
//! Every error names what was being done (the op as `Display`, or the dump)
//! and, for kernel refusals, the errno and the kernel's extended-ack message:
//! "Nexthop has invalid gateway" is worth more than "Network is unreachable".

use std::fmt;
use std::io;
use std::path::PathBuf;

use nix::errno::Errno;

/// A kernel refusal of one request: the errno of the `NLMSG_ERROR` reply and
/// the extended-ack message (`NLMSGERR_ATTR_MSG`) when the kernel gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno (`EEXIST` = 17, ...).
    pub errno: i32,
    pub message: Option<String>,
}

impl KernelError {
    pub fn new(errno: i32, message: Option<String>) -> Self {
        KernelError {
            errno: errno.abs(),
            message,
        }
    }

    pub fn errno(&self) -> Errno {
        Errno::from_raw(self.errno)
    }
}

impl fmt::Display for KernelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.errno();
        write!(f, "{e:?}: {}", e.desc())?;
        match &self.message {
            Some(m) => write!(f, " (kernel: {m})"),
            // rtnetlink answers every write without CAP_NET_ADMIN with a bare
            // EPERM; say what is missing instead of leaving users guessing.
            None if e == Errno::EPERM => {
                f.write_str(" (n3xnet needs CAP_NET_ADMIN: run it as root)")
            }
            None => Ok(()),
        }
    }
}

impl std::error::Error for KernelError {}

#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("no tokio runtime: the netlink connection must be opened inside one")]
    NoRuntime,

    #[error("invalid network namespace name {0:?}")]
    InvalidNetnsName(String),

    #[error("network namespace `{name}`: cannot open {path}: {source}")]
    NetnsOpen {
        name: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot enter network namespace `{name}`: {source}{hint}", hint = if *.source == Errno::EPERM { " (needs CAP_SYS_ADMIN: run as root)" } else { "" })]
    NetnsEnter {
        name: String,
        #[source]
        source: Errno,
    },

    #[error(
        "changing the network needs CAP_NET_ADMIN, which this process lacks: run n3xnet as root"
    )]
    NoCapNetAdmin,

    #[error("cannot open the rtnetlink socket: {0}")]
    Socket(#[source] io::Error),

    #[error("the rtnetlink connection closed while {0}")]
    ConnectionClosed(String),

    #[error("netlink receive buffer overrun while {0}: replies were lost")]
    Overrun(String),

    #[error("dump of {what} failed: {source}")]
    Dump {
        what: &'static str,
        #[source]
        source: KernelError,
    },

    #[error("dump of {what} was interrupted by concurrent changes {attempts} times in a row")]
    DumpInconsistent { what: &'static str, attempts: u32 },

    #[error("`{op}` failed: {source}")]
    Op {
        op: String,
        #[source]
        source: KernelError,
    },

    #[error("`{op}`: link `{link}` does not exist")]
    NoSuchLink { op: String, link: String },

    #[error("`{op}`: {path}: {source}")]
    Sysctl {
        op: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("kernel has no {what} support (module `{module}` not loaded and could not be loaded)")]
    Unsupported {
        what: &'static str,
        module: &'static str,
    },

    #[error("probing kernel support for {kind} links failed: {source}")]
    Probe {
        kind: &'static str,
        #[source]
        source: KernelError,
    },

    #[error("`{op}`: an ethernet link is a NIC and cannot be created")]
    NotCreatable { op: String },
}

impl NetlinkError {
    /// The kernel refusal behind this error, if it is one.
    pub fn kernel(&self) -> Option<&KernelError> {
        match self {
            NetlinkError::Dump { source, .. }
            | NetlinkError::Op { source, .. }
            | NetlinkError::Probe { source, .. } => Some(source),
            _ => None,
        }
    }

    /// The op this error is about, as displayed.
    pub fn op(&self) -> Option<&str> {
        match self {
            NetlinkError::Op { op, .. }
            | NetlinkError::NoSuchLink { op, .. }
            | NetlinkError::Sysctl { op, .. }
            | NetlinkError::NotCreatable { op } => Some(op),
            _ => None,
        }
    }
}
