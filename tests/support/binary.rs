//! Running the real `trawl` binary from a test: one finished run, its exit
//! code, stdout and stderr (shared by the CLI-level test binaries).

use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_trawl");
/// No single run of the binary in a test should come near this.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a finished run of the binary left behind.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// The binary with `args`, no stdin, stdout and stderr piped, `RUST_LOG` unset.
pub fn command<S: Into<OsString>>(args: impl IntoIterator<Item = S>) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args.into_iter().map(Into::into))
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the binary to its end, off the runtime so the test server keeps serving.
pub async fn trawl<S: Into<OsString>>(args: impl IntoIterator<Item = S>) -> Run {
    run(command(args)).await
}

/// Runs a prepared [`command`] (say, with `.env(…)` for the child only) to
/// its end, as [`trawl`] does.
pub async fn run(mut command: Command) -> Run {
    let child = command.spawn().expect("spawn trawl");
    let pid = child.id();
    let waiting = tokio::task::spawn_blocking(move || child.wait_with_output());
    match tokio::time::timeout(RUN_LIMIT, waiting).await {
        Ok(output) => {
            let output = output.expect("join").expect("wait for trawl");
            Run {
                code: output.status.code(),
                stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
                stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
            }
        }
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("trawl did not finish within {RUN_LIMIT:?}");
        }
    }
}

/// A path as an argument.
pub fn s(path: &Path) -> String {
    path.display().to_string()
}

/// The summary line (`trawl: N pages (M list), R records, ...`) on stderr.
pub fn summary_line(stderr: &str) -> &str {
    stderr
        .lines()
        .find(|l| l.starts_with("trawl: ") && l.contains(" pages (") && l.contains(" records"))
        .unwrap_or_else(|| panic!("no summary line on stderr:\n{stderr}"))
}
