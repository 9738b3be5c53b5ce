//! Bounded command output: lines read from a stream with a byte cap per line ([`read_lines`]),
//! a tail bounded in lines and in bytes ([`Tail`]), and the tail of a log file read from its
//! end ([`file_tail`]). A command printing a gigabyte without a newline costs a few KiB here,
//! not a gigabyte per copy.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader, Read, Seek, SeekFrom},
    path::Path,
};

/// Longest line kept, in bytes; the rest of a longer line is dropped and counted.
pub const MAX_LINE: usize = 4096;

/// Most bytes a tail keeps (all its lines together).
pub const MAX_TAIL_BYTES: usize = 64 * 1024;

/// Reads `stream` line by line, handing each line (lossy UTF-8, without its `\n` or `\r\n`)
/// to `each` until it returns `false` or the stream ends. A line longer than [`MAX_LINE`]
/// bytes is cut there, saying how many bytes were dropped; memory stays bounded whatever the
/// stream holds.
pub fn read_lines(stream: impl Read, mut each: impl FnMut(String) -> bool) {
    let mut reader = BufReader::with_capacity(64 * 1024, stream);
    let mut line: Vec<u8> = Vec::new();
    let mut cut: u64 = 0;
    loop {
        let (used, ended) = match reader.fill_buf() {
            Ok([]) => {
                if !line.is_empty() || cut > 0 {
                    each(finish(&line, cut));
                }
                return;
            }
            Ok(buf) => {
                let (chunk, ended) = match buf.iter().position(|b| *b == b'\n') {
                    Some(i) => (&buf[..i], true),
                    None => (buf, false),
                };
                let take = MAX_LINE.saturating_sub(line.len()).min(chunk.len());
                line.extend_from_slice(&chunk[..take]);
                cut += (chunk.len() - take) as u64;
                (chunk.len() + usize::from(ended), ended)
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A pipe that fails ends the output; what was read so far still counts.
            Err(_) => (0, true),
        };
        reader.consume(used);
        if ended {
            if used == 0 {
                if !line.is_empty() || cut > 0 {
                    each(finish(&line, cut));
                }
                return;
            }
            if !each(finish(&line, cut)) {
                return;
            }
            line.clear();
            cut = 0;
        }
    }
}

fn finish(line: &[u8], cut: u64) -> String {
    let text = String::from_utf8_lossy(line);
    let text = text.trim_end_matches('\r');
    if cut > 0 { format!("{text} [... {cut} more bytes of this line cut]") } else { text.to_string() }
}

/// The last lines of some output, at most `max_lines` of them and `max_bytes` together (a
/// single line over `max_bytes` is cut to fit).
#[derive(Debug, Clone)]
pub struct Tail {
    lines: VecDeque<String>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
}

impl Tail {
    /// An empty tail with these bounds.
    pub fn new(max_lines: usize, max_bytes: usize) -> Tail {
        Tail { lines: VecDeque::new(), bytes: 0, max_lines, max_bytes }
    }

    /// Adds a line, dropping the oldest ones beyond the bounds.
    pub fn push(&mut self, mut line: String) {
        if line.len() > self.max_bytes {
            let mut end = self.max_bytes;
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line.truncate(end);
        }
        self.bytes += line.len();
        self.lines.push_back(line);
        while self.lines.len() > self.max_lines || self.bytes > self.max_bytes {
            match self.lines.pop_front() {
                Some(old) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    /// The lines kept, oldest first.
    pub fn into_lines(self) -> Vec<String> {
        self.lines.into()
    }
}

/// The last `max_lines` lines of the file at `path`, read from at most its last
/// [`MAX_TAIL_BYTES`] bytes (lines cut at [`MAX_LINE`]), joined with `\n`.
pub fn file_tail(path: &Path, max_lines: usize) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let start = len.saturating_sub(MAX_TAIL_BYTES as u64);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Tail::new(max_lines, MAX_TAIL_BYTES);
    let mut first = start > 0;
    read_lines(file, |line| {
        // The first line read from the middle of the file is a piece of a line: drop it.
        if !std::mem::take(&mut first) {
            tail.push(line);
        }
        true
    });
    Ok(tail.into_lines().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_are_cut_and_memory_stays_bounded() {
        // 10 MiB without a newline, then two short lines.
        let mut input = vec![b'x'; 10 * 1024 * 1024];
        input.extend_from_slice(b"\nsecond\r\nlast");
        let mut lines = Vec::new();
        read_lines(&input[..], |l| {
            lines.push(l);
            true
        });
        assert_eq!(lines.len(), 3);
        assert!(lines[0].len() < MAX_LINE + 64, "{}", lines[0].len());
        assert!(lines[0].ends_with(&format!("[... {} more bytes of this line cut]", 10 * 1024 * 1024 - MAX_LINE)));
        assert_eq!(&lines[1..], ["second", "last"]);
    }

    #[test]
    fn tails_bound_lines_and_bytes() {
        let mut t = Tail::new(3, 10);
        for l in ["aaaa", "bbbb", "cccc", "dd"] {
            t.push(l.into());
        }
        assert_eq!(t.clone().into_lines(), ["bbbb", "cccc", "dd"].map(String::from));
        t.push("e".repeat(50));
        assert_eq!(t.into_lines(), ["e".repeat(10)]);
        let mut t = Tail::new(40, 100);
        for i in 0..100 {
            t.push(format!("line {i}"));
        }
        let kept = t.into_lines();
        assert!(kept.iter().map(String::len).sum::<usize>() <= 100 && kept.last().unwrap() == "line 99");
    }

    #[test]
    fn file_tails_read_only_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut text = "y".repeat(3 * MAX_TAIL_BYTES);
        text.push_str("\nbefore\nend\n");
        std::fs::write(&path, text).unwrap();
        assert_eq!(file_tail(&path, 2).unwrap(), "before\nend");
        assert_eq!(file_tail(&path, 40).unwrap(), "before\nend", "the piece of a cut line is dropped");
    }
}
