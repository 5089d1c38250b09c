using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// How an embedded behaviour sequence becomes one vector per row: the extension point of
    /// <see cref="SequenceFeature.Pooling"/>. Built in: <see cref="MeanSequencePooling"/>, <see cref="TargetAttentionPooling"/>
    /// (DIN; with a sequence as the query, V2's dual target attention) and <see cref="TransformerPooling"/> (V4's live-stream
    /// transformer). A user-written pooling derives from this class and returns a <see cref="SequencePoolingModule"/>, which
    /// supplies both its TorchSharp forward (training) and its ONNX export (serving); <c>Fit</c> runs both on a batch and
    /// throws, naming the feature, when they disagree.
    /// </summary>
    public abstract class SequencePooling
    {
        /// <summary>For derived poolings.</summary>
        protected SequencePooling() { }

        /// <summary>Other declared features (column names of <see cref="CategoricalFeature"/>s or <see cref="SequenceFeature"/>s)
        /// whose embeddings the module receives as <see cref="SequencePoolingBatch.Queries"/>, in this order: the candidate's side
        /// of target attention (e.g. the room id, or the room's items on sale). Default none.</summary>
        public virtual IReadOnlyList<string> QueryFeatureNames => Array.Empty<string>();

        /// <summary>Width of the pooled vector for a sequence embedded in <paramref name="embeddingDimension"/> dimensions.
        /// Default <paramref name="embeddingDimension"/>.</summary>
        public virtual int GetOutputDimension(int embeddingDimension) => embeddingDimension;

        /// <summary>Creates the module that pools one sequence feature (called once per network, before training).</summary>
        public abstract SequencePoolingModule CreateModule(SequencePoolingContext context);

        /// <summary>Checks the pooling against the declared shapes before training; throws naming the feature. Default: the
        /// query features must embed in the sequence's dimension when there are any.</summary>
        public virtual void Validate(SequencePoolingContext context)
        {
            if (context is null)
                throw new ArgumentNullException(nameof(context));
            for (int i = 0; i < context.QueryDimensions.Count; i++)
                if (context.QueryDimensions[i] != context.EmbeddingDimension)
                    throw new ArgumentException($"Sequence feature '{context.FeatureName}': {GetType().Name} query '{QueryFeatureNames[i]}' embeds in {context.QueryDimensions[i]} dimensions, the sequence in {context.EmbeddingDimension}; they must be equal (share one embedding table, or give both the same EmbeddingDimension).");
        }
    }

    /// <summary>What a pooling module is built for: the shapes of its sequence and of its queries.</summary>
    public sealed class SequencePoolingContext
    {
        /// <summary>A context (the trainer builds it; public for tests of user-written poolings).</summary>
        public SequencePoolingContext(string featureName, int embeddingDimension, int maximumLength, IReadOnlyList<int>? queryDimensions = null, IReadOnlyList<int>? queryMaximumLengths = null)
        {
            FeatureName = featureName ?? throw new ArgumentNullException(nameof(featureName));
            EmbeddingDimension = embeddingDimension;
            MaximumLength = maximumLength;
            QueryDimensions = queryDimensions ?? Array.Empty<int>();
            QueryMaximumLengths = queryMaximumLengths ?? QueryDimensions.Select(_ => 1).ToArray();
            if (QueryMaximumLengths.Count != QueryDimensions.Count)
                throw new ArgumentException("One maximum length per query.", nameof(queryMaximumLengths));
        }

        /// <summary>The sequence feature's column name (use it to name the module's parameters).</summary>
        public string FeatureName { get; }

        /// <summary>Embedding dimension of the sequence's ids.</summary>
        public int EmbeddingDimension { get; }

        /// <summary>Longest sequence the module sees (<see cref="SequenceFeature.MaximumLength"/>).</summary>
        public int MaximumLength { get; }

        /// <summary>Embedding dimension of each query feature.</summary>
        public IReadOnlyList<int> QueryDimensions { get; }

        /// <summary>Most ids of each query feature (the slots of a categorical feature, the maximum length of a sequence).</summary>
        public IReadOnlyList<int> QueryMaximumLengths { get; }
    }

    /// <summary>
    /// The input of a <see cref="SequencePoolingModule"/>'s <c>forward</c>. <see cref="Embedded"/> has <c>R</c> rows, where <c>R</c> is
    /// the batch size <c>B</c>, or 1 when the sequence is the same for every candidate of a request
    /// (<see cref="SequenceFeature.SameForAllCandidates"/>, in the exported graph under the request scorer): a module must then
    /// broadcast it against its <c>B</c>-row queries. In training <c>R = B</c>. Padding has mask 0; its embedding is not zero.
    /// </summary>
    public sealed class SequencePoolingBatch
    {
        /// <summary>A batch.</summary>
        public SequencePoolingBatch(Tensor embedded, Tensor mask, IReadOnlyList<Tensor>? queries = null, IReadOnlyList<Tensor>? queryMasks = null)
        {
            Embedded = embedded ?? throw new ArgumentNullException(nameof(embedded));
            Mask = mask ?? throw new ArgumentNullException(nameof(mask));
            Queries = queries ?? Array.Empty<Tensor>();
            QueryMasks = queryMasks ?? Array.Empty<Tensor>();
            if (Queries.Count != QueryMasks.Count)
                throw new ArgumentException("One mask per query.", nameof(queryMasks));
        }

        /// <summary>The embedded sequence, <c>[R, L, d]</c> float, oldest id first.</summary>
        public Tensor Embedded { get; }

        /// <summary><c>[R, L]</c> float: 1 for a real id, 0 for padding or an unknown id.</summary>
        public Tensor Mask { get; }

        /// <summary>The query features' embeddings, each <c>[B, Q_i, d_i]</c> (a scalar categorical feature has <c>Q_i = 1</c>).</summary>
        public IReadOnlyList<Tensor> Queries { get; }

        /// <summary>Each query's <c>[B, Q_i]</c> float mask (0 = padding or unknown id).</summary>
        public IReadOnlyList<Tensor> QueryMasks { get; }
    }

    /// <summary>
    /// The ONNX counterpart of <see cref="SequencePoolingBatch"/>: the names of the inputs in the graph being written (opset 17),
    /// and the operations to write the pooling with: <see cref="Op"/> adds any ONNX operator, <see cref="Constant(float[], long[])"/>
    /// and <see cref="Weight"/> add initializers. Every name a node reads must be defined before it; mistakes throw with the
    /// tensor named.
    /// </summary>
    public sealed class SequencePoolingGraph
    {
        internal SequencePoolingGraph(OnnxGraphBuilder graph, string embedded, string mask, IReadOnlyList<string>? queries = null, IReadOnlyList<string>? queryMasks = null)
        {
            Graph = graph ?? throw new ArgumentNullException(nameof(graph));
            Embedded = embedded;
            Mask = mask;
            Queries = queries ?? Array.Empty<string>();
            QueryMasks = queryMasks ?? Array.Empty<string>();
        }

        /// <summary>The project's graph layer (internal: the built-in modules write through it).</summary>
        internal OnnxGraphBuilder Graph { get; }

        /// <summary><c>[R, L, d]</c> float.</summary>
        public string Embedded { get; }

        /// <summary><c>[R, L]</c> float.</summary>
        public string Mask { get; }

        /// <summary>Each <c>[B, Q_i, d_i]</c> float.</summary>
        public IReadOnlyList<string> Queries { get; }

        /// <summary>Each <c>[B, Q_i]</c> float.</summary>
        public IReadOnlyList<string> QueryMasks { get; }

        /// <summary>Adds one node of the default ONNX domain (opset 17) with one output; returns the output's fresh name.
        /// Attributes are (name, value) with value an int or long, a float, a string, a long[] or a float[].</summary>
        public string Op(string opType, string[] inputs, params (string Name, object Value)[] attributes)
        {
            if (inputs is null)
                throw new ArgumentNullException(nameof(inputs));
            var attrs = (attributes ?? Array.Empty<(string, object)>()).Select(a => a.Value switch
            {
                int i => OnnxAttribute.Int(a.Name, i),
                long l => OnnxAttribute.Int(a.Name, l),
                float f => OnnxAttribute.Float(a.Name, f),
                string t => OnnxAttribute.String(a.Name, t),
                long[] ls => OnnxAttribute.Ints(a.Name, ls),
                float[] fs => OnnxAttribute.Floats(a.Name, fs),
                _ => throw new ArgumentException($"Attribute '{a.Name}' of {opType}: unsupported value type {a.Value?.GetType().Name ?? "null"}.", nameof(attributes)),
            }).ToArray();
            return Graph.AddNode(opType, inputs, new[] { Graph.UniqueName(opType) }, attrs);
        }

        /// <summary>A float constant (initializer) of shape <paramref name="dims"/>; returns its name.</summary>
        public string Constant(float[] data, long[] dims) => Graph.AddConstant(data, dims, "const");

        /// <summary>An int64 constant (initializer, e.g. the axes of <c>ReduceSum</c>) of shape <paramref name="dims"/>.</summary>
        public string Constant(long[] data, long[] dims) => Graph.AddConstant(data, dims, "const");

        /// <summary>An initializer holding a tensor's current (trained) values; returns its name.</summary>
        public string Weight(Tensor value)
        {
            if (value is null)
                throw new ArgumentNullException(nameof(value));
            using var c = value.detach().cpu().contiguous();
            return Graph.AddInitializer(Graph.UniqueName("weight"), c.data<float>().ToArray(), c.shape);
        }
    }

    /// <summary>
    /// A pooling module: a TorchSharp module (<c>forward(batch) -> [B, out]</c>, its parameters as fields, then
    /// <c>RegisterComponents()</c>) and <see cref="Export"/>, which writes the same computation with the module's trained
    /// parameters into an ONNX graph through <see cref="SequencePoolingGraph"/>. The two must agree (Fit checks it on a batch, to 1e-4).
    /// A module may also add a training-only term to the objective with <see cref="AddAuxiliaryLoss"/> (e.g. a regulariser).
    /// </summary>
    public abstract class SequencePoolingModule : nn.Module<SequencePoolingBatch, Tensor>
    {
        private Tensor? _auxiliaryLoss;

        /// <summary>A module named <paramref name="name"/>.</summary>
        protected SequencePoolingModule(string name) : base(name) { }

        /// <summary>
        /// Adds a training-only term to the trainer's objective: call it from <c>forward</c> with a one-element tensor that
        /// depends on the module's parameters (e.g. a penalty on them, or on the forward's intermediate values). The trainer adds
        /// every term of the batch's forward to the weighted task losses before the backward pass, reports each feature's mean
        /// per epoch (<see cref="MultiTaskEpoch.AuxiliaryLosses"/>, <see cref="MultiTaskProgress.AuxiliaryLosses"/>, the
        /// MLContext log), and stops training, naming the feature, when a term is not finite, like a non-finite task loss.
        /// Several calls in one forward add up. Outside training (<c>training</c> false: validation, Fit's export check,
        /// scoring) the call does nothing, and the exported graph never contains the term: only <c>forward</c>'s output is served.
        /// Modules that never call it train exactly as before.
        /// </summary>
        /// <param name="loss">A one-element float tensor (any shape with one element), in the objective's units: it is added
        /// to the sum of the task losses with weight 1.</param>
        protected void AddAuxiliaryLoss(Tensor loss)
        {
            if (loss is null)
                throw new ArgumentNullException(nameof(loss));
            if (loss.numel() != 1)
                throw new ArgumentException($"Pooling module '{GetName()}' ({GetType().Name}): an auxiliary loss must have one element; got shape [{string.Join(", ", loss.shape)}].", nameof(loss));
            if (!training)
                return;
            var term = loss.reshape(Array.Empty<long>());
            // a term left by a forward outside the trainer (its dispose scope may have freed it) is replaced, not added to
            _auxiliaryLoss = _auxiliaryLoss is null || _auxiliaryLoss.IsInvalid ? term : _auxiliaryLoss.Plus(term);
        }

        /// <summary>The terms added since the last call (null when none) and forgets them: the trainer reads them after each
        /// training forward (and drops leftovers of forwards run outside it before its own).</summary>
        internal Tensor? TakeAuxiliaryLoss()
        {
            var l = _auxiliaryLoss;
            _auxiliaryLoss = null;
            return l;
        }

        /// <summary>Writes the pooling into the graph; returns the name of the pooled <c>[B, out]</c>
        /// tensor (<c>[R, out]</c> is accepted when the module has no queries: the caller broadcasts it).</summary>
        public abstract string Export(SequencePoolingGraph input);

        /// <summary>A float initializer holding a tensor's current values (the built-in modules' exports).</summary>
        private protected static string AddWeight(OnnxGraphBuilder graph, Tensor value, string prefix) => graph.AddTensor(value, prefix);
    }

    /// <summary>Mean of the embeddings of the non-missing ids (an empty sequence pools to zeros).</summary>
    public sealed class MeanSequencePooling : SequencePooling
    {
        /// <inheritdoc/>
        public override SequencePoolingModule CreateModule(SequencePoolingContext context) => new MeanPoolingModule(context.FeatureName);
    }

    internal sealed class MeanPoolingModule : SequencePoolingModule
    {
        public MeanPoolingModule(string name) : base(name) => RegisterComponents();

        public override Tensor forward(SequencePoolingBatch b)
        {
            var summed = (b.Embedded * b.Mask.unsqueeze(2)).sum(1);
            var count = b.Mask.sum(1, keepdim: true).clamp_min(Scalars.Of(1f));
            return summed / count;
        }

        public override string Export(SequencePoolingGraph x)
        {
            var g = x.Graph;
            var masked = g.Mul(x.Embedded, g.Unsqueeze(x.Mask, new long[] { 2 }));
            var summed = g.ReduceSum(masked, new long[] { 1 }, keepDims: false);
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var count = g.Max(new[] { g.ReduceSum(x.Mask, new long[] { 1 }, keepDims: true), one });
            return g.Div(summed, count);
        }
    }
}
