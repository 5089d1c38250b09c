using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Torch.MultiTask.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>The resolved shape of a network: what the batch reader assembles and what the modules consume.</summary>
    internal sealed class NetworkLayout
    {
        public int DenseSize;
        public float[] DenseMean = Array.Empty<float>();
        public float[] DenseInvStd = Array.Empty<float>();
        public int[] WideDenseSlots = Array.Empty<int>();
        public List<CategoricalInput> Categoricals = new();
        public List<SequenceInput> Sequences = new();
        public List<EmbeddingTable> Tables = new();
        public List<string> PositionColumns = new();   // training-only position columns of per-position towers
        public List<TaskInfo> Tasks = new();
        public List<AdjustmentInput> Adjustments = new();
        public int AdjustmentSize;
        public PositionInput? Position;

        public int EncodedSize => DenseSize
            + Categoricals.Sum(c => c.Slots * Tables[c.Table].Dimension)
            + Sequences.Sum(s => s.OutputSize)
            + (Position?.Spec.EmbeddingDimension ?? 0);
    }

    internal sealed class EmbeddingTable
    {
        public string Name = "";
        public long Rows;
        public int Dimension;
    }

    internal sealed class CategoricalInput
    {
        public string Name = "";        // user-facing column
        public string Column = "";      // prepared Int64 vector column (ONNX input)
        public int Slots;
        public int Table;
        public bool Wide;
    }

    internal sealed class SequenceInput
    {
        public string Name = "";
        public string Column = "";      // prepared Int64 variable vector column (ONNX input)
        public int Table;
        public int MaximumLength;
        public SequencePooling Pooling = new MeanSequencePooling();
        public int OutputSize;
        public bool SameForAllCandidates;
        public List<(bool IsSequence, int Index)> Queries = new();
    }

    internal sealed class TaskInfo
    {
        public string Name = "";
        public string Label = "";
        public MultiTaskKind Kind;
        public LabelTransform Transform;
        public int Parent = -1;
        public float CounterfactualWeight;
        public float Weight = 1f;
        public int[] TowerLayers = Array.Empty<int>();
        public List<int> Adjustments = new();
        public PerPositionTowers? PositionTowers;       // null = one tower
        public int PositionInput = -1;                  // index into NetworkLayout.PositionColumns
    }

    internal sealed class AdjustmentInput
    {
        public LogitAdjustment Spec = null!;
        public int Offset;
        public int Size;
    }

    /// <summary>Position as a feature (method 1): its slot in the training-only block.</summary>
    internal sealed class PositionInput
    {
        public PositionFeature Spec = null!;
        public int Offset;
    }

    /// <summary>The tensors of one mini-batch (created from one host batch, disposed with its scope).</summary>
    internal sealed class BatchTensors
    {
        public Tensor? Dense;
        public Tensor[] Categoricals = Array.Empty<Tensor>();
        public Tensor[] Sequences = Array.Empty<Tensor>();
        public Tensor? Adjustments;
        public Tensor? Positions;       // [B, P] 1-based positions (per-position towers), read when the layout has any
        public Tensor Labels = null!;   // [B, T]
        public Tensor Mask = null!;     // [B, T]
        public Tensor? Weights;         // [B]
        public long Count;
    }

    /// <summary>A ReLU MLP (dropout after each hidden layer in training).</summary>
    internal sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly ModuleList<Linear> layers = new();
        private readonly Dropout? dropout;

        public Mlp(string name, int inputSize, int[] hidden, float dropoutRate) : base(name)
        {
            int n = inputSize;
            foreach (var h in hidden)
            {
                layers.Add(nn.Linear(n, h));
                n = h;
            }
            OutputSize = n;
            if (dropoutRate > 0)
                dropout = nn.Dropout(dropoutRate);
            RegisterComponents();
        }

        public int OutputSize { get; }

        public override Tensor forward(Tensor x)
        {
            foreach (var l in layers)
            {
                x = nn.functional.relu(l.forward(x));
                if (dropout is not null)
                    x = dropout.forward(x);
            }
            return x;
        }

        public string Export(OnnxModelWriter w, string x)
        {
            foreach (var l in layers)
                x = w.Op("Relu", new[] { OnnxExport.Gemm(w, x, l) });
            return x;
        }
    }

    /// <summary>An MLP followed by a single output unit: a task tower (or a bias tower).</summary>
    internal sealed class Tower : nn.Module<Tensor, Tensor>
    {
        private readonly Mlp hidden;
        private readonly Linear output;

        public Tower(string name, int inputSize, int[] layers, float dropoutRate) : base(name)
        {
            hidden = new Mlp(name + ".hidden", inputSize, layers, dropoutRate);
            output = nn.Linear(hidden.OutputSize, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => output.forward(hidden.forward(x));

        public string Export(OnnxModelWriter w, string x) => OnnxExport.Gemm(w, hidden.Export(w, x), output);
    }

    /// <summary>The K + 1 towers of a task with per-position towers (positions 1..K, then K+): <c>[B, K + 1]</c> logits.</summary>
    internal sealed class PositionTowerSet : nn.Module<Tensor, Tensor>
    {
        private readonly ModuleList<Tower> heads = new();

        public PositionTowerSet(string name, int inputSize, int[] layers, float dropoutRate, int count) : base(name)
        {
            for (int k = 0; k < count; k++)
                heads.Add(new Tower($"{name}.{k + 1}", inputSize, layers, dropoutRate));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => cat(heads.Select(hd => hd.forward(x)).ToArray(), 1);

        public string Export(OnnxModelWriter w, string x) => w.Op("Concat", heads.Select(hd => hd.Export(w, x)).ToArray(), ("axis", 1L));

        public string ExportOne(OnnxModelWriter w, string x, int k) => heads[k].Export(w, x);
    }

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
                var e = Layers.NormalEmbedding(t.Rows, t.Dimension);
                tables.Add(e);
            }
            foreach (var s in layout.Sequences)
                poolings.Add(s.Pooling.CreateModule(PoolingContext(layout, s)));
            dense_mean = tensor(layout.DenseSize > 0 ? layout.DenseMean : new float[1]);
            dense_invstd = tensor(layout.DenseSize > 0 ? layout.DenseInvStd : new float[1]);
            if (layout.Position is not null)
            {
                position = Layers.NormalEmbedding(layout.Position.Spec.MaximumPosition + 1, layout.Position.Spec.EmbeddingDimension);
            }
            RegisterComponents();
        }

        public static SequencePoolingContext PoolingContext(NetworkLayout layout, SequenceInput s)
            => new(s.Name, layout.Tables[s.Table].Dimension, s.MaximumLength,
                s.Queries.Select(q => layout.Tables[q.IsSequence ? layout.Sequences[q.Index].Table : layout.Categoricals[q.Index].Table].Dimension).ToArray(),
                s.Queries.Select(q => q.IsSequence ? layout.Sequences[q.Index].MaximumLength : layout.Categoricals[q.Index].Slots).ToArray());

        public IReadOnlyList<SequencePoolingModule> Poolings => poolings.ToArray();

        /// <summary>Every pooling's input on this batch: embedded ids, masks and queries (for the agreement check).</summary>
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
                catMask[i] = ids.gt(0).to_type(ScalarType.Float32);
            }
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var ids = b.Sequences[i];
                seqEmb[i] = tables[_layout.Sequences[i].Table].forward(ids);                    // [B, L, d]
                seqMask[i] = ids.gt(0).to_type(ScalarType.Float32);
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
                    : full(new long[] { b.Count }, p.Spec.NeutralPosition, device: position.weight!.device);
                parts.Add(position.forward(PositionTowerModule.Bucket(pos, p.Spec.MaximumPosition)));
            }
            return parts.Count == 1 ? parts[0] : cat(parts, 1);
        }

        /// <summary>ONNX inputs are declared by the exporter; this writes the encoding and returns the [B, EncodedSize] name.</summary>
        public string Export(OnnxModelWriter w, string? dense, IReadOnlyList<string> cats, IReadOnlyList<string> seqs)
        {
            var parts = new List<string>();
            var tableNames = new string[tables.Count];
            for (int t = 0; t < tables.Count; t++)
                tableNames[t] = OnnxExport.Initializer(w, "embedding", tables[t].weight!);
            if (_layout.DenseSize > 0)
            {
                var mean = OnnxExport.Initializer(w, "dense_mean", dense_mean);
                var inv = OnnxExport.Initializer(w, "dense_invstd", dense_invstd);
                parts.Add(w.Op("Mul", new[] { w.Op("Sub", new[] { dense!, mean }), inv }));
            }
            var catEmb = new string[_layout.Categoricals.Count];
            var catMask = new string?[_layout.Categoricals.Count];
            for (int i = 0; i < _layout.Categoricals.Count; i++)
            {
                catEmb[i] = w.Op("Gather", new[] { tableNames[_layout.Categoricals[i].Table], cats[i] }, ("axis", 0L));   // [B, slots, d]
                parts.Add(w.Op("Flatten", new[] { catEmb[i] }, ("axis", 1L)));
            }
            var seqEmb = new string[_layout.Sequences.Count];
            var seqMask = new string[_layout.Sequences.Count];
            var zeroId = _layout.Sequences.Count > 0 || _layout.Categoricals.Count > 0 ? w.AddInitializer(w.Fresh("zero"), new long[] { 0 }, new long[] { 1 }) : "";
            for (int i = 0; i < _layout.Sequences.Count; i++)
            {
                var s = _layout.Sequences[i];
                // keep the last MaximumLength ids (the reader does the same in training)
                var starts = w.AddInitializer(w.Fresh("starts"), new long[] { -s.MaximumLength }, new long[] { 1 });
                var ends = w.AddInitializer(w.Fresh("ends"), new long[] { long.MaxValue }, new long[] { 1 });
                var axes = w.AddInitializer(w.Fresh("axes"), new long[] { 1 }, new long[] { 1 });
                var ids = w.Op("Slice", new[] { seqs[i], starts, ends, axes });
                seqMask[i] = w.Op("Cast", new[] { w.Op("Greater", new[] { ids, zeroId }) }, ("to", 1L));
                seqEmb[i] = w.Op("Gather", new[] { tableNames[s.Table], ids }, ("axis", 0L));
            }
            // the batch size B (a request-level sequence has one row per request): from a per-candidate input
            string? batchRef = dense ?? (cats.Count > 0 ? cats[0] : null)
                ?? _layout.Sequences.Select((s, i) => s.SameForAllCandidates ? null : seqs[i]).FirstOrDefault(x => x is not null);
            string? batchSize = batchRef is null ? null : w.Graph.Slice(w.Graph.Shape(batchRef), new long[] { 0 }, new long[] { 1 }, new long[] { 0 });
            // broadcast a request-level [1, ...] tensor of rank `rank` to the batch's rows (identity when it has B rows)
            string ToBatch(string x, int rank)
            {
                if (batchSize is null)
                    return x;
                var tail = w.Graph.Slice(w.Graph.Shape(x), new long[] { 1 }, new long[] { rank }, new long[] { 0 });
                return w.Graph.Expand(x, w.Graph.Concat(0, new[] { batchSize, tail }));
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
                        catMask[k] ??= w.Op("Cast", new[] { w.Op("Greater", new[] { cats[k], zeroId }) }, ("to", 1L));
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
                var pooled = poolings[i].Export(new SequencePoolingGraph(w.Graph, seqEmb[i], seqMask[i], qs, qms));
                // a request-level sequence without queries pools to [1, out]: broadcast to the candidates
                parts.Add(s.SameForAllCandidates ? ToBatch(pooled, 2) : pooled);
            }
            if (position is not null)
            {
                // the neutral position's embedding row, a constant [1, d] broadcast to the batch: no position input
                var p = _layout.Position!.Spec;
                long row = (long)Math.Clamp(Math.Floor(p.NeutralPosition), 1, p.MaximumPosition + 1) - 1;
                using var constRow = position.weight!.detach().narrow(0, row, 1);
                var value = OnnxExport.Initializer(w, "neutral_position", constRow);
                var batch = w.Op("Slice", new[] { w.Op("Shape", new[] { parts[0] }),
                    w.AddInitializer(w.Fresh("starts"), new long[] { 0 }, new long[] { 1 }),
                    w.AddInitializer(w.Fresh("ends"), new long[] { 1 }, new long[] { 1 }) });
                var shape = w.Op("Concat", new[] { batch, w.AddInitializer(w.Fresh("dim"), new long[] { p.EmbeddingDimension }, new long[] { 1 }) }, ("axis", 0L));
                parts.Add(w.Op("Expand", new[] { value, shape }));
            }
            return parts.Count == 1 ? parts[0] : w.Op("Concat", parts.ToArray(), ("axis", 1L));
        }
    }

    /// <summary>Turns the encoded input into one representation per task.</summary>
    internal abstract class Bottom : nn.Module<Tensor[], Tensor[]>
    {
        protected Bottom(string name) : base(name) { }

        public abstract int OutputSize { get; }

        /// <summary>Writes the bottom; <paramref name="inputs"/> has one name per encoder (1, or one per task for SingleTask).</summary>
        public abstract string[] Export(OnnxModelWriter w, string[] inputs);

        protected static Tensor Mix(Tensor[] experts, Tensor gateLogits)
        {
            var stacked = stack(experts, 1);                                  // [B, E, h]
            var g = nn.functional.softmax(gateLogits, 1).unsqueeze(2);        // [B, E, 1]
            return (stacked * g).sum(1);
        }

        /// <summary>The gate's mixture as one batched product: softmax(gate) [B, 1, E] x experts [B, E, h] -> [B, h]. (A
        /// broadcast Mul + ReduceSum over [B, E, h] computes the same and made the exported MMoE slower per row than a
        /// hand-written graph; see docs/benchmarks-multitask.md.)</summary>
        protected static string ExportMix(OnnxModelWriter w, string[] experts, string gateLogits)
        {
            var one = w.AddInitializer(w.Fresh("axis1"), new long[] { 1 }, new long[] { 1 });
            var stacked = w.Op("Concat", experts.Select(e => w.Op("Unsqueeze", new[] { e, one })).ToArray(), ("axis", 1L));
            var g = w.Op("Unsqueeze", new[] { w.Op("Softmax", new[] { gateLogits }, ("axis", 1L)), one });
            return w.Op("Flatten", new[] { w.Op("MatMul", new[] { g, stacked }) }, ("axis", 1L));
        }
    }

    internal sealed class SingleTaskBottom : Bottom
    {
        private readonly ModuleList<Mlp> nets = new();

        public SingleTaskBottom(int inputSize, int tasks, int[] layers, float dropout) : base("single_task")
        {
            for (int t = 0; t < tasks; t++)
                nets.Add(new Mlp($"task{t}", inputSize, layers, dropout));
            RegisterComponents();
        }

        public override int OutputSize => nets[0].OutputSize;

        public override Tensor[] forward(Tensor[] x) => nets.Select((n, t) => n.forward(x[t])).ToArray();

        public override string[] Export(OnnxModelWriter w, string[] x) => nets.Select((n, t) => n.Export(w, x[t])).ToArray();
    }

    internal sealed class SharedBottom : Bottom
    {
        private readonly Mlp net;
        private readonly int _tasks;

        public SharedBottom(int inputSize, int tasks, int[] layers, float dropout) : base("shared_bottom")
        {
            _tasks = tasks;
            net = new Mlp("bottom", inputSize, layers, dropout);
            RegisterComponents();
        }

        public override int OutputSize => net.OutputSize;

        public override Tensor[] forward(Tensor[] x)
        {
            var h = net.forward(x[0]);
            return Enumerable.Repeat(h, _tasks).ToArray();
        }

        public override string[] Export(OnnxModelWriter w, string[] x)
        {
            var h = net.Export(w, x[0]);
            return Enumerable.Repeat(h, _tasks).ToArray();
        }
    }

    internal sealed class MMoEBottom : Bottom
    {
        private readonly ModuleList<Mlp> experts = new();
        private readonly ModuleList<Linear> gates = new();

        public MMoEBottom(int inputSize, int tasks, int expertCount, int[] layers, float dropout) : base("mmoe")
        {
            for (int e = 0; e < expertCount; e++)
                experts.Add(new Mlp($"expert{e}", inputSize, layers, dropout));
            for (int t = 0; t < tasks; t++)
                gates.Add(nn.Linear(inputSize, expertCount));
            RegisterComponents();
        }

        public override int OutputSize => experts[0].OutputSize;

        public override Tensor[] forward(Tensor[] x)
        {
            var e = experts.Select(m => m.forward(x[0])).ToArray();
            return gates.Select(g => Mix(e, g.forward(x[0]))).ToArray();
        }

        public override string[] Export(OnnxModelWriter w, string[] x)
        {
            var e = experts.Select(m => m.Export(w, x[0])).ToArray();
            return gates.Select(g => ExportMix(w, e, OnnxExport.Gemm(w, x[0], g))).ToArray();
        }
    }

    /// <summary>PLE: per level, shared and task-specific experts; each task gates over its own and the shared experts, and
    /// (below the last level) a shared gate over all experts feeds the next level's shared experts.</summary>
    internal sealed class PleBottom : Bottom
    {
        private readonly int _tasks, _shared, _specific, _levels;
        private readonly ModuleList<Mlp> shared_experts = new();   // [level * shared + k]
        private readonly ModuleList<Mlp> task_experts = new();     // [(level * tasks + t) * specific + k]
        private readonly ModuleList<Linear> task_gates = new();    // [level * tasks + t]
        private readonly ModuleList<Linear> shared_gates = new();  // [level] for level < levels - 1

        public PleBottom(int inputSize, int tasks, int shared, int specific, int levels, int[] layers, float dropout) : base("ple")
        {
            _tasks = tasks; _shared = shared; _specific = specific; _levels = levels;
            int n = inputSize;
            int outSize = inputSize;
            for (int l = 0; l < levels; l++)
            {
                for (int k = 0; k < shared; k++)
                {
                    var m = new Mlp($"l{l}.shared{k}", n, layers, dropout);
                    outSize = m.OutputSize;
                    shared_experts.Add(m);
                }
                for (int t = 0; t < tasks; t++)
                    for (int k = 0; k < specific; k++)
                    {
                        var m = new Mlp($"l{l}.task{t}.{k}", n, layers, dropout);
                        outSize = m.OutputSize;
                        task_experts.Add(m);
                    }
                for (int t = 0; t < tasks; t++)
                    task_gates.Add(nn.Linear(n, specific + shared));
                if (l < levels - 1)
                    shared_gates.Add(nn.Linear(n, tasks * specific + shared));
                n = outSize;
            }
            OutputSize = outSize;
            RegisterComponents();
        }

        public override int OutputSize { get; }

        public override Tensor[] forward(Tensor[] x)
        {
            var taskIn = Enumerable.Repeat(x[0], _tasks).ToArray();
            var sharedIn = x[0];
            for (int l = 0; l < _levels; l++)
            {
                var se = Enumerable.Range(0, _shared).Select(k => shared_experts[l * _shared + k].forward(sharedIn)).ToArray();
                var te = new Tensor[_tasks][];
                for (int t = 0; t < _tasks; t++)
                    te[t] = Enumerable.Range(0, _specific).Select(k => task_experts[(l * _tasks + t) * _specific + k].forward(taskIn[t])).ToArray();
                var nextTask = new Tensor[_tasks];
                for (int t = 0; t < _tasks; t++)
                    nextTask[t] = Mix(te[t].Concat(se).ToArray(), task_gates[l * _tasks + t].forward(taskIn[t]));
                if (l < _levels - 1)
                    sharedIn = Mix(te.SelectMany(a => a).Concat(se).ToArray(), shared_gates[l].forward(sharedIn));
                taskIn = nextTask;
            }
            return taskIn;
        }

        public override string[] Export(OnnxModelWriter w, string[] x)
        {
            var taskIn = Enumerable.Repeat(x[0], _tasks).ToArray();
            var sharedIn = x[0];
            for (int l = 0; l < _levels; l++)
            {
                var se = Enumerable.Range(0, _shared).Select(k => shared_experts[l * _shared + k].Export(w, sharedIn)).ToArray();
                var te = new string[_tasks][];
                for (int t = 0; t < _tasks; t++)
                    te[t] = Enumerable.Range(0, _specific).Select(k => task_experts[(l * _tasks + t) * _specific + k].Export(w, taskIn[t])).ToArray();
                var nextTask = new string[_tasks];
                for (int t = 0; t < _tasks; t++)
                    nextTask[t] = ExportMix(w, te[t].Concat(se).ToArray(), OnnxExport.Gemm(w, taskIn[t], task_gates[l * _tasks + t]));
                if (l < _levels - 1)
                    sharedIn = ExportMix(w, te.SelectMany(a => a).Concat(se).ToArray(), OnnxExport.Gemm(w, sharedIn, shared_gates[l]));
                taskIn = nextTask;
            }
            return taskIn;
        }
    }

    /// <summary>
    /// The multi-task network: encoder(s) -> bottom -> one tower per task; each task's logit is
    /// <c>tower(h_t) + wide_t(x)</c> plus, in training only, its <see cref="LogitAdjustment"/> terms.
    /// Uncertainty weighting's log-variances live here as parameters.
    /// </summary>
    internal sealed class MultiTaskNetwork : nn.Module<BatchTensors, Tensor>
    {
        private readonly NetworkLayout _layout;
        private readonly ModuleList<InputEncoder> encoders = new();
        private readonly Bottom bottom;
        private readonly ModuleList<Tower> towers = new();
        private readonly ModuleList<PositionTowerSet> position_towers = new();
        private readonly int[] _towerOf, _positionSet;
        private readonly Linear? wide_dense;
        private readonly ModuleList<Embedding> wide_tables = new();
        private readonly ModuleList<nn.Module<Tensor, Tensor>> adjustments = new();
        private readonly Parameter? log_vars;
        private readonly long[] _wideCats;
        private readonly Tensor? wide_slots;

        public MultiTaskNetwork(NetworkLayout layout, MultiTaskOptions o) : base("multitask")
        {
            _layout = layout;
            int tasks = layout.Tasks.Count;
            int encoders_ = o.Architecture == MultiTaskArchitecture.SingleTask ? tasks : 1;
            for (int i = 0; i < encoders_; i++)
                encoders.Add(new InputEncoder($"encoder{i}", layout));
            int inSize = layout.EncodedSize;
            bottom = o.Architecture switch
            {
                MultiTaskArchitecture.SingleTask => new SingleTaskBottom(inSize, tasks, o.ExpertLayers, o.Dropout),
                MultiTaskArchitecture.SharedBottom => new SharedBottom(inSize, tasks, o.ExpertLayers, o.Dropout),
                MultiTaskArchitecture.MMoE => new MMoEBottom(inSize, tasks, o.Experts, o.ExpertLayers, o.Dropout),
                _ => new PleBottom(inSize, tasks, o.SharedExperts, o.TaskExperts, o.Levels, o.ExpertLayers, o.Dropout),
            };
            // a task has one tower, or (per-position towers) a set of K + 1 towers
            _towerOf = new int[tasks];
            _positionSet = new int[tasks];
            for (int t = 0; t < tasks; t++)
            {
                var task = layout.Tasks[t];
                _towerOf[t] = _positionSet[t] = -1;
                if (task.PositionTowers is { } pt)
                {
                    _positionSet[t] = position_towers.Count;
                    position_towers.Add(new PositionTowerSet($"position_towers.{task.Name}", bottom.OutputSize, pt.TowerLayers ?? task.TowerLayers, o.Dropout, pt.Positions + 1));
                }
                else
                {
                    _towerOf[t] = towers.Count;
                    towers.Add(new Tower($"tower.{task.Name}", bottom.OutputSize, task.TowerLayers, o.Dropout));
                }
            }
            if (layout.WideDenseSlots.Length > 0)
            {
                wide_dense = nn.Linear(layout.WideDenseSlots.Length, tasks, hasBias: false);
                wide_slots = tensor(layout.WideDenseSlots.Select(i => (long)i).ToArray());
            }
            _wideCats = layout.Categoricals.Select((c, i) => (c, i)).Where(p => p.c.Wide).Select(p => (long)p.i).ToArray();
            foreach (var i in _wideCats)
            {
                var e = nn.Embedding(layout.Tables[layout.Categoricals[(int)i].Table].Rows, tasks);
                using (no_grad())
                    nn.init.zeros_(e.weight!);
                wide_tables.Add(e);
            }
            foreach (var a in layout.Adjustments)
                adjustments.Add(a.Spec.CreateModule($"adjustment{adjustments.Count}", a.Size));
            if (o.TaskWeighting is TaskWeighting.Uncertainty or TaskWeighting.RegularizedUncertainty)
                log_vars = nn.Parameter(zeros(tasks));
            RegisterComponents();
        }

        public Tensor? LogVariances => log_vars;

        /// <summary>The input encoders (one, or one per task for SingleTask).</summary>
        public IReadOnlyList<InputEncoder> Encoders => encoders.ToArray();

        /// <summary>Logits [B, T] of the serving model (no training-only terms).</summary>
        public override Tensor forward(BatchTensors b) => Logits(b, training: false);

        /// <summary>Logits [B, T]; in training, per-position towers take each row's position tower.</summary>
        public Tensor Logits(BatchTensors b, bool training) => Logits(b, training, training, out _);

        /// <summary>Logits [B, T]. <paramref name="matchPositions"/>: a task with per-position towers takes the tower of each
        /// row's position (<see cref="BatchTensors.Positions"/>) instead of its serving tower. <paramref name="positionLogits"/>:
        /// per such task all its towers' logits [B, K + 1] (wide terms included, no training-only terms); null for others.</summary>
        public Tensor Logits(BatchTensors b, bool training, bool matchPositions, out Tensor?[] positionLogits)
        {
            var x = encoders.Select(e => e.forward(b)).ToArray();
            var h = bottom.forward(x);
            int tasks = _towerOf.Length;
            var cols = new Tensor[tasks];
            positionLogits = new Tensor?[tasks];
            for (int t = 0; t < tasks; t++)
            {
                if (_towerOf[t] >= 0)
                {
                    cols[t] = towers[_towerOf[t]].forward(h[t]);
                    continue;
                }
                var task = _layout.Tasks[t];
                var pt = task.PositionTowers!;
                var all = position_towers[_positionSet[t]].forward(h[t]);   // [B, K + 1]
                positionLogits[t] = all;
                if (matchPositions)
                {
                    if (b.Positions is null)
                        throw new InvalidOperationException($"Task '{task.Name}' has per-position towers but the batch has no position column '{pt.PositionColumnName}'.");
                    // bucket of 1-based position p: min(p, K + 1) - 1 (positions are validated whole numbers >= 1)
                    var bucket = PositionTowerModule.Bucket(b.Positions!.select(1, task.PositionInput), pt.Positions).unsqueeze(1);
                    cols[t] = all.gather(1, bucket);
                }
                else
                    cols[t] = all.narrow(1, pt.ServingPosition - 1, 1);
            }
            var logits = cat(cols, 1);
            Tensor? wide = null;
            if (wide_dense is not null)
            {
                // standardized dense slots, as the encoder sees them (encoder 0's statistics: all encoders share them)
                var z = (b.Dense! - encoders[0].DenseMean) * encoders[0].DenseInvStd;
                wide = wide_dense.forward(z.index_select(1, wide_slots!));
            }
            for (int k = 0; k < _wideCats.Length; k++)
            {
                var g = wide_tables[k].forward(b.Categoricals[_wideCats[k]]).sum(1);
                wide = wide is null ? g : wide + g;
            }
            if (wide is not null)
            {
                logits = logits + wide;
                for (int t = 0; t < tasks; t++)
                    if (positionLogits[t] is { } all)
                        positionLogits[t] = all + wide.narrow(1, t, 1);
            }
            if (training && _layout.Adjustments.Count > 0)
            {
                var extra = new Tensor[tasks];
                for (int t = 0; t < tasks; t++)
                {
                    Tensor? add = null;
                    foreach (var ai in _layout.Tasks[t].Adjustments)
                    {
                        var a = _layout.Adjustments[ai];
                        if (a.Spec.Combination != BiasCombination.Additive)
                            continue;
                        var term = adjustments[ai].forward(b.Adjustments!.narrow(1, a.Offset, a.Size));
                        add = add is null ? term : add + term;
                    }
                    extra[t] = add ?? zeros(b.Count, 1, device: logits.device);
                }
                logits = logits + cat(extra, 1);
            }
            return logits;
        }

        /// <summary>PAL's product form: per task, <c>log p(seen)</c> = Σ log σ(bias logit) of its
        /// <see cref="BiasCombination.Product"/> adjustments ([B, T], 0 for tasks without one), or null when no task has one.
        /// Training only (needs the training-only block).</summary>
        public Tensor? LogExamination(BatchTensors b)
        {
            if (!_layout.Adjustments.Any(a => a.Spec.Combination == BiasCombination.Product) || b.Adjustments is null)
                return null;
            var cols = new Tensor[_layout.Tasks.Count];
            for (int t = 0; t < _layout.Tasks.Count; t++)
            {
                Tensor? sum = null;
                foreach (var ai in _layout.Tasks[t].Adjustments)
                {
                    var a = _layout.Adjustments[ai];
                    if (a.Spec.Combination != BiasCombination.Product)
                        continue;
                    var term = nn.functional.logsigmoid(adjustments[ai].forward(b.Adjustments.narrow(1, a.Offset, a.Size)));
                    sum = sum is null ? term : sum + term;
                }
                cols[t] = sum ?? zeros(b.Count, 1, device: b.Adjustments.device);
            }
            return cat(cols, 1);
        }

        /// <summary>Writes the serving network; returns one [B, 1] logit name per task.</summary>
        public string[] Export(OnnxModelWriter w, string? dense, IReadOnlyList<string> cats, IReadOnlyList<string> seqs)
            => Export(w, dense, cats, seqs, out _);

        /// <summary>Writes the serving network; returns one [B, 1] logit name per task (a per-position task: its serving
        /// tower) and, in <paramref name="positionLogits"/>, the [B, K + 1] logits of the tasks that output all positions.</summary>
        public string[] Export(OnnxModelWriter w, string? dense, IReadOnlyList<string> cats, IReadOnlyList<string> seqs, out string?[] positionLogits)
        {
            var x = encoders.Select(e => e.Export(w, dense, cats, seqs)).ToArray();
            var h = bottom.Export(w, x);
            int tasks = _towerOf.Length;
            var logits = new string[tasks];
            positionLogits = new string?[tasks];
            for (int t = 0; t < tasks; t++)
            {
                if (_towerOf[t] >= 0)
                {
                    logits[t] = towers[_towerOf[t]].Export(w, h[t]);
                    continue;
                }
                var pt = _layout.Tasks[t].PositionTowers!;
                var set = position_towers[_positionSet[t]];
                if (pt.OutputAllPositions)
                {
                    var all = set.Export(w, h[t]);
                    positionLogits[t] = all;
                    var st = w.AddInitializer(w.Fresh("st"), new long[] { pt.ServingPosition - 1 }, new long[] { 1 });
                    var en = w.AddInitializer(w.Fresh("en"), new long[] { pt.ServingPosition }, new long[] { 1 });
                    var ax = w.AddInitializer(w.Fresh("axis1"), new long[] { 1 }, new long[] { 1 });
                    logits[t] = w.Op("Slice", new[] { all, st, en, ax });
                }
                else
                    logits[t] = set.ExportOne(w, h[t], pt.ServingPosition - 1);
            }
            string? wideSum = null;
            if (wide_dense is not null)
            {
                var mean = OnnxExport.Initializer(w, "wide_mean", encoders[0].DenseMean);
                var inv = OnnxExport.Initializer(w, "wide_invstd", encoders[0].DenseInvStd);
                var z = w.Op("Mul", new[] { w.Op("Sub", new[] { dense!, mean }), inv });
                var idx = w.AddInitializer(w.Fresh("wide_slots"), _layout.WideDenseSlots.Select(i => (long)i).ToArray(), new long[] { _layout.WideDenseSlots.Length });
                var sel = w.Op("Gather", new[] { z, idx }, ("axis", 1L));
                wideSum = OnnxExport.Gemm(w, sel, wide_dense);
            }
            var one = _wideCats.Length > 0 || wideSum is not null ? w.AddInitializer(w.Fresh("axis1"), new long[] { 1 }, new long[] { 1 }) : "";
            for (int k = 0; k < _wideCats.Length; k++)
            {
                var table = OnnxExport.Initializer(w, "wide_embedding", wide_tables[k].weight!);
                var g = w.Op("ReduceSum", new[] { w.Op("Gather", new[] { table, cats[(int)_wideCats[k]] }, ("axis", 0L)), one }, ("keepdims", 0L));
                wideSum = wideSum is null ? g : w.Op("Add", new[] { wideSum, g });
            }
            if (wideSum is not null)
            {
                for (int t = 0; t < tasks; t++)
                {
                    var st = w.AddInitializer(w.Fresh("st"), new long[] { t }, new long[] { 1 });
                    var en = w.AddInitializer(w.Fresh("en"), new long[] { t + 1 }, new long[] { 1 });
                    var wt = w.Op("Slice", new[] { wideSum, st, en, one });
                    logits[t] = w.Op("Add", new[] { logits[t], wt });
                    if (positionLogits[t] is { } all)
                        positionLogits[t] = w.Op("Add", new[] { all, wt });   // [B, K + 1] + [B, 1] broadcasts
                }
            }
            return logits;
        }
    }

    internal static class Layers
    {
        /// <summary>An embedding table initialised from N(0, 0.05²), the init of every learned id/position table here.</summary>
        public static Embedding NormalEmbedding(long rows, int dimension)
        {
            var e = nn.Embedding(rows, dimension);
            using (no_grad())
                nn.init.normal_(e.weight!, 0, 0.05);
            return e;
        }
    }

    internal static class OnnxExport
    {
        public static string Initializer(OnnxModelWriter w, string prefix, Tensor t)
        {
            using var c = t.detach().cpu().contiguous();
            var data = c.data<float>().ToArray();
            return w.AddInitializer(w.Fresh(prefix), data, c.shape);
        }

        public static string Gemm(OnnxModelWriter w, string x, Linear l)
        {
            var wName = Initializer(w, "weight", l.weight!);
            if (l.bias is null)
                return w.Op("Gemm", new[] { x, wName }, ("transB", 1L));
            var bName = Initializer(w, "bias", l.bias);
            return w.Op("Gemm", new[] { x, wName, bName }, ("transB", 1L));
        }
    }
}
