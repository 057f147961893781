//! `first_value(x ORDER BY …)` and `last_value(x ORDER BY …)` grouped, with
//! each group's ordering key kept in arrow's row format.
//!
//! The SQL functions are DataFusion's own: same names, signatures, types,
//! intermediate state and results. Only their grouped accumulator is
//! replaced. DataFusion 55's keeps the ordering values of each group's
//! current pick as `ScalarValue`s, so every row that wins within its batch
//! costs a few allocations (one per string) and a comparison of
//! `ScalarValue`s; on `complaint_state`'s `last_value(status ORDER BY
//! event_at, event_id)` that is ten times the cost of a plain `max`, once per
//! month of the trend. Here the ordering columns of a batch are encoded once
//! ([`RowConverter`]: bytes that compare as the rows sort, with each column's
//! direction and null placement), and a group's pick is its key's bytes and
//! its value's bytes, compared with `memcmp` and replaced in place.
//!
//! Ties keep the row seen first, as DataFusion's accumulator does; `FILTER`,
//! `IGNORE NULLS` and the partial → final state (value, ordering columns,
//! `is_set`) follow it too, so the two can be mixed in one plan (a Ballista
//! executor uses its own). Nested ordering columns (DataFusion compares
//! those otherwise) and whatever the row format cannot encode are left to
//! DataFusion's accumulator. A test compares the two on random inputs.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, new_null_array};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::{DataType, FieldRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, internal_err};
use datafusion::functions_aggregate::first_last::{first_value_udaf, last_value_udaf};
use datafusion::logical_expr::expr::{AggregateFunction, AggregateFunctionParams, WindowFunctionParams};
use datafusion::logical_expr::function::{AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs};
use datafusion::logical_expr::udf_eq::UdfEq;
use datafusion::logical_expr::utils::AggregateOrderSensitivity;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Documentation, EmitTo, Expr, GroupsAccumulator, Operator, ReversedUDAF, SetMonotonicity,
    Signature, StatisticsArgs,
};
use datafusion::physical_expr::LexOrdering;

/// `first_value` and `last_value`, to be registered over DataFusion's (same
/// names).
pub fn functions() -> Vec<Arc<AggregateUDF>> {
    vec![wrap(first_value_udaf()), wrap(last_value_udaf())]
}

/// DataFusion's `first_value` or `last_value` with this module's grouped
/// accumulator; any other function is returned as it is.
fn wrap(udaf: Arc<AggregateUDF>) -> Arc<AggregateUDF> {
    if row_ordered(&udaf).is_some() {
        return udaf;
    }
    let inner = udaf.inner();
    let pick_first = match inner.name() {
        "first_value" => true,
        "last_value" => false,
        _ => return udaf,
    };
    Arc::new(AggregateUDF::new_from_shared_impl(Arc::new(RowOrdered {
        inner: Arc::clone(inner).into(),
        pick_first,
    })))
}

/// `udaf` as this module's wrapper, if it is one.
fn row_ordered(udaf: &AggregateUDF) -> Option<&RowOrdered> {
    (udaf.inner().as_ref() as &dyn std::any::Any).downcast_ref()
}

/// DataFusion's function (`inner`), every method delegated to it except the
/// grouped accumulator's creation.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RowOrdered {
    inner: UdfEq<Arc<dyn AggregateUDFImpl>>,
    /// `first_value` (else `last_value`).
    pick_first: bool,
}

impl RowOrdered {
    /// This module's accumulator for `args`, or `None` when DataFusion's is
    /// to be used (no `ORDER BY`, a nested ordering column, a type the row
    /// format cannot encode or decodes as another).
    fn accumulator_for(&self, args: &AccumulatorArgs) -> Result<Option<RowOrderedAccumulator>> {
        // The same ordering as DataFusion's accumulator (duplicates removed),
        // so the state has the same ordering columns.
        let Some(ordering) = LexOrdering::new(args.order_bys.to_vec()) else {
            return Ok(None);
        };
        let key_types = ordering
            .iter()
            .map(|e| e.expr.data_type(args.schema))
            .collect::<Result<Vec<DataType>>>()?;
        // Nested keys (lists, structs) compare otherwise in DataFusion (its
        // `ScalarValue` comparison places nulls inside them regardless of the
        // sort options): left to it.
        if key_types.iter().any(DataType::is_nested) {
            return Ok(None);
        }
        let value_type = args.return_field.data_type().clone();
        let options: Vec<SortOptions> = ordering.iter().map(|e| e.options).collect();
        // Anything the row format cannot do with these types: DataFusion's.
        Ok(self
            .row_accumulator(key_types, &options, value_type, args.ignore_nulls)
            .ok()
            .flatten())
    }

    fn row_accumulator(
        &self,
        key_types: Vec<DataType>,
        options: &[SortOptions],
        value_type: DataType,
        ignore_nulls: bool,
    ) -> std::result::Result<Option<RowOrderedAccumulator>, ArrowError> {
        let keys: Vec<SortField> = key_types
            .iter()
            .zip(options)
            .map(|(t, o)| SortField::new_with_options(t.clone(), *o))
            .collect();
        let value = [SortField::new(value_type.clone())];
        if !RowConverter::supports_fields(&keys) || !RowConverter::supports_fields(&value) {
            return Ok(None);
        }
        let keys = RowConverter::new(keys)?;
        let values = RowConverter::new(value.to_vec())?;
        let null_key = encode(&keys, &key_types.iter().map(|t| new_null_array(t, 1)).collect::<Vec<_>>())?;
        let null_value = encode(&values, &[new_null_array(&value_type, 1)])?;
        // A type the row format decodes as another (a dictionary as its
        // values) is left to DataFusion: the state and result must keep
        // their types.
        let decoded_types = |converter: &RowConverter, bytes: &[u8]| -> std::result::Result<Vec<DataType>, ArrowError> {
            let parser = converter.parser();
            let arrays = converter.convert_rows([parser.parse(bytes)])?;
            Ok(arrays.iter().map(|a| a.data_type().clone()).collect())
        };
        if decoded_types(&keys, &null_key)? != key_types || decoded_types(&values, &null_value)? != [value_type] {
            return Ok(None);
        }
        Ok(Some(RowOrderedAccumulator {
            pick_first: self.pick_first,
            ignore_nulls,
            keys,
            values,
            null_key,
            null_value,
            picked: Vec::new(),
            heap_bytes: 0,
        }))
    }
}

/// The bytes of the one row of `columns`.
fn encode(converter: &RowConverter, columns: &[ArrayRef]) -> std::result::Result<Vec<u8>, ArrowError> {
    let rows = converter.convert_columns(columns)?;
    Ok(rows.row(0).as_ref().to_vec())
}

impl AggregateUDFImpl for RowOrdered {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn signature(&self) -> &Signature {
        self.inner.signature()
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        self.inner.return_type(arg_types)
    }

    fn accumulator(&self, acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.accumulator(acc_args)
    }

    fn aliases(&self) -> &[String] {
        self.inner.aliases()
    }

    fn schema_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.schema_name(params)
    }

    fn human_display(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.human_display(params)
    }

    fn window_function_schema_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.window_function_schema_name(params)
    }

    fn display_name(&self, params: &AggregateFunctionParams) -> Result<String> {
        self.inner.display_name(params)
    }

    fn window_function_display_name(&self, params: &WindowFunctionParams) -> Result<String> {
        self.inner.window_function_display_name(params)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        self.inner.state_fields(args)
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        self.inner.groups_accumulator_supported(args)
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        match self.accumulator_for(&args)? {
            Some(acc) => Ok(Box::new(acc)),
            None => self.inner.create_groups_accumulator(args),
        }
    }

    fn create_sliding_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.inner.create_sliding_accumulator(args)
    }

    fn with_beneficial_ordering(self: Arc<Self>, beneficial_ordering: bool) -> Result<Option<Arc<dyn AggregateUDFImpl>>> {
        let pick_first = self.pick_first;
        Ok(Arc::clone(&self.inner).with_beneficial_ordering(beneficial_ordering)?.map(|inner| {
            Arc::new(RowOrdered {
                inner: inner.into(),
                pick_first,
            }) as Arc<dyn AggregateUDFImpl>
        }))
    }

    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        self.inner.order_sensitivity()
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        self.inner.simplify()
    }

    fn simplify_expr_op_literal(
        &self,
        agg_function: &AggregateFunction,
        arg: &Expr,
        op: Operator,
        lit: &Expr,
        arg_is_left: bool,
    ) -> Result<Option<Expr>> {
        self.inner.simplify_expr_op_literal(agg_function, arg, op, lit, arg_is_left)
    }

    fn reverse_expr(&self) -> ReversedUDAF {
        match self.inner.reverse_expr() {
            ReversedUDAF::Reversed(udaf) => ReversedUDAF::Reversed(wrap(udaf)),
            other => other,
        }
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.inner.coerce_types(arg_types)
    }

    fn return_field(&self, arg_fields: &[FieldRef]) -> Result<FieldRef> {
        self.inner.return_field(arg_fields)
    }

    fn is_nullable(&self) -> bool {
        self.inner.is_nullable()
    }

    fn is_descending(&self) -> Option<bool> {
        self.inner.is_descending()
    }

    fn value_from_stats(&self, statistics_args: &StatisticsArgs) -> Option<ScalarValue> {
        self.inner.value_from_stats(statistics_args)
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        self.inner.default_value(data_type)
    }

    fn supports_null_handling_clause(&self) -> bool {
        self.inner.supports_null_handling_clause()
    }

    fn supports_within_group_clause(&self) -> bool {
        self.inner.supports_within_group_clause()
    }

    fn set_monotonicity(&self, data_type: &DataType) -> SetMonotonicity {
        self.inner.set_monotonicity(data_type)
    }

    fn documentation(&self) -> Option<&Documentation> {
        self.inner.documentation()
    }
}

/// A group's pick: the encoded ordering key and value of its row.
#[derive(Debug, Default)]
struct Picked {
    key: Vec<u8>,
    value: Vec<u8>,
}

impl Picked {
    fn heap_bytes(&self) -> usize {
        self.key.capacity() + self.value.capacity()
    }
}

#[derive(Debug)]
struct RowOrderedAccumulator {
    pick_first: bool,
    ignore_nulls: bool,
    /// The ordering columns, each with its direction and null placement.
    keys: RowConverter,
    /// The value column.
    values: RowConverter,
    /// The state of a group with no row yet: null orderings and value.
    null_key: Vec<u8>,
    null_value: Vec<u8>,
    /// Per group index.
    picked: Vec<Option<Picked>>,
    /// What the picks hold on the heap.
    heap_bytes: usize,
}

impl RowOrderedAccumulator {
    /// Offers each row of a batch to its group: `rows_in(row)` says whether
    /// the row takes part (`FILTER`, or `is_set` of a partial state).
    fn offer(
        &mut self,
        value: &ArrayRef,
        ordering: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
        rows_in: impl Fn(usize) -> bool,
    ) -> Result<()> {
        if self.picked.len() < total_num_groups {
            self.picked.resize_with(total_num_groups, || None);
        }
        let keys = self.keys.convert_columns(ordering)?;
        let values = self.values.convert_columns(std::slice::from_ref(value))?;
        for (row, &group) in group_indices.iter().enumerate() {
            if !rows_in(row) || (self.ignore_nulls && value.is_null(row)) {
                continue;
            }
            let key = keys.row(row);
            let slot = &mut self.picked[group];
            let wins = match slot {
                None => true,
                // Strictly before (first) or after (last): a tie keeps the
                // row seen first.
                Some(p) => {
                    let order = key.as_ref().cmp(p.key.as_slice());
                    if self.pick_first { order.is_lt() } else { order.is_gt() }
                }
            };
            if wins {
                let p = slot.get_or_insert_with(Picked::default);
                let before = p.heap_bytes();
                p.key.clear();
                p.key.extend_from_slice(key.as_ref());
                p.value.clear();
                p.value.extend_from_slice(values.row(row).as_ref());
                self.heap_bytes = self.heap_bytes + p.heap_bytes() - before;
            }
        }
        Ok(())
    }

    /// The picks of the groups `emit_to` names, removed from the state.
    fn take(&mut self, emit_to: EmitTo) -> Vec<Option<Picked>> {
        let taken = emit_to.take_needed(&mut self.picked);
        self.heap_bytes -= taken.iter().flatten().map(Picked::heap_bytes).sum::<usize>();
        taken
    }

    fn value_array(&self, picked: &[Option<Picked>]) -> Result<ArrayRef> {
        let parser = self.values.parser();
        let rows = picked
            .iter()
            .map(|p| parser.parse(p.as_ref().map_or(&self.null_value, |p| &p.value)));
        match self.values.convert_rows(rows)?.pop() {
            Some(array) => Ok(array),
            None => internal_err!("no value column decoded"),
        }
    }
}

impl GroupsAccumulator for RowOrderedAccumulator {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let Some((value, ordering)) = values.split_first() else {
            return internal_err!("first_value/last_value: no value column");
        };
        // A row passes FILTER only when its predicate is true (not null).
        self.offer(value, ordering, group_indices, total_num_groups, |row| {
            opt_filter.is_none_or(|f| f.is_valid(row) && f.value(row))
        })
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        // The state: value, ordering columns, is_set.
        let (Some((is_set, rest)), true) = (values.split_last(), values.len() >= 2) else {
            return internal_err!("first_value/last_value: state of {} columns", values.len());
        };
        let Some(is_set) = is_set.as_any().downcast_ref::<BooleanArray>() else {
            return internal_err!("first_value/last_value: is_set is {}", is_set.data_type());
        };
        let (value, ordering) = (&rest[0], &rest[1..]);
        self.offer(value, ordering, group_indices, total_num_groups, |row| {
            is_set.is_valid(row) && is_set.value(row)
        })
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let picked = self.take(emit_to);
        self.value_array(&picked)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let picked = self.take(emit_to);
        let mut state = vec![self.value_array(&picked)?];
        let parser = self.keys.parser();
        let keys = picked.iter().map(|p| parser.parse(p.as_ref().map_or(&self.null_key, |p| &p.key)));
        state.extend(self.keys.convert_rows(keys)?);
        state.push(Arc::new(BooleanArray::from_iter(picked.iter().map(|p| Some(p.is_some())))));
        Ok(state)
    }

    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        // Each row as its own group's state; its is_set is the FILTER
        // (whose nulls mean "not set", see `merge_batch`).
        let mut state = values.to_vec();
        let len = values.first().map_or(0, |v| v.len());
        state.push(match opt_filter {
            Some(f) => Arc::new(f.clone()),
            None => Arc::new(BooleanArray::from(vec![true; len])),
        });
        Ok(state)
    }

    fn size(&self) -> usize {
        self.picked.capacity() * size_of::<Option<Picked>>()
            + self.heap_bytes
            + self.keys.size()
            + self.values.size()
            + self.null_key.capacity()
            + self.null_value.capacity()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampNanosecondArray,
    };
    use datafusion::arrow::compute::SortOptions;
    use datafusion::arrow::datatypes::FieldRef;
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::execution::FunctionRegistry;
    use datafusion::logical_expr::function::AccumulatorArgs;
    use datafusion::physical_expr::expressions::col;
    use datafusion::physical_expr::{PhysicalExpr, PhysicalSortExpr};
    use datafusion::prelude::SessionContext;

    use crate::demo::rng::mix;

    /// `partitions` × `batches` batches of `rows` rows: group `g`, value `v`
    /// (a tenth null), orderings `a` (few values, a fifth null: ties), `t`
    /// (a timestamp, a tenth null) and `x` (floats with -0.0, NaN, null), a
    /// unique `id`, and a filter `f` (a tenth null).
    fn table(seed: u64, partitions: usize, batches: usize, rows: usize, groups: u64) -> MemTable {
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Int64, false),
            Field::new("v", DataType::Utf8, true),
            Field::new("a", DataType::Int64, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), true),
            Field::new("id", DataType::Utf8, false),
            Field::new("f", DataType::Boolean, true),
            Field::new("x", DataType::Float64, true),
        ]));
        let mut n = 0u64;
        let mut parts = Vec::new();
        for _ in 0..partitions {
            let mut part = Vec::new();
            for _ in 0..batches {
                let r: Vec<u64> = (0..rows as u64).map(|i| mix(seed ^ mix(n + i))).collect();
                let pick = |i: usize, k: u32| (r[i] >> k) % 10;
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(Int64Array::from_iter_values(r.iter().map(|x| (x % groups) as i64))),
                    Arc::new(StringArray::from_iter(
                        (0..rows).map(|i| (pick(i, 8) != 0).then(|| format!("v{}", (r[i] >> 20) % 1000))),
                    )),
                    Arc::new(Int64Array::from_iter(
                        (0..rows).map(|i| (pick(i, 12) >= 2).then_some(((r[i] >> 30) % 4) as i64)),
                    )),
                    Arc::new(
                        TimestampNanosecondArray::from_iter(
                            (0..rows).map(|i| (pick(i, 16) != 0).then_some(((r[i] >> 34) % 50) as i64 * 1_000_000_000)),
                        )
                        .with_timezone("UTC"),
                    ),
                    // Unique, of varying length (a prefix of another sorts first).
                    Arc::new(StringArray::from_iter_values((0..rows as u64).map(|i| format!("E{}", n + i)))),
                    Arc::new(BooleanArray::from_iter(
                        (0..rows).map(|i| (pick(i, 24) != 0).then_some(pick(i, 28) >= 3)),
                    )),
                    // -0.0 and 0.0, NaN, null: ordered as DataFusion does?
                    Arc::new(Float64Array::from_iter((0..rows).map(|i| {
                        [Some(-0.0), Some(0.0), Some(f64::NAN), None, Some(1.5), Some(-2.0)]
                            .get(pick(i, 32) as usize)
                            .copied()
                            .unwrap_or(Some(0.25))
                    }))),
                ];
                n += rows as u64;
                part.push(RecordBatch::try_new(schema.clone(), columns).unwrap());
            }
            parts.push(part);
        }
        MemTable::try_new(schema, parts).unwrap()
    }

    async fn run(ctx: &SessionContext, settings: &[&str], sql: &str) -> String {
        for s in settings {
            ctx.sql(s).await.unwrap().collect().await.unwrap();
        }
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        pretty_format_batches(&batches).unwrap().to_string()
    }

    fn ours_and_theirs() -> (SessionContext, SessionContext) {
        let ours = super::super::context::local_session(None);
        let udaf = ours.udaf("last_value").unwrap();
        assert!(super::row_ordered(&udaf).is_some());
        (ours, SessionContext::new())
    }

    /// Every total order (the unique `id` last) gives one answer, whatever
    /// the partitioning and batch order: ours must equal DataFusion's, with
    /// and without pre-aggregation skipped (partial states made from rows).
    #[tokio::test]
    async fn same_results_as_datafusions_accumulator_on_random_rows() {
        let sql = "SELECT g, \
              last_value(v ORDER BY a, t, id) AS l1, \
              first_value(v ORDER BY a, t, id) AS f1, \
              last_value(v ORDER BY a DESC NULLS FIRST, id) FILTER (WHERE f) AS l2, \
              first_value(v ORDER BY t NULLS FIRST, id DESC) FILTER (WHERE f) AS f2, \
              last_value(v ORDER BY t, id) IGNORE NULLS AS l3, \
              first_value(a ORDER BY id DESC) FILTER (WHERE NOT f) AS f3, \
              last_value(t ORDER BY v, id) AS l4, \
              last_value(v ORDER BY x, id) AS l5, \
              first_value(id ORDER BY x DESC NULLS LAST, id) FILTER (WHERE f) AS f5, \
              count(*) AS n \
            FROM t GROUP BY g ORDER BY g";
        let settings: [&[&str]; 2] = [
            &[
                "SET datafusion.execution.batch_size = 13",
                "SET datafusion.execution.target_partitions = 3",
            ],
            &[
                "SET datafusion.execution.batch_size = 7",
                "SET datafusion.execution.target_partitions = 4",
                "SET datafusion.execution.skip_partial_aggregation_probe_rows_threshold = 10",
                "SET datafusion.execution.skip_partial_aggregation_probe_ratio_threshold = 0.01",
            ],
        ];
        for (seed, groups) in [(1, 5), (2, 300), (3, 2_000)] {
            for s in settings {
                let (ours, theirs) = ours_and_theirs();
                for ctx in [&ours, &theirs] {
                    ctx.register_table("t", Arc::new(table(seed, 3, 20, 97, groups))).unwrap();
                }
                let expected = run(&theirs, s, sql).await;
                assert_eq!(run(&ours, s, sql).await, expected, "seed {seed}, {groups} groups, {s:?}");
                assert!(expected.lines().count() > 4 + groups as usize / 2, "{expected}");
                if s.len() > 2 && groups > 5 {
                    // The partial states were made from rows (convert_to_state).
                    let plan = run(&ours, &[], &format!("EXPLAIN ANALYZE {sql}")).await;
                    let skipped = plan.split("skipped_aggregation_rows=").nth(1).unwrap_or("0");
                    assert!(!skipped.starts_with('0'), "{plan}");
                }
            }
        }
    }

    /// With ties (same ordering values), one partition read in order: the
    /// row seen first is kept, as DataFusion's accumulator does.
    #[tokio::test]
    async fn a_tie_keeps_the_row_seen_first_as_datafusions_accumulator_does() {
        let sql = "SELECT g, last_value(v ORDER BY a) AS l, first_value(v ORDER BY a DESC) AS f, \
                   last_value(id ORDER BY t) FILTER (WHERE f) AS lf \
                   FROM t GROUP BY g ORDER BY g";
        let s: &[&str] = &[
            "SET datafusion.execution.batch_size = 11",
            "SET datafusion.execution.target_partitions = 1",
        ];
        let (ours, theirs) = ours_and_theirs();
        for ctx in [&ours, &theirs] {
            ctx.register_table("t", Arc::new(table(9, 1, 30, 50, 40))).unwrap();
        }
        assert_eq!(run(&ours, s, sql).await, run(&theirs, s, sql).await);
    }

    /// The arguments of `last_value(<the first column of schema> ORDER BY
    /// order_bys)`, `exprs` and `fields` being that column's.
    fn last_value_args<'a>(
        schema: &'a Schema,
        order_bys: &'a [PhysicalSortExpr],
        exprs: &'a [Arc<dyn PhysicalExpr>],
        fields: &'a [FieldRef],
        ignore_nulls: bool,
    ) -> AccumulatorArgs<'a> {
        AccumulatorArgs {
            return_field: Arc::new(Field::new("last_value", DataType::Utf8, true)),
            schema,
            ignore_nulls,
            order_bys,
            is_reversed: false,
            name: "last_value",
            is_distinct: false,
            exprs,
            expr_fields: fields,
        }
    }

    /// The first groups emitted alone (as a sorted or spilling aggregate
    /// does), a state merged with a null `is_set`, IGNORE NULLS.
    #[test]
    fn groups_emitted_first_and_states_merged() {
        use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
        let f = super::functions();
        let last = super::row_ordered(&f[1]).unwrap();
        let schema = Schema::new(vec![Field::new("v", DataType::Utf8, true), Field::new("k", DataType::Int64, true)]);
        let order_bys = [PhysicalSortExpr::new(col("k", &schema).unwrap(), SortOptions::default())];
        let exprs = [col("v", &schema).unwrap()];
        let fields = [Arc::new(schema.field(0).clone())];
        let new = |ignore_nulls| {
            let args = last_value_args(&schema, &order_bys, &exprs, &fields, ignore_nulls);
            last.accumulator_for(&args).unwrap().unwrap()
        };
        let strings = |v: &[Option<&str>]| Arc::new(StringArray::from(v.to_vec())) as ArrayRef;
        let ints = |v: &[Option<i64>]| Arc::new(Int64Array::from(v.to_vec())) as ArrayRef;
        let texts = |a: &ArrayRef| -> Vec<Option<String>> {
            let a = a.as_any().downcast_ref::<StringArray>().unwrap();
            (0..a.len()).map(|i| a.is_valid(i).then(|| a.value(i).to_string())).collect()
        };
        let some = |v: &[Option<&str>]| v.iter().map(|s| s.map(str::to_string)).collect::<Vec<_>>();

        // Groups 0..3; group 2 gets no row; group 1's greatest key has a null value.
        let mut partial = new(false);
        let rows = [
            strings(&[Some("a"), Some("b"), Some("c"), None]),
            ints(&[Some(1), Some(5), Some(2), Some(9)]),
        ];
        partial.update_batch(&rows, &[0, 1, 0, 1], None, 4).unwrap();
        let rows = [strings(&[Some("d"), Some("e")]), ints(&[Some(1), Some(7)])];
        partial.update_batch(&rows, &[0, 3], None, 4).unwrap();
        let first_two = partial.state(EmitTo::First(2)).unwrap();
        assert_eq!(texts(&first_two[0]), some(&[Some("c"), None]));
        let rest = partial.state(EmitTo::All).unwrap();
        assert_eq!(texts(&rest[0]), some(&[None, Some("e")]));
        assert_eq!(
            rest[2].as_any().downcast_ref::<BooleanArray>().unwrap(),
            &BooleanArray::from(vec![false, true])
        );
        assert_eq!(partial.heap_bytes, 0, "every pick taken");

        // Final: the first two groups' states, then one row whose is_set is
        // null (not set), then one that wins.
        let mut last_of = new(false);
        last_of.merge_batch(&first_two, &[0, 1], 2).unwrap();
        let state = [
            strings(&[Some("x"), Some("y")]),
            ints(&[Some(99), Some(10)]),
            Arc::new(BooleanArray::from(vec![None, Some(true)])) as ArrayRef,
        ];
        last_of.merge_batch(&state, &[0, 1], 2).unwrap();
        assert_eq!(texts(&last_of.evaluate(EmitTo::First(1)).unwrap()), some(&[Some("c")]));
        assert_eq!(texts(&last_of.evaluate(EmitTo::All).unwrap()), some(&[Some("y")]));

        // IGNORE NULLS: group 1's null value at key 9 is passed over.
        let mut ignoring = new(true);
        let rows = [strings(&[Some("a"), Some("b"), None]), ints(&[Some(1), Some(5), Some(9)])];
        ignoring.update_batch(&rows, &[0, 1, 1], None, 2).unwrap();
        assert_eq!(texts(&ignoring.evaluate(EmitTo::All).unwrap()), some(&[Some("a"), Some("b")]));
    }

    /// The grouped accumulator is this module's for the report's shape
    /// (string value, timestamp and string orderings), and DataFusion's
    /// without ORDER BY or when ordering by a dictionary.
    #[test]
    fn the_accumulator_is_ours_when_there_is_an_ordering() {
        let schema = Schema::new(vec![
            Field::new("status", DataType::Utf8, false),
            Field::new("at", DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), false),
            Field::new("id", DataType::Utf8, false),
        ]);
        let order_bys = vec![
            PhysicalSortExpr::new(col("at", &schema).unwrap(), SortOptions::default()),
            PhysicalSortExpr::new(col("id", &schema).unwrap(), SortOptions::default()),
        ];
        let exprs = [col("status", &schema).unwrap()];
        let fields = [Arc::new(schema.field(0).clone())];
        let args = |order_bys| last_value_args(&schema, order_bys, &exprs, &fields, false);
        let dictionary = Schema::new(vec![Field::new(
            "code",
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            false,
        )]);
        let by_dictionary = [PhysicalSortExpr::new(col("code", &dictionary).unwrap(), SortOptions::default())];
        for udaf in super::functions() {
            let f = super::row_ordered(&udaf).unwrap();
            assert!(f.accumulator_for(&args(&order_bys)).unwrap().is_some(), "{}", udaf.name());
            assert!(f.accumulator_for(&args(&[])).unwrap().is_none(), "{}", udaf.name());
            // Decoded from the row format as strings: DataFusion's.
            let args = AccumulatorArgs {
                schema: &dictionary,
                ..args(&by_dictionary)
            };
            assert!(f.accumulator_for(&args).unwrap().is_none(), "{}", udaf.name());
        }
    }
}
