//! JSON Schemas of the JSON documents, generated from the Rust types that write them, so a
//! schema cannot say one thing while the code writes another. docs/schemas/ holds them;
//! tests/formats.rs regenerates them and fails when the files drift (PYSLIM_UPDATE_SCHEMAS=1
//! writes them anew), and validates real outputs against them.

use schemars::JsonSchema;

use super::json;

/// Every document's schema id and its JSON Schema.
pub fn all() -> Vec<(&'static str, serde_json::Value)> {
    vec![
        (json::SCHEMA, schema_of::<json::Document>(json::SCHEMA)),
        (
            json::CHECK_SCHEMA,
            schema_of::<json::CheckDocument>(json::CHECK_SCHEMA),
        ),
        (
            json::COMPARE_SCHEMA,
            schema_of::<json::CompareDocument>(json::COMPARE_SCHEMA),
        ),
        (
            json::PROPOSE_SCHEMA,
            schema_of::<json::ProposeDocument>(json::PROPOSE_SCHEMA),
        ),
    ]
}

/// The file a schema id is kept in: `pyslim.analysis/v1` → `pyslim.analysis.v1.schema.json`.
pub fn file_name(id: &str) -> String {
    format!("{}.schema.json", id.replace('/', "."))
}

/// The schema of `T`, with its `schema` property pinned to `id`: a document of another
/// kind or version does not validate.
fn schema_of<T: JsonSchema>(id: &str) -> serde_json::Value {
    // What pyslim writes, not what it would read: a field skipped when empty is optional.
    let mut value = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(schema) = value.pointer_mut("/properties/schema") {
        *schema = serde_json::json!({ "const": id });
    }
    value
}
