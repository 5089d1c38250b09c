using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using MLNetRank.Torch.Ensemble;
using MLNetRank.Torch.Layers;
using MLNetRank.Torch.MultiTask;
using MLNetRank.Torch.Tests.Sequences;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Reliability
{
    /// <summary>
    /// The library's TorchSharp work while another thread forces garbage collections: the training objective (ESMM with the
    /// counterfactual risk, regression, uncertainty weighting), the sequence poolings (target attention with intensity and
    /// its batch norm, the dual set query, the transformer), the position bucketing, the flat optimizer's steps and the
    /// ensemble network (two-step forward, calibration, soft AUC), again and again on fixed inputs. Each round must give,
    /// bit for bit, what the first round gave before the collections started, and never throw. Before every Scalar was
    /// kept alive (Layers/Scalars.cs), a collection during a native call freed the Scalar libtorch was reading: this test
    /// failed ("Unknown scalar type", "Expected false to be true" in c10::Scalar::toFloat, or other values) within its
    /// few seconds in most runs (docs/reliability.md has the counts).
    /// </summary>
    [Collection("TorchSharp")]
    public class ScalarLifetimeStressTests
    {
        private readonly ITestOutputHelper _out;

        public ScalarLifetimeStressTests(ITestOutputHelper output) => _out = output;

        [Fact]
        public void TheLibrarysTorchSharpWorkGivesTheSameValuesWhileAnotherThreadCollects()
        {
            double seconds = double.TryParse(Environment.GetEnvironmentVariable("MLNETRANK_SCALAR_STRESS_SECONDS"), out var s) ? s : 5;
            int threads = torch.get_num_threads();
            torch.set_num_threads(1);   // small ops: many native calls per second, no waits on a loaded machine
            try
            {
                Run(seconds);
            }
            finally
            {
                torch.set_num_threads(threads);
            }
        }

        private void Run(double seconds)
        {
            using var scope = NewDisposeScope();
            using var work = new Workload();
            var reference = work.Round();
            var quiet = Stopwatch.StartNew();
            Assert.Equal(reference, work.Round());                 // deterministic without collections
            double quietMs = quiet.Elapsed.TotalMilliseconds;
            using var stop = new CancellationTokenSource();
            long collections = 0;
            var churn = new Thread(() =>
            {
                var keep = new List<byte[]>();
                while (!stop.IsCancellationRequested)
                {
                    keep.Add(new byte[512]);
                    if (keep.Count > 64)
                        keep.Clear();
                    GC.Collect(0);
                    GC.WaitForPendingFinalizers();
                    collections++;
                }
            }) { IsBackground = true, Name = "collector" };
            int rounds = 0, wrong = 0;
            var errors = new List<string>();
            var sw = Stopwatch.StartNew();
            churn.Start();
            try
            {
                while (sw.Elapsed.TotalSeconds < seconds)
                {
                    try
                    {
                        var values = work.Round();
                        if (!values.SequenceEqual(reference))
                            wrong++;
                    }
                    catch (Exception e)
                    {
                        errors.Add(e.GetType().Name + ": " + e.Message.Split('\n')[0]);
                    }
                    rounds++;
                }
            }
            finally
            {
                stop.Cancel();
                churn.Join();
            }
            string summary = $"round alone {quietMs:F1} ms, rounds {rounds}, collections {collections}, wrong values {wrong}, errors {errors.Count}";
            _out.WriteLine("SCALAR-STRESS " + summary + (errors.Count > 0 ? "; first error: " + errors[0] : ""));
            Assert.True(rounds >= 20 && collections >= 100, $"too little work to say anything: {summary}");
            Assert.True(wrong == 0 && errors.Count == 0, $"{summary}; errors: {string.Join(" | ", errors.Distinct().Take(3))}");
        }

        /// <summary>Fixed modules and inputs; <see cref="Round"/> runs them all once and returns every value as float bits.</summary>
        private sealed class Workload : IDisposable
        {
            private const int D = 8;
            private readonly List<(SequencePoolingModule Module, SequencePoolingBatch Batch)> _poolings = new();
            private readonly NetworkLayout _layout;
            private readonly MultiTaskNetwork _net, _netUncertain, _netKendall;
            private readonly MultiTaskTrainer _trainer, _trainerUncertain, _trainerKendall;
            private readonly BatchTensors _batch;
            private readonly Tensor _logits, _positions;
            private readonly EnsembleNetwork _ensemble;
            private readonly Tensor _z, _y, _same;
            private readonly Tensor _weights0, _grad0;

            public Workload()
            {
                torch.manual_seed(5);
                foreach (var (pooling, queries) in new (SequencePooling, int[])[]
                {
                    (new TargetAttentionPooling("room") { IncludeIntensity = true }, new[] { 1 }),
                    (new TargetAttentionPooling("onsale") { Weighting = AttentionWeighting.Softmax, MatchDetectors = true, IncludeIntensity = true }, new[] { 5 }),
                    (new TransformerPooling("core", "onsale") { Output = TransformerOutput.TargetAttention, TargetFeatureName = "room", Layers = 1, Heads = 2 }, new[] { 3, 5, 1 }),
                    (new MeanSequencePooling(), Array.Empty<int>()),
                })
                {
                    var module = pooling.CreateModule(new SequencePoolingContext("UserItemSeq", D, 7, queries.Select(_ => D).ToArray(), queries));
                    module.train();                                   // the intensity batch norm counts batches in training
                    _poolings.Add((module, PoolingModuleTests.Batch(11, 6, queries)));
                }
                _layout = new NetworkLayout { DenseSize = 1, DenseMean = new[] { 0f }, DenseInvStd = new[] { 1f } };
                _layout.Tasks.Add(new TaskInfo { Name = "Click", Kind = MultiTaskKind.Binary });
                _layout.Tasks.Add(new TaskInfo { Name = "Buy", Kind = MultiTaskKind.Binary, Parent = 0, CounterfactualWeight = 0.5f, Weight = 2f });
                _layout.Tasks.Add(new TaskInfo { Name = "Stay", Kind = MultiTaskKind.Regression, Weight = 0.25f });
                var fixedWeights = Options(TaskWeighting.Fixed);
                var uncertain = Options(TaskWeighting.RegularizedUncertainty);
                _net = new MultiTaskNetwork(_layout, fixedWeights);
                _netUncertain = new MultiTaskNetwork(_layout, uncertain);
                _trainer = new MultiTaskTrainer(_layout, fixedWeights, 1);
                _trainerUncertain = new MultiTaskTrainer(_layout, uncertain, 1);
                var kendall = Options(TaskWeighting.Uncertainty);
                _netKendall = new MultiTaskNetwork(_layout, kendall);
                _trainerKendall = new MultiTaskTrainer(_layout, kendall, 1);
                const int n = 32;
                var g = new Generator(7);
                _batch = new BatchTensors
                {
                    Dense = zeros(n, 1),
                    Labels = cat(new[] { (rand(new long[] { n, 2 }, generator: g) > 0.5f).to_type(ScalarType.Float32), randn(new long[] { n, 1 }, generator: g) }, 1),
                    Mask = ones(n, 3),
                    Weights = rand(new long[] { n }, generator: g),
                    Count = n,
                };
                _logits = randn(new long[] { n, 3 }, generator: g).requires_grad_(true);
                _positions = rand(new long[] { n }, generator: g).mul(Scalars.Of(30f)).floor().add(Scalars.Of(1f), Scalars.One);
                _ensemble = new EnsembleNetwork(3, true, 4, new[] { 1f, 0.5f, 0.2f, 0.5f, 1f, 0.3f, 0.2f, 0.3f, 1f }, 3);
                _z = randn(new long[] { n, 3 }, generator: g);
                _y = (rand(new long[] { n, 3 }, generator: g) > 0.6f).to_type(ScalarType.Float32);
                var groups = (rand(new long[] { n }, generator: g) * 4).floor();
                _same = groups.unsqueeze(1).eq(groups.unsqueeze(0)).to_type(ScalarType.Float32);
                _weights0 = randn(new long[] { 257 }, generator: g);
                _grad0 = randn(new long[] { 257 }, generator: g);
                foreach (var t in new[] { _batch.Dense, _batch.Labels, _batch.Mask, _batch.Weights, _logits, _positions, _z, _y, _same, _weights0, _grad0 })
                    t!.DetachFromDisposeScope();
            }

            private static MultiTaskEstimator.Options Options(TaskWeighting weighting)
                => new() { Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 2 }, TowerLayers = new[] { 2 }, TaskWeighting = weighting };

            public List<int> Round()
            {
                var values = new List<float>();
                using var scope = NewDisposeScope();
                using (no_grad())
                {
                    foreach (var (module, batch) in _poolings)
                        values.AddRange(module.forward(batch).sum(1).data<float>().ToArray());
                    values.AddRange(PositionBucketing.Of(_positions, 20).to_type(ScalarType.Float32).data<float>().ToArray());
                }
                foreach (var (net, trainer) in new[] { (_net, _trainer), (_netUncertain, _trainerUncertain), (_netKendall, _trainerKendall) })
                {
                    _logits.grad?.zero_();
                    var objective = trainer.Objective(net, _logits, _batch);
                    objective.backward();
                    values.Add(objective.item<float>());
                    values.AddRange(_logits.grad!.data<float>().ToArray());
                }
                foreach (var kind in new[] { MultiTaskOptimizer.Adam, MultiTaskOptimizer.AdamW, MultiTaskOptimizer.Adagrad })
                {
                    var weights = _weights0.clone();
                    using (var opt = new FlatOptimizer(kind, weights, _grad0, 0.01, 0.001))
                        for (int i = 0; i < 3; i++)
                            opt.Step();
                    values.AddRange(weights.data<float>().ToArray());
                }
                using (no_grad())
                {
                    var (score, sub) = _ensemble.Forward(_z);
                    values.AddRange(_ensemble.Calibrated(score).data<float>().ToArray());
                    var (auc, valid) = EnsembleTrainer.SoftAuc(score, _y, _same, 0.1f);
                    values.AddRange(auc.data<float>().ToArray());
                    values.AddRange(valid.to_type(ScalarType.Float32).data<float>().ToArray());
                    values.AddRange(sub!.data<float>().ToArray());
                }
                return values.Select(BitConverter.SingleToInt32Bits).ToList();
            }

            public void Dispose()
            {
                foreach (var (module, _) in _poolings)
                    module.Dispose();
                _net.Dispose();
                _netUncertain.Dispose();
                _netKendall.Dispose();
                _ensemble.Dispose();
            }
        }
    }
}
