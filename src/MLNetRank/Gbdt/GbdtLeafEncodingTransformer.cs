using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Onnx;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// The fitted GBDT leaf encoder. <see cref="Transform"/> adds the per-tree leaf-id key vector (and, when asked, the
    /// one-hot indicator over all leaves), computed by the fast <see cref="Encoder"/>; what is saved is an equivalent chain
    /// of ML.NET's own saveable transformers (<see cref="SavedTransformer"/>, tested equal):
    /// an ONNX graph of the trees (<c>TreeEnsembleRegressor</c> whose per-tree output is the leaf index) applied by
    /// <c>OnnxTransformer</c>, <c>MapValueToKey</c>, and for the indicator <c>MapValue</c> (leaf names), <c>MapValueToKey</c>
    /// and <c>MapKeyToVector</c>, then <c>DropColumns</c>. Saving writes that chain, so <c>mlContext.Model.Load</c> gives it
    /// back in any process with Microsoft.ML, Microsoft.ML.OnnxTransformer and Microsoft.ML.OnnxRuntime, without MLNetRank
    /// (and without FastTree or LightGBM).
    /// <see cref="Encoder"/> is the fast evaluator of the same trees (tested equal) for training-time encoding and serving.
    /// </summary>
    public sealed class GbdtLeafEncodingTransformer : ITransformer, IDisposable
    {
        private readonly ITransformer _inner;
        private readonly int? _maximumDegreeOfParallelism;
        private readonly OnnxModelFile? _onnxFile;
        private bool _disposed;

        internal GbdtLeafEncodingTransformer(ITransformer inner, GbdtLeafEncoder encoder, TreeEnsembleModelParameters modelParameters,
            string featureColumnName, string outputColumnName, string? indicatorColumnName, int? maximumDegreeOfParallelism, OnnxModelFile? onnxFile)
        {
            _onnxFile = onnxFile;
            _inner = inner;
            Encoder = encoder;
            ModelParameters = modelParameters;
            FeatureColumnName = featureColumnName;
            OutputColumnName = outputColumnName;
            IndicatorColumnName = indicatorColumnName;
            _maximumDegreeOfParallelism = maximumDegreeOfParallelism;
        }

        /// <summary>The fast, allocation-free evaluator of the trees (same leaves as the saved chain).</summary>
        public GbdtLeafEncoder Encoder { get; }

        /// <summary>The tree ensemble (trained by the estimator or given to it).</summary>
        public TreeEnsembleModelParameters ModelParameters { get; }

        /// <summary>The input feature column (known-size vector of Single).</summary>
        public string FeatureColumnName { get; }

        /// <summary>The leaf-id key vector column.</summary>
        public string OutputColumnName { get; }

        /// <summary>The one-hot indicator column, or null when not produced.</summary>
        public string? IndicatorColumnName { get; }

        /// <summary>Number of leaves of each tree (tree <c>t</c>'s key takes raw values 1..<c>LeafCounts[t]</c>).</summary>
        public IReadOnlyList<int> LeafCounts => Encoder.LeafCounts;

        /// <summary>The chain of built-in ML.NET transformers this transformer forwards to and saves.</summary>
        public ITransformer SavedTransformer => _inner;

        /// <summary>Always true: the encoding is row to row.</summary>
        public bool IsRowToRowMapper => true;

        /// <summary>The input schema plus the output column(s).</summary>
        /// <param name="inputSchema">Schema of the data to transform.</param>
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
        {
            CheckInput(inputSchema);
            return _inner.GetOutputSchema(inputSchema);
        }

        /// <summary>A row-to-row mapper of the saved chain.</summary>
        /// <param name="inputSchema">Schema of the rows to map.</param>
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
        {
            CheckInput(inputSchema);
            return _inner.GetRowToRowMapper(inputSchema);
        }

        /// <summary>
        /// Adds the leaf-id (and indicator) columns, lazily. The values come from the fast <see cref="Encoder"/> (this is
        /// training-time encoding), with the exact schema — types, key values, slot names — of
        /// <see cref="SavedTransformer"/>, the chain of built-in transformers that is saved and gives the same values
        /// (tested). Use <c>SavedTransformer.Transform</c> to run the saved chain itself.
        /// </summary>
        /// <param name="input">Data holding the feature column.</param>
        public IDataView Transform(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            CheckInput(input.Schema);
            var schema = _inner.GetOutputSchema(input.Schema);
            return (IDataView?)GbdtLeafEncodedDataView.TryCreate(input, schema, Encoder, FeatureColumnName, OutputColumnName, IndicatorColumnName)
                ?? _inner.Transform(input);
        }

        /// <summary>
        /// Encodes every row of <paramref name="data"/> with the fast evaluator, in parallel blocks: returns the leaf indices
        /// row-major (<c>rowCount * TreeCount</c> values, 0-based, row <c>r</c> tree <c>t</c> at <c>r * TreeCount + t</c>).
        /// </summary>
        /// <param name="data">Data holding the feature column.</param>
        /// <param name="rowCount">Number of rows encoded.</param>
        public int[] EncodeToArray(IDataView data, out int rowCount)
        {
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            var col = CheckInput(data.Schema);
            int f = Encoder.FeatureCount, trees = Encoder.TreeCount;
            var leaves = new List<int[]>();
            var counts = new List<int>();
            const int chunk = 1 << 14;
            var features = new float[chunk * f];
            int n = 0;
            long total = 0;
            using (var cursor = data.GetRowCursor(new[] { col }))
            {
                var getter = cursor.GetGetter<VBuffer<float>>(col);
                var buffer = default(VBuffer<float>);
                while (cursor.MoveNext())
                {
                    getter(ref buffer);
                    buffer.CopyTo(features.AsSpan(n * f, f));
                    if (++n == chunk)
                    {
                        Flush();
                    }
                }
            }
            if (n > 0)
                Flush();
            if (total > int.MaxValue / Math.Max(1, trees))
                throw new InvalidOperationException($"{total} rows x {trees} trees do not fit one array; encode in parts with Encoder.EncodeBatch.");
            rowCount = (int)total;
            var result = new int[rowCount * trees];
            int offset = 0;
            for (int i = 0; i < leaves.Count; i++)
            {
                Array.Copy(leaves[i], 0, result, offset, counts[i] * trees);
                offset += counts[i] * trees;
            }
            return result;

            void Flush()
            {
                var block = new int[n * trees];
                Encoder.EncodeBatch(features, n, block, _maximumDegreeOfParallelism);
                leaves.Add(block);
                counts.Add(n);
                total += n;
                n = 0;
            }
        }

        private DataViewSchema.Column CheckInput(DataViewSchema schema)
        {
            if (_disposed)
                throw new ObjectDisposedException(nameof(GbdtLeafEncodingTransformer));
            return GbdtLeafEncodingEstimator.CheckFeatureColumn(schema, FeatureColumnName, Encoder.FeatureCount);
        }

        void ICanSaveModel.Save(ModelSaveContext ctx)
        {
            if (_disposed)
                throw new ObjectDisposedException(nameof(GbdtLeafEncodingTransformer));
            // ML.NET does not let third parties write into a ModelSaveContext: save the built-in chain in our place, so a
            // load gives back ML.NET's own transformers.
            ((ICanSaveModel)_inner).Save(ctx);
        }

        /// <summary>Disposes the inner ONNX session and deletes its temporary model file.</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            (_inner as IDisposable)?.Dispose();
            _onnxFile?.Dispose();
        }
    }
}
