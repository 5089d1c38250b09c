using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace MLNetRank.Torch.MultiTask.Onnx
{
    /// <summary>ONNX tensor element types used by the exporter (values of onnx.TensorProto.DataType).</summary>
    internal enum OnnxElementType
    {
        Float = 1,
        Int64 = 7,
        UInt32 = 12,
    }

    /// <summary>
    /// A small ONNX (opset 17) graph writer: inputs, initializers, nodes and outputs serialized straight to the
    /// protobuf wire format of <c>onnx.ModelProto</c>. It mirrors the shape of the shared
    /// <c>MLNetRank.Onnx.OnnxGraphBuilder</c> contract (AddInput / AddInitializer / AddNode / AddOutput / ToBytes)
    /// so the exporter can move onto it without change.
    /// </summary>
    internal sealed class OnnxModelWriter
    {
        private readonly List<byte[]> _inputs = new();
        private readonly List<byte[]> _outputs = new();
        private readonly List<byte[]> _initializers = new();
        private readonly List<byte[]> _nodes = new();
        private readonly HashSet<string> _names = new(StringComparer.Ordinal);
        private int _counter;

        public const int Opset = 17;

        /// <summary>A fresh tensor name with the given readable prefix.</summary>
        public string Fresh(string prefix)
        {
            string name;
            do
                name = $"{prefix}_{_counter++}";
            while (!_names.Add(name));
            return name;
        }

        public void AddInput(string name, OnnxElementType type, long[] dims)
        {
            _names.Add(name);
            _inputs.Add(ValueInfo(name, type, dims));
        }

        public void AddOutput(string name, OnnxElementType type, long[] dims) => _outputs.Add(ValueInfo(name, type, dims));

        public string AddInitializer(string name, float[] data, long[] dims)
        {
            _names.Add(name);
            var w = new ProtoWriter();
            foreach (var d in dims)
                w.Varint(1, (ulong)d);
            w.Varint(2, (ulong)OnnxElementType.Float);
            w.String(8, name);
            var raw = new byte[data.Length * 4];
            Buffer.BlockCopy(data, 0, raw, 0, raw.Length);
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian.");
            w.Bytes(9, raw);
            _initializers.Add(w.ToArray());
            return name;
        }

        public string AddInitializer(string name, long[] data, long[] dims)
        {
            _names.Add(name);
            var w = new ProtoWriter();
            foreach (var d in dims)
                w.Varint(1, (ulong)d);
            w.Varint(2, (ulong)OnnxElementType.Int64);
            w.String(8, name);
            var raw = new byte[data.Length * 8];
            Buffer.BlockCopy(data, 0, raw, 0, raw.Length);
            w.Bytes(9, raw);
            _initializers.Add(w.ToArray());
            return name;
        }

        /// <summary>Adds a node; attributes are (name, value) with value an int/long, float, long[], float[] or string.</summary>
        public void AddNode(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
        {
            var w = new ProtoWriter();
            foreach (var i in inputs)
                w.String(1, i);
            foreach (var o in outputs)
            {
                _names.Add(o);
                w.String(2, o);
            }
            w.String(3, $"{opType}_{_nodes.Count}");
            w.String(4, opType);
            foreach (var (name, value) in attributes)
                w.Message(5, Attribute(name, value));
            _nodes.Add(w.ToArray());
        }

        /// <summary>Adds a single-output node and returns the output's fresh name.</summary>
        public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes)
        {
            var output = Fresh(opType.ToLowerInvariant());
            AddNode(opType, inputs, new[] { output }, attributes);
            return output;
        }

        public byte[] ToBytes(string graphName = "mlnetrank_multitask")
        {
            var g = new ProtoWriter();
            foreach (var n in _nodes)
                g.Message(1, n);
            g.String(2, graphName);
            foreach (var t in _initializers)
                g.Message(5, t);
            foreach (var i in _inputs)
                g.Message(11, i);
            foreach (var o in _outputs)
                g.Message(12, o);

            var opset = new ProtoWriter();
            opset.String(1, "");
            opset.Varint(2, Opset);

            var m = new ProtoWriter();
            m.Varint(1, 8); // ir_version 8 (ONNX 1.10+, opset 17 compatible)
            m.String(2, "MLNetRank.Torch");
            m.String(3, "0.1.0");
            m.Message(7, g.ToArray());
            m.Message(8, opset.ToArray());
            return m.ToArray();
        }

        private static byte[] ValueInfo(string name, OnnxElementType type, long[] dims)
        {
            var shape = new ProtoWriter();
            foreach (var d in dims)
            {
                var dim = new ProtoWriter();
                if (d >= 0)
                    dim.Varint(1, (ulong)d);
                else
                    dim.String(2, d == -1 ? "batch" : $"d{-d}");
                shape.Message(1, dim.ToArray());
            }
            var tensor = new ProtoWriter();
            tensor.Varint(1, (ulong)type);
            tensor.Message(2, shape.ToArray());
            var typeProto = new ProtoWriter();
            typeProto.Message(1, tensor.ToArray());
            var vi = new ProtoWriter();
            vi.String(1, name);
            vi.Message(2, typeProto.ToArray());
            return vi.ToArray();
        }

        private static byte[] Attribute(string name, object value)
        {
            var a = new ProtoWriter();
            a.String(1, name);
            switch (value)
            {
                case int i:
                    a.Varint(3, (ulong)(long)i);
                    a.Varint(20, 2);
                    break;
                case long l:
                    a.Varint(3, (ulong)l);
                    a.Varint(20, 2);
                    break;
                case float f:
                    a.Fixed32(2, f);
                    a.Varint(20, 1);
                    break;
                case string s:
                    a.Bytes(4, Encoding.UTF8.GetBytes(s));
                    a.Varint(20, 3);
                    break;
                case long[] ls:
                    foreach (var l in ls)
                        a.Varint(8, (ulong)l);
                    a.Varint(20, 7);
                    break;
                case float[] fs:
                    foreach (var f in fs)
                        a.Fixed32(7, f);
                    a.Varint(20, 6);
                    break;
                default:
                    throw new ArgumentException($"Unsupported ONNX attribute value type {value?.GetType().Name} for '{name}'.");
            }
            return a.ToArray();
        }

        /// <summary>Minimal protobuf wire-format writer.</summary>
        private sealed class ProtoWriter
        {
            private readonly MemoryStream _s = new();

            private void Raw(ulong v)
            {
                while (v >= 0x80)
                {
                    _s.WriteByte((byte)(v | 0x80));
                    v >>= 7;
                }
                _s.WriteByte((byte)v);
            }

            private void Tag(int field, int wire) => Raw(((ulong)field << 3) | (uint)wire);

            public void Varint(int field, ulong v)
            {
                Tag(field, 0);
                Raw(v);
            }

            public void Fixed32(int field, float f)
            {
                Tag(field, 5);
                Span<byte> b = stackalloc byte[4];
                BitConverter.TryWriteBytes(b, f);
                _s.Write(b);
            }

            public void Bytes(int field, byte[] data)
            {
                Tag(field, 2);
                Raw((ulong)data.Length);
                _s.Write(data, 0, data.Length);
            }

            public void String(int field, string s) => Bytes(field, Encoding.UTF8.GetBytes(s));

            public void Message(int field, byte[] data) => Bytes(field, data);

            public byte[] ToArray() => _s.ToArray();
        }
    }
}
