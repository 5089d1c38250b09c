using MLNetRank.Onnx;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Layers
{
    /// <summary>How TorchSharp parameters enter an ONNX graph (<see cref="OnnxGraphBuilder"/>, the core's one writer):
    /// the export half of every module is written with these and the builder's operators.</summary>
    internal static class TorchOnnx
    {
        /// <summary>A float initializer holding <paramref name="t"/>'s values (copied to the CPU), under a fresh name.</summary>
        public static string AddTensor(this OnnxGraphBuilder g, Tensor t, string prefix)
        {
            using var c = t.detach().cpu().contiguous();
            return g.AddInitializer(g.UniqueName(prefix), c.data<float>().ToArray(), c.shape);
        }

        /// <summary><c>x · Wᵀ + b</c> of a TorchSharp <see cref="Linear"/> (one <c>Gemm</c> with <c>transB</c>).</summary>
        public static string Linear(this OnnxGraphBuilder g, string x, Linear l)
        {
            var w = g.AddTensor(l.weight!, "weight");
            return l.bias is null ? g.Gemm(x, w, transB: true) : g.Gemm(x, w, g.AddTensor(l.bias, "bias"), transB: true);
        }

        /// <summary>An int64 constant of shape <c>[values.Length]</c> under a fresh name.</summary>
        public static string Int64s(this OnnxGraphBuilder g, string prefix, params long[] values)
            => g.AddConstant(values, new long[] { values.Length }, prefix);
    }
}
