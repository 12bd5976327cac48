//! `n3xnetctl`: see [`n3xnet::cli`].

fn main() -> std::process::ExitCode {
    n3xnet::cli::main()
}
