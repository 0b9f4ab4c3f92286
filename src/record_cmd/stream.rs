//! Streaming `trace_pipe` to the output file while the workload runs.
//!
//! A reader thread opens `trace_pipe` non-blocking and copies whatever it reads, byte for
//! byte, to the output: the file holds the kernel's own text. Reading consumes the ring
//! buffer, so a long run does not overflow it as long as the reader keeps up. When the pipe
//! is empty (`EAGAIN`, or end of file once tracing is off or on a plain file in the tests)
//! the thread sleeps briefly; once told to stop (after `tracing_on` went to 0) it drains
//! until the pipe stays empty, then flushes and hands back its counts.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, ErrorKind, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// What the reader copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Lines (newline-terminated) copied.
    pub lines: u64,
    /// Bytes copied.
    pub bytes: u64,
    /// Lines the kernel wrote to say events were lost (`CPU:N [LOST M EVENTS]`).
    pub lost_lines: u64,
}

/// A running reader thread.
pub struct Reader {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<io::Result<(Copied, BufWriter<File>)>>,
}

/// How long the reader sleeps when the pipe is empty.
const IDLE: Duration = Duration::from_millis(20);

/// Start copying `pipe` to `out` on a new thread.
pub fn spawn(pipe: &Path, out: BufWriter<File>) -> io::Result<Reader> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(pipe)
        .map_err(|e| io::Error::new(e.kind(), format!("opening {}: {e}", pipe.display())))?;
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = std::thread::Builder::new()
        .name("trace_pipe".into())
        .spawn(move || copy(f, out, &s))?;
    Ok(Reader { stop, handle })
}

impl Reader {
    /// Tell the thread to drain what is left and finish; wait for it.
    pub fn finish(self) -> io::Result<(Copied, BufWriter<File>)> {
        // Relaxed: a bare stop request, no data travels with it; pairs with the Relaxed load
        // in `copy`. What the thread wrote reaches us through `join`, which orders it.
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .map_err(|_| io::Error::other("the trace_pipe reader thread panicked"))?
    }
}

fn copy(
    mut f: File,
    mut out: BufWriter<File>,
    stop: &AtomicBool,
) -> io::Result<(Copied, BufWriter<File>)> {
    let mut buf = vec![0u8; 1 << 16];
    let mut c = Copied::default();
    let mut line: Vec<u8> = Vec::new();
    // Empty reads seen since the stop request: two in a row, IDLE apart, end the drain.
    let mut empty_after_stop = 0;
    loop {
        // Relaxed: pairs with the Relaxed store in `Reader::finish` (a bare flag; seeing it
        // one read late only drains one more buffer).
        let stopping = stop.load(Ordering::Relaxed);
        match f.read(&mut buf) {
            Ok(0) => {}
            Ok(n) => {
                out.write_all(&buf[..n])?;
                c.bytes += n as u64;
                count(&buf[..n], &mut line, &mut c);
                empty_after_stop = 0;
                continue;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if stopping {
            empty_after_stop += 1;
            if empty_after_stop >= 2 {
                break;
            }
        }
        std::thread::sleep(IDLE);
    }
    out.flush()?;
    Ok((c, out))
}

/// Count the complete lines in `chunk` (carrying a partial line over in `line`) and the
/// kernel's lost-events lines among them.
fn count(chunk: &[u8], line: &mut Vec<u8>, c: &mut Copied) {
    for piece in chunk.split_inclusive(|b| *b == b'\n') {
        if piece.ends_with(b"\n") {
            c.lines += 1;
            let is_lost = |s: &[u8]| s.windows(6).any(|w| w == b"[LOST ");
            if is_lost(piece) || (!line.is_empty() && is_lost(&[&line[..], piece].concat())) {
                c.lost_lines += 1;
            }
            line.clear();
        } else {
            line.extend_from_slice(piece);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_carries_partial_lines_and_finds_lost_lines_split_across_reads() {
        let mut c = Copied::default();
        let mut line = Vec::new();
        count(b"a-1 [000] x\nCPU:1 [LO", &mut line, &mut c);
        assert_eq!((c.lines, c.lost_lines), (1, 0));
        count(b"ST 12 EVENTS]\nb-2\n", &mut line, &mut c);
        assert_eq!((c.lines, c.lost_lines), (3, 1));
        assert!(line.is_empty());
    }
}
