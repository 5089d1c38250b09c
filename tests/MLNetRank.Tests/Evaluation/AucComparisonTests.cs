using System;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    public class AucComparisonTests
    {
        [Fact]
        public void DeLongHandCase()
        {
            // Rows: positives first (2), negatives (2).
            // A: pos 0.9, 0.8; neg 0.7, 0.1 -> AUC 1, every placement 1, variance 0.
            // B: pos 0.6, 0.2; neg 0.5, 0.3 -> positive placements 1 (0.6 beats both) and 0 (0.2 beats none), AUC 1/2;
            //    negative placements: 0.5 and 0.3 are each beaten by 1 of 2 positives -> 1/2, 1/2.
            // Var(B) = s10/m + s01/n = var([1, 0])/2 + var([.5, .5])/2 = 0.5/2 + 0 = 0.25; Cov(A, B) = 0.
            // SE(diff) = sqrt(0 + 0.25) = 0.5, z = (1 - 0.5)/0.5 = 1, p = erfc(1/sqrt 2) = 0.31731050786291415 (Python math.erfc).
            var c = RankingMetrics.CompareAuc([0.9f, 0.8f, 0.7f, 0.1f], [0.6f, 0.2f, 0.5f, 0.3f], [true, true, false, false]);
            Assert.Equal(1.0, c.AucA, 12);
            Assert.Equal(0.5, c.AucB, 12);
            Assert.Equal(0.0, c.StandardErrorA, 12);
            Assert.Equal(0.5, c.StandardErrorB, 12);
            Assert.Equal(0.5, c.StandardError, 12);
            Assert.Equal(1.0, c.Z, 12);
            Assert.Equal(0.31731050786291415, c.PValue, 12);
            Assert.Equal(0.5 - 1.959963984540054 * 0.5, c.Lower95, 12);
        }

        [Fact]
        public void DeLongEqualsItsDefinitionOnRandomData()
        {
            var rng = new Random(9);
            int n = 300;
            bool[] l = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.35).ToArray();
            float[] a = l.Select(y => (float)Math.Round(rng.NextDouble() + (y ? 0.4 : 0), 1)).ToArray(); // ties
            float[] b = a.Select((s, i) => (float)Math.Round(0.5 * s + rng.NextDouble() * 0.8 + (l[i] ? 0.1 : 0), 2)).ToArray();
            int[] P = Enumerable.Range(0, n).Where(i => l[i]).ToArray(), N = Enumerable.Range(0, n).Where(i => !l[i]).ToArray();
            double Psi(float x, float y) => x > y ? 1 : x == y ? 0.5 : 0;
            double[] V10(float[] s) => P.Select(i => N.Average(j => Psi(s[i], s[j]))).ToArray();
            double[] V01(float[] s) => N.Select(j => P.Average(i => Psi(s[i], s[j]))).ToArray();
            double Cov(double[] x, double[] y) { double mx = x.Average(), my = y.Average(); return x.Zip(y, (u, v) => (u - mx) * (v - my)).Sum() / (x.Length - 1); }
            double[] a10 = V10(a), b10 = V10(b), a01 = V01(a), b01 = V01(b);
            double varA = Cov(a10, a10) / P.Length + Cov(a01, a01) / N.Length;
            double varB = Cov(b10, b10) / P.Length + Cov(b01, b01) / N.Length;
            double cov = Cov(a10, b10) / P.Length + Cov(a01, b01) / N.Length;
            double se = Math.Sqrt(varA + varB - 2 * cov);

            var c = RankingMetrics.CompareAuc(a, b, l);
            Assert.Equal(a10.Average(), c.AucA, 12);
            Assert.Equal(RankingMetrics.Auc(b, l), c.AucB, 12);
            Assert.Equal(Math.Sqrt(varA), c.StandardErrorA, 12);
            Assert.Equal(Math.Sqrt(varB), c.StandardErrorB, 12);
            Assert.Equal(se, c.StandardError, 12);
            Assert.Equal((c.AucA - c.AucB) / se, c.Z, 10);
            Assert.Equal(Math.Sqrt(varA), RankingMetrics.AucStandardError(a, l), 12);
        }

        [Fact]
        public void IdenticalScoresAndDegenerateLabels()
        {
            float[] s = [0.1f, 0.4f, 0.35f, 0.8f];
            var same = RankingMetrics.CompareAuc(s, s, [false, false, true, true]);
            Assert.Equal(0.0, same.Difference, 12);
            Assert.Equal(1.0, same.PValue, 12);
            Assert.True(double.IsNaN(same.Z));
            Assert.True(double.IsNaN(RankingMetrics.CompareAuc(s, s, [false, false, false, true]).PValue));
        }

        [Theory]
        // Expected values: Python's math.erfc (CPython 3.11).
        [InlineData(0.1, 0.8875370839817152)]
        [InlineData(1.0, 0.15729920705028513)]
        [InlineData(2.4, 0.0006885138966450789)]
        [InlineData(2.6, 0.00023603441652934908)]
        [InlineData(3.0, 2.2090496998585438e-05)]
        [InlineData(6.0, 2.1519736712498916e-17)]
        [InlineData(10.0, 2.088487583762545e-45)]
        public void ErfcIsAccurate(double x, double expected)
        {
            Assert.Equal(1.0, RankingMetrics.Erfc(x) / expected, tolerance: 1e-12);
            Assert.Equal(2.0 - expected, RankingMetrics.Erfc(-x), tolerance: 1e-14);
        }

        private sealed class TwoModels
        {
            public bool Label { get; set; }
            public float ScoreA { get; set; }
            public float ScoreB { get; set; }
        }

        [Fact]
        public void CatalogCompareAucReadsTheColumns()
        {
            var rows = new[]
            {
                new TwoModels { Label = true, ScoreA = 0.9f, ScoreB = 0.6f },
                new TwoModels { Label = true, ScoreA = 0.8f, ScoreB = 0.2f },
                new TwoModels { Label = false, ScoreA = 0.7f, ScoreB = 0.5f },
                new TwoModels { Label = false, ScoreA = 0.1f, ScoreB = 0.3f },
            };
            var ml = new MLContext(seed: 1);
            var c = ml.Ranker().CompareAuc(ml.Data.LoadFromEnumerable(rows), "Label", "ScoreA", "ScoreB");
            Assert.Equal(0.31731050786291415, c.PValue, 12); // the hand case above
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().CompareAuc(ml.Data.LoadFromEnumerable(rows), "Label", "ScoreA", "ScoreC"));
            var m = ml.Ranker().Evaluate(ml.Data.LoadFromEnumerable(rows), "Label", "ScoreB");
            Assert.Equal(0.5, m.AucStandardError, 12);
        }
    }
}
