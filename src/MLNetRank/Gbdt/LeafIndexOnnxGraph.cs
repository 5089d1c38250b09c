using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Onnx;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// Writes the ONNX graph (opset 17 + ai.onnx.ml 3) that evaluates the trees and returns, per tree, the index of the
    /// leaf reached: one <c>TreeEnsembleRegressor</c> with one target per tree whose leaf weights are the leaf indices
    /// (so the sum over the single reached leaf is that index, exactly), plus an <c>Add</c> of each tree's leaf offset for
    /// the global leaf index. Split rule as ML.NET's: <c>BRANCH_LEQ</c> (x &lt;= threshold goes to LeftChild), NaN
    /// direction per node from the learned flags (<c>nodes_missing_value_tracks_true</c>), categorical nodes expanded into
    /// a chain of "x &lt;= 0" tests (NaN counts as not hot). It is applied by ML.NET's built-in <c>OnnxTransformer</c>,
    /// which stores the bytes in the saved zip, so the saved model needs no MLNetRank code.
    /// </summary>
    /// <remarks>Written with <see cref="OnnxGraphBuilder"/>, the project's one ONNX writer.</remarks>
    internal static class LeafIndexOnnxGraph
    {
        public static byte[] Build(IReadOnlyList<RegressionTreeBase> trees, GbdtLeafEncoder encoder, string inputName, string localOutput, string globalOutput)
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
