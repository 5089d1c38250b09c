using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// <see cref="CategoricalFeature.InitialEmbeddings"/> / <see cref="SequenceFeature.InitialEmbeddings"/>: the options'
    /// checks, and the table rows each pretrained id starts, found through the fitted id encoding (dictionary values, hash,
    /// key), written into the layout for the network's constructor.
    /// </summary>
    internal static class PretrainedTables
    {
        private static string Root(FeatureSpec f) => f is SequenceFeature { SharedEmbeddingWith: { } owner } ? owner : f.ColumnName;

        private static (PretrainedEmbeddings? Vectors, bool Freeze) Of(FeatureSpec f) => f switch
        {
            CategoricalFeature c => (c.InitialEmbeddings, c.FreezeEmbeddings),
            SequenceFeature s => (s.InitialEmbeddings, s.FreezeEmbeddings),
            _ => (null, false),
        };

        /// <summary>Option checks (before any data): dimensions, FreezeEmbeddings without vectors, one set of vectors per table.</summary>
        public static void Validate(MultiTaskEstimator.Options o)
        {
            foreach (var f in o.Features)
            {
                var (v, freeze) = Of(f);
                string kind = f is CategoricalFeature ? "Categorical" : "Sequence";
                if (freeze && v is null)
                    throw new ArgumentException($"{kind} feature '{f.ColumnName}': FreezeEmbeddings needs InitialEmbeddings (a frozen table keeps its start; give the pretrained vectors to start from).");
                if (v is null)
                    continue;
                var root = o.Features.FirstOrDefault(x => x.ColumnName == Root(f));
                int dimension = root switch { CategoricalFeature c => c.EmbeddingDimension, SequenceFeature s => s.EmbeddingDimension, _ => -1 };
                if (dimension >= 1 && v.Dimension != dimension)
                    throw new ArgumentException(
                        $"{kind} feature '{f.ColumnName}': InitialEmbeddings has vectors of dimension {v.Dimension}, but the embedding table" +
                        (root == f ? "" : $" it shares with '{root!.ColumnName}'") + $" has dimension {dimension}. Pretrain with Dimension = {dimension}, or set EmbeddingDimension = {v.Dimension}.");
            }
            foreach (var g in o.Features.Where(f => f is CategoricalFeature or SequenceFeature && Of(f).Vectors is not null).GroupBy(Root))
                if (g.Count() > 1)
                    throw new ArgumentException(
                        $"Features {string.Join(", ", g.Select(f => $"'{f.ColumnName}'"))} share one embedding table ('{g.Key}') and each sets InitialEmbeddings: " +
                        "the table is initialised once; set InitialEmbeddings (and FreezeEmbeddings) on one of them only.");
        }

        /// <summary>Fills <see cref="EmbeddingTable.InitialRows"/>/<see cref="EmbeddingTable.InitialValues"/>/<see cref="EmbeddingTable.Frozen"/>
        /// for every table with pretrained vectors and logs what matched.</summary>
        public static void Apply(MLContext ml, MultiTaskEstimator.Options o, PreparationPlan plan, DataViewSchema prepared, NetworkLayout layout, Action<string> info)
        {
            foreach (var f in o.Features)
            {
                var (v, freeze) = Of(f);
                if (v is null)
                    continue;
                string root = Root(f);
                int t = layout.Tables.FindIndex(x => x.Name == root);
                if (t < 0)
                    throw new InvalidOperationException($"Feature '{f.ColumnName}': no embedding table '{root}' was built.");
                var table = layout.Tables[t];
                // the owner's key column and encoding (a sharer uses the owner's dictionary or hash)
                string keyCol;
                int hashBits;
                FeatureSpec owner;
                IdEncoding? declared;
                var cat = plan.Cats.FirstOrDefault(c => c.Spec.ColumnName == root);
                if (cat.Spec is not null)
                {
                    (owner, keyCol, hashBits, declared) = (cat.Spec, cat.KeyColumn, cat.Spec.HashBits, cat.Spec.Encoding);
                }
                else
                {
                    var seq = plan.Seqs.First(s => s.Spec.ColumnName == root);
                    (owner, keyCol, hashBits, declared) = (seq.Spec, seq.KeyColumn, seq.Spec.HashBits, seq.Spec.Encoding);
                }
                var sourceType = prepared[owner.ColumnName].Type;
                // the preparation's own rule for an unset encoding (key columns: Key, others: Dictionary)
                var encoding = PreparationPlan.Resolve(declared, sourceType.ItemOf() is KeyDataViewType);
                var keyType = prepared[keyCol].Type.ItemOf() as KeyDataViewType
                    ?? throw new InvalidOperationException($"Column '{keyCol}' is not a key type after preparation.");
                var layoutCat = layout.Categoricals.FirstOrDefault(c => c.Name == root);
                long stride = layoutCat?.SlotStride ?? 0;
                int slots = stride > 0 ? layoutCat!.Slots : 1;
                int d = table.Dimension;

                // key value (1-based row within one id space) -> sum of the vectors that map to it, and how many
                var rows = new SortedDictionary<long, (float[] Sum, int N)>();
                int matchedIds = 0;
                void Add(long key, ReadOnlySpan<float> vec)
                {
                    if (!rows.TryGetValue(key, out var acc))
                        acc = (new float[d], 0);
                    for (int j = 0; j < d; j++)
                        acc.Sum[j] += vec[j];
                    rows[key] = (acc.Sum, acc.N + 1);
                    matchedIds++;
                }
                string detail;
                if (encoding == IdEncoding.Hash)
                {
                    var hashed = HashIds(ml, f, v, sourceType, hashBits);
                    for (int i = 0; i < v.Count; i++)
                        if (hashed[i] > 0)
                            Add(hashed[i], v.Vector(i));
                    int collided = matchedIds - rows.Count;
                    detail = $"{v.Count} pretrained ids hashed into {rows.Count} rows of {keyType.Count}" + (collided > 0 ? $" ({collided} ids share a row with another: those rows start at the mean of their vectors)" : "") + "; the other rows keep the random start";
                }
                else
                {
                    var col = prepared[keyCol];
                    var texts = col.Annotations.Schema.GetColumnOrNull("KeyValues") is not null ? KeyTexts(col) : null;
                    long count = (long)keyType.Count;
                    if (texts is not null)
                    {
                        for (int k = 0; k < texts.Length; k++)
                            if (v.TryGetVector(texts[k], out var vec))
                                Add(k + 1, vec);
                    }
                    else
                    {
                        // a key column without key values: the ids are the key numbers 1..Count
                        for (int i = 0; i < v.Count; i++)
                        {
                            if (!ulong.TryParse(v.Ids[i], NumberStyles.None, CultureInfo.InvariantCulture, out ulong k))
                                throw new ArgumentException($"Feature '{f.ColumnName}': InitialEmbeddings id '{v.Ids[i]}' is not a key number; column '{owner.ColumnName}' is a key type without key values, so the pretrained ids must be its key numbers (1..{count}).");
                            if (k >= 1 && k <= (ulong)count)
                                Add((long)k, v.Vector(i));
                        }
                    }
                    long withoutVector = count - rows.Count;
                    detail = $"{rows.Count} of the table's {count} ids start from pretrained vectors, {withoutVector} have none and keep the random start; {v.Count - matchedIds} of the {v.Count} pretrained ids are not in the table";
                }
                var outRows = new List<long>();
                var values = new List<float>();
                for (int s = 0; s < slots; s++)
                    foreach (var (key, acc) in rows)
                    {
                        outRows.Add(s * stride + key);
                        foreach (var x in acc.Sum)
                            values.Add(acc.N == 1 ? x : x / acc.N);
                    }
                table.InitialRows = outRows.ToArray();
                table.InitialValues = values.ToArray();
                table.Frozen = freeze;
                if (rows.Count == 0)
                    throw new InvalidOperationException(
                        $"Feature '{f.ColumnName}': none of the {v.Count} InitialEmbeddings ids (e.g. '{v.Ids[0]}') is an id of the embedding table '{root}' " +
                        $"({encoding} encoding of column '{owner.ColumnName}'). Ids are matched as text (integers in invariant culture, e.g. \"42\"); check that the vectors were learned on this column's ids.");
                info($"Feature '{f.ColumnName}' (embedding table '{root}', {table.Rows} x {d}, {encoding}): {detail}; the table is {(freeze ? "frozen" : "fine-tuned")}.");
            }
        }

        private static string[] KeyTexts(DataViewSchema.Column col)
        {
            var item = ((VectorDataViewType)col.Annotations.Schema["KeyValues"].Type).ItemType.RawType;
            var m = typeof(PretrainedTables).GetMethod(nameof(KeyTextsOf), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(item);
            return (string[])m.Invoke(null, new object[] { col })!;
        }

        private static string[] KeyTextsOf<T>(DataViewSchema.Column col)
        {
            VBuffer<T> values = default;
            col.GetKeyValues(ref values);
            return values.DenseValues().Select(x => Convert.ToString(x, CultureInfo.InvariantCulture) ?? "").ToArray();
        }

        private sealed class TextIds
        {
            public string Value { get; set; } = "";
        }

        private sealed class TextIdVectors
        {
            [VectorType(1)] public string[] Value { get; set; } = Array.Empty<string>();
        }

        private sealed class Ids<T>
        {
            public T Value { get; set; } = default!;
        }

        private sealed class IdVectors<T>
        {
            [VectorType(1)] public T[] Value { get; set; } = Array.Empty<T>();
        }

        /// <summary>Each pretrained id's key under ML.NET's <c>Hash</c> with the feature's bits (0 = missing), computed by the same
        /// transform the preparation uses, on a column of the source's item type and shape.</summary>
        private static uint[] HashIds(MLContext ml, FeatureSpec f, PretrainedEmbeddings v, DataViewType sourceType, int hashBits)
        {
            var item = sourceType.ItemOf();
            bool vector = sourceType is VectorDataViewType;
            IDataView view;
            if (item is TextDataViewType)
                view = vector
                    ? ml.Data.LoadFromEnumerable(v.Ids.Select(id => new TextIdVectors { Value = new[] { id } }))
                    : ml.Data.LoadFromEnumerable(v.Ids.Select(id => new TextIds { Value = id }));
            else if (item is NumberDataViewType && item.RawType != typeof(float) && item.RawType != typeof(double))
            {
                var m = typeof(PretrainedTables).GetMethod(nameof(IntegerView), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(item.RawType);
                try
                {
                    view = (IDataView)m.Invoke(null, new object[] { ml, f, v, vector })!;
                }
                catch (System.Reflection.TargetInvocationException e) when (e.InnerException is ArgumentException a)
                {
                    throw a;
                }
            }
            else
                throw new NotSupportedException($"Feature '{f.ColumnName}': InitialEmbeddings with IdEncoding.Hash needs a text or integer id column; '{f.ColumnName}' holds {item}.");
            var hashed = ml.Transforms.Conversion.Hash("Key", "Value", hashBits).Fit(view).Transform(view);
            var result = new uint[v.Count];
            int i = 0;
            using (var c = hashed.GetRowCursor(new[] { hashed.Schema["Key"] }))
            {
                if (vector)
                {
                    var get = c.GetGetter<VBuffer<uint>>(hashed.Schema["Key"]);
                    var buf = default(VBuffer<uint>);
                    while (c.MoveNext())
                    {
                        get(ref buf);
                        result[i++] = buf.GetItemOrDefault(0);
                    }
                }
                else
                {
                    var get = c.GetGetter<uint>(hashed.Schema["Key"]);
                    uint k = 0;
                    while (c.MoveNext())
                    {
                        get(ref k);
                        result[i++] = k;
                    }
                }
            }
            return result;
        }

        private static IDataView IntegerView<T>(MLContext ml, FeatureSpec f, PretrainedEmbeddings v, bool vector)
        {
            var values = new T[v.Count];
            for (int i = 0; i < v.Count; i++)
            {
                try
                {
                    values[i] = (T)Convert.ChangeType(decimal.Parse(v.Ids[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture), typeof(T), CultureInfo.InvariantCulture);
                }
                catch (Exception e) when (e is FormatException or OverflowException)
                {
                    throw new ArgumentException($"Feature '{f.ColumnName}': InitialEmbeddings id '{v.Ids[i]}' is not a value of the id column's type {typeof(T).Name} (hashed ids must be the column's values).", e);
                }
            }
            return vector
                ? ml.Data.LoadFromEnumerable(values.Select(x => new IdVectors<T> { Value = new[] { x } }))
                : ml.Data.LoadFromEnumerable(values.Select(x => new Ids<T> { Value = x }));
        }
    }
}
