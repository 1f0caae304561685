//! `lexwire tag`: articles from files or stdin (JSONL or plain text) to JSON lines on stdout.
//!
//! Nothing in the input can stop it: a malformed JSONL line, invalid UTF-8, an article with no
//! text or one over the size limit is reported on stderr with its file and line, counted, and
//! skipped; an input that cannot be opened or read (missing, a directory, an I/O error midway)
//! is reported with its name and the run goes on with the next; the exit code says whether
//! anything failed. Lines are read with a bound, so a 50 MB line costs the limit in memory, not
//! 50 MB. A UTF-8 byte-order mark at the start of an input or of a JSONL line is skipped.
//!
//! Only a failure to write the output ends the run early; the caller tells a closed pipe
//! (`lexwire tag | head`) from other errors by [`io::ErrorKind::BrokenPipe`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::ScopedJoinHandle;

use crate::article::{
    Article, BOM, DecodeError, Envelope, ErrorClass, UNLOCATED_STRING_ERROR, decode, decode_json_with,
    escape_for_message, locate_string_error,
};
use crate::dedup::DedupConfig;
use crate::dictionary::Lang;
use crate::encode::{TagWriter, TaggedArticleJson};
use crate::engine::{Analysis, Engine, analyze};
use crate::extract::Extractor;
use crate::normalize::TextTooLarge;
use crate::tag::{Scratch, Tag, Tagger};

/// How input files are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum InputFormat {
    /// JSONL when the first non-blank byte is `{`, plain text otherwise.
    #[default]
    Auto,
    /// One JSON article per line.
    Jsonl,
    /// The whole input is one plain-text article.
    Text,
}

/// Options of `lexwire tag`.
#[derive(Debug, Clone)]
pub struct TagOptions {
    pub format: InputFormat,
    pub max_article_bytes: usize,
    pub all_tags: bool,
    /// Print event records instead of tags, deduplicated with these settings.
    pub events: Option<DedupConfig>,
    /// Threads that decode, tag and extract JSONL articles (with `events`); deduplication and
    /// output stay in input order on the calling thread, so the output does not depend on it.
    pub threads: usize,
}

/// JSONL lines read and analysed together, per thread: enough to keep every thread busy.
const BATCH_LINES_PER_THREAD: usize = 32;
/// A batch stops growing at this many bytes of lines (articles may be up to the size limit).
const BATCH_BYTES: usize = 16 << 20;

/// A JSONL line waiting for its batch: its number, its length before the bound, its bytes, and
/// a buffer (from the tags lines' spares) for its tags line.
struct Line {
    no: usize,
    total: usize,
    bytes: Vec<u8>,
    out: Vec<u8>,
}

/// A line decoded, and tagged and extracted or tagged and encoded, on a worker.
struct Prepared {
    line: usize,
    article: Result<(Article<'static>, Done), DecodeError>,
    /// The line's bytes, read and no longer needed (the article owns its fields): a spare.
    spare: Vec<u8>,
}

/// Byte buffers of one use (lines read, or tags lines written), kept for the lines after them,
/// so that a run of articles does not allocate and grow two buffers a line. Held within
/// [`SPARE_BYTES`] of capacity in all. Lines read and tags lines are kept apart: a tags line is
/// five times its article's line or more, and a buffer that went from one use to the other
/// would grow (and copy what it held) again and again.
#[derive(Default)]
struct Spares {
    buffers: Vec<Vec<u8>>,
    held: usize,
}

/// The capacity each kind of spares keeps at most: what two batches in flight of ordinary
/// articles use.
const SPARE_BYTES: usize = 64 << 20;

impl Spares {
    fn take(&mut self) -> Vec<u8> {
        let buf = self.buffers.pop().unwrap_or_default();
        self.held -= buf.capacity();
        buf
    }

    fn give(&mut self, mut buf: Vec<u8>) {
        if buf.capacity() > 0 && self.held + buf.capacity() <= SPARE_BYTES {
            buf.clear();
            self.held += buf.capacity();
            self.buffers.push(buf);
        }
    }
}

/// What a worker does with an article beyond decoding it.
#[derive(Clone, Copy)]
enum Stage<'t> {
    /// `--events`: tag and extract; the output thread deduplicates.
    Analyze(&'t Tagger, &'t Extractor),
    /// `lexwire tag`: tag and encode the JSON line; the output thread writes it.
    Tag { tagger: &'t Tagger, all_tags: bool },
}

/// What a worker did with an article.
enum Done {
    Analysis(Result<Analysis, TextTooLarge>),
    /// The article's JSON line, newline included.
    Line(Result<Vec<u8>, TagFailure>),
    /// Nothing yet: the output thread tags it (plain-text input).
    Nothing,
}

/// Why an article has no tags line.
enum TagFailure {
    /// The article: reported and counted, the run goes on.
    TooLarge(TextTooLarge),
    /// The encoder: the output fails.
    Encode(serde_json::Error),
}

/// Tags `article` and encodes its JSON line, newline included, into `out` (cleared first).
fn tag_line(
    tagger: &Tagger,
    writer: &mut TagWriter<'_>,
    worker: &mut Worker,
    article: &Article<'_>,
    all_tags: bool,
    out: &mut Vec<u8>,
) -> Result<(), TagFailure> {
    let declared = article.language.as_deref().and_then(Lang::parse);
    let (scratch, tags) = (&mut worker.scratch, &mut worker.tags);
    let language = tagger.tag_into(&article.text, declared, scratch, tags).map_err(TagFailure::TooLarge)?;
    let json = TaggedArticleJson {
        article_id: &article.id,
        language,
        text: &article.text,
        tags,
        dict: tagger.dictionary(),
        all_tags,
        duplicate_of: None,
    };
    // A tag is 150 to 250 bytes of JSON: a new buffer gets room for the line at once, where it
    // would otherwise double a dozen times, copying what it held each time. The room is bounded:
    // the tags counted include cues and units, which are not written. A buffer of the spares
    // mostly has the room already, and grows where it lacks it: replacing it by a new
    // one touched fresh pages each time (twice the page faults on long articles).
    if out.capacity() == 0 {
        *out = Vec::with_capacity((TAG_JSON_BYTES * (tags.len() + 1)).min(MAX_LINE_ROOM));
    }
    out.clear();
    writer.write(out, &json).map_err(TagFailure::Encode)?;
    out.push(b'\n');
    Ok(())
}

/// What a new tags line buffer is given room for, per tag, before the line is written, and at
/// most (a longer line grows as it is written).
const TAG_JSON_BYTES: usize = 256;
const MAX_LINE_ROOM: usize = 1 << 20;

/// A thread's buffers, reused from one article to the next: the JSON parser's, the tagger's,
/// and the tags of an article.
#[derive(Default)]
struct Worker {
    json: simd_json::Buffers,
    scratch: Scratch,
    tags: Vec<Tag>,
}

/// Decodes one line and does the stage's work on its article.
fn prepare(line: &mut Line, max: usize, stage: Stage<'_>, writer: &mut TagWriter<'_>, worker: &mut Worker) -> Prepared {
    let bytes = &mut line.bytes;
    // A byte-order mark starts each file of a `cat` of exported files.
    let body = if bytes.starts_with(BOM) { BOM.len() } else { 0 };
    let invalid_utf8 = |e: std::str::Utf8Error| DecodeError {
        class: ErrorClass::InvalidUtf8,
        message: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    };
    let decoded = if line.total > max {
        Err(DecodeError {
            class: ErrorClass::Oversize,
            message: format!("line of {} bytes is over the {max}-byte limit", line.total),
        })
    } else if bytes[body..].iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        match std::str::from_utf8(bytes) {
            Err(e) => Err(invalid_utf8(e)),
            Ok(_) => Err(DecodeError { class: ErrorClass::InvalidJson, message: "not a JSON object".into() }),
        }
    } else {
        match std::str::from_utf8(bytes) {
            Err(e) => Err(invalid_utf8(e)),
            Ok(_) => match decode_json_with(bytes, &mut worker.json) {
                // The stage reads the article where the parser left it, in the line's bytes.
                Ok(article) => Ok(work(article, stage, writer, worker, &mut line.out)),
                Err(e) => Err(e),
            },
        }
    };
    let article = decoded.map_err(|mut e| {
        // The line is still here: give the position the parser could not.
        if e.message == UNLOCATED_STRING_ERROR
            && let Some((at, what)) = locate_string_error(&line.bytes)
        {
            e.message = format!("{what} at byte {at}");
        }
        e
    });
    Prepared { line: line.no, article, spare: std::mem::take(&mut line.bytes) }
}

/// The stage's work on a decoded article, and the article copied out of its line for the
/// output thread: whole for `--events` (deduplication reads its text), without its text for
/// `lexwire tag` (its line is written; the text, the largest field, is not copied).
fn work(
    article: Article<'_>,
    stage: Stage<'_>,
    writer: &mut TagWriter<'_>,
    worker: &mut Worker,
    spare: &mut Vec<u8>,
) -> (Article<'static>, Done) {
    match stage {
        Stage::Analyze(tagger, extractor) => {
            let mut analysis = Analysis::default();
            let done = Done::Analysis(
                analyze(
                    tagger,
                    extractor,
                    &article.text,
                    article.language.as_deref(),
                    article.published_at.as_deref(),
                    &mut worker.scratch,
                    &mut analysis,
                )
                .map(|()| analysis),
            );
            (article.into_owned(), done)
        }
        Stage::Tag { tagger, all_tags } => {
            let mut out = std::mem::take(spare);
            let done = Done::Line(tag_line(tagger, writer, worker, &article, all_tags, &mut out).map(|()| out));
            (Article { text: Cow::Borrowed(""), ..article }.into_owned(), done)
        }
    }
}

/// The results of a batch prepared on worker threads; their buffers back in `pool`.
fn finish(batch: ScopedJoinHandle<'_, (Vec<Worker>, Vec<Prepared>)>, pool: &mut Vec<Vec<Worker>>) -> Vec<Prepared> {
    // A worker's panic is the same bug as on one thread: let it through.
    let (buffers, prepared) = batch.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    pool.push(buffers);
    prepared
}

/// Decodes, tags and extracts a batch of lines on one thread per worker; the results in line
/// order. Each thread takes the next line not taken, so one long article holds up one thread,
/// not a share of the batch.
fn prepare_lines(batch: &mut [Line], max: usize, stage: Stage<'_>, workers: &mut [Worker]) -> Vec<Prepared> {
    // A writer per thread: the fragments they encode are shared through the tagger.
    let writer = || match stage {
        Stage::Analyze(tagger, _) | Stage::Tag { tagger, .. } => TagWriter::new(tagger.fragments()),
    };
    if workers.len() == 1 || batch.len() <= 1 {
        let (worker, mut writer) = (&mut workers[0], writer());
        return batch.iter_mut().map(|line| prepare(line, max, stage, &mut writer, worker)).collect();
    }
    let lines: Vec<std::sync::Mutex<&mut Line>> = batch.iter_mut().map(std::sync::Mutex::new).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut done: Vec<(usize, Prepared)> = std::thread::scope(|s| {
        let threads: Vec<_> = workers
            .iter_mut()
            .map(|worker| {
                let (lines, next) = (&lines, &next);
                s.spawn(move || {
                    let (mut done, mut writer) = (Vec::new(), writer());
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(line) = lines.get(i) else { break done };
                        let mut line = line.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        done.push((i, prepare(&mut line, max, stage, &mut writer, worker)));
                    }
                })
            })
            .collect();
        // A worker's panic is the same bug as on one thread: let it through.
        threads.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, p)| p).collect()
}

/// An input: a file, or standard input (`-`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    pub fn parse(arg: &str) -> Input {
        if arg == "-" { Input::Stdin } else { Input::File(PathBuf::from(arg)) }
    }

    /// The input's name in messages; a file name with control characters (or not UTF-8) is
    /// shown quoted and escaped, so it cannot write to the terminal.
    fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".into(),
            Input::File(p) => {
                let name = p.to_string_lossy();
                let escaped = escape_for_message(&name);
                if escaped[1..escaped.len() - 1] == *name && p.to_str().is_some() { name.into_owned() } else { escaped }
            }
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagReport {
    pub tagged: usize,
    pub failed: BTreeMap<ErrorClass, usize>,
    /// With `--events`: records created and updated, articles seen before, near-duplicates.
    pub created: usize,
    pub updated: usize,
    pub seen_before: usize,
    pub near_duplicates: usize,
    /// New events published with links to possible duplicates, not merged.
    pub linked: usize,
    /// Articles whose published_at was later than today allows: today stood for it.
    pub future_dates: usize,
    /// Inputs that could not be opened or read to the end (reported on stderr).
    pub unreadable: usize,
    /// With `--events`: articles without `published_at` (a warning each: only events with a
    /// full date in their text can be extracted from them).
    pub undated: usize,
}

impl TagReport {
    pub fn failed_total(&self) -> usize {
        self.failed.values().sum()
    }
}

/// Why a run stopped reading an input, or stopped altogether.
enum Failure {
    /// Reading the current input failed: report it, go on with the next input.
    Input(io::Error),
    /// Writing `out` or `err` failed: the run ends.
    Output(io::Error),
}

type Step<T = ()> = Result<T, Failure>;

/// Writes a warning about one article: processed, but something of it is lost or replaced.
fn warn(err: &mut dyn Write, name: &str, line: Option<usize>, id: &str, what: &str) -> Step<()> {
    let at = line.map_or(String::new(), |l| format!(":{l}"));
    output(writeln!(err, "lexwire: {name}{at}: warning: article {} {what}", escape_for_message(id)))
}

fn output<T>(r: io::Result<T>) -> Step<T> {
    r.map_err(Failure::Output)
}

fn input<T>(r: io::Result<T>) -> Step<T> {
    r.map_err(Failure::Input)
}

/// Tags every article of `inputs`, writing JSON lines to `out` and problems to `err`.
///
/// # Errors
/// Only I/O errors on `out`/`err` (a closed pipe is [`io::ErrorKind::BrokenPipe`]); bad
/// articles and unreadable inputs are reported on `err` and counted in the report.
pub fn tag_inputs(
    tagger: &Arc<Tagger>,
    inputs: &[Input],
    options: &TagOptions,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> io::Result<TagReport> {
    let engine = match &options.events {
        Some(config) => Some(Engine::new(tagger.clone(), config.clone()).map_err(io::Error::other)?),
        None => None,
    };
    let mut run = Run {
        tagger,
        engine,
        options,
        out,
        err,
        worker: Worker::default(),
        workers: (0..options.threads.max(1)).map(|_| Worker::default()).collect(),
        report: TagReport::default(),
        line: Vec::new(),
        spares: Spares::default(),
        tag_lines: Spares::default(),
        held: Vec::new(),
        encoded: Vec::new(),
        tags: TagWriter::new(tagger.fragments()),
    };
    for source in inputs {
        let name = source.name();
        match run.input(source, &name) {
            Ok(()) => {}
            Err(Failure::Input(e)) => {
                run.report.unreadable += 1;
                writeln!(run.err, "lexwire: {name}: cannot read: {e}")?;
            }
            Err(Failure::Output(e)) => return Err(e),
        }
    }
    Ok(run.report)
}

/// `reader` without a leading UTF-8 byte-order mark (read byte by byte: a pipe may deliver the
/// mark in pieces).
fn without_bom(mut reader: Box<dyn Read>) -> io::Result<Box<dyn Read>> {
    let mut head = Vec::with_capacity(BOM.len());
    while head.len() < BOM.len() && BOM.starts_with(&head) {
        let mut byte = [0u8; 1];
        match reader.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if head == BOM {
        head.clear();
    }
    Ok(Box::new(io::Cursor::new(head).chain(reader)))
}

struct Run<'a> {
    tagger: &'a Tagger,
    engine: Option<Engine>,
    options: &'a TagOptions,
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
    /// The output thread's (plain-text input).
    worker: Worker,
    /// One per thread that prepares JSONL lines.
    workers: Vec<Worker>,
    report: TagReport,
    line: Vec<u8>,
    /// Buffers for lines read.
    spares: Spares,
    /// Buffers for tags lines.
    tag_lines: Spares,
    /// Tags lines encoded and not yet written: a batch's lines go out in one vectored write
    /// ([`Run::write_held`]), which a buffered writer passes to the system without copying
    /// them into its buffer (a tags line is five times its article: that copy was about a
    /// twentieth of `lexwire tag`'s instructions).
    held: Vec<Vec<u8>>,
    /// The JSON line being written: encoded here, then written whole (the writer behind `out`
    /// is called once a line, not once a JSON token).
    encoded: Vec<u8>,
    tags: TagWriter<'a>,
}

impl Run<'_> {
    fn input(&mut self, source: &Input, name: &str) -> Step {
        let reader: Box<dyn Read> = match source {
            Input::Stdin => Box::new(io::stdin().lock()),
            Input::File(path) => Box::new(input(File::open(path))?),
        };
        let mut reader = BufReader::with_capacity(256 * 1024, input(without_bom(reader))?);
        let format = match self.options.format {
            InputFormat::Auto => input(sniff(&mut reader))?,
            f => f,
        };
        match format {
            InputFormat::Text => self.text(&mut reader, source, name),
            // A file is read as fast as it is processed; standard input may be a live feed, whose
            // articles must not wait for a batch to fill.
            _ => self.jsonl(&mut reader, name, *source == Input::Stdin),
        }
    }

    /// Reads JSONL lines in batches, prepares each batch (decode; with `--events`, tag and
    /// extract) and writes its results in line order. On several threads the batches are a
    /// pipeline: the workers prepare one batch while this thread deduplicates and writes the
    /// one before, so the serial stage overlaps the parallel one.
    fn jsonl(&mut self, reader: &mut BufReader<Box<dyn Read>>, name: &str, live: bool) -> Step {
        let max = self.options.max_article_bytes;
        let threads = self.workers.len();
        let batch_lines = BATCH_LINES_PER_THREAD * threads;
        let analyzer = self.engine.as_ref().map(|e| (e.tagger().clone(), e.extractor().clone()));
        let all_tags = self.options.all_tags;
        // Workers' buffers, one set per batch in flight: on several threads, two.
        let mut pool = vec![std::mem::take(&mut self.workers)];
        if threads > 1 {
            pool.push((0..threads).map(|_| Worker::default()).collect());
        }
        let result = std::thread::scope(|s| {
            let stage = match &analyzer {
                Some((tagger, extractor)) => Stage::Analyze(tagger, extractor),
                None => Stage::Tag { tagger: self.tagger, all_tags },
            };
            // The batch being prepared on the workers, with their buffers.
            let mut in_flight: Option<ScopedJoinHandle<'_, (Vec<Worker>, Vec<Prepared>)>> = None;
            let mut line_no = 0;
            let mut batch: Vec<Line> = Vec::new();
            let mut batch_bytes = 0;
            loop {
                let read = read_line_bounded(reader, &mut self.line, max)
                    .map_err(|e| Failure::Input(io::Error::new(e.kind(), format!("after line {line_no}: {e}"))));
                let more = match &read {
                    Ok(Some(total)) => {
                        line_no += 1;
                        let blank = self.line.iter().all(u8::is_ascii_whitespace) && *total <= max;
                        if !blank {
                            batch_bytes += self.line.len();
                            let bytes = std::mem::replace(&mut self.line, self.spares.take());
                            // Only a tags line is encoded on the worker.
                            let out = if analyzer.is_none() { self.tag_lines.take() } else { Vec::new() };
                            batch.push(Line { no: line_no, total: *total, bytes, out });
                        }
                        true
                    }
                    _ => false,
                };
                // A read error ends the input, after the lines read before it.
                let waiting = live && reader.buffer().is_empty();
                if !more || waiting || batch.len() >= batch_lines || batch_bytes >= BATCH_BYTES {
                    batch_bytes = 0;
                    if threads == 1 {
                        let prepared = prepare_lines(&mut batch, max, stage, &mut pool[0]);
                        batch.clear();
                        self.write_prepared(prepared, name)?;
                    } else {
                        let mut lines = std::mem::take(&mut batch);
                        let mut buffers = pool.pop().expect("a set of buffers for each of two batches in flight");
                        let current = s.spawn(move || {
                            let prepared = prepare_lines(&mut lines, max, stage, &mut buffers);
                            (buffers, prepared)
                        });
                        // The batch before, prepared while this one was read: written while
                        // this one is prepared.
                        if let Some(before) = in_flight.replace(current) {
                            self.write_prepared(finish(before, &mut pool), name)?;
                        }
                        // Nothing more to read yet (the end, or a live feed waiting): this batch
                        // is written now, not after the next one is read.
                        if !more || waiting {
                            let current = in_flight.take().expect("spawned above");
                            self.write_prepared(finish(current, &mut pool), name)?;
                        }
                    }
                    // A live feed's reader has its records now, not when a buffer fills.
                    if waiting {
                        output(self.out.flush())?;
                    }
                }
                if !more {
                    return read.map(|_| ());
                }
            }
        });
        // Buffers still on a worker when an output error ended the run are fresh ones next time.
        self.workers = pool.pop().unwrap_or_else(|| (0..threads).map(|_| Worker::default()).collect());
        result
    }

    /// Writes a batch's articles (or their failures) in line order.
    fn write_prepared(&mut self, prepared: Vec<Prepared>, name: &str) -> Step {
        for prepared in prepared {
            self.spares.give(prepared.spare);
            match prepared.article {
                Ok((article, done)) => {
                    if let Err(e) = self.emit(&article, done, name, Some(prepared.line))? {
                        self.fail(name, Some(prepared.line), &e)?;
                    }
                }
                Err(e) => self.fail(name, Some(prepared.line), &e)?,
            }
        }
        self.write_held()
    }

    /// Writes the tags lines held, in order, in as few vectored writes as the writer takes, and
    /// keeps their buffers for the next lines.
    fn write_held(&mut self) -> Step {
        if self.held.is_empty() {
            return Ok(());
        }
        output(write_all_vectored(&mut *self.out, &self.held))?;
        for line in self.held.drain(..) {
            self.tag_lines.give(line);
        }
        Ok(())
    }

    fn text(&mut self, reader: &mut dyn BufRead, source: &Input, name: &str) -> Step {
        let max = self.options.max_article_bytes;
        let mut buf = Vec::new();
        let read = input(reader.take(max as u64 + 1).read_to_end(&mut buf))?;
        let mut total = read;
        if read > max {
            total += input(io::copy(reader, &mut io::sink()))? as usize;
        }
        let id = match source {
            Input::File(path) => file_id(path),
            Input::Stdin => format!("stdin-{}", short_hash(&buf)),
        };
        let result = if total > max {
            Err(DecodeError {
                class: ErrorClass::Oversize,
                message: format!("article of {total} bytes is over the {max}-byte limit"),
            })
        } else {
            let envelope = Envelope { id: Some(&id), published_at: None };
            // Plain text is never parsed as JSON here, even if it starts with '{'.
            match std::str::from_utf8(&buf) {
                Err(_) => decode(&mut buf, &envelope, max).map(|_| ()),
                Ok(text) if text.trim().is_empty() => {
                    Err(DecodeError { class: ErrorClass::NoText, message: "empty input".into() })
                }
                Ok(text) => self.emit(
                    &Article {
                        id: id.as_str().into(),
                        url: None,
                        source: None,
                        language: None,
                        published_at: None,
                        title: None,
                        text: text.into(),
                    },
                    Done::Nothing,
                    name,
                    None,
                )?,
            }
        };
        if let Err(e) = result {
            self.fail(name, None, &e)?;
        }
        self.write_held()
    }

    /// Tags one article and holds its line for [`Run::write_held`] (or, with `--events`, writes
    /// its event records). The outer error is an output failure (fatal); the inner one a bad
    /// article (counted).
    fn emit(
        &mut self,
        article: &Article<'_>,
        done: Done,
        name: &str,
        line: Option<usize>,
    ) -> Step<Result<(), DecodeError>> {
        let too_large =
            |e: crate::normalize::TextTooLarge| DecodeError { class: ErrorClass::Oversize, message: e.to_string() };
        if self.engine.is_some() && article.published_at.is_none() {
            // Not an error (the article is processed), but never silent: events are lost.
            self.report.undated += 1;
            warn(
                self.err,
                name,
                line,
                &article.id,
                "has no published_at: relative dates are not resolved and only events with a full date in the text are extracted",
            )?;
        }
        if let Some(engine) = &mut self.engine {
            // Received today: no publication date later than that is believed.
            let today = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .and_then(|d| chrono::DateTime::from_timestamp(d.as_secs() as i64, 0))
                .map(|t| t.date_naive());
            engine.set_received(today);
            let outcome = match done {
                Done::Analysis(Ok(analysis)) => engine.deduplicate(article, &analysis),
                Done::Analysis(Err(e)) => return Ok(Err(too_large(e))),
                Done::Line(_) | Done::Nothing => match engine.process(article) {
                    Ok(p) => p.outcome,
                    Err(e) => return Ok(Err(too_large(e))),
                },
            };
            let outcome = &outcome;
            self.report.seen_before += outcome.seen_before as usize;
            self.report.near_duplicates += outcome.duplicate_of.is_some() as usize;
            self.report.linked += outcome.linked;
            if outcome.future_date {
                self.report.future_dates += 1;
                warn(
                    self.err,
                    name,
                    line,
                    &article.id,
                    "has a published_at later than today: today stands for it in the dedup window",
                )?;
            }
            for record in engine.records(outcome) {
                match record.status {
                    crate::dedup::Status::Created => self.report.created += 1,
                    crate::dedup::Status::Updated => self.report.updated += 1,
                }
                output(write_line(&mut *self.out, &mut self.encoded, |b| record.write_json(b)))?;
            }
            self.report.tagged += 1;
            return Ok(Ok(()));
        }
        let line = match done {
            Done::Line(line) => line,
            Done::Analysis(_) | Done::Nothing => {
                let (all_tags, mut buf) = (self.options.all_tags, self.tag_lines.take());
                tag_line(self.tagger, &mut self.tags, &mut self.worker, article, all_tags, &mut buf).map(|()| buf)
            }
        };
        match line {
            Ok(line) => self.held.push(line),
            Err(TagFailure::TooLarge(e)) => return Ok(Err(too_large(e))),
            Err(TagFailure::Encode(e)) => return Err(Failure::Output(io::Error::from(e))),
        }
        self.report.tagged += 1;
        Ok(Ok(()))
    }

    fn fail(&mut self, name: &str, line: Option<usize>, e: &DecodeError) -> Step {
        *self.report.failed.entry(e.class).or_default() += 1;
        output(match line {
            Some(line) => writeln!(self.err, "lexwire: {name}:{line}: {}: {}", e.class, e.message),
            None => writeln!(self.err, "lexwire: {name}: {}: {}", e.class, e.message),
        })
    }
}

/// Writes one JSON line: what `encode` writes into `buffer`, then a line feed.
fn write_line(
    out: &mut dyn Write,
    buffer: &mut Vec<u8>,
    encode: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
) -> io::Result<()> {
    buffer.clear();
    encode(buffer)?;
    buffer.push(b'\n');
    out.write_all(buffer)
}

/// Writes every byte of `lines`, in order, through `write_vectored` (`Write::write_all_vectored`
/// is not stable): a writer that takes part of them is called again with the rest.
fn write_all_vectored(out: &mut dyn Write, lines: &[Vec<u8>]) -> io::Result<()> {
    let mut slices: Vec<io::IoSlice<'_>> = lines.iter().map(|l| io::IoSlice::new(l)).collect();
    let mut rest = &mut slices[..];
    io::IoSlice::advance_slices(&mut rest, 0);
    while !rest.is_empty() {
        match out.write_vectored(rest) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "failed to write a whole tags line")),
            Ok(n) => io::IoSlice::advance_slices(&mut rest, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Peeks at the first non-blank byte: `{` means JSONL.
fn sniff(reader: &mut dyn BufRead) -> io::Result<InputFormat> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(InputFormat::Jsonl);
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => return Ok(if buf[i] == b'{' { InputFormat::Jsonl } else { InputFormat::Text }),
            // Only blanks so far: they are not part of any article either way.
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}

/// Reads the next line into `buf` without its newline, keeping at most `max + 1` bytes of it;
/// returns the line's full length, or `None` at the end of input.
pub fn read_line_bounded(reader: &mut dyn BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    buf.clear();
    let mut total = 0;
    let mut any = false;
    loop {
        let chunk = match reader.fill_buf() {
            Ok(chunk) => chunk,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(total));
        }
        any = true;
        let (take, done) = match memchr::memchr(b'\n', chunk) {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = (max + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        total += take;
        reader.consume(if done { take + 1 } else { take });
        if done {
            if buf.last() == Some(&b'\r') {
                buf.pop();
                total -= 1;
            }
            return Ok(Some(total));
        }
    }
}

/// The id of a plain-text file article: its file name without extension.
fn file_id(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string())
}

fn short_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().take(6).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most a few bytes a call, across slice boundaries, and is
    /// interrupted now and then: every line still goes out whole and in order.
    #[test]
    fn held_lines_go_out_whole_through_a_writer_that_takes_a_few_bytes_at_a_time() {
        struct Stingy {
            taken: Vec<u8>,
            calls: usize,
        }
        impl Write for Stingy {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.write_vectored(&[io::IoSlice::new(buf)])
            }
            fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
                self.calls += 1;
                if self.calls % 5 == 0 {
                    return Err(io::ErrorKind::Interrupted.into());
                }
                let room = 1 + self.calls % 7;
                let bytes: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).take(room).collect();
                self.taken.extend_from_slice(&bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let lines: Vec<Vec<u8>> =
            ["{\"a\":1}\n", "", "{\"b\":[2,3]}\n", "x\n"].iter().map(|l| l.as_bytes().to_vec()).collect();
        let mut out = Stingy { taken: Vec::new(), calls: 0 };
        write_all_vectored(&mut out, &lines).unwrap();
        assert_eq!(out.taken, lines.concat());

        /// Takes nothing: the error names it instead of looping.
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Ok(0)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let e = write_all_vectored(&mut Full, &lines).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn spares_come_back_empty_and_hold_no_more_than_their_bound() {
        let mut spares = Spares::default();
        let mut used = Vec::with_capacity(1024);
        used.extend_from_slice(b"a line from before");
        spares.give(used);
        let again = spares.take();
        assert!(again.is_empty(), "a spare holds nothing of the line before");
        assert!(again.capacity() >= 1024, "a spare keeps its room");
        assert_eq!(spares.held, 0);
        // Past the bound, a buffer is let go rather than kept.
        spares.give(Vec::with_capacity(SPARE_BYTES - 10));
        spares.give(Vec::with_capacity(64));
        assert_eq!(spares.buffers.len(), 1);
        assert!(spares.held <= SPARE_BYTES);
        assert!(spares.take().capacity() >= SPARE_BYTES - 10);
        assert_eq!((spares.held, spares.take().capacity()), (0, 0), "none left: a new, empty buffer");
    }

    #[test]
    fn bounded_lines_keep_at_most_the_limit() {
        let data = format!("short\n{}\nlast", "x".repeat(100));
        let mut reader = BufReader::with_capacity(7, data.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(read_line_bounded(&mut reader, &mut buf, 10).unwrap(), Some(5));
        assert_eq!(buf, b"short");
        assert_eq!(read_line_bounded(&mut reader, &mut buf, 10).unwrap(), Some(100));
        assert_eq!(buf.len(), 11);
        assert_eq!(read_line_bounded(&mut reader, &mut buf, 10).unwrap(), Some(4));
        assert_eq!(buf, b"last");
        assert_eq!(read_line_bounded(&mut reader, &mut buf, 10).unwrap(), None);
    }

    #[test]
    fn crlf_lines() {
        let mut reader = BufReader::new(&b"a\r\nb\r\n"[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_bounded(&mut reader, &mut buf, 10).unwrap(), Some(1));
        assert_eq!(buf, b"a");
    }
}
