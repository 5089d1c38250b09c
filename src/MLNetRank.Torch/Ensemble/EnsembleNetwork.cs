using System;
using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>
    /// The learned ensemble over standardized logits <c>z_k = (logit_k − μ_k) / σ_k</c> (K objectives).
    /// One-step: <c>Score = Σ_k w_k z_k</c>. Two-step (relation-aware): tokens <c>e_k = z_k u_k + v_k ∈ R^d</c>; step 1,
    /// self-attention across objectives with logits <c>q_k·k_j / √d + γ R_kj + B_kj</c> (R = the labels' correlation matrix,
    /// γ and B learned), <c>h_k = e_k + Σ_j a_kj W_v e_j</c>, sub-scores <c>s_k = h_k·o_k + c_k</c>; step 2, a gate
    /// <c>g = softmax(W_g [h_1..h_K] + b_g)</c> fuses them, <c>Score = Σ_k g_k s_k</c>. The BCE method adds per-objective
    /// calibration heads <c>σ(softplus(α_k) Score + β_k)</c> used in training only.
    /// </summary>
    internal sealed class EnsembleNetwork : nn.Module
    {
        public readonly int K, D;
        public readonly bool TwoStep;
        private readonly float[] _relations;

        // one-step
        private readonly Parameter? w;
        // two-step
        private readonly Parameter? u, v, wq, wk, wv, gamma, rel_bias, o_sub, c_sub, w_gate, b_gate;
        private readonly Tensor? relations;
        // BCE calibration heads (training only)
        private readonly Parameter cal_scale, cal_bias;

        public EnsembleNetwork(int k, bool twoStep, int d, float[] labelCorrelations, int seed) : base("ObjectiveEnsemble")
        {
            K = k;
            D = d;
            TwoStep = twoStep;
            _relations = labelCorrelations;
            torch.manual_seed(seed);
            using (no_grad())
            {
                if (!twoStep)
                    w = nn.Parameter(full(k, Scalars.Of(1f / k)));
                else
                {
                    float s = 1f / MathF.Sqrt(d);
                    u = nn.Parameter(Randn(k, d, 0.5f));
                    v = nn.Parameter(Randn(k, d, 0.1f));
                    wq = nn.Parameter(Randn(d, d, s));
                    wk = nn.Parameter(Randn(d, d, s));
                    wv = nn.Parameter(Randn(d, d, s));
                    gamma = nn.Parameter(ones(1));
                    rel_bias = nn.Parameter(zeros(k, k));
                    o_sub = nn.Parameter(Randn(k, d, s));
                    c_sub = nn.Parameter(zeros(k));
                    w_gate = nn.Parameter(zeros(k * d, k));
                    b_gate = nn.Parameter(zeros(k));
                    relations = tensor(labelCorrelations, new long[] { k, k });
                }
                cal_scale = nn.Parameter(zeros(k));
                cal_bias = nn.Parameter(zeros(k));
            }
            RegisterComponents();

            // randn(a, b) * f, the draw held by a using local (no dispose scope here) and f a kept Scalar
            static Tensor Randn(long a, long b, float f)
            {
                using var r = randn(a, b);
                return r.mul(Scalars.Of(f));
            }
        }

        /// <summary>Fused score [B] and, two-step, sub-scores [B, K], from standardized logits z [B, K].</summary>
        public (Tensor score, Tensor? sub) Forward(Tensor z)
        {
            if (!TwoStep)
                return (z.matmul(w!), null);
            long b = z.shape[0];
            var e = (z.unsqueeze(-1) * u!).Plus(v!);                                   // [B, K, d]
            var q = e.matmul(wq!);
            var kt = e.matmul(wk!).transpose(1, 2);
            var bias = (gamma! * relations!).Plus(rel_bias!);                           // [K, K]
            var att = q.matmul(kt).mul(Scalars.Of(1f / MathF.Sqrt(D))).Plus(bias).softmax(-1);  // [B, K, K]
            var h = e.Plus(att.matmul(e.matmul(wv!)));                                // [B, K, d]
            var sub = (h * o_sub!).sum(-1).Plus(c_sub!);                              // [B, K]
            var g = h.reshape(b, K * D).matmul(w_gate!).Plus(b_gate!).softmax(-1);  // [B, K]
            return ((g * sub).sum(-1), sub);
        }

        /// <summary>BCE heads: per-objective logits of the fused score [B, K].</summary>
        public Tensor Calibrated(Tensor score) => (score.unsqueeze(-1) * Scalars.Softplus(cal_scale)).Plus(cal_bias);

        /// <summary>Effective one-step weights on the objectives' logits (w_k / σ_k); null for the two-step network.</summary>
        public float[]? LogitWeights(float[] sigma)
            => w is null ? null : Values(w).Select((x, k) => x / sigma[k]).ToArray();

        /// <summary>The attention prior's scale γ (two-step), else null.</summary>
        public float? RelationScale => gamma is null ? null : Values(gamma)[0];

        private static float[] Values(Tensor t)
        {
            // the export and the summaries run outside the training's dispose scopes: this one holds the intermediate
            // tensors (detach, cpu) until their values are copied (an unreferenced temporary could otherwise be finalized
            // by a collection on another thread while libtorch reads it)
            using var scope = NewDisposeScope();
            return t.detach().cpu().data<float>().ToArray();
        }

        /// <summary>Writes the network after the standardization <c>z</c> [N, K]; returns the fused score [N, 1] and the sub-scores.</summary>
        public (string score, string? sub) Export(OnnxGraphBuilder g, string z)
        {
            if (!TwoStep)
                return (g.MatMul(z, g.AddConstant(Values(w!), new long[] { K, 1 }, "w")), null);
            var e = g.Add(g.Mul(g.Unsqueeze(z, new long[] { 2 }), g.AddConstant(Values(u!), new long[] { K, D }, "u")),
                          g.AddConstant(Values(v!), new long[] { K, D }, "v"));
            var q = g.MatMul(e, g.AddConstant(Values(wq!), new long[] { D, D }, "wq"));
            var kt = g.Transpose(g.MatMul(e, g.AddConstant(Values(wk!), new long[] { D, D }, "wk")), new long[] { 0, 2, 1 });
            float gm = Values(gamma!)[0];
            var rb = Values(rel_bias!);
            var bias = new float[K * K];
            for (int i = 0; i < bias.Length; i++)
                bias[i] = gm * _relations[i] + rb[i];
            var logits = g.Add(g.Mul(g.MatMul(q, kt), g.AddConstant(new[] { 1f / MathF.Sqrt(D) }, new long[] { 1 }, "inv_sqrt_d")),
                               g.AddConstant(bias, new long[] { K, K }, "relation_bias"));
            var att = g.Softmax(logits, -1);
            var h = g.Add(e, g.MatMul(att, g.MatMul(e, g.AddConstant(Values(wv!), new long[] { D, D }, "wv"))));
            var sub = g.Add(g.ReduceSum(g.Mul(h, g.AddConstant(Values(o_sub!), new long[] { K, D }, "o_sub")), new long[] { 2 }, keepDims: false),
                            g.AddConstant(Values(c_sub!), new long[] { K }, "c_sub"));
            var gate = g.Softmax(g.Add(g.MatMul(g.Reshape(h, new long[] { -1, K * D }), g.AddConstant(Values(w_gate!), new long[] { K * D, K }, "w_gate")),
                                       g.AddConstant(Values(b_gate!), new long[] { K }, "b_gate")), 1);
            var score = g.ReduceSum(g.Mul(gate, sub), new long[] { 1 }, keepDims: true);
            return (score, sub);
        }
    }
}
