//! `n3xnet-report`: publishes n3xnetd's view of the node's network,
//! unprivileged; see [`n3xnet::report`].

fn main() -> std::process::ExitCode {
    n3xnet::report::main()
}
