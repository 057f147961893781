//! Typed rows into Arrow record batches, bounded in rows and bytes.

use std::sync::Arc;

use arrow::array::{
    ArrayBuilder, ArrayRef, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder, Int64Builder, ListBuilder, StringBuilder,
    TimestampNanosecondBuilder,
};
use arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use super::validate::Value;

/// Rows per batch.
pub const BATCH_ROWS: usize = 8192;
/// Flush a batch early when its strings reach this many bytes (very long
/// fields must not make a batch huge).
pub const BATCH_BYTES: usize = 32 << 20;

enum Col {
    Str(StringBuilder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Ts(TimestampNanosecondBuilder),
    Date(Date32Builder),
    List(ListBuilder<StringBuilder>),
    Hash(FixedSizeBinaryBuilder),
}

/// Builds record batches of one schema from rows of [`Value`]s.
pub struct Batcher {
    schema: SchemaRef,
    cols: Vec<Col>,
    bytes: usize,
}

impl Batcher {
    /// Supported types: Utf8, Int64, Boolean, Timestamp(ns, tz), Date32,
    /// List<Utf8>, FixedSizeBinary(16).
    pub fn new(schema: SchemaRef) -> Batcher {
        let cols = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int64 => Col::Int(Int64Builder::new()),
                DataType::Boolean => Col::Bool(BooleanBuilder::new()),
                DataType::Timestamp(TimeUnit::Nanosecond, tz) => Col::Ts(TimestampNanosecondBuilder::new().with_timezone_opt(tz.clone())),
                DataType::Date32 => Col::Date(Date32Builder::new()),
                DataType::List(item) => Col::List(ListBuilder::new(StringBuilder::new()).with_field(item.clone())),
                DataType::FixedSizeBinary(n) => Col::Hash(FixedSizeBinaryBuilder::new(*n)),
                _ => Col::Str(StringBuilder::new()),
            })
            .collect();
        Batcher { schema, cols, bytes: 0 }
    }

    pub fn len(&self) -> usize {
        match self.cols.first() {
            Some(Col::Str(b)) => b.len(),
            Some(Col::Int(b)) => b.len(),
            Some(Col::Bool(b)) => b.len(),
            Some(Col::Ts(b)) => b.len(),
            Some(Col::Date(b)) => b.len(),
            Some(Col::List(b)) => b.len(),
            Some(Col::Hash(b)) => b.len(),
            None => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when the batch should be flushed.
    pub fn is_full(&self) -> bool {
        self.len() >= BATCH_ROWS || self.bytes >= BATCH_BYTES
    }

    /// Append one row; `row` has one value per schema field. A value of the
    /// wrong kind for its column is appended as null (the caller validated).
    pub fn push(&mut self, row: &[Value]) {
        for (col, v) in self.cols.iter_mut().zip(row) {
            match (col, v) {
                (Col::Str(b), Value::Str(s)) => {
                    self.bytes += s.len();
                    b.append_value(s)
                }
                (Col::Str(b), _) => b.append_null(),
                (Col::Int(b), Value::Int(i)) => b.append_value(*i),
                (Col::Int(b), _) => b.append_null(),
                (Col::Bool(b), Value::Bool(x)) => b.append_value(*x),
                (Col::Bool(b), _) => b.append_null(),
                (Col::Ts(b), Value::Ts(t)) => b.append_value(*t),
                (Col::Ts(b), _) => b.append_null(),
                (Col::Date(b), Value::Date(d)) => b.append_value(*d),
                (Col::Date(b), _) => b.append_null(),
                (Col::List(b), Value::List(items)) => {
                    for it in items {
                        b.values().append_value(it);
                    }
                    b.append(true)
                }
                (Col::List(b), _) => b.append(false),
                (Col::Hash(b), Value::Hash(h)) => {
                    // The builder was made with the field's width, 16.
                    if b.append_value(h).is_err() {
                        b.append_null()
                    }
                }
                (Col::Hash(b), _) => b.append_null(),
            }
        }
    }

    /// Take the rows appended so far as a batch.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        self.bytes = 0;
        let arrays: Vec<ArrayRef> = self
            .cols
            .iter_mut()
            .map(|c| match c {
                Col::Str(b) => Arc::new(b.finish()) as ArrayRef,
                Col::Int(b) => Arc::new(b.finish()),
                Col::Bool(b) => Arc::new(b.finish()),
                Col::Ts(b) => Arc::new(b.finish()),
                Col::Date(b) => Arc::new(b.finish()),
                Col::List(b) => Arc::new(b.finish()),
                Col::Hash(b) => Arc::new(b.finish()),
            })
            .collect();
        RecordBatch::try_new(self.schema.clone(), arrays)
    }
}
