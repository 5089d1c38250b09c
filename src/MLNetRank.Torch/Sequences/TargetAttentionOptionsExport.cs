using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>The parts of <see cref="TargetAttentionModule"/>'s export that <see cref="TargetAttentionPooling.IncludeIntensity"/>
    /// and <see cref="TargetAttentionPooling.MatchDetectors"/> add to the serving graph.</summary>
    internal sealed partial class TargetAttentionModule
    {
        /// <summary>The unit's inputs layer-normalised (<see cref="TargetAttentionPooling.NormalizeInputs"/>); unchanged when off.</summary>
        private (string Query, string Key) ExportNormalizedInputs(OnnxGraphBuilder g, string q, string k)
        {
            if (!_normalizeInputs)
                return (q, k);
            var ones = Enumerable.Repeat(1f, _d).ToArray();
            return (g.LayerNormalization(q, ones, null), g.LayerNormalization(k, ones, null));
        }

        /// <summary>Appends the intensity of interest (<see cref="TargetAttentionPooling.IncludeIntensity"/>) to the pooled
        /// <c>[B, d]</c> output: <paramref name="perQuery"/> <c>[B, Q]</c> (each query's mean raw weight over the present steps),
        /// averaged over the present query ids, then the batch norm's running affine.</summary>
        private string ExportIntensity(OnnxGraphBuilder g, string pooled, string perQuery, string qm)
        {
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var queries = g.Max(new[] { g.ReduceSum(qm, new long[] { 1 }, keepDims: true), one });          // [B, 1]
            var intensity = g.Div(g.ReduceSum(g.Mul(perQuery, qm), new long[] { 1 }, keepDims: true), queries); // [B, 1]
            if (intensity_norm is not null)
            {
                // eval-mode batch norm: x · γ/√(var + ε) + (β − mean · γ/√(var + ε))
                using var scale = intensity_norm.weight! / intensity_norm.running_var!.Plus(Scalars.Of(intensity_norm.eps)).sqrt();
                using var shift = intensity_norm.bias! - intensity_norm.running_mean! * scale;
                intensity = g.Add(g.Mul(intensity, AddWeight(g, scale.detach(), "din_mass_scale")), AddWeight(g, shift.detach(), "din_mass_shift"));
            }
            return g.Concat(1, new[] { pooled, intensity });
        }
    }
}
