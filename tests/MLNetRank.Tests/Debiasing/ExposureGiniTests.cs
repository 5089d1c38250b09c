using System;
using System.Linq;
using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    public class ExposureGiniTests
    {
        [Fact]
        public void Gini_KnownValues()
        {
            Assert.Equal(0.0, RankingMetrics.Gini(new double[] { 2, 2, 2, 2 }), 12);
            Assert.Equal(0.75, RankingMetrics.Gini(new double[] { 0, 0, 0, 5 }), 12);
            // 1, 2, 3: sum |xi - xj| over ordered pairs = 8; 8 / (2 * 9 * 2) = 2/9
            Assert.Equal(2.0 / 9.0, RankingMetrics.Gini(new double[] { 3, 1, 2 }), 12);
            Assert.True(double.IsNaN(RankingMetrics.Gini(ReadOnlySpan<double>.Empty)));
            Assert.True(double.IsNaN(RankingMetrics.Gini(new double[] { 0, 0 })));
            var ex = Assert.Throws<ArgumentException>(() => RankingMetrics.Gini(new double[] { 1, -1 }));
            Assert.Contains("values[1]", ex.Message);
        }

        [Fact]
        public void ExposureGini_ByHand()
        {
            // two requests over items A, B, C; top-1 exposure with weight 1
            var scores = new float[] { 0.9f, 0.1f, 0.5f, 0.8f, 0.2f };
            var groups = new[] { 1, 1, 1, 2, 2 };
            var items = new[] { "A", "B", "C", "A", "C" };
            // request 1 -> A; request 2 -> A: exposure A=2, B=0, C=0 -> Gini 2/3
            Assert.Equal(2.0 / 3.0, RankingMetrics.ExposureGini(scores, groups, items, 1, new double[] { 1 }), 12);
            // top 2 with default discount 1, 1/log2(3): A = 2, C = 2/log2(3), B = 0
            double c = 2 / Math.Log2(3);
            double expected = RankingMetrics.Gini(new[] { 2, 0, c });
            Assert.Equal(expected, RankingMetrics.ExposureGini(scores, groups, items, 2), 12);
            // scoring C on top everywhere spreads nothing new: exposure moves, the Gini is symmetric
            Assert.Equal(2.0 / 3.0, RankingMetrics.ExposureGini(new float[] { 0, 0, 1, 0, 1 }, groups, items, 1, new double[] { 1 }), 12);
            Assert.Throws<ArgumentOutOfRangeException>(() => RankingMetrics.ExposureGini(scores, groups, items, 0));
            Assert.Throws<ArgumentException>(() => RankingMetrics.ExposureGini(scores, groups, items, 2, new double[] { 1 }));
        }

        [Fact]
        public void ExpectedAuc_MatchesThePairDefinition()
        {
            var rng = new Random(3);
            var s = new float[40];
            var p = new float[40];
            for (int i = 0; i < 40; i++)
            {
                s[i] = rng.Next(8); // ties
                p[i] = (float)rng.NextDouble();
            }
            double num = 0, den = 0;
            for (int i = 0; i < 40; i++)
                for (int j = 0; j < 40; j++)
                {
                    if (i == j) continue;
                    double w = p[i] * (1.0 - p[j]);
                    den += w;
                    num += w * (s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0);
                }
            Assert.Equal(num / den, RankingMetrics.ExpectedAuc(s, p), 10);
            // 0/1 probabilities give the ordinary AUC
            var y = p.Select(v => v > 0.5f).ToArray();
            Assert.Equal(RankingMetrics.Auc(s, y), RankingMetrics.ExpectedAuc(s, y.Select(b => b ? 1f : 0f).ToArray()), 10);
            Assert.Throws<ArgumentException>(() => RankingMetrics.ExpectedAuc(new float[] { 1 }, new float[] { 1.5f }));
        }
    }
}
