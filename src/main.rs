//! The `trawl` command line: a thin layer over the `trawl` library (its
//! `cli` module, built with the `cli` feature).

// One call needs `unsafe`: the allocator's tunable below.
#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    trawl::cli::main()
}

/// glibc keeps up to eight allocation arenas per core, one for each thread
/// that allocates at once, and pages are parsed on tokio's blocking threads:
/// a 100k-page crawl's peak grew to 55 MiB against 41 MiB in one arena, from
/// fragmentation alone (README, Performance). Two arenas keep the two
/// runtime workers apart. `MALLOC_ARENA_MAX` in the environment still wins.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: `mallopt` only sets a tunable of the allocator, and this
        // runs first in `main`, before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
