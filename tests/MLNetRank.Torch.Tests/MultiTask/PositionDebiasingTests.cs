using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>Position debiasing methods 1 (position as a feature) and 2 (bias tower, PAL) of the multi-task trainer.</summary>
    [Collection("TorchSharp")]
    public class PositionDebiasingTests
    {
        private static MultiTaskEstimator.Options ClickOptions(int epochs = 2)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.SharedBottom,
                ExpertLayers = new[] { 16 },
                TowerLayers = new[] { 8 },
                Epochs = epochs,
                BatchSize = 64,
                ShuffleBufferSize = 200,
                LearningRate = 0.01,
                Seed = 3,
            };
            o.Features.Add(new DenseFeature("Features"));
            o.Features.Add(new CategoricalFeature("UserId", 4));
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            return o;
        }

        private static List<Impression> WithPosition(IEnumerable<Impression> rows, int position)
            => rows.Select(r => new Impression
            {
                Features = r.Features, UserId = r.UserId, LiveId = r.LiveId, LiveSeq = r.LiveSeq, ItemSeq = r.ItemSeq, Position = position,
                Click = r.Click, Buy = r.Buy, StayTime = r.StayTime, TrueCtr = r.TrueCtr, TrueCvr = r.TrueCvr, RowIndex = r.RowIndex,
            }).ToList();

        [Fact]
        public void BiasTowerWithContextIsLeftOutOfTheSavedModel()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(600, 4, positionEffect: 0.6);
            var data = Fixture.Load(ml, rows);
            var o = ClickOptions();
            var tower = new PositionBiasTower("Position") { MaximumPosition = 3, HiddenLayers = new[] { 4 }, Dropout = 0.1f };
            tower.ContextCategoricalColumnNames.Add("LiveId");     // a training-only id (not a feature of the network)
            tower.ContextDenseColumnNames.Add("StayTime");
            o.Tasks[0].TrainingOnlyLogitAdjustments.Add(tower);
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);

            var path = Path.Combine(Path.GetTempPath(), $"mlnetrank-biastower-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(m, data.Schema, path);
                var ml2 = new MLContext(5);
                var loaded = ml2.Model.Load(path, out _);
                // serving data without any of the tower's columns
                var serving = ml2.Transforms.DropColumns("Position", "LiveId", "StayTime").Fit(data).Transform(data);
                Assert.False(serving.Schema.GetColumnOrNull("Position").HasValue);
                var served = Fixture.Column(loaded.Transform(serving), "ClickProbability");
                var torchServing = m.TorchOutputs(data, training: false)[1];
                var torchTraining = m.TorchOutputs(data, training: true)[1];
                Assert.Equal(rows.Count, served.Length);
                for (int i = 0; i < served.Length; i++)
                    Assert.True(Math.Abs(served[i] - torchServing[i]) < 1e-5, $"row {i}: served {served[i]} vs torch {torchServing[i]}");
                // the tower is real in training: it moves the training-time probability
                Assert.True(Enumerable.Range(0, rows.Count).Average(i => Math.Abs(torchTraining[i] - torchServing[i])) > 1e-3);
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void PalTrainingProbabilitiesAreProductsOfAPositionTermAndTheServedProbability()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(800, 5, positionEffect: 0.7);
            var data = Fixture.Load(ml, rows);
            var o = ClickOptions(epochs: 4);
            o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower("Position") { MaximumPosition = 4, Combine = BiasCombination.Product });
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            var served = m.TorchOutputs(data, training: false)[1];
            var trained = m.TorchOutputs(data, training: true)[1];
            var onnx = Fixture.Column(m.Transform(data), "ClickProbability");
            var seen = new Dictionary<int, List<double>>();
            for (int i = 0; i < rows.Count; i++)
            {
                Assert.True(Math.Abs(onnx[i] - served[i]) < 1e-5, $"row {i}: the served probability is σ(task logit)");
                double ratio = trained[i] / served[i];
                Assert.InRange(ratio, 0.0, 1.0);
                int bucket = Math.Min(rows[i].Position, 5);
                (seen.TryGetValue(bucket, out var l) ? l : seen[bucket] = new List<double>()).Add(ratio);
            }
            // p(observed) = p(seen | position) · p(relevant | x): the ratio is one number per position bucket (1..4, and 5 in
            // the shared bucket of positions > MaximumPosition) ...
            foreach (var (pos, ratios) in seen)
                Assert.True(ratios.Max() - ratios.Min() < 1e-4, $"position {pos}: p(seen) varies from {ratios.Min()} to {ratios.Max()}");
            // ... and it learned that later positions are seen less (examination exp(-0.7 (p - 1)) in the fixture)
            Assert.True(seen[1][0] > seen[5][0], $"p(seen | 1) = {seen[1][0]}, p(seen | 5) = {seen[5][0]}");
        }

        [Fact]
        public void PositionFeatureIsFixedToTheNeutralPositionInTheExportedGraph()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(600, 6, positionEffect: 0.6);
            var data = Fixture.Load(ml, rows);
            foreach (var neutral in new[] { 1f, 3f })
            {
                var o = ClickOptions();
                o.Features.Add(new PositionFeature("Position") { NeutralPosition = neutral, MaximumPosition = 4 });
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
                var serving = ml.Transforms.DropColumns("Position").Fit(data).Transform(data);
                var served = Fixture.Column(m.Transform(serving), "ClickScore");
                // the network run in training mode on the logged rows moved to the neutral position
                var atNeutral = m.TorchOutputs(Fixture.Load(ml, WithPosition(rows, (int)neutral)), training: true)[0];
                var atOther = m.TorchOutputs(Fixture.Load(ml, WithPosition(rows, neutral == 1f ? 4 : 1)), training: true)[0];
                for (int i = 0; i < rows.Count; i++)
                    Assert.True(Math.Abs(served[i] - atNeutral[i]) < 1e-5, $"neutral {neutral}, row {i}: served {served[i]} vs torch {atNeutral[i]}");
                Assert.True(Enumerable.Range(0, rows.Count).Average(i => Math.Abs(served[i] - atOther[i])) > 1e-3, "the position feature has no effect");
            }
        }

        [Fact]
        public void SameSeedGivesTheSameDebiasedModel()
        {
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(400, 7, positionEffect: 0.5));
            float[] Run(int? seed, int contextSeed = 9)
            {
                var o = ClickOptions();
                o.Seed = seed;
                o.Features.Add(new PositionFeature());
                o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower { Combine = BiasCombination.Product, Dropout = 0.2f, HiddenLayers = new[] { 4 } });
                using var m = new MLContext(contextSeed).Ranker().Trainers.MultiTask(o).Fit(data);
                return Fixture.Column(m.Transform(data), "ClickScore");
            }
            var a = Run(3);
            Assert.Equal(a, Run(3));
            Assert.NotEqual(a, Run(4));
            // the seed drawn from the context: the same context seed, the same model; another, another model
            var c = Run(null, 9);
            Assert.Equal(c, Run(null, 9));
            Assert.NotEqual(c, Run(null, 10));
        }

        [Fact]
        public void CheckpointResumeWithTowersEndsWithTheUninterruptedWeights()
        {
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(400, 8, positionEffect: 0.5));
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-biastower-ck-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                MultiTaskEstimator.Options Opt(int epochs, string? ck)
                {
                    var o = ClickOptions(epochs);
                    o.Features.Add(new PositionFeature());
                    o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower { Combine = BiasCombination.Product });
                    o.CheckpointPath = ck;
                    o.ResumeFromCheckpoint = ck is not null;
                    return o;
                }
                float[] Score(MultiTaskEstimator.Options o)
                {
                    using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
                    return Fixture.Column(m.Transform(data), "ClickScore");
                }
                var full = Score(Opt(3, null));
                var ck = Path.Combine(dir, "run");
                Score(Opt(2, ck));            // interrupted after 2 epochs
                var resumed = Score(Opt(3, ck));
                Assert.Equal(full, resumed);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        private sealed class FloatPositionRow
        {
            [VectorType(2)] public float[] Features { get; set; } = new float[2];
            public bool Click { get; set; }
            public float Rank { get; set; }
            public string Device { get; set; } = "";
        }

        private static MultiTaskEstimator.Options FloatOptions(LogitAdjustment? adjustment = null, PositionFeature? feature = null)
        {
            var o = new MultiTaskEstimator.Options { Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 4 }, TowerLayers = new[] { 2 }, Epochs = 1, Seed = 1 };
            o.Features.Add(new DenseFeature("Features"));
            if (feature is not null)
                o.Features.Add(feature);
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            if (adjustment is not null)
                o.Tasks[0].TrainingOnlyLogitAdjustments.Add(adjustment);
            return o;
        }

        [Fact]
        public void BadPositionsAndColumnsAreNamed()
        {
            var ml = new MLContext(1);
            IDataView Rows(float rank) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, 20).Select(i => new FloatPositionRow
            {
                Features = new[] { i * 0.1f, 1f }, Click = i % 3 == 0, Rank = i == 11 ? rank : 1 + i % 4, Device = i % 2 == 0 ? "ios" : "android",
            }));
            var good = Rows(2f);

            // missing column
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(new PositionBiasTower("Nope"))).Fit(good));
            Assert.Contains("'Nope'", ex.Message);
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(feature: new PositionFeature("Nope"))).Fit(good));
            Assert.Contains("'Nope'", ex.Message);
            // wrong type: text as a position
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(new PositionBiasTower("Device"))).Fit(good));
            Assert.Contains("'Device'", ex.Message);
            Assert.Contains("position", ex.Message);
            var vectorContext = new PositionBiasTower("Rank");
            vectorContext.ContextCategoricalColumnNames.Add("Features");
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(vectorContext)).Fit(good));
            Assert.Contains("'Features'", ex.Message);

            // position < 1 or NaN, at the row where it occurs
            foreach (var bad in new[] { 0f, -2f, float.NaN, float.PositiveInfinity })
            {
                var iex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(new PositionBiasTower("Rank"))).Fit(Rows(bad)));
                Assert.Contains("'Rank'", iex.Message);
                Assert.Contains("row 11", iex.Message);
                iex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(feature: new PositionFeature("Rank"))).Fit(Rows(bad)));
                Assert.Contains("'Rank'", iex.Message);
            }

            // a text context id and a Single position train
            var withDevice = new PositionBiasTower("Rank");
            withDevice.ContextCategoricalColumnNames.Add("Device");
            using var m = ml.Ranker().Trainers.MultiTask(FloatOptions(withDevice, new PositionFeature("Rank"))).Fit(good);
            Assert.Equal(20, Fixture.Column(m.Transform(ml.Transforms.DropColumns("Rank", "Device").Fit(good).Transform(good)), "ClickScore").Length);
        }

        [Fact]
        public void TowerOptionsAreValidated()
        {
            var ml = new MLContext(1);
            var o = FloatOptions(new PositionBiasTower { Combine = BiasCombination.Product });
            o.Tasks.Add(new TaskSpec("Stay", "Stay", MultiTaskKind.Regression));
            o.Tasks[1].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower { Combine = BiasCombination.Product });
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("'Stay'", ex.Message);

            o = FloatOptions();
            o.Tasks.Add(new TaskSpec("Buy", "Buy") { ConditionedOn = "Click" });
            o.Tasks[1].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower { Combine = BiasCombination.Product });
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("ESMM", ex.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(new PositionBiasTower { MaximumPosition = 0 })));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(new PositionBiasTower { Dropout = 1f })));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(FloatOptions(feature: new PositionFeature { NeutralPosition = 0.5f })));
            var two = FloatOptions(feature: new PositionFeature());
            two.Features.Add(new PositionFeature("Other"));
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(two));
            Assert.Contains("PositionFeature", ex.Message);
            var only = new MultiTaskEstimator.Options();
            only.Features.Add(new PositionFeature());
            only.Tasks.Add(new TaskSpec("Click", "Click"));
            Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(only));
            Assert.Throws<ArgumentException>(() => new PositionBiasTower(" "));
        }
    }
}
