//! `n3xnetd`: the node's network supervisor service; see [`n3xnet::daemon`].

fn main() -> std::process::ExitCode {
    n3xnet::daemon::main()
}
