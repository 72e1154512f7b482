//! The `todo-api` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    todo_api::cli::main()
}
