//! Printing to stdout. A reader that went away (`yibao policy list | head -1`) is not an
//! error: the command has nothing more to say, so the process ends quietly with success where
//! `println!` would panic (Rust ignores SIGPIPE, so a write to a closed pipe fails with EPIPE).

use std::io::Write;

/// Writes `args` and a newline to stdout. A closed pipe ends the process with success (what
/// was to be done is done: every command prints after its work); any other failure is an error.
pub fn line(args: std::fmt::Arguments) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_fmt(args).and_then(|()| out.write_all(b"\n")) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(format!("writing to stdout: {e}")),
    }
}

/// `println!` that returns the [`line`] result instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::out::line(format_args!($($arg)*)) };
}
