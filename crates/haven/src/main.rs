//! The `haven` binary; everything lives in the library (`haven::cli`).
#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator: a staff page builds and drops thousands of small
/// values (template context, rows), and glibc's malloc and free were a quarter of the queue
/// page's CPU in a profile at a million referrals.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    haven::cli::main()
}
