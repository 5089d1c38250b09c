using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>Options of <see cref="ClickRelevanceEstimator"/>.</summary>
    public sealed class ClickRelevanceOptions
    {
        /// <summary>Relevance column added (Single). Default <c>"Relevance"</c>.</summary>
        public string OutputColumnName { get; set; } = "Relevance";

        /// <summary>The item whose relevance is estimated: a scalar String, UInt32, Int32, UInt64 or Int64 id; for learning to
        /// rank, an id of the (query, document) pair. Default <c>"ItemId"</c>.</summary>
        public string ItemColumnName { get; set; } = "ItemId";

        /// <summary>Click label (Boolean, or Single &gt; 0 = click). Default <c>"Click"</c>.</summary>
        public string LabelColumnName { get; set; } = "Click";

        /// <summary>Examination propensity of each impression (Single, &gt; 0), e.g. the output of <c>EstimatePositionPropensity</c>
        /// or a known curve. Null: no correction, the estimate is the plain click-through rate (the naive label, for comparison).
        /// Default <c>"Propensity"</c>.</summary>
        public string? PropensityColumnName { get; set; } = "Propensity";

        /// <summary>Clipping of 1/propensity per click (propensity floor 1/MaximumWeight): a little bias for less variance.
        /// Default 10.</summary>
        public double MaximumWeight { get; set; } = 10;

        /// <summary>Optional second output column (Single): the number of impressions of the item in the fitting log (0 for an
        /// item never shown), e.g. to filter or to weight the rows. Default null (not added).</summary>
        public string? ImpressionsColumnName { get; set; }

        /// <summary>Relevance given to an item that has no impression in the fitting log. Default NaN (no information: filter
        /// those rows out, e.g. with <c>FilterRowsByMissingValues</c>).</summary>
        public float UnseenValue { get; set; } = float.NaN;
    }

    /// <summary>
    /// Estimates an item's relevance from an impression log with the inverse-propensity-scored click-through rate,
    /// relevance(item) = (1/n) Σ click · min(1/propensity, M) over the item's n impressions — unbiased for the probability
    /// that the item is clicked once examined under the position-based model (E[click / θ(position)] = relevance; the
    /// pointwise estimator of Saito et al., WSDM 2020) — and adds it as a label column to any data holding the item id, for
    /// any ML.NET trainer (regression, binary with a threshold, LambdaRank after rounding to integer grades).
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes (one pass over the impression log) |
    /// | Input column data type | item id: String, UInt32, Int32, UInt64 or Int64; click: Boolean or Single; propensity: Single (> 0) |
    /// | Output column data type | `Relevance` (Single; NaN for an unseen item by default), optional impression count (Single) |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank |
    /// | Saved as | ML.NET `ValueMapping` + `Expression` + `DropColumns` transforms |
    /// ]]></format>
    /// The transformer is typically fitted on the click log and applied to a table with one row per item (the documents of
    /// each query with their features), which then serves as training data.
    /// </remarks>
    public sealed class ClickRelevanceEstimator : IEstimator<ClickRelevanceTransformer>
    {
        private const string ValueColumn = "__clickrel_value";
        private const string CountColumn = "__clickrel_count";
        private const string IdTypes = "a scalar String, UInt32, Int32, UInt64 or Int64 id column";
        private readonly MLContext _context;
        private readonly ClickRelevanceOptions _options;

        internal ClickRelevanceEstimator(MLContext context, ClickRelevanceOptions options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrEmpty(options.OutputColumnName))
                throw new ArgumentException("OutputColumnName must be given.", nameof(options));
            if (string.IsNullOrEmpty(options.ItemColumnName))
                throw new ArgumentException("ItemColumnName must be given.", nameof(options));
            if (string.IsNullOrEmpty(options.LabelColumnName))
                throw new ArgumentException("LabelColumnName must be given.", nameof(options));
            if (!(options.MaximumWeight >= 1) || double.IsInfinity(options.MaximumWeight))
                throw new ArgumentOutOfRangeException(nameof(ClickRelevanceOptions.MaximumWeight), options.MaximumWeight, "MaximumWeight must be a finite number >= 1.");
            if (options.ImpressionsColumnName == options.OutputColumnName)
                throw new ArgumentException("ImpressionsColumnName must differ from OutputColumnName.", nameof(options));
        }

        private static bool IsId(DataViewType t)
            => t is TextDataViewType || t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32 || t == NumberDataViewType.UInt64 || t == NumberDataViewType.Int64;

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var o = _options;
            var id = Check.Column(inputSchema, o.ItemColumnName, "item id", IdTypes, c => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && IsId(c.ItemType));
            return Build(id.ItemType, null).GetOutputSchema(inputSchema);
        }

        /// <summary>Reads the log once, estimates each item's relevance, and returns the lookup transformer.</summary>
        public ClickRelevanceTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            var idCol = Check.Column(input.Schema, o.ItemColumnName, "item id", IdTypes, IsId);
            var lCol = Check.Column(input.Schema, o.LabelColumnName, "click label", DebiasingColumns.LabelTypes, DebiasingColumns.IsLabelType);
            DataViewSchema.Column? pCol = o.PropensityColumnName is null ? null
                : Check.Column(input.Schema, o.PropensityColumnName, "propensity", "Single (> 0)", t => t == NumberDataViewType.Single);
            var stats = new Dictionary<string, Acc>();
            var order = new List<string>();
            long rows = 0, clicks = 0, clipped = 0;
            var cols = new List<DataViewSchema.Column> { idCol, lCol };
            if (pCol.HasValue)
                cols.Add(pCol.Value);
            using (var cursor = input.GetRowCursor(cols))
            {
                var idGet = IdGetter(cursor, idCol);
                var lGet = DebiasingColumns.LabelGetter(cursor, lCol);
                var pGet = pCol.HasValue ? cursor.GetGetter<float>(pCol.Value) : null;
                float p = 1;
                for (; cursor.MoveNext(); rows++)
                {
                    string key = idGet();
                    bool c = lGet(rows);
                    if (pGet is not null)
                    {
                        pGet(ref p);
                        if (!(p > 0) || float.IsInfinity(p))
                            throw new InvalidOperationException(
                                $"The propensity column '{o.PropensityColumnName}' has the value {p.ToString(CultureInfo.InvariantCulture)} at row {rows}; expected a finite propensity > 0 " +
                                "(NaN comes from a position that is not a whole number >= 1).");
                    }
                    if (!stats.TryGetValue(key, out var a))
                    {
                        stats[key] = a = new Acc();
                        order.Add(key);
                    }
                    a.Impressions++;
                    if (c)
                    {
                        clicks++;
                        double w = 1.0 / p;
                        if (w > o.MaximumWeight)
                        {
                            clipped++;
                            w = o.MaximumWeight;
                        }
                        a.Sum += w;
                    }
                }
            }
            if (rows == 0)
                throw new InvalidOperationException("The impression log is empty: EstimateClickRelevance needs rows with an item id and a click label.");
            var relevance = order.Select(k => (float)(stats[k].Sum / stats[k].Impressions)).ToArray();
            var impressions = order.Select(k => (float)stats[k].Impressions).ToArray();
            using (var log = new RankerLog(_context, "Debiasing"))
                log.Info($"click relevance: {rows} impressions of {order.Count} items, {clicks} clicks ({clipped} with 1/propensity clipped at {o.MaximumWeight}), mean relevance {relevance.Average():G4}");
            var inner = Build(idCol.Type, (order, relevance, impressions)).Fit(input);
            return new ClickRelevanceTransformer(inner, order.Count, rows, clicks, clipped, o.MaximumWeight, o.PropensityColumnName is not null);
        }

        private sealed class Acc
        {
            public long Impressions;
            public double Sum;
        }

        private static Func<string> IdGetter(DataViewRow row, DataViewSchema.Column col)
        {
            var t = col.Type;
            if (t is TextDataViewType)
            {
                var g = row.GetGetter<ReadOnlyMemory<char>>(col);
                ReadOnlyMemory<char> v = default;
                return () => { g(ref v); return v.ToString(); };
            }
            if (t == NumberDataViewType.UInt32)
                return Number<uint>(row, col);
            if (t == NumberDataViewType.Int32)
                return Number<int>(row, col);
            if (t == NumberDataViewType.UInt64)
                return Number<ulong>(row, col);
            return Number<long>(row, col);
        }

        private static Func<string> Number<T>(DataViewRow row, DataViewSchema.Column col) where T : IFormattable
        {
            var g = row.GetGetter<T>(col);
            T v = default!;
            return () => { g(ref v); return v.ToString(null, CultureInfo.InvariantCulture); };
        }

        /// <summary>The saved chain; <paramref name="table"/> null = a one-entry placeholder (for schema propagation).</summary>
        private IEstimator<ITransformer> Build(DataViewType idType, (List<string> Ids, float[] Relevance, float[] Impressions)? table)
        {
            var ids = table?.Ids ?? new List<string> { "0" };
            var rel = table?.Relevance ?? new[] { 0f };
            var imp = table?.Impressions ?? new[] { 1f };
            IEstimator<ITransformer> maps;
            if (idType is TextDataViewType)
                maps = Maps(ids, rel, imp);
            else if (idType == NumberDataViewType.UInt32)
                maps = Maps(ids.Select(s => uint.Parse(s, CultureInfo.InvariantCulture)).ToList(), rel, imp);
            else if (idType == NumberDataViewType.Int32)
                maps = Maps(ids.Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList(), rel, imp);
            else if (idType == NumberDataViewType.UInt64)
                maps = Maps(ids.Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToList(), rel, imp);
            else
                maps = Maps(ids.Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToList(), rel, imp);
            var o = _options;
            // ValueMapping gives 0 for an unknown id, so the impression count (0 only for unseen items) decides
            string unseen = float.IsNaN(o.UnseenValue) ? "na(1.0)" : DebiasingColumns.Literal(o.UnseenValue);
            IEstimator<ITransformer> chain = maps.Append(_context.Transforms.Expression(o.OutputColumnName, $"(v, n) => n > 0.0 ? v : {unseen}", ValueColumn, CountColumn));
            if (o.ImpressionsColumnName is not null)
                chain = chain.Append(_context.Transforms.CopyColumns(o.ImpressionsColumnName, CountColumn));
            return chain.Append(_context.Transforms.DropColumns(ValueColumn, CountColumn));
        }

        private IEstimator<ITransformer> Maps<T>(IReadOnlyList<T> ids, float[] relevance, float[] impressions)
        {
            var o = _options;
            return _context.Transforms.Conversion.MapValue(ValueColumn, ids.Select((id, i) => new KeyValuePair<T, float>(id, relevance[i])), o.ItemColumnName)
                .Append(_context.Transforms.Conversion.MapValue(CountColumn, ids.Select((id, i) => new KeyValuePair<T, float>(id, impressions[i])), o.ItemColumnName));
        }
    }

    /// <summary>
    /// Adds the click-based relevance estimate of each row's item (and optionally its impression count). Saving writes built-in
    /// ML.NET transforms (<c>ValueMapping</c>, <c>Expression</c>, <c>DropColumns</c>).
    /// </summary>
    public sealed class ClickRelevanceTransformer : WrappedTransformer
    {
        internal ClickRelevanceTransformer(ITransformer inner, int items, long rows, long clicks, long clipped, double maximumWeight, bool corrected)
            : base(inner)
        {
            Items = items;
            Rows = rows;
            Clicks = clicks;
            ClippedClicks = clipped;
            MaximumWeight = maximumWeight;
            IsPropensityCorrected = corrected;
        }

        /// <summary>Distinct items in the fitting log.</summary>
        public int Items { get; }

        /// <summary>Impressions (rows) of the fitting log.</summary>
        public long Rows { get; }

        /// <summary>Clicks in the fitting log.</summary>
        public long Clicks { get; }

        /// <summary>Clicks whose 1/propensity exceeded <see cref="MaximumWeight"/> and was clipped.</summary>
        public long ClippedClicks { get; }

        /// <summary>The clip of 1/propensity.</summary>
        public double MaximumWeight { get; }

        /// <summary>True when the estimate is inverse-propensity corrected; false for the plain click-through rate.</summary>
        public bool IsPropensityCorrected { get; }
    }
}
