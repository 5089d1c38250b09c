using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Cuts a part out of an ONNX graph: named intermediate tensors become graph inputs (the caller computes them), and
    /// every node, initializer and graph input that the graph outputs no longer need is removed. Used by the request
    /// scorer to evaluate a block natively and let ONNX Runtime run the rest.
    /// </summary>
    internal static class OnnxGraphCut
    {
        /// <summary>The model with each of <paramref name="newInputs"/> (tensor name, float, [batch, width]) fed from outside.</summary>
        /// <exception cref="NotSupportedException">A tensor is not produced by a node, or the graph has subgraphs.</exception>
        public static byte[] Cut(byte[] model, IReadOnlyList<(string Name, long Width)> newInputs)
        {
            var m = OnnxModelProto.Parse(model);
            var graph = m.Graph ?? throw new System.IO.InvalidDataException("The ONNX model has no graph.");
            if (graph.Node.Any(n => n.Attribute.Any(a => a.G is not null || a.Graphs.Count > 0)))
                throw new NotSupportedException("The graph has subgraphs (If / Loop / Scan); it is not cut.");
            var cut = new HashSet<string>(newInputs.Select(i => i.Name), StringComparer.Ordinal);
            var produced = new HashSet<string>(graph.Node.SelectMany(n => n.Output), StringComparer.Ordinal);
            foreach (var name in cut)
                if (!produced.Contains(name))
                    throw new NotSupportedException($"Tensor '{name}' is not computed by a node of the graph.");
            // backward from the graph outputs; a cut tensor's producers are not needed
            var needed = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
            var keep = new bool[graph.Node.Count];
            for (int i = graph.Node.Count - 1; i >= 0; i--)
            {
                var node = graph.Node[i];
                if (!node.Output.Any(needed.Contains) || node.Output.Any(cut.Contains))
                    continue;
                keep[i] = true;
                foreach (var input in node.Input)
                    if (input.Length > 0)
                        needed.Add(input);
            }
            var nodes = graph.Node.Where((_, i) => keep[i]).ToList();
            graph.Node.Clear();
            graph.Node.AddRange(nodes);
            var initializers = graph.Initializer.Where(t => needed.Contains(t.Name)).ToList();
            graph.Initializer.Clear();
            graph.Initializer.AddRange(initializers);
            var inputs = graph.Input.Where(v => needed.Contains(v.Name)).ToList();
            graph.Input.Clear();
            graph.Input.AddRange(inputs);
            foreach (var (name, width) in newInputs)
                if (needed.Contains(name))
                    graph.Input.Add(OnnxModelProto.ValueInfo(new OnnxTensorSpec(name, TensorElementType.Float, new long[] { -1, width })));
            var infos = graph.ValueInfo.Where(v => needed.Contains(v.Name) && !cut.Contains(v.Name)).ToList();
            graph.ValueInfo.Clear();
            graph.ValueInfo.AddRange(infos);
            return m.ToByteArray();
        }

        /// <summary>The float values of initializer <paramref name="name"/> and its dims, or null when there is none.</summary>
        public static (float[] Values, long[] Dims)? FloatInitializer(byte[] model, string name)
        {
            var graph = OnnxModelProto.Parse(model).Graph;
            var t = graph?.Initializer.FirstOrDefault(i => i.Name == name);
            if (t is null || t.DataType != (int)TensorElementType.Float)
                return null;
            long count = t.Dims.Aggregate(1L, (a, b) => a * b);
            float[] values;
            if (t.RawData.Length > 0)
            {
                if (t.RawData.Length != count * 4)
                    return null;
                values = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
            }
            else
            {
                if (t.FloatData.Count != count)
                    return null;
                values = t.FloatData.ToArray();
            }
            return (values, t.Dims.ToArray());
        }

        /// <summary>A metadata_props value of the model, or null.</summary>
        public static string? Metadata(byte[] model, string key)
            => OnnxModelProto.Parse(model).MetadataProps.FirstOrDefault(p => p.Key == key)?.Value;
    }
}
