using System;
using System.Collections.Generic;
using System.Linq;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Wire-level inspection and rewriting of ONNX models (ModelProto), without generated protobuf classes:
    /// reads the graph's input/output signature, and adapts a graph to the ML.NET columns it will read
    /// (renamed inputs and outputs, inputs cast from the column's element type), so that the ML.NET chain is
    /// a single <c>OnnxTransformer</c>.
    /// </summary>
    internal static class OnnxModelProto
    {
        private const int ModelGraph = OnnxFields.ModelGraph, GraphNode = OnnxFields.GraphNode, GraphInitializer = OnnxFields.GraphInitializer,
            GraphInput = OnnxFields.GraphInput, GraphOutput = OnnxFields.GraphOutput;

        /// <summary>The graph inputs (initializers excluded) and outputs of an ONNX model.</summary>
        public static (OnnxTensorSpec[] Inputs, OnnxTensorSpec[] Outputs) ReadSignature(byte[] model)
        {
            var graph = GraphFields(model, out _);
            var initializers = new HashSet<string>(graph.Where(f => f.Number == GraphInitializer)
                .Select(f => ProtoReader.Fields(f.Bytes!).FirstOrDefault(t => t.Number == 8).AsString()), StringComparer.Ordinal);
            var inputs = graph.Where(f => f.Number == GraphInput).Select(f => ParseValueInfo(f.Bytes!))
                .Where(s => !initializers.Contains(s.Name)).ToArray();
            var outputs = graph.Where(f => f.Number == GraphOutput).Select(f => ParseValueInfo(f.Bytes!)).ToArray();
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
            var modelFields = ProtoReader.Fields(model);
            int graphIndex = modelFields.FindIndex(f => f.Number == ModelGraph);
            if (graphIndex < 0)
                throw new System.IO.InvalidDataException("The ONNX model has no graph.");
            var graph = ProtoReader.Fields(modelFields[graphIndex].Bytes!);

            // Every tensor name of the graph, to keep new names unique.
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in graph)
            {
                if (f.Number == GraphNode)
                    foreach (var nf in ProtoReader.Fields(f.Bytes!))
                        if (nf.Number is 1 or 2)
                            names.Add(nf.AsString());
                if (f.Number == GraphInitializer)
                    names.Add(ProtoReader.Fields(f.Bytes!).FirstOrDefault(t => t.Number == 8).AsString());
                if (f.Number is GraphInput or GraphOutput)
                    names.Add(ParseValueInfo(f.Bytes!).Name);
            }
            string Fresh(string prefix)
            {
                for (int k = 0; ; k++)
                {
                    string n = $"{prefix}__mlnetrank{k}";
                    if (names.Add(n))
                        return n;
                }
            }

            var prepend = new List<ProtoWriter>();
            var append = new List<ProtoWriter>();
            var renameInNodes = new Dictionary<string, string>(StringComparer.Ordinal);
            var newGraph = new List<Action<ProtoWriter>>();
            var graphOutputNames = new HashSet<string>(graph.Where(f => f.Number == GraphOutput).Select(f => ParseValueInfo(f.Bytes!).Name), StringComparer.Ordinal);

            // First pass: decide how each graph input is fed (so node inputs can be renamed wherever nodes appear).
            var inputReplacements = new Dictionary<int, ProtoWriter>();
            for (int fi = 0; fi < graph.Count; fi++)
            {
                var f = graph[fi];
                if (f.Number != GraphInput)
                    continue;
                var spec = ParseValueInfo(f.Bytes!);
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
                inputReplacements[fi] = RewriteValueInfo(f.Bytes!, column, type);
                prepend.Add(type == spec.ElementType
                    ? Node("Identity", new[] { column }, new[] { target }, Fresh("Identity"))
                    : Node("Cast", new[] { column }, new[] { target }, Fresh("Cast"), OnnxAttribute.Int("to", (long)spec.ElementType)));
            }

            for (int fi = 0; fi < graph.Count; fi++)
            {
                var f = graph[fi];
                if (f.Number == GraphInput)
                {
                    if (inputReplacements.TryGetValue(fi, out var replacement))
                        newGraph.Add(w => w.WriteMessage(GraphInput, replacement));
                    else
                        newGraph.Add(w => f.WriteTo(w));
                }
                else if (f.Number == GraphOutput)
                {
                    var spec = ParseValueInfo(f.Bytes!);
                    if (!outputColumns.TryGetValue(spec.Name, out var column) || column == spec.Name)
                    {
                        newGraph.Add(w => f.WriteTo(w));
                        continue;
                    }
                    if (names.Contains(column))
                        throw new InvalidOperationException(
                            $"Cannot expose ONNX output '{spec.Name}' as column '{column}': the graph already has a tensor named '{column}'.");
                    names.Add(column);
                    var originalOut = f.Bytes!;
                    newGraph.Add(w => w.WriteMessage(GraphOutput, RewriteValueInfo(originalOut, column, null)));
                    append.Add(Node("Identity", new[] { spec.Name }, new[] { column }, Fresh("Identity")));
                }
                else if (f.Number == GraphNode && renameInNodes.Count > 0)
                {
                    newGraph.Add(w => w.WriteMessage(GraphNode, RenameNodeInputs(f.Bytes!, renameInNodes)));
                }
                else
                {
                    newGraph.Add(w => f.WriteTo(w));
                }
            }

            var g = new ProtoWriter();
            foreach (var n in prepend)
                g.WriteMessage(GraphNode, n);
            foreach (var write in newGraph)
                write(g);
            foreach (var n in append)
                g.WriteMessage(GraphNode, n);

            var m = new ProtoWriter();
            for (int i = 0; i < modelFields.Count; i++)
            {
                if (i == graphIndex)
                    m.WriteMessage(ModelGraph, g);
                else
                    modelFields[i].WriteTo(m);
            }
            return m.ToArray();
        }

        private static List<ProtoField> GraphFields(byte[] model, out List<ProtoField> modelFields)
        {
            if (model is null || model.Length == 0)
                throw new System.IO.InvalidDataException("The ONNX model is empty.");
            modelFields = ProtoReader.Fields(model);
            var graph = modelFields.FirstOrDefault(f => f.Number == ModelGraph && f.WireType == WireFormat.WireType.LengthDelimited);
            if (graph.Bytes is null)
                throw new System.IO.InvalidDataException("The bytes are not an ONNX model: no graph found.");
            return ProtoReader.Fields(graph.Bytes);
        }

        private static ProtoWriter RenameNodeInputs(ByteString node, IReadOnlyDictionary<string, string> renames)
        {
            var w = new ProtoWriter();
            foreach (var f in ProtoReader.Fields(node))
            {
                if (f.Number == 1 && renames.TryGetValue(f.AsString(), out var renamed))
                    w.WriteString(1, renamed);
                else
                    f.WriteTo(w);
            }
            return w;
        }

        /// <summary>A copy of a ValueInfoProto with a new name and, optionally, a new tensor element type (shape kept as is, symbolic names included).</summary>
        private static ProtoWriter RewriteValueInfo(ByteString valueInfo, string name, TensorElementType? elementType)
        {
            var w = new ProtoWriter();
            foreach (var f in ProtoReader.Fields(valueInfo))
            {
                if (f.Number == 1)
                    w.WriteString(1, name);
                else if (f.Number == 2 && elementType.HasValue)
                {
                    var type = new ProtoWriter();
                    foreach (var tf in ProtoReader.Fields(f.Bytes!))
                    {
                        if (tf.Number != 1)
                        {
                            tf.WriteTo(type);
                            continue;
                        }
                        var tensor = new ProtoWriter();
                        foreach (var tt in ProtoReader.Fields(tf.Bytes!))
                        {
                            if (tt.Number == 1)
                                tensor.WriteInt32(1, (int)elementType.Value);
                            else
                                tt.WriteTo(tensor);
                        }
                        type.WriteMessage(1, tensor);
                    }
                    w.WriteMessage(2, type);
                }
                else
                    f.WriteTo(w);
            }
            return w;
        }

        internal static OnnxTensorSpec ParseValueInfo(ByteString valueInfo)
        {
            string name = "";
            var type = TensorElementType.DataTypeMax;
            var dims = new List<long>();
            foreach (var f in ProtoReader.Fields(valueInfo))
            {
                if (f.Number == 1)
                    name = f.AsString();
                else if (f.Number == 2)
                {
                    foreach (var tf in ProtoReader.Fields(f.Bytes!))
                    {
                        if (tf.Number != 1)
                            continue; // not a tensor (sequence, map, ...): element type stays undefined
                        foreach (var tt in ProtoReader.Fields(tf.Bytes!))
                        {
                            if (tt.Number == 1)
                                type = (TensorElementType)(int)tt.Scalar;
                            else if (tt.Number == 2)
                                foreach (var dim in ProtoReader.Fields(tt.Bytes!).Where(d => d.Number == 1))
                                {
                                    var value = ProtoReader.Fields(dim.Bytes!).FirstOrDefault(d => d.Number == 1);
                                    dims.Add(value.Number == 1 ? (long)value.Scalar : -1);
                                }
                        }
                    }
                }
            }
            if (name.Length == 0)
                throw new System.IO.InvalidDataException("An ONNX graph input or output has no name.");
            return new OnnxTensorSpec(name, type, dims);
        }

        internal static ProtoWriter ValueInfo(OnnxTensorSpec spec)
        {
            var shape = new ProtoWriter();
            foreach (long d in spec.Dims)
            {
                var dim = new ProtoWriter();
                if (d == -1)
                    dim.WriteString(2, OnnxGraphBuilder.BatchDimension);
                else if (d < -1)
                    dim.WriteString(2, "d" + (-d).ToString(System.Globalization.CultureInfo.InvariantCulture));
                else
                    dim.WriteInt64(1, d);
                shape.WriteMessage(1, dim);
            }
            var tensor = new ProtoWriter();
            tensor.WriteInt32(1, (int)spec.ElementType);
            tensor.WriteMessage(2, shape);
            var type = new ProtoWriter();
            type.WriteMessage(1, tensor);
            var info = new ProtoWriter();
            info.WriteString(1, spec.Name);
            info.WriteMessage(2, type);
            return info;
        }

        internal static ProtoWriter Node(string opType, string[] inputs, string[] outputs, string name, params OnnxAttribute[] attributes)
        {
            var w = new ProtoWriter();
            foreach (var i in inputs)
                w.WriteString(1, i);
            foreach (var o in outputs)
                w.WriteString(2, o);
            w.WriteString(3, name);
            w.WriteString(4, opType);
            foreach (var a in attributes)
                w.WriteMessage(5, a.ToProto());
            return w;
        }
    }
}
