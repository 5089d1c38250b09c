using System.Linq;
using MLNetRank.Onnx;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>The ONNX export of <see cref="TargetAttentionModule"/> with <see cref="TargetAttentionPooling.IncludeIntensity"/> or
    /// <see cref="TargetAttentionPooling.MatchDetectors"/> on (a file of its own so the default unit's export can change apart).</summary>
    internal sealed partial class TargetAttentionModule
    {
        /// <summary>The export with the options <see cref="TargetAttentionPooling.IncludeIntensity"/> and
        /// <see cref="TargetAttentionPooling.MatchDetectors"/> (the unit's inputs normalised, the raw weights' mean appended): the
        /// reference layout of the unit (one GEMM for the first layer per request-level sequence), kept apart from
        /// <see cref="Export"/> so that the default unit's serving layout can change without touching it.</summary>
        private string ExportWithOptions(SequencePoolingGraph x)
        {
            var g = x.Graph;
            long h0 = first.weight!.shape[0];
            string q = x.Queries[0], qm = x.QueryMasks[0], k = x.Embedded, m = x.Mask;
            string values = k;
            (q, k) = ExportNormalizedInputs(g, q, k);
            Tensor w = first.weight!;
            // The whole first layer is one MatMul: with q' = [q, qm] and, per history step l,
            //   K'[l] = [ k_l ⊗ W_pᵀ + (W_q + W_d)ᵀ ; k_l (W_k − W_d)ᵀ + b ]   ([d + 1, h]),
            // q'·K'[l] = q(W_q + W_d)ᵀ + (q ⊙ k_l)W_pᵀ + k_l(W_k − W_d)ᵀ + b for a real query (qm = 1); a padded query's output
            // is zeroed below. K' holds the user side only: computed once per request when the sequence is request-level.
            using var wq = (w.narrow(1, 0, _d) + w.narrow(1, 2 * _d, _d)).t().contiguous();             // [d, h]
            using var wk = (w.narrow(1, _d, _d) - w.narrow(1, 2 * _d, _d)).t();                          // [d, h]
            using var wpT = w.narrow(1, 3 * _d, _d).t().contiguous();                                    // [d(j), h]
            var kp4 = g.Add(g.Mul(g.Unsqueeze(k, new long[] { 3 }), AddWeight(g, wpT.reshape(1, 1, _d, h0), "din_wp")),
                AddWeight(g, wq.reshape(1, 1, _d, h0), "din_wq"));                                       // [R, L, d, h]
            var hk = g.Add(g.MatMul(k, AddWeight(g, wk, "din_wk")), AddWeight(g, first.bias!, "din_b"));  // [R, L, h]
            var kAll = g.Concat(2, new[] { kp4, g.Unsqueeze(hk, new long[] { 2 }) });                    // [R, L, d + 1, h]
            var kp = g.Reshape(g.Transpose(kAll, new long[] { 0, 2, 1, 3 }), new long[] { 0, _d + 1, -1 }); // [R, d + 1, L·h]
            var qa = g.Concat(2, new[] { q, g.Unsqueeze(qm, new long[] { 2 }) });                        // [B, Q, d + 1]
            // B = R (one sequence per candidate) or R = 1 (one per request): [R, B·Q / R, ·] makes the shared case one GEMM
            var r = g.Slice(g.Shape(k), new long[] { 0 }, new long[] { 1 }, new long[] { 0 });
            var bq = g.Slice(g.Shape(q), new long[] { 0 }, new long[] { 2 }, new long[] { 0 });
            string ReshapeTo(string t, string shape) => g.AddNode("Reshape", new[] { t, shape }, new[] { g.UniqueName("Reshape") });
            var perR = ReshapeTo(qa, g.Concat(0, new[] { r, g.AddConstant(new long[] { -1, _d + 1 }, new long[] { 2 }, "shape") }));
            var hp = ReshapeTo(g.MatMul(perR, kp), g.Concat(0, new[] { bq, g.AddConstant(new long[] { -1, h0 }, new long[] { 2 }, "shape") }));   // [B, Q, L, h]
            var a = g.Relu(hp);
            foreach (var l in hidden)
                a = g.Relu(g.Add(g.MatMul(a, AddWeight(g, l.weight!.t(), "din_w")), AddWeight(g, l.bias!, "din_b")));
            var s = g.Add(g.MatMul(a, AddWeight(g, output.weight!.t(), "din_wo")), AddWeight(g, output.bias!, "din_bo"));   // [B, Q, L, 1]
            s = g.Squeeze(s, new long[] { 3 });
            var raw = s;                                                                                     // [B, Q, L]
            var mm = g.Unsqueeze(m, new long[] { 1 });                                                       // [R, 1, L]
            if (_normalize)
            {
                var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
                var big = g.AddConstant(new[] { 1e9f }, new long[] { 1 }, "big");
                s = g.Mul(g.Softmax(g.Add(s, g.Mul(g.Sub(mm, one), big)), -1), mm);
            }
            else
            {
                s = g.Mul(s, mm);
                if (_divide)
                {
                    var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
                    s = g.Div(s, g.Max(new[] { g.ReduceSum(mm, new long[] { 2 }, keepDims: true), one }));   // [R, 1, 1]
                }
            }
            // Σ_l s_l k_l, again one GEMM per request-level sequence
            var sR = ReshapeTo(s, g.Concat(0, new[] { r, g.AddConstant(new long[] { -1 }, new long[] { 1 }, "shape"), g.Slice(g.Shape(k), new long[] { 1 }, new long[] { 2 }, new long[] { 0 }) }));
            var o = ReshapeTo(g.MatMul(sR, values), g.Concat(0, new[] { bq, g.AddConstant(new long[] { _d }, new long[] { 1 }, "shape") }));   // [B, Q, d]
            var summed = g.ReduceSum(g.Mul(o, g.Unsqueeze(qm, new long[] { 2 })), new long[] { 1 }, keepDims: false);
            var oneC = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var count = g.Max(new[] { g.ReduceSum(qm, new long[] { 1 }, keepDims: true), oneC });
            return ExportIntensity(g, g.Div(summed, count), raw, m, qm);
        }

        /// <summary>The unit's inputs layer-normalised (<see cref="TargetAttentionPooling.NormalizeInputs"/>); unchanged when off.</summary>
        private (string Query, string Key) ExportNormalizedInputs(OnnxGraphBuilder g, string q, string k)
        {
            if (!_normalizeInputs)
                return (q, k);
            var ones = Enumerable.Repeat(1f, _d).ToArray();
            return (g.LayerNormalization(q, ones, null), g.LayerNormalization(k, ones, null));
        }

        /// <summary>Appends the intensity of interest (<see cref="TargetAttentionPooling.IncludeIntensity"/>) to the pooled
        /// <c>[B, d]</c> output: the mean raw weight over the present steps <paramref name="raw"/> <c>[B, Q, L]</c>, averaged over
        /// the present query ids. Returns <paramref name="pooled"/> unchanged when the option is off.</summary>
        private string ExportIntensity(OnnxGraphBuilder g, string pooled, string raw, string m, string qm)
        {
            if (!_intensity)
                return pooled;
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var mm = g.Unsqueeze(m, new long[] { 1 });                                                       // [R, 1, L]
            var steps = g.Max(new[] { g.ReduceSum(mm, new long[] { 2 }, keepDims: false), one });          // [R, 1]
            var perQuery = g.Div(g.ReduceSum(g.Mul(raw, mm), new long[] { 2 }, keepDims: false), steps);   // [B, Q]
            var queries = g.Max(new[] { g.ReduceSum(qm, new long[] { 1 }, keepDims: true), one });          // [B, 1]
            var intensity = g.Div(g.ReduceSum(g.Mul(perQuery, qm), new long[] { 1 }, keepDims: true), queries); // [B, 1]
            if (intensity_norm is not null)
            {
                // eval-mode batch norm: x · γ/√(var + ε) + (β − mean · γ/√(var + ε))
                using var scale = intensity_norm.weight! / (intensity_norm.running_var! + intensity_norm.eps).sqrt();
                using var shift = intensity_norm.bias! - intensity_norm.running_mean! * scale;
                intensity = g.Add(g.Mul(intensity, AddWeight(g, scale.detach(), "din_mass_scale")), AddWeight(g, shift.detach(), "din_mass_shift"));
            }
            return g.Concat(1, new[] { pooled, intensity });
        }
    }
}
