using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>How <see cref="TargetAttentionPooling"/> turns the activation unit's weights <c>a(q, k)</c> into the pooled vector
    /// (n = the number of present steps; padding never counts). The unit starts as an equal-weight pooling (its output layer's
    /// weights are zero at initialisation): mean pooling for <see cref="Mean"/> and <see cref="Softmax"/>, sum pooling for
    /// <see cref="Sum"/>; training moves the weights from there.</summary>
    public enum AttentionWeighting
    {
        /// <summary><c>Σ a·k</c>: the DIN paper's un-normalised weights. The pooled vector's scale grows with the history's
        /// length (a per-user shift of every score).</summary>
        Sum = 0,

        /// <summary><c>Σ a·k / n</c>: DIN's un-normalised weights (the relative intensity of interest is kept: a history that
        /// matches the query in more steps weighs more) without the growth with the history's length.</summary>
        Mean = 1,

        /// <summary><c>Σ softmax(a)·k</c> over the present steps: attention in the usual sense (weights sum to 1; what DIN's
        /// released code computes).</summary>
        Softmax = 2,
    }

    /// <summary>
    /// DIN target attention (Zhou et al., KDD 2018): each step k of the sequence gets the weight
    /// <c>a(q, k) = MLP([q, k, q − k, q ⊙ k])</c> (the local activation unit: ReLU hidden layers, one linear output), padding
    /// masked, and the pooled vector is <c>Σ a(q, k) · k / n</c> over the n present steps by default (DIN's un-normalised
    /// weights, which keep the intensity of interest, without the paper's growth with the history's length); the paper's raw sum
    /// or a softmax over the steps with <see cref="Weighting"/>. The query is another declared feature of the candidate:
    /// <list type="bullet">
    /// <item>a <see cref="CategoricalFeature"/> (e.g. the room id: V2's watched-room sequence attended by the candidate room);</item>
    /// <item>a <see cref="SequenceFeature"/> or a vector categorical feature: a <em>set query</em> (V2's dual target attention:
    /// every product the room has on sale attends over the clicked-item history; the results are averaged over the set's
    /// non-missing ids).</item>
    /// </list>
    /// The query must embed in the sequence's dimension; share the table (<see cref="SequenceFeature.SharedEmbeddingWith"/>)
    /// when both are ids of one space. Cost per candidate: <c>Q · L · d · h</c> multiply-adds for the first layer (Q query ids,
    /// L steps, h the first hidden size); the key side (<c>k · W</c>) is computed once per request when the sequence is
    /// <see cref="SequenceFeature.SameForAllCandidates"/>.
    /// </summary>
    public sealed class TargetAttentionPooling : SequencePooling
    {
        /// <summary>Target attention with the embedding of feature <paramref name="queryFeatureName"/> as the query.</summary>
        public TargetAttentionPooling(string queryFeatureName)
        {
            if (string.IsNullOrWhiteSpace(queryFeatureName))
                throw new ArgumentException("Target attention needs a query feature name.", nameof(queryFeatureName));
            QueryFeatureName = queryFeatureName;
        }

        /// <summary>The query feature (a declared categorical or sequence feature of the candidate).</summary>
        public string QueryFeatureName { get; }

        /// <summary>Hidden layers of the local activation unit. Default [32].</summary>
        public int[] HiddenLayers { get; set; } = new[] { 32 };

        /// <summary>How the activation unit's weights pool the steps. Default <see cref="AttentionWeighting.Mean"/>
        /// (<c>Σ a·k / n</c>: DIN's un-normalised weights divided by the number of present steps).</summary>
        public AttentionWeighting Weighting { get; set; } = AttentionWeighting.Mean;

        /// <summary>Appends the <em>intensity of interest</em> to the pooled vector: one more dimension holding the mean of the
        /// activation unit's raw weights <c>a(q, k)</c> over the present steps (averaged over a set query's ids), batch-normalised
        /// (running statistics in serving), so the network sees how strongly the history matches the query, not only a weighted
        /// average of its embeddings. The planted item-level interest of the simulator is such a mass (the share of the room's items
        /// on sale matched in the history). Learns only together with <see cref="MatchDetectors"/> (see docs/benchmarks-sequences.md).
        /// Default false.</summary>
        public bool IncludeIntensity { get; set; }

        /// <summary>Lets the activation unit see matches from the start: the query and key embeddings it reads are layer-normalised
        /// (no learned scale; the pooled values stay the raw embeddings), and half of its first hidden layer starts as thresholded
        /// dot products <c>relu(q̂·k̂ − θ)</c> (θ from 0 to d; with one hidden layer the output reads them with weight 0.01), the
        /// other half as usual: the unit starts near equal-weight pooling (a ≈ 1). Without it, the embeddings' small initial scale
        /// (N(0, 0.05)) leaves the unit's inputs near zero and its weights barely move in a short training. Default false.</summary>
        public bool MatchDetectors { get; set; }

        /// <summary>Ablation: batch-normalise the intensity (default true; false = the raw mean weight).</summary>
        internal bool IntensityBatchNorm { get; set; } = true;

        /// <summary>Ablation: layer-normalised unit inputs only (half of <see cref="MatchDetectors"/>).</summary>
        internal bool NormalizeInputs { get; set; }

        /// <summary>Ablation: the dot-product initialisation only (half of <see cref="MatchDetectors"/>).</summary>
        internal bool SimilarityInit { get; set; }

        /// <summary>Standard deviation of the activation unit's output weights at initialisation (experiments; 0 = the unit
        /// starts exactly as equal-weight pooling).</summary>
        internal float OutputInitStd { get; set; }

        /// <summary>Diagnostic: the unit reads detached query and key embeddings (no gradient from the weights into the tables;
        /// the pooled values keep theirs).</summary>
        internal bool DetachUnitInputs { get; set; }

        /// <summary>Diagnostic: the output layer's bias stays at its start (the pooled vector's base scale is fixed).</summary>
        internal bool FixOutputBias { get; set; }

        /// <summary>Diagnostic: every weight of the unit stays at its start (equal-weight pooling throughout).</summary>
        internal bool FreezeUnit { get; set; }

        /// <summary>Experiment: dropout on the unit's hidden activations in training (0 = none).</summary>
        internal float UnitDropout { get; set; }

        /// <summary>How fast the activation unit learns relative to the rest of the network: its output layer's weights are used
        /// multiplied by this factor (<c>a(q, k) = b + s · w·h(q, k)</c>), so under the trainer's optimizers (Adam, AdamW and
        /// Adagrad normalise each weight's step) the unit moves the attention weights away from equal-weight pooling about this
        /// many times slower. The unit still starts as equal-weight pooling (w = 0), learns what the data support, and its
        /// output bias b (the pooled vector's scale) is not scaled. Below 1 it shrinks the unit toward mean pooling: with few
        /// labels of a task (a rare buy task) and no candidate-dependent interest in the data, a full-rate unit fits candidate ×
        /// history interactions of the training set (in docs/benchmarks-sequences.md: train Buy AUC +0.02; test Buy AUC −0.005 at
        /// 20,000 impressions and −0.004 at 100,000, which 0.1 removes at 20,000 and halves at 100,000).
        /// Default 1 (no scaling). Must be finite and &gt; 0.</summary>
        public float LearningRateScale { get; set; } = 1f;

        /// <summary>
        /// Strength λ of a training-only penalty that pulls the activation unit toward equal-weight pooling (mean pooling with
        /// the default <see cref="Weighting"/>, where the unit starts): the objective gains <c>λ · mean over the batch's queries of
        /// (1/n) Σ_l (a(q, k_l) − b)²</c>, the mean squared deviation of the unit's raw weights over the n present steps of each
        /// query from the output layer's bias b (the unit's learned constant weight; under <see cref="AttentionWeighting.Softmax"/>
        /// the weights before the softmax). Equal weights cost nothing, whatever b; any weight that depends on the candidate or
        /// the step costs its square. (Penalising only the weights' variance over the steps was measured too and left the
        /// candidate-dependent scale of the pooled vector free, which is where the unit fits noise under
        /// <see cref="AttentionWeighting.Mean"/>; see docs/benchmarks-sequences.md.) The unit still learns where the data carry a
        /// candidate-dependent interest strongly enough to pay for the penalty; with rare labels and nothing of the kind to
        /// learn, it stays near where it starts instead of fitting candidate × history noise. Reported per epoch as the feature's auxiliary loss
        /// (<see cref="MultiTaskEpoch.AuxiliaryLosses"/>); the exported model is not affected and costs nothing more to serve.
        /// Training cost: a few element-wise operations on the <c>[batch, queries, steps]</c> weights. It acts on the weights
        /// the unit computes, so it is independent of <see cref="LearningRateScale"/> (which changes how fast the unit moves;
        /// both can be combined). See docs/multitask.md for the measured effect. Default 0 (off). Must be finite and &gt;= 0.
        /// </summary>
        public float EqualWeightPenalty { get; set; }

        /// <summary>Ablation of <see cref="EqualWeightPenalty"/>: penalise the raw weights' deviation from their mean over each
        /// query's present steps (their variance) instead of from the output bias, which leaves the candidate-dependent scale
        /// ā(q) of the pooled vector free.</summary>
        internal bool PenaltyAroundMean { get; set; }

        /// <inheritdoc/>
        public override IReadOnlyList<string> QueryFeatureNames => new[] { QueryFeatureName };

        /// <inheritdoc/>
        public override int GetOutputDimension(int embeddingDimension) => embeddingDimension + (IncludeIntensity ? 1 : 0);

        /// <inheritdoc/>
        public override void Validate(SequencePoolingContext context)
        {
            base.Validate(context);
            if (!Enum.IsDefined(Weighting))
                throw new ArgumentOutOfRangeException(nameof(Weighting), $"Sequence feature '{context.FeatureName}': TargetAttentionPooling.Weighting {(int)Weighting} is not an AttentionWeighting.");
            if (!float.IsFinite(LearningRateScale) || LearningRateScale <= 0f)
                throw new ArgumentOutOfRangeException(nameof(LearningRateScale), $"Sequence feature '{context.FeatureName}': TargetAttentionPooling.LearningRateScale {LearningRateScale} must be finite and > 0.");
            if (!float.IsFinite(EqualWeightPenalty) || EqualWeightPenalty < 0f)
                throw new ArgumentOutOfRangeException(nameof(EqualWeightPenalty), $"Sequence feature '{context.FeatureName}': TargetAttentionPooling.EqualWeightPenalty {EqualWeightPenalty} must be finite and >= 0 (0 = no penalty).");
            if (HiddenLayers is null || HiddenLayers.Length == 0 || HiddenLayers.Any(h => h < 1))
                throw new ArgumentOutOfRangeException(nameof(HiddenLayers), $"Sequence feature '{context.FeatureName}': TargetAttentionPooling.HiddenLayers needs at least one size, each >= 1.");
        }

        /// <inheritdoc/>
        public override SequencePoolingModule CreateModule(SequencePoolingContext context)
        {
            Validate(context);
            return new TargetAttentionModule(context.FeatureName, context.EmbeddingDimension, HiddenLayers, Weighting, IncludeIntensity, OutputInitStd,
                MatchDetectors || NormalizeInputs, MatchDetectors || SimilarityInit, IntensityBatchNorm)
                { QueryLength = context.QueryMaximumLengths.Count > 0 ? context.QueryMaximumLengths[0] : 0,
                  DetachInputs = DetachUnitInputs, FixBias = FixOutputBias, Frozen = FreezeUnit, Dropout = UnitDropout, Scale = LearningRateScale,
                  Penalty = EqualWeightPenalty, PenaltyAroundMean = PenaltyAroundMean };
        }
    }

    /// <summary>The local activation unit and the weighted sum; the first layer over <c>[q, k, q − k, q ⊙ k]</c> is computed as
    /// <c>q(W_q + W_d) + k(W_k − W_d) + (q ⊙ k)W_p</c>, the last term as one product of the queries with <c>k ⊗ W_p</c>; the exported graph folds the
    /// whole first layer into that product (one GEMM per chunk of queries for a request-level sequence, no broadcast additions;
    /// see <see cref="Export"/>).</summary>
    internal sealed partial class TargetAttentionModule : SequencePoolingModule
    {
        private readonly Linear first;
        private readonly ModuleList<Linear> hidden = new();
        private readonly Linear output;
        private readonly int _d;
        private readonly bool _normalize;
        private readonly bool _divide;
        private readonly bool _intensity;
        private readonly bool _normalizeInputs;
        private readonly BatchNorm1d? intensity_norm;

        public TargetAttentionModule(string name, int d, int[] layers, AttentionWeighting weighting, bool intensity = false, float outputInitStd = 0f, bool normalizeInputs = false, bool similarityInit = false, bool normalizeIntensity = false) : base(name)
        {
            if (intensity && normalizeIntensity)
                intensity_norm = nn.BatchNorm1d(1);
            _normalizeInputs = normalizeInputs;
            _d = d;
            _intensity = intensity;
            _normalize = weighting == AttentionWeighting.Softmax;
            _divide = weighting == AttentionWeighting.Mean;
            first = nn.Linear(4 * d, layers[0]);
            for (int i = 1; i < layers.Length; i++)
                hidden.Add(nn.Linear(layers[i - 1], layers[i]));
            output = nn.Linear(layers[^1], 1);
            // start as an equal-weight pooling (a = 1; any constant under softmax): the network begins where mean (or sum)
            // pooling is and learns how far the candidate should move the weights
            using (no_grad())
            using (NewDisposeScope())   // the views and values made here are temporaries: held until the block ends
            {
                if (outputInitStd > 0f)
                    output.weight!.normal_(0, outputInitStd);
                else
                    output.weight!.zero_();
                output.bias!.fill_(Scalars.Of(_normalize ? 0f : 1f));
                if (similarityInit)
                {
                    // units j < h/2: relu(q·k − θ_j), thresholds from 0 to d (q·k of layer-normalised vectors is d·cos)
                    int half = layers[0] / 2;
                    for (int j = 0; j < half; j++)
                    {
                        first.weight![j].zero_();
                        first.weight![j].narrow(0, 3 * d, d).fill_(Scalars.Of(1f));
                        first.bias![j] = -(float)d * j / half;
                        if (layers.Length == 1)
                            output.weight![0, j] = 0.01f;
                    }
                }
            }
            RegisterComponents();
        }

        /// <summary>Diagnostics (see <see cref="TargetAttentionPooling.DetachUnitInputs"/> and the two after it).</summary>
        internal bool DetachInputs { get; init; }
        internal bool FixBias { get; init; }
        internal bool Frozen { get; init; }
        internal float Dropout { get; init; }
        internal float Scale { get; init; } = 1f;

        /// <summary><see cref="TargetAttentionPooling.EqualWeightPenalty"/> (0 = none) and its ablation.</summary>
        internal float Penalty { get; init; }
        internal bool PenaltyAroundMean { get; init; }

        public override Tensor forward(SequencePoolingBatch b)
        {
            var q = b.Queries[0];                          // [B, Q, d]
            var qm = b.QueryMasks[0];                      // [B, Q]
            var k = b.Embedded;                            // [R, L, d]
            var values = k;                                // what the weights pool
            if (DetachInputs || Frozen)
            {
                q = q.detach();
                k = k.detach();
            }
            if (_normalizeInputs)
            {
                q = nn.functional.layer_norm(q, new long[] { _d });
                k = nn.functional.layer_norm(k, new long[] { _d });
            }
            var m = b.Mask;                                // [R, L]
            long h0 = first.weight!.shape[0], R = k.shape[0], L = k.shape[1], B = q.shape[0], Q = q.shape[1];
            var w = Frozen ? first.weight!.detach() : first.weight!;
            var bias1 = Frozen ? first.bias!.detach() : first.bias!;
            var wq = w.narrow(1, 0, _d);
            var wk = w.narrow(1, _d, _d);
            var wd = w.narrow(1, 2 * _d, _d);
            var wp = w.narrow(1, 3 * _d, _d);
            var hq = q.matmul(wq.Plus(wd).t()).Plus(bias1);                              // [B, Q, h]
            var hk = k.matmul((wk - wd).t());                                             // [R, L, h]
            // (q ⊙ k) W_pᵀ = q · (k ⊗ W_pᵀ): kp[r, j, l·h + c] = k[r, l, j] · W_p[c, j]
            var kp = (k.unsqueeze(3) * wp.t().unsqueeze(0).unsqueeze(0)).permute(0, 2, 1, 3).reshape(R, _d, L * h0);
            var hp = q.matmul(kp).reshape(B, Q, L, h0);                                  // [B, Q, L, h]
            var x = nn.functional.relu(hq.unsqueeze(2).Plus(hk.unsqueeze(1)).Plus(hp));
            foreach (var l in hidden)
                x = nn.functional.relu(Frozen ? nn.functional.linear(x, l.weight!.detach(), l.bias!.detach()) : l.forward(x));
            if (Dropout > 0f)
                x = nn.functional.dropout(x, Dropout, training);
            if (Scale != 1f)
                x = x.mul(Scalars.Of(Scale));
            var s = (Frozen || FixBias
                ? nn.functional.linear(x, Frozen ? output.weight!.detach() : output.weight!, output.bias!.detach())
                : output.forward(x)).squeeze(-1);                                        // [B, Q, L]
            var mm = m.unsqueeze(1);                                                      // [R, 1, L]
            if (Penalty > 0f && training && !Frozen)
                AddAuxiliaryLoss(EqualWeightDeviation(s, mm, qm).mul(Scalars.Of(Penalty)));
            // intensity of interest: mean raw weight over the present steps, [B, Q]
            var intensity = _intensity ? (s * mm).sum(-1) / mm.sum(-1).clamp_min(Scalars.Of(1f)) : null;
            s = _normalize ? nn.functional.softmax(s.Plus(mm.sub(Scalars.Of(1f)).mul(Scalars.Of(1e9f))), -1) * mm : s * mm;
            if (_divide)
                s = s / mm.sum(-1, keepdim: true).clamp_min(Scalars.Of(1f));
            var o = s.matmul(values);                                                     // [B, Q, d]
            var pooled = (o * qm.unsqueeze(2)).sum(1) / qm.sum(1, keepdim: true).clamp_min(Scalars.Of(1f));
            if (intensity is null)
                return pooled;
            var mass = (intensity * qm).sum(1, keepdim: true) / qm.sum(1, keepdim: true).clamp_min(Scalars.Of(1f));  // [B, 1]
            if (intensity_norm is not null)
                mass = BatchNorm(intensity_norm, mass);
            return cat(new[] { pooled, mass }, 1);                                        // [B, d + 1]
        }

        /// <summary>Mean over the queries (qm > 0) of the raw weights' mean squared deviation over each query's present steps
        /// from the output bias (the output layer's product alone), or (<see cref="PenaltyAroundMean"/>) from their mean over the
        /// steps. A query over an empty history counts 0.</summary>
        private Tensor EqualWeightDeviation(Tensor s, Tensor mm, Tensor qm)
        {
            var n = mm.sum(-1).clamp_min(Scalars.Of(1f));                                 // [R, 1]
            var center = PenaltyAroundMean ? (s * mm).sum(-1, keepdim: true) / n.unsqueeze(-1) : output.bias!;
            var perQuery = ((s - center).Squared() * mm).sum(-1) / n;                     // [B, Q]
            return (perQuery * qm).sum() / qm.sum().clamp_min(Scalars.Of(1f));
        }

        /// <summary>
        /// TorchSharp 0.107's <c>BatchNorm1d.forward</c>, step for step, except that it counts the batch with kept Scalars
        /// (TorchSharp's own <c>num_batches_tracked.add_(1)</c> passes a temporary one; <see cref="Scalars"/> says why that
        /// matters).
        /// </summary>
        private static Tensor BatchNorm(BatchNorm1d bn, Tensor input)
        {
            if (input.Dimensions != 2 && input.Dimensions != 3)
                throw new ArgumentException($"Expected 2D or 3D input to BatchNorm1d, got {input.Dimensions}D.");
            double factor = bn.momentum is null ? 0.0 : bn.momentum.Value;
            if (bn.training && bn.track_running_stats && bn.num_batches_tracked is { } tracked)
            {
                tracked.add_(Scalars.One, Scalars.One);
                factor = bn.momentum is null ? 1.0 / (double)tracked : bn.momentum.Value;
            }
            bool useBatchStats = bn.training || (bn.running_mean is null && bn.running_var is null);
            bool passRunning = !bn.training || bn.track_running_stats;
            return nn.functional.batch_norm(input, passRunning ? bn.running_mean : null, passRunning ? bn.running_var : null,
                bn.weight, bn.bias, useBatchStats, factor, bn.eps);
        }

        /// <summary>The most ids of the query feature (1 for a categorical query such as the room id; 0 = unknown): a set query's
        /// export skips padded queries and cuts the queries in chunks, a single query's does neither. Set by <see cref="TargetAttentionPooling.CreateModule"/>.</summary>
        internal int QueryLength { get; init; }

        /// <summary>Chunks of a set query's queries in the export, and the smallest chunk (the hidden tensor of 128 queries by
        /// 50 steps by 32 channels is 0.8 MB: in a core's L2 cache).</summary>
        private const int QueryChunks = 8, MinimumChunk = 128;

        /// <summary>
        /// The serving graph, laid out for one request's shared sequence (R = 1): the first layer's pre-activations are computed
        /// transposed, rows (channel c, step l) × columns (query), <c>H = K' · q'ᵀ</c> with <c>q' = [q, qm]</c> and
        /// <c>K'[(c, l)] = [k_l ⊙ W_p[c] + (W_q + W_d)[c] ; k_l·(W_k − W_d)[c] + b_c]</c> (the user side, computed once per request
        /// and stored transposed, so that its broadcasts run along the steps),
        /// so that the output layer is a one-row product <c>w_o · ReLU(H)</c> (a streaming kernel instead of a [·, 32] × [32, 1]
        /// product) and the step weights come out as [L, queries], ready for <c>Σ_l s_l k̃_l</c>. The mask, the division by the
        /// number of steps and the output bias are folded into the (user-side) keys k̃, so no pass runs over the [L, queries]
        /// weights for them. A set query (V2: the room's products on sale) skips its padded products and runs in chunks of
        /// queries, one after the other, so each chunk's hidden tensor stays in the core's cache.
        /// </summary>
        public override string Export(SequencePoolingGraph x)
        {
            var g = x.Graph;
            long h0 = first.weight!.shape[0];
            int chunks = QueryLength == 1 ? 1 : QueryChunks;
            string q = x.Queries[0], qm = x.QueryMasks[0], k = x.Embedded, m = x.Mask;
            string values = k;                                                                                   // pooled: the raw embeddings
            (q, k) = ExportNormalizedInputs(g, q, k);                                                           // what the unit reads
            Tensor w = first.weight!;
            string ReshapeTo(string t, string shape) => g.AddNode("Reshape", new[] { t, shape }, new[] { g.UniqueName("Reshape") });
            string I64(params long[] v) => g.AddConstant(v, new long[] { v.Length }, "i64");
            // user side (once per request when the sequence is request-level): K'ᵀ as [R, d + 1, h·L], columns (channel, step);
            // laid out so that both broadcasts run along the steps (one weight per span of L)
            using var wqd = w.narrow(1, 0, _d).Plus(w.narrow(1, 2 * _d, _d)).t().reshape(_d, h0, 1);             // [d, h, 1]
            using var wp = w.narrow(1, 3 * _d, _d).t().reshape(_d, h0, 1);                                       // [d, h, 1]
            using var wkd = (w.narrow(1, _d, _d) - w.narrow(1, 2 * _d, _d)).contiguous();                       // [h, d]
            var kT = g.Transpose(k, new long[] { 0, 2, 1 });                                                     // [R, d, L]
            var kq = g.Add(g.Mul(g.Unsqueeze(kT, new long[] { 2 }), AddWeight(g, wp, "din_wp")), AddWeight(g, wqd, "din_wq"));   // [R, d, h, L]
            var beta = g.Add(g.MatMul(AddWeight(g, wkd, "din_wk"), kT), AddWeight(g, first.bias!.reshape(h0, 1), "din_b"));      // [R, h, L]
            var kpT = ReshapeTo(g.Concat(1, new[] { kq, g.Unsqueeze(beta, new long[] { 1 }) }), I64(0, _d + 1, -1));   // [R, d + 1, h·L]
            var mm = g.Unsqueeze(m, new long[] { 2 });                                                           // [R, L, 1]
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            // the keys the step weights multiply: the mask (and the division by the number of steps) folded in
            var kw = g.Mul(values, _divide ? g.Div(mm, g.Max(new[] { g.ReduceSum(mm, new long[] { 1 }, keepDims: true), one })) : mm);   // [R, L, d]
            string? maskBias = _normalize ? g.Mul(g.Sub(mm, one), g.AddConstant(new[] { 1e9f }, new long[] { 1 }, "big")) : null;
            // query side: q' = [q, qm] as [R, B·Q / R, d + 1] (B = R, or R = 1: one product for the whole request)
            var qa = g.Concat(2, new[] { q, g.Unsqueeze(qm, new long[] { 2 }) });                                // [B, Q, d + 1]
            var r = g.Slice(g.Shape(k), new long[] { 0 }, new long[] { 1 }, new long[] { 0 });
            var rl = g.Slice(g.Shape(k), new long[] { 0 }, new long[] { 2 }, new long[] { 0 });
            var bq = g.Slice(g.Shape(q), new long[] { 0 }, new long[] { 2 }, new long[] { 0 });
            // a set query over a shared sequence (R = 1) skips its padded queries (a room with fewer products on sale than the
            // request's widest): the real ones are gathered, and their outputs scattered back to [B·Q, d] (zeros for the padded
            // ones); with one sequence per candidate (R = B) every query is kept
            string? kept = null, qmFlat = null;
            if (QueryLength != 1)
            {
                qmFlat = g.Reshape(qm, new long[] { -1 });                                                       // [B·Q]
                var perRow = g.AddNode("Not", new[] { g.Compare("Equal", r, I64(1)) }, new[] { g.UniqueName("Not") });
                var keep = g.AddNode("Or", new[] { g.Compare("Greater", qmFlat, g.AddConstant(new[] { 0f }, new long[] { 1 }, "zero")), perRow }, new[] { g.UniqueName("Or") });
                kept = g.Transpose(g.AddNode("NonZero", new[] { keep }, new[] { g.UniqueName("NonZero") }), new long[] { 1, 0 });   // [n, 1]
                qa = g.Gather(g.Reshape(qa, new long[] { -1, _d + 1 }), g.Reshape(kept, new long[] { -1 }));            // [n, d + 1]
            }
            var perR = ReshapeTo(qa, g.Concat(0, new[] { r, I64(-1, _d + 1) }));                                 // [R, N, d + 1]
            // the queries in chunks computed one after the other, so each chunk's [h·L, chunk] hidden tensor stays in the core's
            // cache: chunk = max(ceil(N / chunks) rounded up to 16, MinimumChunk); the last ones may be short or empty
            // (the queries are transposed once, [R, d + 1, N], and split along N: the products read them untransposed, which
            // with one query per row of K', R = B, Q = 1, makes each a matrix-vector product)
            var perRT = g.Transpose(perR, new long[] { 0, 2, 1 });                                               // [R, d + 1, N]
            var parts = Enumerable.Range(0, chunks).Select(i => g.UniqueName("din_chunk")).ToArray();
            if (chunks > 1)
            {
                var n = g.Slice(g.Shape(perR), new long[] { 1 }, new long[] { 2 }, new long[] { 0 });
                var cs = g.Max(new[] { g.Mul(g.Div(g.Add(g.Div(g.Add(n, I64(chunks - 1)), I64(chunks)), I64(15)), I64(16)), I64(16)), I64(MinimumChunk) });
                var starts = g.Mul(cs, I64(Enumerable.Range(0, chunks).Select(i => (long)i).ToArray()));
                var sizes = g.Max(new[] { g.Min(new[] { g.Sub(n, starts), cs }), I64(0) });
                g.AddNode("Split", new[] { perRT, sizes }, parts, OnnxAttribute.Int("axis", 2));
            }
            else   // a one-way Split keeps ONNX Runtime from folding the transpose into the product
                g.AddNode("Split", new[] { perRT }, parts, OnnxAttribute.Int("axis", 2));
            var byChannel = I64(0, h0, -1);
            var stepsByQuery = g.Concat(0, new[] { rl, I64(-1) });
            using var scaled = Scale != 1f ? output.weight!.mul(Scalars.Of(Scale)) : null;
            using var wo = (scaled ?? output.weight!).contiguous();
            var woName = AddWeight(g, wo, "din_wo");
            var outs = new List<string>();
            var rawSums = new List<string>();                                                                    // IncludeIntensity: Σ_l m_l s_l per query
            var maskRow = _intensity ? g.Unsqueeze(m, new long[] { 1 }) : null;                                  // [R, 1, L]
            foreach (var part in parts)
            {
                var a = ReshapeTo(g.Relu(g.MatMul(g.Transpose(kpT, new long[] { 0, 2, 1 }), part)), byChannel);   // [R, h, L·n]
                foreach (var l in hidden)
                    a = g.Relu(g.Add(g.MatMul(AddWeight(g, l.weight!, "din_w"), a), AddWeight(g, l.bias!.reshape(-1, 1), "din_b")));
                var s = ReshapeTo(g.MatMul(woName, a), stepsByQuery);                                           // [R, L, n]
                if (maskRow is not null)
                    rawSums.Add(g.MatMul(maskRow, s));                                                           // [R, 1, n]
                if (_normalize)
                    s = g.Softmax(g.Add(s, maskBias!), 1);
                outs.Add(g.MatMul(g.Transpose(s, new long[] { 0, 2, 1 }), kw));                                   // [R, n, d]
            }
            var o = outs.Count == 1 ? outs[0] : g.Concat(1, outs.ToArray());                                     // [R, N, d]
            if (!_normalize)   // the output bias: Σ_l b_o k̃_l
                o = g.Add(o, g.Mul(g.ReduceSum(kw, new long[] { 1 }, keepDims: true), AddWeight(g, output.bias!, "din_bo")));
            if (kept is not null)
            {
                var zeros = g.AddNode("ConstantOfShape", new[] { g.Concat(0, new[] { g.Shape(qmFlat!), I64(_d) }) }, new[] { g.UniqueName("zeros") });
                o = g.AddNode("ScatterND", new[] { zeros, kept, g.Reshape(o, new long[] { -1, _d }) }, new[] { g.UniqueName("ScatterND") });   // [B·Q, d]
            }
            o = ReshapeTo(o, g.Concat(0, new[] { bq, I64(_d) }));                                                 // [B, Q, d]
            var summed = g.ReduceSum(g.Mul(o, g.Unsqueeze(qm, new long[] { 2 })), new long[] { 1 }, keepDims: false);
            var count = g.Max(new[] { g.ReduceSum(qm, new long[] { 1 }, keepDims: true), one });
            var pooled = g.Div(summed, count);
            if (!_intensity)
                return pooled;
            // the mean raw weight over the present steps, per query: (Σ_l m_l s_l + b_o·steps) / max(steps, 1), the output bias
            // b_o being outside s here; padded queries (skipped above) get 0
            var raw = g.Reshape(rawSums.Count == 1 ? rawSums[0] : g.Concat(2, rawSums.ToArray()), new long[] { -1 });   // [R·N]
            if (kept is not null)
                raw = g.AddNode("ScatterND", new[] { g.AddNode("ConstantOfShape", new[] { g.Shape(qmFlat!) }, new[] { g.UniqueName("zeros") }), kept, raw }, new[] { g.UniqueName("ScatterND") });   // [B·Q]
            var steps = g.ReduceSum(m, new long[] { 1 }, keepDims: true);                                        // [R, 1]
            var perQuery = g.Div(g.Add(ReshapeTo(raw, bq), g.Mul(steps, AddWeight(g, output.bias!, "din_bo"))), g.Max(new[] { steps, one }));   // [B, Q]
            return ExportIntensity(g, pooled, perQuery, qm);
        }
    }
}
