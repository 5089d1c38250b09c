using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    /// <summary>The five-objective ground truth (<c>TrueObjectives</c>) and the buy → comment dependence.</summary>
    public sealed class ObjectiveTruthTests
    {
        private readonly ITestOutputHelper _out;

        public ObjectiveTruthTests(ITestOutputHelper output) => _out = output;

        private static (float[][] truth, bool[][] labels) Read(LiveStreamSimulatorOptions o)
        {
            var view = new LiveStreamSimulator(o).GetImpressions(new MLContext(1));
            var s = view.Schema;
            var truth = new List<float[]>();
            var labels = new List<bool[]>();
            using var c = view.GetRowCursor(s);
            var gt = c.GetGetter<VBuffer<float>>(s[ImpressionColumns.TrueObjectives]);
            var g = new[] { "Click", "Buy", "Follow", "Comment" }.Select(n => c.GetGetter<bool>(s[n])).ToArray();
            var stay = c.GetGetter<float>(s["StayTime"]);
            VBuffer<float> v = default;
            bool b = false;
            float st = 0;
            while (c.MoveNext())
            {
                gt(ref v);
                truth.Add(v.DenseValues().ToArray());
                var l = new bool[5];
                g[0](ref b); l[0] = b;
                g[1](ref b); l[1] = b;
                stay(ref st); l[2] = st >= o.LongStaySeconds;
                g[2](ref b); l[3] = b;
                g[3](ref b); l[4] = b;
                labels.Add(l);
            }
            return (truth.ToArray(), labels.ToArray());
        }

        [Fact]
        public void TrueObjectives_MatchTheLabelRates()
        {
            var o = SimHelpers.Small(requests: 6000);
            o.CommentBuyDependence = 0.5;
            var (truth, labels) = Read(o);
            Assert.Equal(ImpressionColumns.ObjectiveNames.Count, truth[0].Length);
            int n = truth.Length;
            for (int k = 0; k < 5; k++)
            {
                double expected = truth.Sum(t => (double)t[k]), observed = labels.Count(l => l[k]);
                double sd = Math.Sqrt(truth.Sum(t => t[k] * (1.0 - t[k])));
                _out.WriteLine($"{ImpressionColumns.ObjectiveNames[k]}: expected {expected:0.0}, observed {observed} (sd {sd:0.0})");
                Assert.True(expected > 20, $"{ImpressionColumns.ObjectiveNames[k]}: too few expected positives ({expected:0.0}).");
                Assert.InRange(observed, expected - 4 * sd, expected + 4 * sd);
            }
            Assert.All(truth, t => Assert.True(t[1] <= t[0] && t[3] <= t[0] && t[4] <= t[0], "an objective after click exceeds P(click)"));
        }

        [Fact]
        public void CommentBuyDependence_RaisesCommentsAfterPurchases_AndZeroKeepsTheOldRows()
        {
            var o = SimHelpers.Small(requests: 6000);
            var (_, independent) = Read(o);
            o.CommentBuyDependence = 0.6;
            var (_, dependent) = Read(o);
            static double CommentGivenBuy(bool[][] l) => l.Count(x => x[1] && x[4]) / (double)Math.Max(1, l.Count(x => x[1]));
            static double CommentGivenClickNoBuy(bool[][] l) => l.Count(x => x[0] && !x[1] && x[4]) / (double)Math.Max(1, l.Count(x => x[0] && !x[1]));
            _out.WriteLine($"P(comment | buy): {CommentGivenBuy(independent):0.000} -> {CommentGivenBuy(dependent):0.000}; P(comment | click, no buy): {CommentGivenClickNoBuy(independent):0.000} -> {CommentGivenClickNoBuy(dependent):0.000}");
            Assert.True(CommentGivenBuy(dependent) > CommentGivenBuy(independent) + 0.3);
            // the draw of every other label is unchanged, and comments without a purchase are the same rows
            for (int i = 0; i < independent.Length; i++)
            {
                for (int k = 0; k < 4; k++)
                    Assert.Equal(independent[i][k], dependent[i][k]);
                if (!independent[i][1])
                    Assert.Equal(independent[i][4], dependent[i][4]);
            }
        }
    }
}
