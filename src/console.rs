//! `ssrt console`: a REPL in the app's own engine (SPEC 9). Interactive with
//! rustyline (history, multi-line entries, completion of dotted names), or
//! reading piped standard input line by line for scripts.
//!
//! Ctrl-C (SIGINT) while an entry runs stops it, as the watchdog stops an
//! action at `action_timeout`, and the console goes on with the app's state
//! intact. At the prompt, Ctrl-C is rustyline's (the line is dropped); with
//! piped input and no entry running, it ends the console.

use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Editor, Helper};
use ssrt_runtime::{AppHandle, ConsoleOutcome};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const HELP: &str = "\
  .coffee   type CoffeeScript (an empty line ends a multi-line entry)
  .js       type JavaScript (the default)
  .help     this list
  .exit     leave (or Ctrl-D)
Tab completes names: $SS.server.<Tab>. Callbacks print when they are called:
  $SS.server.app.square(25, console.log)";

/// The longest piped scripts wait for their last callbacks after input ends.
const MAX_SETTLE: Duration = Duration::from_secs(10);

/// Whether the REPL reads CoffeeScript or JavaScript.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Language {
    JavaScript,
    CoffeeScript,
}

/// What Ctrl-C stops: a flag set while an entry is being evaluated.
#[derive(Clone)]
struct Evaluator {
    app: AppHandle,
    running: Arc<AtomicBool>,
}

impl Evaluator {
    fn new(app: AppHandle) -> Self {
        Self {
            app,
            running: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Evaluates one entry; an interrupted one says so. Whether it ran
    /// without throwing (or being stopped).
    fn eval(&self, entry: String, language: Language, interactive: bool) -> anyhow::Result<bool> {
        self.running.store(true, Ordering::SeqCst);
        let outcome = self
            .app
            .console_eval(entry, language == Language::CoffeeScript, interactive);
        self.running.store(false, Ordering::SeqCst);
        let outcome = match outcome {
            Ok(outcome) => outcome,
            // The engine crashed (logged): the console goes on with the app
            // reloaded in a new one.
            Err(e) if e.is(ssrt_runtime::ErrorCode::EngineRestarted) => {
                eprintln!(
                    "{}; the console goes on with the app reloaded (its state is lost).",
                    e.message
                );
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        };
        Ok(match outcome {
            ConsoleOutcome::Ran => true,
            ConsoleOutcome::Threw => false,
            ConsoleOutcome::Interrupted => {
                let message =
                    "Interrupted (Ctrl-C): the entry was stopped; the app keeps its state.";
                if interactive {
                    eprintln!("\x1b[33m{message}\x1b[0m");
                } else {
                    eprintln!("{message}");
                }
                false
            }
        })
    }

    /// Handles SIGINT from now until the process ends: stops the running
    /// entry, or, with piped input and none running, exits as an
    /// interrupted script does. The handler is in place when this returns.
    fn handle_interrupts(
        self,
        runtime: &tokio::runtime::Handle,
        piped: bool,
    ) -> anyhow::Result<()> {
        let _context = runtime.enter();
        #[cfg(unix)]
        let mut interrupts =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
        runtime.spawn(async move {
            loop {
                #[cfg(unix)]
                if interrupts.recv().await.is_none() {
                    return;
                }
                #[cfg(not(unix))]
                if tokio::signal::ctrl_c().await.is_err() {
                    return;
                }
                if !self.running.load(Ordering::SeqCst) {
                    if piped {
                        std::process::exit(130);
                    }
                    continue; // at the prompt: rustyline's own Ctrl-C
                }
                // The entry may be queued behind other JavaScript, or not yet
                // begun: stop what runs until it is the entry, or it has ended.
                while self.running.load(Ordering::SeqCst) && !self.app.interrupt() {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        Ok(())
    }
}

/// Runs the console until `.exit` or the end of input. Returns whether every
/// entry ran without throwing (piped scripts exit non-zero otherwise).
/// `history` is the file interactive entries are kept in; `runtime` runs the
/// Ctrl-C handler.
pub fn run(
    app: AppHandle,
    history: &Path,
    quiet_wait: Duration,
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<bool> {
    let evaluator = Evaluator::new(app);
    let terminal = std::io::stdin().is_terminal();
    evaluator.clone().handle_interrupts(runtime, !terminal)?;
    if terminal {
        interactive(&evaluator, history)?;
        Ok(true)
    } else {
        piped(&evaluator, quiet_wait)
    }
}

fn interactive(evaluator: &Evaluator, history: &Path) -> anyhow::Result<()> {
    let app = &evaluator.app;
    let mut editor: Editor<ConsoleHelper, FileHistory> = Editor::new()?;
    editor.set_helper(Some(ConsoleHelper {
        app: app.clone(),
        language: Language::JavaScript,
    }));
    let _ = editor.load_history(history);
    println!("Type .help for help, .exit or Ctrl-D to leave.");
    loop {
        let language = editor.helper().map_or(Language::JavaScript, |h| h.language);
        let prompt = match language {
            Language::JavaScript => "ssrt> ",
            Language::CoffeeScript => "coffee> ",
        };
        let entry = match editor.readline(prompt) {
            Ok(entry) => entry,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if entry.trim().is_empty() {
            continue;
        }
        let _ = editor.add_history_entry(entry.as_str());
        match command(entry.trim()) {
            Some(Command::Exit) => break,
            Some(Command::Help) => println!("{HELP}"),
            Some(Command::Use(language)) => {
                if let Some(helper) = editor.helper_mut() {
                    helper.language = language;
                }
            }
            // The engine prints the value or the error itself.
            None => {
                evaluator.eval(entry, language, true)?;
            }
        }
    }
    if let Some(dir) = history.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let _ = editor.save_history(history);
    Ok(())
}

/// Evaluates piped input, an entry as soon as it is complete, then waits for
/// callbacks until the app has printed nothing for `quiet_wait`.
fn piped(evaluator: &Evaluator, quiet_wait: Duration) -> anyhow::Result<bool> {
    let mut language = Language::JavaScript;
    let mut entry = String::new();
    let mut all_ok = true;
    // The engine prints each value (not `undefined`) or error itself.
    let run = |entry: &str, language: Language| evaluator.eval(entry.to_owned(), language, false);
    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        if entry.is_empty() {
            match command(line.trim()) {
                Some(Command::Exit) => break,
                Some(Command::Help) => continue,
                Some(Command::Use(chosen)) => {
                    language = chosen;
                    continue;
                }
                None if line.trim().is_empty() => continue,
                None => {}
            }
        }
        entry.push_str(&line);
        entry.push('\n');
        if is_complete(&entry, language) {
            all_ok &= run(&entry, language)?;
            entry.clear();
        }
    }
    if !entry.trim().is_empty() {
        all_ok &= run(&entry, language)?;
    }
    wait_until_quiet(quiet_wait);
    Ok(all_ok)
}

/// Waits until the app's console output has been still for `quiet`.
fn wait_until_quiet(quiet: Duration) {
    let started = Instant::now();
    let mut seen = ssrt_runtime::console_writes();
    let mut still_since = Instant::now();
    while still_since.elapsed() < quiet && started.elapsed() < MAX_SETTLE {
        std::thread::sleep(Duration::from_millis(20));
        let now = ssrt_runtime::console_writes();
        if now != seen {
            seen = now;
            still_since = Instant::now();
        }
    }
}

enum Command {
    Exit,
    Help,
    Use(Language),
}

fn command(line: &str) -> Option<Command> {
    match line {
        ".exit" => Some(Command::Exit),
        ".help" => Some(Command::Help),
        ".coffee" => Some(Command::Use(Language::CoffeeScript)),
        ".js" => Some(Command::Use(Language::JavaScript)),
        _ => None,
    }
}

/// Whether an entry is ready to run. JavaScript: swc's parser ran out of
/// input (an open bracket, block comment or template literal); any other
/// syntax error is for the engine to report. CoffeeScript: brackets, strings
/// and comments closed, and no trailing `->`, operator or open block (a
/// block ends with an empty line).
fn is_complete(entry: &str, language: Language) -> bool {
    if language == Language::JavaScript {
        return javascript_complete(entry);
    }
    if !coffee_brackets_closed(entry) {
        return false;
    }
    let lines: Vec<&str> = entry.trim_end_matches('\n').lines().collect();
    if lines.len() > 1 {
        return entry.ends_with("\n\n");
    }
    let last = lines.last().map_or("", |line| line.trim_end());
    !["->", "=>", "\\", ",", "=", ":"]
        .iter()
        .any(|end| last.ends_with(end))
}

fn javascript_complete(entry: &str) -> bool {
    use swc_core::common::{BytePos, FileName, SourceMap, Spanned, sync::Lrc};
    use swc_core::ecma::ast::EsVersion;
    use swc_core::ecma::parser::error::SyntaxError;
    use swc_core::ecma::parser::{EsSyntax, Syntax, parse_file_as_script};
    let map: Lrc<SourceMap> = Lrc::default();
    let file = map.new_source_file(Lrc::new(FileName::Anon), entry.to_owned());
    let mut recovered = Vec::new();
    let syntax = Syntax::Es(EsSyntax::default());
    let parsed = parse_file_as_script(&file, syntax, EsVersion::latest(), None, &mut recovered);
    // The parser recovers from some errors (a missing `}`) and lists them.
    let mut errors = parsed.err().into_iter().chain(recovered);
    let content_end =
        file.start_pos + BytePos(entry.trim_end().len().try_into().unwrap_or(u32::MAX));
    !errors.any(|error| {
        error.span().lo >= content_end
            || matches!(
                error.kind(),
                SyntaxError::Eof
                    | SyntaxError::UnterminatedBlockComment
                    | SyntaxError::UnterminatedTpl
            )
    })
}

/// Scans CoffeeScript for unclosed brackets, strings and comments.
fn coffee_brackets_closed(entry: &str) -> bool {
    let mut depth: i32 = 0;
    let mut chars = entry.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' | '`' => {
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return false;
                }
            }
            '#' => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

/// Completion and multi-line validation for rustyline.
struct ConsoleHelper {
    app: AppHandle,
    language: Language,
}

impl Completer for ConsoleHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '$' | '.')))
            .map_or(0, |(index, c)| index + c.len_utf8());
        let path = &before[start..];
        Ok((start, self.app.console_complete(path)))
    }
}

impl Validator for ConsoleHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        let input = ctx.input();
        if command(input.trim()).is_some() || is_complete(&format!("{input}\n"), self.language) {
            Ok(ValidationResult::Valid(None))
        } else {
            Ok(ValidationResult::Incomplete)
        }
    }
}

impl Hinter for ConsoleHelper {
    type Hint = String;
}
impl Highlighter for ConsoleHelper {}
impl Helper for ConsoleHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn javascript_entries_wait_for_closing_brackets_strings_and_comments() {
        let js = Language::JavaScript;
        assert!(is_complete("1 + 1\n", js));
        assert!(!is_complete("function f() {\n", js));
        assert!(is_complete("function f() {\n  return '}'\n}\n", js));
        assert!(!is_complete("`open ${\n", js));
        assert!(!is_complete("/* still\n", js));
        assert!(!is_complete("[1,\n", js));
        assert!(is_complete("x // (\n", js));
        // Neither a regular expression's brackets nor a template's `${}`
        // are open brackets.
        assert!(is_complete("'a(b'.match(/\\(/)\n", js));
        assert!(is_complete("`${1 + 1} {`\n", js));
        // A string does not span lines: the engine reports the error.
        assert!(is_complete("'open\n", js));
        assert!(is_complete("1 +* 2\n", js));
    }

    #[test]
    fn coffeescript_blocks_end_with_an_empty_line() {
        let coffee = Language::CoffeeScript;
        assert!(is_complete("x = 1\n", coffee));
        assert!(!is_complete("square = (n) ->\n", coffee));
        assert!(!is_complete("square = (n) ->\n  n * n\n", coffee));
        assert!(is_complete("square = (n) ->\n  n * n\n\n", coffee));
        assert!(!is_complete("list = [\n", coffee));
        assert!(is_complete("x = 1 # (\n", coffee));
    }
}
