using System;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>The kind of an <see cref="OnnxAttribute"/>, numbered as ONNX's <c>AttributeProto.AttributeType</c>.</summary>
    internal enum OnnxAttributeKind
    {
        /// <summary>A 32-bit float (<c>FLOAT</c> = 1).</summary>
        Float = 1,
        /// <summary>A 64-bit integer (<c>INT</c> = 2).</summary>
        Int = 2,
        /// <summary>A UTF-8 string (<c>STRING</c> = 3).</summary>
        String = 3,
        /// <summary>A tensor (<c>TENSOR</c> = 4).</summary>
        Tensor = 4,
        /// <summary>A list of floats (<c>FLOATS</c> = 6).</summary>
        Floats = 6,
        /// <summary>A list of 64-bit integers (<c>INTS</c> = 7).</summary>
        Ints = 7,
        /// <summary>A list of strings (<c>STRINGS</c> = 8).</summary>
        Strings = 8,
    }

    /// <summary>
    /// An attribute of an ONNX node (ONNX <c>AttributeProto</c>): create it with <see cref="Int"/>, <see cref="Float"/>,
    /// <see cref="Ints"/>, <see cref="Floats"/>, <see cref="String"/>, <see cref="Strings"/> or <see cref="Tensor(string, float[], long[])"/>.
    /// </summary>
    internal sealed class OnnxAttribute
    {
        private OnnxAttribute(string name, OnnxAttributeKind kind)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("An ONNX attribute needs a name.", nameof(name));
            Name = name;
            Kind = kind;
        }

        /// <summary>The attribute name, e.g. <c>axis</c>.</summary>
        public string Name { get; }

        /// <summary>The attribute kind.</summary>
        public OnnxAttributeKind Kind { get; }

        internal long IntValue { get; private set; }
        internal float FloatValue { get; private set; }
        internal string StringValue { get; private set; } = "";
        internal long[] IntValues { get; private set; } = Array.Empty<long>();
        internal float[] FloatValues { get; private set; } = Array.Empty<float>();
        internal string[] StringValues { get; private set; } = Array.Empty<string>();
        internal OnnxTensorData? TensorValue { get; private set; }

        /// <summary>An integer attribute (ONNX <c>INT</c>), e.g. <c>Int("axis", 1)</c>.</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="value">Value.</param>
        public static OnnxAttribute Int(string name, long value) => new OnnxAttribute(name, OnnxAttributeKind.Int) { IntValue = value };

        /// <summary>A float attribute (ONNX <c>FLOAT</c>), e.g. <c>Float("alpha", 1f)</c>.</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="value">Value.</param>
        public static OnnxAttribute Float(string name, float value) => new OnnxAttribute(name, OnnxAttributeKind.Float) { FloatValue = value };

        /// <summary>A list-of-integers attribute (ONNX <c>INTS</c>), e.g. <c>Ints("perm", 1, 0)</c>.</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="values">Values (copied).</param>
        public static OnnxAttribute Ints(string name, params long[] values)
            => new OnnxAttribute(name, OnnxAttributeKind.Ints) { IntValues = (values ?? throw new ArgumentNullException(nameof(values))).ToArray() };

        /// <summary>A list-of-floats attribute (ONNX <c>FLOATS</c>).</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="values">Values (copied).</param>
        public static OnnxAttribute Floats(string name, params float[] values)
            => new OnnxAttribute(name, OnnxAttributeKind.Floats) { FloatValues = (values ?? throw new ArgumentNullException(nameof(values))).ToArray() };

        /// <summary>A string attribute (ONNX <c>STRING</c>, written as UTF-8).</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="value">Value.</param>
        public static OnnxAttribute String(string name, string value)
            => new OnnxAttribute(name, OnnxAttributeKind.String) { StringValue = value ?? throw new ArgumentNullException(nameof(value)) };

        /// <summary>A list-of-strings attribute (ONNX <c>STRINGS</c>, written as UTF-8).</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="values">Values (copied).</param>
        public static OnnxAttribute Strings(string name, params string[] values)
            => new OnnxAttribute(name, OnnxAttributeKind.Strings) { StringValues = (values ?? throw new ArgumentNullException(nameof(values))).ToArray() };

        /// <summary>A float tensor attribute (ONNX <c>TENSOR</c>), e.g. the <c>value</c> of a <c>Constant</c> node.</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="data">Row-major values; their count must equal the product of <paramref name="dims"/>.</param>
        /// <param name="dims">The tensor shape (all dimensions known, none negative); empty for a scalar.</param>
        public static OnnxAttribute Tensor(string name, float[] data, long[] dims)
            => new OnnxAttribute(name, OnnxAttributeKind.Tensor) { TensorValue = OnnxTensorData.Create(name, data, dims) };

        /// <summary>An int64 tensor attribute (ONNX <c>TENSOR</c>).</summary>
        /// <param name="name">Attribute name.</param>
        /// <param name="data">Row-major values; their count must equal the product of <paramref name="dims"/>.</param>
        /// <param name="dims">The tensor shape (all dimensions known, none negative); empty for a scalar.</param>
        public static OnnxAttribute Tensor(string name, long[] data, long[] dims)
            => new OnnxAttribute(name, OnnxAttributeKind.Tensor) { TensorValue = OnnxTensorData.Create(name, data, dims) };

        internal Spec.AttributeProto ToProto()
        {
            var a = new Spec.AttributeProto { Name = Name, Type = (Spec.AttributeProto.Types.AttributeType)(int)Kind };
            switch (Kind)
            {
                case OnnxAttributeKind.Float: a.F = FloatValue; break;
                case OnnxAttributeKind.Int: a.I = IntValue; break;
                case OnnxAttributeKind.String: a.S = ByteString.CopyFromUtf8(StringValue); break;
                case OnnxAttributeKind.Tensor: a.T = TensorValue!.ToProto(); break;
                case OnnxAttributeKind.Floats: a.Floats.Add(FloatValues); break;
                case OnnxAttributeKind.Ints: a.Ints.Add(IntValues); break;
                case OnnxAttributeKind.Strings: a.Strings.Add(StringValues.Select(ByteString.CopyFromUtf8)); break;
                default: throw new InvalidOperationException($"Unsupported attribute kind {Kind}.");
            }
            return a;
        }
    }

    /// <summary>A dense tensor with known shape, as written into an ONNX <c>TensorProto</c> (raw little-endian data).</summary>
    internal sealed class OnnxTensorData
    {
        private OnnxTensorData(string name, TensorElementType type, long[] dims, byte[] raw)
        {
            Name = name;
            ElementType = type;
            Dims = dims;
            Raw = raw;
        }

        public string Name { get; }
        public TensorElementType ElementType { get; }
        public long[] Dims { get; }
        public byte[] Raw { get; }

        public static OnnxTensorData Create(string name, float[] data, long[] dims)
            => new OnnxTensorData(name, TensorElementType.Float, CheckShape(name, data?.Length, dims), LittleEndianBytes<float>(data));

        public static OnnxTensorData Create(string name, long[] data, long[] dims)
            => new OnnxTensorData(name, TensorElementType.Int64, CheckShape(name, data?.Length, dims), LittleEndianBytes<long>(data));

        public static OnnxTensorData Create(string name, int[] data, long[] dims)
            => new OnnxTensorData(name, TensorElementType.Int32, CheckShape(name, data?.Length, dims), LittleEndianBytes<int>(data));

        private static long[] CheckShape(string name, int? length, long[] dims)
        {
            if (length is null)
                throw new ArgumentNullException(nameof(length), $"Tensor '{name}' has no data.");
            if (dims is null)
                throw new ArgumentNullException(nameof(dims), $"Tensor '{name}' has no dims (use an empty array for a scalar).");
            long count = 1;
            foreach (long d in dims)
            {
                if (d < 0)
                    throw new ArgumentOutOfRangeException(nameof(dims), $"Tensor '{name}' has a negative dimension in [{string.Join(", ", dims)}]; constant tensors need every dimension known.");
                count *= d;
            }
            if (count != length.Value)
                throw new ArgumentException($"Tensor '{name}' has {length.Value} values but its shape [{string.Join(", ", dims)}] holds {count}.", nameof(dims));
            return dims.ToArray();
        }

        public Spec.TensorProto ToProto()
        {
            var t = new Spec.TensorProto { DataType = (int)ElementType, Name = Name, RawData = UnsafeByteOperations.UnsafeWrap(Raw) };   // Raw is never changed after creation
            t.Dims.Add(Dims);
            return t;
        }

        internal static byte[] LittleEndianBytes<T>(ReadOnlySpan<T> values) where T : unmanaged
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("ONNX raw tensor data is little-endian; big-endian hosts are not supported.");
            return System.Runtime.InteropServices.MemoryMarshal.AsBytes(values).ToArray();
        }
    }
}
