//! `synclake table ddl`: the table, its dead letters and its bulk-publish runs as Athena and
//! AWS Glue declare them, generated from the Arrow schemas the writers use
//! (`synclake_lake::ddl`). `infra/template.yaml` holds the `glue` output; a test fails when the
//! two disagree.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;
use synclake_lake::PartitionSpec;
use synclake_lake::ddl::{DdlError, GlueTable, PROJECTION_START, directory_table, partitioned_table};
use synclake_lake::schema::{dead_letter_schema, table_schema};

/// The table root `infra/template.yaml` deploys: its bucket and prefix, as CloudFormation
/// substitutions.
pub const TEMPLATE_ROOT: &str = "s3://${TableBucket}/${TablePrefix}";

/// The template parameter holding the first projected day.
pub const TEMPLATE_SINCE: &str = "${TableStartDate}";

/// The template's parameters the glue output refers to; every other `${` is literal text.
const TEMPLATE_PARAMETERS: [&str; 3] = ["${TableBucket}", "${TablePrefix}", TEMPLATE_SINCE];

/// `synclake table …`.
#[derive(Debug, Args)]
pub struct TableArgs {
    /// The subcommand.
    #[command(subcommand)]
    pub command: TableCommand,
}

/// The `table` subcommands.
#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Print the tables' definitions: `changes` (partitioned, with partition projection for
    /// dt/hr), `dead_letters` and `bulk_publish_runs`.
    Ddl(DdlArgs),
}

/// Which catalogue's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dialect {
    /// Athena `CREATE EXTERNAL TABLE` statements.
    Athena,
    /// JSON of each `AWS::Glue::Table`'s `TableInput`, as `infra/template.yaml` holds them.
    Glue,
}

/// Flags of `table ddl`.
#[derive(Debug, Args)]
pub struct DdlArgs {
    /// The language.
    #[arg(long, value_enum)]
    pub dialect: Dialect,
    /// Where the table is (`s3://bucket/prefix`). Default: the template's bucket and prefix,
    /// as CloudFormation substitutions (`glue`), which `athena` cannot use.
    #[arg(long)]
    pub location: Option<String>,
    /// The Glue database (`athena`).
    #[arg(long, default_value = "synclake")]
    pub database: String,
    /// The table's partition layout, as given to the writers.
    #[arg(long, default_value_t = PartitionSpec::default())]
    pub partition_by: PartitionSpec,
    /// The first day (YYYY-MM-DD, UTC) partition projection lists: your pools' earliest
    /// change. Default: 2014-01-01, Cognito Sync's launch year; with `glue` and no
    /// `--location`, the template's TableStartDate parameter.
    #[arg(long, value_parser = day)]
    pub since: Option<String>,
}

/// A calendar day, `YYYY-MM-DD` (digits only: chrono alone would take a sign before a year).
fn day(text: &str) -> Result<String, String> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(_) if shaped => Ok(text.to_owned()),
        _ => Err(format!("{text}: not a day (YYYY-MM-DD)")),
    }
}

/// Runs `synclake table`.
pub fn run(args: TableArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        TableCommand::Ddl(a) => ddl(a),
    }
}

/// The three tables over a table root, the changes projected from `since`.
pub fn tables(partition_by: &PartitionSpec, since: &str) -> Result<Vec<GlueTable>, DdlError> {
    Ok(vec![
        partitioned_table(
            "changes",
            "Cognito Sync record changes from Cognito Streams: one row per record change (synclake)",
            &table_schema(),
            partition_by,
            since,
        )?,
        directory_table(
            "dead_letters",
            "Input synclake could not convert: raw bytes, stage and reason (synclake)",
            synclake_lake::dead_letter::DEAD_LETTER_DIR,
            &dead_letter_schema(),
        )?,
        directory_table(
            "bulk_publish_runs",
            "Cognito Sync bulk publish runs recorded by synclake: when each pool became complete",
            synclake_bulk_publish::record::DIR,
            &synclake_bulk_publish::record::schema(),
        )?,
    ])
}

fn ddl(args: DdlArgs) -> anyhow::Result<ExitCode> {
    let template = args.dialect == Dialect::Glue && args.location.is_none();
    let since = match (&args.since, template) {
        (Some(since), _) => since.as_str(),
        (None, true) => TEMPLATE_SINCE,
        (None, false) => PROJECTION_START,
    };
    let tables = tables(&args.partition_by, since)?;
    match args.dialect {
        Dialect::Athena => {
            let Some(root) = args.location.as_deref() else {
                anyhow::bail!("--dialect athena needs --location s3://bucket/prefix (where the table is)");
            };
            anyhow::ensure!(
                root.starts_with("s3://"),
                "--location {root}: Athena reads tables on S3 (s3://bucket/prefix)"
            );
            for t in &tables {
                println!("{}", t.athena_ddl(&args.database, root));
            }
        }
        Dialect::Glue => {
            let root = args.location.as_deref().unwrap_or(TEMPLATE_ROOT);
            let out: serde_json::Map<String, Value> = tables
                .iter()
                .map(|t| (t.name.clone(), cloudformation_subs(t.glue_json(root))))
                .collect();
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Wraps the strings of a `TableInput` that name the template's parameters in `Fn::Sub`,
/// escaping every other placeholder (the projection's `${dt}` → `${!dt}`), which is text for
/// Athena, not a parameter.
fn cloudformation_subs(mut input: Value) -> Value {
    if let Some(loc) = input.pointer_mut("/StorageDescriptor/Location") {
        *loc = sub(loc.as_str().unwrap_or_default());
    }
    if let Some(Value::Object(params)) = input.pointer_mut("/Parameters") {
        for v in params.values_mut() {
            *v = sub(v.as_str().unwrap_or_default());
        }
    }
    input
}

fn sub(text: &str) -> Value {
    if !TEMPLATE_PARAMETERS.iter().any(|p| text.contains(p)) {
        return Value::String(text.to_owned());
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        out.push_str(if TEMPLATE_PARAMETERS.iter().any(|p| tail.starts_with(p)) {
            "${"
        } else {
            "${!"
        });
        rest = &tail[2..];
    }
    out.push_str(rest);
    serde_json::json!({ "Fn::Sub": out })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_output_substitutes_the_template_root_and_escapes_partition_placeholders() {
        let tables = tables(&PartitionSpec::default(), TEMPLATE_SINCE).expect("tables");
        let changes = cloudformation_subs(tables[0].glue_json(TEMPLATE_ROOT));
        assert_eq!(
            changes.pointer("/StorageDescriptor/Location"),
            Some(&serde_json::json!({"Fn::Sub": "s3://${TableBucket}/${TablePrefix}/"}))
        );
        assert_eq!(
            changes.pointer("/Parameters/storage.location.template"),
            Some(&serde_json::json!({"Fn::Sub": "s3://${TableBucket}/${TablePrefix}/dt=${!dt}/hr=${!hr}/"}))
        );
        assert_eq!(
            changes.pointer("/Parameters/projection.dt.range"),
            Some(&serde_json::json!({"Fn::Sub": "${TableStartDate},NOW"}))
        );
        assert_eq!(
            changes.pointer("/Parameters/projection.hr.range"),
            Some(&serde_json::json!("0,23"))
        );
        let plain = cloudformation_subs(tables[1].glue_json("s3://b/t"));
        assert_eq!(
            plain.pointer("/StorageDescriptor/Location"),
            Some(&serde_json::json!("s3://b/t/_dead_letters/"))
        );
        assert_eq!(tables[2].dir, "_bulk_publish/");
    }

    #[test]
    fn since_is_a_calendar_day() {
        assert_eq!(day("2016-02-29"), Ok("2016-02-29".to_owned()));
        for bad in [
            "2019-02-29",
            "2019-13-01",
            "2019-1-01",
            "20190101",
            "2019-04-31",
            "x-y-z",
            "2019-+1-01",
            "+201-01-01",
        ] {
            assert!(day(bad).is_err(), "{bad}");
        }
    }
}
