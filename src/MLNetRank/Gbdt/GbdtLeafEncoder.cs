using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Microsoft.ML.Trainers.FastTree;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// A fast, allocation-free evaluator of a trained ML.NET tree ensemble (FastTree or LightGBM model parameters) that
    /// returns, for a row of features, the index of the leaf each tree routes the row to. The trees are flattened into one
    /// array of 16-byte nodes; a batch is evaluated tree by tree over blocks of rows (each tree stays in cache) and blocks
    /// run in parallel. It gives exactly the leaves of ML.NET's own tree featurizer
    /// (<c>FeaturizeByPretrainTreeEnsemble</c>), including its rule for NaN (learned per split node from ML.NET's evaluator
    /// when the encoder is built, see <see cref="NanGoesLeft"/>), and is what <see cref="GbdtLeafEncodingTransformer"/>
    /// uses for training-time encoding and request scoring.
    /// </summary>
    /// <remarks>
    /// Split rule (ML.NET's): a numerical node sends a row left (to <c>LeftChild</c>) when <c>x &lt;= threshold</c>, right
    /// otherwise, so <c>+Inf</c> goes right and <c>-Inf</c> goes left. A NaN goes the way ML.NET's evaluator sends it at that
    /// node: for FastTree models always right (NaN &lt;= t is false); for LightGBM models left or right as LightGBM's
    /// missing-value direction (<c>default_left</c>) says, and, in a tree where some node tracks missing values, as if 0 at
    /// the nodes that do not. A categorical node goes right when any of its indicator features is &gt; 0 (NaN counts as 0).
    /// Instances are immutable and thread-safe.
    /// </remarks>
    public sealed class GbdtLeafEncoder
    {
        // Node.Meta: bits 0..29 = feature index (numerical) or categorical-set index; bit 30 = categorical; bit 31 = NaN goes left.
        private const int FeatureMask = 0x3FFFFFFF;
        private const int CategoricalBit = 0x40000000;

        [StructLayout(LayoutKind.Sequential)]
        private struct Node
        {
            public int Meta;
            public float Threshold;
            public int Left;   // absolute index in _nodes; leaves are nodes too, whose children are themselves
            public int Right;
        }

        private readonly Node[] _nodes;
        private readonly int[] _leafOf;         // leaf index of a leaf node, -1 for an internal node
        private readonly int[] _treeStart;      // root node of each tree in _nodes
        private readonly int[] _leafCounts;
        private readonly int[] _leafOffsets;
        private readonly int[][] _categoricalSets;
        private readonly bool[][] _nanGoesLeft;
        private readonly bool _hasCategorical;

        private GbdtLeafEncoder(Node[] nodes, int[] leafOf, int[] treeStart, int[] leafCounts, int[][] categoricalSets,
            bool[][] nanGoesLeft, int featureCount)
        {
            _nodes = nodes;
            _leafOf = leafOf;
            _treeStart = treeStart;
            _leafCounts = leafCounts;
            _categoricalSets = categoricalSets;
            _hasCategorical = categoricalSets.Length > 0;
            _nanGoesLeft = nanGoesLeft;
            FeatureCount = featureCount;
            _leafOffsets = new int[leafCounts.Length];
            int total = 0;
            for (int t = 0; t < leafCounts.Length; t++)
            {
                _leafOffsets[t] = total;
                total += leafCounts[t];
            }
            TotalLeafCount = total;
            int max = 1;
            foreach (int c in leafCounts)
                max = Math.Max(max, c);
            MaximumLeafCount = max;
        }

        /// <summary>Number of trees; <see cref="Encode"/> writes one leaf index per tree.</summary>
        public int TreeCount => _leafCounts.Length;

        /// <summary>Length of the feature vector the trees were trained on.</summary>
        public int FeatureCount { get; }

        /// <summary>Number of leaves of each tree: tree <c>t</c>'s leaf index lies in <c>[0, LeafCounts[t])</c>.</summary>
        public IReadOnlyList<int> LeafCounts => _leafCounts;

        /// <summary>Offset of each tree's first leaf in the one-hot indicator over all leaves (trees in order).</summary>
        public IReadOnlyList<int> LeafOffsets => _leafOffsets;

        /// <summary>Sum of <see cref="LeafCounts"/>: the length of the one-hot indicator vector.</summary>
        public int TotalLeafCount { get; }

        /// <summary>The largest leaf count of any tree: the cardinality of the leaf-id key type.</summary>
        public int MaximumLeafCount { get; }

        /// <summary>
        /// Whether a NaN in the split feature of node <paramref name="node"/> of tree <paramref name="tree"/> goes to the
        /// left (<c>&lt;=</c>) child, as ML.NET's evaluator does it for this ensemble.
        /// </summary>
        /// <param name="tree">Tree index.</param>
        /// <param name="node">Internal node index in the tree (as in <see cref="RegressionTreeBase.LeftChild"/>; for an encoder
        /// read back with <see cref="SavedGbdtLeafEncoder"/>, the node id of the saved ONNX graph).</param>
        public bool NanGoesLeft(int tree, int node) => _nanGoesLeft[tree][node];

        /// <summary>
        /// Builds an encoder for <paramref name="trees"/> (of FastTree, FastForest or LightGBM model
        /// parameters), with the NaN direction of every split node given by <paramref name="nanGoesLeft"/> (one array per
        /// tree, one flag per internal node; null: NaN goes right everywhere, ML.NET's rule for FastTree models).
        /// </summary>
        internal static GbdtLeafEncoder Create(IReadOnlyList<RegressionTreeBase> trees, int featureCount, bool[][]? nanGoesLeft)
        {
            if (trees.Count == 0)
                throw new ArgumentException("The tree ensemble has no trees.", nameof(trees));
            if (featureCount < 1)
                throw new ArgumentOutOfRangeException(nameof(featureCount), "At least one feature is needed.");
            var nodes = new List<Node>();
            var leafOf = new List<int>();
            var starts = new int[trees.Count];
            var leafCounts = new int[trees.Count];
            var catSets = new List<int[]>();
            var nan = new bool[trees.Count][];
            for (int t = 0; t < trees.Count; t++)
            {
                var tree = trees[t];
                int leaves = tree.NumberOfLeaves;
                leafCounts[t] = leaves;
                int n = leaves > 1 ? tree.NumberOfNodes : 0;
                nan[t] = nanGoesLeft?[t] ?? new bool[n];
                if (nan[t].Length < n)
                    throw new ArgumentException($"Tree {t}: {nan[t].Length} NaN flags for {n} nodes.", nameof(nanGoesLeft));
                int baseIndex = nodes.Count;
                starts[t] = baseIndex;
                int Abs(int child) => child >= 0 ? baseIndex + child : baseIndex + n + ~child;
                for (int i = 0; i < n; i++)
                {
                    int meta;
                    float threshold;
                    if (tree.CategoricalSplitFlags[i])
                    {
                        var cats = tree.GetCategoricalSplitFeaturesAt(i);
                        var set = new int[cats.Count];
                        for (int k = 0; k < set.Length; k++)
                        {
                            set[k] = cats[k];
                            CheckFeature(set[k], featureCount, t, i);
                        }
                        meta = catSets.Count | CategoricalBit;
                        catSets.Add(set);
                        threshold = 0f;
                    }
                    else
                    {
                        int f = tree.NumericalSplitFeatureIndexes[i];
                        CheckFeature(f, featureCount, t, i);
                        meta = f;
                        threshold = tree.NumericalSplitThresholds[i];
                        if (nan[t][i])
                            meta |= int.MinValue;
                    }
                    int left = tree.LeftChild[i], right = tree.RightChild[i];
                    CheckChild(left, n, leaves, t, i);
                    CheckChild(right, n, leaves, t, i);
                    nodes.Add(new Node { Meta = meta, Threshold = threshold, Left = Abs(left), Right = Abs(right) });
                    leafOf.Add(-1);
                }
                for (int j = 0; j < leaves; j++)
                {
                    int self = nodes.Count;
                    // A leaf reads feature 0 and stays where it is, whatever the comparison says.
                    nodes.Add(new Node { Meta = 0, Threshold = 0f, Left = self, Right = self });
                    leafOf.Add(j);
                }
            }
            return new GbdtLeafEncoder(nodes.ToArray(), leafOf.ToArray(), starts, leafCounts, catSets.ToArray(), nan, featureCount);
        }

        /// <summary>A node of a tree read back from the saved ONNX graph: internal (Feature &gt;= 0) or leaf (Leaf &gt;= 0).</summary>
        internal readonly record struct RawNode(int Feature, float Threshold, int True, int False, bool NanTrue, int Leaf);

        /// <summary>Builds an encoder from trees in the saved ONNX form (node 0 is each tree's root; categorical splits
        /// are already chains of numerical "x &lt;= 0" nodes).</summary>
        internal static GbdtLeafEncoder FromRawTrees(RawNode[][] trees, int[] leafCounts, int featureCount)
        {
            if (trees.Length == 0)
                throw new InvalidDataException("The saved tree graph has no trees.");
            var nodes = new List<Node>();
            var leafOf = new List<int>();
            var starts = new int[trees.Length];
            var nan = new bool[trees.Length][];
            for (int t = 0; t < trees.Length; t++)
            {
                var tree = trees[t];
                if (tree.Length == 0)
                    throw new InvalidDataException($"Tree {t} of the saved graph has no node.");
                int baseIndex = nodes.Count;
                starts[t] = baseIndex;
                nan[t] = new bool[tree.Length];
                for (int i = 0; i < tree.Length; i++)
                {
                    var n = tree[i];
                    if (n.Feature < 0)
                    {
                        if (n.Leaf < 0 || n.Leaf >= leafCounts[t])
                            throw new InvalidDataException($"Tree {t}, node {i}: a leaf without a valid leaf index.");
                        nodes.Add(new Node { Meta = 0, Threshold = 0f, Left = baseIndex + i, Right = baseIndex + i });
                        leafOf.Add(n.Leaf);
                        continue;
                    }
                    if (n.Feature >= featureCount || n.True < 0 || n.True >= tree.Length || n.False < 0 || n.False >= tree.Length)
                        throw new InvalidDataException($"Tree {t}, node {i}: feature or child out of range.");
                    nan[t][i] = n.NanTrue;
                    nodes.Add(new Node { Meta = n.Feature | (n.NanTrue ? int.MinValue : 0), Threshold = n.Threshold, Left = baseIndex + n.True, Right = baseIndex + n.False });
                    leafOf.Add(-1);
                }
            }
            return new GbdtLeafEncoder(nodes.ToArray(), leafOf.ToArray(), starts, (int[])leafCounts.Clone(), Array.Empty<int[]>(), nan, featureCount);
        }

        private static void CheckFeature(int f, int featureCount, int tree, int node)
        {
            if (f < 0 || f >= featureCount || f > FeatureMask)
                throw new ArgumentException($"Tree {tree}, node {node} splits on feature {f}, outside the {featureCount} features of the ensemble.");
        }

        private static void CheckChild(int child, int nodeCount, int leafCount, int tree, int node)
        {
            if (child >= nodeCount || (child < 0 && ~child >= leafCount))
                throw new ArgumentException($"Tree {tree}, node {node} has an invalid child {child}.");
        }

        /// <summary>
        /// Writes, for one row of <see cref="FeatureCount"/> features, the leaf index of every tree into
        /// <paramref name="leaves"/> (length at least <see cref="TreeCount"/>). No allocation.
        /// </summary>
        /// <param name="features">The row's features, dense, in the order the trees were trained on.</param>
        /// <param name="leaves">Receives tree <c>t</c>'s leaf index (0-based, below <c>LeafCounts[t]</c>) at position <c>t</c>.</param>
        public void Encode(ReadOnlySpan<float> features, Span<int> leaves)
        {
            if (features.Length < FeatureCount)
                throw new ArgumentException($"The row has {features.Length} features; the trees need {FeatureCount}.", nameof(features));
            if (leaves.Length < TreeCount)
                throw new ArgumentException($"The output has room for {leaves.Length} leaves; there are {TreeCount} trees.", nameof(leaves));
            if (_hasCategorical)
            {
                for (int t = 0; t < _treeStart.Length; t++)
                    leaves[t] = Walk(_treeStart[t], features);
                return;
            }
            EncodeRow(features, leaves);
        }

        /// <summary>One row, four trees walked in lockstep (independent load chains overlap), branchless steps.</summary>
        private unsafe void EncodeRow(ReadOnlySpan<float> features, Span<int> leaves)
        {
            int trees = _treeStart.Length;
            fixed (Node* nodes = _nodes)
            fixed (float* row = features)
            fixed (int* leafOf = _leafOf)
            fixed (int* starts = _treeStart)
            {
                int t = 0;
                for (; t + 4 <= trees; t += 4)
                {
                    int c0 = starts[t], c1 = starts[t + 1], c2 = starts[t + 2], c3 = starts[t + 3];
                    while (true)
                    {
                        int n0 = Step(nodes, c0, row), n1 = Step(nodes, c1, row), n2 = Step(nodes, c2, row), n3 = Step(nodes, c3, row);
                        if (((n0 ^ c0) | (n1 ^ c1) | (n2 ^ c2) | (n3 ^ c3)) == 0)
                            break;
                        c0 = n0;
                        c1 = n1;
                        c2 = n2;
                        c3 = n3;
                    }
                    leaves[t] = leafOf[c0];
                    leaves[t + 1] = leafOf[c1];
                    leaves[t + 2] = leafOf[c2];
                    leaves[t + 3] = leafOf[c3];
                }
                for (; t < trees; t++)
                {
                    int c = starts[t];
                    while (true)
                    {
                        int n = Step(nodes, c, row);
                        if (n == c)
                            break;
                        c = n;
                    }
                    leaves[t] = leafOf[c];
                }
            }
        }

        /// <summary>
        /// Encodes <paramref name="rowCount"/> rows stored row-major in <paramref name="features"/>
        /// (<c>rowCount * FeatureCount</c> values) into <paramref name="leaves"/> (<c>rowCount * TreeCount</c> values,
        /// row-major: row <c>r</c>, tree <c>t</c> at <c>r * TreeCount + t</c>). Blocks of rows run in parallel on up to
        /// <paramref name="maxDegreeOfParallelism"/> threads (null: all cores; 1: the calling thread only).
        /// </summary>
        /// <param name="features">Row-major features.</param>
        /// <param name="rowCount">Number of rows.</param>
        /// <param name="leaves">Row-major output leaf indices.</param>
        /// <param name="maxDegreeOfParallelism">Maximum number of threads; null for all cores.</param>
        public void EncodeBatch(float[] features, int rowCount, int[] leaves, int? maxDegreeOfParallelism = null)
        {
            if (features is null)
                throw new ArgumentNullException(nameof(features));
            if (leaves is null)
                throw new ArgumentNullException(nameof(leaves));
            if (rowCount < 0)
                throw new ArgumentOutOfRangeException(nameof(rowCount), "The row count must not be negative.");
            if ((long)rowCount * FeatureCount > features.Length)
                throw new ArgumentException($"{rowCount} rows of {FeatureCount} features need {(long)rowCount * FeatureCount} values; got {features.Length}.", nameof(features));
            if ((long)rowCount * TreeCount > leaves.Length)
                throw new ArgumentException($"{rowCount} rows of {TreeCount} trees need {(long)rowCount * TreeCount} leaves; got {leaves.Length}.", nameof(leaves));
            if (maxDegreeOfParallelism is < 1)
                throw new ArgumentOutOfRangeException(nameof(maxDegreeOfParallelism), "The degree of parallelism must be at least 1.");
            const int block = BlockRows;
            int blocks = (rowCount + block - 1) / block;
            int dop = maxDegreeOfParallelism ?? Environment.ProcessorCount;
            if (dop == 1 || blocks <= 1)
            {
                EncodeRange(features, leaves, 0, rowCount);
                return;
            }
            Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = dop }, b =>
            {
                int start = b * block;
                EncodeBlock(features, leaves, start, Math.Min(rowCount, start + block));
            });
        }

        /// <summary>
        /// Encodes <paramref name="rowCount"/> rows stored row-major in <paramref name="features"/> into
        /// <paramref name="leaves"/> (row-major, <c>rowCount * TreeCount</c>) on the calling thread: the request-scoring
        /// path (a request's candidates, pooled buffers, no allocation).
        /// </summary>
        /// <param name="features">Row-major features, <c>rowCount * FeatureCount</c> values.</param>
        /// <param name="rowCount">Number of rows.</param>
        /// <param name="leaves">Receives the leaf indices, row <c>r</c> tree <c>t</c> at <c>r * TreeCount + t</c>.</param>
        public void EncodeBatch(ReadOnlySpan<float> features, int rowCount, Span<int> leaves)
        {
            if (rowCount < 0)
                throw new ArgumentOutOfRangeException(nameof(rowCount), "The row count must not be negative.");
            if ((long)rowCount * FeatureCount > features.Length)
                throw new ArgumentException($"{rowCount} rows of {FeatureCount} features need {(long)rowCount * FeatureCount} values; got {features.Length}.", nameof(features));
            if ((long)rowCount * TreeCount > leaves.Length)
                throw new ArgumentException($"{rowCount} rows of {TreeCount} trees need {(long)rowCount * TreeCount} leaves; got {leaves.Length}.", nameof(leaves));
            EncodeRange(features, leaves, 0, rowCount);
        }

        /// <summary>Rows per block: a block's features (128 x 50 floats = 25 KB for the bench's shape) stay in L1/L2 while
        /// every tree walks them, so the feature matrix is streamed from memory once, not once per tree.</summary>
        internal const int BlockRows = 128;

        /// <summary>Encodes rows [rowStart, rowEnd) block by block on the calling thread (the one-thread path: same blocking
        /// as the parallel path, which hands one block to each task).</summary>
        private void EncodeRange(ReadOnlySpan<float> features, Span<int> leaves, int rowStart, int rowEnd)
        {
            for (int start = rowStart; start < rowEnd; start += BlockRows)
                EncodeBlock(features, leaves, start, Math.Min(rowEnd, start + BlockRows));
        }

        private unsafe void EncodeBlock(ReadOnlySpan<float> features, Span<int> leaves, int rowStart, int rowEnd)
        {
            int f = FeatureCount, trees = TreeCount;
            if (_hasCategorical)
            {
                for (int t = 0; t < trees; t++)
                    for (int r = rowStart; r < rowEnd; r++)
                        leaves[r * trees + t] = Walk(_treeStart[t], features.Slice(r * f, f));
                return;
            }
            // Tree by tree over the block (the tree stays in cache); rows in groups of 4 walked in lockstep with branchless
            // steps (leaves loop on themselves) until all 4 sit on a leaf: the 4 independent chains of loads overlap and the
            // only branch left is the group's loop exit.
            fixed (Node* nodes = _nodes)
            fixed (float* x = features)
            fixed (int* leafOf = _leafOf)
            fixed (int* output = leaves)
            {
                for (int t = 0; t < trees; t++)
                {
                    int start = _treeStart[t];
                    int r = rowStart;
                    for (; r + 4 <= rowEnd; r += 4)
                    {
                        float* x0 = x + (long)r * f, x1 = x0 + f, x2 = x1 + f, x3 = x2 + f;
                        int c0 = start, c1 = start, c2 = start, c3 = start;
                        while (true)
                        {
                            int n0 = Step(nodes, c0, x0), n1 = Step(nodes, c1, x1), n2 = Step(nodes, c2, x2), n3 = Step(nodes, c3, x3);
                            if (((n0 ^ c0) | (n1 ^ c1) | (n2 ^ c2) | (n3 ^ c3)) == 0)
                                break;
                            c0 = n0;
                            c1 = n1;
                            c2 = n2;
                            c3 = n3;
                        }
                        output[r * trees + t] = leafOf[c0];
                        output[(r + 1) * trees + t] = leafOf[c1];
                        output[(r + 2) * trees + t] = leafOf[c2];
                        output[(r + 3) * trees + t] = leafOf[c3];
                    }
                    for (; r < rowEnd; r++)
                    {
                        float* row = x + (long)r * f;
                        int c = start;
                        while (true)
                        {
                            int n = Step(nodes, c, row);
                            if (n == c)
                                break;
                            c = n;
                        }
                        output[r * trees + t] = leafOf[c];
                    }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static unsafe int Step(Node* nodes, int current, float* row)
        {
            Node* node = nodes + current;
            int meta = node->Meta;
            float v = row[meta & FeatureMask];
            // Right when v > t, or when v is NaN and this node sends NaN right (bit 31 clear).
            int right = (v > node->Threshold ? 1 : 0) | ((float.IsNaN(v) ? 1 : 0) & (int)(((uint)meta >> 31) ^ 1u));
            return (&node->Left)[right];
        }

        /// <summary>
        /// Writes the one-hot indicator over all leaves (length <see cref="TotalLeafCount"/>, tree <c>t</c>'s leaves at
        /// <c>LeafOffsets[t] ..</c>) for the leaf indices of one row, as ML.NET's featurizer writes its <c>Leaves</c> column.
        /// </summary>
        /// <param name="leaves">The row's leaf indices, one per tree.</param>
        /// <param name="indicator">Receives 1 at each selected leaf and 0 elsewhere.</param>
        public void ToIndicator(ReadOnlySpan<int> leaves, Span<float> indicator)
        {
            if (leaves.Length < TreeCount || indicator.Length < TotalLeafCount)
                throw new ArgumentException($"Need {TreeCount} leaves and room for {TotalLeafCount} indicator values.");
            indicator.Slice(0, TotalLeafCount).Clear();
            for (int t = 0; t < TreeCount; t++)
                indicator[_leafOffsets[t] + leaves[t]] = 1f;
        }

        private int Walk(int start, ReadOnlySpan<float> row)
        {
            var nodes = _nodes;
            int i = start;
            while (true)
            {
                ref readonly Node node = ref nodes[i];
                if (node.Left == i)
                    return _leafOf[i];
                int meta = node.Meta;
                bool right;
                if ((meta & CategoricalBit) == 0)
                {
                    float x = row[meta & FeatureMask];
                    // NaN: "x <= t" and "x > t" are both false, so the comparison picks the NaN direction.
                    right = meta < 0 ? x > node.Threshold : !(x <= node.Threshold);
                }
                else
                {
                    right = false;
                    foreach (int c in _categoricalSets[meta & FeatureMask])
                    {
                        if (row[c] > 0f)
                        {
                            right = true;
                            break;
                        }
                    }
                }
                i = right ? node.Right : node.Left;
            }
        }
    }
}
