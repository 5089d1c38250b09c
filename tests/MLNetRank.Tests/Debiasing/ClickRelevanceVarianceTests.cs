using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>
    /// The variance-controlled click relevance estimators (self-normalised IPS, doubly robust, clip or shrinkage chosen on
    /// held-out clicks) and the smoothed randomization propensities, on hand-computed logs and on simulated position-based
    /// clicks with known propensities and relevances.
    /// </summary>
    public class ClickRelevanceVarianceTests
    {
        private readonly Xunit.Abstractions.ITestOutputHelper _out;

        public ClickRelevanceVarianceTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

        private sealed class Impression
        {
            public uint Item { get; set; }
            public float Propensity { get; set; }
            public bool Click { get; set; }
            public float Prior { get; set; }
            public uint Session { get; set; }
        }

        private sealed class ItemRow
        {
            public uint Item { get; set; }
        }

        private static Impression I(uint item, float p, bool c) => new() { Item = item, Propensity = p, Click = c };

        // item 1: clicks at θ 1 and 0.5, a miss at 0.5; item 2: a click at 0.25... (the same log as ClickRelevanceTests, θ of
        // item 2's impressions 0.5 here); item 3: one miss at 0.5; item 4: never shown
        private static IDataView Log(MLContext ml) => ml.Data.LoadFromEnumerable(new[]
        {
            I(1, 1f, true), I(2, 0.5f, true), I(1, 0.5f, true), I(3, 0.5f, false), I(1, 0.5f, false),
        });

        private static IDataView Items(MLContext ml, int count = 4) => ml.Data.LoadFromEnumerable(Enumerable.Range(1, count).Select(i => new ItemRow { Item = (uint)i }));

        [Fact]
        public void SelfNormalizedAndDoublyRobust_MatchTheHandComputedValues_AndExposureIsTheSumOfPropensities()
        {
            var ml = new MLContext(1);
            // M = 1: weights 1, SNIPS = Σ click / Σ θ: item 1 2 / 2 = 1, item 2 1 / 0.5 = 2, item 3 0
            var sn = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.SelfNormalized, MaximumWeight = 1, ExposureColumnName = "Exposure",
            }).Fit(Log(ml));
            var scored = sn.Transform(Items(ml));
            var rel = scored.GetColumn<float>("Relevance").ToArray();
            Assert.Equal(new[] { 1f, 2f, 0f }, rel.Take(3).ToArray());
            Assert.True(float.IsNaN(rel[3]));
            Assert.Equal(new[] { 2f, 0.5f, 0.5f, 0f }, scored.GetColumn<float>("Exposure").ToArray());
            Assert.Equal(ClickRelevanceMethod.SelfNormalized, sn.Method);
            // plain IPS with the same clip is biased down: item 2 (1 · 1) / 1 = 1, item 1 (1 + 1 + 0) / 3
            var ips = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", MaximumWeight = 1 }).Fit(Log(ml));
            var ipsRel = ips.Transform(Items(ml)).GetColumn<float>("Relevance").ToArray();
            Assert.Equal(2f / 3f, ipsRel[0], 6);
            Assert.Equal(1f, ipsRel[1]);

            // DR, λ = 1, pooled prior Σ click / Σ θ = 3 / 3 = 1: item 1 (2 + 1) / (2 + 1) = 1, item 2 (1 + 1) / 1.5, item 3 1 / 1.5
            var dr = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, MaximumWeight = 1, Shrinkage = 1,
            }).Fit(Log(ml));
            var drRel = dr.Transform(Items(ml)).GetColumn<float>("Relevance").ToArray();
            Assert.Equal(1f, drRel[0], 6);
            Assert.Equal(4f / 3f, drRel[1], 6);
            Assert.Equal(2f / 3f, drRel[2], 6);
            Assert.Equal(1, dr.Shrinkage);
            Assert.True(double.IsNaN(dr.ValidationLoss));
            Assert.Empty(dr.Candidates);
        }

        /// <summary>Position-based clicks on items shown at random positions 1..10, θ = k^-η, known relevance per item.</summary>
        private static (List<Impression> Log, double[] Truth) Simulate(int seed, int items, int impressionsPerItem, double eta)
        {
            var rng = new Random(seed);
            var truth = Enumerable.Range(0, items).Select(_ => 0.05 + 0.9 * rng.NextDouble()).ToArray();
            var log = new List<Impression>();
            uint session = 0;
            for (int r = 0; r < impressionsPerItem; r++)
                for (int i = 0; i < items; i++)
                {
                    int k = 1 + rng.Next(10);
                    double th = Math.Pow(k, -eta);
                    log.Add(new Impression { Item = (uint)i + 1, Propensity = (float)th, Click = rng.NextDouble() < th * truth[i], Prior = (float)truth[i], Session = ++session / 5 });
                }
            return (log, truth);
        }

        private static double Mse(MLContext ml, IDataView log, ClickRelevanceEstimator.Options o, double[] truth, out ClickRelevanceTransformer t)
        {
            o.ItemColumnName = "Item";
            t = ml.Ranker().Transforms.EstimateClickRelevance(o).Fit(log);
            var est = t.Transform(Items(ml, truth.Length)).GetColumn<float>("Relevance").ToArray();
            return est.Select((v, i) => (v - truth[i]) * (v - truth[i])).Average();
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void OnSimulatedClicks_SnipsAndTunedDr_AreCloserToTheTruthThanIpsAndNaive_ForEverySeed()
        {
            foreach (int seed in new[] { 1, 2, 3 })
            {
                var ml = new MLContext(seed);
                var (rows, truth) = Simulate(seed, items: 1500, impressionsPerItem: 12, eta: 1.5);
                var log = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
                double naive = Mse(ml, log, new ClickRelevanceEstimator.Options { PropensityColumnName = null }, truth, out _);
                double ips = Mse(ml, log, new ClickRelevanceEstimator.Options { MaximumWeight = 100 }, truth, out _);
                double snips = Mse(ml, log, new ClickRelevanceEstimator.Options { Method = ClickRelevanceMethod.SelfNormalized, MaximumWeight = 1 }, truth, out _);
                double dr = Mse(ml, log, new ClickRelevanceEstimator.Options
                {
                    Method = ClickRelevanceMethod.DoublyRobust, MaximumWeight = 1, ShrinkageCandidates = new[] { 0.0, 0.5, 1, 2, 4, 8 }, SessionColumnName = "Session",
                }, truth, out var drT);
                double clipTuned = Mse(ml, log, new ClickRelevanceEstimator.Options { MaximumWeightCandidates = new[] { 1.0, 3, 10, 100 } }, truth, out var clipT);
                // with ~4 expected examinations per item plain IPS is noisier than the biased naive CTR (the failure seen on
                // LETOR data at modest click volumes); SNIPS (the ratio Σ click / Σ θ) has less variance than IPS, and the
                // doubly robust estimate with its shrinkage chosen on held-out clicks beats the naive CTR
                _out.WriteLine($"seed {seed}: MSE naive {naive:F4}, IPS {ips:F4}, IPS tuned clip {clipTuned:F4} (M = {clipT.MaximumWeight}), SNIPS {snips:F4}, DR {dr:F4} (λ = {drT.Shrinkage})");
                Assert.True(snips < ips, $"seed {seed}: SNIPS MSE {snips:F4} vs IPS {ips:F4}");
                Assert.True(dr < naive, $"seed {seed}: DR MSE {dr:F4} vs naive {naive:F4}");
                // the shrinkage chosen on held-out clicks is not 0 (few examinations per item) and improves on SNIPS
                Assert.True(drT.Shrinkage > 0, $"seed {seed}: chosen λ {drT.Shrinkage}");
                Assert.True(dr < snips, $"seed {seed}: DR MSE {dr:F4} vs SNIPS {snips:F4}");
                Assert.Equal(6, drT.Candidates.Count);
                Assert.Equal(drT.Candidates.Min(c => c.ValidationLoss), drT.ValidationLoss);
                // the clip chosen on held-out clicks does better than no clipping
                Assert.True(clipTuned < ips, $"seed {seed}: tuned-clip IPS MSE {clipTuned:F4} vs IPS {ips:F4}");
            }
        }

        [Fact]
        public void DoublyRobust_TrustsAGoodPriorMoreThanABadOne_OnHeldOutClicks()
        {
            var ml = new MLContext(5);
            var (rows, truth) = Simulate(5, items: 800, impressionsPerItem: 10, eta: 1.5);
            double[] candidates = { 0.0, 1, 4, 16, 64 };
            var good = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, PriorColumnName = "Prior", MaximumWeight = 1, ShrinkageCandidates = candidates,
            }).Fit(ml.Data.LoadFromEnumerable(rows));
            Assert.Equal(64, good.Shrinkage);
            var reversed = rows.Select(r => new Impression { Item = r.Item, Propensity = r.Propensity, Click = r.Click, Prior = 1 - r.Prior, Session = r.Session }).ToList();
            var bad = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, PriorColumnName = "Prior", MaximumWeight = 1, ShrinkageCandidates = candidates,
            }).Fit(ml.Data.LoadFromEnumerable(reversed));
            // shrinking even to a reversed prior can lower the error of items with ~4 examinations, but less far
            Assert.True(bad.Shrinkage < good.Shrinkage, $"chosen λ {bad.Shrinkage} with a prior that reverses the truth vs {good.Shrinkage} with the true one");
            Assert.True(bad.ValidationLoss > good.ValidationLoss);
        }

        [Fact]
        public void HeldOutSplit_DependsOnTheSeed_AndIsReproducible()
        {
            var (rows, _) = Simulate(7, items: 300, impressionsPerItem: 6, eta: 1);
            ClickRelevanceTransformer Fit(int seed) => new MLContext(1).Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, ShrinkageCandidates = new[] { 0.0, 2 }, Seed = seed,
            }).Fit(new MLContext(1).Data.LoadFromEnumerable(rows));
            Assert.Equal(Fit(1).Candidates.Select(c => c.ValidationLoss), Fit(1).Candidates.Select(c => c.ValidationLoss));
            Assert.NotEqual(Fit(1).Candidates.Select(c => c.ValidationLoss), Fit(2).Candidates.Select(c => c.ValidationLoss));
        }

        [Fact]
        public void SavedAndLoaded_TheExposureColumnScoresIdentically()
        {
            var ml = new MLContext(1);
            var t = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, Shrinkage = 2, ExposureColumnName = "Exposure",
            }).Fit(Log(ml));
            var path = Path.Combine(Path.GetTempPath(), $"clickrel-dr-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(t, Log(ml).Schema, path);
                var ml2 = new MLContext(2);
                var loaded = ml2.Model.Load(path, out _);
                var a = t.Transform(Items(ml));
                var b = loaded.Transform(Items(ml2));
                Assert.Equal(a.GetColumn<float>("Relevance").ToArray(), b.GetColumn<float>("Relevance").ToArray());
                Assert.Equal(a.GetColumn<float>("Exposure").ToArray(), b.GetColumn<float>("Exposure").ToArray());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void BadOptionsAndInput_AreRejectedWithTheirNames()
        {
            var ml = new MLContext(1);
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", ShrinkageCandidates = new[] { 1.0 } }));
            Assert.Contains("DoublyRobust", ex.Message);
            Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", PriorColumnName = "Prior" }));
            var range = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", MaximumWeightCandidates = new[] { 0.5 } }));
            Assert.Contains("MaximumWeightCandidates", range.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, Shrinkage = -1 }));
            Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", ExposureColumnName = "Relevance" }));
            var nanPrior = ml.Data.LoadFromEnumerable(new[] { new Impression { Item = 1, Propensity = 1, Click = true, Prior = float.NaN } });
            var bad = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, PriorColumnName = "Prior",
            }).Fit(nanPrior));
            Assert.Contains("'Prior'", bad.Message);
            var noSession = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options
            {
                ItemColumnName = "Item", Method = ClickRelevanceMethod.DoublyRobust, ShrinkageCandidates = new[] { 1.0 }, SessionColumnName = "Visit",
            }).Fit(Log(ml)));
            Assert.Contains("Visit", noSession.Message);
        }

        private sealed class Randomized
        {
            public int Position { get; set; }
            public bool Click { get; set; }
        }

        /// <summary>~1k randomized sessions of 10 positions, θ = k^-2, attraction 0.1–0.4: a few clicks at the low positions.</summary>
        private static List<Randomized> RandomizedSessions(int seed, int sessions)
        {
            var rng = new Random(seed);
            var rows = new List<Randomized>();
            for (int s = 0; s < sessions; s++)
                for (int k = 1; k <= 10; k++)
                    rows.Add(new Randomized { Position = k, Click = rng.NextDouble() < Math.Pow(k, -2) * (0.1 + 0.3 * rng.NextDouble()) });
            return rows;
        }

        [Fact]
        public void SmoothedRandomizationPropensities_DoNotCollapseToZero_AndTrackTheTruth_WithAThousandSessions()
        {
            int collapsed = 0;
            double rmseRaw = 0, rmsePower = 0, rmseFlat = 0;
            int seeds = 6;
            for (int seed = 1; seed <= seeds; seed++)
            {
                var ml = new MLContext(seed);
                var data = ml.Data.LoadFromEnumerable(RandomizedSessions(seed, 1000));
                double[] Curve(double smoothing, PropensitySmoothingPrior prior) => ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
                {
                    MaximumPosition = 9, Smoothing = smoothing, SmoothingPrior = prior,
                }).Fit(data).Propensities.ToArray();
                var raw = Curve(0, PropensitySmoothingPrior.OverallClickRate);
                var power = Curve(1000, PropensitySmoothingPrior.PowerLaw);
                var flat = Curve(1000, PropensitySmoothingPrior.OverallClickRate);
                if (raw.Any(v => v == 0))
                    collapsed++;
                Assert.All(power, v => Assert.True(v > 0));
                double Rmse(double[] c) => Math.Sqrt(c.Select((v, b) => Math.Pow(v - Math.Pow(b + 1, -2), 2)).Average());
                rmseRaw += Rmse(raw) / seeds;
                rmsePower += Rmse(power) / seeds;
                rmseFlat += Rmse(flat) / seeds;
                // the low positions keep the right order of magnitude (true θ_10 = 0.01)
                Assert.InRange(power[9], 0.003, 0.03);
            }
            Assert.True(collapsed > 0, "the unsmoothed estimate never collapsed: the test no longer exercises the problem");
            Assert.True(rmsePower < rmseRaw, $"power-law prior RMSE {rmsePower:F4} vs unsmoothed {rmseRaw:F4}");
            Assert.True(rmsePower < rmseFlat, $"power-law prior RMSE {rmsePower:F4} vs flat prior {rmseFlat:F4}");
        }

        [Fact]
        public void CurvePrior_PullsSparsePositionsTowardsTheGivenCurve_AndIsValidated()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(RandomizedSessions(3, 1000));
            var truth = Enumerable.Range(1, 10).Select(k => Math.Pow(k, -2)).ToArray();
            var curve = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 9, Smoothing = 1e7, SmoothingPrior = PropensitySmoothingPrior.Curve, PriorCurve = truth,
            }).Fit(data).Propensities;
            for (int b = 0; b < 10; b++)
                Assert.Equal(truth[b], curve[b], 3);
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 9, Smoothing = 10, SmoothingPrior = PropensitySmoothingPrior.Curve, PriorCurve = new[] { 1.0, 0.5 },
            }));
            Assert.Contains("PriorCurve", ex.Message);
        }
    }
}
