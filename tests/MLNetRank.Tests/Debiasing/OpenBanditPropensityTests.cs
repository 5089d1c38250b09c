using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.Simulation.Datasets;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>The estimator on real randomized traffic: Open Bandit's uniformly random policy (positions 1-3).</summary>
    public class OpenBanditPropensityTests
    {
        [SharedDataFact]
        public void RandomPolicy_CtrRatios_WithBootstrapIntervals()
        {
            var path = TestData.RequireFolder(Path.Combine("open-bandit-small", "random", "men", "men.csv"));
            var ml = new MLContext(1);
            var data = OpenBanditDataset.Load(ml, path);
            var t = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                MaximumPosition = 2,
                BootstrapResamples = 300,
            }).Fit(data);

            // the same ratios by hand from the file's rows
            var pos = data.GetColumn<int>("Position").ToArray();
            var click = data.GetColumn<bool>("Click").ToArray();
            double Ctr(int p) => Enumerable.Range(0, pos.Length).Count(i => pos[i] == p && click[i]) / (double)pos.Count(v => v == p);
            Assert.Equal(pos.Length, t.RowsUsed);
            Assert.Equal(click.Count(c => c), t.Clicks.Sum());
            for (int p = 1; p <= 3; p++)
            {
                Assert.Equal(Ctr(p) / Ctr(1), t.Propensities[p - 1], 10);
                var ci = t.ConfidenceIntervals![p - 1];
                Assert.True(ci.Lower <= t.Propensities[p - 1] && t.Propensities[p - 1] <= ci.Upper);
            }
            // few clicks: the intervals of positions 2 and 3 are wide (reported, not hidden)
            Assert.True(t.ConfidenceIntervals![1].Width > 0.5 && t.ConfidenceIntervals[2].Width > 0.5,
                $"widths {t.ConfidenceIntervals[1].Width:F3}, {t.ConfidenceIntervals[2].Width:F3}");
        }
    }
}
