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

impl PartitionSpec {
    /// Writes the payload's partition path (`dt=…/hr=…`, no leading or trailing slash) into
    /// `out`, which is cleared first. Empty for an unpartitioned table.
    pub fn render(&self, payload: &Payload<'_>, out: &mut String) {
        out.clear();
        let time = payload.last_modified.and_then(DateTime::from_timestamp_millis);
        for (i, col) in self.0.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(col.name());
            out.push('=');
            match (col, time) {
                (PartitionColumn::Dt, Some(t)) => {
                    let _ = write!(out, "{:04}-{:02}-{:02}", t.year(), t.month(), t.day());
                }
                (PartitionColumn::Hr, Some(t)) => {
                    let _ = write!(out, "{:02}", t.hour());
                }
                (PartitionColumn::Dt | PartitionColumn::Hr, None) => out.push_str(NULL_PARTITION),
                (PartitionColumn::IdentityPoolId, _) => push_escaped(out, payload.identity_pool_id.as_str()),
                (PartitionColumn::DatasetName, _) => push_escaped(out, payload.dataset_name.as_str()),
            }
        }
    }
}

/// Appends a partition value, percent-encoded; an empty value becomes the null partition.
pub fn push_escaped(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push_str(NULL_PARTITION);
    } else {
        let _ = write!(out, "{}", utf8_percent_encode(value, ESCAPED));
    }
}
