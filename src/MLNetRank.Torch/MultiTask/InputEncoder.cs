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
                if (t.InitialRows is { Length: > 0 } initial)
                {
                    // pretrained rows over the random start (drawn first, so the other rows are those of a run without them)
                    using var scope = NewDisposeScope();
                    using (no_grad())
                        e.weight!.index_copy_(0, tensor(initial), tensor(t.InitialValues!, new long[] { initial.Length, t.Dimension }));
                }
                if (t.Frozen)
                    e.weight!.requires_grad = false;    // left out of the optimizer (MultiTaskTrainer) and of backward
                tables.Add(e);
            }
            foreach (var s in layout.Sequences)
                poolings.Add(s.Pooling.CreateModule(PoolingContext(layout, s)));
            dense_mean = tensor(layout.DenseSize > 0 ? layout.DenseMean : new float[1]);
            dense_invstd = tensor(layout.DenseSize > 0 ? layout.DenseInvStd : new float[1]);
            if (layout.Position is not null)
            {
                position = Embeddings.Normal(layout.Position.Spec.MaximumPosition + 1, layout.Position.Spec.EmbeddingDimension);
            }
            RegisterComponents();
        }

        public static SequencePoolingContext PoolingContext(NetworkLayout layout, SequenceInput s)
            => new(s.Name, layout.Tables[s.Table].Dimension, s.MaximumLength,
                s.Queries.Select(q => layout.Tables[q.IsSequence ? layout.Sequences[q.Index].Table : layout.Categoricals[q.Index].Table].Dimension).ToArray(),
                s.Queries.Select(q => q.IsSequence ? layout.Sequences[q.Index].MaximumLength : layout.Categoricals[q.Index].Slots).ToArray());

        public IReadOnlyList<SequencePoolingModule> Poolings => poolings.ToArray();

        /// <summary>Every pooling's input on this batch: embedded ids, masks and queries (also for Fit's agreement check).</summary>
        public SequencePoolingBatch[] PoolingBatches(BatchTensors b)
        {
            var catEmb = new Tensor[_layout.Categoricals.Count];
            var catMask = new Tensor[_layout.Categoricals.Count];
            var seqEmb = new Tensor[_layout.Sequences.Count];
            var seqMask = new Tensor[_layout.Sequences.Count];
            for (int i = 0; i < _layout.Categoricals.Count; i++)
            {
                var ids = b.Categoricals[i];
                catEmb[i] = tables[_layout.Categoricals[i].Table].forward(ids);                 // [B, slots, d]
                catMask[i] = ids.gt(Scalars.Of(0)).to_type(ScalarType.Float32);
            }
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var ids = b.Sequences[i];
                seqEmb[i] = tables[_layout.Sequences[i].Table].forward(ids);                    // [B, L, d]
                seqMask[i] = ids.gt(Scalars.Of(0)).to_type(ScalarType.Float32);
            }
            return _layout.Sequences.Select((s, i) => new SequencePoolingBatch(seqEmb[i], seqMask[i],
                s.Queries.Select(q => q.IsSequence ? seqEmb[q.Index] : catEmb[q.Index]).ToArray(),
                s.Queries.Select(q => q.IsSequence ? seqMask[q.Index] : catMask[q.Index]).ToArray())).ToArray();
        }

        public Tensor DenseMean => dense_mean;

        public Tensor DenseInvStd => dense_invstd;

        public override Tensor forward(BatchTensors b)
        {
            var parts = new List<Tensor>();
            if (_layout.DenseSize > 0)
                parts.Add((b.Dense! - dense_mean) * dense_invstd);
            if (_layout.Sequences.Count == 0)
            {
                for (int i = 0; i < _layout.Categoricals.Count; i++)
                {
                    var c = _layout.Categoricals[i];
                    parts.Add(tables[c.Table].forward(b.Categoricals[i]).flatten(1));
                }
            }
            else
            {
                // each id embedded once, shared by the categorical part and the poolings' queries
                var inputs = PoolingBatches(b);
                var cats = new Tensor?[_layout.Categoricals.Count];
                foreach (var (s, pb) in _layout.Sequences.Zip(inputs))
                    for (int k = 0; k < s.Queries.Count; k++)
                        if (!s.Queries[k].IsSequence)
                            cats[s.Queries[k].Index] = pb.Queries[k];
                for (int i = 0; i < _layout.Categoricals.Count; i++)
                    parts.Add((cats[i] ?? tables[_layout.Categoricals[i].Table].forward(b.Categoricals[i])).flatten(1));
                for (int i = 0; i < _layout.Sequences.Count; i++)
                    parts.Add(poolings[i].forward(inputs[i]));
            }
            if (position is not null)
            {
                // the logged position in training; the neutral position at serving (and when the block is absent)
                var p = _layout.Position!;
                var pos = b.Adjustments is not null
                    ? b.Adjustments.select(1, p.Offset)
                    : full(new long[] { b.Count }, Scalars.Of(p.Spec.NeutralPosition), device: position.weight!.device);
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
            var catEmb = new string[_layout.Categoricals.Count];
            var catMask = new string?[_layout.Categoricals.Count];
            for (int i = 0; i < _layout.Categoricals.Count; i++)
            {
                catEmb[i] = g.Gather(tableNames[_layout.Categoricals[i].Table], cats[i], 0);      // [B, slots, d]
                parts.Add(g.Flatten(catEmb[i], 1));
            }
            var seqEmb = new string[_layout.Sequences.Count];
            var seqMask = new string[_layout.Sequences.Count];
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var s = _layout.Sequences[i];
                // keep the last MaximumLength ids (the reader does the same in training)
                var ids = g.Slice(seqs[i], new long[] { -s.MaximumLength }, new long[] { long.MaxValue }, new long[] { 1 });
                seqMask[i] = g.Cast(g.Compare("Greater", ids, g.Int64s("zero", 0)), TensorElementType.Float);
                seqEmb[i] = g.Gather(tableNames[s.Table], ids, 0);
            }
            // the batch size B (a request-level sequence may have one row per request): from a per-candidate input
            string? batchRef = dense ?? (cats.Count > 0 ? cats[0] : null)
                ?? _layout.Sequences.Select((s, i) => s.SameForAllCandidates ? null : seqs[i]).FirstOrDefault(x => x is not null);
            string? batchSize = batchRef is null ? null : g.Slice(g.Shape(batchRef), new long[] { 0 }, new long[] { 1 }, new long[] { 0 });
            // broadcast a request-level [1, ...] tensor of rank `rank` to the batch's rows (identity when it has B rows)
            string ToBatch(string x, int rank)
            {
                if (batchSize is null)
                    return x;
                var tail = g.Slice(g.Shape(x), new long[] { 1 }, new long[] { rank }, new long[] { 0 });
                return g.Expand(x, g.Concat(0, new[] { batchSize, tail }));
            }
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var s = _layout.Sequences[i];
                var qs = new List<string>();
                var qms = new List<string>();
                foreach (var (isSeq, k) in s.Queries)
                {
                    if (!isSeq)
                    {
                        catMask[k] ??= g.Cast(g.Compare("Greater", cats[k], g.Int64s("zero", 0)), TensorElementType.Float);
                        qs.Add(catEmb[k]);
                        qms.Add(catMask[k]!);
                    }
                    else if (_layout.Sequences[k].SameForAllCandidates)
                    {
                        // a request-level sequence used as a query: broadcast to the candidates
                        qs.Add(ToBatch(seqEmb[k], 3));
                        qms.Add(ToBatch(seqMask[k], 2));
                    }
                    else
                    {
                        qs.Add(seqEmb[k]);
                        qms.Add(seqMask[k]);
                    }
                }
                var pooled = poolings[i].Export(new SequencePoolingGraph(g, seqEmb[i], seqMask[i], qs, qms));
                // the V4 transformer: recorded for the request scorer's native kernel (its ids' sources are the graph inputs
                // the layout names, the prepared key columns)
                if (poolings[i] is TransformerModule tm && tm.NativeParameters() is { } np && s.Queries.Count >= np.Segments)
                {
                    MLNetRank.Serving.Native.NativeIdSource Source(bool isSeq, int k) => isSeq
                        ? new MLNetRank.Serving.Native.NativeIdSource { Input = _layout.Sequences[k].Column, Table = tableNames[_layout.Sequences[k].Table], IsSequence = true, MaximumLength = _layout.Sequences[k].MaximumLength, RequestLevel = _layout.Sequences[k].SameForAllCandidates }
                        : new MLNetRank.Serving.Native.NativeIdSource { Input = _layout.Categoricals[k].Column, Table = tableNames[_layout.Categoricals[k].Table], Slots = _layout.Categoricals[k].Slots, SlotStride = _layout.Categoricals[k].SlotStride };
                    g.NativeTransformers.Add(MLNetRank.Serving.Native.NativeTransformerSpec.Of(pooled, Source(true, i), s.Queries.Take(np.Segments).Select(q => Source(q.IsSequence, q.Index)), np));
                }
                // a request-level sequence without queries pools to [1, out]: broadcast to the candidates
                parts.Add(s.SameForAllCandidates ? ToBatch(pooled, 2) : pooled);
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
