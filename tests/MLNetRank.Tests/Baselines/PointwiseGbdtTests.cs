using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Baselines;
using Xunit;

namespace MLNetRank.Tests.Baselines
{
    [Collection(LightGbmCollection.Name)]
    public class PointwiseGbdtTests
    {
        internal sealed class Row
        {
            [VectorType(4)] public float[] StatFeatures { get; set; } = Array.Empty<float>();
            public bool Click { get; set; }
            public bool Buy { get; set; }
            public float StayTime { get; set; }
        }

        private sealed class Scored
        {
            public float Score { get; set; }
            public float Probability { get; set; }
        }

        /// <summary>Click depends on x0; conversion after a click depends on x1 only; x2, x3 are noise.</summary>
        internal static List<Row> Make(int n, int seed)
        {
            var rng = new Random(seed);
            var rows = new List<Row>(n);
            for (int i = 0; i < n; i++)
            {
                var x = new float[4];
                for (int j = 0; j < 4; j++) x[j] = (float)(rng.NextDouble() * 2 - 1);
                double pClick = 1 / (1 + Math.Exp(-(2.5 * x[0] - 1)));
                bool click = rng.NextDouble() < pClick;
                double pBuy = 1 / (1 + Math.Exp(-(4 * x[1] - 1)));
                bool buy = click && rng.NextDouble() < pBuy;
                float stay = click ? (float)Math.Exp(2 + x[1] + rng.NextDouble()) : 0f;
                rows.Add(new Row { StatFeatures = x, Click = click, Buy = buy, StayTime = stay });
            }
            return rows;
        }

        private static double Auc(IReadOnlyList<float> score, IReadOnlyList<bool> label)
        {
            var idx = Enumerable.Range(0, score.Count).OrderBy(i => score[i]).ToArray();
            double rankSum = 0; long pos = 0;
            for (int r = 0; r < idx.Length; r++)
                if (label[idx[r]]) { rankSum += r + 1; pos++; }
            long neg = score.Count - pos;
            return (rankSum - pos * (pos + 1) / 2.0) / (pos * (double)neg);
        }

        [Fact]
        public void EngagementWeight_MatchesFormula_ForBooleanAndFloatLabels()
        {
            var ml = new MLContext(1);
            var rows = new[]
            {
                new Row { StatFeatures = new float[4], Click = true, Buy = true, StayTime = 30 },
                new Row { StatFeatures = new float[4], Click = false, Buy = false, StayTime = 0 },
                new Row { StatFeatures = new float[4], Click = true, Buy = false, StayTime = 5 },
            };
            var data = ml.Data.LoadFromEnumerable(rows);
            var opts = new EngagementWeightEstimator.Options { NonClickWeight = 0.5f, ClickWeight = 2f, BuyWeight = 3f, StayTimeWeight = 0.25f };
            var w = ml.Ranker().Transforms.EngagementWeight(opts).Fit(data).Transform(data).GetColumn<float>("Weight").ToArray();
            Assert.Equal(2 + 3 + 0.25 * Math.Log(31), w[0], 5);
            Assert.Equal(0.5, w[1], 6);
            Assert.Equal(2 + 0.25 * Math.Log(6), w[2], 5);

            // Single-typed 0/1 labels give the same weights.
            var floatData = ml.Transforms.Conversion.ConvertType(new[] { new InputOutputColumnPair("Click"), new InputOutputColumnPair("Buy") }, DataKind.Single)
                .Fit(data).Transform(data);
            var w2 = ml.Ranker().Transforms.EngagementWeight(opts).Fit(floatData).Transform(floatData).GetColumn<float>("Weight").ToArray();
            Assert.Equal(w, w2);
        }

        [Fact]
        public void EngagementWeight_OutputColumnNameFirstOverload_WritesTheNamedColumnWithTheDefaultWeights()
        {
            var ml = new MLContext(1);
            var rows = new[]
            {
                new Row { StatFeatures = new float[4], Click = true, Buy = true, StayTime = 30 },
                new Row { StatFeatures = new float[4], Click = false, Buy = false, StayTime = 0 },
                new Row { StatFeatures = new float[4], Click = true, Buy = false, StayTime = 5 },
            };
            var data = ml.Data.LoadFromEnumerable(rows);
            var scored = ml.Ranker().Transforms.EngagementWeight("SampleWeight").Fit(data).Transform(data);
            Assert.False(scored.Schema.GetColumnOrNull("Weight").HasValue);
            var w = scored.GetColumn<float>("SampleWeight").ToArray();
            Assert.Equal(1 + 4 + 0.25 * Math.Log(31), w[0], 5);
            Assert.Equal(1, w[1], 6);
            Assert.Equal(1 + 0.25 * Math.Log(6), w[2], 5);
            // without the conversion term the buy drops out
            var noBuy = ml.Ranker().Transforms.EngagementWeight("SampleWeight", buyColumnName: null).Fit(data).Transform(data).GetColumn<float>("SampleWeight").ToArray();
            Assert.Equal(1 + 0.25 * Math.Log(31), noBuy[0], 5);
        }

        [Fact]
        public void EngagementWeight_RejectsBadOptionsAndColumns()
        {
            var ml = new MLContext(1);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EngagementWeight(new EngagementWeightEstimator.Options { BuyWeight = -1 }));
            var data = ml.Data.LoadFromEnumerable(Make(10, 1));
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EngagementWeight(new EngagementWeightEstimator.Options { BuyColumnName = "Purchase" }).Fit(data));
            Assert.Contains("Purchase", ex.Message);
        }

        [Theory]
        [InlineData(GbdtTrainerKind.FastTree)]
        [InlineData(GbdtTrainerKind.LightGbm)]
        public void LearnsClick_AndWeightsRaiseConversionRanking(GbdtTrainerKind trainer)
        {
            var ml = new MLContext(seed: 3);
            var train = ml.Data.LoadFromEnumerable(Make(6000, 11));
            var testRows = Make(4000, 12);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var baseOpts = new PointwiseGbdtEstimator.Options { Trainer = trainer, NumberOfTrees = 40, NumberOfLeaves = 8, NumberOfThreads = 1 };
            var unweighted = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options
            { Trainer = trainer, NumberOfTrees = 40, NumberOfLeaves = 8, NumberOfThreads = 1, Weighting = null }).Fit(train);
            var weighted = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options
            {
                Trainer = trainer, NumberOfTrees = 40, NumberOfLeaves = 8, NumberOfThreads = 1,
                Weighting = new EngagementWeightEstimator.Options { BuyWeight = 20, StayTimeWeight = 0 },
            }).Fit(train);

            var click = testRows.Select(r => r.Click).ToList();
            var buy = testRows.Select(r => r.Buy).ToList();
            var su = unweighted.Transform(test).GetColumn<float>("Score").ToList();
            var sw = weighted.Transform(test).GetColumn<float>("Score").ToList();
            double clickAucU = Auc(su, click), buyAucU = Auc(su, buy), buyAucW = Auc(sw, buy);
            // The click model learns x0 (true click AUC on this data is about 0.78).
            Assert.True(clickAucU > 0.72, $"click AUC {clickAucU}");
            // Conversion depends on x1, which only the weights make the click model care about.
            Assert.True(buyAucW > buyAucU + 0.03, $"buy AUC weighted {buyAucW} vs unweighted {buyAucU}");
            Assert.Equal(trainer, weighted.Trainer);
            Assert.Equal(6000, weighted.TrainingRows);
        }

        [Fact]
        public void SavesAsBuiltInModel_AndReloadsIdentically()
        {
            var ml = new MLContext(seed: 5);
            var train = ml.Data.LoadFromEnumerable(Make(2000, 21));
            var model = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { NumberOfTrees = 20, NumberOfLeaves = 8 }).Fit(train);
            var path = Path.Combine(Path.GetTempPath(), $"mlnetrank-v1-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, train.Schema, path);
                var fresh = new MLContext();
                var loaded = fresh.Model.Load(path, out var schema);
                Assert.DoesNotContain("MLNetRank", loaded.GetType().FullName!);
                var test = fresh.Data.LoadFromEnumerable(Make(500, 22));
                var a = model.Transform(test);
                var b = loaded.Transform(test);
                Assert.Equal(a.GetColumn<float>("Score").ToArray(), b.GetColumn<float>("Score").ToArray());
                Assert.Equal(a.GetColumn<float>("Probability").ToArray(), b.GetColumn<float>("Probability").ToArray());
                // Serving needs features only: no label columns.
                var featuresOnly = fresh.Data.LoadFromEnumerable(Make(5, 23).Select(r => new FeaturesOnly { StatFeatures = r.StatFeatures }));
                Assert.Equal(5, loaded.Transform(featuresOnly).GetColumn<float>("Score").Count());
            }
            finally
            {
                File.Delete(path);
            }
        }

        private sealed class FeaturesOnly
        {
            [VectorType(4)] public float[] StatFeatures { get; set; } = Array.Empty<float>();
        }

        [Fact]
        public void SameSeedSameModel()
        {
            (float[] Scores, string Log) Train(int contextSeed, GbdtTrainerKind kind)
            {
                var ml = new MLContext(seed: contextSeed);
                var log = new System.Text.StringBuilder();
                ml.Log += (_, e) => { if (e.Message.Contains("seed", StringComparison.Ordinal)) log.AppendLine(e.Message); };
                var data = ml.Data.LoadFromEnumerable(Make(1500, 31));
                var m = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { NumberOfTrees = 15, NumberOfLeaves = 8, Trainer = kind }).Fit(data);
                return (m.Transform(data).GetColumn<float>("Score").ToArray(), log.ToString());
            }
            foreach (var kind in new[] { GbdtTrainerKind.FastTree, GbdtTrainerKind.LightGbm })
            {
                var a = Train(9, kind);
                var b = Train(9, kind);
                var c = Train(10, kind);
                Assert.Equal(a.Scores, b.Scores);
                Assert.Equal(a.Log, b.Log);
                // another context seed reaches the trainer ...
                Assert.Contains(", seed ", a.Log);
                Assert.NotEqual(a.Log, c.Log);
                // ... and, as these trainers sample nothing with these options (no bagging, all features, all rows), gives
                // the same trees: the seed only matters where there is randomness (see GbdtLeafEncodingTests for a model
                // that samples rows and changes with the seed)
                Assert.Equal(a.Scores, c.Scores);
            }
        }

        [Fact]
        public void BadInput_GivesClearErrors()
        {
            var ml = new MLContext(1);
            var est = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { FeatureColumnName = "Missing", NumberOfTrees = 5 });
            var data = ml.Data.LoadFromEnumerable(Make(50, 1));
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => est.Fit(data));
            Assert.Contains("Missing", ex.Message);

            var wrongType = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { FeatureColumnName = "StayTime", NumberOfTrees = 5 });
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => wrongType.Fit(data));
            Assert.Contains("StayTime", ex.Message);
            Assert.Contains("vector", ex.Message);

            var empty = ml.Data.LoadFromEnumerable(new List<Row>());
            var ioe = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.PointwiseGbdt().Fit(empty));
            Assert.Contains("empty", ioe.Message);

            var noClicks = ml.Data.LoadFromEnumerable(Make(50, 1).Select(r => { r.Click = false; r.Buy = false; r.StayTime = 0; return r; }).ToList());
            ioe = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.PointwiseGbdt().Fit(noClicks));
            Assert.Contains("Click", ioe.Message);

            var inf = Make(50, 1);
            inf[7].StatFeatures[2] = float.PositiveInfinity;
            ioe = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.PointwiseGbdt().Fit(ml.Data.LoadFromEnumerable(inf)));
            Assert.Contains("StatFeatures", ioe.Message);
            Assert.Contains("row 7", ioe.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { NumberOfTrees = 0 }));
            var unknownTrainer = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { Trainer = (GbdtTrainerKind)7 }));
            Assert.Equal("Trainer", unknownTrainer.ParamName);
            Assert.Contains("got 7", unknownTrainer.Message);

            var negativeStay = Make(50, 1);
            var clicked = negativeStay.FindIndex(r => r.Click);
            negativeStay[clicked].StayTime = -3;
            ioe = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.PointwiseGbdt().Fit(ml.Data.LoadFromEnumerable(negativeStay)));
            Assert.Contains("StayTime", ioe.Message);
            Assert.Contains($"row {clicked}", ioe.Message);

            // With weighting the weighting's click column is the label: a different LabelColumnName is an error, not ignored.
            var ae = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options { LabelColumnName = "MyClick" }));
            Assert.Contains("MyClick", ae.Message);
        }

        [Fact]
        public void GetOutputSchema_ValidatesAndPredictsColumns()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(Make(10, 1));
            var shape = ml.Ranker().Trainers.PointwiseGbdt().GetOutputSchema(MLNetRank.TestSupport.Shapes.Of(data.Schema));
            Assert.Contains(shape, c => c.Name == "Score");
            Assert.Contains(shape, c => c.Name == "Probability");
        }
    }
}
