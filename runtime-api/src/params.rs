//! Schemas of the query parameters both APIs read as plain integers: `format: int32`/`int64` would
//! understate or overstate what the servers accept, so each states its real bounds.

use utoipa::Number;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

/// A query parameter read as a `u64` (an event or transcript seq).
pub struct SeqParam;

impl utoipa::PartialSchema for SeqParam {
    fn schema() -> RefOr<Schema> {
        integer(u64::MAX, "A sequence number")
    }
}

impl utoipa::ToSchema for SeqParam {}

/// The `limit` query parameter, read as a `u32` and clamped to the page bounds.
pub struct LimitParam;

impl utoipa::PartialSchema for LimitParam {
    fn schema() -> RefOr<Schema> {
        let description = format!(
            "Page size; clamped to 1..={}, and the page says what it applied; {} when absent",
            crate::limits::MAX_PAGE_LIMIT,
            crate::limits::DEFAULT_PAGE_LIMIT
        );
        integer(u32::MAX.into(), &description)
    }
}

impl utoipa::ToSchema for LimitParam {}

/// An integer schema from 0 to `max`.
fn integer(max: u64, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .description(Some(description))
        .minimum(Some(0))
        .maximum(Some(Number::UInt(usize::try_from(max).unwrap_or(usize::MAX))))
        .into()
}
