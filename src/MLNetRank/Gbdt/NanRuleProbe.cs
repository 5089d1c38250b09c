using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace MLNetRank.Gbdt
{
    /// <summary>In-memory rows of one known-size Single vector column, as an <see cref="IDataView"/>.</summary>
    internal static class FeatureRows
    {
        private sealed class Row
        {
            public float[] Features { get; set; } = Array.Empty<float>();
        }

        public static IDataView Load(MLContext context, int featureCount, string columnName, IEnumerable<float[]> rows)
        {
            var def = SchemaDefinition.Create(typeof(Row));
            // The indexer looks columns up by their current name: take the column once, then rename it.
            var column = def[nameof(Row.Features)];
            column.ColumnType = new VectorDataViewType(NumberDataViewType.Single, featureCount);
            column.ColumnName = columnName;
            var list = new List<Row>();
            foreach (var r in rows)
                list.Add(new Row { Features = r });
            return context.Data.LoadFromEnumerable(list, def);
        }
    }

    /// <summary>
    /// Learns, for every numerical split node, where ML.NET's own tree evaluator sends a NaN in the split feature. The
    /// public tree API does not expose ML.NET's per-node missing-value defaults (set from LightGBM's <c>default_left</c>),
    /// so one probe row per node is built that reaches the node (from the thresholds on its path) with NaN in the node's
    /// feature, the rows go through the built-in featurizer once, and the leaf reached tells the direction. Nodes that no
    /// row can reach with a NaN in their feature (an ancestor on the same feature sends NaN elsewhere) keep "right";
    /// their flag never matters.
    /// </summary>
    internal static class NanRuleProbe
    {
        public static bool[][] Learn(MLContext context, TreeEnsembleFeaturizationTransformer featurizer, IReadOnlyList<RegressionTreeBase> trees,
            int featureCount, string featureColumn, string leavesColumn)
        {
            var flags = new bool[trees.Count][];
            for (int t = 0; t < trees.Count; t++)
                flags[t] = new bool[trees[t].NumberOfLeaves > 1 ? trees[t].NumberOfNodes : 0];

            // Process depth by depth so that the NaN direction of every ancestor is known when a node is probed.
            var parents = new List<(int Parent, bool Left)[]>();
            var depthOf = new List<int[]>();
            int maxDepth = 0;
            for (int t = 0; t < trees.Count; t++)
            {
                var tree = trees[t];
                int n = flags[t].Length;
                var parent = new (int, bool)[n];
                var depth = new int[n];
                if (n > 0)
                {
                    parent[0] = (-1, false);
                    var stack = new Stack<int>();
                    stack.Push(0);
                    while (stack.Count > 0)
                    {
                        int i = stack.Pop();
                        foreach (var (child, left) in new[] { (tree.LeftChild[i], true), (tree.RightChild[i], false) })
                        {
                            if (child < 0)
                                continue;
                            parent[child] = (i, left);
                            depth[child] = depth[i] + 1;
                            maxDepth = Math.Max(maxDepth, depth[child]);
                            stack.Push(child);
                        }
                    }
                }
                parents.Add(parent);
                depthOf.Add(depth);
            }

            var leftLeaves = new HashSet<int>[trees.Count][];
            for (int t = 0; t < trees.Count; t++)
            {
                leftLeaves[t] = new HashSet<int>[flags[t].Length];
                for (int i = 0; i < flags[t].Length; i++)
                    leftLeaves[t][i] = LeavesUnder(trees[t], trees[t].LeftChild[i]);
            }

            int offset = 0;
            var treeOffset = new int[trees.Count];
            for (int t = 0; t < trees.Count; t++)
            {
                treeOffset[t] = offset;
                offset += trees[t].NumberOfLeaves;
            }

            const int chunk = 4096; // probe rows per featurizer pass: bounded memory for large ensembles
            for (int d = 0; d <= maxDepth; d++)
            {
                var targets = new List<(int Tree, int Node)>();
                for (int t = 0; t < trees.Count; t++)
                    for (int i = 0; i < flags[t].Length; i++)
                        if (depthOf[t][i] == d && !trees[t].CategoricalSplitFlags[i])
                            targets.Add((t, i));
                for (int start = 0; start < targets.Count; start += chunk)
                {
                    var rows = new List<float[]>();
                    var probed = new List<(int Tree, int Node)>();
                    for (int k = start; k < Math.Min(targets.Count, start + chunk); k++)
                    {
                        var (t, i) = targets[k];
                        var row = ProbeRow(trees[t], flags[t], parents[t], i, featureCount);
                        if (row is null)
                            continue;
                        rows.Add(row);
                        probed.Add((t, i));
                    }
                    if (rows.Count > 0)
                        ReadDirections(context, featurizer, trees, featureCount, featureColumn, leavesColumn, rows, probed, treeOffset, leftLeaves, flags);
                }
            }
            return flags;
        }

        private static void ReadDirections(MLContext context, TreeEnsembleFeaturizationTransformer featurizer, IReadOnlyList<RegressionTreeBase> trees,
            int featureCount, string featureColumn, string leavesColumn, List<float[]> rows, List<(int Tree, int Node)> targets,
            int[] treeOffset, HashSet<int>[][] leftLeaves, bool[][] flags)
        {
            var view = featurizer.Transform(FeatureRows.Load(context, featureCount, featureColumn, rows));
            var col = view.Schema[leavesColumn];
            using var cursor = view.GetRowCursor(new[] { col });
            var getter = cursor.GetGetter<VBuffer<float>>(col);
            var buffer = default(VBuffer<float>);
            int k = 0;
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                var (t, i) = targets[k++];
                int leaf = -1;
                int from = treeOffset[t], to = from + trees[t].NumberOfLeaves;
                var indices = buffer.GetIndices();
                var values = buffer.GetValues();
                if (buffer.IsDense)
                {
                    for (int slot = from; slot < to; slot++)
                        if (values[slot] != 0)
                        {
                            leaf = slot - from;
                            break;
                        }
                }
                else
                {
                    for (int j = 0; j < indices.Length; j++)
                        if (indices[j] >= from && indices[j] < to && values[j] != 0)
                        {
                            leaf = indices[j] - from;
                            break;
                        }
                }
                if (leaf < 0)
                    throw new InvalidOperationException($"The tree featurizer gave no leaf for tree {t}.");
                flags[t][i] = leftLeaves[t][i].Contains(leaf);
            }
        }

        private static HashSet<int> LeavesUnder(RegressionTreeBase tree, int node)
        {
            var set = new HashSet<int>();
            var stack = new Stack<int>();
            stack.Push(node);
            while (stack.Count > 0)
            {
                int i = stack.Pop();
                if (i < 0)
                {
                    set.Add(~i);
                    continue;
                }
                stack.Push(tree.LeftChild[i]);
                stack.Push(tree.RightChild[i]);
            }
            return set;
        }

        /// <summary>A row that reaches <paramref name="node"/> with NaN in its split feature, or null when none can.</summary>
        private static float[]? ProbeRow(RegressionTreeBase tree, bool[] nanLeft, (int Parent, bool Left)[] parents, int node, int featureCount)
        {
            int feature = tree.NumericalSplitFeatureIndexes[node];
            var lo = new Dictionary<int, float>();   // x > lo
            var hi = new Dictionary<int, float>();   // x <= hi
            var zero = new HashSet<int>();          // categorical: must be <= 0
            var hot = new List<int[]>();            // categorical: one of these must be > 0
            for (int child = node; parents[child].Parent >= 0; child = parents[child].Parent)
            {
                var (p, left) = parents[child];
                if (tree.CategoricalSplitFlags[p])
                {
                    var cats = tree.GetCategoricalSplitFeaturesAt(p);
                    if (left)
                    {
                        foreach (int c in cats)
                            zero.Add(c);
                    }
                    else
                    {
                        var arr = new int[cats.Count];
                        for (int j = 0; j < arr.Length; j++)
                            arr[j] = cats[j];
                        hot.Add(arr);
                    }
                    continue;
                }
                int f = tree.NumericalSplitFeatureIndexes[p];
                float t = tree.NumericalSplitThresholds[p];
                if (f == feature)
                {
                    // The probe's NaN decides this ancestor too: reachable only if NaN goes our way there.
                    if (nanLeft[p] != left)
                        return null;
                    continue;
                }
                if (left)
                    hi[f] = hi.TryGetValue(f, out var h) ? Math.Min(h, t) : t;
                else
                    lo[f] = lo.TryGetValue(f, out var l) ? Math.Max(l, t) : t;
            }
            var row = new float[featureCount];
            var fixedFeatures = new HashSet<int>();
            foreach (var f in new HashSet<int>(new List<int>(lo.Keys).ConcatWith(hi.Keys)))
            {
                float l = lo.TryGetValue(f, out var a) ? a : float.NegativeInfinity;
                float h = hi.TryGetValue(f, out var b) ? b : float.PositiveInfinity;
                if (!(l < h))
                    return null;
                float v = !float.IsPositiveInfinity(h) ? h : (float.IsNegativeInfinity(l) ? 0f : MathF.BitIncrement(l));
                if (zero.Contains(f) && v > 0)
                    return null;
                row[f] = v;
                fixedFeatures.Add(f);
            }
            foreach (var set in hot)
            {
                bool done = false;
                foreach (int c in set)
                {
                    if (c == feature || zero.Contains(c))
                        continue;
                    if (fixedFeatures.Contains(c))
                    {
                        if (row[c] > 0)
                        {
                            done = true;
                            break;
                        }
                        continue;
                    }
                    row[c] = 1f;
                    fixedFeatures.Add(c);
                    done = true;
                    break;
                }
                if (!done)
                    return null;
            }
            row[feature] = float.NaN;
            return row;
        }

        private static IEnumerable<int> ConcatWith(this List<int> first, IEnumerable<int> second)
        {
            foreach (var x in first)
                yield return x;
            foreach (var x in second)
                yield return x;
        }
    }
}
