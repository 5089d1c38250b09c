using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Graph
{
    /// <summary>
    /// The trained embeddings of one node type: one row per node that the walks visited, with its id (in text form)
    /// and its <see cref="Dimension"/>-long vector (the skip-gram input vectors, as word2vec publishes them).
    /// </summary>
    public sealed class NodeEmbeddings
    {
        private readonly float[] _table;   // row-major [graph node, dimension], shared by the node types of one model
        private readonly string[] _ids;
        private readonly float[] _mean;
        private Dictionary<string, int>? _index;

        /// <summary>Vectors of <paramref name="nodes"/> read in place from <paramref name="table"/> (rows of the trainer's
        /// table, shared by every node type: no copy per type).</summary>
        internal NodeEmbeddings(string nodeType, int dimension, string[] ids, int[] nodes, float[] table)
        {
            NodeType = nodeType;
            Dimension = dimension;
            _ids = ids;
            Nodes = nodes;
            _table = table;
            _mean = new float[dimension];
            for (int i = 0; i < ids.Length; i++)
                TensorPrimitives.Add(_mean, Row(i), _mean);
            if (ids.Length > 0)
                TensorPrimitives.Multiply(_mean, 1f / ids.Length, _mean);
        }

        private ReadOnlySpan<float> Row(int row) => _table.AsSpan(Nodes[row] * Dimension, Dimension);

        /// <summary>Global node numbers in the graph (internal bookkeeping for the lookup tables).</summary>
        internal int[] Nodes { get; }

        /// <summary>The node type, e.g. "User".</summary>
        public string NodeType { get; }

        /// <summary>Length of every vector.</summary>
        public int Dimension { get; }

        /// <summary>Number of embedded nodes of this type.</summary>
        public int Count => _ids.Length;

        /// <summary>Node ids in text form (integers in invariant culture), row by row.</summary>
        public IReadOnlyList<string> Ids => _ids;

        /// <summary>The vector of row <paramref name="row"/> (0 &lt;= row &lt; <see cref="Count"/>).</summary>
        public ReadOnlySpan<float> GetVector(int row)
        {
            if ((uint)row >= (uint)_ids.Length)
                throw new ArgumentOutOfRangeException(nameof(row), row, $"Row must be in [0, {_ids.Length}).");
            return Row(row);
        }

        /// <summary>The row of node <paramref name="id"/>, or -1 when it has no embedding.</summary>
        public int IndexOf(string id)
        {
            if (id is null)
                throw new ArgumentNullException(nameof(id));
            if (_index is null)
            {
                var index = new Dictionary<string, int>(_ids.Length, StringComparer.Ordinal);
                for (int i = 0; i < _ids.Length; i++)
                    index[_ids[i]] = i;
                _index = index;
            }
            return _index.TryGetValue(id, out int r) ? r : -1;
        }

        /// <summary>Gets the vector of node <paramref name="id"/>; false when it has no embedding.</summary>
        public bool TryGetVector(string id, out ReadOnlySpan<float> vector)
        {
            int r = IndexOf(id);
            vector = r < 0 ? default : Row(r);
            return r >= 0;
        }

        /// <summary>The mean vector of this type (the default of <see cref="UnseenNodeEmbedding.TypeMean"/>).</summary>
        public ReadOnlySpan<float> Mean => _mean;

        /// <summary>The <paramref name="count"/> nodes of this type most cosine-similar to node <paramref name="id"/> (itself excluded), best first.</summary>
        public IReadOnlyList<(string Id, float Similarity)> MostSimilar(string id, int count)
        {
            if (!TryGetVector(id, out var v))
                throw new ArgumentOutOfRangeException(nameof(id), id, $"Node '{id}' of type {NodeType} has no embedding.");
            return MostSimilar(v, count, IndexOf(id));
        }

        /// <summary>The <paramref name="count"/> nodes of this type most cosine-similar to <paramref name="vector"/>, best first.</summary>
        public IReadOnlyList<(string Id, float Similarity)> MostSimilar(ReadOnlySpan<float> vector, int count) => MostSimilar(vector, count, -1);

        private IReadOnlyList<(string Id, float Similarity)> MostSimilar(ReadOnlySpan<float> vector, int count, int exclude)
        {
            if (vector.Length != Dimension)
                throw new ArgumentException($"The vector has {vector.Length} values; expected {Dimension}.", nameof(vector));
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1.");
            var scores = new List<(string, float)>(_ids.Length);
            float vn = TensorPrimitives.Norm(vector);
            for (int i = 0; i < _ids.Length; i++)
            {
                if (i == exclude)
                    continue;
                var row = Row(i);
                float denom = vn * TensorPrimitives.Norm(row);
                scores.Add((_ids[i], denom > 0 ? TensorPrimitives.Dot(vector, row) / denom : 0f));
            }
            return scores.OrderByDescending(s => s.Item2).ThenBy(s => s.Item1, StringComparer.Ordinal).Take(count).ToList();
        }

        /// <summary>A copy of the vectors, row-major (<see cref="Count"/> x <see cref="Dimension"/>).</summary>
        public float[] ToArray()
        {
            var copy = new float[_ids.Length * Dimension];
            for (int i = 0; i < _ids.Length; i++)
                Row(i).CopyTo(copy.AsSpan(i * Dimension, Dimension));
            return copy;
        }

        /// <summary>The embeddings as an <see cref="IDataView"/> with columns <c>Id</c> (String) and <c>Embedding</c> (known-size vector of Single).</summary>
        public IDataView ToDataView(MLContext mlContext)
        {
            if (mlContext is null)
                throw new ArgumentNullException(nameof(mlContext));
            var def = SchemaDefinition.Create(typeof(EmbeddingRow));
            def[nameof(EmbeddingRow.Embedding)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Dimension);
            var rows = Enumerable.Range(0, Count).Select(i => new EmbeddingRow { Id = _ids[i], Embedding = Row(i).ToArray() });
            return mlContext.Data.LoadFromEnumerable(rows.ToList(), def);
        }

        private sealed class EmbeddingRow
        {
            public string Id { get; set; } = "";
            public float[] Embedding { get; set; } = Array.Empty<float>();
        }
    }
}
