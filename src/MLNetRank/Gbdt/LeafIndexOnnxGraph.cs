using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.ML.Trainers.FastTree;

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
    /// <remarks>A direct protobuf wire-format writer for the few ONNX messages used (field numbers from onnx/onnx.proto and
    /// onnx-ml.proto).</remarks>
    internal static class LeafIndexOnnxGraph
    {
        private const int OnnxFloat = 1;
        private const int AttrInt = 2, AttrString = 3, AttrFloats = 6, AttrInts = 7, AttrStrings = 8;

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

            var ensemble = Node("TreeEnsembleRegressor", "ai.onnx.ml", new[] { inputName }, new[] { localOutput });
            ensemble.Message(5, Ints("nodes_treeids", treeIds));
            ensemble.Message(5, Ints("nodes_nodeids", nodeIds));
            ensemble.Message(5, Ints("nodes_featureids", featureIds));
            ensemble.Message(5, Strings("nodes_modes", modes));
            ensemble.Message(5, Floats("nodes_values", values));
            ensemble.Message(5, Ints("nodes_truenodeids", trueIds));
            ensemble.Message(5, Ints("nodes_falsenodeids", falseIds));
            ensemble.Message(5, Ints("nodes_missing_value_tracks_true", missingTrue));
            ensemble.Message(5, Ints("target_treeids", tTree));
            ensemble.Message(5, Ints("target_nodeids", tNode));
            ensemble.Message(5, Ints("target_ids", tId));
            ensemble.Message(5, Floats("target_weights", tWeight));
            ensemble.Message(5, Int("n_targets", trees.Count));
            ensemble.Message(5, Str("aggregate_function", "SUM"));
            ensemble.Message(5, Str("post_transform", "NONE"));
            ensemble.Message(5, Floats("base_values", new float[trees.Count]));

            var offsets = new float[trees.Count];
            for (int t = 0; t < trees.Count; t++)
                offsets[t] = encoder.LeafOffsets[t];
            var add = Node("Add", "", new[] { localOutput, "leaf_offsets" }, new[] { globalOutput });

            var graph = new Proto();
            graph.Message(1, ensemble);
            graph.Message(1, add);
            graph.String(2, "MLNetRankGbdtLeafIndex");
            graph.Message(5, FloatTensor("leaf_offsets", offsets));
            graph.Message(11, ValueInfo(inputName, OnnxFloat, encoder.FeatureCount));
            graph.Message(12, ValueInfo(localOutput, OnnxFloat, trees.Count));
            graph.Message(12, ValueInfo(globalOutput, OnnxFloat, trees.Count));

            var model = new Proto();
            model.Int(1, 8);                 // ir_version
            model.String(2, "MLNetRank");    // producer_name
            model.Message(7, graph);
            model.Message(8, Opset("", 17));
            model.Message(8, Opset("ai.onnx.ml", 3));
            return model.ToArray();
        }

        private static Proto Opset(string domain, long version)
        {
            var p = new Proto();
            p.String(1, domain);
            p.Int(2, version);
            return p;
        }

        private static Proto Node(string op, string domain, string[] inputs, string[] outputs)
        {
            var node = new Proto();
            foreach (var i in inputs)
                node.String(1, i);
            foreach (var o in outputs)
                node.String(2, o);
            node.String(3, op + "_" + outputs[0]);
            node.String(4, op);
            if (domain.Length > 0)
                node.String(7, domain);
            return node;
        }

        private static Proto Attr(string name, int type)
        {
            var a = new Proto();
            a.String(1, name);
            a.Int(20, type);
            return a;
        }

        private static Proto Int(string name, long value)
        {
            var a = Attr(name, AttrInt);
            a.Int(3, value);
            return a;
        }

        private static Proto Str(string name, string value)
        {
            var a = Attr(name, AttrString);
            a.String(4, value);
            return a;
        }

        private static Proto Ints(string name, IReadOnlyList<long> values)
        {
            var a = Attr(name, AttrInts);
            var packed = new Proto();
            foreach (var v in values)
                packed.RawVarint(unchecked((ulong)v));
            a.Bytes(8, packed.ToArray());
            return a;
        }

        private static Proto Floats(string name, IReadOnlyList<float> values)
        {
            var a = Attr(name, AttrFloats);
            a.Bytes(7, FloatBytes(values));
            return a;
        }

        private static Proto Strings(string name, IReadOnlyList<string> values)
        {
            var a = Attr(name, AttrStrings);
            foreach (var v in values)
                a.String(9, v);
            return a;
        }

        private static byte[] FloatBytes(IReadOnlyList<float> values)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("ONNX float data is written little-endian.");
            var raw = new byte[values.Count * 4];
            for (int i = 0; i < values.Count; i++)
                BitConverter.TryWriteBytes(raw.AsSpan(i * 4), values[i]);
            return raw;
        }

        private static Proto FloatTensor(string name, float[] values)
        {
            var t = new Proto();
            t.Int(1, values.Length);         // dims
            t.Int(2, OnnxFloat);             // data_type
            t.String(8, name);
            t.Bytes(9, FloatBytes(values));  // raw_data
            return t;
        }

        private static Proto ValueInfo(string name, int elemType, long width)
        {
            var batch = new Proto();
            batch.String(2, "N");           // dim_param
            var w = new Proto();
            w.Int(1, width);                // dim_value
            var shape = new Proto();
            shape.Message(1, batch);
            shape.Message(1, w);
            var tensor = new Proto();
            tensor.Int(1, elemType);
            tensor.Message(2, shape);
            var type = new Proto();
            type.Message(1, tensor);
            var vi = new Proto();
            vi.String(1, name);
            vi.Message(2, type);
            return vi;
        }

        /// <summary>A minimal protobuf message writer (varint, length-delimited fields).</summary>
        private sealed class Proto
        {
            private readonly MemoryStream _buffer = new();

            public void Int(int field, long value)
            {
                RawVarint(((ulong)field << 3) | 0);
                RawVarint(unchecked((ulong)value));
            }

            public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

            public void Bytes(int field, byte[] value)
            {
                RawVarint(((ulong)field << 3) | 2);
                RawVarint((ulong)value.Length);
                _buffer.Write(value, 0, value.Length);
            }

            public void Message(int field, Proto message) => Bytes(field, message.ToArray());

            public byte[] ToArray() => _buffer.ToArray();

            public void RawVarint(ulong v)
            {
                while (v >= 0x80)
                {
                    _buffer.WriteByte((byte)(v | 0x80));
                    v >>= 7;
                }
                _buffer.WriteByte((byte)v);
            }
        }
    }
}
