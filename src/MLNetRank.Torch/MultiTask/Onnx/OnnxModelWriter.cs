using System;
using System.Linq;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;

namespace MLNetRank.Torch.MultiTask.Onnx
{
    /// <summary>ONNX tensor element types used by the exporter.</summary>
    internal enum OnnxElementType
    {
        Float = 1,
        Int64 = 7,
        UInt32 = 12,
    }

    /// <summary>
    /// The exporter's view of the project's one ONNX writer, <see cref="OnnxGraphBuilder"/> (opset 17): the short
    /// <see cref="Op"/> form with tuple attributes that the module exports use, plus fresh names. The builder checks that
    /// every node input is defined before use and that names are unique, so an exporter bug fails at export time
    /// with the tensor named, not in ONNX Runtime.
    /// </summary>
    internal sealed class OnnxModelWriter
    {
        private readonly OnnxGraphBuilder _g = new("mlnetrank_multitask") { ProducerName = "MLNetRank.Torch" };

        public const int Opset = OnnxGraphBuilder.OpsetVersion;

        /// <summary>A fresh tensor name with the given readable prefix.</summary>
        public string Fresh(string prefix) => _g.UniqueName(prefix);

        /// <summary>A graph input; <c>-1</c> is the batch dimension, <c>-k</c> (k &gt;= 2) another symbolic dimension.</summary>
        public void AddInput(string name, OnnxElementType type, long[] dims) => _g.AddInput(name, ToTensorType(type), dims);

        public void AddOutput(string name, OnnxElementType type, long[] dims) => _g.AddOutput(name, ToTensorType(type), dims);

        public string AddInitializer(string name, float[] data, long[] dims) => _g.AddInitializer(name, data, dims);

        public string AddInitializer(string name, long[] data, long[] dims) => _g.AddInitializer(name, data, dims);

        /// <summary>Adds a node; attributes are (name, value) with value an int/long, float, long[], float[] or string.</summary>
        public void AddNode(string opType, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
            => _g.AddNode(opType, inputs, outputs, attributes.Select(a => ToAttribute(a.Name, a.Value)).ToArray());

        /// <summary>Adds a single-output node and returns the output's fresh name.</summary>
        public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes)
        {
            var output = Fresh(opType.ToLowerInvariant());
            AddNode(opType, inputs, new[] { output }, attributes);
            return output;
        }

        public byte[] ToBytes() => _g.ToBytes();

        /// <summary>The builder itself (the public writer that pooling modules export with).</summary>
        public OnnxGraphBuilder Graph => _g;

        private static TensorElementType ToTensorType(OnnxElementType type) => type switch
        {
            OnnxElementType.Float => TensorElementType.Float,
            OnnxElementType.Int64 => TensorElementType.Int64,
            OnnxElementType.UInt32 => TensorElementType.UInt32,
            _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unsupported ONNX element type."),
        };

        private static OnnxAttribute ToAttribute(string name, object value) => value switch
        {
            int i => OnnxAttribute.Int(name, i),
            long l => OnnxAttribute.Int(name, l),
            float f => OnnxAttribute.Float(name, f),
            string s => OnnxAttribute.String(name, s),
            long[] ls => OnnxAttribute.Ints(name, ls),
            float[] fs => OnnxAttribute.Floats(name, fs),
            _ => throw new ArgumentException($"Unsupported ONNX attribute value type {value?.GetType().Name} for '{name}'."),
        };
    }
}
