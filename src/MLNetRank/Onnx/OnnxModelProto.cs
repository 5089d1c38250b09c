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
                .Select(f => ProtoReader.Fields(f.Bytes!).FirstOrDefault(t => t.Number == OnnxFields.TensorName).AsString()), StringComparer.Ordinal);
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
                        if (nf.Number is OnnxFields.NodeInput or OnnxFields.NodeOutput)
                            names.Add(nf.AsString());
                if (f.Number == GraphInitializer)
                    names.Add(ProtoReader.Fields(f.Bytes!).FirstOrDefault(t => t.Number == OnnxFields.TensorName).AsString());
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
                if (f.Number == OnnxFields.NodeInput && renames.TryGetValue(f.AsString(), out var renamed))
                    w.WriteString(OnnxFields.NodeInput, renamed);
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
                if (f.Number == OnnxFields.ValueInfoName)
                    w.WriteString(OnnxFields.ValueInfoName, name);
                else if (f.Number == OnnxFields.ValueInfoType && elementType.HasValue)
                {
                    var type = new ProtoWriter();
                    foreach (var tf in ProtoReader.Fields(f.Bytes!))
                    {
                        if (tf.Number != OnnxFields.TypeTensor)
                        {
                            tf.WriteTo(type);
                            continue;
                        }
                        var tensor = new ProtoWriter();
                        foreach (var tt in ProtoReader.Fields(tf.Bytes!))
                        {
                            if (tt.Number == OnnxFields.TensorTypeElementType)
                                tensor.WriteInt32(OnnxFields.TensorTypeElementType, (int)elementType.Value);
                            else
                                tt.WriteTo(tensor);
                        }
                        type.WriteMessage(OnnxFields.TypeTensor, tensor);
                    }
                    w.WriteMessage(OnnxFields.ValueInfoType, type);
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
                if (f.Number == OnnxFields.ValueInfoName)
                    name = f.AsString();
                else if (f.Number == OnnxFields.ValueInfoType)
                {
                    foreach (var tf in ProtoReader.Fields(f.Bytes!))
                    {
                        if (tf.Number != OnnxFields.TypeTensor)
                            continue; // not a tensor (sequence, map, ...): element type stays undefined
                        foreach (var tt in ProtoReader.Fields(tf.Bytes!))
                        {
                            if (tt.Number == OnnxFields.TensorTypeElementType)
                                type = (TensorElementType)(int)tt.Scalar;
                            else if (tt.Number == OnnxFields.TensorTypeShape)
                                foreach (var dim in ProtoReader.Fields(tt.Bytes!).Where(d => d.Number == OnnxFields.ShapeDim))
                                {
                                    var value = ProtoReader.Fields(dim.Bytes!).FirstOrDefault(d => d.Number == OnnxFields.DimValue);
                                    dims.Add(value.Number == OnnxFields.DimValue ? (long)value.Scalar : -1);
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
                    dim.WriteString(OnnxFields.DimParam, OnnxGraphBuilder.BatchDimension);
                else if (d < -1)
                    dim.WriteString(OnnxFields.DimParam, "d" + (-d).ToString(System.Globalization.CultureInfo.InvariantCulture));
                else
                    dim.WriteInt64(OnnxFields.DimValue, d);
                shape.WriteMessage(OnnxFields.ShapeDim, dim);
            }
            var tensor = new ProtoWriter();
            tensor.WriteInt32(OnnxFields.TensorTypeElementType, (int)spec.ElementType);
            tensor.WriteMessage(OnnxFields.TensorTypeShape, shape);
            var type = new ProtoWriter();
            type.WriteMessage(OnnxFields.TypeTensor, tensor);
            var info = new ProtoWriter();
            info.WriteString(OnnxFields.ValueInfoName, spec.Name);
            info.WriteMessage(OnnxFields.ValueInfoType, type);
            return info;
        }

        internal static ProtoWriter Node(string opType, string[] inputs, string[] outputs, string name, params OnnxAttribute[] attributes)
        {
            var w = new ProtoWriter();
            foreach (var i in inputs)
                w.WriteString(OnnxFields.NodeInput, i);
            foreach (var o in outputs)
                w.WriteString(OnnxFields.NodeOutput, o);
            w.WriteString(OnnxFields.NodeName, name);
            w.WriteString(OnnxFields.NodeOpType, opType);
            foreach (var a in attributes)
                w.WriteMessage(OnnxFields.NodeAttribute, a.ToProto());
            return w;
        }
    }
}
