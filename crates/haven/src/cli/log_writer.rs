//! Log output that can never take a request down.
//!
//! Haven logs to stderr, which operators often redirect to a file. When that volume fills
//! up, every write fails with `ENOSPC`; tracing-subscriber then reports the failure with
//! `eprintln!`, which panics when stderr itself cannot be written, so each request that
//! logged would drop its connection. A lost log line is better than a lost request: this
//! writer reports every write as done and drops the error.
//!
//! Hand-written because it is a dozen lines over `std::io::Write`; no crate does just this.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Wraps a [`MakeWriter`] (e.g. `std::io::stderr`) so its writers never fail.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Forgiving<M>(pub M);

/// A writer whose write errors are dropped.
#[derive(Debug)]
pub(crate) struct ForgivingWriter<W>(W);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Forgiving<M> {
    type Writer = ForgivingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        ForgivingWriter(self.0.make_writer())
    }
}

impl<W: Write> Write for ForgivingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Claiming the whole buffer written ends `write_all`'s loop at once.
        Ok(self.0.write(buf).unwrap_or(buf.len()))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let _ = self.0.write_all(buf);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        let _ = self.0.flush();
        Ok(())
    }
}

/// Writes `line` and a newline to stderr, ignoring failure (`eprintln!` panics on a full
/// or closed stderr).
pub(crate) fn say(line: std::fmt::Arguments<'_>) {
    let mut stderr = io::stderr().lock();
    let _ = stderr.write_fmt(line);
    let _ = stderr.write_all(b"\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer on a full disk.
    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::from_raw_os_error(28)) // ENOSPC
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::from_raw_os_error(28))
        }
    }

    #[test]
    fn a_failing_writer_never_panics_the_fmt_layer() {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(Forgiving(|| Full))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..100 {
                tracing::error!(n, "the disk is full and this line is lost");
            }
        });
        let json = tracing_subscriber::fmt()
            .json()
            .with_writer(Forgiving(|| Full))
            .finish();
        tracing::subscriber::with_default(json, || tracing::info!("lost too"));
    }

    #[test]
    fn the_wrapper_reports_success_and_passes_bytes_through() {
        let mut writer = ForgivingWriter(Full);
        assert_eq!(writer.write(b"abc").unwrap(), 3);
        writer.write_all(b"abc").unwrap();
        writer.flush().unwrap();
        let mut kept = ForgivingWriter(Vec::new());
        kept.write_all(b"kept").unwrap();
        assert_eq!(kept.0, b"kept");
    }
}
