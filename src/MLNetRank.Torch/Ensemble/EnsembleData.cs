using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>
    /// The ensemble's training rows, read once through a cursor: per row the K objectives' logits (probabilities converted),
    /// the K binary labels and the group index. 8K bytes (+4 with a group) per row: the ensemble's inputs are a few scalars, so
    /// the rows are held in memory (1M rows x 5 objectives = 40 MB).
    /// </summary>
    internal sealed class EnsembleData
    {
        /// <summary>Logits clamp probabilities to [Epsilon, 1 − Epsilon] (also in the ONNX graph).</summary>
        internal const float Epsilon = 1e-6f;

        public int Rows { get; private set; }
        public int K { get; }
        public float[] Logits = Array.Empty<float>();   // Rows x K
        public float[] Labels = Array.Empty<float>();   // Rows x K, 0/1
        public int[]? Groups;                          // Rows, 0-based group index
        public int GroupCount { get; private set; }

        private EnsembleData(int k) => K = k;

        internal static bool IsScoreType(DataViewType t)
            => t == NumberDataViewType.Single || (t is VectorDataViewType v && v.IsKnownSize && v.Size == 1 && v.ItemType == NumberDataViewType.Single);

        internal static bool IsLabelType(DataViewType t)
            => t == BooleanDataViewType.Instance || t == NumberDataViewType.Single || t == NumberDataViewType.Double || t == NumberDataViewType.Int32;

        internal static bool IsGroupType(DataViewType t)
            => (t is KeyDataViewType k && (k.RawType == typeof(uint) || k.RawType == typeof(ulong))) || t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32 || t == NumberDataViewType.Int64
               || t == NumberDataViewType.UInt64 || t is TextDataViewType;

        internal const string ScoreTypes = "Single or a vector of one Single";
        internal const string LabelTypes = "Boolean, Single, Double or Int32";
        internal const string GroupTypes = "a key (UInt32 or UInt64), UInt32, Int32, Int64, UInt64 or text";

        /// <summary>Checks the score columns (and, for training, labels and group) of a concrete schema.</summary>
        internal static void ValidateSchema(DataViewSchema s, ObjectiveEnsembleEstimator.Options o, bool training)
        {
            foreach (var obj in o.Objectives)
            {
                Check.Column(s, obj.ScoreColumnName, $"score (objective '{obj.Name}')", ScoreTypes, IsScoreType);
                if (training)
                    Check.Column(s, obj.LabelColumnName, $"label (objective '{obj.Name}')", LabelTypes, IsLabelType);
            }
            if (training && o.GroupColumnName is not null)
                Check.Column(s, o.GroupColumnName, "group", GroupTypes, IsGroupType);
        }

        public static EnsembleData Read(IDataView data, ObjectiveEnsembleEstimator.Options o)
        {
            var objectives = o.Objectives;
            int K = objectives.Count;
            var s = data.Schema;
            var scoreCols = objectives.Select(x => s[x.ScoreColumnName]).ToArray();
            var labelCols = objectives.Select(x => s[x.LabelColumnName]).ToArray();
            var groupCol = o.GroupColumnName is null ? (DataViewSchema.Column?)null : s[o.GroupColumnName];
            var needed = scoreCols.Concat(labelCols).Concat(groupCol.HasValue ? new[] { groupCol.Value } : Array.Empty<DataViewSchema.Column>())
                .GroupBy(c => c.Index).Select(g => g.First()).ToArray();
            var d = new EnsembleData(K);
            var logits = new List<float>();
            var labels = new List<float>();
            var groups = groupCol.HasValue ? new List<int>() : null;
            using var cursor = data.GetRowCursor(needed);
            var scores = scoreCols.Select(c => ScoreGetter(cursor, c)).ToArray();
            var labelGetters = labelCols.Select(c => LabelGetter(cursor, c)).ToArray();
            var group = groupCol.HasValue ? GroupGetter(cursor, groupCol.Value) : null;
            var groupIndex = new Dictionary<object, int>();
            long row = 0;
            while (cursor.MoveNext())
            {
                o.CancellationToken.ThrowIfCancellationRequested();
                for (int k = 0; k < K; k++)
                {
                    var obj = objectives[k];
                    float v = scores[k]();
                    if (!float.IsFinite(v))
                        throw new InvalidOperationException($"The score column '{obj.ScoreColumnName}' (objective '{obj.Name}') has a non-finite value ({v}) at row {row}; expected a finite {(obj.ScoreKind == ObjectiveScoreKind.Logit ? "logit" : "probability")}.");
                    if (obj.ScoreKind == ObjectiveScoreKind.Probability)
                    {
                        if (v < 0 || v > 1)
                            throw new InvalidOperationException($"The score column '{obj.ScoreColumnName}' (objective '{obj.Name}') has the value {v} at row {row}; a Probability score must be in [0, 1] (declare ScoreKind = Logit for logits).");
                        v = ToLogit(v);
                    }
                    logits.Add(v);
                    double y = labelGetters[k]();
                    if (double.IsNaN(y))
                        throw new InvalidOperationException($"The label column '{obj.LabelColumnName}' (objective '{obj.Name}') is missing (NaN) at row {row}; expected a label for every training row.");
                    labels.Add(y >= obj.LabelThreshold ? 1f : 0f);
                }
                if (group is not null)
                {
                    var key = group();
                    if (!groupIndex.TryGetValue(key, out int gi))
                        groupIndex[key] = gi = groupIndex.Count;
                    groups!.Add(gi);
                }
                row++;
            }
            if (row == 0)
                throw new InvalidOperationException("The training data has no rows.");
            if (row > int.MaxValue / Math.Max(1, K))
                throw new InvalidOperationException($"The training data has {row} rows; the ensemble holds at most {int.MaxValue / K} rows x {K} objectives in memory.");
            d.Rows = (int)row;
            d.Logits = logits.ToArray();
            d.Labels = labels.ToArray();
            d.Groups = groups?.ToArray();
            d.GroupCount = groupIndex.Count;
            for (int k = 0; k < K; k++)
            {
                long pos = 0;
                for (int r = 0; r < d.Rows; r++)
                    pos += d.Labels[r * K + k] > 0 ? 1 : 0;
                if (pos == 0 || pos == d.Rows)
                    throw new InvalidOperationException(
                        $"The label column '{objectives[k].LabelColumnName}' (objective '{objectives[k].Name}') has only {(pos == 0 ? "negatives" : "positives")} " +
                        $"(threshold {objectives[k].LabelThreshold}) in {d.Rows} rows; an objective needs both classes to be ranked.");
            }
            return d;
        }

        internal static float ToLogit(float p)
        {
            p = Math.Clamp(p, Epsilon, 1 - Epsilon);
            return MathF.Log(p) - MathF.Log(1 - p);
        }

        private static Func<float> ScoreGetter(DataViewRowCursor c, DataViewSchema.Column col)
        {
            if (col.Type is VectorDataViewType)
            {
                var g = c.GetGetter<VBuffer<float>>(col);
                VBuffer<float> v = default;
                return () => { g(ref v); return v.GetItemOrDefault(0); };
            }
            var s = c.GetGetter<float>(col);
            float x = 0;
            return () => { s(ref x); return x; };
        }

        private static Func<double> LabelGetter(DataViewRowCursor c, DataViewSchema.Column col)
        {
            if (col.Type == BooleanDataViewType.Instance)
            {
                var g = c.GetGetter<bool>(col);
                bool b = false;
                return () => { g(ref b); return b ? 1 : 0; };
            }
            if (col.Type == NumberDataViewType.Single)
            {
                var g = c.GetGetter<float>(col);
                float f = 0;
                return () => { g(ref f); return f; };
            }
            if (col.Type == NumberDataViewType.Double)
            {
                var g = c.GetGetter<double>(col);
                double f = 0;
                return () => { g(ref f); return f; };
            }
            var gi = c.GetGetter<int>(col);
            int i = 0;
            return () => { gi(ref i); return i; };
        }

        private static Func<object> GroupGetter(DataViewRowCursor c, DataViewSchema.Column col)
        {
            var t = col.Type;
            if (t is TextDataViewType)
            {
                var g = c.GetGetter<ReadOnlyMemory<char>>(col);
                ReadOnlyMemory<char> m = default;
                return () => { g(ref m); return m.ToString(); };
            }
            if (t.RawType == typeof(uint))
            {
                var g = c.GetGetter<uint>(col);
                uint v = 0;
                return () => { g(ref v); return (long)v; };
            }
            if (t.RawType == typeof(int))
            {
                var g = c.GetGetter<int>(col);
                int v = 0;
                return () => { g(ref v); return (long)v; };
            }
            if (t.RawType == typeof(long))
            {
                var g = c.GetGetter<long>(col);
                long v = 0;
                return () => { g(ref v); return v; };
            }
            if (t.RawType == typeof(ulong))
            {
                var g = c.GetGetter<ulong>(col);
                ulong v = 0;
                return () => { g(ref v); return v; };
            }
            throw new ArgumentOutOfRangeException(col.Name, $"The group column '{col.Name}' has type {t}; expected {GroupTypes}.");
        }
    }
}
