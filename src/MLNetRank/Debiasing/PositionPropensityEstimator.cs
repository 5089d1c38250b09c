using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Common;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// Estimates the examination propensity of each display position from click logs — on randomized traffic
    /// (CTR by position) or on ordinary logs by regression EM — and adds a propensity column. The fitted
    /// <see cref="PositionPropensityTransformer"/> exposes the curve (<see cref="PositionPropensityTransformer.Propensities"/>,
    /// relative to position 1) and its bootstrap intervals.
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes |
    /// | Input column data type | position: Int32, Int64, Single or Double (1-based); click: Boolean or Single; randomized flag: Boolean; features: known-size vector of Single; relevance group: UInt32, Int32, Int64, String or key |
    /// | Output column data type | `Propensity` (Single): the propensity of the row's position relative to position 1; NaN for an invalid position at serving |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank |
    /// | Saved as | ML.NET `Expression` transform (no MLNetRank code needed to load) |
    /// ]]></format>
    /// </remarks>
    public sealed partial class PositionPropensityEstimator : IEstimator<PositionPropensityTransformer>
    {
        private readonly MLContext _context;
        private readonly PositionPropensityEstimator.Options _options;

        internal PositionPropensityEstimator(MLContext context, PositionPropensityEstimator.Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
        }

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var o = _options;
            Check.Column(inputSchema, o.PositionColumnName, "position", DebiasingColumns.PositionTypes, DebiasingColumns.IsPosition);
            Check.Column(inputSchema, o.LabelColumnName, "click label", DebiasingColumns.LabelTypes, Check.IsBinaryLabel);
            if (o.RandomizedColumnName is not null)
                Check.Column(inputSchema, o.RandomizedColumnName, "randomized flag", "Boolean", DebiasingColumns.IsBoolean);
            if (o.Method == PropensityEstimationMethod.RegressionEm)
            {
                if (o.FeatureColumnName is not null)
                    Check.Column(inputSchema, o.FeatureColumnName, "relevance features", "a known-size vector of Single", Check.IsFloatVector);
                if (o.RelevanceGroupColumnName is not null)
                    Check.Column(inputSchema, o.RelevanceGroupColumnName, "relevance group", "UInt32, Int32, Int64, String or a key",
                        c => c.Kind == SchemaShape.Column.VectorKind.Scalar && (c.IsKey || c.ItemType == NumberDataViewType.UInt32 || c.ItemType == NumberDataViewType.Int32
                             || c.ItemType == NumberDataViewType.Int64 || c.ItemType == TextDataViewType.Instance));
            }
            return PropensitySavedForm.Build(_context, o.PositionColumnName, o.OutputColumnName, new double[PositionBuckets.Count(o.MaximumPosition)]).GetOutputSchema(inputSchema);
        }

        /// <summary>Estimates the propensity curve and returns the transformer that adds the propensity column.</summary>
        public PositionPropensityTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            var schema = input.Schema;
            var posCol = Check.Column(schema, o.PositionColumnName, "position", DebiasingColumns.PositionTypes, DebiasingColumns.IsPositionType);
            var labelCol = Check.Column(schema, o.LabelColumnName, "click label", DebiasingColumns.LabelTypes, DebiasingColumns.IsLabelType);
            DataViewSchema.Column? flagCol = o.RandomizedColumnName is null ? null
                : Check.Column(schema, o.RandomizedColumnName, "randomized flag", "Boolean", t => t == BooleanDataViewType.Instance);
            bool em = o.Method == PropensityEstimationMethod.RegressionEm;
            DataViewSchema.Column? featCol = em && o.FeatureColumnName is not null
                ? Check.Column(schema, o.FeatureColumnName, "relevance features", "a known-size vector of Single",
                    t => t is VectorDataViewType v && v.IsKnownSize && v.ItemType == NumberDataViewType.Single)
                : null;
            DataViewSchema.Column? groupCol = em && o.RelevanceGroupColumnName is not null
                ? Check.Column(schema, o.RelevanceGroupColumnName, "relevance group", "UInt32, Int32, Int64, String or a key",
                    t => t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32 || t == NumberDataViewType.Int64
                         || t == TextDataViewType.Instance || (t is KeyDataViewType k && k.RawType == typeof(uint)))
                : null;

            using var log = new RankerLog(_context, "Debiasing");
            int k = PositionBuckets.Count(o.MaximumPosition);
            var data = Read(input, posCol, labelCol, em ? null : flagCol, featCol, groupCol, out int dim, out int groupCount);
            long used = data.Bucket.Length;
            if (used == 0)
                throw new InvalidOperationException(flagCol.HasValue && !em
                    ? $"No row has the randomized flag '{o.RandomizedColumnName}' set: the Randomization estimator needs randomized traffic."
                    : "The training data is empty: the propensity estimator needs rows with a position and a click label.");

            var impressions = new long[k];
            var clicks = new long[k];
            for (int i = 0; i < data.Bucket.Length; i++)
            {
                impressions[data.Bucket[i]]++;
                if (data.Click[i])
                    clicks[data.Bucket[i]]++;
            }
            for (int b = 0; b < k; b++)
                if (impressions[b] == 0)
                    throw new InvalidOperationException(
                        $"Position {PositionBuckets.Label(b, o.MaximumPosition)} of column '{o.PositionColumnName}' has no impression in the data used; " +
                        $"lower MaximumPosition (now {o.MaximumPosition}) so that every bucket is observed.");
            if (clicks[0] == 0)
                throw new InvalidOperationException($"Position 1 has no click in the data used (column '{o.LabelColumnName}'): the propensities are relative to position 1 and cannot be estimated.");

            int? seed = o.BootstrapResamples > 0 || (em && featCol.HasValue && o.RelevanceModel == EmRelevanceModel.Gbdt)
                ? ContextSeed.Resolve(_context, o.Seed) : null;
            if (em && featCol.HasValue && o.RelevanceModel == EmRelevanceModel.Gbdt)
                data.FitRelevance = GbdtFitter(data.Features!, dim, seed!.Value);

            double[] curve;
            int iterations = 0;
            bool converged = true;
            double[]? examination = null;
            var progress = o.Progress;
            double totalWork = (em ? 1 : 0) + o.BootstrapResamples;
            if (!em)
            {
                curve = PropensityAlgorithms.Randomization(data.Bucket, data.Click, null, k, o.Smoothing, o.SmoothingPrior, o.PriorCurve)
                    ?? throw new InvalidOperationException("Position 1 has no click: the propensity curve is undefined.");
                log.Info($"randomization estimate from {used} rows: {string.Join(", ", curve.Select(c => c.ToString("G4", CultureInfo.InvariantCulture)))}");
            }
            else
            {
                var r = RunEm(data, null, k, dim, groupCount, (it, ll) =>
                {
                    log.Trace($"EM iteration {it}: log-likelihood {ll.ToString("G8", CultureInfo.InvariantCulture)}");
                });
                curve = r.Curve;
                examination = r.Examination;
                iterations = r.Iterations;
                converged = r.Converged;
                log.Progress(progress, "EM", 1 / Math.Max(totalWork, 1),
                    $"EM on {used} rows: {r.Iterations} iterations ({(r.Converged ? "converged" : "not converged")}), curve {string.Join(", ", curve.Select(c => c.ToString("G4", CultureInfo.InvariantCulture)))}");
                if (!r.Converged)
                    log.Warning($"EM stopped after {r.Iterations} iterations without reaching the tolerance {o.Tolerance}; raise MaximumIterations for a tighter fit.");
            }

            PropensityInterval[]? intervals = null;
            int failed = 0;
            if (o.BootstrapResamples > 0)
            {
                var rng = new Random(seed!.Value);
                var samples = new List<double>[k];
                for (int b = 0; b < k; b++)
                    samples[b] = new List<double>(o.BootstrapResamples);
                var weights = new float[data.Bucket.Length];
                for (int s = 0; s < o.BootstrapResamples; s++)
                {
                    for (int i = 0; i < weights.Length; i++)
                        weights[i] = PropensityAlgorithms.Poisson1(rng);
                    double[]? c = em
                        ? RunEm(data, weights, k, dim, groupCount, null).Curve
                        : PropensityAlgorithms.Randomization(data.Bucket, data.Click, weights, k, o.Smoothing, o.SmoothingPrior, o.PriorCurve);
                    if (c is null || c.Any(v => !double.IsFinite(v)))
                    {
                        failed++;
                        continue;
                    }
                    for (int b = 0; b < k; b++)
                        samples[b].Add(c[b]);
                    if (em || (s + 1) % 100 == 0 || s + 1 == o.BootstrapResamples)
                        log.Progress(progress, "bootstrap", ((em ? 1 : 0) + s + 1) / totalWork, $"bootstrap resample {s + 1}/{o.BootstrapResamples}");
                }
                if (failed > 0)
                    log.Warning($"{failed} of {o.BootstrapResamples} bootstrap resamples had no click at position 1 and were left out of the intervals.");
                if (samples[0].Count == 0)
                    throw new InvalidOperationException("Every bootstrap resample had no click at position 1: there are too few clicks for confidence intervals.");
                intervals = new PropensityInterval[k];
                for (int b = 0; b < k; b++)
                {
                    var (lo, hi) = PropensityAlgorithms.Percentile(samples[b], o.ConfidenceLevel);
                    intervals[b] = new PropensityInterval(lo, hi);
                }
            }

            var inner = PropensitySavedForm.Build(_context, o.PositionColumnName, o.OutputColumnName, curve).Fit(input);
            return new PositionPropensityTransformer(inner, o, curve, intervals, impressions, clicks, used, iterations, converged, examination, o.BootstrapResamples - failed);
        }

        private PropensityAlgorithms.EmResult RunEm(Data data, float[]? weights, int k, int dim, int groupCount, Action<int, double>? onIteration)
            => PropensityAlgorithms.Em(data.Bucket, data.Click, weights, k, data.Group, groupCount, data.Features, dim,
                _options.MaximumIterations, _options.Tolerance, _options.L2Regularization, onIteration, data.FitRelevance);

        private sealed class GbdtRow
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public float Label { get; set; }
            public float Weight { get; set; }
        }

        /// <summary>The GBDT M-step: FastTree regression on the soft relevance targets, predictions written into the relevance array.</summary>
        private Action<double[], float[]?, double[]> GbdtFitter(float[] features, int dim, int seed)
        {
            int n = features.Length / dim;
            var rows = new GbdtRow[n];
            for (int i = 0; i < n; i++)
                rows[i] = new GbdtRow { Features = features.AsSpan(i * dim, dim).ToArray() };
            var schema = SchemaDefinition.Create(typeof(GbdtRow));
            schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dim);
            var o = _options;
            return (target, weight, relevance) =>
            {
                for (int i = 0; i < n; i++)
                {
                    rows[i].Label = (float)target[i];
                    rows[i].Weight = weight is null ? 1f : weight[i];
                }
                var view = _context.Data.LoadFromEnumerable(rows, schema);
                var model = _context.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
                {
                    LabelColumnName = "Label",
                    FeatureColumnName = "Features",
                    ExampleWeightColumnName = "Weight",
                    NumberOfTrees = o.GbdtTrees,
                    NumberOfLeaves = o.GbdtLeaves,
                    MinimumExampleCountPerLeaf = o.GbdtMinimumExampleCountPerLeaf,
                    NumberOfThreads = 1,
                    Seed = seed,
                }).Fit(view);
                int i2 = 0;
                foreach (var p in model.Transform(view).GetColumn<float>("Score"))
                    relevance[i2++] = Math.Clamp(p, 1e-6, 1 - 1e-6);
            };
        }

        private sealed class Data
        {
            public int[] Bucket = Array.Empty<int>();
            public bool[] Click = Array.Empty<bool>();
            public int[]? Group;
            public float[]? Features;
            public Action<double[], float[]?, double[]>? FitRelevance;
        }

        private Data Read(IDataView input, DataViewSchema.Column posCol, DataViewSchema.Column labelCol,
            DataViewSchema.Column? filterFlag, DataViewSchema.Column? featCol, DataViewSchema.Column? groupCol, out int dim, out int groupCount)
        {
            var o = _options;
            var cols = new List<DataViewSchema.Column> { posCol, labelCol };
            if (filterFlag.HasValue) cols.Add(filterFlag.Value);
            if (featCol.HasValue) cols.Add(featCol.Value);
            if (groupCol.HasValue) cols.Add(groupCol.Value);
            var bucket = new List<int>();
            var click = new List<bool>();
            var group = groupCol.HasValue ? new List<int>() : null;
            var feats = featCol.HasValue ? new List<float>() : null;
            dim = featCol.HasValue ? ((VectorDataViewType)featCol.Value.Type).Size : 0;
            var groupIds = new Dictionary<string, int>(StringComparer.Ordinal);
            var numIds = new Dictionary<long, int>();
            using var cursor = input.GetRowCursor(cols);
            var pos = DebiasingColumns.PositionGetter(cursor, posCol);
            var lab = DebiasingColumns.LabelGetter(cursor, labelCol);
            ValueGetter<bool>? flag = filterFlag.HasValue ? cursor.GetGetter<bool>(filterFlag.Value) : null;
            ValueGetter<VBuffer<float>>? fGet = featCol.HasValue ? cursor.GetGetter<VBuffer<float>>(featCol.Value) : null;
            Func<int>? gGet = groupCol.HasValue ? GroupGetter(cursor, groupCol.Value, groupIds, numIds) : null;
            VBuffer<float> fv = default;
            bool fl = false;
            long row = 0;
            for (; cursor.MoveNext(); row++)
            {
                if (flag is not null)
                {
                    flag(ref fl);
                    if (!fl)
                        continue;
                }
                bucket.Add(PositionBuckets.Of(pos(), o.MaximumPosition, o.PositionColumnName, row));
                click.Add(lab(row));
                if (fGet is not null)
                {
                    fGet(ref fv);
                    foreach (var v in fv.DenseValues())
                    {
                        if (float.IsInfinity(v))
                            throw new InvalidOperationException($"The relevance feature column '{featCol!.Value.Name}' has an infinite value at row {row}; expected finite numbers (NaN is treated as missing).");
                        feats!.Add(v);
                    }
                }
                if (gGet is not null)
                    group!.Add(gGet());
            }
            groupCount = groupIds.Count + numIds.Count;
            float[]? features = null;
            if (feats is not null)
            {
                features = feats.ToArray();
                Standardize(features, dim);
            }
            return new Data { Bucket = bucket.ToArray(), Click = click.ToArray(), Group = group?.ToArray(), Features = features };
        }

        private static Func<int> GroupGetter(DataViewRowCursor cursor, DataViewSchema.Column col, Dictionary<string, int> text, Dictionary<long, int> num)
        {
            int Id(long v)
            {
                if (!num.TryGetValue(v, out int id))
                    num[v] = id = num.Count;
                return id;
            }
            var t = col.Type;
            if (t == TextDataViewType.Instance)
            {
                var g = cursor.GetGetter<ReadOnlyMemory<char>>(col);
                ReadOnlyMemory<char> s = default;
                return () =>
                {
                    g(ref s);
                    string key = s.ToString();
                    if (!text.TryGetValue(key, out int id))
                        text[key] = id = text.Count;
                    return id;
                };
            }
            if (t == NumberDataViewType.Int32)
            {
                var g = cursor.GetGetter<int>(col);
                int v = 0;
                return () => { g(ref v); return Id(v); };
            }
            if (t == NumberDataViewType.Int64)
            {
                var g = cursor.GetGetter<long>(col);
                long v = 0;
                return () => { g(ref v); return Id(v); };
            }
            var gu = cursor.GetGetter<uint>(col);
            uint u = 0;
            return () => { gu(ref u); return Id(u); };
        }

        /// <summary>Standardizes each slot to mean 0, variance 1 over the rows (NaN, i.e. missing, becomes 0 = the mean).</summary>
        private static void Standardize(float[] x, int dim)
        {
            if (dim == 0)
                return;
            int n = x.Length / dim;
            for (int j = 0; j < dim; j++)
            {
                double s = 0, s2 = 0;
                long c = 0;
                for (int i = 0; i < n; i++)
                {
                    float v = x[i * dim + j];
                    if (float.IsNaN(v))
                        continue;
                    s += v;
                    s2 += (double)v * v;
                    c++;
                }
                double mean = c > 0 ? s / c : 0;
                double var = c > 1 ? Math.Max(s2 / c - mean * mean, 0) : 0;
                double sd = var > 1e-12 ? Math.Sqrt(var) : 1;
                for (int i = 0; i < n; i++)
                {
                    float v = x[i * dim + j];
                    x[i * dim + j] = float.IsNaN(v) ? 0f : (float)((v - mean) / sd);
                }
            }
        }
    }
}
