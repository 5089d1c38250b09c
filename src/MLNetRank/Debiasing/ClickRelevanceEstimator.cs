using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>How <see cref="ClickRelevanceEstimator"/> turns an item's clicks and propensities into a relevance estimate.</summary>
    public enum ClickRelevanceMethod
    {
        /// <summary>Inverse propensity scoring: (1/n) Σ click · w, w = min(1/θ, M). Unbiased without clipping (M ≥ 1/θ); the
        /// clip trades a downward bias for less variance.</summary>
        InversePropensity,

        /// <summary>Self-normalised (Hájek) inverse propensity scoring: Σ click · w / Σ θ · w, w = min(1/θ, M). The denominator
        /// is the expectation of the numerator per unit of relevance, so clipping no longer biases the estimate (it stays
        /// consistent for any M ≥ 1); M = 1 gives the ratio estimator Σ click / Σ θ (the least variance when an item is shown at
        /// several positions), a large M the plain IPS. When every impression of an item has the same θ it equals
        /// <see cref="InversePropensity"/> without clipping.</summary>
        SelfNormalized,

        /// <summary>Doubly robust: a direct-model estimate f (per row from <see cref="ClickRelevanceEstimator.Options.PriorColumnName"/>, or
        /// the pooled estimate of all items) corrected by the self-normalised IPS of its residual,
        /// f + Σ w (click − θ f) / (Σ θ w + λ) = (Σ click · w + λ f) / (Σ θ w + λ), λ = <see cref="ClickRelevanceEstimator.Options.Shrinkage"/>.
        /// Unbiased when f is right whatever θ, consistent when θ is right whatever f (the correction dominates as exposure
        /// grows); λ = 0 is <see cref="SelfNormalized"/>; λ &gt; 0 pulls items with little exposure (few expected examinations)
        /// towards the model, where IPS is noisiest.</summary>
        DoublyRobust,
    }

    /// <summary>One (clip, shrinkage) setting tried on the held-out clicks, with its validation loss.</summary>
    public readonly struct ClickRelevanceCandidate
    {
        /// <summary>Creates a candidate.</summary>
        /// <param name="maximumWeight">The clip M.</param>
        /// <param name="shrinkage">The shrinkage λ.</param>
        /// <param name="validationLoss">Mean (click − θ · relevance)² over the held-out impressions.</param>
        public ClickRelevanceCandidate(double maximumWeight, double shrinkage, double validationLoss)
        {
            MaximumWeight = maximumWeight;
            Shrinkage = shrinkage;
            ValidationLoss = validationLoss;
        }

        /// <summary>The clip M of 1/θ.</summary>
        public double MaximumWeight { get; }

        /// <summary>The shrinkage λ (pseudo-examinations at the prior).</summary>
        public double Shrinkage { get; }

        /// <summary>Mean (click − θ · relevance)² over the held-out impressions of items seen in the training part: under the
        /// position-based model its expectation is a constant plus the θ²-weighted squared error of the relevance estimate.</summary>
        public double ValidationLoss { get; }

        /// <inheritdoc />
        public override string ToString() => FormattableString.Invariant($"M = {MaximumWeight:G4}, λ = {Shrinkage:G4}: loss {ValidationLoss:G6}");
    }

    public sealed partial class ClickRelevanceEstimator
    {
        /// <summary>Options of <see cref="ClickRelevanceEstimator"/>.</summary>
        public sealed class Options
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

            /// <summary>The estimator. Default <see cref="ClickRelevanceMethod.InversePropensity"/>.</summary>
            public ClickRelevanceMethod Method { get; set; } = ClickRelevanceMethod.InversePropensity;

            /// <summary>Clipping of 1/propensity per click (propensity floor 1/MaximumWeight): a little bias for less variance with
            /// <see cref="ClickRelevanceMethod.InversePropensity"/>, a choice of weights without bias for the self-normalised and
            /// doubly robust estimators. Default 10. Ignored when <see cref="MaximumWeightCandidates"/> is given.</summary>
            public double MaximumWeight { get; set; } = 10;

            /// <summary><see cref="ClickRelevanceMethod.DoublyRobust"/>: λ, the pseudo-examinations given to the prior. Default 0.
            /// Ignored when <see cref="ShrinkageCandidates"/> is given.</summary>
            public double Shrinkage { get; set; }

            /// <summary><see cref="ClickRelevanceMethod.DoublyRobust"/>: a Single column with a direct-model estimate of the row's item
            /// relevance (e.g. the score of a model trained on an earlier estimate; averaged over the item's rows). Null: the
            /// pooled self-normalised estimate of all items (empirical-Bayes shrinkage to the mean). Default null.</summary>
            public string? PriorColumnName { get; set; }

            /// <summary>When given, the clip is chosen on held-out clicks among these values (each ≥ 1): the estimate is fitted on
            /// the training part of the log and scored on the held-out impressions by the mean (click − θ · relevance)², then refitted
            /// on the whole log with the best value. Default null (use <see cref="MaximumWeight"/>).</summary>
            public double[]? MaximumWeightCandidates { get; set; }

            /// <summary>As <see cref="MaximumWeightCandidates"/>, for the shrinkage λ (each ≥ 0) of the doubly robust estimator;
            /// every (clip, shrinkage) pair is tried. Default null (use <see cref="Shrinkage"/>).</summary>
            public double[]? ShrinkageCandidates { get; set; }

            /// <summary>Share of the log held out for the choice of the clip or shrinkage, in (0, 1). Default 0.2.</summary>
            public double ValidationFraction { get; set; } = 0.2;

            /// <summary>Optional session id column (String, UInt32, Int32, UInt64 or Int64): whole sessions are held out together.
            /// Null: single impressions are held out. Default null.</summary>
            public string? SessionColumnName { get; set; }

            /// <summary>Seed of the held-out split; null draws one from the <see cref="MLContext"/>. Default null.</summary>
            public int? Seed { get; set; }

            /// <summary>Optional second output column (Single): the number of impressions of the item in the fitting log (0 for an
            /// item never shown), e.g. to filter or to weight the rows. Default null (not added).</summary>
            public string? ImpressionsColumnName { get; set; }

            /// <summary>Optional output column (Single): the item's expected examinations Σ θ over its impressions (0 for an item
            /// never shown). The estimate's variance is roughly relevance / exposure, so this is the natural example weight of a
            /// regression on the estimate. Default null (not added).</summary>
            public string? ExposureColumnName { get; set; }

            /// <summary>Relevance given to an item that has no impression in the fitting log. Default NaN (no information: filter
            /// those rows out, e.g. with <c>FilterRowsByMissingValues</c>).</summary>
            public float UnseenValue { get; set; } = float.NaN;
        }
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
    public sealed partial class ClickRelevanceEstimator : IEstimator<ClickRelevanceTransformer>
    {
        private const string ValueColumn = "__clickrel_value";
        private const string CountColumn = "__clickrel_count";
        private const string ExposureColumn = "__clickrel_exposure";
        internal const string IdTypes = "a scalar String, UInt32, Int32, UInt64 or Int64 id column";
        private readonly MLContext _context;
        private readonly ClickRelevanceEstimator.Options _options;

        internal ClickRelevanceEstimator(MLContext context, ClickRelevanceEstimator.Options options)
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
                throw new ArgumentOutOfRangeException(nameof(ClickRelevanceEstimator.Options.MaximumWeight), options.MaximumWeight, "MaximumWeight must be a finite number >= 1.");
            if (!(options.Shrinkage >= 0) || double.IsInfinity(options.Shrinkage))
                throw new ArgumentOutOfRangeException(nameof(ClickRelevanceEstimator.Options.Shrinkage), options.Shrinkage, "Shrinkage must be a finite number >= 0.");
            if (options.MaximumWeightCandidates is { } mc && (mc.Length == 0 || mc.Any(v => !(v >= 1) || double.IsInfinity(v))))
                throw new ArgumentOutOfRangeException(nameof(ClickRelevanceEstimator.Options.MaximumWeightCandidates), "MaximumWeightCandidates must hold at least one finite number, each >= 1.");
            if (options.ShrinkageCandidates is { } sc && (sc.Length == 0 || sc.Any(v => !(v >= 0) || double.IsInfinity(v))))
                throw new ArgumentOutOfRangeException(nameof(ClickRelevanceEstimator.Options.ShrinkageCandidates), "ShrinkageCandidates must hold at least one finite number, each >= 0.");
            if (options.ShrinkageCandidates is not null && options.Method != ClickRelevanceMethod.DoublyRobust)
                throw new ArgumentException("ShrinkageCandidates apply only to Method = DoublyRobust.", nameof(options));
            if (options.PriorColumnName is not null && options.Method != ClickRelevanceMethod.DoublyRobust)
                throw new ArgumentException("PriorColumnName applies only to Method = DoublyRobust.", nameof(options));
            if (!(options.ValidationFraction > 0 && options.ValidationFraction < 1))
                throw new ArgumentOutOfRangeException(nameof(ClickRelevanceEstimator.Options.ValidationFraction), options.ValidationFraction, "ValidationFraction must be in (0, 1).");
            var outputs = new[] { options.OutputColumnName, options.ImpressionsColumnName, options.ExposureColumnName }.Where(c => c is not null).ToList();
            if (outputs.Distinct().Count() != outputs.Count)
                throw new ArgumentException("OutputColumnName, ImpressionsColumnName and ExposureColumnName must differ.", nameof(options));
        }

        internal static bool IsId(DataViewType t)
            => t is TextDataViewType || t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32 || t == NumberDataViewType.UInt64 || t == NumberDataViewType.Int64;

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var o = _options;
            var id = Check.Column(inputSchema, o.ItemColumnName, "item id", IdTypes, c => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && IsId(c.ItemType));
            return Build(id.ItemType, null).GetOutputSchema(inputSchema);
        }

        /// <summary>Reads the log once, estimates each item's relevance (choosing the clip or shrinkage on held-out clicks when
        /// candidates are given), and returns the lookup transformer.</summary>
        public ClickRelevanceTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            var idCol = Check.Column(input.Schema, o.ItemColumnName, "item id", IdTypes, IsId);
            var lCol = Check.Column(input.Schema, o.LabelColumnName, "click label", DebiasingColumns.LabelTypes, DebiasingColumns.IsLabelType);
            DataViewSchema.Column? pCol = o.PropensityColumnName is null ? null
                : Check.Column(input.Schema, o.PropensityColumnName, "propensity", "Single (> 0)", t => t == NumberDataViewType.Single);
            DataViewSchema.Column? fCol = o.PriorColumnName is null ? null
                : Check.Column(input.Schema, o.PriorColumnName, "prior relevance", "Single (finite)", t => t == NumberDataViewType.Single);
            bool tune = o.MaximumWeightCandidates is not null || o.ShrinkageCandidates is not null;
            DataViewSchema.Column? sCol = o.SessionColumnName is null || !tune ? null
                : Check.Column(input.Schema, o.SessionColumnName, "session id", IdTypes, IsId);

            var index = new Dictionary<string, int>();
            var order = new List<string>();
            var item = new List<int>();
            var click = new List<bool>();
            var theta = new List<float>();
            var prior = fCol.HasValue ? new List<float>() : null;
            var session = sCol.HasValue ? new List<string>() : null;
            var cols = new List<DataViewSchema.Column> { idCol, lCol };
            if (pCol.HasValue)
                cols.Add(pCol.Value);
            if (fCol.HasValue)
                cols.Add(fCol.Value);
            if (sCol.HasValue)
                cols.Add(sCol.Value);
            long rows = 0;
            using (var cursor = input.GetRowCursor(cols))
            {
                var idGet = IdGetter(cursor, idCol);
                var lGet = DebiasingColumns.LabelGetter(cursor, lCol);
                var pGet = pCol.HasValue ? cursor.GetGetter<float>(pCol.Value) : null;
                var fGet = fCol.HasValue ? cursor.GetGetter<float>(fCol.Value) : null;
                var sGet = sCol.HasValue ? IdGetter(cursor, sCol.Value) : null;
                float p = 1, f = 0;
                for (; cursor.MoveNext(); rows++)
                {
                    string key = idGet();
                    click.Add(lGet(rows));
                    if (pGet is not null)
                    {
                        pGet(ref p);
                        if (!(p > 0) || float.IsInfinity(p))
                            throw new InvalidOperationException(
                                $"The propensity column '{o.PropensityColumnName}' has the value {p.ToString(CultureInfo.InvariantCulture)} at row {rows}; expected a finite propensity > 0 " +
                                "(NaN comes from a position that is not a whole number >= 1).");
                    }
                    theta.Add(p);
                    if (fGet is not null)
                    {
                        fGet(ref f);
                        if (!float.IsFinite(f))
                            throw new InvalidOperationException($"The prior relevance column '{o.PriorColumnName}' has the value {f.ToString(CultureInfo.InvariantCulture)} at row {rows}; expected a finite number.");
                        prior!.Add(f);
                    }
                    if (sGet is not null)
                        session!.Add(sGet());
                    if (!index.TryGetValue(key, out int k))
                    {
                        index[key] = k = order.Count;
                        order.Add(key);
                    }
                    item.Add(k);
                }
            }
            if (rows == 0)
                throw new InvalidOperationException("The impression log is empty: EstimateClickRelevance needs rows with an item id and a click label.");

            var data = new ClickRelevanceAlgorithms.Log(item.ToArray(), click.ToArray(), theta.ToArray(), prior?.ToArray(), order.Count);
            double maximumWeight = o.MaximumWeight, shrinkage = o.Shrinkage;
            List<ClickRelevanceCandidate>? tried = null;
            double validationLoss = double.NaN;
            using var log = new RankerLog(_context, "Debiasing");
            if (tune)
            {
                int seed = ContextSeed.Resolve(_context, o.Seed);
                var heldOut = ClickRelevanceAlgorithms.HoldOut(session, (int)rows, o.ValidationFraction, seed);
                tried = new List<ClickRelevanceCandidate>();
                foreach (double m in o.MaximumWeightCandidates ?? new[] { o.MaximumWeight })
                    foreach (double l in o.ShrinkageCandidates ?? new[] { o.Shrinkage })
                    {
                        double loss = ClickRelevanceAlgorithms.ValidationLoss(data, heldOut, o.Method, m, l);
                        tried.Add(new ClickRelevanceCandidate(m, l, loss));
                        log.Trace($"click relevance candidate M = {m.ToString("G4", CultureInfo.InvariantCulture)}, λ = {l.ToString("G4", CultureInfo.InvariantCulture)}: held-out loss {loss.ToString("G6", CultureInfo.InvariantCulture)}");
                    }
                if (tried.All(c => double.IsNaN(c.ValidationLoss)))
                    throw new InvalidOperationException("No held-out impression belongs to an item of the training part: the log is too small to choose the clip or shrinkage (give fixed values instead).");
                var best = tried.Where(c => !double.IsNaN(c.ValidationLoss)).OrderBy(c => c.ValidationLoss).First();
                maximumWeight = best.MaximumWeight;
                shrinkage = best.Shrinkage;
                validationLoss = best.ValidationLoss;
                log.Info($"click relevance: chose M = {maximumWeight.ToString("G4", CultureInfo.InvariantCulture)}, λ = {shrinkage.ToString("G4", CultureInfo.InvariantCulture)} on {heldOut.Count(h => h)} held-out impressions (loss {validationLoss.ToString("G6", CultureInfo.InvariantCulture)})");
            }
            var e = ClickRelevanceAlgorithms.Estimate(data, null, o.Method, maximumWeight, shrinkage);
            var relevance = e.Relevance.Select(v => (float)v).ToArray();
            var impressions = e.Impressions.Select(v => (float)v).ToArray();
            var exposure = e.Exposure.Select(v => (float)v).ToArray();
            long clicks = data.Click.LongCount(c => c);
            log.Info($"click relevance ({o.Method}): {rows} impressions of {order.Count} items, {clicks} clicks ({e.Clipped} with 1/propensity clipped at {maximumWeight}), mean relevance {relevance.Average():G4}");
            var inner = Build(idCol.Type, (order, relevance, impressions, exposure)).Fit(input);
            return new ClickRelevanceTransformer(inner, order.Count, rows, clicks, e.Clipped, maximumWeight, o.PropensityColumnName is not null,
                o.Method, shrinkage, validationLoss, tried);
        }

        internal static Func<string> IdGetter(DataViewRow row, DataViewSchema.Column col)
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
        private IEstimator<ITransformer> Build(DataViewType idType, (List<string> Ids, float[] Relevance, float[] Impressions, float[] Exposure)? table)
        {
            var ids = table?.Ids ?? new List<string> { "0" };
            var values = new[] { table?.Relevance ?? new[] { 0f }, table?.Impressions ?? new[] { 1f }, table?.Exposure ?? new[] { 1f } };
            IEstimator<ITransformer> maps;
            if (idType is TextDataViewType)
                maps = Maps(ids, values);
            else if (idType == NumberDataViewType.UInt32)
                maps = Maps(ids.Select(s => uint.Parse(s, CultureInfo.InvariantCulture)).ToList(), values);
            else if (idType == NumberDataViewType.Int32)
                maps = Maps(ids.Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToList(), values);
            else if (idType == NumberDataViewType.UInt64)
                maps = Maps(ids.Select(s => ulong.Parse(s, CultureInfo.InvariantCulture)).ToList(), values);
            else
                maps = Maps(ids.Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToList(), values);
            var o = _options;
            // ValueMapping gives 0 for an unknown id, so the impression count (0 only for unseen items) decides
            string unseen = float.IsNaN(o.UnseenValue) ? "na(1.0)" : DebiasingColumns.Literal(o.UnseenValue);
            IEstimator<ITransformer> chain = maps.Append(_context.Transforms.Expression(o.OutputColumnName, $"(v, n) => n > 0.0 ? v : {unseen}", ValueColumn, CountColumn));
            if (o.ImpressionsColumnName is not null)
                chain = chain.Append(_context.Transforms.CopyColumns(o.ImpressionsColumnName, CountColumn));
            var drop = new List<string> { ValueColumn, CountColumn };
            if (o.ExposureColumnName is not null)
            {
                chain = chain.Append(_context.Transforms.CopyColumns(o.ExposureColumnName, ExposureColumn));
                drop.Add(ExposureColumn);
            }
            return chain.Append(_context.Transforms.DropColumns(drop.ToArray()));
        }

        private IEstimator<ITransformer> Maps<T>(IReadOnlyList<T> ids, float[][] values)
        {
            var o = _options;
            IEstimator<ITransformer> chain = _context.Transforms.Conversion.MapValue(ValueColumn, ids.Select((id, i) => new KeyValuePair<T, float>(id, values[0][i])), o.ItemColumnName)
                .Append(_context.Transforms.Conversion.MapValue(CountColumn, ids.Select((id, i) => new KeyValuePair<T, float>(id, values[1][i])), o.ItemColumnName));
            if (o.ExposureColumnName is not null)
                chain = chain.Append(_context.Transforms.Conversion.MapValue(ExposureColumn, ids.Select((id, i) => new KeyValuePair<T, float>(id, values[2][i])), o.ItemColumnName));
            return chain;
        }
    }

    /// <summary>
    /// Adds the click-based relevance estimate of each row's item (and optionally its impression count and exposure). Saving
    /// writes built-in ML.NET transforms (<c>ValueMapping</c>, <c>Expression</c>, <c>CopyColumns</c>, <c>DropColumns</c>).
    /// </summary>
    public sealed class ClickRelevanceTransformer : WrappedTransformer
    {
        internal ClickRelevanceTransformer(ITransformer inner, int items, long rows, long clicks, long clipped, double maximumWeight, bool corrected,
            ClickRelevanceMethod method, double shrinkage, double validationLoss, IReadOnlyList<ClickRelevanceCandidate>? candidates)
            : base(inner)
        {
            Items = items;
            Rows = rows;
            Clicks = clicks;
            ClippedClicks = clipped;
            MaximumWeight = maximumWeight;
            IsPropensityCorrected = corrected;
            Method = method;
            Shrinkage = shrinkage;
            ValidationLoss = validationLoss;
            Candidates = candidates ?? Array.Empty<ClickRelevanceCandidate>();
        }

        /// <summary>Distinct items in the fitting log.</summary>
        public int Items { get; }

        /// <summary>Impressions (rows) of the fitting log.</summary>
        public long Rows { get; }

        /// <summary>Clicks in the fitting log.</summary>
        public long Clicks { get; }

        /// <summary>Clicks whose 1/propensity exceeded <see cref="MaximumWeight"/> and was clipped.</summary>
        public long ClippedClicks { get; }

        /// <summary>The clip of 1/propensity used (the chosen one when candidates were given).</summary>
        public double MaximumWeight { get; }

        /// <summary>True when the estimate is inverse-propensity corrected; false for the plain click-through rate.</summary>
        public bool IsPropensityCorrected { get; }

        /// <summary>The estimator used.</summary>
        public ClickRelevanceMethod Method { get; }

        /// <summary>The shrinkage λ used by the doubly robust estimator (the chosen one when candidates were given).</summary>
        public double Shrinkage { get; }

        /// <summary>Held-out loss of the chosen setting; NaN when no candidates were given.</summary>
        public double ValidationLoss { get; }

        /// <summary>Every setting tried on the held-out clicks (empty when no candidates were given).</summary>
        public IReadOnlyList<ClickRelevanceCandidate> Candidates { get; }
    }
}
