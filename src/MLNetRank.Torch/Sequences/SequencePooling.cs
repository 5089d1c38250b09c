using MLNetRank.Onnx;
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
        public abstract string Export(OnnxGraphBuilder g, string embedded, string mask);
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

        public override string Export(OnnxGraphBuilder g, string embedded, string mask)
        {
            var masked = g.Mul(embedded, g.Unsqueeze(mask, new long[] { 2 }));
            var summed = g.ReduceSum(masked, new long[] { 1 }, keepDims: false);
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var count = g.Max(new[] { g.ReduceSum(mask, new long[] { 1 }, keepDims: true), one });
            return g.Div(summed, count);
        }
    }
}
