//! The `lexwire` binary: command line, logging, and the subcommands.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use lexwire::article::DEFAULT_MAX_BYTES;
use lexwire::dedup::DedupConfig;
use lexwire::dictionary::check::{CheckReport, resident_bytes};
use lexwire::dictionary::{Dictionary, DictionaryFiles, LoadOptions};
use lexwire::matcher::{AutomatonKind, Matcher};
use lexwire::offline::{Input, InputFormat, TagOptions, tag_inputs};
use lexwire::service::config::limits;
use lexwire::service::{STOP_GRACE, watch_stop};
use lexwire::tag::Tagger;

/// Exit codes: 0 success (also when stdout is closed early, as by `lexwire tag | head`), 1 some
/// input failed (a bad article or an unreadable file, reported on stderr), 2 nothing could be
/// done (bad arguments, unreadable dictionary, no input readable).
const EXIT_INPUT_FAILED: u8 = 1;
const EXIT_FATAL: u8 = 2;
/// `lexwire run`'s stop overran `pipeline.shutdown_timeout_secs` plus a grace and was cut short.
const EXIT_STOP_OVERRAN: u8 = 3;

#[derive(Parser)]
#[command(
    name = "lexwire",
    version,
    about = "Tags news articles with places, actors and conflict events; deduplicates events; streams them through Kafka."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Tag articles offline: JSONL or plain text from files or stdin, one JSON line per article
    /// on stdout.
    Tag(TagArgs),
    /// Run the pipeline service: Kafka in, event records out. With no brokers configured it
    /// starts an embedded broker, loads the sample articles and prints the events it publishes.
    ///
    /// Exit status: 0 after a clean stop (SIGTERM, SIGINT, idle), 2 on a fatal error, 3 when the
    /// stop overran pipeline.shutdown_timeout_secs by 15 s and was cut short.
    Run(RunArgs),
    /// Score lexwire's events against labelled data (an ACLED or GTD CSV export): event found,
    /// sub-event type, fatalities, injured, date, place. Every row is processed on its own.
    Eval(EvalArgs),
    /// Inspect dictionaries.
    Dict {
        #[command(subcommand)]
        command: DictCommand,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Configuration file (TOML; every key in deploy/lexwire.example.toml). LEXWIRE_<SECTION>_<KEY>
    /// variables override it; these flags override both.
    #[arg(long, short, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Bootstrap servers (kafka.brokers); none: the embedded broker.
    #[arg(long)]
    brokers: Option<String>,
    /// Consumer group (kafka.group_id).
    #[arg(long)]
    group_id: Option<String>,
    /// Input topic (kafka.input_topics); repeat for several.
    #[arg(long = "input-topic")]
    input_topics: Vec<String>,
    /// Events topic (kafka.events_topic).
    #[arg(long)]
    events_topic: Option<String>,
    /// Address of /metrics, /healthz, /readyz (metrics.listen).
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Print published event records on stdout (pipeline.print_events).
    #[arg(long)]
    print_events: bool,
    /// Exit once idle for this many seconds (pipeline.idle_exit_secs; at most 365 days).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(limits::IDLE_EXIT_SECS))]
    idle_exit: Option<u64>,
    /// Delivery guarantee (pipeline.delivery): at-least-once (default) or exactly-once (Kafka
    /// transactions; brokers 2.5 or later).
    #[arg(long, value_parser = ["at-least-once", "exactly-once"])]
    delivery: Option<String>,
}

#[derive(Subcommand)]
enum DictCommand {
    /// Validate the dictionaries and report entries, aliases, collisions, ambiguous aliases,
    /// and the automaton's build time and memory.
    Check(CheckArgs),
}

#[derive(Args)]
struct DictionaryArgs {
    /// Folder holding dictionary.toml (default: the dictionary built into the binary).
    #[arg(long, env = "LEXWIRE_DICTIONARIES", value_name = "DIR")]
    dictionaries: Option<PathBuf>,
    /// GeoNames dump files to use instead of the dictionary's (e.g. a full country dump).
    #[arg(long, value_name = "FILE")]
    geonames: Vec<PathBuf>,
    /// Countries to keep from GeoNames files, comma-separated ISO codes; "all" keeps every one.
    #[arg(long, value_name = "CC,CC", value_delimiter = ',')]
    countries: Vec<String>,
    /// Automaton kind.
    #[arg(long, value_enum, default_value_t = Automaton::Dfa)]
    automaton: Automaton,
    /// Memory the automata may take as DFAs, in MiB (dictionary.dfa_budget_mb); over it an
    /// automaton is a contiguous NFA.
    #[arg(
        long,
        value_name = "MIB",
        default_value_t = lexwire::matcher::DEFAULT_DFA_BUDGET_MB,
        value_parser = clap::value_parser!(u64).range(limits::DFA_BUDGET_MB)
    )]
    dfa_budget_mb: u64,
    /// Keep every GeoNames name, in any script and of any length (to measure the worst case).
    #[arg(long)]
    every_name: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum Automaton {
    Dfa,
    Nfa,
}

#[derive(Args)]
struct TagArgs {
    /// Input files; "-" is standard input.
    #[arg(default_value = "-")]
    inputs: Vec<String>,
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    format: InputFormat,
    /// Articles (or JSONL lines) larger than this are rejected as oversize (1024 to 256 MiB).
    #[arg(
        long,
        default_value_t = DEFAULT_MAX_BYTES as u64,
        value_name = "BYTES",
        value_parser = clap::value_parser!(u64).range(limits::MAX_ARTICLE_BYTES)
    )]
    max_article_bytes: u64,
    /// Also print internal tags (place cues, units).
    #[arg(long)]
    all_tags: bool,
    /// Print event records (lexwire.event/v1), deduplicated across the articles in input
    /// order, instead of tags.
    #[arg(long)]
    events: bool,
    /// With --events: days of event time the dedup state remembers (1 to 3652425).
    #[arg(
        long,
        default_value_t = 14,
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(*limits::WINDOW_DAYS.start() as i64..=*limits::WINDOW_DAYS.end() as i64)
    )]
    window_days: u32,
    /// With --events: two points this close (km) can be one event's place (0 to 20000).
    #[arg(long, default_value_t = 25.0, value_name = "KM", value_parser = parse_distance_km)]
    distance_km: f64,
    /// Threads that decode, tag and encode JSONL articles, or with --events decode, tag and
    /// extract them (1 to 256; default: the machine's cores). Output (and deduplication) stays
    /// in input order: the output is the same for any number.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    #[command(flatten)]
    dictionary: DictionaryArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// Labelled CSV files (ACLED export with `notes`, or GTD with `summary`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The files' shape (default: from the header).
    #[arg(long, value_enum)]
    format: Option<EvalFormat>,
    /// Print the report as JSON (one object per file).
    #[arg(long)]
    json: bool,
    /// Print the N worst misses of each field, with the sentence lexwire read.
    #[arg(long, default_value_t = 0, value_name = "N")]
    misses: usize,
    /// Score only the first N rows of each file.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Score deduplication instead: every row as an article into one dedup state, in date
    /// order; reports false merges, links, drops and (with a `cluster` column) missed merges.
    #[arg(long)]
    dedup: bool,
    #[command(flatten)]
    dictionary: DictionaryArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum EvalFormat {
    Acled,
    Gtd,
}

#[derive(Args)]
struct CheckArgs {
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// How many examples of each kind of finding to show.
    #[arg(long, default_value_t = 15)]
    examples: usize,
    /// Fail when GeoNames files had bad lines (they are skipped otherwise).
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    dictionary: DictionaryArgs,
}

/// `--distance-km`: a finite number in [`limits::DISTANCE_KM`].
fn parse_distance_km(s: &str) -> Result<f64, String> {
    let km: f64 = s.parse().map_err(|_| format!("{s} is not a number"))?;
    if !limits::DISTANCE_KM.contains(&km) {
        return Err(format!("{s} is not in {}..={}", limits::DISTANCE_KM.start(), limits::DISTANCE_KM.end()));
    }
    Ok(km)
}

/// Colour in log lines only for a person at a terminal: not in files, pipes or log collectors,
/// and never when `NO_COLOR` is set (https://no-color.org).
fn log_colours() -> bool {
    io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("LEXWIRE_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(io::stderr)
        .with_ansi(log_colours())
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Tag(args) => run_tag(args),
        Command::Run(args) => run_service(args),
        Command::Eval(args) => run_eval(args),
        Command::Dict { command: DictCommand::Check(args) } => run_check(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lexwire: {e:#}");
            ExitCode::from(EXIT_FATAL)
        }
    }
}

fn run_service(args: RunArgs) -> anyhow::Result<ExitCode> {
    use lexwire::service::{Config, Service};
    use tokio::signal::unix::{SignalKind, signal};
    // Signal handlers before any start-up work (loading the dictionary takes a moment): a SIGHUP
    // then must not kill the process with the default action, a SIGTERM stops it cleanly.
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build()?;
    let (mut term, mut int, hangup) = {
        let _entered = runtime.enter();
        (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?, signal(SignalKind::hangup())?)
    };
    let mut overrides: Vec<(String, toml::Value)> = Vec::new();
    let mut set = |key: &str, value: toml::Value| overrides.push((key.to_string(), value));
    if let Some(b) = args.brokers {
        set("kafka.brokers", b.into());
    }
    if let Some(g) = args.group_id {
        set("kafka.group_id", g.into());
    }
    if !args.input_topics.is_empty() {
        set("kafka.input_topics", toml::Value::Array(args.input_topics.into_iter().map(Into::into).collect()));
    }
    if let Some(t) = args.events_topic {
        set("kafka.events_topic", t.into());
    }
    if let Some(l) = args.metrics_listen {
        set("metrics.listen", l.into());
    }
    if args.print_events {
        set("pipeline.print_events", true.into());
    }
    if let Some(i) = args.idle_exit {
        set("pipeline.idle_exit_secs", toml::Value::Integer(i as i64));
    }
    if let Some(d) = args.delivery {
        set("pipeline.delivery", d.into());
    }
    let config = match Config::load(args.config.as_deref(), std::env::vars(), &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("lexwire: {e}");
            return Ok(ExitCode::from(EXIT_FATAL));
        }
    };
    runtime.block_on(async move {
        let service = tokio::select! {
            service = Service::start(config) => service?,
            _ = term.recv() => return anyhow::Ok(ExitCode::SUCCESS),
            _ = int.recv() => return anyhow::Ok(ExitCode::SUCCESS),
        };
        let shared = service.shared.clone();
        if shared.config.embedded() {
            eprintln!(
                "lexwire: embedded broker at {} (topics: {} in, {} out); produce more articles with\n  \
                 kcat -P -b {} -t {}\nCtrl-C to stop.",
                shared.bootstrap,
                shared.config.kafka.input_topics.join(","),
                shared.config.kafka.events_topic,
                shared.bootstrap,
                shared.config.kafka.input_topics[0],
            );
        }
        // The last resort of a stop that hangs in a client call: a thread outside the runtime
        // ends the process. What was committed stands; the rest is redelivered.
        let bound = Duration::from_secs(shared.config.pipeline.shutdown_timeout_secs).saturating_add(STOP_GRACE);
        watch_stop(shared.stop_signal(), bound, move || {
            tracing::error!(
                bound_secs = bound.as_secs(),
                "the stop did not end within pipeline.shutdown_timeout_secs plus {} s: exiting (status {EXIT_STOP_OVERRAN}) \
                 without waiting; offsets committed so far stand, later messages are redelivered",
                STOP_GRACE.as_secs()
            );
            std::process::exit(i32::from(EXIT_STOP_OVERRAN));
        })
        .context("starting the stop's watchdog thread")?;
        // A weak reference: the stop waits for the last strong one before the embedded broker goes.
        let signals = Arc::downgrade(&shared);
        drop(shared);
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM: draining"),
                _ = int.recv() => tracing::info!("SIGINT: draining"),
            }
            if let Some(shared) = signals.upgrade() {
                shared.shutdown();
            }
        });
        service.wait().await?;
        // The reloader has its own SIGHUP stream; this one kept the handler installed until then.
        drop(hangup);
        anyhow::Ok(ExitCode::SUCCESS)
    })
}

fn load_dictionary(args: &DictionaryArgs) -> anyhow::Result<Dictionary> {
    let files = match &args.dictionaries {
        Some(dir) => DictionaryFiles::Dir(dir.clone()),
        None => DictionaryFiles::Bundled,
    };
    let countries = match args.countries.as_slice() {
        [] => None,
        [all] if all.eq_ignore_ascii_case("all") => Some(Vec::new()),
        list => Some(list.to_vec()),
    };
    let options = LoadOptions {
        geonames: (!args.geonames.is_empty()).then(|| args.geonames.clone()),
        countries,
        every_name: args.every_name,
    };
    Dictionary::load(&files, &options).context("dictionary error")
}

fn automaton_kind(a: Automaton) -> AutomatonKind {
    match a {
        Automaton::Dfa => AutomatonKind::Dfa,
        Automaton::Nfa => AutomatonKind::ContiguousNfa,
    }
}

/// The tagger the dictionary flags ask for.
fn tagger(dict: Dictionary, args: &DictionaryArgs) -> anyhow::Result<Arc<Tagger>> {
    let budget = lexwire::matcher::dfa_budget_from_mib(args.dfa_budget_mb);
    Ok(Arc::new(Tagger::with_dfa_budget(Arc::new(dict), automaton_kind(args.automaton), budget)?))
}

fn run_tag(args: TagArgs) -> anyhow::Result<ExitCode> {
    let dict = load_dictionary(&args.dictionary)?;
    for bad in &dict.report().bad_lines {
        tracing::warn!(file = %bad.file, line = bad.line, reason = %bad.reason, "skipped a dictionary line");
    }
    let tagger = tagger(dict, &args.dictionary)?;
    let events = args.events.then(|| DedupConfig {
        window_days: args.window_days,
        distance_km: args.distance_km,
        ..DedupConfig::default()
    });
    let inputs: Vec<Input> = args.inputs.iter().map(|s| Input::parse(s)).collect();
    let max_article_bytes = usize::try_from(args.max_article_bytes).context("--max-article-bytes")?;
    let threads = match args.threads {
        Some(n) => usize::from(n),
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let options = TagOptions { format: args.format, max_article_bytes, all_tags: args.all_tags, events, threads };
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let started = Instant::now();
    let report = tag_inputs(&tagger, &inputs, &options, &mut out, &mut io::stderr().lock());
    let flushed = out.flush();
    // Whoever reads stdout has what they wanted (`lexwire tag | head`): stop quietly, as cat does.
    let closed = |e: Option<&io::Error>| e.is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe);
    if closed(report.as_ref().err()) || closed(flushed.as_ref().err()) {
        return Ok(ExitCode::SUCCESS);
    }
    let report = report.context("cannot write the output")?;
    flushed.context("cannot write the output")?;
    let failed = report.failed_total();
    let classes: Vec<String> = report.failed.iter().map(|(class, n)| format!("{class} {n}")).collect();
    let unreadable = match report.unreadable {
        0 => String::new(),
        1 => ", 1 input unreadable".into(),
        n => format!(", {n} inputs unreadable"),
    };
    let events = if args.events {
        format!(
            "; events: {} created ({} linked to possible duplicates), {} updated, {} articles seen before (no record), {} near-duplicates, {} articles without published_at, {} with a published_at after today",
            report.created,
            report.linked,
            report.updated,
            report.seen_before,
            report.near_duplicates,
            report.undated,
            report.future_dates
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        io::stderr(),
        "lexwire tag: {} articles tagged, {} failed{}{unreadable} in {:.0} ms{events}",
        report.tagged,
        failed,
        if classes.is_empty() { String::new() } else { format!(" ({})", classes.join(", ")) },
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(if report.unreadable == inputs.len() {
        ExitCode::from(EXIT_FATAL)
    } else if failed > 0 || report.unreadable > 0 {
        ExitCode::from(EXIT_INPUT_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    use lexwire::eval::{Format, GoldReader, Next, Report, predict};
    let dict = load_dictionary(&args.dictionary)?;
    let tagger = tagger(dict, &args.dictionary)?;
    let config = DedupConfig::default();
    let mut engine = lexwire::engine::Engine::new(tagger, config.clone()).map_err(anyhow::Error::msg)?;
    let format = args.format.map(|f| match f {
        EvalFormat::Acled => Format::Acled,
        EvalFormat::Gtd => Format::Gtd,
    });
    let mut out = io::stdout().lock();
    let mut failed = false;
    for path in &args.files {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).with_context(|| format!("cannot open {name}"))?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut reader = GoldReader::new(io::BufReader::new(file), format).with_context(|| name.clone())?;
        if args.dedup {
            let mut rows = Vec::new();
            while let Some(next) = reader.next_row() {
                if args.limit.is_some_and(|l| rows.len() as u64 >= l) {
                    break;
                }
                match next {
                    Next::Row(row) => rows.push(*row),
                    Next::Bad(error) => {
                        eprintln!("lexwire eval: {name}: {error}");
                        failed = true;
                    }
                }
            }
            let started = Instant::now();
            let (report, errors) = lexwire::eval::dedup::evaluate(&mut engine, &config, &name, rows, args.misses);
            for error in &errors {
                eprintln!("lexwire eval: {name}: {error}");
            }
            failed |= !errors.is_empty();
            if args.json {
                serde_json::to_writer(&mut out, &report)?;
                writeln!(out)?;
            } else {
                write!(out, "{report}")?;
                writeln!(out, "({:.1} s)\n", started.elapsed().as_secs_f64())?;
            }
            continue;
        }
        let mut report = Report::new(&name, reader.format(), &engine, args.misses);
        let progress = indicatif::ProgressBar::with_draw_target(Some(size), indicatif::ProgressDrawTarget::stderr());
        progress.set_style(
            indicatif::ProgressStyle::with_template("{prefix} {wide_bar} {percent}% {pos}/{len} bytes, eta {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        progress.set_prefix(name.clone());
        let started = Instant::now();
        let mut seen = 0u64;
        while let Some(next) = reader.next_row() {
            if args.limit.is_some_and(|l| seen >= l) {
                break;
            }
            seen += 1;
            match next {
                Next::Row(row) => match predict(&mut engine, &config, &row) {
                    Ok(prediction) => report.add(&row, &prediction),
                    Err(error) => {
                        eprintln!("lexwire eval: {name}: {error}");
                        report.skip(error);
                    }
                },
                Next::Bad(error) => {
                    eprintln!("lexwire eval: {name}: {error}");
                    report.skip(error);
                }
            }
            if seen % 64 == 0 {
                progress.set_position(reader.position());
            }
        }
        progress.finish_and_clear();
        report.trim_misses();
        failed |= report.skipped > 0;
        if args.json {
            serde_json::to_writer(&mut out, &report)?;
            writeln!(out)?;
        } else {
            write!(out, "{report}")?;
            writeln!(out, "({:.1} s)", started.elapsed().as_secs_f64())?;
            for m in &report.misses {
                writeln!(
                    out,
                    "  miss [{}] line {} ({}): gold {}, got {}\n      {}",
                    m.field.label(),
                    m.line,
                    m.id,
                    m.gold,
                    m.got,
                    m.sentence.replace('\n', " ")
                )?;
            }
            writeln!(out)?;
        }
    }
    Ok(if failed { ExitCode::from(EXIT_INPUT_FAILED) } else { ExitCode::SUCCESS })
}

fn run_check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let dict = load_dictionary(&args.dictionary)?;
    let load = started.elapsed();
    let before = resident_bytes();
    let budget = lexwire::matcher::dfa_budget_from_mib(args.dictionary.dfa_budget_mb);
    let matcher = Matcher::with_budget(&dict, automaton_kind(args.dictionary.automaton), budget)?;
    let growth = before.zip(resident_bytes()).map(|(b, a)| a.saturating_sub(b));
    let report = CheckReport::new(&dict, &matcher, load, growth, args.examples);
    let mut out = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
    } else {
        write!(out, "{report}")?;
    }
    if args.strict && report.bad_lines > 0 {
        eprintln!("lexwire: {} bad dictionary lines (--strict)", report.bad_lines);
        return Ok(ExitCode::from(EXIT_INPUT_FAILED));
    }
    Ok(ExitCode::SUCCESS)
}
