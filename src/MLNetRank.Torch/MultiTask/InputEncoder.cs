using System;
using System.Collections.Generic;
using System.Linq;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>Embeddings, pooling and standardized dense inputs, concatenated: <c>[B, EncodedSize]</c>.</summary>
    internal sealed class InputEncoder : nn.Module<BatchTensors, Tensor>
    {
        private readonly NetworkLayout _layout;
        private readonly ModuleList<Embedding> tables = new();
        private readonly ModuleList<SequencePoolingModule> poolings = new();
        private readonly Tensor dense_mean;
        private readonly Tensor dense_invstd;
        private readonly Embedding? position;

        public InputEncoder(string name, NetworkLayout layout) : base(name)
        {
            _layout = layout;
            foreach (var t in layout.Tables)
            {
                var e = Embeddings.Normal(t.Rows, t.Dimension);
                tables.Add(e);
            }
            foreach (var s in layout.Sequences)
                poolings.Add(s.Pooling.CreateModule(s.Name, layout.Tables[s.Table].Dimension));
            dense_mean = tensor(layout.DenseSize > 0 ? layout.DenseMean : new float[1]);
            dense_invstd = tensor(layout.DenseSize > 0 ? layout.DenseInvStd : new float[1]);
            if (layout.Position is not null)
            {
                position = Embeddings.Normal(layout.Position.Spec.MaximumPosition + 1, layout.Position.Spec.EmbeddingDimension);
            }
            RegisterComponents();
        }

        public Tensor DenseMean => dense_mean;

        public Tensor DenseInvStd => dense_invstd;

        public override Tensor forward(BatchTensors b)
        {
            var parts = new List<Tensor>();
            if (_layout.DenseSize > 0)
                parts.Add((b.Dense! - dense_mean) * dense_invstd);
            for (int i = 0; i < _layout.Categoricals.Count; i++)
            {
                var c = _layout.Categoricals[i];
                parts.Add(tables[c.Table].forward(b.Categoricals[i]).flatten(1));
            }
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var s = _layout.Sequences[i];
                var ids = b.Sequences[i];
                var mask = ids.gt(0).to_type(ScalarType.Float32);
                parts.Add(poolings[i].forward(tables[s.Table].forward(ids), mask));
            }
            if (position is not null)
            {
                // the logged position in training; the neutral position at serving (and when the block is absent)
                var p = _layout.Position!;
                var pos = b.Adjustments is not null
                    ? b.Adjustments.select(1, p.Offset)
                    : full(new long[] { b.Count }, p.Spec.NeutralPosition, device: position.weight!.device);
                parts.Add(position.forward(PositionBucketing.Of(pos, p.Spec.MaximumPosition)));
            }
            return parts.Count == 1 ? parts[0] : cat(parts, 1);
        }

        /// <summary>ONNX inputs are declared by the exporter; this writes the encoding and returns the [B, EncodedSize] name.</summary>
        public string Export(OnnxGraphBuilder g, string? dense, IReadOnlyList<string> cats, IReadOnlyList<string> seqs)
        {
            var parts = new List<string>();
            var tableNames = new string[tables.Count];
            for (int t = 0; t < tables.Count; t++)
                tableNames[t] = g.AddTensor(tables[t].weight!, "embedding");
            if (_layout.DenseSize > 0)
            {
                var mean = g.AddTensor(dense_mean, "dense_mean");
                var inv = g.AddTensor(dense_invstd, "dense_invstd");
                parts.Add(g.Mul(g.Sub(dense!, mean), inv));
            }
            for (int i = 0; i < _layout.Categoricals.Count; i++)
            {
                parts.Add(g.Flatten(g.Gather(tableNames[_layout.Categoricals[i].Table], cats[i], 0), 1));
            }
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var s = _layout.Sequences[i];
                // keep the last MaximumLength ids (the reader does the same in training)
                var ids = g.Slice(seqs[i], new long[] { -s.MaximumLength }, new long[] { long.MaxValue }, new long[] { 1 });
                var mask = g.Cast(g.Compare("Greater", ids, g.Int64s("zero", 0)), TensorElementType.Float);
                var emb = g.Gather(tableNames[s.Table], ids, 0);
                parts.Add(poolings[i].Export(g, emb, mask));
            }
            if (position is not null)
            {
                // the neutral position's embedding row, a constant [1, d] broadcast to the batch: no position input
                var p = _layout.Position!.Spec;
                long row = PositionBucketing.Of(p.NeutralPosition, p.MaximumPosition);
                using var constRow = position.weight!.detach().narrow(0, row, 1);
                var value = g.AddTensor(constRow, "neutral_position");
                var batch = g.AddNode("Slice", new[] { g.Shape(parts[0]), g.Int64s("starts", 0), g.Int64s("ends", 1) }, new[] { g.UniqueName("Slice") });
                var shape = g.Concat(0, new[] { batch, g.Int64s("dim", p.EmbeddingDimension) });
                parts.Add(g.Expand(value, shape));
            }
            return parts.Count == 1 ? parts[0] : g.Concat(1, parts.ToArray());
        }
    }
}
