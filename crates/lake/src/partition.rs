//! Hive-style partition paths (`dt=2024-03-01/hr=05/`), rendered per payload.
//!
//! Every row of a payload lands in the same partition (all partition columns are
//! dataset-level), so the path is computed once per payload. Values are percent-encoded
//! outside `[A-Za-z0-9_.~-]`, the way DuckDB and pyarrow write and read them (`:` → `%3A`),
//! so any identifier is a valid path component and reads back identical.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Timelike};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use synclake_records::Payload;

/// The value Hive readers interpret as null (a payload without `lastModifiedDate`).
pub const NULL_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A column the table can be partitioned by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionColumn {
    /// UTC date (`YYYY-MM-DD`) of the dataset's server `lastModifiedDate`.
    Dt,
    /// UTC hour (`00`..`23`) of the dataset's server `lastModifiedDate`.
    Hr,
    /// The identity pool.
    IdentityPoolId,
    /// The dataset name.
    DatasetName,
}

impl PartitionColumn {
    /// The column's name in paths and in the table readers see.
    pub fn name(self) -> &'static str {
        match self {
            PartitionColumn::Dt => "dt",
            PartitionColumn::Hr => "hr",
            PartitionColumn::IdentityPoolId => "identity_pool_id",
            PartitionColumn::DatasetName => "dataset_name",
        }
    }
}

/// Error for an unknown partition column name.
#[derive(Debug, thiserror::Error)]
#[error("unknown partition column `{0}` (expected dt, hr, identity_pool_id or dataset_name)")]
pub struct UnknownPartitionColumn(pub String);

impl FromStr for PartitionColumn {
    type Err = UnknownPartitionColumn;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "dt" => Ok(PartitionColumn::Dt),
            "hr" => Ok(PartitionColumn::Hr),
            "identity_pool_id" => Ok(PartitionColumn::IdentityPoolId),
            "dataset_name" => Ok(PartitionColumn::DatasetName),
            other => Err(UnknownPartitionColumn(other.to_owned())),
        }
    }
}

/// The ordered partition columns of a table; empty means unpartitioned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSpec(pub Vec<PartitionColumn>);

impl Default for PartitionSpec {
    /// `dt,hr`: what Athena users prune by, and what keeps a stream's output time-ordered.
    fn default() -> Self {
        PartitionSpec(vec![PartitionColumn::Dt, PartitionColumn::Hr])
    }
}

impl FromStr for PartitionSpec {
    type Err = UnknownPartitionColumn;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let cols = s
            .split(',')
            .filter(|c| !c.trim().is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PartitionSpec(cols))
    }
}

impl fmt::Display for PartitionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = self.0.iter().map(|c| c.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// Renders partition paths, remembering the date and hour strings of the last hour seen:
/// a stream's payloads come mostly in time order, so calendar arithmetic and formatting run
/// once per hour of data instead of once per payload.
#[derive(Debug, Clone)]
pub struct PartitionRenderer {
    spec: PartitionSpec,
    hour: Option<i64>,
    date_text: String,
    hour_text: String,
}

const HOUR_MS: i64 = 3_600_000;

impl PartitionRenderer {
    /// A renderer for `spec`.
    pub fn new(spec: PartitionSpec) -> Self {
        PartitionRenderer {
            spec,
            hour: None,
            date_text: String::new(),
            hour_text: String::new(),
        }
    }

    /// The columns rendered.
    pub fn spec(&self) -> &PartitionSpec {
        &self.spec
    }

    /// Writes the payload's partition path (`dt=…/hr=…`, no leading or trailing slash) into
    /// `out`, which is cleared first. Empty for an unpartitioned table.
    pub fn render(&mut self, payload: &Payload<'_>, out: &mut String) {
        out.clear();
        let hour = crate::schema::timestamp_in_range(payload.last_modified).map(|ms| ms.div_euclid(HOUR_MS));
        let known = hour.is_some_and(|h| self.hour == Some(h) || self.set_hour(h));
        for (i, col) in self.spec.0.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(col.name());
            out.push('=');
            match col {
                PartitionColumn::Dt if known => out.push_str(&self.date_text),
                PartitionColumn::Hr if known => out.push_str(&self.hour_text),
                PartitionColumn::Dt | PartitionColumn::Hr => out.push_str(NULL_PARTITION),
                PartitionColumn::IdentityPoolId => push_escaped(out, payload.identity_pool_id.as_str()),
                PartitionColumn::DatasetName => push_escaped(out, payload.dataset_name.as_str()),
            }
        }
    }

    /// Computes the texts of hour `h` (hours since the epoch); false if out of range.
    fn set_hour(&mut self, h: i64) -> bool {
        let Some(t) = h.checked_mul(HOUR_MS).and_then(DateTime::from_timestamp_millis) else {
            return false;
        };
        self.date_text.clear();
        self.hour_text.clear();
        let _ = write!(self.date_text, "{:04}-{:02}-{:02}", t.year(), t.month(), t.day());
        let _ = write!(self.hour_text, "{:02}", t.hour());
        self.hour = Some(h);
        true
    }
}

/// Appends a partition value, percent-encoded; an empty value becomes the null partition.
///
/// A value whose escaped form would make a directory name longer than file systems allow
/// (255 bytes; a 128-character dataset name of `:` escapes to 384) also goes to the null
/// partition: the row keeps its true value in its own column.
pub fn push_escaped(out: &mut String, value: &str) {
    let start = out.len();
    if !value.is_empty() {
        let _ = write!(out, "{}", utf8_percent_encode(value, ESCAPED));
    }
    if value.is_empty() || out.len() - start > MAX_ESCAPED_VALUE {
        out.truncate(start);
        out.push_str(NULL_PARTITION);
    }
}

/// Longest escaped partition value: with the longest column name (`identity_pool_id=`), a
/// directory name stays under 255 bytes.
const MAX_ESCAPED_VALUE: usize = 200;
