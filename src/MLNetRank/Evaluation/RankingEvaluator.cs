using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Evaluation
{
    /// <summary>
    /// Reads the columns an evaluation needs in one cursor pass (only those columns active) and computes the metrics
    /// with <see cref="RankerMetrics"/>. Memory: 4 bytes per row for each distinct Single/Boolean column used and
    /// 8 bytes per row for each group column.
    /// </summary>
    internal static class RankingEvaluator
    {
        [Flags]
        private enum Constraint
        {
            None = 0,
            Probability = 1,
            NonNegative = 2,
        }

        private sealed class FloatColumn
        {
            public FloatColumn(DataViewSchema.Column column, string role)
            {
                Column = column;
                Role = role;
                IsBoolean = column.Type is BooleanDataViewType;
                IsVector = column.Type is VectorDataViewType;
            }

            public DataViewSchema.Column Column { get; }
            public string Role { get; }
            public bool IsBoolean { get; }
            /// <summary>A one-element vector of Single (what ONNX models, and so the multi-task trainer, output).</summary>
            public bool IsVector { get; }
            public Constraint Constraints { get; set; }
            public Buffer<float> Values { get; } = new Buffer<float>();
        }

        private sealed class GroupColumn
        {
            public GroupColumn(DataViewSchema.Column column) => Column = column;
            public DataViewSchema.Column Column { get; }
            public Buffer<long> Values { get; } = new Buffer<long>();
        }

        /// <summary>A growable array.</summary>
        private sealed class Buffer<T>
        {
            private T[] _items = new T[1024];

            public int Count { get; private set; }

            public void Add(T value)
            {
                if (Count == _items.Length)
                {
                    if (_items.Length >= Array.MaxLength)
                        throw new InvalidOperationException($"The evaluation holds at most {Array.MaxLength} rows.");
                    Array.Resize(ref _items, (int)Math.Min((long)_items.Length * 2, Array.MaxLength));
                }
                _items[Count++] = value;
            }

            public ReadOnlySpan<T> Span => _items.AsSpan(0, Count);
        }

        private const string SingleOrBoolean = "a scalar of type Single or Boolean (or a one-element vector of Single)";
        private const string Single = "a scalar of type Single (or a one-element vector of Single)";

        /// <summary>Single, or a vector of exactly one Single: ONNX models (OnnxTransformer) give a score as a
        /// one-element vector, and the multi-task trainer's <c>{Task}Score</c> / <c>{Task}Probability</c> are such vectors.</summary>
        private static bool IsSingle(DataViewType t)
            => t == NumberDataViewType.Single || (t is VectorDataViewType v && v.ItemType == NumberDataViewType.Single && v.Size == 1);
        private const string GroupTypes = "a scalar of type UInt32, Int32, Int64, UInt64, a key type or String";

        public static RankingEvaluationResult Evaluate(MLContext context, IDataView data, RankingEvaluationOptions options)
        {
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            var tasks = options.Tasks ?? throw new ArgumentException("Options.Tasks must not be null.", nameof(options));
            if (tasks.Count == 0 && (options.RelevanceColumnName is null || options.RankingScoreColumnName is null))
                throw new ArgumentException("Nothing to evaluate: add a task (RankingTaskSpec.Binary(...) or RankingTaskSpec.Regression(...)), " +
                    "or give RelevanceColumnName, RankingScoreColumnName and RequestColumnName for list metrics only.", nameof(options));
            if (tasks.Any(t => t is null))
                throw new ArgumentException("Options.Tasks contains a null task.", nameof(options));
            var duplicate = tasks.GroupBy(t => t.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new ArgumentException($"Two tasks are named '{duplicate.Key}'; task names must be unique.", nameof(options));
            var ks = options.NdcgAt ?? Array.Empty<int>();
            foreach (int k in ks)
                if (k < 1)
                    throw new ArgumentOutOfRangeException(nameof(options), k, "Every nDCG cut-off in Options.NdcgAt must be at least 1.");
            ks = ks.Distinct().OrderBy(k => k).ToArray();
            if (options.CalibrationBins < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.CalibrationBins, "Options.CalibrationBins must be at least 1.");
            if (options.RelevanceColumnName is not null && options.RequestColumnName is null)
                throw new ArgumentException("Options.RelevanceColumnName needs Options.RequestColumnName: list metrics are computed per request.", nameof(options));
            var groupNames = (options.GroupColumnNames ?? new List<string>()).Distinct(StringComparer.Ordinal).ToList();

            var schema = data.Schema;
            var floats = new Dictionary<string, FloatColumn>(StringComparer.Ordinal);
            var groups = new Dictionary<string, GroupColumn>(StringComparer.Ordinal);

            FloatColumn Float(string name, string role, bool allowBoolean, Constraint constraint)
            {
                var col = Check.Column(schema, name, role, allowBoolean ? SingleOrBoolean : Single,
                    t => IsSingle(t) || (allowBoolean && t is BooleanDataViewType));
                if (!floats.TryGetValue(name, out var fc))
                    floats[name] = fc = new FloatColumn(col, role);
                fc.Constraints |= constraint;
                return fc;
            }

            void Group(string name, string role)
            {
                var col = Check.Column(schema, name, role, GroupTypes, IsGroupType);
                if (!groups.ContainsKey(name))
                    groups[name] = new GroupColumn(col);
            }

            foreach (var t in tasks)
            {
                if (t.Kind == RankingTaskKind.Binary)
                {
                    Float(t.LabelColumnName, $"label ({t.Name})", true, Constraint.None);
                    Float(t.ScoreColumnName, $"score ({t.Name})", false, t.ScoreIsProbability ? Constraint.Probability : Constraint.None);
                    if (t.ProbabilityColumnName is not null)
                        Float(t.ProbabilityColumnName, $"probability ({t.Name})", false, Constraint.Probability);
                }
                else
                {
                    Float(t.LabelColumnName, $"label ({t.Name})", false, t.LogTransform ? Constraint.NonNegative : Constraint.None);
                    Float(t.ScoreColumnName, $"prediction ({t.Name})", false, Constraint.None);
                }
            }
            foreach (var g in groupNames)
                Group(g, "group");
            if (options.RequestColumnName is not null)
                Group(options.RequestColumnName, "request");
            string? rankingScore = null;
            if (options.RelevanceColumnName is not null)
            {
                Float(options.RelevanceColumnName, "relevance", true, Constraint.NonNegative);
                rankingScore = options.RankingScoreColumnName ?? tasks[0].ScoreColumnName;
                Float(rankingScore, "ranking score", false, Constraint.None);
            }
            if (options.WeightColumnName is not null)
                Float(options.WeightColumnName, "weight", false, Constraint.NonNegative);

            using var log = new RankerLog(context, "Evaluation");
            var watch = Stopwatch.StartNew();
            long rows = Read(data, floats.Values.ToList(), groups.Values.ToList());
            if (rows == 0)
                throw new InvalidOperationException("The data to evaluate has no rows.");

            var weights = options.WeightColumnName is null ? ReadOnlySpan<float>.Empty : floats[options.WeightColumnName].Values.Span;
            var binary = new List<BinaryTaskMetrics>();
            var regression = new List<RegressionTaskMetrics>();
            foreach (var t in tasks)
            {
                if (t.Kind == RankingTaskKind.Binary)
                    binary.Add(EvaluateBinary(t, options, ks, floats, groups, groupNames, weights, log));
                else
                    regression.Add(EvaluateRegression(t, floats, weights, log));
            }

            ListMetrics? list = null;
            if (options.RelevanceColumnName is not null)
            {
                var rel = floats[options.RelevanceColumnName].Values.Span;
                var scores = floats[rankingScore!].Values.Span;
                list = List(scores, rel, groups[options.RequestColumnName!].Values.Span, ks, options,
                    rankingScore!, options.RelevanceColumnName, options.RequestColumnName!);
            }
            log.Info(string.Format(CultureInfo.InvariantCulture, "Evaluated {0} rows, {1} task(s) in {2} ms.", rows, tasks.Count, watch.ElapsedMilliseconds));
            return new RankingEvaluationResult(rows, binary, regression, list, ks);
        }

        public static AucComparison CompareAuc(MLContext context, IDataView data, string labelColumnName, string scoreColumnNameA, string scoreColumnNameB)
        {
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            var schema = data.Schema;
            var label = new FloatColumn(Check.Column(schema, labelColumnName, "label", SingleOrBoolean,
                t => IsSingle(t) || t is BooleanDataViewType), "label");
            var a = new FloatColumn(Check.Column(schema, scoreColumnNameA, "score A", Single, IsSingle), "score A");
            var cols = new List<FloatColumn> { label, a };
            FloatColumn b = a;
            if (scoreColumnNameB != scoreColumnNameA)
            {
                b = new FloatColumn(Check.Column(schema, scoreColumnNameB, "score B", Single, IsSingle), "score B");
                cols.Add(b);
            }
            using var log = new RankerLog(context, "Evaluation");
            long rows = Read(data, cols, new List<GroupColumn>());
            if (rows == 0)
                throw new InvalidOperationException("The data to evaluate has no rows.");
            var lv = label.Values.Span;
            var labels = new bool[lv.Length];
            for (int i = 0; i < labels.Length; i++)
                labels[i] = lv[i] > 0;
            var result = RankerMetrics.CompareAuc(a.Values.Span, b.Values.Span, labels);
            log.Info(string.Format(CultureInfo.InvariantCulture, "AUC '{0}' {1:F6} vs '{2}' {3:F6}: difference {4:F6} (SE {5:F6}), p = {6:G4}.",
                scoreColumnNameA, result.AucA, scoreColumnNameB, result.AucB, result.Difference, result.StandardError, result.PValue));
            return result;
        }

        private static BinaryTaskMetrics EvaluateBinary(RankingTaskSpec t, RankingEvaluationOptions options, int[] ks,
            Dictionary<string, FloatColumn> floats, Dictionary<string, GroupColumn> groups, List<string> groupNames,
            ReadOnlySpan<float> weights, RankerLog log)
        {
            var labelValues = floats[t.LabelColumnName].Values.Span;
            var scores = floats[t.ScoreColumnName].Values.Span;
            var labels = new bool[labelValues.Length];
            long positives = 0;
            for (int i = 0; i < labels.Length; i++)
                if (labels[i] = labelValues[i] > 0)
                    positives++;
            var m = new BinaryTaskMetrics(t)
            {
                Count = labels.Length,
                Positives = positives,
                Auc = RankerMetrics.Auc(scores, labels, weights),
                MeanObserved = RankerMetrics.MeanObserved(labels, weights),
            };
            m.AucStandardError = weights.IsEmpty ? RankerMetrics.AucStandardError(scores, labels) : double.NaN;
            if (double.IsNaN(m.Auc))
                log.Warning($"Task '{t.Name}': label column '{t.LabelColumnName}' holds a single class ({positives} positives of {labels.Length} rows); AUC and group AUC are NaN.");
            var gauc = new Dictionary<string, double>(StringComparer.Ordinal);
            var details = new Dictionary<string, GroupAucResult>(StringComparer.Ordinal);
            foreach (var g in groupNames)
            {
                var r = RankerMetrics.GroupAucDetailed(scores, labels, groups[g].Values.Span, weights, options.GroupAucWeighting);
                gauc[g] = r.Value;
                details[g] = r;
            }
            m.GAuc = gauc;
            m.GAucDetails = details;
            string? probColumn = t.ProbabilityColumnName ?? (t.ScoreIsProbability ? t.ScoreColumnName : null);
            if (probColumn is not null)
            {
                var p = floats[probColumn].Values.Span;
                m.LogLoss = RankerMetrics.LogLoss(p, labels, weights);
                m.MeanPredicted = RankerMetrics.MeanPredicted(p, weights);
                m.CalibrationCurve = RankerMetrics.CalibrationCurve(p, labels, options.CalibrationBins, options.CalibrationBinning, weights);
                m.Ece = RankerMetrics.ExpectedCalibrationError(p, labels, options.CalibrationBins, options.CalibrationBinning, weights);
            }
            if (options.RequestColumnName is not null)
            {
                var rel = new float[labels.Length];
                for (int i = 0; i < rel.Length; i++)
                    rel[i] = labels[i] ? 1f : 0f;
                m.List = List(scores, rel, groups[options.RequestColumnName].Values.Span, ks, options, t.ScoreColumnName, t.LabelColumnName, options.RequestColumnName);
            }
            return m;
        }

        private static RegressionTaskMetrics EvaluateRegression(RankingTaskSpec t, Dictionary<string, FloatColumn> floats, ReadOnlySpan<float> weights, RankerLog log)
        {
            var labels = floats[t.LabelColumnName].Values.Span;
            var scores = floats[t.ScoreColumnName].Values.Span;
            var m = new RegressionTaskMetrics(t) { Count = labels.Length, MeanObserved = RankerMetrics.MeanPredicted(labels, weights) };
            if (t.LogTransform)
            {
                var raw = new float[scores.Length];
                var logLabels = new float[labels.Length];
                for (int i = 0; i < raw.Length; i++)
                {
                    raw[i] = (float)Math.Min(float.MaxValue, Math.Exp(scores[i]) - 1.0);
                    logLabels[i] = (float)Math.Log(1.0 + labels[i]);
                }
                m.Rmse = RankerMetrics.Rmse(raw, labels, weights);
                m.Mae = RankerMetrics.Mae(raw, labels, weights);
                m.MeanPredicted = RankerMetrics.MeanPredicted(raw, weights);
                m.RmseLog1p = RankerMetrics.Rmse(scores, logLabels, weights);
            }
            else
            {
                m.Rmse = RankerMetrics.Rmse(scores, labels, weights);
                m.Mae = RankerMetrics.Mae(scores, labels, weights);
                m.MeanPredicted = RankerMetrics.MeanPredicted(scores, weights);
                bool negative = false;
                foreach (float y in labels)
                    negative |= y < 0;
                m.RmseLog1p = negative ? double.NaN : RankerMetrics.RmseLog1p(scores, labels, weights);
                if (negative)
                    log.Warning($"Task '{t.Name}': label column '{t.LabelColumnName}' has negative values; RMSE on the log1p scale is NaN.");
            }
            return m;
        }

        private static ListMetrics List(ReadOnlySpan<float> scores, ReadOnlySpan<float> relevance, ReadOnlySpan<long> requests, int[] ks,
            RankingEvaluationOptions options, string scoreColumn, string relevanceColumn, string requestColumn)
        {
            var r = RankerMetrics.NdcgAndMrr(scores, relevance, requests, ks, options.TieBreaking, options.NoRelevantItems, out var mrr);
            var ndcg = new Dictionary<int, double>();
            for (int j = 0; j < ks.Length; j++)
                ndcg[ks[j]] = r[j].Value;
            return new ListMetrics(scoreColumn, relevanceColumn, requestColumn, ndcg, mrr.Value, mrr);
        }

        private static bool IsGroupType(DataViewType t)
            => t is KeyDataViewType || t is TextDataViewType
               || t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32
               || t == NumberDataViewType.Int64 || t == NumberDataViewType.UInt64;

        private static long Read(IDataView data, List<FloatColumn> floats, List<GroupColumn> groups)
        {
            var active = floats.Select(f => f.Column).Concat(groups.Select(g => g.Column)).ToList();
            using var cursor = data.GetRowCursor(active);
            var floatGetters = floats.Select(f => FloatGetter(cursor, f)).ToArray();
            var groupGetters = groups.Select(g => GroupGetter(cursor, g.Column)).ToArray();
            long rows = 0;
            while (cursor.MoveNext())
            {
                long row = cursor.Position;
                for (int c = 0; c < floats.Count; c++)
                {
                    var f = floats[c];
                    float v = floatGetters[c]();
                    if (!f.IsBoolean)
                    {
                        Check.Finite(v, f.Column.Name, row);
                        if ((f.Constraints & Constraint.Probability) != 0 && !(v >= 0f && v <= 1f))
                            throw new InvalidOperationException(
                                $"Column '{f.Column.Name}' ({f.Role}) has value {v.ToString(CultureInfo.InvariantCulture)} at row {row}; expected a probability in [0, 1]. " +
                                "For raw scores, give a probability column or scoreIsProbability: false.");
                        if ((f.Constraints & Constraint.NonNegative) != 0 && v < 0f)
                            throw new InvalidOperationException(
                                $"Column '{f.Column.Name}' ({f.Role}) has value {v.ToString(CultureInfo.InvariantCulture)} at row {row}; expected a number >= 0.");
                    }
                    f.Values.Add(v);
                }
                for (int c = 0; c < groups.Count; c++)
                    groups[c].Values.Add(groupGetters[c]());
                rows++;
            }
            return rows;
        }

        private static Func<float> FloatGetter(DataViewRowCursor cursor, FloatColumn f)
        {
            if (f.IsBoolean)
            {
                var gb = cursor.GetGetter<bool>(f.Column);
                bool b = false;
                return () => { gb(ref b); return b ? 1f : 0f; };
            }
            if (f.IsVector)
            {
                var gv = cursor.GetGetter<VBuffer<float>>(f.Column);
                var buffer = default(VBuffer<float>);
                return () => { gv(ref buffer); return buffer.GetItemOrDefault(0); };
            }
            var g = cursor.GetGetter<float>(f.Column);
            float v = 0;
            return () => { g(ref v); return v; };
        }

        private static Func<long> GroupGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            var raw = column.Type.RawType;
            if (column.Type is TextDataViewType)
            {
                var g = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                var ids = new Dictionary<string, long>(StringComparer.Ordinal);
                var lookup = ids.GetAlternateLookup<ReadOnlySpan<char>>();
                ReadOnlyMemory<char> text = default;
                return () =>
                {
                    g(ref text);
                    if (!lookup.TryGetValue(text.Span, out long id))
                    {
                        id = ids.Count;
                        lookup[text.Span] = id;
                    }
                    return id;
                };
            }
            if (raw == typeof(uint)) { var g = cursor.GetGetter<uint>(column); uint v = 0; return () => { g(ref v); return v; }; }
            if (raw == typeof(int)) { var g = cursor.GetGetter<int>(column); int v = 0; return () => { g(ref v); return v; }; }
            if (raw == typeof(long)) { var g = cursor.GetGetter<long>(column); long v = 0; return () => { g(ref v); return v; }; }
            if (raw == typeof(ulong)) { var g = cursor.GetGetter<ulong>(column); ulong v = 0; return () => { g(ref v); return unchecked((long)v); }; }
            if (raw == typeof(ushort)) { var g = cursor.GetGetter<ushort>(column); ushort v = 0; return () => { g(ref v); return v; }; }
            if (raw == typeof(byte)) { var g = cursor.GetGetter<byte>(column); byte v = 0; return () => { g(ref v); return v; }; }
            throw new ArgumentOutOfRangeException(column.Name, $"The group column '{column.Name}' has type {column.Type}; expected {GroupTypes}.");
        }
    }
}
