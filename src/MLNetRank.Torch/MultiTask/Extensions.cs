using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Torch.MultiTask.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// How an embedded behaviour sequence (<c>[batch, length, dimension]</c>, with a 0/1 mask of the real ids) becomes one
    /// vector per row. <see cref="MeanSequencePooling"/> is built in; attention poolings (DIN-style, target-aware) plug in
    /// here by deriving from this class inside MLNetRank.Torch: they provide a TorchSharp module and its ONNX export.
    /// </summary>
    public abstract class SequencePooling
    {
        private protected SequencePooling() { }

        internal abstract SequencePoolingModule CreateModule(string name, int embeddingDimension);
    }

    /// <summary>Mean of the embeddings of the non-missing ids (an empty sequence pools to zeros).</summary>
    public sealed class MeanSequencePooling : SequencePooling
    {
        internal override SequencePoolingModule CreateModule(string name, int embeddingDimension) => new MeanPoolingModule(name);
    }

    /// <summary>A pooling module: <c>forward(embedded [B, L, d], mask [B, L]) -> [B, d]</c>, plus its ONNX export.</summary>
    internal abstract class SequencePoolingModule : nn.Module<Tensor, Tensor, Tensor>
    {
        protected SequencePoolingModule(string name) : base(name) { }

        /// <summary>Writes the pooling into an ONNX graph; returns the name of the pooled [B, d] tensor.</summary>
        public abstract string Export(OnnxModelWriter w, string embedded, string mask);
    }

    internal sealed class MeanPoolingModule : SequencePoolingModule
    {
        public MeanPoolingModule(string name) : base(name) => RegisterComponents();

        public override Tensor forward(Tensor embedded, Tensor mask)
        {
            var summed = (embedded * mask.unsqueeze(2)).sum(1);
            var count = mask.sum(1, keepdim: true).clamp_min(1f);
            return summed / count;
        }

        public override string Export(OnnxModelWriter w, string embedded, string mask)
        {
            var axis1 = w.AddInitializer(w.Fresh("axis1"), new long[] { 1 }, new long[] { 1 });
            var axis2 = w.AddInitializer(w.Fresh("axis2"), new long[] { 2 }, new long[] { 1 });
            var masked = w.Op("Mul", new[] { embedded, w.Op("Unsqueeze", new[] { mask, axis2 }) });
            var summed = w.Op("ReduceSum", new[] { masked, axis1 }, ("keepdims", 0));
            var one = w.AddInitializer(w.Fresh("one"), new[] { 1f }, new long[] { 1 });
            var count = w.Op("Max", new[] { w.Op("ReduceSum", new[] { mask, axis1 }, ("keepdims", 1)), one });
            return w.Op("Div", new[] { summed, count });
        }
    }

    /// <summary>
    /// A term added to a task's logit during training only and left out of the exported (serving) model: the hook of
    /// position-bias towers (PAL, the shallow tower of YouTube's "Recommending what video to watch next"). It reads its own
    /// training-only input columns (e.g. <c>Position</c>), which the serving model never needs.
    /// </summary>
    public abstract class LogitAdjustment
    {
        private protected LogitAdjustment(IEnumerable<string> inputColumnNames)
        {
            InputColumnNames = inputColumnNames?.ToArray() ?? throw new ArgumentNullException(nameof(inputColumnNames));
            if (InputColumnNames.Count == 0 || InputColumnNames.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException("A logit adjustment needs at least one input column name.", nameof(inputColumnNames));
        }

        /// <summary>Training-only input columns (Single, Int32 or Boolean scalars, or known-size vectors of Single), concatenated.</summary>
        public IReadOnlyList<string> InputColumnNames { get; }

        internal abstract nn.Module<Tensor, Tensor> CreateModule(string name, int inputSize);
    }

    /// <summary>
    /// A bias tower: an MLP (no hidden layer = linear) over training-only columns whose output is added to the task's logit
    /// in training and dropped at serving, so the served score is free of the bias those columns explain (e.g. position).
    /// </summary>
    public sealed class BiasTower : LogitAdjustment
    {
        /// <summary>A bias tower over <paramref name="inputColumnNames"/>.</summary>
        public BiasTower(params string[] inputColumnNames) : base(inputColumnNames) { }

        /// <summary>Hidden layers of the tower. Default none (a linear term).</summary>
        public int[] HiddenLayers { get; set; } = Array.Empty<int>();

        /// <summary>Dropout inside the tower. Default 0.</summary>
        public float Dropout { get; set; }

        internal override nn.Module<Tensor, Tensor> CreateModule(string name, int inputSize)
            => new Tower(name, inputSize, HiddenLayers, Dropout);
    }
}
