using System.Collections.Generic;
using System.Linq;
using MLNetRank.Torch.Layers;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Experiment (bench variant <c>exact</c>): a pooling that runs another pooling and appends one value, the share of the
    /// candidate's products (the query feature, e.g. the room's items on sale) whose own id occurs among the history's steps
    /// (equal embedding rows of the shared table: squared distance below 1e-4 of the rows' squared norms), standardised by a
    /// batch norm (batch statistics in training, running statistics in the export). No gradient flows through the comparison.
    /// The identity part of the simulator's planted interest (a product the user clicked is in its own taste group), which the
    /// attention units do not learn. A user-written pooling through the public extension point, ONNX export included.
    /// </summary>
    internal sealed class ExactMatchReadout : SequencePooling
    {
        private readonly SequencePooling _inner;
        private readonly string _query;
        private readonly string[] _queries;

        public ExactMatchReadout(SequencePooling inner, string productFeatureName)
        {
            _inner = inner;
            _query = productFeatureName;
            _queries = inner.QueryFeatureNames.Contains(productFeatureName) ? inner.QueryFeatureNames.ToArray() : inner.QueryFeatureNames.Append(productFeatureName).ToArray();
        }

        public override IReadOnlyList<string> QueryFeatureNames => _queries;

        public override int GetOutputDimension(int embeddingDimension) => _inner.GetOutputDimension(embeddingDimension) + 1;

        public override SequencePoolingModule CreateModule(SequencePoolingContext context)
            => new Module(context.FeatureName, _inner.CreateModule(context), System.Array.IndexOf(_queries, _query));

        private sealed class Module : SequencePoolingModule
        {
            private const float Rel = 1e-4f, Tiny = 1e-12f, Eps = 1e-5f, Momentum = 0.1f;
            private readonly SequencePoolingModule inner;
            private readonly int _q;
            private readonly TorchSharp.Modules.Parameter running_mean;
            private readonly TorchSharp.Modules.Parameter running_var;
            private readonly TorchSharp.Modules.Parameter gain;
            private readonly TorchSharp.Modules.Parameter shift;

            public Module(string name, SequencePoolingModule innerModule, int queryIndex) : base(name)
            {
                inner = innerModule;
                _q = queryIndex;
                running_mean = nn.Parameter(zeros(1), requires_grad: false);
                running_var = nn.Parameter(ones(1), requires_grad: false);
                gain = nn.Parameter(ones(1));
                shift = nn.Parameter(zeros(1));
                RegisterComponents();
            }

            /// <summary>[B, 1]: the share of present products whose row equals a present history step's row.</summary>
            private Tensor Share(SequencePoolingBatch b)
            {
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var q = b.Queries[_q];                                                    // [B, S, d]
                var qm = b.QueryMasks[_q];                                                // [B, S]
                var k = b.Embedded;                                                       // [B, L, d]
                var qq = (q * q).sum(-1).unsqueeze(2);                                    // [B, S, 1]
                var kk = (k * k).sum(-1).unsqueeze(1);                                    // [B, 1, L]
                var dist = qq + kk - q.matmul(k.transpose(1, 2)) * Scalars.Of(2f);       // [B, S, L]
                var hit = dist.lt((qq + kk) * Scalars.Of(Rel) + Scalars.Of(Tiny)).to_type(ScalarType.Float32) * b.Mask.unsqueeze(1);
                var any = hit.amax(new long[] { 2 });                                     // [B, S]
                var share = (any * qm).sum(1, keepdim: true) / qm.sum(1, keepdim: true).clamp_min(Scalars.Of(1f));
                return share.MoveToOuterDisposeScope();
            }

            public override Tensor forward(SequencePoolingBatch b)
            {
                var pooled = inner.forward(b);
                var share = Share(b);
                Tensor normed;
                if (training)
                {
                    var mean = share.mean(new long[] { 0 });
                    var variance = share.var(0, unbiased: false);
                    using (no_grad())
                    {
                        running_mean.mul_(Scalars.Of(1f - Momentum)).add_(mean * Scalars.Of(Momentum));
                        running_var.mul_(Scalars.Of(1f - Momentum)).add_(variance * Scalars.Of(Momentum));
                    }
                    normed = (share - mean) / (variance + Scalars.Of(Eps)).sqrt();
                }
                else
                    normed = (share - running_mean) / (running_var + Scalars.Of(Eps)).sqrt();
                return cat(new[] { pooled, normed * gain + shift }, 1);
            }

            public override string Export(SequencePoolingGraph x)
            {
                var pooled = inner.Export(x);
                string C(float v) => x.Constant(new[] { v }, new long[] { 1 });
                string L(params long[] v) => x.Constant(v, new long[] { v.Length });
                var q = x.Queries[_q];
                var qm = x.QueryMasks[_q];
                var k = x.Embedded;
                var qq = x.Op("Unsqueeze", new[] { x.Op("ReduceSum", new[] { x.Op("Mul", new[] { q, q }), L(2) }, ("keepdims", 0L)), L(2) });
                var kk = x.Op("Unsqueeze", new[] { x.Op("ReduceSum", new[] { x.Op("Mul", new[] { k, k }), L(2) }, ("keepdims", 0L)), L(1) });
                var dot = x.Op("MatMul", new[] { q, x.Op("Transpose", new[] { k }, ("perm", new long[] { 0, 2, 1 })) });
                var sum = x.Op("Add", new[] { qq, kk });
                var dist = x.Op("Sub", new[] { sum, x.Op("Mul", new[] { dot, C(2f) }) });
                var thr = x.Op("Add", new[] { x.Op("Mul", new[] { sum, C(Rel) }), C(Tiny) });
                var hit = x.Op("Mul", new[] { x.Op("Cast", new[] { x.Op("Less", new[] { dist, thr }) }, ("to", 1L)), x.Op("Unsqueeze", new[] { x.Mask, L(1) }) });
                var any = x.Op("ReduceMax", new[] { hit }, ("axes", new long[] { 2 }), ("keepdims", 0L));
                var den = x.Op("Max", new[] { x.Op("ReduceSum", new[] { qm, L(1) }, ("keepdims", 1L)), C(1f) });
                var share = x.Op("Div", new[] { x.Op("ReduceSum", new[] { x.Op("Mul", new[] { any, qm }), L(1) }, ("keepdims", 1L)), den });
                var sd = x.Op("Sqrt", new[] { x.Op("Add", new[] { x.Weight(running_var.detach()), C(Eps) }) });
                var normed = x.Op("Div", new[] { x.Op("Sub", new[] { share, x.Weight(running_mean.detach()) }), sd });
                var scaled = x.Op("Add", new[] { x.Op("Mul", new[] { normed, x.Weight(gain.detach()) }), x.Weight(shift.detach()) });
                return x.Op("Concat", new[] { pooled, scaled }, ("axis", 1L));
            }
        }
    }
}
