using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.Simulation.Datasets;
using MLNetRank.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>Regression EM on clicks simulated by the position-based model over a real learning-to-rank data set.</summary>
    public class LetorPropensityTests
    {
        private readonly ITestOutputHelper _out;

        public LetorPropensityTests(ITestOutputHelper output) => _out = output;

        private sealed class ClickRow
        {
            public int Position { get; set; }
            public bool Click { get; set; }
            public uint QueryDoc { get; set; }
        }

        [SharedDataFact]
        [Trait("Category", "Quality")]
        public void RegressionEm_RecoversThePbmCurve_OnLambdarankClicks_WhereTheNaiveRatioCannot()
        {
            var path = TestData.RequireFolder(Path.Combine("lightgbm-lambdarank", "rank.train"));
            var ml = new MLContext(1);
            var docs = LambdarankDataset.Load(ml, path);
            var grade = docs.GetColumn<float>("Label").ToArray();
            var query = docs.GetColumn<int>("QueryIndex").ToArray();

            // a logging policy that knows the grades (plus Gumbel noise): relevant documents sit on top, so the CTR by position
            // confounds relevance with examination; the noise moves every document across positions, which EM needs
            const double eta = 1.0;
            var rng = new Random(5);
            var rows = new List<ClickRow>();
            foreach (var g in Enumerable.Range(0, grade.Length).GroupBy(i => query[i]))
            {
                var list = g.ToArray();
                for (int s = 0; s < 20; s++)
                {
                    var order = list.OrderByDescending(i => grade[i] - Math.Log(-Math.Log(rng.NextDouble() * 0.999998 + 1e-6))).ToArray();
                    for (int r = 0; r < order.Length; r++)
                    {
                        int i = order[r];
                        double p = Math.Pow(1.0 / (r + 1), eta) * (0.1 + 0.9 * (Math.Pow(2, grade[i]) - 1) / 15);
                        rows.Add(new ClickRow { Position = r + 1, Click = rng.NextDouble() < p, QueryDoc = (uint)i });
                    }
                }
            }
            var data = ml.Data.LoadFromEnumerable(rows);
            const int k = 10;
            var em = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                Method = PropensityEstimationMethod.RegressionEm,
                RelevanceGroupColumnName = "QueryDoc",
                MaximumPosition = k, // positions 11+ pooled; compared on 1..10
                MaximumIterations = 200,
            }).Fit(data);
            var naive = ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: k).Fit(data);
            double Rmse(IReadOnlyList<double> c) => Math.Sqrt(Enumerable.Range(0, k).Average(p => Math.Pow(c[p] - Math.Pow(1.0 / (p + 1), eta), 2)));
            for (int p = 0; p < k; p++)
                _out.WriteLine($"position {p + 1}: true {Math.Pow(1.0 / (p + 1), eta):F4} EM {em.Propensities[p]:F4} naive {naive.Propensities[p]:F4}");
            double rEm = Rmse(em.Propensities), rNaive = Rmse(naive.Propensities);
            _out.WriteLine($"RMSE: EM {rEm:F4}, naive {rNaive:F4}");
            Assert.True(rNaive > 0.03, $"naive RMSE {rNaive:F4}: the policy should confound the CTR ratio");
            Assert.True(rEm < 0.03 && rEm < rNaive / 2, $"EM RMSE {rEm:F4} vs naive {rNaive:F4}");
        }
    }
}
