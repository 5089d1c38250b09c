using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// Writes the small ONNX graph (opset 17) that turns ML.NET's one-hot <c>Leaves</c> vector (all trees' leaves,
    /// concatenated) into the per-tree leaf index: <c>Gather</c> each tree's slots into a <c>[N, trees, maxLeaves]</c>
    /// block (short trees repeat their first slot, which never wins the tie), <c>ArgMax</c> over the last axis, and
    /// <c>Cast</c> to float. It is applied by ML.NET's built-in <c>OnnxTransformer</c>, which stores the bytes in the
    /// saved zip, so the saved model needs no MLNetRank code.
    /// </summary>
    /// <remarks>
    /// A direct protobuf wire-format writer for the few ONNX messages used here (ModelProto, GraphProto, NodeProto,
    /// AttributeProto, TensorProto, ValueInfoProto); field numbers from onnx/onnx.proto.
    /// </remarks>
    internal static class LeafIndexOnnxGraph
    {
        private const int OnnxFloat = 1, OnnxInt64 = 7;
        private const int AttrInt = 2;

        public static byte[] Build(string inputName, string outputName, IReadOnlyList<int> leafCounts)
        {
            int trees = leafCounts.Count;
            int maxLeaves = 1;
            foreach (int c in leafCounts)
                maxLeaves = Math.Max(maxLeaves, c);
            int total = 0;
            var index = new long[trees * maxLeaves];
            for (int t = 0; t < trees; t++)
            {
                for (int j = 0; j < maxLeaves; j++)
                    index[t * maxLeaves + j] = total + (j < leafCounts[t] ? j : 0);
                total += leafCounts[t];
            }

            var graph = new Proto();
            graph.Message(1, Node("Gather", new[] { inputName, "gather_index" }, new[] { "gathered" }, ("axis", 1)));
            graph.Message(1, Node("Reshape", new[] { "gathered", "block_shape" }, new[] { "blocks" }));
            graph.Message(1, Node("ArgMax", new[] { "blocks" }, new[] { "leaf_int64" }, ("axis", 2), ("keepdims", 0)));
            graph.Message(1, Node("Cast", new[] { "leaf_int64" }, new[] { outputName }, ("to", OnnxFloat)));
            graph.String(2, "MLNetRankGbdtLeafIndex");
            graph.Message(5, Int64Tensor("gather_index", index, new long[] { index.Length }));
            graph.Message(5, Int64Tensor("block_shape", new long[] { -1, trees, maxLeaves }, new long[] { 3 }));
            graph.Message(11, ValueInfo(inputName, OnnxFloat, total));
            graph.Message(12, ValueInfo(outputName, OnnxFloat, trees));

            var opset = new Proto();
            opset.String(1, "");
            opset.Int(2, 17);

            var model = new Proto();
            model.Int(1, 8);                 // ir_version
            model.String(2, "MLNetRank");    // producer_name
            model.Message(7, graph);
            model.Message(8, opset);
            return model.ToArray();
        }

        private static Proto Node(string op, string[] inputs, string[] outputs, params (string Name, long Value)[] attributes)
        {
            var node = new Proto();
            foreach (var i in inputs)
                node.String(1, i);
            foreach (var o in outputs)
                node.String(2, o);
            node.String(3, op + "_" + outputs[0]);
            node.String(4, op);
            foreach (var (name, value) in attributes)
            {
                var a = new Proto();
                a.String(1, name);
                a.Int(3, value);
                a.Int(20, AttrInt);
                node.Message(5, a);
            }
            return node;
        }

        private static Proto Int64Tensor(string name, long[] values, long[] dims)
        {
            var t = new Proto();
            foreach (var d in dims)
                t.Int(1, d);
            t.Int(2, OnnxInt64);
            t.String(8, name);
            var raw = new byte[values.Length * 8];
            for (int i = 0; i < values.Length; i++)
                BitConverter.TryWriteBytes(raw.AsSpan(i * 8), values[i]); // ONNX raw_data is little-endian
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
            t.Bytes(9, raw);
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
                Varint(((ulong)field << 3) | 0);
                Varint(unchecked((ulong)value));
            }

            public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

            public void Bytes(int field, byte[] value)
            {
                Varint(((ulong)field << 3) | 2);
                Varint((ulong)value.Length);
                _buffer.Write(value, 0, value.Length);
            }

            public void Message(int field, Proto message) => Bytes(field, message.ToArray());

            public byte[] ToArray() => _buffer.ToArray();

            private void Varint(ulong v)
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
