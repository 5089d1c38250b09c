using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using MLNetRank.Common;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>The figures of one training epoch.</summary>
    public sealed class MultiTaskEpoch
    {
        /// <summary>1-based epoch.</summary>
        public int Epoch { get; init; }

        /// <summary>Mean training objective over the epoch's rows: the weighted task losses, without
        /// <see cref="AuxiliaryLosses"/>.</summary>
        public double TrainingLoss { get; init; }

        /// <summary>Training rows per second in the epoch.</summary>
        public double SamplesPerSecond { get; init; }

        /// <summary>Validation metrics (<c>Loss</c>, <c>{Task}.Auc</c>, <c>{Task}.LogLoss</c>, <c>{Task}.Rmse</c>); empty without validation.</summary>
        public IReadOnlyDictionary<string, double> ValidationMetrics { get; init; } = new Dictionary<string, double>();

        /// <summary>Uncertainty log-variances per task after the epoch (empty with fixed weights).</summary>
        public IReadOnlyDictionary<string, double> TaskLogVariances { get; init; } = new Dictionary<string, double>();

        /// <summary>Mean training-only auxiliary loss over the epoch's rows, per sequence feature whose pooling module adds one
        /// (<see cref="SequencePoolingModule"/>'s <c>AddAuxiliaryLoss</c>, e.g. <see cref="TargetAttentionPooling.EqualWeightPenalty"/>);
        /// empty when none does. The objective minimised is <see cref="TrainingLoss"/> plus these.</summary>
        public IReadOnlyDictionary<string, double> AuxiliaryLosses { get; init; } = new Dictionary<string, double>();
    }

    /// <summary>The training loop: streaming batches, the multi-task objective, validation, early stopping, checkpoints.</summary>
    internal sealed class MultiTaskTrainer
    {
        private readonly NetworkLayout _layout;
        private readonly MultiTaskEstimator.Options _o;
        private readonly int _seed;
        private readonly Device _device;
        private readonly bool _plainBinaryTasks;      // every task binary, none conditioned (ESMM)
        private readonly float[]? _taskWeights;       // null when every task weight is 1
        private readonly ulong _dataDigest;           // of the training rows (DenseStatistics), part of the checkpoint fingerprint

        public MultiTaskTrainer(NetworkLayout layout, MultiTaskEstimator.Options options, int seed, ulong dataDigest = 0)
        {
            _layout = layout;
            _o = options;
            _seed = seed;
            _dataDigest = dataDigest;
            if ((options.Device ?? "").StartsWith("cuda", StringComparison.OrdinalIgnoreCase) && !torch.cuda.is_available())
                throw new InvalidOperationException($"Device '{options.Device}' was asked for, but CUDA is not available: reference a CUDA TorchSharp backend (e.g. TorchSharp-cuda-linux) on a machine with a GPU, or use Device = \"cpu\".");
            _device = torch.device(options.Device ?? "cpu");
            _plainBinaryTasks = layout.Tasks.All(t => t.Kind == MultiTaskKind.Binary && t.Parent < 0);
            _taskWeights = layout.Tasks.All(t => t.Weight == 1f) ? null : layout.Tasks.Select(t => t.Weight).ToArray();
        }

        public List<MultiTaskEpoch> History { get; } = new();

        public int BestEpoch { get; private set; }

        public long TrainingRows { get; private set; }

        public MultiTaskNetwork Train(BatchReader train, BatchReader? validation, RowSubset trainSubset, RowSubset validationSubset, RankerLog log)
        {
            // one training at a time per process, and no row reading beside its TorchSharp work except during backward and
            // the optimizer step (TorchGate says why)
            return TorchGate.Exclusive(() => TrainCore(train, validation, trainSubset, validationSubset, log));
        }

        private MultiTaskNetwork TrainCore(BatchReader train, BatchReader? validation, RowSubset trainSubset, RowSubset validationSubset, RankerLog log)
        {
            // opted in, on AMD CPUs oneMKL is first told to use the CPU's vector kernels (before libtorch's first matrix product)
            if (_device.type == DeviceType.CPU)
                MklCpuDispatch.PrepareIfRequested(_o.EnableMklCpuDispatch, log.Warning, log.Info);
            if (_o.NumberOfThreads > 0)
                torch.set_num_threads(_o.NumberOfThreads);
            torch.manual_seed(_seed);
            var net = new MultiTaskNetwork(_layout, _o);
            net.to(_device);
            // every parameter a view of one buffer (its gradient of another): the elementwise optimizers below then run a few
            // operations over all weights per step instead of about ten per parameter tensor
            // (frozen pretrained embedding tables, FreezeEmbeddings, have requires_grad = false: not in it, never updated)
            using var flat = new FlatParameters(net.parameters().Where(p => p.requires_grad), _device);
            // PyTorch's Adam/AdamW/Adagrad arithmetic over the flat buffer, with every native Scalar kept alive (FlatOptimizer)
            var opt = new FlatOptimizer(_o.Optimizer, flat.Flat, flat.Grad, _o.LearningRate, _o.L2Regularization);
            // every pooling module (one per sequence feature and encoder) and the feature it pools: their auxiliary losses
            var poolings = net.Encoders.SelectMany(e => e.Poolings.Select((p, i) => (Feature: i, Module: p))).ToArray();

            int startEpoch = 1;
            double best = double.NaN;
            int sinceBest = 0;
            Dictionary<string, Tensor>? bestState = null;
            byte[]? bestBytes = null;
            string? ck = _o.CheckpointPath;
            var fingerprint = Fingerprint();
            if (ck is not null && _o.ResumeFromCheckpoint)
            {
                if (!File.Exists(Checkpoint.PathOf(ck)) && Checkpoint.LegacyExtensions.Any(e => File.Exists(ck + e)))
                    throw new InvalidOperationException($"Checkpoint files '{ck}.model/.optimizer/.state' are in the former three-file format, which " +
                        $"cannot be checked for a set torn across epochs; delete them (training then starts from epoch 1) or change CheckpointPath.");
                if (File.Exists(Checkpoint.PathOf(ck)))
                {
                    var (manifest, sections) = Checkpoint.Read(ck);
                    string? diff = Checkpoint.Difference(manifest.Fingerprint, fingerprint);
                    if (diff is not null)
                        throw new InvalidOperationException($"Checkpoint '{Checkpoint.PathOf(ck)}' was written by a different training run ({diff}); resuming " +
                            "would not give the model of an uninterrupted run. Delete it, change CheckpointPath, or restore the run's data and options.");
                    var state = JsonSerializer.Deserialize<CheckpointState>(manifest.StateJson, Json)
                        ?? throw new InvalidDataException($"Checkpoint '{Checkpoint.PathOf(ck)}' has no run state.");
                    if (!sections.TryGetValue("model", out var modelBytes) || !sections.TryGetValue("optimizer", out var optBytes))
                        throw new InvalidDataException($"Checkpoint '{Checkpoint.PathOf(ck)}' lacks its model or optimizer section.");
                    using (var r = new BinaryReader(new MemoryStream(modelBytes)))
                        net.load(r);
                    using (var r = new BinaryReader(new MemoryStream(optBytes)))
                        opt.Load(r);
                    History.AddRange(state.History.Select(h => h.ToEpoch()));
                    startEpoch = state.Epoch + 1;
                    best = state.Best;
                    sinceBest = state.SinceBest;
                    BestEpoch = state.BestEpoch;
                    if (sections.TryGetValue("best", out bestBytes))
                    {
                        using var bestNet = new MultiTaskNetwork(_layout, _o);
                        using (var r = new BinaryReader(new MemoryStream(bestBytes)))
                            bestNet.load(r);
                        bestState = Snapshot(bestNet);
                    }
                    log.Info($"Resuming from checkpoint '{Checkpoint.PathOf(ck)}' after epoch {state.Epoch}.");
                }
            }

            string metric = _o.EarlyStoppingMetric;
            bool higherIsBetter = metric.EndsWith(".Auc", StringComparison.Ordinal);
            // the next epoch's batches (its shuffle buffer filled by a worker thread) are started while this epoch trains
            BatchReader.BatchStream StartEpoch(int e) => train.Start(trainSubset, _o.BatchSize, _o.ShuffleBufferSize,
                _o.ShuffleBufferSize > 1 ? unchecked(_seed * 31 + e * 1_000_003) : null);
            BatchReader.BatchStream? nextStream = null;
            double initialLoss = double.NaN;   // the first batch's loss (before any step): the scale divergence is judged on
            try
            {
                for (int epoch = startEpoch; epoch <= _o.Epochs; epoch++)
                {
                    if (validation is not null && _o.EarlyStoppingPatience > 0 && sinceBest >= _o.EarlyStoppingPatience)
                        break;
                    var current = nextStream ?? StartEpoch(epoch);
                    nextStream = null;
                    using var stream = current;
                    nextStream = epoch < _o.Epochs ? StartEpoch(epoch + 1) : null;
                    torch.manual_seed(_seed + 7919L * epoch);
                    net.train();
                    double lossSum = 0;
                    var auxSums = new double[_layout.Sequences.Count];
                    var auxSeen = new bool[_layout.Sequences.Count];
                    long rows = 0;
                    var sw = Stopwatch.StartNew();
                    var prof = new Stopwatch[5].Select(_ => new Stopwatch()).ToArray();
                    var wait = Stopwatch.StartNew();
                    long batch = 0;
                    stream.Consume(host =>
                    {
                        wait.Stop();
                        _o.CancellationToken.ThrowIfCancellationRequested();
                        batch++;
                        using var scope = torch.NewDisposeScope();
                        prof[0].Start();
                        var b = host.ToTensors(_device, withAdjustments: true);
                        prof[0].Stop(); prof[1].Start();
                        foreach (var (_, module) in poolings)
                            module.TakeAuxiliaryLoss();   // leftovers of a forward run outside this loop
                        var logits = net.Logits(b, training: true);
                        var loss = Objective(net, logits, b);
                        var (objective, aux) = AddAuxiliaryLosses(loss, poolings);
                        prof[1].Stop(); prof[2].Start();
                        flat.ZeroGrad();
                        // backward and the optimizer step read no TorchSharp-owned Scalar: the read-ahead fills the next
                        // batch meanwhile (TorchGate.ReleasedFor says why this is safe)
                        TorchGate.ReleasedFor(() => objective.backward());
                        prof[2].Stop(); prof[3].Start();
                        TorchGate.ReleasedFor(opt.Step);
                        prof[3].Stop(); prof[4].Start();
                        if (aux is not null)
                            CheckAuxiliaryLosses(aux.Value.Features, aux.Value.Values, epoch, batch, auxSums, auxSeen, b.Count, poolings);
                        float value = loss.item<float>();
                        CheckLoss(value, epoch, batch, ref initialLoss);
                        lossSum += value * b.Count;
                        rows += b.Count;
                        prof[4].Stop();
                        wait.Start();
                    });
                    log.Trace($"Epoch {epoch} time (ms): waiting for batches {wait.ElapsedMilliseconds}, batch tensors {prof[0].ElapsedMilliseconds}, " +
                        $"forward {prof[1].ElapsedMilliseconds}, backward {prof[2].ElapsedMilliseconds}, optimizer {prof[3].ElapsedMilliseconds}, loss read-back {prof[4].ElapsedMilliseconds}.");
                    sw.Stop();
                    if (rows == 0)
                        throw new InvalidOperationException("The training data has no rows" + (_o.ValidationFraction > 0 ? " outside the validation fraction." : "."));
                    TrainingRows = rows;
                    CheckWeights(flat, epoch);
                    var metrics = validation is null ? new Dictionary<string, double>() : Evaluate(net, validation, validationSubset);
                    var logVars = new Dictionary<string, double>();
                    if (net.LogVariances is not null)
                    {
                        using var epochScope = torch.NewDisposeScope();
                        var s = net.LogVariances.detach().cpu().data<float>().ToArray();
                        for (int t = 0; t < s.Length; t++)
                            logVars[_layout.Tasks[t].Name] = s[t];
                    }
                    var auxMeans = new Dictionary<string, double>();
                    for (int i = 0; i < auxSums.Length; i++)
                        if (auxSeen[i])
                            auxMeans[_layout.Sequences[i].Name] = auxSums[i] / rows;
                    var ep = new MultiTaskEpoch
                    {
                        Epoch = epoch,
                        TrainingLoss = lossSum / rows,
                        SamplesPerSecond = rows / Math.Max(sw.Elapsed.TotalSeconds, 1e-9),
                        ValidationMetrics = metrics,
                        TaskLogVariances = logVars,
                        AuxiliaryLosses = auxMeans,
                    };
                    History.Add(ep);
                    if (validation is not null)
                    {
                        if (!metrics.TryGetValue(metric, out double value))
                            throw new InvalidOperationException($"Early stopping metric '{metric}' is not computed; available: {string.Join(", ", metrics.Keys)}.");
                        bool improved = double.IsNaN(best) || (higherIsBetter ? value > best : value < best);
                        if (improved)
                        {
                            best = value;
                            sinceBest = 0;
                            BestEpoch = epoch;
                            DisposeState(bestState);
                            bestState = Snapshot(net);
                            if (ck is not null)
                                bestBytes = Serialize(w => net.save(w));
                        }
                        else
                            sinceBest++;
                    }
                    else
                        BestEpoch = epoch;
                    string vm = metrics.Count == 0 ? "" : "; validation " + string.Join(", ", metrics.Select(kv => $"{kv.Key}={kv.Value:F5}"));
                    string am = auxMeans.Count == 0 ? "" : "; auxiliary loss " + string.Join(", ", auxMeans.Select(kv => $"{kv.Key}={kv.Value:G5}"));
                    log.Progress(_o.Progress, new MultiTaskProgress
                    {
                        Stage = "epoch",
                        Fraction = (double)epoch / _o.Epochs,
                        Epoch = epoch,
                        Epochs = _o.Epochs,
                        TrainingLoss = ep.TrainingLoss,
                        Rows = rows,
                        SamplesPerSecond = ep.SamplesPerSecond,
                        ValidationMetrics = metrics,
                        TaskLogVariances = logVars,
                        AuxiliaryLosses = auxMeans,
                    }, $"Epoch {epoch}/{_o.Epochs}: loss {ep.TrainingLoss:F5}{am}, {rows} rows, {ep.SamplesPerSecond:F0} rows/s{vm}.");
                    if (ck is not null)
                    {
                        // one file, written atomically: the weights, the optimizer and the run state of the same epoch
                        var sections = new List<(string, byte[])>
                        {
                            ("model", Serialize(w => net.save(w))),
                            ("optimizer", Serialize(w => opt.Save(w))),
                        };
                        if (bestBytes is not null)
                            sections.Add(("best", bestBytes));
                        Checkpoint.Write(ck, fingerprint, JsonSerializer.Serialize(new CheckpointState
                        {
                            Epoch = epoch,
                            Best = best,
                            SinceBest = sinceBest,
                            BestEpoch = BestEpoch,
                            History = History.Select(SavedEpoch.From).ToList(),
                        }, Json), sections);
                    }
                }
            }
            catch
            {
                // a failed, diverged or cancelled run frees its native memory now (not at some later garbage collection)
                DisposeState(bestState);
                opt.Dispose();
                flat.Dispose();
                net.Dispose();
                throw;
            }
            finally
            {
                nextStream?.Dispose();
            }
            if (bestState is not null && validation is not null)
            {
                using var restoreScope = torch.NewDisposeScope();
                using (no_grad())
                    foreach (var (name, p) in net.named_parameters())
                        p.copy_(bestState[name]);
                log.Info($"Kept the weights of epoch {BestEpoch} (best {metric} = {best:F5}).");
            }
            DisposeState(bestState);
            opt.Dispose();
            net.eval();
            return net;
        }

        private static readonly JsonSerializerOptions Json = new() { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

        /// <summary>The fingerprint's note of a table's pretrained start (empty without one: fingerprints of other runs unchanged).</summary>
        private static string Pretrained(PretrainedEmbeddings? v, bool frozen)
            => v is null ? "" : $" pretrained {v.Digest():X16}{(frozen ? " frozen" : "")}";

        private static Dictionary<string, Tensor> Snapshot(nn.Module net)
        {
            using var scope = torch.NewDisposeScope();
            var d = new Dictionary<string, Tensor>();
            foreach (var (name, p) in net.named_parameters())
                d[name] = p.detach().clone().DetachFromDisposeScope();
            return d;
        }

        private static void DisposeState(Dictionary<string, Tensor>? state)
        {
            if (state is null)
                return;
            foreach (var t in state.Values)
                t.Dispose();
        }

        /// <summary>Everything that changes the trained weights, by name: a checkpoint resumes only a run with the same values.</summary>
        private Dictionary<string, string> Fingerprint()
        {
            static string F(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            static string L(IEnumerable<int>? v) => v is null ? "" : string.Join(",", v);
            var f = new Dictionary<string, string>
            {
                ["Format"] = "flat-parameters",
                ["Seed"] = _seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Data"] = _dataDigest.ToString("X16", System.Globalization.CultureInfo.InvariantCulture),
                ["Architecture"] = $"{_o.Architecture} experts [{L(_o.ExpertLayers)}] x{_o.Experts}{(_o.WidePartRouting == WidePartRouting.ExpertsAndGates ? "" : $" wide part {_o.WidePartRouting}")}, PLE {_o.SharedExperts}+{_o.TaskExperts} x{_o.Levels} levels",
                ["Inputs"] = $"{_layout.EncodedSize} encoded, dense {_layout.DenseSize}, tables {string.Join(",", _layout.Tables.Select(t => $"{t.Rows}x{t.Dimension}"))}",
                ["Features"] = string.Join(", ", _o.Features.Select(x => x switch
                {
                    DenseFeature d => $"dense {d.ColumnName}{(d.Standardize ? "" : " raw")}{(d.Wide ? " wide" : "")}",
                    CategoricalFeature c => $"categorical {c.ColumnName} {c.Encoding}/{c.HashBits}/{c.MaximumIds} dim {c.EmbeddingDimension} slots {c.SlotIdSpace}{(c.Wide ? " wide" : "")}{Pretrained(c.InitialEmbeddings, c.FreezeEmbeddings)}",
                    SequenceFeature q => $"sequence {q.ColumnName} {q.Encoding}/{q.HashBits}/{q.MaximumIds} dim {q.EmbeddingDimension} max {q.MaximumLength} shared {q.SharedEmbeddingWith} {Describe(q.Pooling)}{Pretrained(q.InitialEmbeddings, q.FreezeEmbeddings)}",
                    PositionFeature p => $"position {p.ColumnName} neutral {F(p.NeutralPosition)} max {p.MaximumPosition} dim {p.EmbeddingDimension}",
                    _ => x.GetType().Name + " " + x.ColumnName,
                })),
                ["Tasks"] = string.Join(", ", _layout.Tasks.Select(t =>
                    $"{t.Name}({t.Label}) {t.Kind} {t.Transform} weight {F(t.Weight)} tower [{L(t.TowerLayers)}]"
                    + (t.Parent >= 0 ? $" conditioned on {_layout.Tasks[t.Parent].Name} counterfactual {F(t.CounterfactualWeight)}" : "")
                    + (t.PositionTowers is null ? "" : $" towers {t.PositionTowers.MaximumPosition + 1}x[{L(t.PositionTowers.TowerLayers ?? t.TowerLayers)}]"))),
                ["Adjustments"] = string.Join(",", _layout.Adjustments.Select(a => $"{a.Spec.GetType().Name}:{a.Spec.Combination}:{a.Size}")),
                ["TaskWeighting"] = _o.TaskWeighting.ToString(),
                ["Dropout"] = F(_o.Dropout),
                ["L2Regularization"] = F(_o.L2Regularization),
                ["Optimizer"] = _o.Optimizer.ToString(),
                ["LearningRate"] = F(_o.LearningRate),
                ["BatchSize"] = _o.BatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ShuffleBufferSize"] = _o.ShuffleBufferSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Validation"] = $"{(_o.ValidationData is null ? $"fraction {F(_o.ValidationFraction)}" : "data")}, {_o.EarlyStoppingMetric}, patience {_o.EarlyStoppingPatience}",
            };
            return f;
        }

        /// <summary>A pooling's type and every public property it exposes (its options), in name order: two poolings of one
        /// type with different options (a weighting, hidden sizes, a query) train different networks even when their
        /// parameter shapes agree, so their checkpoints must not resume each other. User-written poolings are described the
        /// same way.</summary>
        internal static string Describe(SequencePooling? pooling)
        {
            if (pooling is null)
                return "mean (default)";
            static string Value(object? v) => v switch
            {
                null => "null",
                string s => s,
                System.Collections.IEnumerable e => "[" + string.Join(",", e.Cast<object?>().Select(Value)) + "]",
                IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
                _ => v.ToString() ?? "",
            };
            var props = pooling.GetType().GetProperties(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance)
                .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
                .OrderBy(p => p.Name, StringComparer.Ordinal)
                .Select(p => $"{p.Name}={Value(p.GetValue(pooling))}");
            return $"{pooling.GetType().Name}({string.Join(" ", props)})";
        }

        private static byte[] Serialize(Action<BinaryWriter> save)
        {
            using var ms = new MemoryStream();
            using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
                save(w);
            return ms.ToArray();
        }

        /// <summary>Largest factor by which a batch's loss may exceed the run's first batch loss (or 1, if larger) before the
        /// run counts as diverged. A healthy run moves its loss down from the untrained network's; a loss 1000x above it means
        /// the steps overshoot (the learning rate 1e6 case ends near 1e23 with every probability exactly 1).</summary>
        internal const double DivergenceFactor = 1000;

        private void CheckLoss(float value, int epoch, long batch, ref double initial)
        {
            if (!float.IsFinite(value))
                throw Diverged($"the loss of batch {batch} of epoch {epoch} is {value}");
            if (double.IsNaN(initial))
            {
                initial = value;
                return;
            }
            double limit = DivergenceFactor * Math.Max(Math.Abs(initial), 1.0);
            if (value > limit)
                throw Diverged($"the loss of batch {batch} of epoch {epoch} is {value:G4}, over {DivergenceFactor:G}x the first batch's {initial:G4}");
        }

        /// <summary>The objective to minimise: the task loss plus every pooling module's auxiliary terms of this forward, and
        /// those terms (detached, one per contributing module, with its feature's index) for the read-back. Without terms the
        /// task loss itself, untouched (models without auxiliary losses train bit-identically).</summary>
        private static (Tensor Objective, (int[] Features, Tensor Values)? Aux) AddAuxiliaryLosses(Tensor loss, (int Feature, SequencePoolingModule Module)[] poolings)
        {
            List<int>? features = null;
            List<Tensor>? terms = null;
            foreach (var (feature, module) in poolings)
            {
                var term = module.TakeAuxiliaryLoss();
                if (term is null)
                    continue;
                (features ??= new()).Add(feature);
                (terms ??= new()).Add(term.to_type(loss.dtype));
            }
            if (terms is null)
                return (loss, null);
            var objective = loss;
            foreach (var t in terms)
                objective = objective.Plus(t);
            return (objective, (features!.ToArray(), stack(terms.Select(t => t.detach())).cpu()));
        }

        /// <summary>Reads the batch's auxiliary terms back (one transfer), stops on a non-finite one naming its feature, and adds
        /// them, row-weighted, to the epoch's sums.</summary>
        private void CheckAuxiliaryLosses(int[] features, Tensor values, int epoch, long batch, double[] sums, bool[] seen, long count, (int Feature, SequencePoolingModule Module)[] poolings)
        {
            var v = values.data<float>().ToArray();
            for (int i = 0; i < v.Length; i++)
            {
                int f = features[i];
                if (!float.IsFinite(v[i]))
                {
                    var module = poolings.First(p => p.Feature == f).Module;
                    throw Diverged($"the auxiliary loss of sequence feature '{_layout.Sequences[f].Name}' (added by its pooling module {module.GetType().Name}) in batch {batch} of epoch {epoch} is {v[i]}");
                }
                sums[f] += (double)v[i] * count;
                seen[f] = true;
            }
        }

        /// <summary>One reduction over all weights per epoch: a non-finite weight (an overflowing step) stops the run.</summary>
        private void CheckWeights(FlatParameters flat, int epoch)
        {
            using var scope = torch.NewDisposeScope();
            bool finite;
            using (no_grad())
                finite = flat.Flat.isfinite().all().item<bool>();
            if (!finite)
                throw Diverged($"some weights are no longer finite after epoch {epoch}");
        }

        private InvalidOperationException Diverged(string what)
            => new($"Training diverged: {what}. Lower LearningRate (now {_o.LearningRate:G4}; try {_o.LearningRate / 10:G4}), " +
                   "check for dense features of very large scale left unstandardized (Standardize = false) or very large example weights or task weights" +
                   (_o.CheckpointPath is null ? "." : $"; the checkpoint '{Checkpoint.PathOf(_o.CheckpointPath)}' keeps the last finished epoch."));

        /// <summary>Per-task losses (masked, weighted means over the batch) and their combination.</summary>
        internal Tensor Objective(MultiTaskNetwork net, Tensor logits, BatchTensors b)
        {
            Tensor? total = null;
            var w = b.Weights!;
            var logSeen = net.LogExamination(b);    // PAL product towers, [B, T] or null
            if (_plainBinaryTasks && net.LogVariances is null && logSeen is null)
            {
                // every task a plain binary cross-entropy with a fixed weight: one [B, T] computation instead of ~10 small
                // operations per task (the same value; fewer autograd nodes per batch)
                var per = nn.functional.binary_cross_entropy_with_logits(logits, b.Labels, reduction: nn.Reduction.None);
                var m = b.Mask * w.unsqueeze(1);
                var losses = (per * m).sum(dim: 0) / m.sum(dim: 0).clamp_min(Scalars.Of(1e-12));
                return _taskWeights is null ? losses.sum() : (losses * torch.tensor(_taskWeights, device: losses.device)).sum();
            }
            for (int t = 0; t < _layout.Tasks.Count; t++)
            {
                var task = _layout.Tasks[t];
                var z = logits.select(1, t);
                var y = b.Labels.select(1, t);
                var m = b.Mask.select(1, t) * w;
                Tensor per;
                if (task.Kind == MultiTaskKind.Regression)
                    per = (z - y).Squared();
                else if (task.Parent >= 0)
                {
                    var p = sigmoid(logits.select(1, task.Parent)) * sigmoid(z);
                    if (logSeen is not null)
                        p = p * logSeen.select(1, task.Parent).exp();   // the observed parent label is p(seen) · p(parent)
                    p = p.clamp(Scalars.Of(1e-7), Scalars.Of(1 - 1e-7));
                    per = -(y * p.log()).Plus(y.RSub(Scalars.One) * p.RSub(Scalars.One).log());
                }
                else if (logSeen is not null && _layout.Tasks[t].Adjustments.Any(a => _layout.Adjustments[a].Spec.Combination == BiasCombination.Product))
                {
                    // PAL: p(observed) = p(seen | position, context) · p(relevant | x), cross-entropy on the product
                    var logP = logSeen.select(1, t).Plus(nn.functional.logsigmoid(z));
                    var log1mP = logP.exp().RSub(Scalars.One).clamp_min(Scalars.Of(1e-7)).log();
                    per = -(y * logP).Plus(y.RSub(Scalars.One) * log1mP);
                }
                else
                    per = nn.functional.binary_cross_entropy_with_logits(z, y, reduction: nn.Reduction.None);
                var loss = (per * m).sum() / m.sum().clamp_min(Scalars.Of(1e-12));
                if (task.Parent >= 0 && task.CounterfactualWeight > 0)
                    loss = loss.Plus(CounterfactualRisk(logits, b, t, task.Parent, m).mul(Scalars.Of(task.CounterfactualWeight)));
                Tensor term;
                if (net.LogVariances is not null && _o.TaskWeighting == TaskWeighting.RegularizedUncertainty)
                {
                    // Liebel and Körner (2018), s = log σ²: (1/(2σ²))·L + log(1 + σ²) for every task
                    var s = net.LogVariances[t];
                    term = (exp(-s).mul(Scalars.Of(0.5)) * loss).Plus(Scalars.Softplus(s)).mul(Scalars.Of(task.Weight));
                }
                else if (net.LogVariances is not null)
                {
                    // Kendall et al. (2018), s = log σ²: classification (1/σ²)·L + log σ = exp(-s)·L + s/2,
                    // regression (1/(2σ²))·L + log σ = ½·exp(-s)·L + s/2.
                    var s = net.LogVariances[t];
                    double c = task.Kind == MultiTaskKind.Regression ? 0.5 : 1.0;
                    term = (exp(-s).mul(Scalars.Of(c)) * loss).Plus(s.mul(Scalars.Of(0.5))).mul(Scalars.Of(task.Weight));
                }
                else
                    term = loss.mul(Scalars.Of(task.Weight));
                total = total is null ? term : total.Plus(term);
            }
            return total!;
        }

        /// <summary>Smallest propensity (parent probability) the counterfactual risk divides by: IPS weights are at most 100.</summary>
        internal const double MinimumPropensity = 0.01;

        /// <summary>ESCM²-IPS (Wang et al., SIGIR 2022): the conditional task's cross-entropy on the rows where the parent's
        /// label is 1, each weighted by 1 / p(parent) (the parent tower's probability, gradient stopped, at least
        /// <see cref="MinimumPropensity"/>), averaged over all rows of the task's mask: an inverse-propensity estimate of the
        /// conditional task's loss over the entire space.</summary>
        private static Tensor CounterfactualRisk(Tensor logits, BatchTensors b, int t, int parent, Tensor m)
        {
            var observed = b.Labels.select(1, parent) * b.Mask.select(1, parent);
            var propensity = sigmoid(logits.select(1, parent)).detach().clamp_min(Scalars.Of(MinimumPropensity));
            var ce = nn.functional.binary_cross_entropy_with_logits(logits.select(1, t), b.Labels.select(1, t), reduction: nn.Reduction.None);
            return (ce * observed / propensity * m).sum() / m.sum().clamp_min(Scalars.Of(1e-12));
        }

        /// <summary>Serving-model predictions on a reader's rows: per task, probability (binary) or prediction in label units
        /// (a task with per-position towers: the tower of each row's position).</summary>
        internal static (float[][] Predictions, float[][] Labels, float[][] Weights) Predict(MultiTaskNetwork net, NetworkLayout layout, BatchReader reader, RowSubset subset, int batchSize, Device device)
        {
            int T = layout.Tasks.Count;
            var preds = Enumerable.Range(0, T).Select(_ => new List<float>()).ToArray();
            var labels = Enumerable.Range(0, T).Select(_ => new List<float>()).ToArray();
            var weights = Enumerable.Range(0, T).Select(_ => new List<float>()).ToArray();
            net.eval();
            reader.Run(subset, batchSize, 0, null, host =>
            {
                using var scope = torch.NewDisposeScope();
                using var _ = no_grad();
                var b = host.ToTensors(device, withAdjustments: false);
                // per-position towers are validated on the tower of each row's position (what they are trained for)
                var out_ = Outputs(layout, net.Logits(b, training: false, matchPositions: true, out Tensor?[] _all)).cpu();
                var o = out_.data<float>().ToArray();
                int n = host.Count;
                for (int r = 0; r < n; r++)
                    for (int t = 0; t < T; t++)
                    {
                        if (host.Mask[r * T + t] == 0f)
                            continue;
                        preds[t].Add(o[r * T + t]);
                        labels[t].Add(host.Labels[r * T + t]);
                        weights[t].Add(host.Weights[r]);
                    }
            });
            return (preds.Select(p => p.ToArray()).ToArray(), labels.Select(p => p.ToArray()).ToArray(), weights.Select(p => p.ToArray()).ToArray());
        }

        /// <summary>[B, T]: the probability the task's loss is taken on (joint for ESMM tasks) or the regression prediction
        /// on the transformed label scale.</summary>
        internal static Tensor Outputs(NetworkLayout layout, Tensor logits)
        {
            var cols = new Tensor[layout.Tasks.Count];
            for (int t = 0; t < cols.Length; t++)
            {
                var task = layout.Tasks[t];
                var z = logits.select(1, t);
                cols[t] = task.Kind == MultiTaskKind.Regression ? z
                    : task.Parent >= 0 ? sigmoid(logits.select(1, task.Parent)) * sigmoid(z)
                    : sigmoid(z);
            }
            return stack(cols, 1);
        }

        private Dictionary<string, double> Evaluate(MultiTaskNetwork net, BatchReader reader, RowSubset subset)
        {
            var (preds, labels, weights) = Predict(net, _layout, reader, subset, Math.Max(_o.BatchSize, 1024), _device);
            var m = new Dictionary<string, double>();
            double loss = 0;
            for (int t = 0; t < _layout.Tasks.Count; t++)
            {
                var task = _layout.Tasks[t];
                if (preds[t].Length == 0)
                    continue;
                if (task.Kind == MultiTaskKind.Binary)
                {
                    double ll = Metrics.LogLoss(preds[t], labels[t], weights[t]);
                    m[task.Name + ".LogLoss"] = ll;
                    m[task.Name + ".Auc"] = Metrics.Auc(preds[t], labels[t], weights[t]);
                    loss += task.Weight * ll;
                }
                else
                {
                    double mse = Metrics.Mse(preds[t], labels[t], weights[t]);
                    m[task.Name + ".Rmse"] = Math.Sqrt(mse);
                    loss += task.Weight * mse;
                }
            }
            m["Loss"] = loss;
            return m;
        }

        private sealed class CheckpointState
        {
            public int Epoch { get; set; }
            public double Best { get; set; }
            public int SinceBest { get; set; }
            public int BestEpoch { get; set; }
            public List<SavedEpoch> History { get; set; } = new();
        }

        private sealed class SavedEpoch
        {
            public int Epoch { get; set; }
            public double TrainingLoss { get; set; }
            public double SamplesPerSecond { get; set; }
            public Dictionary<string, double> ValidationMetrics { get; set; } = new();
            public Dictionary<string, double> TaskLogVariances { get; set; } = new();
            public Dictionary<string, double> AuxiliaryLosses { get; set; } = new();

            public static SavedEpoch From(MultiTaskEpoch e) => new()
            {
                AuxiliaryLosses = e.AuxiliaryLosses.ToDictionary(k => k.Key, k => k.Value),
                Epoch = e.Epoch,
                TrainingLoss = e.TrainingLoss,
                SamplesPerSecond = e.SamplesPerSecond,
                ValidationMetrics = e.ValidationMetrics.ToDictionary(k => k.Key, k => k.Value),
                TaskLogVariances = e.TaskLogVariances.ToDictionary(k => k.Key, k => k.Value),
            };

            public MultiTaskEpoch ToEpoch() => new()
            {
                AuxiliaryLosses = AuxiliaryLosses ?? new(),
                Epoch = Epoch,
                TrainingLoss = TrainingLoss,
                SamplesPerSecond = SamplesPerSecond,
                ValidationMetrics = ValidationMetrics,
                TaskLogVariances = TaskLogVariances,
            };
        }
    }
}
