//! The `dbops` command-line tool: all logic lives in `dbops::cli`.

fn main() {
    dbops::cli::main()
}
