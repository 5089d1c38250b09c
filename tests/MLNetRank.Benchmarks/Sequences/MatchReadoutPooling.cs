using System.Collections.Generic;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Diagnosis only (<see cref="TransformerDiagnosisBench"/>, variant <c>match</c>): the readout a transformer would need for
    /// the simulator's item-level interest, written directly. For each product of the query feature (the room's items on
    /// sale), its largest cosine similarity m to a clicked item; output [mean m, mean m²] over the present products (2 values), times a fixed scale.
    /// No parameters: the shared item embeddings learn through it. A user-written pooling (the public extension point).
    /// </summary>
    internal sealed class MatchReadoutPooling : SequencePooling
    {
        private readonly string _query;

        public MatchReadoutPooling(string queryFeatureName, float scale = 1f)
        {
            _query = queryFeatureName;
            _scale = scale;
        }

        private readonly float _scale;

        public override IReadOnlyList<string> QueryFeatureNames => new[] { _query };

        public override int GetOutputDimension(int embeddingDimension) => 2;

        public override SequencePoolingModule CreateModule(SequencePoolingContext context) => new Module(context.FeatureName, _scale);

        private sealed class Module : SequencePoolingModule
        {
            private const float Eps = 1e-6f, Big = 1e9f;

            private readonly float _s;

            public Module(string name, float scale) : base(name)
            {
                _s = scale;
                RegisterComponents();
            }

            public override Tensor forward(SequencePoolingBatch b)
            {
                var q = b.Queries[0];
                var qm = b.QueryMasks[0];
                var qn = q / (q.norm(2, keepdim: true) + Eps);
                var kn = b.Embedded / (b.Embedded.norm(2, keepdim: true) + Eps);
                var sim = qn.matmul(kn.transpose(1, 2)) + ((b.Mask - 1f) * Big).unsqueeze(1);   // [B, S, L]
                var m = sim.amax(new long[] { 2 }).clamp(-1f, 1f);                                   // [B, S]
                var den = qm.sum(1, keepdim: true).clamp_min(1f);
                var f1 = (m * qm).sum(1, keepdim: true) / den;
                var f2 = (m * m * qm).sum(1, keepdim: true) / den;
                return cat(new[] { f1, f2 }, 1) * _s;
            }

            public override string Export(SequencePoolingGraph x)
            {
                string C(float v) => x.Constant(new[] { v }, new long[] { 1 });
                string L(params long[] v) => x.Constant(v, new long[] { v.Length });
                string Normed(string t) => x.Op("Div", new[] { t, x.Op("Add", new[] { x.Op("ReduceL2", new[] { t }, ("axes", new long[] { 2 }), ("keepdims", 1L)), C(Eps) }) });
                var qn = Normed(x.Queries[0]);
                var kn = Normed(x.Embedded);
                var bias = x.Op("Unsqueeze", new[] { x.Op("Mul", new[] { x.Op("Sub", new[] { x.Mask, C(1f) }), C(Big) }), L(1) });
                var sim = x.Op("Add", new[] { x.Op("MatMul", new[] { qn, x.Op("Transpose", new[] { kn }, ("perm", new long[] { 0, 2, 1 })) }), bias });
                var m = x.Op("Min", new[] { x.Op("Max", new[] { x.Op("ReduceMax", new[] { sim }, ("axes", new long[] { 2 }), ("keepdims", 0L)), C(-1f) }), C(1f) });
                var qm = x.QueryMasks[0];
                var den = x.Op("Max", new[] { x.Op("ReduceSum", new[] { qm, L(1) }, ("keepdims", 1L)), C(1f) });
                var f1 = x.Op("Div", new[] { x.Op("ReduceSum", new[] { x.Op("Mul", new[] { m, qm }), L(1) }, ("keepdims", 1L)), den });
                var f2 = x.Op("Div", new[] { x.Op("ReduceSum", new[] { x.Op("Mul", new[] { x.Op("Mul", new[] { m, m }), qm }), L(1) }, ("keepdims", 1L)), den });
                return x.Op("Mul", new[] { x.Op("Concat", new[] { f1, f2 }, ("axis", 1L)), C(_s) });
            }
        }
    }
}
