using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// The ML.NET transforms in front of the network (all built-in and saveable): dense columns concatenated, ids mapped to
    /// embedding rows as UInt32 key vectors (dictionary, hash or key; 0 = missing or unknown): the ONNX graph's inputs.
    /// </summary>
    internal sealed class PreparationPlan
    {
        public IEstimator<ITransformer> Estimator = null!;
        public List<string> OnnxInputs = new();
        public List<string> TemporaryColumns = new();
        public string? Dense;
        public List<(CategoricalFeature Spec, string KeyColumn, string Input)> Cats = new();
        public List<(SequenceFeature Spec, string KeyColumn, string Input)> Seqs = new();

        /// <summary>The encoding a feature's ids get: the declared one, or Key for a key-typed column and Dictionary otherwise
        /// (also what <see cref="PretrainedTables"/> matches pretrained ids through).</summary>
        internal static IdEncoding Resolve(IdEncoding? e, bool isKey) => e ?? (isKey ? IdEncoding.Key : IdEncoding.Dictionary);

        private sealed class IdRow<T>
        {
            public T Value { get; set; } = default!;
        }

        /// <summary>A sequence column's ids as one scalar column, in order of occurrence (MapValueToKey's key data must be a
        /// scalar column; learning from it gives the dictionary the sequence itself would learn).</summary>
        private static IDataView FlattenedIds(MLContext ml, IDataView input, string column)
        {
            var raw = ((VectorDataViewType)input.Schema[column].Type).ItemType.RawType;
            var m = typeof(PreparationPlan).GetMethod(nameof(Flatten), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
            return raw == typeof(ReadOnlyMemory<char>)
                ? Flatten<ReadOnlyMemory<char>, string>(ml, input, column, v => v.ToString())
                : (IDataView)m.MakeGenericMethod(raw, raw).Invoke(null, new object[] { ml, input, column, null! })!;
        }

        private static IDataView Flatten<T, TOut>(MLContext ml, IDataView input, string column, Func<T, TOut>? convert)
        {
            var values = new List<IdRow<TOut>>();
            var seen = new HashSet<TOut>();
            var col = input.Schema[column];
            using (var c = input.GetRowCursor(new[] { col }))
            {
                var get = c.GetGetter<VBuffer<T>>(col);
                var buf = default(VBuffer<T>);
                while (c.MoveNext())
                {
                    get(ref buf);
                    foreach (var v in buf.DenseValues())
                    {
                        var o = convert is null ? (TOut)(object)v! : convert(v);
                        if (seen.Add(o))
                            values.Add(new IdRow<TOut> { Value = o });
                    }
                }
            }
            var view = ml.Data.LoadFromEnumerable(values);
            return ml.Transforms.CopyColumns(column, nameof(IdRow<TOut>.Value)).Append(ml.Transforms.SelectColumns(column)).Fit(view).Transform(view);
        }

        /// <summary>The feature whose table (and id encoding) a shared sequence uses: a categorical feature or a sequence.</summary>
        private static (string Column, IdEncoding? Encoding, int HashBits, int MaximumIds)? Owner(MultiTaskEstimator.Options o, SequenceFeature s)
        {
            if (s.SharedEmbeddingWith is null)
                return null;
            var f = o.Features.First(x => x.ColumnName == s.SharedEmbeddingWith && x is CategoricalFeature or SequenceFeature);
            return f is CategoricalFeature c ? (c.ColumnName, c.Encoding, c.HashBits, c.MaximumIds) : f is SequenceFeature q ? (q.ColumnName, q.Encoding, q.HashBits, q.MaximumIds) : null;
        }

        /// <summary>Dictionaries shared by a categorical feature and sequences: both learn from the categorical column's values.</summary>
        public static Dictionary<string, IDataView> SharedKeyData(MLContext ml, MultiTaskEstimator.Options o, IDataView input)
        {
            var d = new Dictionary<string, IDataView>();
            foreach (var s in o.Features.OfType<SequenceFeature>().Where(s => s.SharedEmbeddingWith is not null))
            {
                var owner = Owner(o, s)!.Value;
                bool isKey = input.Schema[owner.Column].Type.ItemOf() is KeyDataViewType;
                if (Resolve(owner.Encoding, isKey) == IdEncoding.Dictionary && !d.ContainsKey(owner.Column))
                    d[owner.Column] = input.Schema[owner.Column].Type is VectorDataViewType
                        ? FlattenedIds(ml, input, owner.Column)
                        : ml.Transforms.SelectColumns(owner.Column).Fit(input).Transform(input);
            }
            return d;
        }

        public static PreparationPlan Create(MLContext ml, MultiTaskEstimator.Options o, Func<string, bool> isScalar, Func<string, bool> isKey, Dictionary<string, IDataView>? keyData)
        {
            var p = new PreparationPlan();
            IEstimator<ITransformer> chain = new EstimatorChain<ITransformer>();
            var dense = o.Features.OfType<DenseFeature>().Select(d => d.ColumnName).ToArray();
            if (dense.Length > 0)
            {
                p.Dense = MultiTaskEstimator.DenseColumn;
                chain = chain.Append(ml.Transforms.Concatenate(p.Dense, dense));
                p.OnnxInputs.Add(p.Dense);
                p.TemporaryColumns.Add(p.Dense);
            }
            foreach (var c in o.Features.OfType<CategoricalFeature>())
            {
                var enc = Resolve(c.Encoding, isKey(c.ColumnName));
                string key = "MultiTask.Key." + c.ColumnName, inp;
                string keyCol = c.ColumnName;
                if (enc == IdEncoding.Dictionary)
                {
                    IDataView? kd = null;
                    keyData?.TryGetValue(c.ColumnName, out kd);
                    chain = chain.Append(ml.Transforms.Conversion.MapValueToKey(key, c.ColumnName, c.MaximumIds, ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence, keyData: kd));
                    keyCol = key;
                    p.TemporaryColumns.Add(key);
                }
                else if (enc == IdEncoding.Hash)
                {
                    chain = chain.Append(ml.Transforms.Conversion.Hash(key, c.ColumnName, c.HashBits));
                    keyCol = key;
                    p.TemporaryColumns.Add(key);
                }
                // a scalar key column is fed to ONNX as [batch, 1]
                inp = keyCol;
                p.OnnxInputs.Add(inp);
                p.Cats.Add((c, keyCol, inp));
            }
            foreach (var s in o.Features.OfType<SequenceFeature>())
            {
                var owner = Owner(o, s);
                var enc = owner is { } ow ? Resolve(ow.Encoding, isKey(ow.Column)) : Resolve(s.Encoding, isKey(s.ColumnName));
                string key = "MultiTask.Key." + s.ColumnName, inp;
                string keyCol = s.ColumnName;
                if (enc == IdEncoding.Dictionary)
                {
                    IDataView? kd = null;
                    if (owner is { } ow2)
                        keyData?.TryGetValue(ow2.Column, out kd);
                    else
                        keyData?.TryGetValue(s.ColumnName, out kd);   // a sequence that others share: the same dictionary
                    chain = chain.Append(ml.Transforms.Conversion.MapValueToKey(key, s.ColumnName, owner?.MaximumIds ?? s.MaximumIds, ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence, keyData: kd));
                    keyCol = key;
                    p.TemporaryColumns.Add(key);
                }
                else if (enc == IdEncoding.Hash)
                {
                    chain = chain.Append(ml.Transforms.Conversion.Hash(key, s.ColumnName, owner?.HashBits ?? s.HashBits));
                    keyCol = key;
                    p.TemporaryColumns.Add(key);
                }
                inp = keyCol;
                p.OnnxInputs.Add(inp);
                p.Seqs.Add((s, keyCol, inp));
            }
            p.Estimator = chain;
            return p;
        }

        public static PreparationPlan Create(MLContext ml, MultiTaskEstimator.Options o, DataViewSchema s, Dictionary<string, IDataView>? keyData)
            => Create(ml, o, c => s[c].Type is not VectorDataViewType, c => s[c].Type.ItemOf() is KeyDataViewType, keyData);

        public static PreparationPlan Create(MLContext ml, MultiTaskEstimator.Options o, SchemaShape s)
        {
            SchemaShape.Column Find(string c)
            {
                foreach (var col in s)
                    if (col.Name == c)
                        return col;
                throw new ArgumentOutOfRangeException(c, $"Column '{c}' was not found in the input schema.");
            }
            return Create(ml, o, c => Find(c).Kind == SchemaShape.Column.VectorKind.Scalar, c => Find(c).IsKey, null);
        }

        /// <summary>The network layout from the prepared (fitted) schema: table sizes come from the key types.</summary>
        public NetworkLayout Layout(DataViewSchema prepared, MultiTaskEstimator.Options o, out BatchReader.ColumnNames readerColumns)
        {
            var layout = new NetworkLayout();
            var cols = new BatchReader.ColumnNames { Dense = Dense, Weight = o.ExampleWeightColumnName };
            if (Dense is not null)
            {
                var sources = new List<string>();
                var ends = new List<int>();
                int n = 0;
                var wide = new List<int>();
                foreach (var d in o.Features.OfType<DenseFeature>())
                {
                    int size = prepared[d.ColumnName].Type is VectorDataViewType v ? v.Size : 1;
                    if (d.Wide)
                        wide.AddRange(Enumerable.Range(n, size));
                    n += size;
                    sources.Add(d.ColumnName);
                    ends.Add(n);
                }
                layout.DenseSize = n;
                layout.WideDenseSlots = wide.ToArray();
                cols.DenseSources = sources.ToArray();
                cols.DenseSourceEnds = ends.ToArray();
            }
            var tableOf = new Dictionary<string, int>();
            foreach (var (spec, keyCol, inp) in Cats)
            {
                var key = prepared[keyCol].Type.ItemOf() as KeyDataViewType
                    ?? throw new InvalidOperationException($"Column '{keyCol}' is not a key type after preparation.");
                tableOf[spec.ColumnName] = layout.Tables.Count;
                int slots = prepared[inp].Type is VectorDataViewType v ? v.Size : 1;
                long ids = checked((long)key.Count + 1);
                long stride = slots > 1 && spec.SlotIdSpace == SlotIdSpace.PerSlot ? ids : 0;
                layout.Tables.Add(new EmbeddingTable { Name = spec.ColumnName, Rows = stride > 0 ? checked(ids * slots) : ids, Dimension = spec.EmbeddingDimension });
                layout.Categoricals.Add(new CategoricalInput { Name = spec.ColumnName, Column = inp, Slots = slots, Table = tableOf[spec.ColumnName], Wide = spec.Wide, SlotStride = stride });
            }
            // sequences with their own table first (a sequence may share another sequence's table), then all in declared order
            foreach (var (spec, keyCol, _) in Seqs.Where(q => q.Spec.SharedEmbeddingWith is null))
            {
                var key = prepared[keyCol].Type.ItemOf() as KeyDataViewType
                    ?? throw new InvalidOperationException($"Column '{keyCol}' is not a key type after preparation.");
                tableOf[spec.ColumnName] = layout.Tables.Count;
                layout.Tables.Add(new EmbeddingTable { Name = spec.ColumnName, Rows = checked((long)key.Count + 1), Dimension = spec.EmbeddingDimension });
            }
            foreach (var (spec, keyCol, inp) in Seqs)
            {
                int table = tableOf[spec.SharedEmbeddingWith ?? spec.ColumnName];
                if (spec.SharedEmbeddingWith is not null)
                {
                    if (layout.Categoricals.FirstOrDefault(c => c.Name == spec.SharedEmbeddingWith) is { SlotStride: > 0 })
                        throw new InvalidOperationException(
                            $"Sequence feature '{spec.ColumnName}' shares the embedding table of '{spec.SharedEmbeddingWith}', a vector column with one id " +
                            $"space per slot; set that CategoricalFeature's SlotIdSpace = SlotIdSpace.Shared, or give the sequence its own table.");
                    // a dictionary or hash shared with the owner: the key ranges agree (checked, so rows never overflow)
                    var key = prepared[keyCol].Type.ItemOf() as KeyDataViewType;
                    if (key is not null && (long)key.Count + 1 > layout.Tables[table].Rows)
                        throw new InvalidOperationException($"Sequence feature '{spec.ColumnName}' has {key.Count} ids, more than the table it shares with '{spec.SharedEmbeddingWith}' ({layout.Tables[table].Rows - 1}).");
                }
                layout.Sequences.Add(new SequenceInput
                {
                    Name = spec.ColumnName, Column = inp, Table = table, MaximumLength = spec.MaximumLength, Pooling = spec.Pooling,
                    SameForAllCandidates = spec.SameForAllCandidates,
                    KnownLength = prepared[inp].Type is VectorDataViewType { IsKnownSize: true } known ? known.Size : 0,
                    OutputSize = spec.Pooling.GetOutputDimension(layout.Tables[table].Dimension),
                });
            }
            // the queries of each pooling: (sequence?, index) into the declared categoricals or sequences
            foreach (var s in layout.Sequences)
                foreach (var q in s.Pooling.QueryFeatureNames)
                {
                    int ci = layout.Categoricals.FindIndex(c => c.Name == q);
                    int si = layout.Sequences.FindIndex(x => x.Name == q);
                    if (ci >= 0 && layout.Categoricals[ci].SlotStride > 0)
                        throw new InvalidOperationException($"Sequence feature '{s.Name}': its pooling's query '{q}' is a vector column with one id space per slot; set that CategoricalFeature's SlotIdSpace = SlotIdSpace.Shared to use it as a query.");
                    s.Queries.Add(ci >= 0 ? (false, ci) : si >= 0 ? (true, si)
                        : throw new InvalidOperationException($"Sequence feature '{s.Name}': query feature '{q}' is not a declared categorical or sequence feature."));
                }
            var adjustmentColumns = new List<AdjustmentColumn[]>();
            int SizeOf(AdjustmentColumn c) => c.Kind == AdjustmentColumnKind.Dense && prepared[c.Name].Type is VectorDataViewType v ? v.Size : 1;
            foreach (var t in o.Tasks)
            {
                var info = new TaskInfo
                {
                    Name = t.Name,
                    Label = t.LabelColumnName,
                    Kind = t.Kind,
                    Transform = t.LabelTransform,
                    Weight = t.Weight,
                    TowerLayers = t.TowerLayers ?? o.TowerLayers,
                    Parent = t.ConditionedOn is null ? -1 : o.Tasks.Select(x => x.Name).ToList().IndexOf(t.ConditionedOn),
                    CounterfactualWeight = t.CounterfactualWeight,
                };
                foreach (var a in t.TrainingOnlyLogitAdjustments)
                {
                    var columns = a.Columns().ToArray();
                    int size = columns.Sum(SizeOf);
                    info.Adjustments.Add(layout.Adjustments.Count);
                    layout.Adjustments.Add(new AdjustmentInput { Spec = a, Offset = layout.AdjustmentSize, Size = size });
                    layout.AdjustmentSize += size;
                    adjustmentColumns.Add(columns);
                }
                if (t.PerPositionTowers is { } pt)
                {
                    info.PositionTowers = pt;
                    info.PositionInput = layout.PositionColumns.IndexOf(pt.PositionColumnName);
                    if (info.PositionInput < 0)
                    {
                        info.PositionInput = layout.PositionColumns.Count;
                        layout.PositionColumns.Add(pt.PositionColumnName);
                    }
                }
                layout.Tasks.Add(info);
            }
            // method 1: the position enters the network in training; it is read with the training-only block
            var position = o.Features.OfType<PositionFeature>().FirstOrDefault();
            if (position is not null)
            {
                layout.Position = new PositionInput { Spec = position, Offset = layout.AdjustmentSize };
                layout.AdjustmentSize += 1;
                adjustmentColumns.Add(new[] { new AdjustmentColumn(position.ColumnName, AdjustmentColumnKind.Position) });
            }
            cols.AdjustmentColumns = adjustmentColumns.ToArray();
            readerColumns = cols;
            return layout;
        }
    }

    /// <summary>Standardization statistics of the dense inputs from one streaming pass (Welford, in double).</summary>
    internal static class DenseStatistics
    {
        /// <summary>Fills the layout's mean and inverse deviation (identity for features with Standardize = false) and checks
        /// every task has labels it can learn from (not all missing; both 0 and 1 for a binary task); returns the row count
        /// and, in <paramref name="dataDigest"/>, a digest of every value the trainer reads (checkpoints are tied to it).</summary>
        public static long Compute(BatchReader reader, RowSubset subset, NetworkLayout layout, MultiTaskEstimator.Options o, BatchReader.ColumnNames cols, out ulong dataDigest)
        {
            int d = layout.DenseSize;
            int tasks = layout.Tasks.Count;
            var mean = new double[d];
            var m2 = new double[d];
            var labelled = new long[tasks];
            var positives = new long[tasks];
            long n = 0;
            var digest = new DataDigest();
            reader.Run(subset, 4096, 0, null, b =>
            {
                digest.Add(b);
                for (int r = 0; r < b.Count; r++)
                {
                    n++;
                    for (int i = 0; i < d; i++)
                    {
                        double x = b.Dense[r * d + i];
                        double delta = x - mean[i];
                        mean[i] += delta / n;
                        m2[i] += delta * (x - mean[i]);
                    }
                    for (int t = 0; t < tasks; t++)
                        if (b.Mask[r * tasks + t] != 0f)
                        {
                            labelled[t]++;
                            if (b.Labels[r * tasks + t] == 1f)
                                positives[t]++;
                        }
                }
            });
            dataDigest = digest.Value;
            if (n > 0)
                CheckLabels(layout, n, labelled, positives, subset);
            layout.DenseMean = new float[d];
            layout.DenseInvStd = new float[d];
            var features = o.Features.OfType<DenseFeature>().ToArray();
            int start = 0;
            for (int f = 0; f < features.Length; f++)
            {
                int end = cols.DenseSourceEnds[f];
                for (int i = start; i < end; i++)
                {
                    double std = n > 1 ? Math.Sqrt(m2[i] / (n - 1)) : 0;
                    bool on = features[f].Standardize;
                    layout.DenseMean[i] = on ? (float)mean[i] : 0f;
                    layout.DenseInvStd[i] = on && std > 1e-12 ? (float)(1.0 / std) : 1f;
                }
                start = end;
            }
            return n;
        }

        /// <summary>A task whose labels are all missing would train to a loss of 0 and output its initial guess; a binary task
        /// with one class only learns a constant: both are errors, naming the task and its column.</summary>
        private static void CheckLabels(NetworkLayout layout, long rows, long[] labelled, long[] positives, RowSubset subset)
        {
            string where = subset == RowSubset.TrainingPart ? $"the {rows} training rows (outside the validation fraction)" : $"the {rows} training rows";
            for (int t = 0; t < layout.Tasks.Count; t++)
            {
                var task = layout.Tasks[t];
                if (labelled[t] == 0)
                    throw new InvalidOperationException(
                        $"Label column '{task.Label}' of task '{task.Name}' is missing (NaN) in all of {where}: the task has nothing to learn from " +
                        "(its loss would be 0). Fill the column, or remove the task.");
                if (task.Kind != MultiTaskKind.Binary)
                    continue;
                long negatives = labelled[t] - positives[t];
                if (positives[t] == 0 || negatives == 0)
                    throw new InvalidOperationException(
                        $"Label column '{task.Label}' of binary task '{task.Name}' has one class only: all {labelled[t]} labelled rows of {where} are " +
                        $"{(positives[t] == 0 ? "0" : "1")}. A binary task needs both 0 and 1 (its model would be a constant); check the column, " +
                        "or train on more data.");
            }
        }
    }

    /// <summary>A 64-bit digest (FNV-1a over 32-bit words) of everything a training batch holds, in row order.</summary>
    internal sealed class DataDigest
    {
        private ulong _h = 14695981039346656037UL;

        public ulong Value => _h;

        private void Word(uint w)
        {
            _h = (_h ^ w) * 1099511628211UL;
        }

        private void Floats(float[] a, int count)
        {
            for (int i = 0; i < count; i++)
                Word(BitConverter.SingleToUInt32Bits(a[i]));
        }

        private void Longs(long[] a, int count)
        {
            for (int i = 0; i < count; i++)
            {
                Word((uint)a[i]);
                Word((uint)(a[i] >> 32));
            }
        }

        public void Add(RowStore b)
        {
            int n = b.Count, cap = Math.Max(b.Capacity, 1);
            Word((uint)n);
            Floats(b.Dense, n * (b.Dense.Length / cap));
            foreach (var c in b.Cats)
                Longs(c, n * (c.Length / cap));
            for (int i = 0; i < b.Seqs.Length; i++)
            {
                int m = b.Seqs[i].Length / cap;
                for (int r = 0; r < n; r++)
                {
                    int len = b.SeqLengths[i][r];
                    Word((uint)len);
                    for (int j = 0; j < len; j++)
                    {
                        long v = b.Seqs[i][r * m + j];
                        Word((uint)v);
                        Word((uint)(v >> 32));
                    }
                }
            }
            Floats(b.Labels, n * (b.Labels.Length / cap));
            Floats(b.Mask, n * (b.Mask.Length / cap));
            Floats(b.Weights, n);
            Floats(b.Adjust, n * (b.Adjust.Length / cap));
            Floats(b.Positions, n * (b.Positions.Length / cap));
        }
    }
}

namespace MLNetRank.Torch.MultiTask
{
    internal static class DataViewTypeExtensions
    {
        /// <summary>The item type of a vector type, or the type itself.</summary>
        public static Microsoft.ML.Data.DataViewType ItemOf(this Microsoft.ML.Data.DataViewType t)
            => t is Microsoft.ML.Data.VectorDataViewType v ? v.ItemType : t;
    }
}
