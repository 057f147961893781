//! Deterministic serialisations of a report table: CSV as report.md "Files:
//! format" defines it, and Parquet with fixed writer properties.
//!
//! Both are pure functions of the schema and the rows: the same table gives
//! the same bytes on every run and machine (no clock, no host, no batch
//! boundaries: batches are concatenated first). Neither formats anything for
//! people (thousands separators, localised names belong to publish).

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, SchemaRef};
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};

use super::error::{QueryError, Result};

/// The `created_by` written into every Parquet file.
pub fn parquet_created_by() -> String {
    format!("wasnaker {}", env!("CARGO_PKG_VERSION"))
}

/// The CSV of a table: UTF-8 without BOM, `\n` line ends, a header row,
/// RFC 4180 quoting only where needed, an empty field for null, integers
/// plain, decimals with exactly their scale's digits (`50.0`), booleans
/// `true`/`false`, dates `YYYY-MM-DD`. A text cell starting with `=`, `+`,
/// `-` or `@` gets a leading `'` so a spreadsheet shows it instead of
/// executing it; cells of numeric columns are never changed. Floating-point
/// columns are refused.
pub fn to_csv(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    for field in schema.fields() {
        check_csv_type(field.name(), field.data_type())?;
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    let csv_err = |source| QueryError::Csv { source };
    writer
        .write_record(schema.fields().iter().map(|f| f.name().as_str()))
        .map_err(csv_err)?;
    let options = FormatOptions::default();
    for batch in batches {
        let cells: Vec<Column> = batch
            .columns()
            .iter()
            .map(|array| Column::new(array, &options))
            .collect::<Result<_>>()?;
        let mut record: Vec<String> = Vec::with_capacity(cells.len());
        for row in 0..batch.num_rows() {
            record.clear();
            for column in &cells {
                record.push(column.cell(row));
            }
            writer.write_record(&record).map_err(csv_err)?;
        }
    }
    writer.into_inner().map_err(|e| QueryError::Csv {
        source: csv::Error::from(e.into_error()),
    })
}

fn check_csv_type(column: &str, data_type: &DataType) -> Result<()> {
    match data_type {
        DataType::Float16 | DataType::Float32 | DataType::Float64 => Err(QueryError::FloatColumn {
            column: column.to_string(),
            data_type: data_type.clone(),
        }),
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Decimal128(_, _)
        | DataType::Boolean
        | DataType::Date32
        | DataType::Null => Ok(()),
        other => Err(QueryError::UnsupportedColumn {
            column: column.to_string(),
            data_type: other.clone(),
        }),
    }
}

/// How one column's cells are written.
enum Column<'a> {
    Text(ArrayFormatter<'a>),
    Plain(ArrayFormatter<'a>),
    Decimal(&'a datafusion::arrow::array::PrimitiveArray<Decimal128Type>, u32),
}

impl<'a> Column<'a> {
    fn new(array: &'a ArrayRef, options: &'a FormatOptions<'a>) -> Result<Self> {
        let formatter = || ArrayFormatter::try_new(array.as_ref(), options).map_err(|source| QueryError::Arrow { source });
        Ok(match array.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Column::Text(formatter()?),
            DataType::Decimal128(_, scale) => {
                let scale = u32::try_from(*scale).map_err(|_| QueryError::UnsupportedColumn {
                    column: "(decimal with negative scale)".to_string(),
                    data_type: array.data_type().clone(),
                })?;
                Column::Decimal(array.as_primitive::<Decimal128Type>(), scale)
            }
            _ => Column::Plain(formatter()?),
        })
    }

    fn cell(&self, row: usize) -> String {
        match self {
            Column::Text(f) => {
                let text = f.value(row).to_string();
                neutralise(text)
            }
            Column::Plain(f) => f.value(row).to_string(),
            Column::Decimal(array, scale) => {
                if array.is_null(row) {
                    String::new()
                } else {
                    format_decimal(array.value(row), *scale)
                }
            }
        }
    }
}

/// Prefixes `'` to text a spreadsheet would execute.
fn neutralise(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text
    }
}

/// `value × 10^-scale` with exactly `scale` digits after the point.
pub(crate) fn format_decimal(value: i128, scale: u32) -> String {
    let digits = value.unsigned_abs().to_string();
    let sign = if value < 0 { "-" } else { "" };
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int, frac) = padded.split_at(padded.len() - scale);
    format!("{sign}{int}.{frac}")
}

/// The Parquet file of a table, byte-for-byte reproducible: one row group,
/// zstd level 3, format 1.0 pages, page-level statistics, `created_by`
/// [`parquet_created_by`], no other key-value metadata than the Arrow schema
/// the writer embeds.
pub fn to_parquet(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let parquet_err = |source| QueryError::Parquet { source };
    let batch = concat_batches(schema, batches).map_err(|source| QueryError::Arrow { source })?;
    let level = ZstdLevel::try_new(3).map_err(parquet_err)?;
    let properties = WriterProperties::builder()
        .set_created_by(parquet_created_by())
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(Compression::ZSTD(level))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_dictionary_enabled(true)
        .set_max_row_group_row_count(Some(1 << 20))
        .set_key_value_metadata(None)
        .build();
    let mut writer = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(properties)).map_err(parquet_err)?;
    writer.write(&batch).map_err(parquet_err)?;
    writer.into_inner().map_err(parquet_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_keep_their_scale() {
        assert_eq!(format_decimal(500, 1), "50.0");
        assert_eq!(format_decimal(5, 1), "0.5");
        assert_eq!(format_decimal(0, 1), "0.0");
        assert_eq!(format_decimal(-5, 1), "-0.5");
        assert_eq!(format_decimal(-123, 2), "-1.23");
        assert_eq!(format_decimal(7, 0), "7");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(neutralise("=1+1".into()), "'=1+1");
        assert_eq!(neutralise("@SUM(A1)".into()), "'@SUM(A1)");
        assert_eq!(neutralise("a=b".into()), "a=b");
    }
}
