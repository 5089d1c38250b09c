using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;
using MLNetRank.Onnx;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// Unbiased learning to rank by the dual learning algorithm (DLA; Ai et al., "Unbiased Learning to Rank with Unbiased
    /// Propensity Estimation", SIGIR 2018): a ranker on the features and the examination propensity of each position are
    /// learned together from an ordinary click log — no randomized traffic. The ranker is trained on inverse-propensity-weighted
    /// clicks, the propensity model on inverse-relevance-weighted clicks, each weighted by the other's current estimate.
    /// The fitted <see cref="DualLearningTransformer"/> scores rows (<c>Score</c>) and carries the learned curve
    /// (<see cref="DualLearningTransformer.Propensities"/>, relative to position 1; <see cref="DualLearningTransformer.PropensityTransformer"/>
    /// adds it as a column, e.g. for <c>EstimateClickRelevance</c>).
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes |
    /// | Input column data type | features: known-size vector of Single; position: Int32, Int64, Single or Double (1-based); click: Boolean or Single; session: UInt32, Int32, UInt64, Int64 or String; item (optional): the same id types |
    /// | Output column data type | `Score`: known-size vector of 1 Single (the ranker's score; ONNX outputs are vectors in ML.NET) |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank (Microsoft.ML.OnnxTransformer, Microsoft.ML.OnnxRuntime) |
    /// | Saved as | ML.NET's `OnnxTransformer` (the ranker as an ONNX graph, zip entry `OnnxModel`); the propensity curve as an `Expression` transform |
    /// ]]></format>
    /// </remarks>
    public sealed class DualLearningEstimator : IEstimator<DualLearningTransformer>
    {
        /// <summary>Options of <see cref="DualLearningEstimator"/>; every default works.</summary>
        public sealed class Options
        {
            /// <summary>Ranker input: known-size vector of Single (standardized inside; NaN = missing = the mean). Default <c>"Features"</c>.</summary>
            public string FeatureColumnName { get; set; } = "Features";

            /// <summary>1-based display position (Int32, Int64, Single or Double, whole numbers ≥ 1). Default <c>"Position"</c>.</summary>
            public string PositionColumnName { get; set; } = "Position";

            /// <summary>Click label: Boolean, or Single with &gt; 0 = click. Default <c>"Click"</c>.</summary>
            public string LabelColumnName { get; set; } = "Click";

            /// <summary>Id of the displayed list (one session or request): UInt32, Int32, UInt64, Int64 or String. The softmax
            /// losses are taken per list; lists without a click carry no information and are skipped. Default <c>"Session"</c>.</summary>
            public string SessionColumnName { get; set; } = "Session";

            /// <summary>Optional id of the item (e.g. the query-document pair): rows with the same id must have the same features,
            /// which are then kept once — the memory of a large log becomes items x features instead of impressions x features.
            /// Null (default) keeps one feature vector per impression of a clicked list.</summary>
            public string? ItemColumnName { get; set; }

            /// <summary>The ranker's score column added by the transformer. Default <c>"Score"</c>.</summary>
            public string OutputColumnName { get; set; } = "Score";

            /// <summary>The column added by <see cref="DualLearningTransformer.PropensityTransformer"/>. Default <c>"Propensity"</c>.</summary>
            public string PropensityColumnName { get; set; } = "Propensity";

            /// <summary>K: positions 1..K get their own propensity, later positions share one more bucket. Default 10.</summary>
            public int MaximumPosition { get; set; } = 10;

            /// <summary>Hidden ReLU layers of the ranker; empty (default) = a linear ranker. Under a logger that shows each item at
            /// (nearly) always the same position, a flexible ranker can memorize items and absorb the position effect, which
            /// drives the propensities off (on the LETOR benchmark at η = 2: RMSE 0.06–0.15 with one layer of 32 against
            /// 0.01–0.03 linear); add layers when the log shows items at varied positions.</summary>
            public int[] HiddenLayers { get; set; } = Array.Empty<int>();

            /// <summary>Passes over the clicked lists. Default 10.</summary>
            public int Epochs { get; set; } = 10;

            /// <summary>Lists per Adam step. Default 64.</summary>
            public int BatchSize { get; set; } = 64;

            /// <summary>Adam learning rate of the ranker. Default 0.01.</summary>
            public double LearningRate { get; set; } = 0.01;

            /// <summary>Adam learning rate of the position logits. Default 0.05.</summary>
            public double PropensityLearningRate { get; set; } = 0.05;

            /// <summary>L2 penalty on the ranker's weights (not on biases). Default 1e-4.</summary>
            public double L2Regularization { get; set; } = 1e-4;

            /// <summary>Clip M of both weights: the inverse propensity ratio of the ranker's loss and the inverse relevance ratio
            /// of the propensity model's loss. Default 100 (no clipping on 10 positions with θ_10 ≥ 0.01).</summary>
            public double MaximumWeight { get; set; } = 100;

            /// <summary>Seed of the initial weights and the list order; null draws one from the <see cref="MLContext"/>.</summary>
            public int? Seed { get; set; }

            /// <summary>Optional progress, once per epoch (stage <c>"epoch"</c>): <see cref="RankerProgress.Fraction"/> is the fraction
            /// of epochs done; the message (each epoch's losses and curve) also goes to <c>MLContext.Log</c>.</summary>
            public IProgress<RankerProgress>? Progress { get; set; }

            internal void Validate()
            {
                if (string.IsNullOrEmpty(OutputColumnName))
                    throw new ArgumentException("OutputColumnName must be given.", nameof(OutputColumnName));
                if (string.IsNullOrEmpty(PropensityColumnName))
                    throw new ArgumentException("PropensityColumnName must be given.", nameof(PropensityColumnName));
                PositionBuckets.Validate(MaximumPosition, nameof(MaximumPosition));
                if (HiddenLayers is null || HiddenLayers.Any(w => w < 1))
                    throw new ArgumentOutOfRangeException(nameof(HiddenLayers), "HiddenLayers must be a (possibly empty) list of widths >= 1.");
                if (Epochs < 1)
                    throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be >= 1.");
                if (BatchSize < 1)
                    throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be >= 1.");
                if (!(LearningRate > 0) || !double.IsFinite(LearningRate))
                    throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "LearningRate must be a finite number > 0.");
                if (!(PropensityLearningRate > 0) || !double.IsFinite(PropensityLearningRate))
                    throw new ArgumentOutOfRangeException(nameof(PropensityLearningRate), PropensityLearningRate, "PropensityLearningRate must be a finite number > 0.");
                if (!(L2Regularization >= 0) || !double.IsFinite(L2Regularization))
                    throw new ArgumentOutOfRangeException(nameof(L2Regularization), L2Regularization, "L2Regularization must be a finite number >= 0.");
                if (!(MaximumWeight >= 1) || !double.IsFinite(MaximumWeight))
                    throw new ArgumentOutOfRangeException(nameof(MaximumWeight), MaximumWeight, "MaximumWeight must be a finite number >= 1.");
            }
        }

        private readonly MLContext _context;
        private readonly Options _options;

        internal DualLearningEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            options.Validate();
        }

        private static bool IsIdType(DataViewType t)
            => t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32 || t == NumberDataViewType.UInt64 || t == NumberDataViewType.Int64
               || t == TextDataViewType.Instance;

        private const string IdTypes = "UInt32, Int32, UInt64, Int64 or String";

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var o = _options;
            var feat = Check.Column(inputSchema, o.FeatureColumnName, "features", "a known-size vector of Single", Check.IsFloatVector);
            Check.Column(inputSchema, o.PositionColumnName, "position", DebiasingColumns.PositionTypes, DebiasingColumns.IsPosition);
            Check.Column(inputSchema, o.LabelColumnName, "click label", DebiasingColumns.LabelTypes, Check.IsBinaryLabel);
            Check.Column(inputSchema, o.SessionColumnName, "session", IdTypes, c => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && IsIdType(c.ItemType));
            if (o.ItemColumnName is not null)
                Check.Column(inputSchema, o.ItemColumnName, "item", IdTypes, c => c.Kind == SchemaShape.Column.VectorKind.Scalar && !c.IsKey && IsIdType(c.ItemType));
            return OnnxTransformerFactory.GetOutputSchema(_context, DualLearningSavedForm.Placeholder(o), new[] { o.OutputColumnName }, new[] { o.FeatureColumnName }, inputSchema);
        }

        /// <summary>Trains the ranker and the propensities on the clicked lists of <paramref name="input"/>.</summary>
        public DualLearningTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            var schema = input.Schema;
            var featCol = Check.Column(schema, o.FeatureColumnName, "features", "a known-size vector of Single",
                t => t is VectorDataViewType v && v.IsKnownSize && v.ItemType == NumberDataViewType.Single);
            var posCol = Check.Column(schema, o.PositionColumnName, "position", DebiasingColumns.PositionTypes, DebiasingColumns.IsPositionType);
            var labelCol = Check.Column(schema, o.LabelColumnName, "click label", DebiasingColumns.LabelTypes, DebiasingColumns.IsLabelType);
            var sessionCol = Check.Column(schema, o.SessionColumnName, "session", IdTypes, IsIdType);
            DataViewSchema.Column? itemCol = o.ItemColumnName is null ? null : Check.Column(schema, o.ItemColumnName, "item", IdTypes, IsIdType);
            int dim = ((VectorDataViewType)featCol.Type).Size;
            int buckets = PositionBuckets.Count(o.MaximumPosition);

            using var log = new RankerLog(_context, "Debiasing");
            // pass 1: sessions, positions, clicks, items
            var sessionIds = new IdMap();
            var itemIds = new IdMap();
            var rowSession = new List<int>();
            var rowBucket = new List<int>();
            var rowPosition = new List<int>();
            var rowClick = new List<bool>();
            var rowItem = new List<int>();
            var clickedSession = new List<bool>();
            long rows = 0;
            using (var cursor = input.GetRowCursor(itemCol.HasValue ? new[] { posCol, labelCol, sessionCol, itemCol.Value } : new[] { posCol, labelCol, sessionCol }))
            {
                var pos = DebiasingColumns.PositionGetter(cursor, posCol);
                var lab = DebiasingColumns.LabelGetter(cursor, labelCol);
                var ses = IdMap.Getter(cursor, sessionCol);
                var itm = itemCol.HasValue ? IdMap.Getter(cursor, itemCol.Value) : null;
                for (; cursor.MoveNext(); rows++)
                {
                    double p = pos();
                    int b = PositionBuckets.Of(p, o.MaximumPosition, o.PositionColumnName, rows);
                    bool c = lab(rows);
                    int s = sessionIds.Id(ses());
                    if (s == clickedSession.Count)
                        clickedSession.Add(false);
                    clickedSession[s] |= c;
                    rowSession.Add(s);
                    rowBucket.Add(b);
                    rowPosition.Add(p > int.MaxValue ? int.MaxValue : (int)p);
                    rowClick.Add(c);
                    rowItem.Add(itm is null ? -1 : itemIds.Id(itm()));
                }
            }
            if (rows == 0)
                throw new InvalidOperationException("The training data is empty: dual learning needs an impression log (features, position, click, session).");
            int sessions = sessionIds.Count, clicked = clickedSession.Count(c => c);
            if (clicked == 0)
                throw new InvalidOperationException($"No list has a click (column '{o.LabelColumnName}'): dual learning learns from clicked lists only.");

            // the clicked lists, their rows in order; feature slots: one per item (with an item column) or per used row
            var byList = new List<int>[sessions];
            for (int r = 0; r < rowSession.Count; r++)
            {
                int s = rowSession[r];
                if (clickedSession[s])
                    (byList[s] ??= new List<int>()).Add(r);
            }
            var lists = new DualLearningAlgorithm.Lists();
            var starts = new List<int> { 0 };
            var usedRows = new List<int>();
            foreach (var l in byList)
            {
                if (l is null)
                    continue;
                usedRows.AddRange(l);
                starts.Add(usedRows.Count);
            }
            var slotOfItem = new Dictionary<int, int>();
            var needed = new int[rowSession.Count];   // the feature slot a row's features go to, -1 = not read
            Array.Fill(needed, -1);
            int slots = 0;
            lists.Starts = starts.ToArray();
            lists.Item = new int[usedRows.Count];
            lists.Bucket = new int[usedRows.Count];
            lists.Position = new int[usedRows.Count];
            lists.Click = new bool[usedRows.Count];
            var impressions = new long[buckets];
            var clicks = new long[buckets];
            for (int i = 0; i < usedRows.Count; i++)
            {
                int r = usedRows[i];
                int slot;
                if (itemCol.HasValue)
                {
                    if (!slotOfItem.TryGetValue(rowItem[r], out slot))
                    {
                        slotOfItem[rowItem[r]] = slot = slots++;
                        needed[r] = slot;
                    }
                }
                else
                {
                    slot = slots++;
                    needed[r] = slot;
                }
                lists.Item[i] = slot;
                lists.Bucket[i] = rowBucket[r];
                lists.Position[i] = rowPosition[r];
                lists.Click[i] = rowClick[r];
                impressions[rowBucket[r]]++;
                if (rowClick[r])
                    clicks[rowBucket[r]]++;
            }
            for (int b = 0; b < buckets; b++)
                if (impressions[b] == 0)
                    throw new InvalidOperationException(
                        $"Position {PositionBuckets.Label(b, o.MaximumPosition)} of column '{o.PositionColumnName}' has no impression in the clicked lists; " +
                        $"lower MaximumPosition (now {o.MaximumPosition}) so that every bucket is observed.");
            if (clicks[0] == 0)
                throw new InvalidOperationException($"Position 1 has no click (column '{o.LabelColumnName}'): the propensities are relative to position 1 and cannot be estimated.");

            // pass 2: features of the needed rows
            var x = new float[(long)slots * dim];
            using (var cursor = input.GetRowCursor(new[] { featCol }))
            {
                var get = cursor.GetGetter<VBuffer<float>>(featCol);
                VBuffer<float> v = default;
                for (int r = 0; cursor.MoveNext(); r++)
                {
                    if (r >= needed.Length || needed[r] < 0)
                        continue;
                    long next = needed[r];
                    get(ref v);
                    int j = 0;
                    foreach (var f in v.DenseValues())
                    {
                        if (float.IsInfinity(f))
                            throw new InvalidOperationException($"The feature column '{o.FeatureColumnName}' has an infinite value at row {r}, slot {j}; expected finite numbers (NaN is treated as missing).");
                        x[next * dim + j++] = f;
                    }
                }
            }
            // statistics over the impressions used (an item counts once per impression), so that the model does not depend on
            // whether an item column is given
            var count = new int[slots];
            foreach (int slot in lists.Item)
                count[slot]++;
            var (mean, sd) = Standardize(x, dim, count);

            int seed = ContextSeed.Resolve(_context, o.Seed);
            var algo = new DualLearningAlgorithm(dim, buckets, new DualLearningAlgorithm.Settings
            {
                Hidden = o.HiddenLayers.ToArray(),
                Epochs = o.Epochs,
                BatchSize = o.BatchSize,
                LearningRate = o.LearningRate,
                PropensityLearningRate = o.PropensityLearningRate,
                L2 = o.L2Regularization,
                MaximumWeight = o.MaximumWeight,
                Seed = seed,
            });
            log.Info($"dual learning: {clicked} clicked lists of {sessions}, {usedRows.Count} impressions, {slots} feature rows x {dim}, {buckets} position buckets, seed {seed}");
            var rankerLoss = new List<double>();
            var propensityLoss = new List<double>();
            algo.Train(x, lists, (epoch, lr, le) =>
            {
                rankerLoss.Add(lr);
                propensityLoss.Add(le);
                log.Progress(o.Progress, "epoch", (double)epoch / o.Epochs, FormattableString.Invariant(
                    $"epoch {epoch}/{o.Epochs}: ranker loss {lr:G6}, propensity loss {le:G6}, propensities {string.Join(", ", algo.Propensities().Select(p => p.ToString("G3", CultureInfo.InvariantCulture)))}"));
            });
            var curve = algo.Propensities();
            if (curve.Any(c => !(c > 0) || !double.IsFinite(c)))
                throw new InvalidOperationException(
                    $"Dual learning diverged: the learned propensities are not finite and positive ({string.Join(", ", curve.Select(c => c.ToString("G3", CultureInfo.InvariantCulture)))}); lower PropensityLearningRate or LearningRate.");

            var onnx = DualLearningSavedForm.Ranker(algo, mean, sd, o);
            var scorer = OnnxTransformerFactory.Create(_context, onnx, new[] { o.OutputColumnName }, new[] { o.FeatureColumnName }, schema, out var file);
            try
            {
                var propensityOptions = new PositionPropensityEstimator.Options
                {
                    Method = PropensityEstimationMethod.DualLearning,
                    PositionColumnName = o.PositionColumnName,
                    LabelColumnName = o.LabelColumnName,
                    OutputColumnName = o.PropensityColumnName,
                    MaximumPosition = o.MaximumPosition,
                };
                var expression = PropensitySavedForm.Build(_context, o.PositionColumnName, o.PropensityColumnName, curve).Fit(input);
                var propensity = new PositionPropensityTransformer(expression, propensityOptions, curve, null, impressions, clicks, usedRows.Count,
                    o.Epochs, true, null, 0);
                return new DualLearningTransformer(scorer, file, propensity, o, schema, curve, rankerLoss, propensityLoss, clicked, usedRows.Count);
            }
            catch
            {
                scorer.Dispose();
                file.Dispose();
                throw;
            }
        }

        /// <summary>Standardizes each slot in place (NaN = missing → 0, the mean), row i counted <paramref name="count"/>[i] times;
        /// returns the means and standard deviations.</summary>
        private static (double[] Mean, double[] Sd) Standardize(float[] x, int dim, int[] count)
        {
            long n = x.Length / dim;
            var mean = new double[dim];
            var sd = new double[dim];
            for (int j = 0; j < dim; j++)
            {
                double s = 0, s2 = 0;
                long c = 0;
                for (long i = 0; i < n; i++)
                {
                    float v = x[i * dim + j];
                    if (float.IsNaN(v))
                        continue;
                    int w = count[i];
                    s += (double)w * v;
                    s2 += (double)w * v * v;
                    c += w;
                }
                double m = c > 0 ? s / c : 0;
                double var = c > 1 ? Math.Max(s2 / c - m * m, 0) : 0;
                mean[j] = m;
                sd[j] = var > 1e-12 ? Math.Sqrt(var) : 1;
                for (long i = 0; i < n; i++)
                {
                    float v = x[i * dim + j];
                    x[i * dim + j] = float.IsNaN(v) ? 0f : (float)((v - m) / sd[j]);
                }
            }
            return (mean, sd);
        }

        /// <summary>Dense ids for the values of an id column (numbers and strings kept apart).</summary>
        private sealed class IdMap
        {
            private readonly Dictionary<(long, string?), int> _ids = new();

            public int Count => _ids.Count;

            public int Id((long, string?) key)
            {
                if (!_ids.TryGetValue(key, out int id))
                    _ids[key] = id = _ids.Count;
                return id;
            }

            public static Func<(long, string?)> Getter(DataViewRow row, DataViewSchema.Column col)
            {
                var t = col.Type;
                if (t == TextDataViewType.Instance)
                {
                    var g = row.GetGetter<ReadOnlyMemory<char>>(col);
                    ReadOnlyMemory<char> v = default;
                    return () => { g(ref v); return (0, v.ToString()); };
                }
                if (t == NumberDataViewType.UInt32)
                {
                    var g = row.GetGetter<uint>(col);
                    uint v = 0;
                    return () => { g(ref v); return (v, null); };
                }
                if (t == NumberDataViewType.Int32)
                {
                    var g = row.GetGetter<int>(col);
                    int v = 0;
                    return () => { g(ref v); return (v, null); };
                }
                if (t == NumberDataViewType.UInt64)
                {
                    var g = row.GetGetter<ulong>(col);
                    ulong v = 0;
                    return () => { g(ref v); return (unchecked((long)v), null); };
                }
                var gl = row.GetGetter<long>(col);
                long l = 0;
                return () => { gl(ref l); return (l, null); };
            }
        }
    }
}
