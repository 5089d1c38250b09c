using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using TorchSharp.Modules;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>The training-only auxiliary-loss hook of pooling modules (<c>SequencePoolingModule.AddAuxiliaryLoss</c>) and
    /// its use in <see cref="TargetAttentionPooling.EqualWeightPenalty"/>.</summary>
    [Collection("TorchSharp")]
    public class AuxiliaryLossTests
    {
        /// <summary>Mean pooling plus a parameter <c>c</c> (starting at 0) that the forward does not use; with <see cref="Pull"/> its
        /// auxiliary loss <c>(c − Target)²</c> is the only gradient <c>c</c> gets. <see cref="Exported"/> records <c>c</c> when the
        /// model is exported (after training).</summary>
        private sealed class PulledPooling : SequencePooling
        {
            public float Target { get; init; } = 0.3f;
            public bool Pull { get; init; } = true;
            public bool NotFinite { get; init; }
            public float? Exported { get; set; }

            public override SequencePoolingModule CreateModule(SequencePoolingContext context) => new Module(context.FeatureName, this);

            private sealed class Module : SequencePoolingModule
            {
                private static readonly Scalar One = 1f.ToScalar(), Two = 2f.ToScalar();
                private readonly PulledPooling _owner;
                private readonly Scalar _target;
                private readonly SequencePoolingModule mean;
                private readonly Parameter c = new(zeros(1));

                public Module(string name, PulledPooling owner) : base(name)
                {
                    _owner = owner;
                    _target = owner.Target.ToScalar();
                    mean = new MeanSequencePooling().CreateModule(new SequencePoolingContext(name, 8, 8));
                    RegisterComponents();
                }

                public override Tensor forward(SequencePoolingBatch b)
                {
                    if (_owner.NotFinite)
                        AddAuxiliaryLoss(c.sub(c).div(c.sub(c)));        // 0 / 0
                    else if (_owner.Pull)
                        AddAuxiliaryLoss(c.sub(_target).pow(Two).sum());
                    return mean.forward(b);
                }

                public override string Export(SequencePoolingGraph x)
                {
                    _owner.Exported = c.detach().item<float>();
                    return mean.Export(x);
                }
            }
        }

        private sealed class Recorder : IProgress<MultiTaskProgress>
        {
            public List<MultiTaskProgress> Reports { get; } = new();
            public void Report(MultiTaskProgress value) => Reports.Add(value);
        }

        private static MultiTaskEstimator.Options With(SequencePooling pooling)
        {
            var o = SequenceNetworkTests.Options("mean", epochs: 3);
            o.BatchSize = 32;
            o.LearningRate = 0.01;
            ((SequenceFeature)o.Features.First(f => f.ColumnName == ImpressionColumns.UserItemSeq)).Pooling = pooling;
            return o;
        }

        /// <summary>The hook is called and its loss is optimised: a parameter that only the auxiliary loss touches ends near the
        /// value the loss pulls it to (and stays at 0 without it); the loss is reported per epoch, falling, under the feature's
        /// name, in the history, the progress reports and the MLContext log.</summary>
        [Fact]
        public void AuxiliaryLoss_PullsAParameterToItsTarget_AndIsReportedPerEpoch()
        {
            var ml = new MLContext(1);
            var messages = new List<string>();
            ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(60)).GetImpressions(ml);
            var pulled = new PulledPooling { Target = 0.3f };
            var options = With(pulled);
            var progress = new Recorder();
            options.Progress = progress;
            using (var model = ml.Ranker().Trainers.MultiTask(options).Fit(data))
            {
                Assert.NotNull(pulled.Exported);
                Assert.True(Math.Abs(pulled.Exported!.Value - 0.3f) < 0.05f, $"c = {pulled.Exported} after training, the auxiliary loss pulls it to 0.3");
                var aux = model.History.Select(h => h.AuxiliaryLosses).ToArray();
                Assert.Equal(3, aux.Length);
                Assert.All(aux, a => Assert.Equal(new[] { ImpressionColumns.UserItemSeq }, a.Keys.ToArray()));
                Assert.True(aux[0][ImpressionColumns.UserItemSeq] > 10 * aux[2][ImpressionColumns.UserItemSeq],
                    $"auxiliary loss per epoch: {string.Join(", ", aux.Select(a => a[ImpressionColumns.UserItemSeq].ToString("G4")))}");
                // the first epoch starts at (0 − 0.3)² = 0.09 and falls: its mean lies below that, above 0
                Assert.InRange(aux[0][ImpressionColumns.UserItemSeq], 1e-4, 0.09);
                var epochs = progress.Reports.Where(r => r.Stage == "epoch").ToArray();
                Assert.Equal(3, epochs.Length);
                Assert.All(epochs.Zip(aux), p => Assert.Equal(p.Second[ImpressionColumns.UserItemSeq], p.First.AuxiliaryLosses[ImpressionColumns.UserItemSeq]));
                Assert.Contains(messages, m => m.Contains("auxiliary loss " + ImpressionColumns.UserItemSeq + "=", StringComparison.Ordinal));
            }

            // the control: the same run without the term leaves c where it starts
            var idle = new PulledPooling { Pull = false };
            using (var model = ml.Ranker().Trainers.MultiTask(With(idle)).Fit(data))
            {
                Assert.Equal(0f, idle.Exported);
                Assert.All(model.History, h => Assert.Empty(h.AuxiliaryLosses));
            }
        }

        [Fact]
        public void NonFiniteAuxiliaryLoss_StopsTraining_NamingTheFeature()
        {
            var ml = new MLContext(1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(40)).GetImpressions(ml);
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(With(new PulledPooling { NotFinite = true })).Fit(data));
            Assert.Contains("auxiliary loss", ex.Message);
            Assert.Contains($"'{ImpressionColumns.UserItemSeq}'", ex.Message);
            Assert.Contains("NaN", ex.Message);
        }

        /// <summary>The penalty adds a term only in training, and only when on.</summary>
        [Fact]
        public void EqualWeightPenalty_AddsATrainingOnlyTerm_OnlyWhenOn()
        {
            using var scope = NewDisposeScope();
            var ctx = new SequencePoolingContext("UserItemSeq", 8, 7, new[] { 8 }, new[] { 1 });
            var batch = PoolingModuleTests.Batch(4, 6, new[] { 1 });
            var off = new TargetAttentionPooling("room").CreateModule(ctx);
            var on = new TargetAttentionPooling("room") { EqualWeightPenalty = 2f }.CreateModule(ctx);
            off.train();
            on.train();
            off.forward(batch);
            on.forward(batch);
            Assert.Null(off.TakeAuxiliaryLoss());
            var term = on.TakeAuxiliaryLoss();
            Assert.NotNull(term);
            Assert.Equal(0f, term!.item<float>());                 // the unit starts with equal weights
            Assert.Null(on.TakeAuxiliaryLoss());                    // taken once
            on.eval();
            on.forward(batch);
            Assert.Null(on.TakeAuxiliaryLoss());                    // never outside training
        }

        /// <summary>Data with nothing candidate-dependent to learn: a fixed batch whose targets are noise. The unpenalised unit
        /// fits the noise with query × history weights (its pooled vectors turn away from the mean-pooled ones); with
        /// <see cref="TargetAttentionPooling.EqualWeightPenalty"/> = 10 it stays near equal weights: under a quarter of the
        /// unpenalised deviation, for DIN's weights divided by n, for softmax weights, for V2's set query, and together with
        /// <see cref="TargetAttentionPooling.LearningRateScale"/> = 0.1 (the penalty acts on the scaled weights the unit computes).</summary>
        [Theory]
        [InlineData(AttentionWeighting.Mean, 1)]
        [InlineData(AttentionWeighting.Softmax, 1)]
        [InlineData(AttentionWeighting.Mean, 5)]
        [InlineData(AttentionWeighting.Mean, 1, 0.1f)]
        public void EqualWeightPenalty_KeepsTheUnitNearEqualWeights_OnNoise(AttentionWeighting weighting, int queries, float learningRateScale = 1f)
        {
            double Deviation(float penalty, bool aroundMean = false)
            {
                using var scope = NewDisposeScope();
                torch.manual_seed(11);
                var g = new Generator(23);
                const int ids = 24, rows = 64, len = 8, d = 8;
                var table = randn(new long[] { ids, d }, generator: g);
                var kg = randint(ids, new long[] { rows, len }, generator: g);
                var qg = randint(ids, new long[] { rows, queries }, generator: g);
                var y = randn(new long[] { rows, 1 }, generator: g);
                var batch = new SequencePoolingBatch(table.index_select(0, kg.flatten()).reshape(rows, len, d), ones(rows, len),
                    new[] { table.index_select(0, qg.flatten()).reshape(rows, queries, d) }, new[] { ones(rows, queries) });
                var module = new TargetAttentionPooling("room") { Weighting = weighting, EqualWeightPenalty = penalty, PenaltyAroundMean = aroundMean, LearningRateScale = learningRateScale }
                    .CreateModule(new SequencePoolingContext("UserItemSeq", d, len, new[] { d }, new[] { queries }));
                var mean = new MeanSequencePooling().CreateModule(new SequencePoolingContext("UserItemSeq", d, len));
                var head = nn.Linear(d, 1);
                var opt = optim.Adam(module.parameters().Concat(head.parameters()), lr: 1e-2);
                module.train();
                for (int step = 0; step < 150; step++)
                {
                    using var inner = NewDisposeScope();
                    var loss = nn.functional.mse_loss(head.forward(module.forward(batch)), y);
                    var aux = module.TakeAuxiliaryLoss();
                    Assert.Equal(penalty > 0f, aux is not null);
                    if (aux is not null)
                        loss = loss + aux;
                    opt.zero_grad();
                    loss.backward();
                    opt.step();
                }
                module.eval();
                using (no_grad())
                {
                    // 1 − cos(pooled, mean-pooled) per row: 0 for any equal weights (whatever their common value)
                    var cos = nn.functional.cosine_similarity(module.forward(batch), mean.forward(batch), 1);
                    return (1 - cos).mean().item<float>();
                }
            }
            double free = Deviation(0f), penalised = Deviation(10f);
            Assert.True(free > 0.1, $"the unpenalised unit did not leave equal weights on noise ({free:G4}): the test shows nothing");
            Assert.True(penalised < 0.25 * free, $"1 − cos to mean pooling after fitting noise: penalty 10 {penalised:G4}, none {free:G4}");
            if (weighting == AttentionWeighting.Mean && queries == 1 && learningRateScale == 1f)
            {
                // the variance-only form (internal ablation) leaves the per-candidate scale free: it does not hold the unit
                double variance = Deviation(10f, aroundMean: true);
                Assert.True(variance > 0.5 * free, $"variance-only penalty 10: {variance:G4}, none {free:G4} (expected to fail to hold the unit)");
            }
        }

        /// <summary>The penalty is training-only: a network trained with it on both DIN units exports a graph that scores like
        /// TorchSharp (to 1e-5), and reports each unit's penalty per epoch.</summary>
        [Fact]
        public void Penalised_Network_ExportsLikeTorchSharp_AndReportsThePenalty()
        {
            var ml = new MLContext(1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(60)).GetImpressions(ml);
            var o = SequenceNetworkTests.Options("dual", epochs: 2);
            foreach (var p in o.Features.OfType<SequenceFeature>().Select(f => f.Pooling).OfType<TargetAttentionPooling>())
                p.EqualWeightPenalty = 1f;
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            Assert.All(model.History, h => Assert.Equal(new[] { ImpressionColumns.UserItemSeq, ImpressionColumns.UserLiveSeq }, h.AuxiliaryLosses.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray()));
            Assert.All(model.History, h => Assert.All(h.AuxiliaryLosses.Values, v => Assert.True(v > 0 && double.IsFinite(v), $"penalty {v}")));
            var torchOut = model.TorchOutputs(data);
            var scored = model.Transform(data);
            for (int k = 0; k < model.OutputColumnNames.Count; k++)
            {
                var onnx = SequenceNetworkTests.Column(scored, model.OutputColumnNames[k]);
                for (int i = 0; i < onnx.Length; i++)
                    Assert.True(Math.Abs(onnx[i] - torchOut[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torchOut[k][i])), $"{model.OutputColumnNames[k]} row {i}");
            }
        }

        [Fact]
        public void EqualWeightPenalty_IsValidated_NamingTheFeatureAndTheOption()
        {
            var ctx = new SequencePoolingContext("UserLiveSeq", 8, 10, new[] { 8 });
            foreach (var bad in new[] { -0.5f, float.NaN, float.PositiveInfinity })
            {
                var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new TargetAttentionPooling("room") { EqualWeightPenalty = bad }.Validate(ctx));
                Assert.Contains("UserLiveSeq", ex.Message);
                Assert.Contains("EqualWeightPenalty", ex.Message);
            }
            new TargetAttentionPooling("room") { EqualWeightPenalty = 0f }.Validate(ctx);
        }
    }
}
