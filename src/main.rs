//! The `todo-api` binary: everything lives in the library.

/// mimalloc rather than glibc's malloc: a request allocates and frees many small buffers
/// (headers, JSON, the log line), which glibc served at about a fifth of the server's CPU
/// time in the profile of `/livez`; see docs/benchmarks.md for the measured effect.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    todo_api::cli::main()
}
