using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// A categorical vector column gets one id space per slot by default: the same id in two slots is two embedding rows.
    /// The data make that matter: the click logit is f(a) + g(b) for the ids a, b of the two slots, with f and g drawn
    /// independently per id, so one shared scalar embedding per id cannot serve both slots while per-slot rows can.
    /// </summary>
    public class SlotIdSpaceTests
    {
        private const int Ids = 30;

        private sealed class Row
        {
            [VectorType(2)]
            public uint[] Ids { get; set; } = Array.Empty<uint>();
            public bool Click { get; set; }
        }

        private static (MLContext Ml, IDataView Train, IDataView Test, bool[] TestClicks) Data(int seed)
        {
            var rng = new Random(seed);
            var f = Enumerable.Range(0, Ids + 1).Select(_ => rng.Next(2) == 0 ? -1.5 : 1.5).ToArray();
            var g = Enumerable.Range(0, Ids + 1).Select(_ => rng.Next(2) == 0 ? -1.5 : 1.5).ToArray();
            Row Draw()
            {
                uint a = (uint)rng.Next(1, Ids + 1), b = (uint)rng.Next(1, Ids + 1);
                double p = 1 / (1 + Math.Exp(-(f[a] + g[b])));
                return new Row { Ids = new[] { a, b }, Click = rng.NextDouble() < p };
            }
            var train = Enumerable.Range(0, 6000).Select(_ => Draw()).ToArray();
            var test = Enumerable.Range(0, 3000).Select(_ => Draw()).ToArray();
            var ml = new MLContext(seed: 1);
            return (ml, ml.Data.LoadFromEnumerable(train), ml.Data.LoadFromEnumerable(test), test.Select(r => r.Click).ToArray());
        }

        private static MultiTaskEstimator.Options Options(SlotIdSpace space)
        {
            // A linear model over one scalar embedding per row of the table: logit = w0 e[row(a)] + w1 e[row(b)] + bias.
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = Array.Empty<int>(), TowerLayers = Array.Empty<int>(),
                Epochs = 8, BatchSize = 128, LearningRate = 0.05, Seed = 3, NumberOfThreads = 1,
            };
            o.Features.Add(new CategoricalFeature("Ids", 1) { SlotIdSpace = space });
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            return o;
        }

        [Fact]
        public void PerSlotIsTheDefault_AndGivesEachSlotItsOwnRows()
        {
            Assert.Equal(SlotIdSpace.PerSlot, new CategoricalFeature("x").SlotIdSpace);
            var (ml, train, test, clicks) = Data(5);
            using var perSlot = ml.Ranker().Trainers.MultiTask(Options(SlotIdSpace.PerSlot)).Fit(train);
            using var shared = ml.Ranker().Trainers.MultiTask(Options(SlotIdSpace.Shared)).Fit(train);
            // dictionary of the 30 ids + row 0 (unknown), per slot or once
            Assert.Equal(2 * (Ids + 1), perSlot.Layout.Tables[0].Rows);
            Assert.Equal(Ids + 1, shared.Layout.Tables[0].Rows);

            double Auc(MultiTaskTransformer m) => RankerMetrics.Auc(Fixture.Column(m.Transform(test), "ClickScore"), clicks);
            double aucPerSlot = Auc(perSlot), aucShared = Auc(shared);
            // ceiling on these data ~0.82 (logit in {-3, 0, 3}); a shared scalar per id fits at most one slot's effect
            Assert.True(aucPerSlot > 0.78, $"per-slot AUC {aucPerSlot}");
            Assert.True(aucPerSlot > aucShared + 0.05, $"per-slot AUC {aucPerSlot} vs shared {aucShared}");
        }

        [Theory]
        [InlineData(SlotIdSpace.PerSlot)]
        [InlineData(SlotIdSpace.Shared)]
        public void ExportedGraphAddsTheSameSlotOffsetsAsTraining(SlotIdSpace space)
        {
            var (ml, train, test, _) = Data(6);
            var o = Options(space);
            o.Epochs = 1;
            o.Architecture = MultiTaskArchitecture.MMoE;
            o.ExpertLayers = new[] { 8 };
            o.TowerLayers = new[] { 4 };
            o.Features[0] = new CategoricalFeature("Ids", 3) { SlotIdSpace = space, Wide = true };
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
            var torch = model.TorchOutputs(test);
            var onnx = Fixture.Column(model.Transform(test), "ClickScore");
            int k = model.OutputColumnNames.ToList().IndexOf("ClickScore");
            for (int i = 0; i < onnx.Length; i++)
                Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])), $"row {i}: ONNX {onnx[i]} vs TorchSharp {torch[k][i]}");
        }

        [Fact]
        public void ASequenceCannotShareAPerSlotVectorTable()
        {
            var ml = new MLContext(seed: 1);
            var rows = Enumerable.Range(0, 50).Select(i => new SeqRow { Ids = new[] { (uint)(i % 5 + 1), (uint)(i % 7 + 1) }, Seq = new[] { (uint)(i % 5 + 1) }, Click = i % 3 == 0 }).ToArray();
            var data = ml.Data.LoadFromEnumerable(rows);
            var o = Options(SlotIdSpace.PerSlot);
            o.Epochs = 1;
            o.Features.Add(new SequenceFeature("Seq") { SharedEmbeddingWith = "Ids" });
            var e = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
            Assert.Contains("SlotIdSpace.Shared", e.Message);
            Assert.Contains("'Seq'", e.Message);
        }

        private sealed class SeqRow
        {
            [VectorType(2)]
            public uint[] Ids { get; set; } = Array.Empty<uint>();
            [VectorType]
            public uint[] Seq { get; set; } = Array.Empty<uint>();
            public bool Click { get; set; }
        }
    }
}
