using System;
using Google.Protobuf;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Writes an ONNX model (a <c>ModelProto</c>, opset <see cref="OpsetVersion"/>, IR version <see cref="IrVersion"/>)
    /// from C#: graph inputs with a symbolic batch dimension, float/int64 initializers, nodes with attributes,
    /// and outputs. The bytes load in ONNX Runtime and in ML.NET's <c>OnnxTransformer</c>.
    /// </summary>
    /// <remarks>
    /// <para>The protobuf messages are the classes generated from the ONNX spec's <c>onnx.proto</c>
    /// (<c>Onnx/onnx.proto</c>, protoc of Grpc.Tools at build time; docs/architecture.md has the measurements).
    /// Tensor values go into <c>raw_data</c> (little-endian).</para>
    /// <para>Nodes must be added in topological order (every input defined before it is used); <see cref="ToBytes"/>
    /// checks this and every other reference, and names the offending tensor in its error.</para>
    /// <para>A dimension of <c>-1</c> in <see cref="AddInput(string, TensorElementType, long[])"/> or
    /// <see cref="AddOutput(string, TensorElementType, long[])"/> is written as the symbolic dimension
    /// <see cref="BatchDimension"/>; ONNX Runtime then accepts any batch size, and ML.NET treats it as one row. A
    /// dimension <c>-k</c> with <c>k &gt;= 2</c> is another symbolic dimension, written <c>dk</c>: equal <c>k</c> mean
    /// equal sizes, distinct <c>k</c> independent ones (e.g. the lengths of two variable-length sequence inputs).</para>
    /// <para>The convenience methods (<see cref="Gemm"/>, <see cref="Dense"/>, <see cref="Relu"/>, <see cref="ReduceSum"/>, ...)
    /// add one node (plus the constant inputs that opset 17 requires, e.g. the <c>axes</c> input of
    /// <c>ReduceSum</c>, <c>Squeeze</c> and <c>Unsqueeze</c>) and return the name of its output.</para>
    /// </remarks>
    internal sealed class OnnxGraphBuilder
    {
        /// <summary>The default-domain opset the graph is written for.</summary>
        public const int OpsetVersion = 17;

        /// <summary>The ONNX IR version written (8 is the IR version of opset 17).</summary>
        public const long IrVersion = 8;

        /// <summary>The symbolic name written for a <c>-1</c> (batch) dimension.</summary>
        public const string BatchDimension = "N";

        private sealed class ValueInfo
        {
            public ValueInfo(string name, TensorElementType type, long[]? dims)
            {
                Name = name;
                ElementType = type;
                Dims = dims;
            }

            public string Name { get; }
            public TensorElementType ElementType { get; }
            public long[]? Dims { get; }
        }

        private sealed class Node
        {
            public Node(string opType, string name, string[] inputs, string[] outputs, OnnxAttribute[] attributes, string domain = "")
            {
                Domain = domain;
                OpType = opType;
                Name = name;
                Inputs = inputs;
                Outputs = outputs;
                Attributes = attributes;
            }

            public string Domain { get; }
            public string OpType { get; }
            public string Name { get; }
            public string[] Inputs { get; }
            public string[] Outputs { get; }
            public OnnxAttribute[] Attributes { get; }
        }

        private readonly List<ValueInfo> _inputs = new List<ValueInfo>();
        private readonly List<ValueInfo> _outputs = new List<ValueInfo>();
        private readonly List<OnnxTensorData> _initializers = new List<OnnxTensorData>();
        private readonly List<Node> _nodes = new List<Node>();
        private readonly List<KeyValuePair<string, string>> _metadata = new List<KeyValuePair<string, string>>();
        private readonly HashSet<string> _defined = new HashSet<string>(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _opsets = new Dictionary<string, long>(StringComparer.Ordinal);
        private readonly Dictionary<string, int> _counters = new Dictionary<string, int>(StringComparer.Ordinal);

        /// <summary>Creates an empty graph.</summary>
        /// <param name="graphName">The graph name written into the model.</param>
        public OnnxGraphBuilder(string graphName = "MLNetRank")
        {
            GraphName = string.IsNullOrWhiteSpace(graphName) ? "MLNetRank" : graphName;
        }

        /// <summary>The graph name.</summary>
        public string GraphName { get; }

        /// <summary>The producer name written into the model (default <c>MLNetRank</c>).</summary>
        public string ProducerName { get; set; } = "MLNetRank";

        /// <summary>A free-text description written as the model's <c>doc_string</c>.</summary>
        public string DocString { get; set; } = "";

        /// <summary>The graph input names, in order.</summary>
        public IReadOnlyList<string> InputNames => _inputs.Select(i => i.Name).ToArray();

        /// <summary>The graph output names, in order.</summary>
        public IReadOnlyList<string> OutputNames => _outputs.Select(o => o.Name).ToArray();

        /// <summary>The number of nodes added so far.</summary>
        public int NodeCount => _nodes.Count;

        /// <summary>True when <paramref name="name"/> is already a graph input, an initializer or a node output.</summary>
        /// <param name="name">A tensor name.</param>
        public bool IsDefined(string name) => _defined.Contains(name);

        /// <summary>A tensor name not used yet in this graph, made from <paramref name="prefix"/> (e.g. <c>Relu_3</c>).</summary>
        /// <param name="prefix">The name's prefix.</param>
        public string UniqueName(string prefix)
        {
            if (string.IsNullOrWhiteSpace(prefix))
                prefix = "t";
            _counters.TryGetValue(prefix, out int k);
            string name;
            do
            {
                name = $"{prefix}_{k++}";
            }
            while (_defined.Contains(name) || _outputs.Any(o => o.Name == name));
            _counters[prefix] = k;
            return name;
        }

        /// <summary>Adds a float graph input; a dimension of <c>-1</c> is the symbolic batch dimension.</summary>
        /// <param name="name">Input name (becomes the ML.NET column name an <c>OnnxTransformer</c> reads).</param>
        /// <param name="dims">The shape, e.g. <c>[-1, 100]</c>.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddInput(string name, long[] dims) => AddInput(name, TensorElementType.Float, dims);

        /// <summary>Adds a graph input of <paramref name="elementType"/>; a dimension of <c>-1</c> is the symbolic batch dimension.</summary>
        /// <param name="name">Input name (becomes the ML.NET column name an <c>OnnxTransformer</c> reads).</param>
        /// <param name="elementType">Element type, e.g. <see cref="TensorElementType.Float"/> or <see cref="TensorElementType.Int64"/>.</param>
        /// <param name="dims">The shape, e.g. <c>[-1, 100]</c> or <c>[-1, 1]</c>.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddInput(string name, TensorElementType elementType, long[] dims)
        {
            Define(name, "input");
            _inputs.Add(new ValueInfo(name, CheckType(elementType, name), CheckDims(dims, name)));
            return name;
        }

        /// <summary>Adds a float initializer (a constant tensor, e.g. a weight matrix).</summary>
        /// <param name="name">Tensor name.</param>
        /// <param name="data">Row-major values, as many as the product of <paramref name="dims"/>.</param>
        /// <param name="dims">Shape (all dimensions known); empty for a scalar.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddInitializer(string name, float[] data, long[] dims)
        {
            var t = OnnxTensorData.Create(name, data, dims);
            Define(name, "initializer");
            _initializers.Add(t);
            return name;
        }

        /// <summary>Adds an int64 initializer (e.g. a shape or an <c>axes</c> list).</summary>
        /// <param name="name">Tensor name.</param>
        /// <param name="data">Row-major values, as many as the product of <paramref name="dims"/>.</param>
        /// <param name="dims">Shape (all dimensions known); empty for a scalar.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddInitializer(string name, long[] data, long[] dims)
        {
            var t = OnnxTensorData.Create(name, data, dims);
            Define(name, "initializer");
            _initializers.Add(t);
            return name;
        }

        /// <summary>Adds an int32 initializer.</summary>
        /// <param name="name">Tensor name.</param>
        /// <param name="data">Row-major values, as many as the product of <paramref name="dims"/>.</param>
        /// <param name="dims">Shape (all dimensions known); empty for a scalar.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddInitializer(string name, int[] data, long[] dims)
        {
            var t = OnnxTensorData.Create(name, data, dims);
            Define(name, "initializer");
            _initializers.Add(t);
            return name;
        }

        /// <summary>Adds a float constant under a fresh name (<c>prefix_k</c>) and returns that name.</summary>
        /// <param name="data">Values.</param>
        /// <param name="dims">Shape; empty for a scalar.</param>
        /// <param name="prefix">Name prefix.</param>
        public string AddConstant(float[] data, long[] dims, string prefix = "const") => AddInitializer(UniqueName(prefix), data, dims);

        /// <summary>Adds an int64 constant under a fresh name (<c>prefix_k</c>) and returns that name.</summary>
        /// <param name="data">Values.</param>
        /// <param name="dims">Shape; empty for a scalar.</param>
        /// <param name="prefix">Name prefix.</param>
        public string AddConstant(long[] data, long[] dims, string prefix = "const") => AddInitializer(UniqueName(prefix), data, dims);

        /// <summary>
        /// Adds a node of the default ONNX domain. Inputs must already be defined (an empty string marks an omitted
        /// optional input); outputs must be new names.
        /// </summary>
        /// <param name="opType">The operator, e.g. <c>Gemm</c>.</param>
        /// <param name="inputs">Input tensor names.</param>
        /// <param name="outputs">Output tensor names (at least one).</param>
        /// <param name="attributes">Attributes.</param>
        /// <returns>The first output name.</returns>
        public string AddNode(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
            => AddNodeCore("", opType, inputs, outputs, attributes);

        /// <summary>
        /// Imports operator set <paramref name="domain"/> at <paramref name="version"/> (e.g. <c>ai.onnx.ml</c>, 3) so that
        /// <see cref="AddNodeInDomain"/> can use its operators. The default domain is always imported at <see cref="OpsetVersion"/>.
        /// </summary>
        /// <param name="domain">The operator set domain.</param>
        /// <param name="version">Its version.</param>
        public void ImportOpset(string domain, long version)
        {
            if (string.IsNullOrEmpty(domain) || domain == "ai.onnx")
                throw new ArgumentException($"The default domain is imported at opset {OpsetVersion}; name another domain, e.g. ai.onnx.ml.", nameof(domain));
            if (version <= 0)
                throw new ArgumentOutOfRangeException(nameof(version), $"Opset version must be positive; got {version}.");
            _opsets[domain] = version;
        }

        /// <summary>Adds a node of operator set <paramref name="domain"/> (imported with <see cref="ImportOpset"/>), e.g. <c>ai.onnx.ml</c>'s <c>LabelEncoder</c>.</summary>
        /// <param name="domain">The operator's domain.</param>
        /// <param name="opType">The operator.</param>
        /// <param name="inputs">Input tensor names.</param>
        /// <param name="outputs">Output tensor names (at least one).</param>
        /// <param name="attributes">Attributes.</param>
        /// <returns>The first output name.</returns>
        public string AddNodeInDomain(string domain, string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes)
        {
            if (string.IsNullOrEmpty(domain) || !_opsets.ContainsKey(domain))
                throw new InvalidOperationException($"Operator set '{domain}' is not imported: call ImportOpset(\"{domain}\", version) first.");
            return AddNodeCore(domain, opType, inputs, outputs, attributes);
        }

        private string AddNodeCore(string domain, string opType, string[] inputs, string[] outputs, OnnxAttribute[] attributes)
        {
            if (string.IsNullOrWhiteSpace(opType))
                throw new ArgumentException("A node needs an operator type.", nameof(opType));
            if (inputs is null)
                throw new ArgumentNullException(nameof(inputs));
            if (outputs is null || outputs.Length == 0)
                throw new ArgumentException($"A {opType} node needs at least one output.", nameof(outputs));
            attributes ??= Array.Empty<OnnxAttribute>();
            string nodeName = UniqueNodeName(opType);
            foreach (var input in inputs)
            {
                if (input is null)
                    throw new ArgumentNullException(nameof(inputs), $"Node {nodeName} ({opType}) has a null input name; use \"\" for an omitted optional input.");
                if (input.Length > 0 && !_defined.Contains(input))
                    throw new InvalidOperationException(
                        $"Node {nodeName} ({opType}) reads '{input}', which is not defined yet: add the graph input, initializer or producing node first.");
            }
            var dup = attributes.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1);
            if (dup != null)
                throw new ArgumentException($"Node {nodeName} ({opType}) has attribute '{dup.Key}' twice.", nameof(attributes));
            foreach (var output in outputs)
                Define(output, $"output of node {nodeName} ({opType})");
            _nodes.Add(new Node(opType, nodeName, inputs.ToArray(), outputs.ToArray(), attributes.ToArray(), domain));
            return outputs[0];
        }

        /// <summary>Declares a float graph output; a dimension of <c>-1</c> is the symbolic batch dimension.</summary>
        /// <param name="name">A tensor defined in the graph (becomes the ML.NET output column name).</param>
        /// <param name="dims">The shape, e.g. <c>[-1, 1]</c>.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddOutput(string name, long[] dims) => AddOutput(name, TensorElementType.Float, dims);

        /// <summary>Declares a graph output of <paramref name="elementType"/>; a dimension of <c>-1</c> is the symbolic batch dimension.</summary>
        /// <param name="name">A tensor defined in the graph (a node output, input or initializer).</param>
        /// <param name="elementType">Element type.</param>
        /// <param name="dims">The shape, e.g. <c>[-1, 1]</c>.</param>
        /// <returns><paramref name="name"/>.</returns>
        public string AddOutput(string name, TensorElementType elementType, long[] dims)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("An ONNX output needs a name.", nameof(name));
            if (!_defined.Contains(name))
                throw new InvalidOperationException($"Output '{name}' is not produced by any node, input or initializer of the graph.");
            if (_outputs.Any(o => o.Name == name))
                throw new InvalidOperationException($"Output '{name}' is declared twice.");
            _outputs.Add(new ValueInfo(name, CheckType(elementType, name), CheckDims(dims, name)));
            return name;
        }

        /// <summary>Blocks that the request scorer can evaluate natively, recorded by the exporters while they write the graph
        /// (the caller writes them into the metadata).</summary>
        public List<MLNetRank.Serving.Native.NativeTransformerSpec> NativeTransformers { get; } = new List<MLNetRank.Serving.Native.NativeTransformerSpec>();

        /// <summary>Adds a key/value pair to the model's <c>metadata_props</c>.</summary>
        /// <param name="key">Key.</param>
        /// <param name="value">Value.</param>
        public void AddMetadata(string key, string value)
        {
            if (string.IsNullOrEmpty(key))
                throw new ArgumentException("Metadata needs a key.", nameof(key));
            _metadata.Add(new KeyValuePair<string, string>(key, value ?? ""));
        }

        /// <summary>Serializes the model (<c>ModelProto</c>) to bytes.</summary>
        /// <exception cref="InvalidOperationException">The graph has no output.</exception>
        public byte[] ToBytes()
        {
            if (_outputs.Count == 0)
                throw new InvalidOperationException("The ONNX graph has no output: call AddOutput for the tensors to return.");

            var graph = new Spec.GraphProto { Name = GraphName };
            foreach (var node in _nodes)
                graph.Node.Add(NodeProto(node));
            foreach (var init in _initializers)
                graph.Initializer.Add(init.ToProto());
            foreach (var input in _inputs)
                graph.Input.Add(ValueInfoProto(input));
            foreach (var output in _outputs)
                graph.Output.Add(ValueInfoProto(output));

            var model = new Spec.ModelProto
            {
                IrVersion = IrVersion,
                ProducerName = ProducerName ?? "",
                ProducerVersion = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0",
                Graph = graph,
            };
            if (!string.IsNullOrEmpty(DocString))
                model.DocString = DocString;
            model.OpsetImport.Add(new Spec.OperatorSetIdProto { Domain = "", Version = OpsetVersion });
            foreach (var kv in _opsets)
                model.OpsetImport.Add(new Spec.OperatorSetIdProto { Domain = kv.Key, Version = kv.Value });
            foreach (var kv in _metadata)
                model.MetadataProps.Add(new Spec.StringStringEntryProto { Key = kv.Key, Value = kv.Value });
            return model.ToByteArray();
        }

        /// <summary>Writes <see cref="ToBytes"/> to <paramref name="path"/>.</summary>
        /// <param name="path">File path (overwritten).</param>
        public void Save(string path)
        {
            if (string.IsNullOrEmpty(path))
                throw new ArgumentException("A file path is needed.", nameof(path));
            File.WriteAllBytes(path, ToBytes());
        }

        // ---------------------------------------------------------------- convenience operators

        /// <summary><c>Gemm</c>: <c>alpha * A' * B' + beta * C</c> for 2-D <paramref name="a"/>, <paramref name="b"/>.</summary>
        /// <param name="a">A, shape [M, K] (or [K, M] when <paramref name="transA"/>).</param>
        /// <param name="b">B, shape [K, N] (or [N, K] when <paramref name="transB"/>).</param>
        /// <param name="c">Optional C, broadcastable to [M, N]; null for none.</param>
        /// <param name="alpha">Scale of the product.</param>
        /// <param name="beta">Scale of C.</param>
        /// <param name="transA">Transpose A.</param>
        /// <param name="transB">Transpose B.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        /// <returns>The output name.</returns>
        public string Gemm(string a, string b, string? c = null, float alpha = 1f, float beta = 1f, bool transA = false, bool transB = false, string? output = null)
        {
            var attrs = new List<OnnxAttribute>();
            if (alpha != 1f)
                attrs.Add(OnnxAttribute.Float("alpha", alpha));
            if (beta != 1f)
                attrs.Add(OnnxAttribute.Float("beta", beta));
            if (transA)
                attrs.Add(OnnxAttribute.Int("transA", 1));
            if (transB)
                attrs.Add(OnnxAttribute.Int("transB", 1));
            var inputs = c is null ? new[] { a, b } : new[] { a, b, c };
            return AddNode("Gemm", inputs, new[] { output ?? UniqueName("Gemm") }, attrs.ToArray());
        }

        /// <summary>
        /// A fully connected layer <c>y = x W + b</c> on a 2-D input [batch, <paramref name="inFeatures"/>], as one <c>Gemm</c> node
        /// with the weights as initializers.
        /// </summary>
        /// <param name="input">Input tensor, shape [batch, inFeatures].</param>
        /// <param name="weight">Weights, row-major [inFeatures, outFeatures], or [outFeatures, inFeatures] (TorchSharp's
        /// <c>Linear.weight</c> layout) when <paramref name="weightIsOutByIn"/>.</param>
        /// <param name="bias">Bias of length <paramref name="outFeatures"/>, or null.</param>
        /// <param name="inFeatures">Input width.</param>
        /// <param name="outFeatures">Output width.</param>
        /// <param name="weightIsOutByIn">True when <paramref name="weight"/> is [outFeatures, inFeatures].</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        /// <returns>The output name.</returns>
        public string Dense(string input, float[] weight, float[]? bias, int inFeatures, int outFeatures, bool weightIsOutByIn = false, string? output = null)
        {
            if (inFeatures <= 0 || outFeatures <= 0)
                throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Dense layer widths must be positive (got {inFeatures} -> {outFeatures}).");
            string w = AddConstant(weight, weightIsOutByIn ? new long[] { outFeatures, inFeatures } : new long[] { inFeatures, outFeatures }, "W");
            string? b = bias is null ? null : AddConstant(bias, new long[] { outFeatures }, "B");
            return Gemm(input, w, b, transB: weightIsOutByIn, output: output);
        }

        /// <summary><c>MatMul</c> (numpy semantics, any rank).</summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string MatMul(string a, string b, string? output = null) => Binary("MatMul", a, b, output);

        /// <summary><c>Add</c> (numpy broadcasting).</summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Add(string a, string b, string? output = null) => Binary("Add", a, b, output);

        /// <summary><c>Sub</c> (numpy broadcasting).</summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Sub(string a, string b, string? output = null) => Binary("Sub", a, b, output);

        /// <summary><c>Mul</c> (numpy broadcasting).</summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Mul(string a, string b, string? output = null) => Binary("Mul", a, b, output);

        /// <summary><c>Div</c> (numpy broadcasting).</summary>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Div(string a, string b, string? output = null) => Binary("Div", a, b, output);

        /// <summary><c>Relu</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Relu(string x, string? output = null) => Unary("Relu", x, output);

        /// <summary><c>Sigmoid</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Sigmoid(string x, string? output = null) => Unary("Sigmoid", x, output);

        /// <summary><c>Tanh</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Tanh(string x, string? output = null) => Unary("Tanh", x, output);

        /// <summary><c>Exp</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Exp(string x, string? output = null) => Unary("Exp", x, output);

        /// <summary><c>Log</c> (natural).</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Log(string x, string? output = null) => Unary("Log", x, output);

        /// <summary><c>Identity</c>: useful to expose a tensor under an output (column) name.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Identity(string x, string? output = null) => Unary("Identity", x, output);

        /// <summary><c>Softmax</c> along one axis (opset 13+ semantics: a single axis, default the last).</summary>
        /// <param name="x">Input.</param>
        /// <param name="axis">The axis normalised over.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Softmax(string x, long axis = -1, string? output = null)
            => AddNode("Softmax", new[] { x }, new[] { output ?? UniqueName("Softmax") }, OnnxAttribute.Int("axis", axis));

        /// <summary><c>Concat</c> along <paramref name="axis"/>.</summary>
        /// <param name="axis">The axis to concatenate on (e.g. 1 for features of a batch).</param>
        /// <param name="inputs">The tensors, at least one.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Concat(long axis, string[] inputs, string? output = null)
        {
            if (inputs is null || inputs.Length == 0)
                throw new ArgumentException("Concat needs at least one input.", nameof(inputs));
            return AddNode("Concat", inputs, new[] { output ?? UniqueName("Concat") }, OnnxAttribute.Int("axis", axis));
        }

        /// <summary><c>Gather</c> on <paramref name="axis"/>: with <paramref name="data"/> an embedding table [rows, dim] and
        /// int64 <paramref name="indices"/> of shape S, gives S + [dim].</summary>
        /// <param name="data">The table.</param>
        /// <param name="indices">Int32 or int64 indices (negative values count from the end, as ONNX defines).</param>
        /// <param name="axis">Gathered axis.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Gather(string data, string indices, long axis = 0, string? output = null)
            => AddNode("Gather", new[] { data, indices }, new[] { output ?? UniqueName("Gather") }, OnnxAttribute.Int("axis", axis));

        /// <summary>
        /// An embedding lookup: adds <paramref name="table"/> ([<paramref name="rows"/>, <paramref name="dim"/>], row-major) as an
        /// initializer and gathers the rows named by the int64 <paramref name="ids"/>. Ids of shape [batch, 1] give
        /// [batch, 1, dim]; follow with <see cref="Squeeze"/> or <see cref="Reshape"/> for [batch, dim].
        /// </summary>
        /// <param name="ids">Int64 ids in [0, rows).</param>
        /// <param name="table">Embedding table, row-major.</param>
        /// <param name="rows">Number of rows (ids).</param>
        /// <param name="dim">Embedding width.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Embedding(string ids, float[] table, int rows, int dim, string? output = null)
            => Gather(AddConstant(table, new long[] { rows, dim }, "Emb"), ids, 0, output);

        /// <summary><c>ReduceSum</c> over <paramref name="axes"/> (since opset 13 the axes are an int64 input, added here as a constant).</summary>
        /// <param name="x">Input.</param>
        /// <param name="axes">Axes reduced.</param>
        /// <param name="keepDims">Keep the reduced axes with size 1.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string ReduceSum(string x, long[] axes, bool keepDims = true, string? output = null)
        {
            string ax = AddConstant(CheckAxes(axes, "ReduceSum"), new long[] { axes.Length }, "axes");
            return AddNode("ReduceSum", new[] { x, ax }, new[] { output ?? UniqueName("ReduceSum") }, OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));
        }

        /// <summary><c>ReduceMean</c> over <paramref name="axes"/> (in opset 17 the axes are still an attribute; they become an input only in opset 18).</summary>
        /// <param name="x">Input.</param>
        /// <param name="axes">Axes reduced.</param>
        /// <param name="keepDims">Keep the reduced axes with size 1.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string ReduceMean(string x, long[] axes, bool keepDims = true, string? output = null)
            => AddNode("ReduceMean", new[] { x }, new[] { output ?? UniqueName("ReduceMean") },
                OnnxAttribute.Ints("axes", CheckAxes(axes, "ReduceMean")), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0));

        /// <summary><c>Unsqueeze</c>: inserts size-1 axes (axes are an int64 input since opset 13).</summary>
        /// <param name="x">Input.</param>
        /// <param name="axes">Axes inserted (in the output's numbering).</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Unsqueeze(string x, long[] axes, string? output = null)
        {
            string ax = AddConstant(CheckAxes(axes, "Unsqueeze"), new long[] { axes.Length }, "axes");
            return AddNode("Unsqueeze", new[] { x, ax }, new[] { output ?? UniqueName("Unsqueeze") });
        }

        /// <summary><c>Squeeze</c>: removes size-1 axes (axes are an int64 input since opset 13).</summary>
        /// <param name="x">Input.</param>
        /// <param name="axes">Axes removed.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Squeeze(string x, long[] axes, string? output = null)
        {
            string ax = AddConstant(CheckAxes(axes, "Squeeze"), new long[] { axes.Length }, "axes");
            return AddNode("Squeeze", new[] { x, ax }, new[] { output ?? UniqueName("Squeeze") });
        }

        /// <summary><c>Reshape</c> to <paramref name="shape"/> (0 copies the input dimension, -1 is inferred).</summary>
        /// <param name="x">Input.</param>
        /// <param name="shape">Target shape.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Reshape(string x, long[] shape, string? output = null)
        {
            if (shape is null || shape.Length == 0)
                throw new ArgumentException("Reshape needs a target shape.", nameof(shape));
            string s = AddConstant(shape, new long[] { shape.Length }, "shape");
            return AddNode("Reshape", new[] { x, s }, new[] { output ?? UniqueName("Reshape") });
        }

        /// <summary><c>Transpose</c> with permutation <paramref name="perm"/>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="perm">The permutation of the axes.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Transpose(string x, long[] perm, string? output = null)
            => AddNode("Transpose", new[] { x }, new[] { output ?? UniqueName("Transpose") }, OnnxAttribute.Ints("perm", perm ?? throw new ArgumentNullException(nameof(perm))));

        /// <summary><c>Where</c>: <paramref name="x"/> where the boolean <paramref name="condition"/> holds, else <paramref name="y"/>.</summary>
        /// <param name="condition">Boolean tensor.</param>
        /// <param name="x">Chosen where true.</param>
        /// <param name="y">Chosen where false.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Where(string condition, string x, string y, string? output = null)
            => AddNode("Where", new[] { condition, x, y }, new[] { output ?? UniqueName("Where") });

        /// <summary><c>Cast</c> to <paramref name="to"/>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="to">Target element type.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Cast(string x, TensorElementType to, string? output = null)
            => AddNode("Cast", new[] { x }, new[] { output ?? UniqueName("Cast") }, OnnxAttribute.Int("to", (long)CheckType(to, x)));

        /// <summary>A comparison producing a boolean tensor: <c>Greater</c>, <c>Less</c>, <c>Equal</c>, <c>GreaterOrEqual</c> or <c>LessOrEqual</c>.</summary>
        /// <param name="opType">One of the comparison operators.</param>
        /// <param name="a">Left operand.</param>
        /// <param name="b">Right operand.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Compare(string opType, string a, string b, string? output = null)
        {
            if (opType is not ("Greater" or "Less" or "Equal" or "GreaterOrEqual" or "LessOrEqual"))
                throw new ArgumentOutOfRangeException(nameof(opType), $"'{opType}' is not a comparison operator (Greater, Less, Equal, GreaterOrEqual, LessOrEqual).");
            return Binary(opType, a, b, output);
        }

        /// <summary><c>Neg</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Neg(string x, string? output = null) => Unary("Neg", x, output);

        /// <summary><c>Abs</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Abs(string x, string? output = null) => Unary("Abs", x, output);

        /// <summary><c>Sqrt</c>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Sqrt(string x, string? output = null) => Unary("Sqrt", x, output);

        /// <summary><c>Pow</c>: <paramref name="x"/> to the power <paramref name="exponent"/> (broadcasting).</summary>
        /// <param name="x">Base.</param>
        /// <param name="exponent">Exponent.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Pow(string x, string exponent, string? output = null) => Binary("Pow", x, exponent, output);

        /// <summary>Element-wise <c>Max</c> of the inputs (broadcasting).</summary>
        /// <param name="inputs">At least one tensor.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Max(string[] inputs, string? output = null) => Variadic("Max", inputs, output);

        /// <summary>Element-wise <c>Min</c> of the inputs (broadcasting).</summary>
        /// <param name="inputs">At least one tensor.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Min(string[] inputs, string? output = null) => Variadic("Min", inputs, output);

        /// <summary><c>LeakyRelu</c> with slope <paramref name="alpha"/> for negative inputs.</summary>
        /// <param name="x">Input.</param>
        /// <param name="alpha">Negative slope.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string LeakyRelu(string x, float alpha = 0.01f, string? output = null)
            => AddNode("LeakyRelu", new[] { x }, new[] { output ?? UniqueName("LeakyRelu") }, OnnxAttribute.Float("alpha", alpha));

        /// <summary><c>Clip</c> to [<paramref name="min"/>, <paramref name="max"/>] (float bounds as inputs, opset 11+).</summary>
        /// <param name="x">Float input.</param>
        /// <param name="min">Lower bound, or null for none.</param>
        /// <param name="max">Upper bound, or null for none.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Clip(string x, float? min, float? max, string? output = null)
        {
            string lo = min.HasValue ? AddConstant(new[] { min.Value }, Array.Empty<long>(), "min") : "";
            string hi = max.HasValue ? AddConstant(new[] { max.Value }, Array.Empty<long>(), "max") : "";
            var inputs = hi.Length > 0 ? new[] { x, lo, hi } : lo.Length > 0 ? new[] { x, lo } : new[] { x };
            return AddNode("Clip", inputs, new[] { output ?? UniqueName("Clip") });
        }

        /// <summary><c>Flatten</c>: [d0..d(axis-1)] x [d(axis)..] into 2-D.</summary>
        /// <param name="x">Input.</param>
        /// <param name="axis">First axis of the second dimension.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Flatten(string x, long axis = 1, string? output = null)
            => AddNode("Flatten", new[] { x }, new[] { output ?? UniqueName("Flatten") }, OnnxAttribute.Int("axis", axis));

        /// <summary><c>Split</c> along <paramref name="axis"/> into parts of the given sizes (sizes as an int64 input, opset 13+).</summary>
        /// <param name="x">Input.</param>
        /// <param name="sizes">The size of each part along the axis.</param>
        /// <param name="axis">The axis split.</param>
        /// <param name="outputs">Output names, one per part; null for fresh ones.</param>
        /// <returns>The output names.</returns>
        public string[] Split(string x, long[] sizes, long axis = 1, string[]? outputs = null)
        {
            if (sizes is null || sizes.Length == 0)
                throw new ArgumentException("Split needs at least one part size.", nameof(sizes));
            if (outputs != null && outputs.Length != sizes.Length)
                throw new ArgumentException($"Split into {sizes.Length} parts needs {sizes.Length} output names, got {outputs.Length}.", nameof(outputs));
            outputs ??= sizes.Select(_ => UniqueName("Split")).ToArray();
            AddNode("Split", new[] { x, AddConstant(sizes, new long[] { sizes.Length }, "split") }, outputs, OnnxAttribute.Int("axis", axis));
            return outputs;
        }

        /// <summary><c>Slice</c>: elements [starts, ends) on <paramref name="axes"/> (as int64 inputs, opset 13+).</summary>
        /// <param name="x">Input.</param>
        /// <param name="starts">Start index per axis.</param>
        /// <param name="ends">End index (exclusive) per axis; <see cref="long.MaxValue"/> for "to the end".</param>
        /// <param name="axes">The axes sliced.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Slice(string x, long[] starts, long[] ends, long[] axes, string? output = null)
        {
            if (starts is null || ends is null || axes is null || starts.Length != ends.Length || starts.Length != axes.Length || starts.Length == 0)
                throw new ArgumentException("Slice needs starts, ends and axes of the same, non-zero length.", nameof(starts));
            long[] len = { starts.Length };
            return AddNode("Slice", new[] { x, AddConstant(starts, len, "starts"), AddConstant(ends, len, "ends"), AddConstant(axes, len, "axes") },
                new[] { output ?? UniqueName("Slice") });
        }

        /// <summary>
        /// <c>LayerNormalization</c> (opset 17) over the axes from <paramref name="axis"/> on, with learned
        /// <paramref name="scale"/> and <paramref name="bias"/> (length = the normalized size).
        /// </summary>
        /// <param name="x">Float input.</param>
        /// <param name="scale">Scale (gamma).</param>
        /// <param name="bias">Bias (beta), or null for none.</param>
        /// <param name="epsilon">Added to the variance.</param>
        /// <param name="axis">First normalized axis (default the last).</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string LayerNormalization(string x, float[] scale, float[]? bias, float epsilon = 1e-5f, long axis = -1, string? output = null)
        {
            if (scale is null || scale.Length == 0)
                throw new ArgumentException("LayerNormalization needs a scale.", nameof(scale));
            if (bias != null && bias.Length != scale.Length)
                throw new ArgumentException($"LayerNormalization bias has {bias.Length} values; the scale has {scale.Length}.", nameof(bias));
            var inputs = new List<string> { x, AddConstant(scale, new long[] { scale.Length }, "gamma") };
            if (bias != null)
                inputs.Add(AddConstant(bias, new long[] { bias.Length }, "beta"));
            return AddNode("LayerNormalization", inputs.ToArray(), new[] { output ?? UniqueName("LayerNormalization") },
                OnnxAttribute.Int("axis", axis), OnnxAttribute.Float("epsilon", epsilon));
        }

        /// <summary><c>Shape</c>: the int64 shape of <paramref name="x"/>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Shape(string x, string? output = null) => Unary("Shape", x, output);

        /// <summary><c>Expand</c>: broadcasts <paramref name="x"/> to the int64 shape tensor <paramref name="shape"/>.</summary>
        /// <param name="x">Input.</param>
        /// <param name="shape">An int64 1-D tensor (e.g. from <see cref="Shape"/> or <see cref="AddConstant(long[], long[], string)"/>).</param>
        /// <param name="output">Output name; null for a fresh one.</param>
        public string Expand(string x, string shape, string? output = null) => Binary("Expand", x, shape, output);

        // ---------------------------------------------------------------- internals

        private string Variadic(string op, string[] inputs, string? output)
        {
            if (inputs is null || inputs.Length == 0)
                throw new ArgumentException($"{op} needs at least one input.", nameof(inputs));
            return AddNode(op, inputs, new[] { output ?? UniqueName(op) });
        }

        private string Unary(string op, string x, string? output) => AddNode(op, new[] { x }, new[] { output ?? UniqueName(op) });

        private string Binary(string op, string a, string b, string? output) => AddNode(op, new[] { a, b }, new[] { output ?? UniqueName(op) });

        private static long[] CheckAxes(long[] axes, string op)
        {
            if (axes is null || axes.Length == 0)
                throw new ArgumentException($"{op} needs at least one axis.", nameof(axes));
            return axes;
        }

        private void Define(string name, string what)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException($"An ONNX {what} needs a non-empty name.", nameof(name));
            if (!_defined.Add(name))
                throw new InvalidOperationException($"The tensor name '{name}' ({what}) is already defined in the graph; ONNX tensor names must be unique.");
        }

        private string UniqueNodeName(string opType)
        {
            string key = "node:" + opType;
            _counters.TryGetValue(key, out int k);
            _counters[key] = k + 1;
            return $"{opType}_{k}";
        }

        private static TensorElementType CheckType(TensorElementType type, string name)
        {
            if (type == TensorElementType.DataTypeMax || (int)type <= 0)
                throw new ArgumentOutOfRangeException(nameof(type), $"Tensor '{name}' has no valid element type ({type}).");
            return type;
        }

        private static long[] CheckDims(long[] dims, string name)
        {
            if (dims is null)
                throw new ArgumentNullException(nameof(dims), $"Tensor '{name}' needs a shape (empty for a scalar).");
            foreach (long d in dims)
                if (d == long.MinValue)
                    throw new ArgumentOutOfRangeException(nameof(dims), $"Tensor '{name}' has dimension {d}; use a size >= 0, -1 for the batch dimension or -k (k >= 2) for another symbolic dimension.");
            return dims.ToArray();
        }

        private static Spec.ValueInfoProto ValueInfoProto(ValueInfo v) => OnnxModelProto.ValueInfo(new OnnxTensorSpec(v.Name, v.ElementType, v.Dims!));

        private static Spec.NodeProto NodeProto(Node n)
        {
            var node = OnnxModelProto.Node(n.OpType, n.Inputs, n.Outputs, n.Name, n.Attributes);
            if (n.Domain.Length > 0)
                node.Domain = n.Domain;
            return node;
        }
    }
}
