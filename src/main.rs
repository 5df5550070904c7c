//! The `trawl` command line: a thin layer over the `trawl` library (its
//! `cli` module, built with the `cli` feature).

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    trawl::cli::main()
}
