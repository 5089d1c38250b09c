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
    /// <summary>What <see cref="TransformerPooling"/> outputs.</summary>
    public enum TransformerOutput
    {
        /// <summary>The final state of the room's summary token (a learned token placed before the room's tokens).</summary>
        SummaryToken,
        /// <summary>Scaled dot-product attention of the target feature's embedding (<see cref="TransformerPooling.TargetFeatureName"/>)
        /// over all final token states.</summary>
        TargetAttention,
    }

    /// <summary>
    /// The live-stream transformer of 1688's V4 ranker: one token sequence of several token types — the room's tokens (each
    /// query feature is one type, e.g. its historical core products <c>LiveCoreItems</c> and its real-time products
    /// <c>LiveItemsOnSale</c>), then the user's clicked items (this sequence feature) — each token = id embedding + type
    /// embedding + position embedding (recency within its segment: 0 = its last id), preceded by a learned summary token; <see cref="Layers"/>
    /// pre-norm layers of multi-head self-attention (one fused Q/K/V projection) and a ReLU feed-forward, each with layer
    /// norm and a residual, then a final layer norm. Output: the summary token, or target-attended pooling
    /// (<see cref="Output"/>).
    /// <para>
    /// Attention mask: the room's tokens (and the summary) attend to every token; the user's tokens attend to the user's
    /// tokens only. The user's token states then depend on the user alone, so when the sequence is
    /// <see cref="SequenceFeature.SameForAllCandidates"/> the exported graph computes them once per request (the request
    /// scorer feeds one row) and each candidate pays only for its room's ~15 tokens. With <see cref="TransformerOutput.SummaryToken"/>
    /// the last layer computes the summary token's query only. The token dimension is the embedding dimension d of the
    /// sequence (the room's features must embed in d too), split into <see cref="Heads"/> heads.
    /// </para>
    /// </summary>
    public sealed class TransformerPooling : SequencePooling
    {
        /// <summary>A transformer over the room's token features <paramref name="roomTokenFeatureNames"/> (declared sequence or
        /// categorical features, one token type each) and this sequence (the user's clicked items, the last type).</summary>
        public TransformerPooling(params string[] roomTokenFeatureNames)
        {
            if (roomTokenFeatureNames is null || roomTokenFeatureNames.Length == 0 || roomTokenFeatureNames.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException("The transformer needs at least one room token feature name (e.g. the room's items on sale).", nameof(roomTokenFeatureNames));
            RoomTokenFeatureNames = roomTokenFeatureNames.ToArray();
        }

        /// <summary>The room's token features, one token type each, in order.</summary>
        public IReadOnlyList<string> RoomTokenFeatureNames { get; }

        /// <summary>Transformer layers. Default 2.</summary>
        public int Layers { get; set; } = 2;

        /// <summary>Attention heads (must divide the embedding dimension). Default 4.</summary>
        public int Heads { get; set; } = 4;

        /// <summary>Hidden size of the feed-forward; 0 = 4 x the embedding dimension. Default 0.</summary>
        public int FeedForwardDimension { get; set; }

        /// <summary>The output. Default <see cref="TransformerOutput.SummaryToken"/>.</summary>
        public TransformerOutput Output { get; set; } = TransformerOutput.SummaryToken;

        /// <summary>For <see cref="TransformerOutput.TargetAttention"/>: the target (a categorical feature of the candidate, e.g. the
        /// room id, embedded in the same dimension). Default null.</summary>
        public string? TargetFeatureName { get; set; }

        /// <summary>Experiment (diagnosis bench): the attention output projection and the feed-forward's second layer start at 0.</summary>
        internal bool ZeroResidualInit { get; set; }

        /// <summary>Experiment (diagnosis bench): query and key projections start as the same random orthogonal projection.</summary>
        internal bool SimilarityInit { get; set; }

        /// <summary>Experiment (diagnosis bench): every linear layer's bias starts at 0.</summary>
        internal bool ZeroBiasInit { get; set; }

        /// <summary>Experiment (diagnosis bench): attention scores multiplied by this (1 = 1/sqrt(head dimension) scaling).</summary>
        internal float Temperature { get; set; } = 1f;

        /// <summary>Experiment (diagnosis bench): standard deviation of the type embeddings' initial values.</summary>
        internal double TypeInitStd { get; set; } = 0.02;

        /// <summary>Experiment (diagnosis bench): the final layer norm's gain starts at this value (1 = PyTorch's default).</summary>
        internal float OutputGainInit { get; set; } = 1f;

        /// <inheritdoc/>
        public override IReadOnlyList<string> QueryFeatureNames
            => Output == TransformerOutput.TargetAttention && TargetFeatureName is not null ? RoomTokenFeatureNames.Append(TargetFeatureName).ToArray() : RoomTokenFeatureNames;

        /// <inheritdoc/>
        public override void Validate(SequencePoolingContext context)
        {
            base.Validate(context);
            string f = context.FeatureName;
            if (Layers < 1)
                throw new ArgumentOutOfRangeException(nameof(Layers), $"Sequence feature '{f}': TransformerPooling.Layers must be >= 1 (was {Layers}).");
            if (Heads < 1 || context.EmbeddingDimension % Heads != 0)
                throw new ArgumentOutOfRangeException(nameof(Heads), $"Sequence feature '{f}': TransformerPooling.Heads ({Heads}) must be >= 1 and divide the embedding dimension ({context.EmbeddingDimension}).");
            if (FeedForwardDimension < 0)
                throw new ArgumentOutOfRangeException(nameof(FeedForwardDimension), $"Sequence feature '{f}': TransformerPooling.FeedForwardDimension must be >= 0.");
            if (Output == TransformerOutput.TargetAttention && string.IsNullOrWhiteSpace(TargetFeatureName))
                throw new ArgumentException($"Sequence feature '{f}': TransformerPooling with Output = TargetAttention needs TargetFeatureName (e.g. the room id feature).");
        }

        /// <inheritdoc/>
        public override SequencePoolingModule CreateModule(SequencePoolingContext context)
        {
            Validate(context);
            int d = context.EmbeddingDimension;
            int segments = RoomTokenFeatureNames.Count;
            int positions = Math.Max(context.MaximumLength, context.QueryMaximumLengths.Take(segments).DefaultIfEmpty(1).Max());
            return new TransformerModule(context.FeatureName, d, Heads, Layers, FeedForwardDimension > 0 ? FeedForwardDimension : 4 * d,
                segments, positions, Output == TransformerOutput.TargetAttention, ZeroResidualInit, SimilarityInit, ZeroBiasInit, Temperature, TypeInitStd, OutputGainInit);
        }
    }

    internal sealed class TransformerLayer : nn.Module<Tensor, Tensor>
    {
        public readonly LayerNorm ln1, ln2;
        public readonly Linear qkv, proj, ff1, ff2;

        public TransformerLayer(string name, int d, int ff) : base(name)
        {
            ln1 = nn.LayerNorm(d);
            ln2 = nn.LayerNorm(d);
            qkv = nn.Linear(d, 3 * d);
            proj = nn.Linear(d, d);
            ff1 = nn.Linear(d, ff);
            ff2 = nn.Linear(ff, d);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => throw new NotSupportedException("Called through TransformerModule.");
    }

    internal sealed class TransformerModule : SequencePoolingModule
    {
        private readonly Embedding type_embedding, position_embedding;
        private readonly Parameter summary;
        private readonly ModuleList<TransformerLayer> layers = new();
        private readonly LayerNorm final_norm;
        private readonly int _d, _heads, _segments;
        private readonly bool _target;
        private readonly float _scale;
        private const float Big = 1e9f;

        /// <summary>Diagnosis only (benches): called after each training forward with the pooled output [B, d] and the first
        /// layer's attention probabilities of the room's tokens [B, h, Lr, Lr + L] (room keys first, then the user's), and the batch.</summary>
        internal static Action<Tensor, Tensor, SequencePoolingBatch>? Probe;

        public TransformerModule(string name, int d, int heads, int layerCount, int ff, int segments, int positions, bool targetOutput, bool zeroResidual = false, bool similarity = false, bool zeroBias = false, float temperature = 1f, double typeStd = 0.02, float outputGain = 1f) : base(name)
        {
            _d = d;
            _heads = heads;
            _segments = segments;
            _target = targetOutput;
            _scale = temperature / MathF.Sqrt(d / heads);
            type_embedding = nn.Embedding(segments + 2, d);        // room segments..., user, summary
            position_embedding = nn.Embedding(positions, d);
            using (no_grad())
            {
                nn.init.normal_(type_embedding.weight!, 0, typeStd);
                nn.init.normal_(position_embedding.weight!, 0, 0.02);
            }
            summary = nn.Parameter(zeros(d));
            for (int i = 0; i < layerCount; i++)
                layers.Add(new TransformerLayer($"layer{i}", d, ff));
            using (no_grad())
            using (NewDisposeScope())   // the views made here are temporaries: held until the block ends
                foreach (var l in layers)
                {
                    if (zeroBias)
                        foreach (var lin in new[] { l.qkv, l.proj, l.ff1, l.ff2 })
                            lin.bias!.zero_();
                    if (zeroResidual)
                    {
                        l.proj.weight!.zero_();
                        l.proj.bias!.zero_();
                        l.ff2.weight!.zero_();
                        l.ff2.bias!.zero_();
                    }
                    if (similarity)
                    {
                        using var g = randn(d, d);
                        var (qm, rm) = linalg.qr(g);
                        l.qkv.weight!.narrow(0, 0, d).copy_(qm);
                        l.qkv.weight!.narrow(0, d, d).copy_(qm);
                        l.qkv.bias!.narrow(0, 0, 2 * d).zero_();
                        qm.Dispose();
                        rm.Dispose();
                    }
                }
            final_norm = nn.LayerNorm(d);
            if (outputGain != 1f)
                using (no_grad())
                    final_norm.weight!.fill_(Scalars.Of(outputGain));
            RegisterComponents();
        }

        /// <summary>The trained parameters in the request scorer's native form (summary-token output with the standard 1/sqrt(dh)
        /// scaling only; null otherwise: the block then serves through its ONNX export alone).</summary>
        internal MLNetRank.Serving.Native.TransformerParameters? NativeParameters()
        {
            if (_target || MathF.Abs(_scale * MathF.Sqrt(_d / _heads) - 1f) > 1e-6f)
                return null;
            static float[] A(Tensor t)
            {
                using var c = t.detach().cpu().contiguous();
                return c.data<float>().ToArray();
            }
            return new MLNetRank.Serving.Native.TransformerParameters
            {
                Dimension = _d, Heads = _heads, FeedForward = (int)layers[0].ff1.weight!.shape[0], Layers = layers.Count,
                Positions = (int)position_embedding.weight!.shape[0], Segments = _segments,
                TypeEmbedding = A(type_embedding.weight!), PositionEmbedding = A(position_embedding.weight!), Summary = A(summary),
                LayerParameters = layers.Select(l => new MLNetRank.Serving.Native.LayerParameters
                {
                    Norm1Gain = A(l.ln1.weight!), Norm1Bias = A(l.ln1.bias!), QkvWeight = A(l.qkv.weight!), QkvBias = A(l.qkv.bias!),
                    ProjWeight = A(l.proj.weight!), ProjBias = A(l.proj.bias!), Norm2Gain = A(l.ln2.weight!), Norm2Bias = A(l.ln2.bias!),
                    Ff1Weight = A(l.ff1.weight!), Ff1Bias = A(l.ff1.bias!), Ff2Weight = A(l.ff2.weight!), Ff2Bias = A(l.ff2.bias!),
                }).ToArray(),
                FinalGain = A(final_norm.weight!), FinalBias = A(final_norm.bias!),
            };
        }

        // ---------------- TorchSharp ----------------

        private Tensor Heads(Tensor x) => x.reshape(x.shape[0], x.shape[1], _heads, _d / _heads).transpose(1, 2);   // [N, h, T, dh]

        private Tensor Merge(Tensor x) => x.transpose(1, 2).reshape(x.shape[0], x.shape[2], _d);

        private Tensor Ffn(TransformerLayer l, Tensor x) => x.Plus(l.ff2.forward(nn.functional.relu(l.ff1.forward(l.ln2.forward(x)))));

        /// <summary>Recency positions: a token's position is the number of real tokens after it in its segment (0 = the most
        /// recent), so padding, wherever it stands, changes nothing.</summary>
        private Tensor Positions(Tensor mask)
        {
            var after = mask.flip(1).cumsum(1).flip(1) - mask;
            return position_embedding.forward(after.clamp_max(Scalars.Of(position_embedding.weight!.shape[0] - 1)).to_type(ScalarType.Int64));
        }

        public override Tensor forward(SequencePoolingBatch b)
        {
            var u = b.Embedded;                                                       // [R, L, d]
            var typew = type_embedding.weight!;
            u = u.Plus(typew[_segments]).Plus(Positions(b.Mask));
            var biasU = b.Mask.sub(Scalars.Of(1f)).mul(Scalars.Of(Big)).unsqueeze(1).unsqueeze(1);             // [R, 1, 1, L]
            long B = b.Queries[0].shape[0];
            var parts = new List<Tensor> { summary.Plus(typew[_segments + 1]).reshape(1, 1, _d).expand(B, 1, _d) };
            var masks = new List<Tensor> { ones(B, 1, dtype: ScalarType.Float32, device: u.device) };
            for (int s = 0; s < _segments; s++)
            {
                var q = b.Queries[s];
                parts.Add(q.Plus(typew[s]).Plus(Positions(b.QueryMasks[s])));
                masks.Add(b.QueryMasks[s]);
            }
            var x = cat(parts, 1);                                                   // [B, Lr, d]
            var biasR = cat(masks, 1).sub(Scalars.Of(1f)).mul(Scalars.Of(Big)).unsqueeze(1).unsqueeze(1);      // [B, 1, 1, Lr]
            Tensor? firstP = null;
            for (int i = 0; i < layers.Count; i++)
            {
                var l = layers[i];
                bool last = i == layers.Count - 1;
                var un = l.ln1.forward(u);
                var qkvU = l.qkv.forward(un).chunk(3, -1);
                Tensor qU = Heads(qkvU[0]), kU = Heads(qkvU[1]), vU = Heads(qkvU[2]);
                var xn = l.ln1.forward(x);
                var qkvX = l.qkv.forward(xn).chunk(3, -1);
                Tensor qX = Heads(qkvX[0]), kX = Heads(qkvX[1]), vX = Heads(qkvX[2]);
                bool summaryOnly = last && !_target;
                if (summaryOnly)
                    qX = qX.narrow(2, 0, 1);
                // room (and summary) queries over room and user keys
                var sR = qX.matmul(kX.transpose(-2, -1)).mul(Scalars.Of(_scale)).Plus(biasR);
                var sU = qX.matmul(kU.transpose(-2, -1)).mul(Scalars.Of(_scale)).Plus(biasU);
                var p = nn.functional.softmax(cat(new[] { sR, sU }, -1), -1);
                if (i == 0)
                    firstP = p;
                long lr = kX.shape[2];
                var a = p.narrow(-1, 0, lr).matmul(vX).Plus(p.narrow(-1, lr, p.shape[3] - lr).matmul(vU));
                var xr = summaryOnly ? x.narrow(1, 0, 1) : x;
                x = Ffn(l, xr.Plus(l.proj.forward(Merge(a))));
                if (!summaryOnly)
                {
                    // user queries over user keys only
                    var pu = nn.functional.softmax(qU.matmul(kU.transpose(-2, -1)).mul(Scalars.Of(_scale)).Plus(biasU), -1);
                    u = Ffn(l, u.Plus(l.proj.forward(Merge(pu.matmul(vU)))));
                }
            }
            if (!_target)
                return Probed(final_norm.forward(x).squeeze(1), firstP!, b);           // [B, d]
            var xf = final_norm.forward(x);
            var uf = final_norm.forward(u);
            var t = b.Queries[_segments];                                            // [B, 1, d]
            float sc = 1f / MathF.Sqrt(_d);
            var tsR = t.matmul(xf.transpose(1, 2)).mul(Scalars.Of(sc)).Plus(biasR.squeeze(1));          // [B, 1, Lr]
            var tsU = t.matmul(uf.transpose(1, 2)).mul(Scalars.Of(sc)).Plus(biasU.squeeze(1));          // [B, 1, L]
            var tp = nn.functional.softmax(cat(new[] { tsR, tsU }, -1), -1);
            long n = xf.shape[1];
            return Probed(tp.narrow(-1, 0, n).matmul(xf).Plus(tp.narrow(-1, n, tp.shape[2] - n).matmul(uf)).squeeze(1), firstP!, b);
        }

        private Tensor Probed(Tensor output, Tensor firstP, SequencePoolingBatch b)
        {
            if (Probe is { } probe && training)
                using (no_grad())
                    probe(output.detach(), firstP.detach(), b);
            return output;
        }

        // ---------------- ONNX ----------------
        //
        // Serving form. The user's tokens come as R rows (R = 1 under the request scorer: one row per request; R = B
        // otherwise), the candidates' room tokens as B rows, N = B / R candidates per user row. Each token enters attention
        // as a = [LN(x), 1, padding bias (0 or -1e9)] (d + 2 values). The key projection is absorbed into the query side
        // and the value projection into the output side, per head: score(q-token, k-token) = a_q · Wqk_h · a_kᵀ with
        // Wqk_h = Wq_h·Wk_hᵀ (scale 1/sqrt(dh) and the biases included; the padding bias reaches every score with weight
        // exactly 1), and the attention output = Σ_h (Σ_k p_hk · a_k) · Wvo_h with Wvo_h = Wv_h·Wo_h. So no key or value
        // is ever computed or broadcast: the room queries' scores against the user's tokens are ONE MatMul for all
        // candidates, tokens and heads ([N·T·h, d + 2] x [d + 2, L] per user row), their value products one more, the
        // room-to-room part one product per candidate (all heads at once), and the heads are merged by one Gemm
        // ([B·T, h·(d + 2)] x [h·(d + 2), d]) — no transpose, no per-head node. The room tokens' states stay [B·Lr, d]
        // between layers, so every linear layer is one Gemm.

        private static string G_Norm(OnnxGraphBuilder g, string x, LayerNorm n)
        {
            using var w = n.weight!.detach().cpu().contiguous();
            using var bb = n.bias!.detach().cpu().contiguous();
            return g.LayerNormalization(x, w.data<float>().ToArray(), bb.data<float>().ToArray(), 1e-5f);
        }

        /// <summary>x + FFN(LN(x)) of 2-D [M, d] states (each linear layer one Gemm).</summary>
        private static string G_Ffn2(OnnxGraphBuilder g, TransformerLayer l, string x)
            => g.Add(x, g.Linear(g.Relu(g.Linear(G_Norm(g, x, l.ln2), l.ff1)), l.ff2));

        /// <summary>x + FFN(LN(x)) of [R, L, d] states.</summary>
        private static string G_Ffn3(OnnxGraphBuilder g, TransformerLayer l, string x)
        {
            string Lin(string t, Linear lin) => g.Add(g.MatMul(t, g.AddTensor(lin.weight!.t(), "tf_w")), g.AddTensor(lin.bias!, "tf_b"));
            return g.Add(x, Lin(g.Relu(Lin(G_Norm(g, x, l.ln2), l.ff1)), l.ff2));
        }

        /// <summary>The absorbed weights of a layer: Wqk [d + 2, h·(d + 2)] (block h = Wq_h·Wk_hᵀ over token inputs
        /// [x, 1, padding bias], scaled by 1/sqrt(dh), the bias column passed through with weight 1) and Wvo [h·(d + 2), d]
        /// (block h = Wv_h·Wo_h), computed in double.</summary>
        private (float[] Wqk, float[] Wvo) Absorbed(TransformerLayer l)
        {
            int dh = _d / _heads, a = _d + 2;
            using var wt = l.qkv.weight!.detach().cpu().contiguous();               // [3d, d] (out x in)
            using var bt = l.qkv.bias!.detach().cpu().contiguous();
            using var pt = l.proj.weight!.detach().cpu().contiguous();              // [d, d] (out x in)
            float[] w = wt.data<float>().ToArray(), b = bt.data<float>().ToArray(), wo = pt.data<float>().ToArray();
            // the projection of input i (i < d: x_i, d: the constant 1, d + 1: the padding bias) to output unit o of the fused Linear
            double P(int o, int i) => i < _d ? w[o * _d + i] : i == _d ? b[o] : 0.0;
            var wqk = new float[a * _heads * a];
            var wvo = new float[_heads * a * _d];
            for (int h = 0; h < _heads; h++)
                for (int i = 0; i < a; i++)
                {
                    for (int k = 0; k < a; k++)
                    {
                        double sum = 0;
                        for (int j = 0; j < dh; j++)
                            sum += P(h * dh + j, i) * P(_d + h * dh + j, k);
                        wqk[i * _heads * a + h * a + k] = (float)(sum * _scale);
                    }
                    for (int o = 0; o < _d; o++)
                    {
                        double sum = 0;
                        for (int j = 0; j < dh; j++)
                            sum += P(2 * _d + h * dh + j, i) * wo[o * _d + h * dh + j];
                        wvo[(h * a + i) * _d + o] = (float)sum;
                    }
                }
            for (int h = 0; h < _heads; h++)
                wqk[_d * _heads * a + h * a + _d + 1] = 1f;                          // the constant 1 meets the key's padding bias
            return (wqk, wvo);
        }

        /// <summary>The per-head projections of tokens [x, 1, padding bias]: queries [h, d + 2, dh + 1] (scaled, then a constant
        /// 1), keys [h, d + 2, dh + 1] (then the padding bias), values [h, d + 2, dh], and the output projection [h, dh, d].</summary>
        private (float[] Q, float[] K, float[] V, float[] O) PerHead(TransformerLayer l)
        {
            int dh = _d / _heads, a = _d + 2, dq = dh + 1;
            using var wt = l.qkv.weight!.detach().cpu().contiguous();
            using var bt = l.qkv.bias!.detach().cpu().contiguous();
            using var pt = l.proj.weight!.detach().cpu().contiguous();
            float[] w = wt.data<float>().ToArray(), b = bt.data<float>().ToArray(), wo = pt.data<float>().ToArray();
            float P(int o, int i) => i < _d ? w[o * _d + i] : i == _d ? b[o] : 0f;
            var q = new float[_heads * a * dq];
            var k = new float[_heads * a * dq];
            var v = new float[_heads * a * dh];
            var oo = new float[_heads * dh * _d];
            for (int h = 0; h < _heads; h++)
            {
                for (int i = 0; i < a; i++)
                    for (int j = 0; j < dh; j++)
                    {
                        q[(h * a + i) * dq + j] = P(h * dh + j, i) * _scale;
                        k[(h * a + i) * dq + j] = P(_d + h * dh + j, i);
                        v[(h * a + i) * dh + j] = P(2 * _d + h * dh + j, i);
                    }
                q[(h * a + _d) * dq + dh] = 1f;
                k[(h * a + _d + 1) * dq + dh] = 1f;
                for (int j = 0; j < dh; j++)
                    for (int o = 0; o < _d; o++)
                        oo[(h * dh + j) * _d + o] = wo[o * _d + h * dh + j];
            }
            return (q, k, v, oo);
        }

        private static string DynReshape(OnnxGraphBuilder g, string x, string shape) => g.AddNode("Reshape", new[] { x, shape }, new[] { g.UniqueName("Reshape") });

        private static string Dim(OnnxGraphBuilder g, string shape, long i) => g.Slice(shape, new long[] { i }, new long[] { i + 1 }, new long[] { 0 });

        private static string Longs(OnnxGraphBuilder g, params long[] v) => g.AddConstant(v, new long[] { v.Length }, "dims");

        /// <summary>The room tokens of both exports: the summary token (its type embedding added, expanded to the batch), then
        /// each room segment's ids + its type embedding + recency positions; returns the tokens [B, Lr, d], their mask [B, Lr]
        /// (1 for the summary token) and the batch size B as a 1-element shape.</summary>
        private (string Tokens, string Mask, string Batch) ExportRoomTokens(OnnxGraphBuilder g, SequencePoolingGraph input, string posw, Tensor typew)
        {
            var batch = Dim(g, g.Shape(input.Queries[0]), 0);
            var sumShape = g.Concat(0, new[] { batch, Longs(g, 1, _d) });
            using var sumInit = summary.Plus(typew[_segments + 1]).reshape(1, 1, _d);
            var parts = new List<string> { g.Expand(AddWeight(g, sumInit, "tf_summary"), sumShape) };
            var maskParts = new List<string> { g.Expand(g.AddConstant(new[] { 1f }, new long[] { 1, 1 }, "one"), g.Concat(0, new[] { batch, Longs(g, 1) })) };
            for (int s = 0; s < _segments; s++)
            {
                parts.Add(g.Add(g.Add(input.Queries[s], AddWeight(g, typew[s], "tf_type")), G_Positions(g, posw, input.QueryMasks[s])));
                maskParts.Add(input.QueryMasks[s]);
            }
            return (g.Concat(1, parts.ToArray()), g.Concat(1, maskParts.ToArray()), batch);
        }

        /// <summary>Recency position embeddings of a [N, T] mask: CumSum(exclusive, reverse) counts the real tokens after each.</summary>
        private string G_Positions(OnnxGraphBuilder g, string table, string mask)
        {
            var after = g.AddNode("CumSum", new[] { mask, g.AddConstant(new long[] { 1 }, Array.Empty<long>(), "axis") }, new[] { g.UniqueName("CumSum") },
                OnnxAttribute.Int("exclusive", 1), OnnxAttribute.Int("reverse", 1));
            var pos = g.Cast(g.Min(new[] { after, g.AddConstant(new[] { (float)(position_embedding.weight!.shape[0] - 1) }, new long[] { 1 }, "maxpos") }), Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64);
            return g.Gather(table, pos, 0);
        }

        // Flat serving form (session 6). A room token's joint softmax over its candidate's Lr room keys and the user's L keys
        // is split, per head h, without concatenating or slicing scores:
        // - room-to-room scores sR (small: [B, T·h, Lr], one product per candidate, key projection absorbed) give each room
        //   query's row max m_h, exponentials E = exp(sR - m_h), their sum S_h and log-sum-exp lse_h = m_h + log S_h;
        // - the user's keys get one more slot (a "marker" key row, L + 1 keys) whose score is exactly lse_h (the query carries
        //   lse_h in one more column), so the softmax over those L + 1 scores gives the joint softmax's user weights and, in
        //   the marker slot, the room keys' total weight w_h. It is computed keys-major ([R, h, L + 1, N·T]: the N·T room
        //   queries on the long inner axis, so the max over the keys, its subtraction and the exp are long vector passes):
        //   max over the keys (lse_h is a real score, so this is the joint softmax's max), exp, ONE value product per head
        //   ([dh + 2, L + 1] x [L + 1, N·T]: the values, the marker passing w_h, and a column of ones giving the sum), ONE
        //   division by that sum; the heads are merged through the output projection by one product;
        // - the room part is E · (w_h / S_h) · room values, with the value projection absorbed and the heads merged by one Gemm.
        // Per-(query, head) values (m_h, w_h / S_h) are spread over the keys by small MatMuls with block "ones" matrices, so
        // every elementwise node on the [B, T·h, Lr] or [B·T, h·(d + 2)] tensors has operands of one shape (ONNX Runtime's
        // broadcasting over short rows costs far more). The room tokens' layer norms are written as a centring MatMul,
        // a variance MatMul and a row scale (no affine part: γ and β are folded into the weights that follow — the absorbed
        // query/key/value weights and the first feed-forward layer). The user's tokens (one row per request under the request
        // scorer) keep ONNX Runtime's LayerNormalization and Softmax and attend over their own keys with the same keys and
        // values (their lse column is -1e30: the marker slot gets weight 0).

        /// <summary>A layer norm's affine part as a map of token inputs [n, 1, padding bias] (n normalised, no affine) to
        /// [γ⊙n + β, 1, padding bias]: the (d + 2) x (d + 2) matrix G with a = a_n · G.</summary>
        private double[,] NormFold(LayerNorm n)
        {
            int a = _d + 2;
            using var w = n.weight!.detach().cpu().contiguous();
            using var b = n.bias!.detach().cpu().contiguous();
            float[] gamma = w.data<float>().ToArray(), beta = b.data<float>().ToArray();
            var g = new double[a, a];
            for (int i = 0; i < _d; i++)
            {
                g[i, i] = gamma[i];
                g[_d, i] = beta[i];
            }
            g[_d, _d] = 1;
            g[_d + 1, _d + 1] = 1;
            return g;
        }

        /// <summary><paramref name="w"/> (row-major, <paramref name="blocks"/> blocks of <paramref name="blockRows"/> rows of
        /// <paramref name="cols"/> columns) with the first d + 2 rows of each block multiplied on the left by G.</summary>
        private static float[] FoldRows(float[] w, double[,] g, int blocks, int blockRows, int cols)
        {
            int a = g.GetLength(0);
            var r = (float[])w.Clone();
            for (int bk = 0; bk < blocks; bk++)
                for (int i = 0; i < a; i++)
                    for (int c = 0; c < cols; c++)
                    {
                        double sum = 0;
                        for (int p = 0; p < a; p++)
                            sum += g[i, p] * w[(bk * blockRows + p) * cols + c];
                        r[(bk * blockRows + i) * cols + c] = (float)sum;
                    }
            return r;
        }

        /// <summary>Wqk [d + 2, h·(d + 2)] folded on the key side: W'[i, h·(d + 2) + k] = Σ_q W[i, h·(d + 2) + q]·G[k, q].</summary>
        private float[] FoldKeys(float[] wqk, double[,] g)
        {
            int a = _d + 2, ha = _heads * a;
            var r = new float[wqk.Length];
            for (int i = 0; i < a; i++)
                for (int h = 0; h < _heads; h++)
                    for (int k = 0; k < a; k++)
                    {
                        double sum = 0;
                        for (int q = 0; q < a; q++)
                            sum += wqk[i * ha + h * a + q] * g[k, q];
                        r[i * ha + h * a + k] = (float)sum;
                    }
            return r;
        }

        /// <summary>Per-head weights of the flat form: queries [h, d + 2 + h, dh + 2] over [x, 1, bias, lse_1..lse_h] (the scaled
        /// query, then 1, then the head's lse), keys [h, d + 3, dh + 2] over [x, 1, bias, marker] (the key, the padding bias, the
        /// marker), values [h, d + 3, dh + 2] (the value, the marker, a column of ones), output [h·(dh + 2), d + h] (Wo_h; the
        /// marker column to column d + h; the ones column to nothing).</summary>
        private (float[] Q, float[] K, float[] V, float[] O) FlatHeads(TransformerLayer l)
        {
            var (q, k, v, o) = PerHead(l);
            int dh = _d / _heads, a = _d + 2, e = a + _heads, dq = dh + 1, f = _d + _heads, w = dh + 2;
            var q6 = new float[_heads * e * w];
            var k6 = new float[_heads * (a + 1) * w];
            var v6 = new float[_heads * (a + 1) * w];
            var o6 = new float[_heads * w * f];
            for (int h = 0; h < _heads; h++)
            {
                for (int i = 0; i < a; i++)
                {
                    for (int c = 0; c < dq; c++)
                    {
                        q6[(h * e + i) * w + c] = q[(h * a + i) * dq + c];
                        k6[(h * (a + 1) + i) * w + c] = k[(h * a + i) * dq + c];
                    }
                    for (int c = 0; c < dh; c++)
                        v6[(h * (a + 1) + i) * w + c] = v[(h * a + i) * dh + c];
                }
                q6[(h * e + a + h) * w + dh + 1] = 1f;
                k6[(h * (a + 1) + a) * w + dh + 1] = 1f;
                v6[(h * (a + 1) + a) * w + dh] = 1f;                                     // the marker passes the room weight
                v6[(h * (a + 1) + _d) * w + dh + 1] = 1f;                                // every user key (constant 1) and
                v6[(h * (a + 1) + a) * w + dh + 1] = 1f;                                 // the marker: the column of ones
                for (int j = 0; j < dh; j++)
                    for (int c = 0; c < _d; c++)
                        o6[(h * w + j) * f + c] = o[(h * dh + j) * _d + c];
                o6[(h * w + dh) * f + _d + h] = 1f;
            }
            return (q6, k6, v6, o6);
        }

        /// <summary>[blocks, rows, cols] -> [blocks, cols, rows].</summary>
        private static float[] TransposeLast(float[] w, int blocks, int rows, int cols)
        {
            var r = new float[w.Length];
            for (int b = 0; b < blocks; b++)
                for (int i = 0; i < rows; i++)
                    for (int c = 0; c < cols; c++)
                        r[(b * cols + c) * rows + i] = w[(b * rows + i) * cols + c];
            return r;
        }

        /// <summary>Bench only (paired latency figures against the previous export): write the session-5 graph instead.</summary>
        internal static bool Session5Export { get; set; }

        public override string Export(SequencePoolingGraph input) => Session5Export ? ExportSession5(input) : ExportFlat(input);

        private string ExportFlat(SequencePoolingGraph input)
        {
            var g = input.Graph;
            int a = _d + 2, ha = _heads * a, e = a + _heads, f = _d + _heads, dh = _d / _heads;
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var zero = g.AddConstant(new[] { 0f }, new long[] { 1 }, "zero");
            var big = g.AddConstant(new[] { Big }, new long[] { 1 }, "big");
            var posw = AddWeight(g, position_embedding.weight!, "tf_pos");
            Tensor typew = type_embedding.weight!;
            string Bias(string mask) => g.Mul(g.Sub(mask, one), big);
            var swapLast = new long[] { 0, 1, 3, 2 };
            // user tokens [R, L, d]; their extra inputs as keys [1, bias, marker 0] and as queries [1, bias, -1e30 per head]
            var u = g.Add(g.Add(input.Embedded, AddWeight(g, typew[_segments], "tf_type")), G_Positions(g, posw, input.Mask));
            var biasUFlat = Bias(input.Mask);
            var biasUCol = g.Unsqueeze(biasUFlat, new long[] { 2 });                                             // [R, L, 1]
            var zerosU = g.Mul(biasUCol, zero);
            var onesU = g.Add(zerosU, one);
            var extraUk = g.Concat(-1, new[] { onesU, biasUCol, zerosU });                                        // [R, L, 3]
            var noRoom = g.AddConstant(Enumerable.Repeat(-1e30f, _heads).ToArray(), new long[] { 1, 1, _heads }, "tf_noroom");
            var extraUq = g.Concat(-1, new[] { onesU, biasUCol, g.Add(zerosU, noRoom) });                         // [R, L, 2 + h]
            var rows = Dim(g, g.Shape(input.Embedded), 0);
            var marker = new float[a + 1];
            marker[a] = 1f;
            var markerRow = g.Expand(g.AddConstant(marker, new long[] { 1, 1, a + 1 }, "tf_marker"), g.Concat(0, new[] { rows, Longs(g, 1, a + 1) }));   // [R, 1, d + 3]
            var (x3, maskR, batch) = ExportRoomTokens(g, input, posw, typew);                                     // [B, Lr, d], [B, Lr]
            var lr = Dim(g, g.Shape(maskR), 1);
            var x = g.Reshape(x3, new long[] { -1, _d });                                                        // [B·Lr, d]
            // the room tokens' extra inputs [0 (d times), 1, padding bias] from their mask by one Gemm: m·Big + (1, -Big)
            var extraB = new float[a];
            extraB[_d + 1] = Big;
            var extraC = new float[a];
            extraC[_d] = 1f;
            extraC[_d + 1] = -Big;
            var extraR = g.Gemm(g.Reshape(maskR, new long[] { -1, 1 }), g.AddConstant(extraB, new long[] { 1, a }, "tf_extra"), g.AddConstant(extraC, new long[] { a }, "tf_extra"));   // [B·Lr, d + 2]
            var perCandidate = g.Concat(0, new[] { Longs(g, -1), lr, Longs(g, a) });                               // -> [B, Lr, d + 2]
            var perCandidateRows = g.Concat(0, new[] { batch, Longs(g, -1, a) });                                  // -> [B, T·h, d + 2]
            var perUserRow = g.Concat(0, new[] { rows, Longs(g, 1, -1, e) });                                      // -> [R, 1, N·T, d + 2 + h]
            // block "ones": [h, h·Lr] spreads a per-(query, head) value over that head's room keys, [h, h·(d + 2)] over its inputs
            var eye = new float[_heads * _heads];
            for (int h = 0; h < _heads; h++)
                eye[h * _heads + h] = 1f;
            var spreadKeys = DynReshape(g, g.Expand(g.AddConstant(eye, new long[] { _heads, _heads, 1 }, "tf_eye"), g.Concat(0, new[] { Longs(g, _heads, _heads), lr })), Longs(g, _heads, -1));
            var spreadArr = new float[_heads * ha];
            for (int h = 0; h < _heads; h++)
                for (int j = 0; j < a; j++)
                    spreadArr[h * ha + h * a + j] = 1f;
            var spreadInputs = g.AddConstant(spreadArr, new long[] { _heads, ha }, "tf_spread");
            var eps = g.AddConstant(new[] { 1e-5f }, new long[] { 1 }, "tf_eps");
            // x [M, d] -> [M, width]: (x - mean) / sqrt(var + eps) in the first d columns, 0 after (no affine: folded downstream)
            string NormRows(string xs, int width)
            {
                var centre = new float[_d * width];
                for (int i = 0; i < _d; i++)
                    for (int j = 0; j < _d; j++)
                        centre[i * width + j] = (i == j ? 1f : 0f) - 1f / _d;
                var centred = g.MatMul(xs, g.AddConstant(centre, new long[] { _d, width }, "tf_centre"));
                var variance = g.MatMul(g.Mul(centred, centred), g.AddConstant(Enumerable.Repeat(1f / _d, width).ToArray(), new long[] { width, 1 }, "tf_mean"));   // [M, 1]
                var rstd = g.AddNode("Reciprocal", new[] { g.Sqrt(g.Add(variance, eps)) }, new[] { g.UniqueName("Reciprocal") });
                return g.Mul(centred, g.MatMul(rstd, g.AddConstant(Enumerable.Repeat(1f, width).ToArray(), new long[] { 1, width }, "tf_ones")));
            }
            // x + FFN(LN(x)) of the room tokens, LN's affine folded into the first linear layer
            string Ffn(string xs, TransformerLayer l)
            {
                using var w1 = l.ff1.weight!.detach().cpu().contiguous();                                          // [ff, d]
                using var b1 = l.ff1.bias!.detach().cpu().contiguous();
                using var gm = l.ln2.weight!.detach().cpu().contiguous();
                using var bt = l.ln2.bias!.detach().cpu().contiguous();
                float[] w = w1.data<float>().ToArray(), bb = b1.data<float>().ToArray(), gamma = gm.data<float>().ToArray(), beta = bt.data<float>().ToArray();
                int ff = bb.Length;
                var wf = new float[_d * ff];
                var bf = new float[ff];
                for (int o = 0; o < ff; o++)
                {
                    double sum = bb[o];
                    for (int i = 0; i < _d; i++)
                    {
                        wf[i * ff + o] = (float)((double)w[o * _d + i] * gamma[i]);
                        sum += (double)w[o * _d + i] * beta[i];
                    }
                    bf[o] = (float)sum;
                }
                var h1 = g.Relu(g.Gemm(NormRows(xs, _d), g.AddInitializer(g.UniqueName("tf_ff1"), wf, new long[] { _d, ff }), g.AddInitializer(g.UniqueName("tf_ff1b"), bf, new long[] { ff })));
                return g.Add(xs, g.Linear(h1, l.ff2));
            }
            for (int i = 0; i < layers.Count; i++)
            {
                var l = layers[i];
                bool summaryOnly = i == layers.Count - 1 && !_target;
                var fold = NormFold(l.ln1);
                var (wqkArr, wvoArr) = Absorbed(l);
                var (wqArr, wkArr, wvArr, woArr) = FlatHeads(l);
                var wqk = g.AddInitializer(g.UniqueName("tf_wqk"), FoldKeys(FoldRows(wqkArr, fold, 1, a, ha), fold), new long[] { a, ha });
                var wvo = g.AddInitializer(g.UniqueName("tf_wvo"), FoldRows(wvoArr, fold, _heads, a, _d), new long[] { ha, _d });
                var wk = g.AddInitializer(g.UniqueName("tf_wk"), wkArr, new long[] { _heads, a + 1, dh + 2 });
                var wv = g.AddInitializer(g.UniqueName("tf_wv"), wvArr, new long[] { _heads, a + 1, dh + 2 });
                var wo = g.AddInitializer(g.UniqueName("tf_wo"), woArr, new long[] { _heads * (dh + 2), f });
                var projBias = g.AddTensor(l.proj.bias!, "tf_b");
                // the user's keys [R, h, L + 1, dh + 2] and values [R, h, L + 1, dh + 1] (the marker row last), once per user row
                var un = G_Norm(g, u, l.ln1);
                var uk = g.Unsqueeze(g.Concat(1, new[] { g.Concat(-1, new[] { un, extraUk }), markerRow }), new long[] { 1 });   // [R, 1, L + 1, d + 3]
                var kU = g.MatMul(uk, wk);
                var vU = g.MatMul(uk, wv);
                // room tokens [B·Lr, d + 2]: [LN(x) without affine, 1, padding bias]
                var xa = g.Add(NormRows(x, a), extraR);
                var xa3 = DynReshape(g, xa, perCandidate);                                                       // [B, Lr, d + 2]
                string qSrc = xa, xr = x;
                if (summaryOnly)
                {
                    qSrc = g.Reshape(g.Slice(xa3, new long[] { 0 }, new long[] { 1 }, new long[] { 1 }), new long[] { -1, a });
                    xr = g.Reshape(g.Slice(x3Of(x), new long[] { 0 }, new long[] { 1 }, new long[] { 1 }), new long[] { -1, _d });
                }
                // room-to-room: scores [B, T·h, Lr], row max m [B·T, h], E = exp(sR - m), S [B·T, h], lse = m + log S
                var sR = g.MatMul(DynReshape(g, g.MatMul(qSrc, wqk), perCandidateRows), g.Transpose(xa3, new long[] { 0, 2, 1 }));
                var m = g.Reshape(g.AddNode("ReduceMax", new[] { sR }, new[] { g.UniqueName("ReduceMax") }, OnnxAttribute.Ints("axes", -1), OnnxAttribute.Int("keepdims", 0)), new long[] { -1, _heads });
                var eR = g.Exp(g.Sub(sR, DynReshape(g, g.MatMul(m, spreadKeys), g.Shape(sR))));
                var sumR = g.MatMul(DynReshape(g, eR, g.Concat(0, new[] { Longs(g, -1), g.Mul(lr, Longs(g, _heads)) })), g.Transpose(spreadKeys, new long[] { 1, 0 }));
                var lse = g.Add(m, g.Log(sumR));                                                                 // [B·T, h]
                // room queries against the user's keys and the marker slot, per head, keys-major: scores [R, h, L + 1, N·T] (the
                // queries on the long inner axis), their max over the keys, exp, the value product (its column of ones gives
                // each query's sum), one division
                var wqRoomT = g.AddInitializer(g.UniqueName("tf_wqt"), TransposeLast(FoldRows(wqArr, fold, _heads, e, dh + 2), _heads, e, dh + 2), new long[] { _heads, dh + 2, e });
                var qhT = g.MatMul(wqRoomT, g.Transpose(DynReshape(g, g.Concat(-1, new[] { qSrc, lse }), perUserRow), swapLast));   // [R, h, dh + 2, N·T]
                var sT = g.MatMul(kU, qhT);                                                                       // [R, h, L + 1, N·T]
                var mT = g.AddNode("ReduceMax", new[] { sT }, new[] { g.UniqueName("ReduceMax") }, OnnxAttribute.Ints("axes", 2), OnnxAttribute.Int("keepdims", 1));
                var oT = g.MatMul(g.Transpose(vU, swapLast), g.Exp(g.Sub(sT, mT)));                               // [R, h, dh + 2, N·T]
                var ohT = g.Div(oT, g.Slice(oT, new long[] { dh + 1 }, new long[] { dh + 2 }, new long[] { 2 }));    // / the sum of the weights
                var o = g.Reshape(g.MatMul(g.Transpose(g.Reshape(ohT, new long[] { 0, _heads * (dh + 2), -1 }), new long[] { 0, 2, 1 }), wo), new long[] { -1, f });   // [B·T, d + h]
                var oU = g.Slice(o, new long[] { 0 }, new long[] { _d }, new long[] { 1 });
                var wR = g.Slice(o, new long[] { _d }, new long[] { f }, new long[] { 1 });                        // [B·T, h]
                // room part: E · (w / S) · room values (value projection absorbed), heads merged by one Gemm
                var scale = g.MatMul(g.Div(wR, sumR), spreadInputs);                                             // [B·T, h·(d + 2)]
                var oR = g.Gemm(g.Mul(g.Reshape(g.MatMul(eR, xa3), new long[] { -1, ha }), scale), wvo, projBias);  // [B·T, d]
                x = Ffn(g.Add(xr, g.Add(oR, oU)), l);
                if (!summaryOnly)
                {
                    // user queries over user keys only (their marker slot scores -1e30)
                    var wqUser = g.AddInitializer(g.UniqueName("tf_wq"), wqArr, new long[] { _heads, e, dh + 2 });
                    var qhu = g.MatMul(g.Unsqueeze(g.Concat(-1, new[] { un, extraUq }), new long[] { 1 }), wqUser); // [R, h, L, dh + 2]
                    var ohu = g.MatMul(g.Softmax(g.MatMul(qhu, g.Transpose(kU, swapLast)), -1), vU);              // [R, h, L, dh + 2]
                    var ou = g.Slice(g.MatMul(g.Reshape(g.Transpose(ohu, new long[] { 0, 2, 1, 3 }), new long[] { 0, 0, -1 }), wo), new long[] { 0 }, new long[] { _d }, new long[] { 2 });
                    u = G_Ffn3(g, l, g.Add(u, g.Add(ou, projBias)));
                }
            }
            if (!_target)
                return G_Norm(g, x, final_norm);                                                                 // [B, d]
            var biasR = g.Unsqueeze(Bias(maskR), new long[] { 1 });                                              // [B, 1, Lr]
            var biasU = g.Unsqueeze(biasUFlat, new long[] { 1 });                                                // [R, 1, L]
            return ExportTargetOutput(g, input, x3Of(x), u, biasR, biasU, lr);

            string x3Of(string x2) => DynReshape(g, x2, g.Concat(0, new[] { Longs(g, -1), lr, Longs(g, _d) }));   // [B·Lr, d] -> [B, Lr, d]
        }

        private string ExportSession5(SequencePoolingGraph input)
        {
            var g = input.Graph;
            int a = _d + 2, ha = _heads * a;
            var one = g.AddConstant(new[] { 1f }, new long[] { 1 }, "one");
            var zero = g.AddConstant(new[] { 0f }, new long[] { 1 }, "zero");
            var big = g.AddConstant(new[] { Big }, new long[] { 1 }, "big");
            var posw = AddWeight(g, position_embedding.weight!, "tf_pos");
            Tensor typew = type_embedding.weight!;
            string Bias(string mask) => g.Mul(g.Sub(mask, one), big);
            var swap = new long[] { 0, 2, 1 };
            // user tokens [R, L, d], their padding bias [R, L]
            var u = g.Add(g.Add(input.Embedded, AddWeight(g, typew[_segments], "tf_type")), G_Positions(g, posw, input.Mask));
            var biasUFlat = Bias(input.Mask);
            var biasUCol = g.Unsqueeze(biasUFlat, new long[] { 2 });                                             // [R, L, 1]
            var extraU = g.Concat(-1, new[] { g.Add(g.Mul(biasUCol, zero), one), biasUCol });                     // [R, L, 2]: 1, bias
            var rows = Dim(g, g.Shape(input.Embedded), 0);
            var (x3, maskR, batch) = ExportRoomTokens(g, input, posw, typew);                                     // [B, Lr, d], [B, Lr]
            var biasRFlat = Bias(maskR);                                                                         // [B, Lr]
            var lr = Dim(g, g.Shape(biasRFlat), 1);
            var x = g.Reshape(x3, new long[] { -1, _d });                                                        // [B·Lr, d]
            var biasRCol = g.Reshape(biasRFlat, new long[] { -1, 1 });
            var extraR = g.Concat(-1, new[] { g.Add(g.Mul(biasRCol, zero), one), biasRCol });                     // [B·Lr, 2]
            var perCandidate = g.Concat(0, new[] { Longs(g, -1), lr, Longs(g, a) });                               // -> [B, Lr, d + 2]
            var perCandidateRows = g.Concat(0, new[] { batch, Longs(g, -1, a) });                                  // -> [B, T·h, d + 2]
            int dh = _d / _heads, dq = dh + 1;
            var swapLast = new long[] { 0, 1, 3, 2 };
            var userRowTokens = g.Concat(0, new[] { rows, Longs(g, 1, -1, a) });                                   // -> [R, 1, N·T, d + 2]
            for (int i = 0; i < layers.Count; i++)
            {
                var l = layers[i];
                bool summaryOnly = i == layers.Count - 1 && !_target;
                var (wqkArr, wvoArr) = Absorbed(l);
                var wqk = g.AddInitializer(g.UniqueName("tf_wqk"), wqkArr, new long[] { a, ha });
                var wvo = g.AddInitializer(g.UniqueName("tf_wvo"), wvoArr, new long[] { ha, _d });
                var (wqArr, wkArr, wvArr, woArr) = PerHead(l);
                var wq = g.AddInitializer(g.UniqueName("tf_wq"), wqArr, new long[] { _heads, a, dq });
                var wk = g.AddInitializer(g.UniqueName("tf_wk"), wkArr, new long[] { _heads, a, dq });
                var wv = g.AddInitializer(g.UniqueName("tf_wv"), wvArr, new long[] { _heads, a, dh });
                var wo = g.AddInitializer(g.UniqueName("tf_wo"), woArr, new long[] { _heads, dh, _d });
                var projBias = g.AddTensor(l.proj.bias!, "tf_b");
                // user tokens [R, 1, L, d + 2] -> per head keys [R, h, L, dq] and values [R, h, L, dh]
                var ua4 = g.Unsqueeze(g.Concat(-1, new[] { G_Norm(g, u, l.ln1), extraU }), new long[] { 1 });
                var kU = g.MatMul(ua4, wk);
                var vU = g.MatMul(ua4, wv);
                // room tokens [B·Lr, d + 2]
                var xa = g.Concat(-1, new[] { G_Norm(g, x, l.ln1), extraR });
                var xa3 = DynReshape(g, xa, perCandidate);                                                       // [B, Lr, d + 2]
                string qSrc = xa, xr = x, tq = lr;
                if (summaryOnly)
                {
                    qSrc = g.Reshape(g.Slice(xa3, new long[] { 0 }, new long[] { 1 }, new long[] { 1 }), new long[] { -1, a });
                    xr = g.Reshape(g.Slice(x3Of(x), new long[] { 0 }, new long[] { 1 }, new long[] { 1 }), new long[] { -1, _d });
                    tq = Longs(g, 1);
                }
                // room-to-room scores per candidate, all heads at once (key projection absorbed), to head-major [R, h, N·T, Lr]
                var qt = DynReshape(g, g.MatMul(qSrc, wqk), perCandidateRows);                                    // [B, T·h, d + 2]
                var sR = g.MatMul(qt, g.Transpose(xa3, swap));                                                    // [B, T·h, Lr]
                var split5 = g.Concat(0, new[] { rows, Longs(g, -1), tq, Longs(g, _heads), lr });
                var sRh = DynReshape(g, g.Transpose(DynReshape(g, sR, split5), new long[] { 0, 3, 1, 2, 4 }), g.Concat(0, new[] { Longs(g, 0, 0, -1), lr }));  // [R, h, N·T, Lr]
                // room queries over the user's keys: one MatMul per (user row, head) for all N·T queries
                var qh = g.MatMul(DynReshape(g, qSrc, userRowTokens), wq);                                        // [R, h, N·T, dq]
                var sU = g.MatMul(qh, g.Transpose(kU, swapLast));                                                 // [R, h, N·T, L]
                var p = g.Softmax(g.Concat(-1, new[] { sRh, sU }), -1);                                          // [R, h, N·T, Lr + L]
                var ax = Longs(g, 3);
                var pR = g.AddNode("Slice", new[] { p, Longs(g, 0), lr, ax }, new[] { g.UniqueName("Slice") });
                var pU = g.AddNode("Slice", new[] { p, lr, Longs(g, long.MaxValue), ax }, new[] { g.UniqueName("Slice") });
                // room values: back to [B, T·h, Lr], one product per candidate, heads merged by one Gemm
                var pRc = DynReshape(g, g.Transpose(DynReshape(g, pR, g.Concat(0, new[] { Longs(g, 0, 0, -1), tq, lr })), new long[] { 0, 2, 3, 1, 4 }),
                    g.Concat(0, new[] { batch, Longs(g, -1), lr }));
                var oR = g.Gemm(g.Reshape(g.MatMul(pRc, xa3), new long[] { -1, ha }), wvo, projBias);            // [B·T, d]
                // user values per head, then the output projection per head summed over the heads
                var oU = g.Reshape(g.ReduceSum(g.MatMul(g.MatMul(pU, vU), wo), new long[] { 1 }, keepDims: false), new long[] { -1, _d });
                x = G_Ffn2(g, l, g.Add(xr, g.Add(oR, oU)));
                if (!summaryOnly)
                {
                    // user queries over user keys only
                    var qU = g.MatMul(ua4, wq);                                                                  // [R, h, L, dq]
                    var pu = g.Softmax(g.MatMul(qU, g.Transpose(kU, swapLast)), -1);
                    var ou = g.Add(g.ReduceSum(g.MatMul(g.MatMul(pu, vU), wo), new long[] { 1 }, keepDims: false), projBias);   // [R, L, d]
                    u = G_Ffn3(g, l, g.Add(u, ou));
                }
            }
            if (!_target)
                return G_Norm(g, x, final_norm);                                                                 // [B, d]
            var biasR = g.Unsqueeze(biasRFlat, new long[] { 1 });                                                // [B, 1, Lr]
            var biasU = g.Unsqueeze(biasUFlat, new long[] { 1 });                                                // [R, 1, L]
            return ExportTargetOutput(g, input, x3Of(x), u, biasR, biasU, lr);

            string x3Of(string x2) => DynReshape(g, x2, g.Concat(0, new[] { Longs(g, -1), lr, Longs(g, _d) }));   // [B·Lr, d] -> [B, Lr, d]
        }

        /// <summary><see cref="TransformerOutput.TargetAttention"/>: the target feature attends over the final room tokens
        /// <paramref name="x3"/> <c>[B, Lr, d]</c> and user tokens <paramref name="u"/> <c>[R, L, d]</c> (one softmax over both,
        /// padding masked by <paramref name="biasR"/>/<paramref name="biasU"/>); shared by both exports.</summary>
        private string ExportTargetOutput(OnnxGraphBuilder g, SequencePoolingGraph input, string x3, string u, string biasR, string biasU, string lr)
        {
            var xf = G_Norm(g, x3, final_norm);
            var uf = G_Norm(g, u, final_norm);
            var t = input.Queries[_segments];
            var sc = g.AddConstant(new[] { 1f / MathF.Sqrt(_d) }, new long[] { 1 }, "scale");
            var tsR = g.Add(g.Mul(g.MatMul(t, g.Transpose(xf, new long[] { 0, 2, 1 })), sc), biasR);
            var tsU = g.Add(g.Mul(g.MatMul(t, g.Transpose(uf, new long[] { 0, 2, 1 })), sc), biasU);
            var tp = g.Softmax(g.Concat(-1, new[] { tsR, tsU }), -1);
            var ax2 = Longs(g, 2);
            var tpR = g.AddNode("Slice", new[] { tp, Longs(g, 0), lr, ax2 }, new[] { g.UniqueName("tpR") });
            var tpU = g.AddNode("Slice", new[] { tp, lr, Longs(g, long.MaxValue), ax2 }, new[] { g.UniqueName("tpU") });
            return g.Squeeze(g.Add(g.MatMul(tpR, xf), g.MatMul(tpU, uf)), new long[] { 1 });
        }
    }
}
