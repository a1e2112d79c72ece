//! The table as AWS Glue and Athena see it, derived from the Arrow schemas so that the two can
//! never drift: column types ([`glue_type`]), partition keys, and partition projection for the
//! time partitions (`dt`, `hr`), so that Athena finds every partition without a crawler or
//! `MSCK REPAIR`. `synclake table ddl` prints it; `infra/template.yaml` holds it, and a test
//! fails when the template and these definitions disagree.

use std::fmt::Write as _;

use arrow_schema::{DataType, Schema};

use crate::partition::{PartitionColumn, PartitionSpec};

/// Earliest day partition projection enumerates by default: Cognito Sync (and its streams)
/// launched in 2014, so no `lastModifiedDate` is older. A later start (the pools' earliest
/// change) makes queries without a `dt` filter list fewer prefixes.
pub const PROJECTION_START: &str = "2014-01-01";

/// A column a Glue table declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueColumn {
    /// The column's name.
    pub name: String,
    /// Its Hive/Glue type (`string`, `bigint`, `timestamp`, …).
    pub glue_type: &'static str,
}

/// A Glue table over one directory of the table root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlueTable {
    /// The table's name.
    pub name: String,
    /// What it holds, for the table's `Description`.
    pub description: String,
    /// The directory under the table root (`""` for the root itself, else `dir/`).
    pub dir: String,
    /// Columns stored in the files.
    pub columns: Vec<GlueColumn>,
    /// Partition columns (directory names), all `string`.
    pub partitions: Vec<GlueColumn>,
    /// Table parameters: partition projection (without `storage.location.template`, which
    /// depends on where the table is) or nothing.
    pub projection: Vec<(String, String)>,
}

/// Why a schema cannot be declared to Glue.
#[derive(Debug, thiserror::Error)]
#[error("column {column}: no Glue type for {data_type}")]
pub struct DdlError {
    column: String,
    data_type: DataType,
}

/// The Glue (Hive) type Athena reads a Parquet column of this Arrow type as, if any.
pub fn glue_type(data_type: &DataType) -> Option<&'static str> {
    Some(match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string",
        DataType::Dictionary(_, value) if matches!(value.as_ref(), DataType::Utf8) => "string",
        DataType::Int64 => "bigint",
        DataType::Int32 => "int",
        DataType::Boolean => "boolean",
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary",
        DataType::Timestamp(_, _) => "timestamp",
        DataType::Float64 => "double",
        _ => return None,
    })
}

/// The Glue columns of an Arrow schema, in file order.
pub fn columns(schema: &Schema) -> Result<Vec<GlueColumn>, DdlError> {
    schema
        .fields()
        .iter()
        .map(|f| {
            glue_type(f.data_type())
                .map(|glue_type| GlueColumn {
                    name: f.name().clone(),
                    glue_type,
                })
                .ok_or_else(|| DdlError {
                    column: f.name().clone(),
                    data_type: f.data_type().clone(),
                })
        })
        .collect()
}

/// Partition projection parameters for a partition layout, days from `since` to now, or `None`
/// when a column cannot be projected (pools and dataset names are not known in advance: such
/// a table needs its partitions added, e.g. by `MSCK REPAIR TABLE`).
pub fn projection(spec: &PartitionSpec, since: &str) -> Option<Vec<(String, String)>> {
    let mut p = vec![("projection.enabled".to_owned(), "true".to_owned())];
    for col in &spec.0 {
        let name = col.name();
        let mut set = |k: &str, v: &str| p.push((format!("projection.{name}.{k}"), v.to_owned()));
        match col {
            PartitionColumn::Dt => {
                set("type", "date");
                set("format", "yyyy-MM-dd");
                set("range", &format!("{since},NOW"));
                set("interval", "1");
                set("interval.unit", "DAYS");
            }
            PartitionColumn::Hr => {
                set("type", "integer");
                set("range", "0,23");
                set("digits", "2");
            }
            PartitionColumn::IdentityPoolId | PartitionColumn::DatasetName => return None,
        }
    }
    Some(p)
}

/// The `storage.location.template` of a projected table at `location` (ending in `/`).
fn location_template<'a>(location: &str, partitions: impl IntoIterator<Item = &'a str>) -> String {
    let mut t = location.to_owned();
    for name in partitions {
        let _ = write!(t, "{name}=${{{name}}}/");
    }
    t
}

/// A Glue table over the table root: its columns, partitions and projection (days from
/// `since`).
pub fn partitioned_table(
    name: &str,
    description: &str,
    schema: &Schema,
    spec: &PartitionSpec,
    since: &str,
) -> Result<GlueTable, DdlError> {
    Ok(GlueTable {
        name: name.to_owned(),
        description: description.to_owned(),
        dir: String::new(),
        columns: columns(schema)?,
        partitions: spec
            .0
            .iter()
            .map(|c| GlueColumn {
                name: c.name().to_owned(),
                glue_type: "string",
            })
            .collect(),
        projection: projection(spec, since).unwrap_or_default(),
    })
}

/// A Glue table over one unpartitioned `_`-prefixed directory of the table root.
pub fn directory_table(name: &str, description: &str, dir: &str, schema: &Schema) -> Result<GlueTable, DdlError> {
    Ok(GlueTable {
        name: name.to_owned(),
        description: description.to_owned(),
        dir: format!("{}/", dir.trim_end_matches('/')),
        columns: columns(schema)?,
        partitions: Vec::new(),
        projection: Vec::new(),
    })
}

impl GlueTable {
    /// Where the table's files are, under the table root `root` (an `s3://` URL).
    pub fn location(&self, root: &str) -> String {
        format!("{}/{}", root.trim_end_matches('/'), self.dir)
    }

    /// Table parameters at `root`: the projection with its location template.
    pub fn parameters(&self, root: &str) -> Vec<(String, String)> {
        let mut p = vec![("classification".to_owned(), "parquet".to_owned())];
        if !self.projection.is_empty() {
            p.extend(self.projection.iter().cloned());
            let names = self.partitions.iter().map(|c| c.name.as_str());
            p.push((
                "storage.location.template".to_owned(),
                location_template(&self.location(root), names),
            ));
        }
        p
    }

    /// Athena's `CREATE EXTERNAL TABLE` for the table in `database` at `root`.
    pub fn athena_ddl(&self, database: &str, root: &str) -> String {
        let cols = |cs: &[GlueColumn]| {
            cs.iter()
                .map(|c| format!("  `{}` {}", c.name, c.glue_type))
                .collect::<Vec<_>>()
                .join(",\n")
        };
        let mut s = format!(
            "-- {}\nCREATE EXTERNAL TABLE IF NOT EXISTS `{database}`.`{}` (\n{}\n)\n",
            self.description,
            self.name,
            cols(&self.columns)
        );
        if !self.partitions.is_empty() {
            let _ = writeln!(s, "PARTITIONED BY (\n{}\n)", cols(&self.partitions));
        }
        let _ = write!(
            s,
            "STORED AS PARQUET\nLOCATION '{}'\nTBLPROPERTIES (\n",
            self.location(root)
        );
        let props: Vec<String> = self
            .parameters(root)
            .iter()
            .map(|(k, v)| format!("  '{k}' = '{v}'"))
            .collect();
        let _ = write!(s, "{}\n);\n", props.join(",\n"));
        if !self.partitions.is_empty() && self.projection.is_empty() {
            let _ = writeln!(
                s,
                "-- These partitions cannot be projected: add them after each write, e.g.\nMSCK REPAIR TABLE `{database}`.`{}`;",
                self.name
            );
        }
        s
    }

    /// The table as JSON for a CloudFormation `AWS::Glue::Table`'s `TableInput` (valid YAML
    /// too) at `root`: name, description, parameters, Parquet storage, columns, partition keys.
    pub fn glue_json(&self, root: &str) -> serde_json::Value {
        let cols = |cs: &[GlueColumn]| {
            cs.iter()
                .map(|c| serde_json::json!({"Name": c.name, "Type": c.glue_type}))
                .collect::<Vec<_>>()
        };
        let parameters: serde_json::Map<String, serde_json::Value> = self
            .parameters(root)
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect();
        serde_json::json!({
            "Name": self.name,
            "Description": self.description,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": cols(&self.partitions),
            "StorageDescriptor": {
                "Location": self.location(root),
                "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
                "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                },
                "Columns": cols(&self.columns),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{batch_schema, dead_letter_schema, table_schema};

    #[test]
    fn every_column_of_every_schema_has_a_glue_type() {
        for schema in [table_schema(), batch_schema(), dead_letter_schema()] {
            let cols = columns(&schema).expect("declarable");
            assert_eq!(cols.len(), schema.fields().len());
        }
        let cols = columns(&table_schema()).expect("declarable");
        let find = |n: &str| cols.iter().find(|c| c.name == n).map(|c| c.glue_type);
        assert_eq!(find("key"), Some("string"));
        assert_eq!(find("sync_count"), Some("bigint"));
        assert_eq!(find("sub_index"), Some("int"));
        assert_eq!(find("last_modified"), Some("timestamp"));
        let dead = columns(&dead_letter_schema()).expect("declarable");
        assert!(dead.iter().any(|c| c.name == "raw" && c.glue_type == "binary"));
    }

    #[test]
    fn a_type_glue_cannot_hold_is_an_error_naming_the_column() {
        let schema = Schema::new(vec![arrow_schema::Field::new("f", DataType::Float16, true)]);
        let e = columns(&schema).expect_err("no Glue type");
        assert!(e.to_string().contains("column f"), "{e}");
    }

    #[test]
    fn the_default_partitions_are_projected_and_others_are_not() {
        let p = projection(&PartitionSpec::default(), PROJECTION_START).expect("dt and hr project");
        assert!(p.contains(&("projection.dt.type".into(), "date".into())));
        assert!(p.contains(&("projection.hr.digits".into(), "2".into())));
        assert!(p.contains(&("projection.dt.range".into(), "2014-01-01,NOW".into())));
        let spec: PartitionSpec = "dt,identity_pool_id".parse().expect("a spec");
        assert_eq!(projection(&spec, PROJECTION_START), None);
    }

    #[test]
    fn athena_ddl_names_location_partitions_and_projection() {
        let t =
            partitioned_table("changes", "d", &table_schema(), &PartitionSpec::default(), "2021-06-01").expect("table");
        let ddl = t.athena_ddl("synclake", "s3://b/t");
        assert!(
            ddl.contains("CREATE EXTERNAL TABLE IF NOT EXISTS `synclake`.`changes`"),
            "{ddl}"
        );
        assert!(ddl.contains("`key` string"), "{ddl}");
        assert!(ddl.contains("'projection.dt.range' = '2021-06-01,NOW'"), "{ddl}");
        assert!(
            ddl.contains("PARTITIONED BY (\n  `dt` string,\n  `hr` string\n)"),
            "{ddl}"
        );
        assert!(ddl.contains("LOCATION 's3://b/t/'"), "{ddl}");
        assert!(
            ddl.contains("'storage.location.template' = 's3://b/t/dt=${dt}/hr=${hr}/'"),
            "{ddl}"
        );
        let dead = directory_table("dead_letters", "d", "_dead_letters", &dead_letter_schema()).expect("table");
        let ddl = dead.athena_ddl("synclake", "s3://b/t/");
        assert!(ddl.contains("LOCATION 's3://b/t/_dead_letters/'"), "{ddl}");
        assert!(!ddl.contains("PARTITIONED BY"), "{ddl}");
        assert!(!ddl.contains("projection"), "{ddl}");
    }
}
