//! The `dbops` command-line tool: every command maps its arguments onto the `dbops` library.

fn main() {
    dbops_cli::main()
}
