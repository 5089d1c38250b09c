using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Inspection and rewriting of ONNX models (ModelProto) on the classes generated from the spec's <c>onnx.proto</c>
    /// (namespace <c>MLNetRank.Onnx.Spec</c>; fields the spec file does not know are kept through parse and write): reads the graph's input/output signature, and adapts a graph to the ML.NET columns it will read
    /// (renamed inputs and outputs, inputs cast from the column's element type), so that the ML.NET chain is
    /// a single <c>OnnxTransformer</c>.
    /// </summary>
    internal static class OnnxModelProto
    {
        /// <summary>Parses an ONNX model; garbage or an empty array is an <see cref="System.IO.InvalidDataException"/>.</summary>
        public static Spec.ModelProto Parse(byte[] model)
        {
            if (model is null || model.Length == 0)
                throw new System.IO.InvalidDataException("The ONNX model is empty.");
            try
            {
                return Spec.ModelProto.Parser.ParseFrom(model);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new System.IO.InvalidDataException("The bytes are not a valid protobuf message (ONNX model): " + e.Message, e);
            }
        }

        /// <summary>The graph inputs (initializers excluded) and outputs of an ONNX model.</summary>
        public static (OnnxTensorSpec[] Inputs, OnnxTensorSpec[] Outputs) ReadSignature(byte[] model)
        {
            var graph = Parse(model).Graph ?? throw new System.IO.InvalidDataException("The bytes are not an ONNX model: no graph found.");
            var initializers = new HashSet<string>(graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);
            var inputs = graph.Input.Select(ParseValueInfo).Where(s => !initializers.Contains(s.Name)).ToArray();
            var outputs = graph.Output.Select(ParseValueInfo).ToArray();
            return (inputs, outputs);
        }

        /// <summary>
        /// Rewrites <paramref name="model"/> so that graph input <c>g</c> is read from column <c>inputColumns[g]</c> with
        /// element type <c>inputTypes[g]</c> (a <c>Cast</c> node converts it to the graph's type), and graph output <c>o</c> is
        /// exposed as <c>outputColumns[o]</c> (an <c>Identity</c> node). Entries that change nothing may be omitted.
        /// </summary>
        public static byte[] Adapt(byte[] model, IReadOnlyDictionary<string, string> inputColumns,
            IReadOnlyDictionary<string, TensorElementType> inputTypes, IReadOnlyDictionary<string, string> outputColumns)
        {
            var m = Parse(model);
            var graph = m.Graph ?? throw new System.IO.InvalidDataException("The ONNX model has no graph.");

            // Every tensor name of the graph, to keep new names unique.
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var node in graph.Node)
            {
                names.UnionWith(node.Input);
                names.UnionWith(node.Output);
            }
            foreach (var t in graph.Initializer)
                names.Add(t.Name);
            foreach (var v in graph.Input.Concat(graph.Output))
                names.Add(ParseValueInfo(v).Name);
            string Fresh(string prefix)
            {
                for (int k = 0; ; k++)
                {
                    string n = $"{prefix}__mlnetrank{k}";
                    if (names.Add(n))
                        return n;
                }
            }

            var prepend = new List<Spec.NodeProto>();
            var append = new List<Spec.NodeProto>();
            var renameInNodes = new Dictionary<string, string>(StringComparer.Ordinal);
            var graphOutputNames = new HashSet<string>(graph.Output.Select(v => ParseValueInfo(v).Name), StringComparer.Ordinal);

            // How each graph input is fed (so node inputs can be renamed wherever nodes appear).
            foreach (var input in graph.Input)
            {
                var spec = ParseValueInfo(input);
                string column = inputColumns.TryGetValue(spec.Name, out var c) ? c : spec.Name;
                var type = inputTypes.TryGetValue(spec.Name, out var t) ? t : spec.ElementType;
                if (column == spec.Name && type == spec.ElementType)
                    continue;
                if (column != spec.Name && names.Contains(column))
                    throw new InvalidOperationException(
                        $"Cannot read ONNX input '{spec.Name}' from column '{column}': the graph already has a tensor named '{column}'.");
                names.Add(column);
                string target = spec.Name;
                if (column == spec.Name)
                {
                    // Same name, new type: the graph's own uses of the name move to the cast's output.
                    if (graphOutputNames.Contains(spec.Name))
                        throw new NotSupportedException($"ONNX input '{spec.Name}' is also a graph output; it cannot be cast in place.");
                    target = Fresh(spec.Name);
                    renameInNodes[spec.Name] = target;
                }
                input.Name = column;
                if (input.Type?.TensorType is { } tensorType)
                    tensorType.ElemType = (int)type;
                prepend.Add(type == spec.ElementType
                    ? Node("Identity", new[] { column }, new[] { target }, Fresh("Identity"))
                    : Node("Cast", new[] { column }, new[] { target }, Fresh("Cast"), OnnxAttribute.Int("to", (long)spec.ElementType)));
            }

            foreach (var output in graph.Output)
            {
                var spec = ParseValueInfo(output);
                if (!outputColumns.TryGetValue(spec.Name, out var column) || column == spec.Name)
                    continue;
                if (names.Contains(column))
                    throw new InvalidOperationException(
                        $"Cannot expose ONNX output '{spec.Name}' as column '{column}': the graph already has a tensor named '{column}'.");
                names.Add(column);
                output.Name = column;
                append.Add(Node("Identity", new[] { spec.Name }, new[] { column }, Fresh("Identity")));
            }

            if (renameInNodes.Count > 0)
                foreach (var node in graph.Node)
                    for (int i = 0; i < node.Input.Count; i++)
                        if (renameInNodes.TryGetValue(node.Input[i], out var renamed))
                            node.Input[i] = renamed;

            var nodes = graph.Node.ToList();
            graph.Node.Clear();
            graph.Node.AddRange(prepend);
            graph.Node.AddRange(nodes);
            graph.Node.AddRange(append);
            return m.ToByteArray();
        }

        internal static OnnxTensorSpec ParseValueInfo(Spec.ValueInfoProto valueInfo)
        {
            var type = TensorElementType.DataTypeMax;
            var dims = new List<long>();
            // not a tensor (sequence, map, ...): element type stays undefined
            if (valueInfo.Type?.TensorType is { } tensor)
            {
                if (tensor.HasElemType)
                    type = (TensorElementType)tensor.ElemType;
                if (tensor.Shape is { } shape)
                    foreach (var dim in shape.Dim)
                        dims.Add(dim.ValueCase == Spec.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? dim.DimValue : -1);
            }
            if (string.IsNullOrEmpty(valueInfo.Name))
                throw new System.IO.InvalidDataException("An ONNX graph input or output has no name.");
            return new OnnxTensorSpec(valueInfo.Name, type, dims);
        }

        internal static Spec.ValueInfoProto ValueInfo(OnnxTensorSpec spec)
        {
            var shape = new Spec.TensorShapeProto();
            foreach (long d in spec.Dims)
            {
                var dim = new Spec.TensorShapeProto.Types.Dimension();
                if (d == -1)
                    dim.DimParam = OnnxGraphBuilder.BatchDimension;
                else if (d < -1)
                    dim.DimParam = "d" + (-d).ToString(System.Globalization.CultureInfo.InvariantCulture);
                else
                    dim.DimValue = d;
                shape.Dim.Add(dim);
            }
            return new Spec.ValueInfoProto
            {
                Name = spec.Name,
                Type = new Spec.TypeProto { TensorType = new Spec.TypeProto.Types.Tensor { ElemType = (int)spec.ElementType, Shape = shape } },
            };
        }

        internal static Spec.NodeProto Node(string opType, string[] inputs, string[] outputs, string name, params OnnxAttribute[] attributes)
        {
            var node = new Spec.NodeProto { Name = name, OpType = opType };
            node.Input.Add(inputs);
            node.Output.Add(outputs);
            node.Attribute.Add(attributes.Select(a => a.ToProto()));
            return node;
        }
    }
}
