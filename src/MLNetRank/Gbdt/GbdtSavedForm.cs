using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Onnx;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// The GBDT leaf encoder's saved form (step 4 of the component story, docs/architecture.md): learned trees to built-in
    /// ML.NET transformers. <see cref="LeafIndexGraph"/> writes the ONNX graph (opset 17 + ai.onnx.ml 3) that evaluates the trees and returns, per tree, the index of the
    /// leaf reached: one <c>TreeEnsembleRegressor</c> with one target per tree whose leaf weights are the leaf indices
    /// (so the sum over the single reached leaf is that index, exactly), plus an <c>Add</c> of each tree's leaf offset for
    /// the global leaf index. Split rule as ML.NET's: <c>BRANCH_LEQ</c> (x &lt;= threshold goes to LeftChild), NaN
    /// direction per node from the learned flags (<c>nodes_missing_value_tracks_true</c>), categorical nodes expanded into
    /// a chain of "x &lt;= 0" tests (NaN counts as not hot). It is applied by ML.NET's built-in <c>OnnxTransformer</c>,
    /// which stores the bytes in the saved zip, so the saved model needs no MLNetRank code.
    /// </summary>
    /// <remarks>Written with <see cref="OnnxGraphBuilder"/>, the project's one ONNX writer.</remarks>
    internal static class GbdtSavedForm
    {
        /// <summary>
        /// The saved form: the ONNX leaf-index graph applied by ML.NET's <c>OnnxTransformer</c> (through the one door,
        /// <see cref="OnnxTransformerFactory"/>), then built-in key/value mappings to the leaf keys and the
        /// optional one-hot indicator. Everything in the returned chain is a built-in ML.NET transformer.
        /// </summary>
        public static ITransformer Build(MLContext context, IReadOnlyList<RegressionTreeBase> trees, GbdtLeafEncoder encoder, GbdtLeafEncodingEstimator.Options o, out OnnxModelFile onnxFile)
        {
            string local = "__GbdtLeafIndex_" + o.OutputColumnName;
            string global = "__GbdtGlobalLeaf_" + o.OutputColumnName;
            string names = "__GbdtLeafName_" + o.OutputColumnName;
            string nameKeys = "__GbdtLeafKey_" + o.OutputColumnName;
            bool indicator = !string.IsNullOrEmpty(o.IndicatorColumnName);
            var onnxBytes = LeafIndexGraph(trees, encoder, o.FeatureColumnName, local, global);

            var view = FeatureRows.Load(context, encoder.FeatureCount, o.FeatureColumnName, Array.Empty<float[]>());
            var parts = new List<ITransformer>();
            ITransformer Add(ITransformer t)
            {
                parts.Add(t);
                view = t.Transform(view);
                return t;
            }

            // The one door to ML.NET's OnnxTransformer: a temporary model file that lives with the transformer (disposed with
            // it); the zip stores the bytes themselves.
            Add(OnnxTransformerFactory.Create(context, onnxBytes, indicator ? new[] { local, global } : new[] { local }, new[] { o.FeatureColumnName },
                view.Schema, out onnxFile));

            // Per-tree leaf index (float) -> Key<UInt32, max leaves>: leaf j has raw key j + 1.
            var leafKeys = new List<FloatRow>();
            for (int j = 0; j < encoder.MaximumLeafCount; j++)
                leafKeys.Add(new FloatRow { Value = j });
            Add(context.Transforms.Conversion.MapValueToKey(o.OutputColumnName, local, keyData: context.Data.LoadFromEnumerable(leafKeys),
                keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence).Fit(view));

            var drop = new List<string> { local };
            if (indicator)
            {
                // Global leaf index -> leaf name -> key over all leaves (key values = names) -> count vector over all leaves,
                // which is the one-hot indicator with slot names TreeTTTLeafLLL.
                var pairs = new List<KeyValuePair<float, string>>();
                var nameRows = new List<TextRow>();
                for (int t = 0; t < encoder.TreeCount; t++)
                {
                    for (int j = 0; j < encoder.LeafCounts[t]; j++)
                    {
                        string name = LeafName(t, j);
                        pairs.Add(new KeyValuePair<float, string>(encoder.LeafOffsets[t] + j, name));
                        nameRows.Add(new TextRow { Value = name });
                    }
                }
                Add(context.Transforms.Conversion.MapValue(names, pairs, global).Fit(view));
                Add(context.Transforms.Conversion.MapValueToKey(nameKeys, names, keyData: context.Data.LoadFromEnumerable(nameRows),
                    keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence).Fit(view));
                Add(context.Transforms.Conversion.MapKeyToVector(o.IndicatorColumnName!, nameKeys, outputCountVector: true).Fit(view));
                drop.AddRange(new[] { global, names, nameKeys });
            }
            Add(context.Transforms.DropColumns(drop.ToArray()).Fit(view));
            return new TransformerChain<ITransformer>(parts.ToArray());
        }

        /// <summary>Slot name of leaf <paramref name="leaf"/> of tree <paramref name="tree"/>, as ML.NET's tree featurizer names them.</summary>
        internal static string LeafName(int tree, int leaf)
            => string.Format(System.Globalization.CultureInfo.InvariantCulture, "Tree{0:000}Leaf{1:000}", tree, leaf);

        private sealed class FloatRow
        {
            public float Value { get; set; }
        }

        private sealed class TextRow
        {
            public string Value { get; set; } = "";
        }

        public static byte[] LeafIndexGraph(IReadOnlyList<RegressionTreeBase> trees, GbdtLeafEncoder encoder, string inputName, string localOutput, string globalOutput)
        {
            var treeIds = new List<long>();
            var nodeIds = new List<long>();
            var featureIds = new List<long>();
            var modes = new List<string>();
            var values = new List<float>();
            var trueIds = new List<long>();
            var falseIds = new List<long>();
            var missingTrue = new List<long>();
            var tTree = new List<long>();
            var tNode = new List<long>();
            var tId = new List<long>();
            var tWeight = new List<float>();

            const long NodeBudget = 20_000_000;
            for (int t = 0; t < trees.Count; t++)
            {
                var tree = trees[t];
                // ONNX Runtime needs a tree (every node reached from one parent): emit depth-first with fresh ids; the
                // "hot" exit of a categorical chain goes to its own copy of RightChild's subtree.
                var nodes = new List<(string Mode, int Feature, float Value, int True, int False, bool NanTrue)>();
                int Reserve()
                {
                    nodes.Add(default);
                    if (treeIds.Count + nodes.Count > NodeBudget)
                        throw new NotSupportedException($"Tree {t}: the ONNX form of the categorical splits exceeds {NodeBudget} nodes.");
                    return nodes.Count - 1;
                }
                int Emit(int child)
                {
                    if (child < 0 || tree.NumberOfLeaves <= 1)
                    {
                        int leaf = child < 0 ? ~child : 0;
                        int id = Reserve();
                        nodes[id] = ("LEAF", 0, 0f, 0, 0, false);
                        tTree.Add(t);
                        tNode.Add(id);
                        tId.Add(t);
                        tWeight.Add(leaf);
                        return id;
                    }
                    if (!tree.CategoricalSplitFlags[child])
                    {
                        int id = Reserve();
                        int left = Emit(tree.LeftChild[child]);
                        int right = Emit(tree.RightChild[child]);
                        nodes[id] = ("BRANCH_LEQ", tree.NumericalSplitFeatureIndexes[child], tree.NumericalSplitThresholds[child], left, right, encoder.NanGoesLeft(t, child));
                        return id;
                    }
                    var cats = tree.GetCategoricalSplitFeaturesAt(child);
                    return cats.Count == 0 ? Emit(tree.LeftChild[child]) : Chain(child, cats, 0);
                }
                int Chain(int node, IReadOnlyList<int> cats, int k)
                {
                    // x <= 0 (or NaN): not hot, test the next indicator (or go left after the last); x > 0: hot, RightChild.
                    int id = Reserve();
                    int notHot = k == cats.Count - 1 ? Emit(tree.LeftChild[node]) : Chain(node, cats, k + 1);
                    int hot = Emit(tree.RightChild[node]);
                    nodes[id] = ("BRANCH_LEQ", cats[k], 0f, notHot, hot, true);
                    return id;
                }
                Emit(0);
                for (int id = 0; id < nodes.Count; id++)
                {
                    var n = nodes[id];
                    treeIds.Add(t);
                    nodeIds.Add(id);
                    featureIds.Add(n.Feature);
                    modes.Add(n.Mode);
                    values.Add(n.Value);
                    trueIds.Add(n.True);
                    falseIds.Add(n.False);
                    missingTrue.Add(n.NanTrue ? 1 : 0);
                }
            }

            var offsets = new float[trees.Count];
            for (int t = 0; t < trees.Count; t++)
                offsets[t] = encoder.LeafOffsets[t];

            var g = new OnnxGraphBuilder("MLNetRankGbdtLeafIndex");
            g.ImportOpset("ai.onnx.ml", 3);
            g.AddInput(inputName, new long[] { -1, encoder.FeatureCount });
            g.AddNodeInDomain("ai.onnx.ml", "TreeEnsembleRegressor", new[] { inputName }, new[] { localOutput },
                OnnxAttribute.Ints("nodes_treeids", treeIds.ToArray()),
                OnnxAttribute.Ints("nodes_nodeids", nodeIds.ToArray()),
                OnnxAttribute.Ints("nodes_featureids", featureIds.ToArray()),
                OnnxAttribute.Strings("nodes_modes", modes.ToArray()),
                OnnxAttribute.Floats("nodes_values", values.ToArray()),
                OnnxAttribute.Ints("nodes_truenodeids", trueIds.ToArray()),
                OnnxAttribute.Ints("nodes_falsenodeids", falseIds.ToArray()),
                OnnxAttribute.Ints("nodes_missing_value_tracks_true", missingTrue.ToArray()),
                OnnxAttribute.Ints("target_treeids", tTree.ToArray()),
                OnnxAttribute.Ints("target_nodeids", tNode.ToArray()),
                OnnxAttribute.Ints("target_ids", tId.ToArray()),
                OnnxAttribute.Floats("target_weights", tWeight.ToArray()),
                OnnxAttribute.Int("n_targets", trees.Count),
                OnnxAttribute.String("aggregate_function", "SUM"),
                OnnxAttribute.String("post_transform", "NONE"),
                OnnxAttribute.Floats("base_values", new float[trees.Count]));
            var offsetsName = g.AddInitializer("leaf_offsets", offsets, new long[] { trees.Count });
            g.AddNode("Add", new[] { localOutput, offsetsName }, new[] { globalOutput });
            g.AddOutput(localOutput, new long[] { -1, trees.Count });
            g.AddOutput(globalOutput, new long[] { -1, trees.Count });
            return g.ToBytes();
        }
    }
}
