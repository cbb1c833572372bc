//! The `haven` binary; everything lives in the library (`haven::cli`).
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    haven::cli::main()
}
