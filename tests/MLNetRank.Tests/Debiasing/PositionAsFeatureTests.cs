using MLNetRank.Evaluation;
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    public class PositionAsFeatureTests
    {
        private sealed class Row
        {
            [VectorType(3)] public float[] Features { get; set; } = new float[3];
            public int Position { get; set; }
            public bool Click { get; set; }
            public float Attraction { get; set; }
        }

        private sealed class ServingRow
        {
            [VectorType(3)] public float[] Features { get; set; } = new float[3];
        }

        private sealed class AugmentedRow
        {
            [VectorType(4)] public float[] FeaturesWithPosition { get; set; } = new float[4];
        }

        /// <summary>
        /// Attraction depends on x0; x1 is a popularity the logging policy also uses to put items on top (but which does not
        /// drive attraction): a click model on raw clicks learns x1 through the position, the position-aware one should not.
        /// </summary>
        private static List<Row> Log(int lists, int seed)
        {
            var rng = new Random(seed);
            var rows = new List<Row>();
            for (int l = 0; l < lists; l++)
            {
                var items = Enumerable.Range(0, 8).Select(_ => new[] { (float)(rng.NextDouble() * 2 - 1), (float)(rng.NextDouble() * 2 - 1), (float)(rng.NextDouble() * 2 - 1) }).ToList();
                var ordered = items.OrderByDescending(x => 0.3 * x[0] + 1.5 * x[1] + 0.3 * rng.NextDouble()).ToList();
                for (int p = 0; p < ordered.Count; p++)
                {
                    var x = ordered[p];
                    double a = 1 / (1 + Math.Exp(-(2 * x[0] - 0.5)));
                    double exam = Math.Pow(1.0 / (p + 1), 1.5);
                    rows.Add(new Row { Features = x, Position = p + 1, Click = rng.NextDouble() < exam * a, Attraction = (float)a });
                }
            }
            return rows;
        }

        private static double ExpectedAuc(float[] scores, IReadOnlyList<Row> rows)
            => RankerMetrics.ExpectedAuc(scores, rows.Select(r => r.Attraction).ToArray());

        [Fact]
        [Trait("Category", "Quality")]
        public void PositionAsFeature_BeatsNaive_OnTrueAttraction()
        {
            var ml = new MLContext(7);
            var train = ml.Data.LoadFromEnumerable(Log(1500, seed: 1));
            var testRows = Log(500, seed: 2);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var naive = ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Click", featureColumnName: "Features", numberOfTrees: 50, numberOfLeaves: 8).Fit(train);
            var aware = ml.Ranker().Trainers.PositionAsFeature(
                ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Click", featureColumnName: "FeaturesWithPosition", numberOfTrees: 50, numberOfLeaves: 8),
                featureColumnName: "Features").Fit(train);
            double aucNaive = ExpectedAuc(naive.Transform(test).GetColumn<float>("Score").ToArray(), testRows);
            double aucAware = ExpectedAuc(aware.Transform(test).GetColumn<float>("Score").ToArray(), testRows);
            Assert.True(aucAware > aucNaive + 0.02, $"position-aware {aucAware:F4} vs naive {aucNaive:F4}");
        }

        [Fact]
        public void Serving_UsesTheNeutralPosition_NeedsNoPositionColumn_AndRoundTrips()
        {
            var ml = new MLContext(3);
            var rows = Log(300, seed: 3);
            var train = ml.Data.LoadFromEnumerable(rows);
            var t = ml.Ranker().Trainers.PositionAsFeature(new PositionAsFeatureEstimator.Options
            {
                Trainer = ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Click", featureColumnName: "FeaturesWithPosition", numberOfTrees: 10, numberOfLeaves: 4),
                NeutralPosition = 2,
            }).Fit(train);
            Assert.Equal(2f, t.NeutralPosition);
            var serving = ml.Data.LoadFromEnumerable(rows.Take(50).Select(r => new ServingRow { Features = r.Features }));
            var scored = t.Transform(serving);
            var score = scored.GetColumn<float>("Score").ToArray();
            var aug = scored.GetColumn<float[]>("FeaturesWithPosition").ToArray();
            Assert.All(aug, a => Assert.Equal(2f, a[3]));

            // the inner model on hand-built features + neutral slot gives the same scores
            var manual = ml.Data.LoadFromEnumerable(rows.Take(50).Select(r => new AugmentedRow { FeaturesWithPosition = r.Features.Append(2f).ToArray() }));
            Assert.Equal(score, t.Model.Transform(manual).GetColumn<float>("Score").ToArray());
            // and the neutral position matters: position 8 gives other scores
            var far = ml.Data.LoadFromEnumerable(rows.Take(50).Select(r => new AugmentedRow { FeaturesWithPosition = r.Features.Append(8f).ToArray() }));
            Assert.NotEqual(score, t.Model.Transform(far).GetColumn<float>("Score").ToArray());

            var path = Path.Combine(Path.GetTempPath(), $"paf-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(t, serving.Schema, path);
                var loaded = new MLContext(5).Model.Load(path, out _);
                var again = loaded.Transform(serving);
                Assert.Equal(score, again.GetColumn<float>("Score").ToArray());
                Assert.Equal(scored.GetColumn<float>("Probability").ToArray(), again.GetColumn<float>("Probability").ToArray());
                Assert.Equal(scored.GetColumn<bool>("PredictedLabel").ToArray(), again.GetColumn<bool>("PredictedLabel").ToArray());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void Errors_NameTheColumn()
        {
            var ml = new MLContext(3);
            var train = ml.Data.LoadFromEnumerable(Log(20, seed: 3));
            var trainer = ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Click", featureColumnName: "FeaturesWithPosition", numberOfTrees: 2, numberOfLeaves: 2);
            var shape = Shapes.Of(train.Schema);
            var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.PositionAsFeature(trainer, positionColumnName: "Rank").GetOutputSchema(shape));
            Assert.Contains("'Rank'", e1.Message);
            var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.PositionAsFeature(trainer, featureColumnName: "Position").Fit(train));
            Assert.Contains("'Position'", e2.Message);
            var bad = ml.Data.LoadFromEnumerable(Log(20, seed: 3).Select((r, i) => { if (i == 5) r.Position = 0; return r; }));
            var e3 = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.PositionAsFeature(trainer).Fit(bad));
            Assert.Contains("row 5", e3.Message);
            Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.PositionAsFeature(new PositionAsFeatureEstimator.Options()));
            var output = ml.Ranker().Trainers.PositionAsFeature(trainer).GetOutputSchema(shape);
            Assert.Contains(output, c => c.Name == "Score");
        }
    }
}
