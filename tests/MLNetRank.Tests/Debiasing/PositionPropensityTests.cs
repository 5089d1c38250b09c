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
    public class PositionPropensityTests
    {
        internal sealed class Row
        {
            public int Position { get; set; }
            public bool Click { get; set; }
            public bool IsRandomized { get; set; }
            public uint ItemId { get; set; }
            [VectorType(3)] public float[] Features { get; set; } = new float[3];
        }

        private sealed class FloatRow
        {
            public float Position { get; set; }
            public float Click { get; set; }
        }

        /// <summary>Rows with exactly <paramref name="n"/> impressions and <paramref name="c"/> clicks at a position.</summary>
        private static IEnumerable<Row> Block(int position, int n, int c, bool randomized = true)
            => Enumerable.Range(0, n).Select(i => new Row { Position = position, Click = i < c, IsRandomized = randomized });

        [Fact]
        public void Randomization_IsTheCtrRatio_ByHand()
        {
            var ml = new MLContext(1);
            // CTR 8/20 = 0.4, 4/20 = 0.2, 2/20 = 0.1 -> curve 1, 0.5, 0.25
            var data = ml.Data.LoadFromEnumerable(Block(1, 20, 8).Concat(Block(2, 20, 4)).Concat(Block(3, 20, 2)));
            var t = ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 2).Fit(data);
            Assert.Equal(new[] { 1.0, 0.5, 0.25 }, t.Propensities.Select(v => Math.Round(v, 12)));
            Assert.Equal(new long[] { 20, 20, 20 }, t.Impressions);
            Assert.Equal(new long[] { 8, 4, 2 }, t.Clicks);
            Assert.Null(t.ConfidenceIntervals);
            Assert.Equal(0.25, t.GetPropensity(7), 12); // pooled
            var prop = t.Transform(data).GetColumn<float>("Propensity").ToArray();
            Assert.Equal(new[] { 1f, 0.5f, 0.25f }, new[] { prop[0], prop[20], prop[40] });
        }

        [Fact]
        public void Randomization_Smoothing_PoolingAndTheRandomizedFlag()
        {
            var ml = new MLContext(1);
            // positions 3 and 5 are pooled into bucket "3+": 2 + 1 clicks over 10 + 10 impressions
            var rows = Block(1, 10, 5).Concat(Block(2, 10, 4)).Concat(Block(3, 10, 2)).Concat(Block(5, 10, 1))
                .Concat(Block(1, 50, 0, randomized: false)).Concat(Block(4, 50, 50, randomized: false)); // ignored: not randomized
            var data = ml.Data.LoadFromEnumerable(rows);
            var t = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 2,
                RandomizedColumnName = "IsRandomized",
                Smoothing = 4,
            }).Fit(data);
            // overall CTR 12/40 = 0.3; CTR_k = (c_k + 4*0.3) / (n_k + 4)
            double ctr1 = (5 + 1.2) / 14, ctr2 = (4 + 1.2) / 14, ctr3 = (3 + 1.2) / 24;
            Assert.Equal(1.0, t.Propensities[0], 12);
            Assert.Equal(ctr2 / ctr1, t.Propensities[1], 12);
            Assert.Equal(ctr3 / ctr1, t.Propensities[2], 12);
            Assert.Equal(40, t.RowsUsed);
            Assert.Equal(new long[] { 10, 10, 20 }, t.Impressions);
        }

        [Fact]
        public void SingleTypedColumns_GiveTheSameCurve_AndInvalidServingPositionsGiveNaN()
        {
            var ml = new MLContext(1);
            var rows = Block(1, 20, 8).Concat(Block(2, 20, 4)).Select(r => new FloatRow { Position = r.Position, Click = r.Click ? 1 : 0 }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            var t = ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 1).Fit(data);
            Assert.Equal(0.5, t.Propensities[1], 12);
            var serving = ml.Data.LoadFromEnumerable(new[] { 1f, 2f, 9f, 0f, 1.5f, float.NaN }.Select(p => new FloatRow { Position = p }));
            var prop = t.Transform(serving).GetColumn<float>("Propensity").ToArray();
            Assert.Equal(1f, prop[0]);
            Assert.Equal(0.5f, prop[1]);
            Assert.Equal(0.5f, prop[2]);
            Assert.True(float.IsNaN(prop[3]) && float.IsNaN(prop[4]) && float.IsNaN(prop[5]));
        }

        [Theory]
        [InlineData(0f, "row 1", "1-based")]
        [InlineData(-2f, "row 1", "1-based")]
        [InlineData(2.5f, "row 1", "non-integer")]
        [InlineData(float.NaN, "row 1", "non-finite")]
        public void BadPositions_ThrowNamingColumnAndRow(float bad, string row, string what)
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(new[] { new FloatRow { Position = 1, Click = 1 }, new FloatRow { Position = bad, Click = 0 } });
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.EstimatePositionPropensity().Fit(data));
            Assert.Contains("'Position'", ex.Message);
            Assert.Contains(row, ex.Message);
            Assert.Contains(what, ex.Message);
        }

        [Fact]
        public void SchemaErrors_NameTheColumn_BeforeReadingRows()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(Block(1, 5, 1));
            var shape = Shapes.Of(data.Schema);
            var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(positionColumnName: "Rank").GetOutputSchema(shape));
            Assert.Contains("'Rank'", missing.Message);
            var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(labelColumnName: "ItemId").Fit(data));
            Assert.Contains("'ItemId'", wrongType.Message);
            Assert.Contains("UInt32", wrongType.Message);
            var flag = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(randomizedColumnName: "Position").GetOutputSchema(shape));
            Assert.Contains("Boolean", flag.Message);
            var emFeatures = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                Method = PropensityEstimationMethod.RegressionEm,
                FeatureColumnName = "ItemId",
            }).GetOutputSchema(shape));
            Assert.Contains("'ItemId'", emFeatures.Message);
            Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options { Method = PropensityEstimationMethod.RegressionEm }));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 0));

            var output = ml.Ranker().Transforms.EstimatePositionPropensity().GetOutputSchema(shape);
            Assert.Equal(NumberDataViewType.Single, output.Single(c => c.Name == "Propensity").ItemType);
        }

        [Fact]
        public void DataErrors_EmptyBucketNoClickAtTopNoRandomizedRows()
        {
            var ml = new MLContext(1);
            var gap = ml.Data.LoadFromEnumerable(Block(1, 5, 1).Concat(Block(3, 5, 1)));
            var e1 = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 2).Fit(gap));
            Assert.Contains("Position 2", e1.Message);
            var noTop = ml.Data.LoadFromEnumerable(Block(1, 5, 0).Concat(Block(2, 5, 1)));
            var e2 = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 1).Fit(noTop));
            Assert.Contains("Position 1 has no click", e2.Message);
            var notRandom = ml.Data.LoadFromEnumerable(Block(1, 5, 1, randomized: false).Concat(Block(2, 5, 1, randomized: false)));
            var e3 = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(randomizedColumnName: "IsRandomized", maximumPosition: 1).Fit(notRandom));
            Assert.Contains("IsRandomized", e3.Message);
        }

        /// <summary>Randomized lists: items drawn independently of the position, click = Bernoulli(θ_k · a).</summary>
        internal static List<Row> RandomizedLog(int n, double[] theta, int seed)
        {
            var rng = new Random(seed);
            var rows = new List<Row>(n);
            for (int i = 0; i < n; i++)
            {
                int k = rng.Next(theta.Length);
                double a = 0.1 + 0.6 * rng.NextDouble();
                rows.Add(new Row { Position = k + 1, Click = rng.NextDouble() < theta[k] * a, IsRandomized = true });
            }
            return rows;
        }

        [Fact]
        public void Bootstrap_IntervalsCoverTheTruth_NarrowWithData_AndAreDeterministic()
        {
            var theta = new[] { 1.0, 0.6, 0.4, 0.3 };
            var ml = new MLContext(1);
            var small = ml.Data.LoadFromEnumerable(RandomizedLog(8000, theta, seed: 5));
            var large = ml.Data.LoadFromEnumerable(RandomizedLog(32000, theta, seed: 6));
            PositionPropensityTransformer Fit(IDataView d, int seed) => new MLContext(seed).Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 3,
                BootstrapResamples = 200,
            }).Fit(d);
            var a = Fit(small, 3);
            var b = Fit(small, 3);
            var c = Fit(large, 3);
            Assert.NotNull(a.ConfidenceIntervals);
            Assert.Equal(a.ConfidenceIntervals!.Select(i => i.Lower), b.ConfidenceIntervals!.Select(i => i.Lower));
            // the resamples follow the seed: another seed, other intervals (the point estimates do not depend on it)
            var d = Fit(small, 4);
            Assert.NotEqual(a.ConfidenceIntervals!.Select(i => i.Lower), d.ConfidenceIntervals!.Select(i => i.Lower));
            Assert.Equal(a.Propensities, d.Propensities);
            Assert.Equal(200, a.BootstrapResamplesUsed);
            Assert.Equal(1.0, a.ConfidenceIntervals![0].Lower, 12);
            Assert.Equal(1.0, a.ConfidenceIntervals![0].Upper, 12);
            for (int k = 1; k < 4; k++)
            {
                var ci = a.ConfidenceIntervals![k];
                Assert.True(ci.Lower <= a.Propensities[k] && a.Propensities[k] <= ci.Upper, $"position {k + 1}: {a.Propensities[k]} outside {ci}");
                // the width scales as 1/sqrt(n)
                double ratio = c.ConfidenceIntervals![k].Width / ci.Width;
                Assert.InRange(ratio, 0.35, 0.7); // 1/sqrt(4) = 0.5
            }
            Assert.Contains("CI width", a.ToMarkdownTable());
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void Bootstrap_90PercentIntervals_CoverTheTruthAbout90PercentOfTheTime()
        {
            var theta = new[] { 1.0, 0.6, 0.4, 0.3 };
            int covered = 0, total = 0;
            for (int rep = 0; rep < 60; rep++)
            {
                var ml = new MLContext(rep);
                var data = ml.Data.LoadFromEnumerable(RandomizedLog(3000, theta, seed: 100 + rep));
                var t = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
                {
                    MaximumPosition = 3,
                    BootstrapResamples = 200,
                    ConfidenceLevel = 0.9,
                }).Fit(data);
                for (int k = 1; k < 4; k++)
                {
                    total++;
                    if (t.ConfidenceIntervals![k].Lower <= theta[k] && theta[k] <= t.ConfidenceIntervals[k].Upper)
                        covered++;
                }
            }
            double coverage = covered / (double)total;
            // 180 intervals at a nominal 90%: the binomial standard deviation is 2.2 points
            Assert.InRange(coverage, 0.82, 0.97);
        }

        [Fact]
        public void SavedModel_LoadsWithoutMLNetRank_AndGivesTheSameColumn()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(RandomizedLog(3000, new[] { 1.0, 0.5, 0.3 }, seed: 2).Concat(Block(7, 3, 1)));
            var t = ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 2).Fit(data);
            var path = Path.Combine(Path.GetTempPath(), $"propensity-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(t, data.Schema, path);
                var loaded = new MLContext(9).Model.Load(path, out _);
                Assert.IsNotType<PositionPropensityTransformer>(loaded);
                var expected = t.Transform(data).GetColumn<float>("Propensity").ToArray();
                var actual = loaded.Transform(data).GetColumn<float>("Propensity").ToArray();
                Assert.Equal(expected, actual);
                Assert.Equal((float)t.Propensities[2], actual[^1]); // position 7 pooled into "3+"
            }
            finally
            {
                File.Delete(path);
            }
        }

        /// <summary>
        /// A biased log: the policy puts more relevant items on top, so the naive CTR ratio confounds relevance and position.
        /// Each item is shown at several positions (noisy policy), which makes θ identifiable for EM.
        /// </summary>
        internal static List<Row> BiasedLog(int n, double[] theta, int items, int seed, out double[] relevance)
        {
            var rng = new Random(seed);
            var rel = new double[items];
            var feats = new float[items][];
            for (int d = 0; d < items; d++)
            {
                var x = new float[3];
                for (int j = 0; j < 3; j++)
                    x[j] = (float)(rng.NextDouble() * 2 - 1);
                feats[d] = x;
                rel[d] = 1 / (1 + Math.Exp(-(2.0 * x[0] - 1.0 * x[1] - 0.5)));
            }
            relevance = rel;
            int k = theta.Length;
            var rows = new List<Row>(n);
            while (rows.Count < n)
            {
                // a list of k distinct items ordered by relevance + noise
                var list = Enumerable.Range(0, k).Select(_ => rng.Next(items)).Distinct().ToList();
                if (list.Count < k)
                    continue;
                var ordered = list.OrderByDescending(d => rel[d] + 0.35 * (rng.NextDouble() * 2 - 1)).ToList();
                for (int p = 0; p < k; p++)
                {
                    int d = ordered[p];
                    rows.Add(new Row { Position = p + 1, Click = rng.NextDouble() < theta[p] * rel[d], ItemId = (uint)d, Features = feats[d] });
                }
            }
            return rows;
        }

        [Theory]
        [Trait("Category", "Quality")]
        [InlineData(true)]
        [InlineData(false)]
        public void RegressionEm_RecoversTheCurve_WhereTheNaiveRatioIsBiased(bool features)
        {
            var theta = new[] { 1.0, 0.7, 0.5, 0.35, 0.25 };
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(BiasedLog(40000, theta, items: 200, seed: 11, out _));
            var naive = ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 4).Fit(data);
            var em = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 4,
                Method = PropensityEstimationMethod.RegressionEm,
                FeatureColumnName = features ? "Features" : null,
                RelevanceGroupColumnName = features ? null : "ItemId",
            }).Fit(data);
            double Rmse(IReadOnlyList<double> c) => Math.Sqrt(Enumerable.Range(0, 5).Average(k => Math.Pow(c[k] - theta[k], 2)));
            double rNaive = Rmse(naive.Propensities), rEm = Rmse(em.Propensities);
            Assert.True(rNaive > 0.05, $"the naive ratio should be visibly biased here (RMSE {rNaive:F4})");
            Assert.True(rEm < 0.04 && rEm < rNaive / 2, $"EM RMSE {rEm:F4} vs naive {rNaive:F4}; EM {string.Join(", ", em.Propensities.Select(v => v.ToString("F3")))}");
            Assert.True(em.Iterations > 1);
            Assert.NotNull(em.AbsoluteExamination);
        }

        [Fact]
        public void Em_ReportsProgress_AndIsDeterministic()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(BiasedLog(3000, new[] { 1.0, 0.6, 0.4 }, items: 60, seed: 2, out _));
            var seen = new List<double>();
            PositionPropensityTransformer Fit(IProgress<RankerProgress>? p, int seed = 4) => new MLContext(seed).Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                Method = PropensityEstimationMethod.RegressionEm,
                RelevanceGroupColumnName = "ItemId",
                MaximumPosition = 2,
                BootstrapResamples = 3,
                Progress = p,
            }).Fit(data);
            var a = Fit(new SyncProgress(seen));
            var b = Fit(null);
            Assert.Equal(a.Propensities, b.Propensities);
            Assert.Equal(a.ConfidenceIntervals!.Select(i => i.Upper), b.ConfidenceIntervals!.Select(i => i.Upper));
            Assert.NotEqual(a.ConfidenceIntervals!.Select(i => i.Upper), Fit(null, 5).ConfidenceIntervals!.Select(i => i.Upper));
            Assert.Equal(4, seen.Count); // EM, then 3 resamples
            Assert.Equal(1.0, seen[^1], 12);
            Assert.True(seen.Zip(seen.Skip(1)).All(t => t.Second > t.First));
        }

        private sealed class SyncProgress : IProgress<RankerProgress>
        {
            private readonly List<double> _values;
            public SyncProgress(List<double> values) => _values = values;
            public void Report(RankerProgress value) => _values.Add(value.Fraction!.Value);
        }

        private sealed class WideRow
        {
            public long Position64 { get; set; }
            public double PositionDouble { get; set; }
            public bool Click { get; set; }
        }

        [Fact]
        public void Int64AndDoublePositions_GiveTheSameCurve_AndASingleColumn()
        {
            var ml = new MLContext(1);
            var rows = Block(1, 20, 8).Concat(Block(2, 20, 4)).Concat(Block(3, 20, 2))
                .Select(r => new WideRow { Position64 = r.Position, PositionDouble = r.Position, Click = r.Click }).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            foreach (var col in new[] { "Position64", "PositionDouble" })
            {
                var t = ml.Ranker().Transforms.EstimatePositionPropensity(positionColumnName: col, maximumPosition: 2).Fit(data);
                Assert.Equal(new[] { 1.0, 0.5, 0.25 }, t.Propensities.Select(v => Math.Round(v, 12)));
                var scored = t.Transform(data);
                Assert.Equal(NumberDataViewType.Single, scored.Schema["Propensity"].Type);
                var prop = scored.GetColumn<float>("Propensity").ToArray();
                Assert.Equal(new[] { 1f, 0.5f, 0.25f }, new[] { prop[0], prop[20], prop[40] });
            }
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void RegressionEm_GbdtRelevance_HandlesANonLinearRelevance_WhereLogisticIsMisspecified()
        {
            // relevance depends on sign(x0 * x1) (no linear logit can express it); the policy ranks by relevance + noise
            var theta = new[] { 1.0, 0.6, 0.4, 0.3 };
            var rng = new Random(21);
            var rows = new List<Row>();
            const int items = 300;
            var feats = new float[items][];
            var rel = new double[items];
            for (int d = 0; d < items; d++)
            {
                feats[d] = new[] { (float)(rng.NextDouble() * 2 - 1), (float)(rng.NextDouble() * 2 - 1), (float)(rng.NextDouble() * 2 - 1) };
                rel[d] = 1 / (1 + Math.Exp(-(2.5 * Math.Sign(feats[d][0] * feats[d][1]) - 0.5)));
            }
            while (rows.Count < 24000)
            {
                var list = Enumerable.Range(0, 4).Select(_ => rng.Next(items)).Distinct().ToList();
                if (list.Count < 4)
                    continue;
                var ordered = list.OrderByDescending(d => rel[d] + 0.3 * (rng.NextDouble() * 2 - 1)).ToList();
                for (int p = 0; p < 4; p++)
                    rows.Add(new Row { Position = p + 1, Click = rng.NextDouble() < theta[p] * rel[ordered[p]], Features = feats[ordered[p]] });
            }
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(rows);
            PositionPropensityTransformer Fit(EmRelevanceModel model) => ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 3,
                Method = PropensityEstimationMethod.RegressionEm,
                FeatureColumnName = "Features",
                RelevanceModel = model,
                MaximumIterations = 40,
                Tolerance = 1e-4,
            }).Fit(data);
            var logistic = Fit(EmRelevanceModel.Logistic);
            var gbdt = Fit(EmRelevanceModel.Gbdt);
            double Rmse(IReadOnlyList<double> c) => Math.Sqrt(Enumerable.Range(0, 4).Average(k => Math.Pow(c[k] - theta[k], 2)));
            double rL = Rmse(logistic.Propensities), rG = Rmse(gbdt.Propensities);
            Assert.True(rG < 0.04 && rG < rL / 2, $"GBDT EM RMSE {rG:F4} ({string.Join(", ", gbdt.Propensities.Select(v => v.ToString("F3")))}) vs logistic {rL:F4} ({string.Join(", ", logistic.Propensities.Select(v => v.ToString("F3")))})");
        }
    }
}
