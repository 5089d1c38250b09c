using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>Turns the encoded input into one representation per task.</summary>
    internal abstract class Bottom : nn.Module<Tensor[], Tensor[]>
    {
        protected Bottom(string name) : base(name) { }

        public abstract int OutputSize { get; }

        /// <summary>Writes the bottom; <paramref name="inputs"/> has one name per encoder (1, or one per task for SingleTask).</summary>
        public abstract string[] Export(OnnxGraphBuilder g, string[] inputs);

        protected static Tensor Mix(Tensor[] experts, Tensor gateLogits)
        {
            var stacked = stack(experts, 1);                                  // [B, E, h]
            var g = nn.functional.softmax(gateLogits, 1).unsqueeze(2);        // [B, E, 1]
            return (stacked * g).sum(1);
        }

        /// <summary>The gate's mixture as one batched product: softmax(gate) [B, 1, E] x experts [B, E, h] -> [B, h]. (A
        /// broadcast Mul + ReduceSum over [B, E, h] computes the same and made the exported MMoE slower per row than a
        /// hand-written graph; see docs/benchmarks-multitask.md.)</summary>
        protected static string ExportMix(OnnxGraphBuilder g, string[] experts, string gateLogits)
        {
            var one = g.Int64s("axis1", 1);
            var stacked = g.Concat(1, experts.Select(e => g.AddNode("Unsqueeze", new[] { e, one }, new[] { g.UniqueName("Unsqueeze") })).ToArray());
            var gate = g.AddNode("Unsqueeze", new[] { g.Softmax(gateLogits, 1), one }, new[] { g.UniqueName("Unsqueeze") });
            return g.Flatten(g.MatMul(gate, stacked), 1);
        }
    }
}
