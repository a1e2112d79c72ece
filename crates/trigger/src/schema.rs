//! A documented subset of JSON Schema (draft 2020-12 semantics) for `type = "json"` values.
//!
//! Supported keywords: `type` (a name or a list), `enum`, `const`, `minimum`, `maximum`,
//! `exclusiveMinimum`, `exclusiveMaximum` (numbers), `minLength`, `maxLength` (characters),
//! `pattern` (Rust `regex` syntax, unanchored as in JSON Schema), `required`, `properties`,
//! `additionalProperties` (boolean or schema), `items` (one schema for every element),
//! `minItems`, `maxItems`; boolean schemas `true` / `false`. Annotations (`$schema`, `$id`,
//! `$comment`, `title`, `description`, `default`, `examples`) are accepted and ignored. Any other
//! keyword is a lint error, so that nobody believes a rule is enforced when it is not.
//!
//! Why not the `jsonschema` crate: it matches `pattern` with `fancy-regex`, a backtracking
//! engine, on values that are user data (a catastrophic-backtracking risk inside a 5 s budget),
//! and pulls dozens of crates. Validation here walks the schema, never more deeply than the value
//! (whose depth serde_json already caps at 128), so it is bounded by the size of the value.

use std::fmt::Write as _;

use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// A compiled schema.
#[derive(Debug, Clone)]
pub(crate) enum Schema {
    /// `true` or `{}`: anything.
    Any,
    /// `false`: nothing.
    Nothing,
    /// An object schema.
    Object(Box<ObjectSchema>),
}

/// The keywords of an object schema.
#[derive(Debug, Clone, Default)]
pub(crate) struct ObjectSchema {
    types: Option<Vec<JsonType>>,
    enum_values: Option<Vec<Value>>,
    const_value: Option<Value>,
    minimum: Option<f64>,
    maximum: Option<f64>,
    exclusive_minimum: Option<f64>,
    exclusive_maximum: Option<f64>,
    min_length: Option<u64>,
    max_length: Option<u64>,
    pattern: Option<Regex>,
    required: Vec<String>,
    properties: Vec<(String, Schema)>,
    additional: Option<Schema>,
    items: Option<Schema>,
    min_items: Option<u64>,
    max_items: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonType {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    fn from_name(s: &str) -> Option<JsonType> {
        Some(match s {
            "null" => JsonType::Null,
            "boolean" => JsonType::Boolean,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "string" => JsonType::String,
            "array" => JsonType::Array,
            "object" => JsonType::Object,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Boolean => "boolean",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }

    fn matches(self, v: &Value) -> bool {
        match (self, v) {
            (JsonType::Null, Value::Null) => true,
            (JsonType::Boolean, Value::Bool(_)) => true,
            (JsonType::Number, Value::Number(_)) => true,
            (JsonType::Integer, Value::Number(n)) => {
                n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.is_finite() && f.fract() == 0.0)
            }
            (JsonType::String, Value::String(_)) => true,
            (JsonType::Array, Value::Array(_)) => true,
            (JsonType::Object, Value::Object(_)) => true,
            _ => false,
        }
    }
}

const ANNOTATIONS: &[&str] = &[
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "default",
    "examples",
];

/// A problem in a schema: the path below `schema` and the message.
pub(crate) type SchemaError = (String, String);

impl Schema {
    /// Compiles a schema; errors carry a path suffix like `.properties.a.type`.
    pub(crate) fn compile(v: &Value) -> Result<Schema, Vec<SchemaError>> {
        let mut errors = Vec::new();
        let s = compile_at(v, &mut String::new(), &mut errors);
        if errors.is_empty() { Ok(s) } else { Err(errors) }
    }

    /// Validates a value; the error names the JSON Pointer of the failing part and the keyword,
    /// never the value itself (user data).
    pub(crate) fn validate(&self, v: &Value) -> Result<(), String> {
        let mut pointer = String::new();
        self.validate_at(v, &mut pointer)
    }

    fn validate_at(&self, v: &Value, ptr: &mut String) -> Result<(), String> {
        let o = match self {
            Schema::Any => return Ok(()),
            Schema::Nothing => return Err(at(ptr, "no value is allowed here (schema false)")),
            Schema::Object(o) => o,
        };
        if let Some(types) = &o.types
            && !types.iter().any(|t| t.matches(v))
        {
            let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
            return Err(at(ptr, &format!("type: expected {}", names.join(" or "))));
        }
        if let Some(values) = &o.enum_values
            && !values.contains(v)
        {
            return Err(at(ptr, "enum: not one of the allowed values"));
        }
        if let Some(c) = &o.const_value
            && c != v
        {
            return Err(at(ptr, "const: not the required value"));
        }
        match v {
            Value::Number(n) => {
                // Without arbitrary_precision every serde_json number has a finite f64 form.
                let f = n.as_f64().unwrap_or(0.0);
                if let Some(m) = o.minimum
                    && f < m
                {
                    return Err(at(ptr, &format!("minimum: below {m}")));
                }
                if let Some(m) = o.maximum
                    && f > m
                {
                    return Err(at(ptr, &format!("maximum: above {m}")));
                }
                if let Some(m) = o.exclusive_minimum
                    && f <= m
                {
                    return Err(at(ptr, &format!("exclusiveMinimum: not above {m}")));
                }
                if let Some(m) = o.exclusive_maximum
                    && f >= m
                {
                    return Err(at(ptr, &format!("exclusiveMaximum: not below {m}")));
                }
            }
            Value::String(s) => {
                if o.min_length.is_some() || o.max_length.is_some() {
                    let n = s.chars().count() as u64;
                    if let Some(m) = o.min_length
                        && n < m
                    {
                        return Err(at(ptr, &format!("minLength: shorter than {m}")));
                    }
                    if let Some(m) = o.max_length
                        && n > m
                    {
                        return Err(at(ptr, &format!("maxLength: longer than {m}")));
                    }
                }
                if let Some(re) = &o.pattern
                    && !re.is_match(s)
                {
                    return Err(at(ptr, "pattern: does not match"));
                }
            }
            Value::Array(items) => {
                let n = items.len() as u64;
                if let Some(m) = o.min_items
                    && n < m
                {
                    return Err(at(ptr, &format!("minItems: fewer than {m}")));
                }
                if let Some(m) = o.max_items
                    && n > m
                {
                    return Err(at(ptr, &format!("maxItems: more than {m}")));
                }
                if let Some(item) = &o.items {
                    for (i, e) in items.iter().enumerate() {
                        let len = ptr.len();
                        let _ = write!(ptr, "/{i}");
                        item.validate_at(e, ptr)?;
                        ptr.truncate(len);
                    }
                }
            }
            Value::Object(map) => {
                for r in &o.required {
                    if !map.contains_key(r) {
                        return Err(at(ptr, &format!("required: property {r:?} is missing")));
                    }
                }
                for (k, e) in map {
                    let sub = o.properties.iter().find(|(name, _)| name == k).map(|(_, s)| s);
                    let Some(sub) = sub.or(o.additional.as_ref()) else {
                        continue;
                    };
                    let len = ptr.len();
                    ptr.push('/');
                    push_pointer_token(ptr, k);
                    sub.validate_at(e, ptr)?;
                    ptr.truncate(len);
                }
            }
            Value::Null | Value::Bool(_) => {}
        }
        Ok(())
    }
}

fn at(ptr: &str, msg: &str) -> String {
    if ptr.is_empty() {
        msg.to_owned()
    } else {
        format!("at {ptr}: {msg}")
    }
}

/// Appends a JSON Pointer token (RFC 6901 escaping), shortened when long: it is user data.
fn push_pointer_token(ptr: &mut String, token: &str) {
    for (i, c) in token.chars().enumerate() {
        if i == 64 {
            ptr.push('…');
            break;
        }
        match c {
            '~' => ptr.push_str("~0"),
            '/' => ptr.push_str("~1"),
            c if c.is_control() => ptr.push('?'),
            c => ptr.push(c),
        }
    }
}

fn compile_at(v: &Value, path: &mut String, errors: &mut Vec<SchemaError>) -> Schema {
    let map = match v {
        Value::Bool(true) => return Schema::Any,
        Value::Bool(false) => return Schema::Nothing,
        Value::Object(m) => m,
        _ => {
            errors.push((path.clone(), "a schema must be an object or a boolean".to_owned()));
            return Schema::Any;
        }
    };
    if map.is_empty() {
        return Schema::Any;
    }
    let mut o = ObjectSchema::default();
    for (k, val) in map {
        let len = path.len();
        path.push('.');
        path.push_str(k);
        compile_keyword(&mut o, k, val, path, errors);
        path.truncate(len);
    }
    if let (Some(a), Some(b)) = (o.minimum, o.maximum)
        && a > b
    {
        errors.push((path.clone(), format!("minimum {a} is above maximum {b}")));
    }
    Schema::Object(Box::new(o))
}

fn compile_keyword(o: &mut ObjectSchema, k: &str, val: &Value, path: &mut String, errors: &mut Vec<SchemaError>) {
    let mut err = |msg: &str| errors.push((path.clone(), msg.to_owned()));
    match k {
        "type" => {
            let names: Vec<&Value> = match val {
                Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            let mut types = Vec::new();
            for n in names {
                match n.as_str().and_then(JsonType::from_name) {
                    Some(t) => types.push(t),
                    None => err(
                        "expected a type name (null, boolean, integer, number, string, array, object) or a list of them",
                    ),
                }
            }
            o.types = Some(types);
        }
        "enum" => match val {
            Value::Array(a) => o.enum_values = Some(a.clone()),
            _ => err("expected an array"),
        },
        "const" => o.const_value = Some(val.clone()),
        "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum" => {
            let Some(f) = val.as_f64().filter(|f| f.is_finite()) else {
                return err("expected a number");
            };
            match k {
                "minimum" => o.minimum = Some(f),
                "maximum" => o.maximum = Some(f),
                "exclusiveMinimum" => o.exclusive_minimum = Some(f),
                _ => o.exclusive_maximum = Some(f),
            }
        }
        "minLength" | "maxLength" | "minItems" | "maxItems" => {
            let Some(n) = val.as_u64() else {
                return err("expected a non-negative integer");
            };
            match k {
                "minLength" => o.min_length = Some(n),
                "maxLength" => o.max_length = Some(n),
                "minItems" => o.min_items = Some(n),
                _ => o.max_items = Some(n),
            }
        }
        "pattern" => match val.as_str() {
            Some(p) => match RegexBuilder::new(p)
                .size_limit(crate::value_type::REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(re) => o.pattern = Some(re),
                Err(e) => err(&format!("invalid regex: {e}")),
            },
            None => err("expected a string"),
        },
        "required" => match val
            .as_array()
            .and_then(|a| a.iter().map(|s| s.as_str().map(str::to_owned)).collect())
        {
            Some(r) => o.required = r,
            None => err("expected an array of strings"),
        },
        "properties" => match val {
            Value::Object(props) => {
                for (name, sub) in props {
                    let len = path.len();
                    let _ = write!(path, "[{name:?}]");
                    let s = compile_at(sub, path, errors);
                    path.truncate(len);
                    o.properties.push((name.clone(), s));
                }
            }
            _ => err("expected an object of schemas"),
        },
        "additionalProperties" => o.additional = Some(compile_at(val, path, errors)),
        "items" => o.items = Some(compile_at(val, path, errors)),
        k if ANNOTATIONS.contains(&k) => {}
        k => {
            err(&format!(
                "unsupported JSON Schema keyword `{k}` (see the supported subset)"
            ));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(v: Value) -> Schema {
        Schema::compile(&v).expect("valid schema")
    }

    #[test]
    fn object_schema() {
        let s = schema(json!({
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 3, "pattern": "^[a-z]+$"},
                "age": {"type": "integer", "minimum": 0, "maximum": 150},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "maxItems": 2}
            },
            "additionalProperties": false
        }));
        assert_eq!(s.validate(&json!({"name": "bob", "age": 3, "tags": ["a"]})), Ok(()));
        assert_eq!(
            s.validate(&json!({"age": 3})).unwrap_err(),
            "required: property \"name\" is missing"
        );
        assert_eq!(
            s.validate(&json!({"name": "bobby"})).unwrap_err(),
            "at /name: maxLength: longer than 3"
        );
        assert_eq!(
            s.validate(&json!({"name": "B"})).unwrap_err(),
            "at /name: pattern: does not match"
        );
        assert_eq!(
            s.validate(&json!({"name": "b", "age": 1.5})).unwrap_err(),
            "at /age: type: expected integer"
        );
        assert_eq!(
            s.validate(&json!({"name": "b", "age": 200})).unwrap_err(),
            "at /age: maximum: above 150"
        );
        assert_eq!(
            s.validate(&json!({"name": "b", "tags": ["a", "c"]})).unwrap_err(),
            "at /tags/1: enum: not one of the allowed values"
        );
        assert_eq!(
            s.validate(&json!({"name": "b", "x/y": 1})).unwrap_err(),
            "at /x~1y: no value is allowed here (schema false)"
        );
        assert_eq!(s.validate(&json!([])).unwrap_err(), "type: expected object");
    }

    #[test]
    fn scalars_and_booleans() {
        assert_eq!(schema(json!(true)).validate(&json!(null)), Ok(()));
        assert!(schema(json!(false)).validate(&json!(1)).is_err());
        let s = schema(json!({"type": ["number", "null"], "exclusiveMinimum": 0}));
        assert_eq!(s.validate(&json!(null)), Ok(()));
        assert!(s.validate(&json!(0)).is_err());
        assert_eq!(s.validate(&json!(0.5)), Ok(()));
        assert!(schema(json!({"const": "x"})).validate(&json!("y")).is_err());
        assert_eq!(
            schema(json!({"title": "t", "$schema": "x"})).validate(&json!(1)),
            Ok(())
        );
    }

    #[test]
    fn compile_errors_have_paths() {
        let errs = Schema::compile(&json!({
            "type": "thing",
            "properties": {"a": {"pattern": "("}, "b": {"format": "email"}},
            "minimum": 5, "maximum": 1
        }))
        .unwrap_err();
        let paths: Vec<&str> = errs.iter().map(|(p, _)| p.as_str()).collect();
        assert!(paths.contains(&".type"), "{errs:?}");
        assert!(paths.contains(&".properties[\"a\"].pattern"), "{errs:?}");
        assert!(paths.contains(&".properties[\"b\"].format"), "{errs:?}");
        assert!(
            errs.iter().any(|(_, m)| m.contains("minimum 5 is above maximum 1")),
            "{errs:?}"
        );
    }
}
