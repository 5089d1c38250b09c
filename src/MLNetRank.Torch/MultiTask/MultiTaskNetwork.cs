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
        private readonly (long[] Experts, long[] Gates)? _routing;   // WidePartRouting other than ExpertsAndGates
        private readonly Tensor? expert_columns, gate_columns;

        public MultiTaskNetwork(NetworkLayout layout, MultiTaskEstimator.Options o) : base("multitask")
        {
            _layout = layout;
            int tasks = layout.Tasks.Count;
            int encoders_ = o.Architecture == MultiTaskArchitecture.SingleTask ? tasks : 1;
            for (int i = 0; i < encoders_; i++)
                encoders.Add(new InputEncoder($"encoder{i}", layout));
            int inSize = layout.EncodedSize;
            // Lying Flat's variants: the wide features' encoded columns go to the experts, the gates, both or neither
            _routing = o.Architecture == MultiTaskArchitecture.MMoE ? WideRouting.Columns(layout, o.WidePartRouting) : null;
            if (_routing is { } r)
            {
                expert_columns = tensor(r.Experts);
                gate_columns = tensor(r.Gates);
            }
            bottom = o.Architecture switch
            {
                MultiTaskArchitecture.SingleTask => new SingleTaskBottom(inSize, tasks, o.ExpertLayers, o.Dropout),
                MultiTaskArchitecture.SharedBottom => new SharedBottom(inSize, tasks, o.ExpertLayers, o.Dropout),
                MultiTaskArchitecture.MMoE => _routing is { } rc
                    ? new MMoEBottom(rc.Experts.Length, tasks, o.Experts, o.ExpertLayers, o.Dropout, rc.Gates.Length)
                    : new MMoEBottom(inSize, tasks, o.Experts, o.ExpertLayers, o.Dropout),
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
                    position_towers.Add(new PositionTowerSet($"position_towers.{task.Name}", bottom.OutputSize, pt.TowerLayers ?? task.TowerLayers, o.Dropout, pt.MaximumPosition + 1));
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
            if (expert_columns is not null)
                x = new[] { x[0].index_select(1, expert_columns), x[0].index_select(1, gate_columns!) };
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
                    var bucket = PositionBucketing.Of(b.Positions!.select(1, task.PositionInput), pt.MaximumPosition).unsqueeze(1);
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
                wide = wide is null ? g : wide.Plus(g);
            }
            if (wide is not null)
            {
                logits = logits.Plus(wide);
                for (int t = 0; t < tasks; t++)
                    if (positionLogits[t] is { } all)
                        positionLogits[t] = all.Plus(wide.narrow(1, t, 1));
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
                        add = add is null ? term : add.Plus(term);
                    }
                    extra[t] = add ?? zeros(b.Count, 1, device: logits.device);
                }
                logits = logits.Plus(cat(extra, 1));
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
                    sum = sum is null ? term : sum.Plus(term);
                }
                cols[t] = sum ?? zeros(b.Count, 1, device: b.Adjustments.device);
            }
            return cat(cols, 1);
        }

        /// <summary>Writes the serving network; returns one [B, 1] logit name per task.</summary>
        public string[] Export(OnnxGraphBuilder g, string? dense, IReadOnlyList<string> cats, IReadOnlyList<string> seqs)
            => Export(g, dense, cats, seqs, out _);

        /// <summary>Writes the serving network; returns one [B, 1] logit name per task (a per-position task: its serving
        /// tower) and, in <paramref name="positionLogits"/>, the [B, K + 1] logits of the tasks that output all positions.</summary>
        public string[] Export(OnnxGraphBuilder g, string? dense, IReadOnlyList<string> cats, IReadOnlyList<string> seqs, out string?[] positionLogits)
        {
            var x = encoders.Select(e => e.Export(g, dense, cats, seqs)).ToArray();
            if (_routing is { } r)
                x = new[] { g.Gather(x[0], g.Int64s("expert_columns", r.Experts), 1), g.Gather(x[0], g.Int64s("gate_columns", r.Gates), 1) };
            var h = bottom.Export(g, x);
            int tasks = _towerOf.Length;
            var logits = new string[tasks];
            positionLogits = new string?[tasks];
            for (int t = 0; t < tasks; t++)
            {
                if (_towerOf[t] >= 0)
                {
                    logits[t] = towers[_towerOf[t]].Export(g, h[t]);
                    continue;
                }
                var pt = _layout.Tasks[t].PositionTowers!;
                var set = position_towers[_positionSet[t]];
                if (pt.OutputAllPositions)
                {
                    var all = set.Export(g, h[t]);
                    positionLogits[t] = all;
                    logits[t] = g.Slice(all, new long[] { pt.ServingPosition - 1 }, new long[] { pt.ServingPosition }, new long[] { 1 });
                }
                else
                    logits[t] = set.ExportOne(g, h[t], pt.ServingPosition - 1);
            }
            string? wideSum = null;
            if (wide_dense is not null)
            {
                var mean = g.AddTensor(encoders[0].DenseMean, "wide_mean");
                var inv = g.AddTensor(encoders[0].DenseInvStd, "wide_invstd");
                var z = g.Mul(g.Sub(dense!, mean), inv);
                var idx = g.Int64s("wide_slots", _layout.WideDenseSlots.Select(i => (long)i).ToArray());
                var sel = g.Gather(z, idx, 1);
                wideSum = g.Linear(sel, wide_dense);
            }
            var one = _wideCats.Length > 0 || wideSum is not null ? g.Int64s("axis1", 1) : "";
            for (int k = 0; k < _wideCats.Length; k++)
            {
                var table = g.AddTensor(wide_tables[k].weight!, "wide_embedding");
                var sum = g.AddNode("ReduceSum", new[] { g.Gather(table, cats[(int)_wideCats[k]], 0), one }, new[] { g.UniqueName("ReduceSum") },
                    OnnxAttribute.Int("keepdims", 0));
                wideSum = wideSum is null ? sum : g.Add(wideSum, sum);
            }
            if (wideSum is not null)
            {
                for (int t = 0; t < tasks; t++)
                {
                    var wt = g.AddNode("Slice", new[] { wideSum, g.Int64s("st", t), g.Int64s("en", t + 1), one }, new[] { g.UniqueName("Slice") });
                    logits[t] = g.Add(logits[t], wt);
                    if (positionLogits[t] is { } all)
                        positionLogits[t] = g.Add(all, wt);   // [B, K + 1] + [B, 1] broadcasts
                }
            }
            return logits;
        }
    }
}
