//! `n3xnet-report`: the unprivileged reporter that follows n3xnetd's
//! `status.json` and feeds what it reads to the sinks outside the daemon.
//! [`textfile`]: Prometheus, through node_exporter's textfile collector.

pub mod textfile;
