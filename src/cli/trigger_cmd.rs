//! `synclake trigger`: Sync Trigger rules offline. `check` applies rules to an event file and
//! prints the decision and the resulting event (how users test rules before deploying them);
//! `lint` validates a rules file with precise error locations.

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, Subcommand, ValueEnum};
use synclake_trigger::{Decision, Format, RuleSet, Verdict};

/// Exit code of `check` when the rules reject the sync.
const EXIT_REJECTED: u8 = 3;

/// `synclake trigger …`.
#[derive(Debug, Args)]
pub struct TriggerArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: TriggerCommand,
}

/// The `trigger` subcommands.
#[derive(Debug, Subcommand)]
pub enum TriggerCommand {
    /// Apply rules to a Sync Trigger event; print the decision and the resulting event.
    /// Exit status: 0 accepted (possibly with changes), 3 rejected, 1 bad rules or event.
    Check(CheckArgs),
    /// Validate a rules file. Exit status: 0 valid, 1 with errors (one per line, located).
    Lint(LintArgs),
}

/// Syntax of the rules file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    /// TOML.
    Toml,
    /// JSON.
    Json,
}

/// How `check` prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum OutputFormat {
    /// The decision and changes as lines, then `event:` and the event JSON.
    #[default]
    Text,
    /// One JSON object: decision, changes, and the event (or the rejection).
    Json,
}

/// Flags of `trigger check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Rules file (TOML or JSON).
    #[arg(long, env = "SYNCLAKE_TRIGGER_RULES_FILE")]
    pub rules: PathBuf,
    /// Rules syntax (default: from the file extension, else sniffed).
    #[arg(long, value_enum)]
    pub rules_format: Option<RulesFormat>,
    /// Event file: the JSON Cognito sends the trigger (`-` for standard input).
    #[arg(long)]
    pub event: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub output: OutputFormat,
}

/// Flags of `trigger lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// Rules file (TOML or JSON).
    #[arg(long, env = "SYNCLAKE_TRIGGER_RULES_FILE")]
    pub rules: PathBuf,
    /// Rules syntax (default: from the file extension, else sniffed).
    #[arg(long, value_enum)]
    pub rules_format: Option<RulesFormat>,
}

/// Runs a `trigger` subcommand.
pub fn run(args: TriggerArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TriggerCommand::Check(a) => check(a),
        TriggerCommand::Lint(a) => lint(a),
    }
}

fn format_of(path: &Path, flag: Option<RulesFormat>) -> Format {
    match flag {
        Some(RulesFormat::Toml) => Format::Toml,
        Some(RulesFormat::Json) => Format::Json,
        None => Format::from_path(path),
    }
}

fn read_rules(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read rules file {}", path.display()))
}

fn lint(args: LintArgs) -> anyhow::Result<ExitCode> {
    let text = read_rules(&args.rules)?;
    let mut out = std::io::stdout().lock();
    match RuleSet::parse(&text, format_of(&args.rules, args.rules_format)) {
        Ok(rules) => {
            writeln!(
                out,
                "{}: ok ({} dataset rules, {} key rules)",
                args.rules.display(),
                rules.dataset_rule_count(),
                rules.key_rule_count()
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                writeln!(out, "{}:{e}", args.rules.display())?;
            }
            writeln!(out, "{} error(s)", errors.0.len())?;
            Ok(ExitCode::from(1))
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let text = read_rules(&args.rules)?;
    let rules = RuleSet::parse(&text, format_of(&args.rules, args.rules_format))
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.rules.display()))?;
    let event = if args.event.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("cannot read the event from standard input")?;
        buf
    } else {
        std::fs::read(&args.event).with_context(|| format!("cannot read event file {}", args.event.display()))?
    };
    let decision = rules
        .apply(&event)
        .with_context(|| format!("cannot read event {}", args.event.display()))?;
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Text => print_text(&mut out, &decision)?,
        OutputFormat::Json => print_json(&mut out, &decision)?,
    }
    out.flush()?;
    Ok(match decision.verdict {
        Verdict::Accept { .. } => ExitCode::SUCCESS,
        Verdict::Reject(_) => ExitCode::from(EXIT_REJECTED),
    })
}

fn print_text(out: &mut impl std::io::Write, d: &Decision) -> anyhow::Result<()> {
    let rule = match d.dataset_rule {
        Some(i) => format!("datasets[{i}]"),
        None => "no dataset rule".to_owned(),
    };
    match &d.verdict {
        Verdict::Accept { .. } => writeln!(out, "decision: accept ({rule}, {} change(s))", d.changes.len())?,
        Verdict::Reject(r) => writeln!(out, "decision: reject ({rule}): {r}")?,
    }
    for c in &d.changes {
        writeln!(out, "change: {:?} {} by {}: {}", c.key, c.kind, c.rule, c.reason)?;
    }
    if let Verdict::Accept { response } = &d.verdict {
        writeln!(out, "event:")?;
        out.write_all(response)?;
        writeln!(out)?;
    }
    Ok(())
}

fn print_json(out: &mut impl std::io::Write, d: &Decision) -> anyhow::Result<()> {
    let changes: Vec<serde_json::Value> = d
        .changes
        .iter()
        .map(|c| {
            serde_json::json!({
                "key": c.key, "change": c.kind.to_string(), "rule": c.rule.as_str(), "reason": c.reason,
            })
        })
        .collect();
    let head = match &d.verdict {
        Verdict::Accept { .. } => serde_json::json!({"decision": "accept"}),
        Verdict::Reject(r) => serde_json::json!({
            "decision": "reject", "dataset": r.dataset, "key": r.key, "rule": r.rule.as_str(),
            "message": r.message, "error": r.to_string(),
        }),
    };
    // The event is embedded as the raw response text, exactly as a Lambda would return it.
    let mut obj = serde_json::to_string(&head)?;
    obj.pop();
    obj.push_str(&format!(
        ",\"dataset_rule\":{},\"changes\":{}",
        serde_json::to_string(&d.dataset_rule)?,
        serde_json::to_string(&changes)?
    ));
    out.write_all(obj.as_bytes())?;
    if let Verdict::Accept { response } = &d.verdict {
        out.write_all(b",\"event\":")?;
        out.write_all(response)?;
    }
    writeln!(out, "}}")?;
    Ok(())
}
