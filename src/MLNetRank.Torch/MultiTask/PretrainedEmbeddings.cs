using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Graph;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// Pretrained vectors by id (item vectors learned from the logs by metapath2vec or item2vec, say) that start the
    /// embedding table of a <see cref="CategoricalFeature"/> or <see cref="SequenceFeature"/>
    /// (<see cref="CategoricalFeature.InitialEmbeddings"/>, <see cref="SequenceFeature.InitialEmbeddings"/>): what
    /// PyTorch's <c>nn.Embedding.from_pretrained</c> does, matched by id. Ids are text; integer ids are written in invariant
    /// culture ("42"), as <see cref="NodeEmbeddings.Ids"/> writes them. Immutable once built.
    /// </summary>
    public sealed class PretrainedEmbeddings
    {
        private readonly string[] _ids;
        private readonly float[] _vectors;
        private readonly Dictionary<string, int> _index;

        private PretrainedEmbeddings(string[] ids, float[] vectors, int dimension, string source)
        {
            if (ids.Length == 0)
                throw new ArgumentException($"Pretrained embeddings ({source}) hold no vector.");
            _ids = ids;
            _vectors = vectors;
            Dimension = dimension;
            _index = new Dictionary<string, int>(ids.Length, StringComparer.Ordinal);
            for (int i = 0; i < ids.Length; i++)
            {
                if (string.IsNullOrEmpty(ids[i]))
                    throw new ArgumentException($"Pretrained embeddings ({source}): id number {i} is null or empty.");
                if (!_index.TryAdd(ids[i], i))
                    throw new ArgumentException($"Pretrained embeddings ({source}): id '{ids[i]}' occurs more than once.");
                for (int j = 0; j < dimension; j++)
                    if (!float.IsFinite(vectors[(long)i * dimension + j]))
                        throw new ArgumentException($"Pretrained embeddings ({source}): the vector of id '{ids[i]}' has a non-finite value ({vectors[(long)i * dimension + j]}) at index {j}.");
            }
        }

        /// <summary>Vectors from a dictionary id -> vector; every vector must have the same length (&gt;= 1) and finite values.</summary>
        /// <param name="vectors">The vectors by id.</param>
        public PretrainedEmbeddings(IReadOnlyDictionary<string, float[]> vectors)
            : this(Flatten(vectors), "dictionary")
        {
        }

        private PretrainedEmbeddings((string[] Ids, float[] Vectors, int Dimension) parts, string source)
            : this(parts.Ids, parts.Vectors, parts.Dimension, source)
        {
        }

        private static (string[], float[], int) Flatten(IReadOnlyDictionary<string, float[]> vectors)
        {
            if (vectors is null)
                throw new ArgumentNullException(nameof(vectors));
            var pairs = vectors.ToArray();
            int dimension = pairs.Length == 0 ? 0 : (pairs[0].Value ?? Array.Empty<float>()).Length;
            var flat = new float[(long)pairs.Length * dimension];
            for (int i = 0; i < pairs.Length; i++)
            {
                var (id, v) = pairs[i];
                if (v is null || v.Length != dimension || dimension == 0)
                    throw new ArgumentException($"Pretrained embeddings (dictionary): the vector of id '{id}' has {v?.Length ?? 0} values, the first one {dimension}; all must have the same length >= 1.", nameof(vectors));
                v.CopyTo(flat, (long)i * dimension);
            }
            return (pairs.Select(p => p.Key).ToArray(), flat, dimension);
        }

        /// <summary>The vectors of one node type learned by metapath2vec
        /// (<see cref="Metapath2VecTransformer.GetEmbeddings(string)"/>), e.g. the "Item" nodes of a User–Item graph.</summary>
        /// <param name="embeddings">The node embeddings.</param>
        public static PretrainedEmbeddings FromNodeEmbeddings(NodeEmbeddings embeddings)
        {
            if (embeddings is null)
                throw new ArgumentNullException(nameof(embeddings));
            int d = embeddings.Dimension;
            var flat = new float[(long)embeddings.Count * d];
            for (int i = 0; i < embeddings.Count; i++)
                embeddings.GetVector(i).CopyTo(flat.AsSpan(i * d, d));
            return new PretrainedEmbeddings(embeddings.Ids.ToArray(), flat, d, $"metapath2vec node type '{embeddings.NodeType}'");
        }

        /// <summary>Vectors from the rows of <paramref name="data"/>: an id column (text or an integer type) and a vector of
        /// <c>Single</c> of one length. The default column names are those of <see cref="NodeEmbeddings.ToDataView"/>.</summary>
        /// <param name="data">One row per id.</param>
        /// <param name="idColumnName">The id column (text, or an integer type: written in invariant culture).</param>
        /// <param name="vectorColumnName">The vector column (<c>Single</c> vector, known or variable size: every row the same length).</param>
        public static PretrainedEmbeddings FromDataView(IDataView data, string idColumnName = "Id", string vectorColumnName = "Embedding")
        {
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            var idCol = data.Schema.GetColumnOrNull(idColumnName)
                ?? throw new ArgumentOutOfRangeException(nameof(idColumnName), $"Pretrained embeddings: id column '{idColumnName}' was not found.");
            var vecCol = data.Schema.GetColumnOrNull(vectorColumnName)
                ?? throw new ArgumentOutOfRangeException(nameof(vectorColumnName), $"Pretrained embeddings: vector column '{vectorColumnName}' was not found.");
            if (vecCol.Type is not VectorDataViewType { ItemType: NumberDataViewType n } || n.RawType != typeof(float))
                throw new ArgumentOutOfRangeException(nameof(vectorColumnName), $"Pretrained embeddings: column '{vectorColumnName}' must be a vector of Single; it is {vecCol.Type}.");
            var raw = idCol.Type.RawType;
            if (idCol.Type is not (TextDataViewType or NumberDataViewType) || raw == typeof(float) || raw == typeof(double))
                throw new ArgumentOutOfRangeException(nameof(idColumnName), $"Pretrained embeddings: id column '{idColumnName}' must be text or an integer type; it is {idCol.Type}.");
            var m = typeof(PretrainedEmbeddings).GetMethod(nameof(ReadIds), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(raw);
            var ids = new List<string>();
            var flat = new List<float>();
            int d = -1;
            var getIds = (Func<DataViewRowCursor, DataViewSchema.Column, Func<string>>)m.CreateDelegate(typeof(Func<DataViewRowCursor, DataViewSchema.Column, Func<string>>));
            using (var c = data.GetRowCursor(new[] { idCol, vecCol }))
            {
                var id = getIds(c, idCol);
                var vec = c.GetGetter<VBuffer<float>>(vecCol);
                var buf = default(VBuffer<float>);
                while (c.MoveNext())
                {
                    string s = id();
                    vec(ref buf);
                    if (d < 0)
                        d = buf.Length;
                    if (buf.Length != d || d == 0)
                        throw new ArgumentException($"Pretrained embeddings: the vector of id '{s}' in column '{vectorColumnName}' has {buf.Length} values, the first row's {d}; all must have the same length >= 1.");
                    ids.Add(s);
                    foreach (var x in buf.DenseValues())
                        flat.Add(x);
                }
            }
            return new PretrainedEmbeddings(ids.ToArray(), flat.ToArray(), Math.Max(d, 0), $"columns '{idColumnName}', '{vectorColumnName}'");
        }

        /// <summary>
        /// Item vectors learned without labels from behaviour histories the model already has: every distinct (user, item)
        /// pair of the sequence column becomes an edge of a User–Item graph, and metapath2vec walks Item–User–Item give each
        /// item the items clicked by the same users as its context (item2vec's co-click context on the library's skip-gram
        /// trainer). The result starts the item table of the sequence's feature
        /// (<see cref="SequenceFeature.InitialEmbeddings"/>, <see cref="CategoricalFeature.InitialEmbeddings"/>). Only the rows
        /// given are read: pass the training rows, never the test period.
        /// </summary>
        /// <remarks>
        /// <paramref name="dimension"/> must equal the feature's embedding dimension. How much item structure the vectors
        /// hold grows with it: on the live-stream simulator's taste world (3,000 items in 100 hidden taste groups of 30, 30
        /// categories), 20,000 training impressions, the 5 nearest neighbours share the item's taste group 3.5% of the time
        /// at 8 dimensions, 13–18% at 32, 19% at 64 (the raw co-click counts: 18%; chance 1%) — see docs/benchmarks-sequences.md,
        /// "Session 9". Padding and missing ids are skipped: 0 (integer and key columns, and rows whose user id is 0) and empty text. Deterministic for a given seed with
        /// one thread (<see cref="Metapath2VecEstimator.Options.NumberOfThreads"/> = 1).
        /// </remarks>
        /// <param name="mlContext">The context (its seed when <paramref name="options"/> has none; its log).</param>
        /// <param name="data">The rows whose histories are read (the training rows).</param>
        /// <param name="userColumnName">The user id column: a scalar of an integer, key or text type.</param>
        /// <param name="sequenceColumnName">The history column: a vector of an integer, key or text type (the item ids, in the
        /// id space of the table they will start: the same values the sequence feature reads).</param>
        /// <param name="dimension">Length of the vectors: the feature's embedding dimension (&gt;= 1).</param>
        /// <param name="options">Walk and skip-gram options (walks per node, walk length, window, epochs, threads, seed);
        /// null = the defaults of <see cref="Metapath2VecEstimator.Options"/>. Its <c>Dimension</c>, <c>Metapaths</c>, edge and
        /// weight column names and <c>ColumnNodeTypes</c> are not used: <paramref name="dimension"/>, the Item–User–Item
        /// metapath and the graph built here are.</param>
        /// <returns>The vectors of every item that occurs in the histories, by id (integers in invariant culture).</returns>
        public static PretrainedEmbeddings FromSequences(MLContext mlContext, IDataView data, string userColumnName, string sequenceColumnName, int dimension,
            Metapath2VecEstimator.Options? options = null)
        {
            if (mlContext is null)
                throw new ArgumentNullException(nameof(mlContext));
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            if (dimension < 1)
                throw new ArgumentOutOfRangeException(nameof(dimension), $"Pretrained embeddings from sequences: dimension must be >= 1; it is {dimension}.");
            var userCol = data.Schema.GetColumnOrNull(userColumnName)
                ?? throw new ArgumentOutOfRangeException(nameof(userColumnName), $"Pretrained embeddings from sequences: user column '{userColumnName}' was not found.");
            var seqCol = data.Schema.GetColumnOrNull(sequenceColumnName)
                ?? throw new ArgumentOutOfRangeException(nameof(sequenceColumnName), $"Pretrained embeddings from sequences: sequence column '{sequenceColumnName}' was not found.");
            static bool IdType(DataViewType t) => t is TextDataViewType or KeyDataViewType
                || (t is NumberDataViewType && t.RawType != typeof(float) && t.RawType != typeof(double));
            if (userCol.Type is VectorDataViewType || !IdType(userCol.Type))
                throw new ArgumentOutOfRangeException(nameof(userColumnName), $"Pretrained embeddings from sequences: user column '{userColumnName}' must be a scalar of an integer, key or text type; it is {userCol.Type}.");
            if (seqCol.Type is not VectorDataViewType seqType || !IdType(seqType.ItemType))
                throw new ArgumentOutOfRangeException(nameof(sequenceColumnName), $"Pretrained embeddings from sequences: sequence column '{sequenceColumnName}' must be a vector of an integer, key or text type; it is {seqCol.Type}.");
            var readUser = (Func<DataViewRowCursor, DataViewSchema.Column, Func<string>>)typeof(PretrainedEmbeddings)
                .GetMethod(nameof(ReadIds), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(userCol.Type.RawType).CreateDelegate(typeof(Func<DataViewRowCursor, DataViewSchema.Column, Func<string>>));
            var readSeq = (Func<DataViewRowCursor, DataViewSchema.Column, Func<List<string>>>)typeof(PretrainedEmbeddings)
                .GetMethod(nameof(ReadIdVectors), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(seqType.ItemType.RawType).CreateDelegate(typeof(Func<DataViewRowCursor, DataViewSchema.Column, Func<List<string>>>));
            // distinct (user, item) pairs, in first-seen order (a deterministic edge list)
            var seen = new HashSet<(string, string)>();
            var edges = new List<SequenceEdge>();
            using (var c = data.GetRowCursor(new[] { userCol, seqCol }))
            {
                var user = readUser(c, userCol);
                var items = readSeq(c, seqCol);
                while (c.MoveNext())
                {
                    string u = user();
                    if (u.Length == 0 || u == "0")
                        continue;
                    foreach (var item in items())
                        if (seen.Add((u, item)))
                            edges.Add(new SequenceEdge { SourceId = u, SourceType = "User", TargetId = item, TargetType = "Item" });
                }
            }
            if (edges.Count == 0)
                throw new ArgumentException($"Pretrained embeddings from sequences: column '{sequenceColumnName}' holds no item id (every history is empty or padding) in the {nameof(data)} given.", nameof(data));
            // the caller's walk and training options; the graph's own schema, metapath and dimension
            var o = (options ?? new Metapath2VecEstimator.Options()).Clone();
            o.SourceIdColumnName = nameof(SequenceEdge.SourceId);
            o.SourceTypeColumnName = nameof(SequenceEdge.SourceType);
            o.TargetIdColumnName = nameof(SequenceEdge.TargetId);
            o.TargetTypeColumnName = nameof(SequenceEdge.TargetType);
            o.WeightColumnName = null;
            o.ColumnNodeTypes = new Dictionary<string, string>(StringComparer.Ordinal);
            o.Metapaths = new List<string> { "Item-User-Item" };
            o.Dimension = dimension;
            var graph = mlContext.Data.LoadFromEnumerable(edges);
            var fitted = mlContext.Ranker().Transforms.Metapath2Vec(graph, o).FitGraph();
            return FromNodeEmbeddings(fitted.GetEmbeddings("Item"));
        }

        private sealed class SequenceEdge
        {
            public string SourceId { get; set; } = "";
            public string SourceType { get; set; } = "";
            public string TargetId { get; set; } = "";
            public string TargetType { get; set; } = "";
        }

        private static Func<List<string>> ReadIdVectors<T>(DataViewRowCursor c, DataViewSchema.Column col)
        {
            var get = c.GetGetter<VBuffer<T>>(col);
            var buf = default(VBuffer<T>);
            var list = new List<string>();
            return () =>
            {
                get(ref buf);
                list.Clear();
                foreach (var v in buf.DenseValues())
                {
                    string s = v is ReadOnlyMemory<char> m ? m.ToString() : Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
                    if (s.Length > 0 && s != "0")
                        list.Add(s);
                }
                return list;
            };
        }

        private static Func<string> ReadIds<T>(DataViewRowCursor c, DataViewSchema.Column col)
        {
            var get = c.GetGetter<T>(col);
            T v = default!;
            return () =>
            {
                get(ref v);
                return Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
            };
        }

        /// <summary>Length of every vector; must equal the feature's embedding dimension.</summary>
        public int Dimension { get; }

        /// <summary>Number of ids.</summary>
        public int Count => _ids.Length;

        /// <summary>The ids, in the order given.</summary>
        public IReadOnlyList<string> Ids => _ids;

        /// <summary>The vector of <paramref name="id"/>, if there is one.</summary>
        /// <param name="id">The id (text; integers in invariant culture).</param>
        /// <param name="vector">Its vector when found.</param>
        /// <returns>True when the id has a vector.</returns>
        public bool TryGetVector(string id, out ReadOnlySpan<float> vector)
        {
            if (id is not null && _index.TryGetValue(id, out int i))
            {
                vector = _vectors.AsSpan(i * Dimension, Dimension);
                return true;
            }
            vector = default;
            return false;
        }

        /// <summary>The vector of the id at position <paramref name="index"/> of <see cref="Ids"/>.</summary>
        internal ReadOnlySpan<float> Vector(int index) => _vectors.AsSpan(index * Dimension, Dimension);

        /// <summary>A 64-bit digest of ids and values (checkpoints of runs with other vectors must not resume each other).</summary>
        internal ulong Digest()
        {
            ulong h = 14695981039346656037UL;
            void Word(uint w) => h = (h ^ w) * 1099511628211UL;
            Word((uint)Dimension);
            foreach (var id in _ids)
            {
                foreach (char ch in id)
                    Word(ch);
                Word(0xFFFFFFFF);
            }
            foreach (var x in _vectors)
                Word(BitConverter.SingleToUInt32Bits(x));
            return h;
        }
    }
}
