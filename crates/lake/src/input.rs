//! Replay inputs: finding files, telling their format, splitting them into units of work,
//! and reading a unit line by line or as a document.
//!
//! A *unit* is the unit of parallelism and of file naming: a byte range of a large
//! uncompressed JSON Lines file, or a run of consecutive whole files (small files, gzip files,
//! documents) of about the same size. Each unit is written by one worker into its own files
//! named after the unit's position, so a re-run over the same input replaces the same files,
//! and many small inputs (one Lambda event per file, say) do not make many small outputs.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;
use synclake_records::{InputFormat, detect_format};

use crate::error::LakeError;

/// Bytes looked at to tell a file's format.
const HEAD_BYTES: usize = 64 * 1024;
/// Most bytes read to tell the format of a file whose first line is not complete JSON.
const DETECT_BYTES: u64 = 32 * 1024 * 1024;
/// Default size of a unit of work: large enough that a unit's files are not small, small
/// enough that a large input keeps every worker busy.
pub const DEFAULT_UNIT_BYTES: u64 = 256 * 1024 * 1024;
/// Largest document (Lambda event, get-records output, single payload) read whole.
pub const MAX_DOCUMENT_BYTES: u64 = 1024 * 1024 * 1024;

/// One input file.
#[derive(Debug)]
pub struct InputFile {
    /// Where it is.
    pub path: PathBuf,
    /// Its name in the table's `source` column: the path relative to the directory given on
    /// the command line, prefixed by that directory's name (or the file name, for a file).
    pub key: String,
    /// Size on disk.
    pub size: u64,
    /// Whether it is gzip-compressed (told by its magic bytes, not its name).
    pub gzip: bool,
    /// Its format.
    pub format: InputFormat,
    /// A hash of its name, size and first bytes: two different files with the same name (say
    /// `stream.jsonl` from two days) never get the same output names.
    pub fingerprint: u64,
}

/// A piece of one file: `[start, end)` (line-aligned when read), or all of it.
#[derive(Debug, Clone)]
pub struct Part {
    /// The file.
    pub file: Arc<InputFile>,
    /// First byte (lines starting before it belong to the previous part).
    pub start: u64,
    /// End byte (a line starting before it is read to its end); `u64::MAX` for all of it.
    pub end: u64,
}

impl Part {
    /// Bytes of the file this part covers.
    pub fn bytes(&self) -> u64 {
        self.end.min(self.file.size) - self.start.min(self.file.size)
    }
}

/// A unit of work: parts read in order by one worker into one set of output files.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The parts, in input order; never empty.
    pub parts: Vec<Part>,
}

impl Unit {
    /// A name fragment unique to this unit and stable across runs over the same input: its
    /// first file's fingerprint and the offset where it starts.
    pub fn tag(&self) -> String {
        let (fingerprint, start) = self.parts.first().map_or((0, 0), |p| (p.file.fingerprint, p.start));
        format!("{fingerprint:016x}-{start:012}")
    }

    /// Input bytes the unit covers.
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(Part::bytes).sum()
    }
}

/// FNV-1a, 64 bit: a stable hash for names (std's hasher may change between releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Finds the input files under `inputs` (directories are walked in name order, skipping
/// names starting with `.` or `_`), tells their format (or takes `format`), and splits
/// them into units of about `unit_bytes`.
pub fn plan(inputs: &[PathBuf], format: Option<InputFormat>, unit_bytes: u64) -> Result<Vec<Unit>, LakeError> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = std::fs::metadata(input).map_err(LakeError::io("read input", input))?;
        if meta.is_dir() {
            let base = input.canonicalize().map_err(LakeError::io("resolve input", input))?;
            let root = base
                .file_name()
                .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
            walk(&base, &root, &mut files)?;
        } else {
            let name = input
                .file_name()
                .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
            files.push((input.clone(), name));
        }
    }
    let mut seen = std::collections::HashSet::new();
    let mut units: Vec<Unit> = Vec::new();
    // Whether the last unit is a group of whole files (not a piece of a large one).
    let mut grouping = false;
    for (path, key) in files {
        if !seen.insert(key.clone()) {
            return Err(LakeError::Location {
                location: path.display().to_string(),
                reason: format!("two inputs share the source name `{key}`; replay them separately"),
            });
        }
        let file = Arc::new(inspect(&path, key, format)?);
        let splittable = !file.gzip && !file.format.is_document();
        if splittable && file.size > unit_bytes / 4 {
            // An even number (at least two) of equal units keeps two (or any even number of)
            // workers busy to the end; the split depends on the file's size alone, so names
            // stay stable.
            let n = file.size.div_ceil(unit_bytes).next_multiple_of(2);
            let size = file.size.div_ceil(n);
            let mut start = 0;
            while start < file.size {
                let end = (start + size).min(file.size);
                units.push(Unit {
                    parts: vec![Part {
                        file: file.clone(),
                        start,
                        end,
                    }],
                });
                start = end;
            }
            grouping = false;
            continue;
        }
        // Whole files join the previous unit of whole files while it is under the unit size.
        let part = Part {
            file,
            start: 0,
            end: u64::MAX,
        };
        match units.last_mut() {
            Some(unit) if grouping && unit.bytes() + part.file.size <= unit_bytes => unit.parts.push(part),
            _ => units.push(Unit { parts: vec![part] }),
        }
        grouping = true;
    }
    Ok(units)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<(PathBuf, String)>) -> Result<(), LakeError> {
    let mut entries = std::fs::read_dir(dir)
        .map_err(LakeError::io("read directory", dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(LakeError::io("read directory", dir))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        let path = entry.path();
        let key = format!("{prefix}/{name}");
        let kind = entry.file_type().map_err(LakeError::io("read directory", dir))?;
        if kind.is_dir() {
            walk(&path, &key, out)?;
        } else if kind.is_symlink() && path.is_dir() {
            // Not followed: a link to a parent would walk forever.
            tracing::warn!(path = %path.display(), "symbolic link to a directory skipped; name it on the command line");
        } else {
            out.push((path, key));
        }
    }
    Ok(())
}

fn inspect(path: &Path, key: String, format: Option<InputFormat>) -> Result<InputFile, LakeError> {
    let file = File::open(path).map_err(LakeError::io("open input", path))?;
    let size = file.metadata().map_err(LakeError::io("stat input", path))?.len();
    let mut raw_head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64)
        .read_to_end(&mut raw_head)
        .map_err(LakeError::io("read input", path))?;
    let gzip = raw_head.starts_with(&[0x1f, 0x8b]);
    let fingerprint = fnv1a(&[key.as_bytes(), &[0], &size.to_le_bytes(), &raw_head].concat());
    let format = match format {
        Some(f) => f,
        None => {
            // A plain file's head is already read; a gzip file's is decompressed.
            let mut head = Vec::new();
            if gzip {
                open_reader(path, gzip, None)?
                    .take(HEAD_BYTES as u64)
                    .read_to_end(&mut head)
                    .map_err(LakeError::io("read input", path))?;
            }
            let head = if gzip { &head } else { &raw_head };
            let whole = head.len() < HEAD_BYTES;
            match detect_format(head, whole) {
                Some(f) => f,
                None => {
                    // A pretty-printed document, or a first line longer than the head: look
                    // at more, within bounds (Lambda events are at most 6 MB).
                    let mut more = Vec::new();
                    open_reader(path, gzip, None)?
                        .take(DETECT_BYTES)
                        .read_to_end(&mut more)
                        .map_err(LakeError::io("read input", path))?;
                    let whole = (more.len() as u64) < DETECT_BYTES;
                    detect_format(&more, whole).unwrap_or(InputFormat::JsonLines)
                }
            }
        }
    };
    Ok(InputFile {
        path: path.to_owned(),
        key,
        size,
        gzip,
        format,
        fingerprint,
    })
}

/// Counts bytes read from disk, for progress.
struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(c) = &self.counter {
            c.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

fn open_reader(path: &Path, gzip: bool, counter: Option<Arc<AtomicU64>>) -> Result<Box<dyn Read + Send>, LakeError> {
    let file = File::open(path).map_err(LakeError::input("open input", path))?;
    let counted = Counting { inner: file, counter };
    Ok(if gzip {
        Box::new(MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, counted)))
    } else {
        Box::new(counted)
    })
}

/// Reads a whole document (decompressed); larger than [`MAX_DOCUMENT_BYTES`] is an error.
pub fn read_document(path: &Path, gzip: bool, counter: Option<Arc<AtomicU64>>) -> Result<Vec<u8>, LakeError> {
    let mut out = Vec::new();
    open_reader(path, gzip, counter)?
        .take(MAX_DOCUMENT_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(LakeError::input("read input", path))?;
    if out.len() as u64 > MAX_DOCUMENT_BYTES {
        // Never cut silently: the caller records the file as unreadable.
        let error = std::io::Error::other(format!("document larger than {MAX_DOCUMENT_BYTES} bytes"));
        return Err(LakeError::input("read input", path)(error));
    }
    Ok(out)
}

/// Receives the lines of a unit.
pub trait LineSink {
    /// One complete line (without its newline) starting at `offset` of the decompressed file.
    fn line(&mut self, offset: u64, line: &[u8]);
    /// A line longer than the limit, starting at `offset`: its first bytes. The rest of it is
    /// skipped.
    fn oversized(&mut self, offset: u64, prefix: &[u8]);
    /// A buffer's worth of lines has been delivered: a good moment to flush.
    fn chunk_done(&mut self) -> Result<(), LakeError>;
}

/// Fills `buf` from `reader` until it is full or the input ends; returns the bytes read.
/// On an error, also returns what was read before it, so that complete lines are not lost.
fn fill(reader: &mut dyn Read, buf: &mut [u8]) -> (usize, Option<std::io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// Reads the lines of a JSON Lines part in chunks of `chunk_bytes`, each line whole, lines
/// longer than `max_line` reported as oversized. Whitespace-only lines are skipped.
pub fn read_lines(
    unit: &Part,
    chunk_bytes: usize,
    max_line: usize,
    counter: Arc<AtomicU64>,
    sink: &mut dyn LineSink,
) -> Result<(), LakeError> {
    let path = &unit.file.path;
    let mid_file = !unit.file.gzip && unit.start > 0;
    let mut reader: Box<dyn Read + Send> = if mid_file {
        let mut f = File::open(path).map_err(LakeError::input("open input", path))?;
        // One byte early, to learn whether `start` begins a line.
        f.seek(SeekFrom::Start(unit.start - 1))
            .map_err(LakeError::input("seek input", path))?;
        Box::new(Counting {
            inner: f,
            counter: Some(counter),
        })
    } else {
        open_reader(path, unit.file.gzip, Some(counter))?
    };
    let capacity = chunk_bytes.max(max_line + 1);
    let mut buf = vec![0u8; capacity];
    // Absolute offset of buf[0].
    let mut base = if mid_file { unit.start - 1 } else { 0 };
    // Inside a line that is not ours: owned by the previous unit, or oversized and reported.
    let mut skipping = mid_file;
    let mut filled = 0usize;
    loop {
        // At most `chunk_bytes` more: a chunk small enough to stay in cache from the copy
        // out of the page cache to the parse.
        let want = (filled + chunk_bytes).min(buf.len());
        let (n, failed) = fill(&mut reader, &mut buf[filled..want]);
        let eof = filled + n < want;
        filled += n;
        let mut pos = 0usize;
        while let Some(nl) = memchr::memchr(b'\n', &buf[pos..filled]) {
            let offset = base + pos as u64;
            if skipping {
                skipping = false;
            } else if offset >= unit.end {
                return sink.chunk_done();
            } else {
                let line = &buf[pos..pos + nl];
                if line.iter().any(|b| !b.is_ascii_whitespace()) {
                    sink.line(offset, line);
                }
            }
            pos += nl + 1;
        }
        if let Some(e) = failed {
            // The complete lines read before the failure are delivered; the rest of the file,
            // from the incomplete line on, is reported by the caller.
            sink.chunk_done()?;
            return Err(LakeError::input("read input", path)(e));
        }
        let offset = base + pos as u64;
        let rest = &buf[pos..filled];
        if eof {
            if !skipping && offset < unit.end && rest.iter().any(|b| !b.is_ascii_whitespace()) {
                sink.line(offset, rest);
            }
            return sink.chunk_done();
        }
        if rest.len() > max_line {
            // No newline within the limit: report it once, then drop bytes until its end.
            if !skipping {
                if offset >= unit.end {
                    return sink.chunk_done();
                }
                sink.oversized(offset, &rest[..max_line]);
                skipping = true;
            }
            base += filled as u64;
            filled = 0;
        } else {
            let kept = rest.len();
            buf.copy_within(pos..pos + kept, 0);
            base += pos as u64;
            filled = kept;
        }
        sink.chunk_done()?;
    }
}
