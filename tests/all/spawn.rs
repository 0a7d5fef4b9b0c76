//! Starting the built binaries, in one place so that a runner can be put in
//! front of them: set `BPFBOX_TEST_RUNNER` to a command prefix (split on
//! white space, e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`) to run them
//! under an emulator when cross testing.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// A command that runs the binary at `path`, behind the runner when set.
pub fn command(path: &str) -> Command {
    let runner = std::env::var("BPFBOX_TEST_RUNNER").unwrap_or_default();
    let mut prefix = runner.split_whitespace();
    match prefix.next() {
        Some(first) => {
            let mut command = Command::new(first);
            command.args(prefix).arg(path);
            command
        }
        None => Command::new(path),
    }
}

/// Runs `command` with `stdin` as its standard input and collects its output.
pub fn output(command: &mut Command, stdin: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // A writer thread, so a child that writes before reading cannot deadlock;
    // a child that exits without reading makes the write fail, which is fine.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("wait for the child");
    writer.join().expect("stdin writer");
    output
}

/// Standard output as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
