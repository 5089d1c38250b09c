using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    /// <summary>
    /// The fast metrics against their definitions computed naively (all pairs for AUC, an explicit sort for nDCG/MRR,
    /// all permutations for the averaged tie rule) on random data with many ties, and invariance to the row order.
    /// </summary>
    public class BruteForceTests
    {
        private static (float[] Scores, bool[] Labels, float[] Weights, int[] Groups, float[] Relevance) RandomData(int seed, int n, int groups, int levels)
        {
            var rng = new Random(seed);
            var s = new float[n];
            var l = new bool[n];
            var w = new float[n];
            var g = new int[n];
            var r = new float[n];
            for (int i = 0; i < n; i++)
            {
                s[i] = rng.Next(levels) / (float)levels; // few distinct values: many ties
                l[i] = rng.NextDouble() < 0.3 + 0.4 * s[i];
                w[i] = (float)Math.Round(rng.NextDouble() * 2, 2);
                g[i] = rng.Next(groups);
                r[i] = rng.NextDouble() < 0.4 ? 0f : rng.Next(1, 4);
            }
            return (s, l, w, g, r);
        }

        private static double PairAuc(IList<float> s, IList<bool> l, IList<float> w)
        {
            double num = 0, den = 0;
            for (int i = 0; i < s.Count; i++)
                for (int j = 0; j < s.Count; j++)
                    if (l[i] && !l[j])
                    {
                        double pw = (double)w[i] * w[j];
                        den += pw;
                        num += s[i] > s[j] ? pw : s[i] == s[j] ? pw / 2 : 0;
                    }
            return den > 0 ? num / den : double.NaN;
        }

        [Theory]
        [InlineData(1, 300, 5)]
        [InlineData(2, 500, 50)]
        [InlineData(3, 200, 1000)]
        public void AucEqualsAllPairs(int seed, int n, int levels)
        {
            var (s, l, w, _, _) = RandomData(seed, n, 1, levels);
            var ones = Enumerable.Repeat(1f, n).ToArray();
            Assert.Equal(PairAuc(s, l, ones), RankingMetrics.Auc(s, l), 12);
            Assert.Equal(PairAuc(s, l, w), RankingMetrics.Auc(s, l, w), 12);
        }

        [Fact]
        public void GroupAucEqualsPerGroupPairs()
        {
            var (s, l, w, g, _) = RandomData(4, 600, 25, 6);
            double num = 0, den = 0;
            int skipped = 0;
            foreach (var grp in Enumerable.Range(0, 600).GroupBy(i => g[i]))
            {
                var idx = grp.ToArray();
                double auc = PairAuc(idx.Select(i => s[i]).ToList(), idx.Select(i => l[i]).ToList(), idx.Select(i => w[i]).ToList());
                if (double.IsNaN(auc)) { skipped++; continue; }
                double weight = idx.Sum(i => (double)w[i]);
                num += weight * auc;
                den += weight;
            }
            var d = RankingMetrics.GroupAucDetailed(s, l, g, w);
            Assert.Equal(num / den, d.Value, 12);
            Assert.Equal(skipped, d.GroupsSkipped);
        }

        private static double Dcg(IEnumerable<float> relevanceInRankOrder, int k)
            => relevanceInRankOrder.Take(k).Select((r, p) => (Math.Pow(2, r) - 1) / Math.Log2(p + 2)).Sum();

        private static IEnumerable<IEnumerable<T>> Permutations<T>(IReadOnlyList<T> items)
        {
            if (items.Count <= 1)
            {
                yield return items;
                yield break;
            }
            for (int i = 0; i < items.Count; i++)
            {
                var rest = items.Where((_, j) => j != i).ToList();
                foreach (var p in Permutations(rest))
                    yield return new[] { items[i] }.Concat(p);
            }
        }

        [Fact]
        public void NdcgAndMrrEqualExplicitSortsUnderEveryTieRule()
        {
            // Groups of up to 7 items with 3 score levels: tie blocks are small enough to enumerate their orders.
            var (s, _, _, g, r) = RandomData(5, 240, 60, 3);
            foreach (int k in new[] { 1, 2, 3, 5, 100 })
            {
                double pess = 0, opt = 0, avg = 0, mrrP = 0, mrrO = 0, mrrA = 0;
                int used = 0;
                foreach (var grp in Enumerable.Range(0, s.Length).GroupBy(i => g[i]))
                {
                    var idx = grp.ToArray();
                    double ideal = Dcg(idx.Select(i => r[i]).OrderByDescending(x => x), k);
                    if (ideal == 0) continue;
                    used++;
                    var pessOrder = idx.OrderByDescending(i => s[i]).ThenBy(i => r[i]).Select(i => r[i]).ToList();
                    var optOrder = idx.OrderByDescending(i => s[i]).ThenByDescending(i => r[i]).Select(i => r[i]).ToList();
                    pess += Dcg(pessOrder, k) / ideal;
                    opt += Dcg(optOrder, k) / ideal;
                    mrrP += 1.0 / (pessOrder.FindIndex(x => x > 0) + 1);
                    mrrO += 1.0 / (optOrder.FindIndex(x => x > 0) + 1);
                    // Average: every order of each tied block, all combinations, equally likely.
                    var blocks = idx.GroupBy(i => s[i]).OrderByDescending(b => b.Key).Select(b => Permutations(b.Select(i => r[i]).ToList()).Select(p => p.ToList()).ToList()).ToList();
                    IEnumerable<List<float>> orders = [[]];
                    foreach (var b in blocks)
                        orders = orders.SelectMany(o => b.Select(p => o.Concat(p).ToList())).ToList();
                    var all = orders.ToList();
                    avg += all.Average(o => Dcg(o, k)) / ideal;
                    mrrA += all.Average(o => 1.0 / (o.FindIndex(x => x > 0) + 1));
                }
                Assert.Equal(pess / used, RankingMetrics.NdcgDetailed(s, r, g, k, TieBreaking.Pessimistic).Value, 12);
                Assert.Equal(opt / used, RankingMetrics.NdcgDetailed(s, r, g, k, TieBreaking.Optimistic).Value, 12);
                Assert.Equal(avg / used, RankingMetrics.NdcgDetailed(s, r, g, k, TieBreaking.Average).Value, 12);
                Assert.Equal(mrrP / used, RankingMetrics.MrrDetailed(s, r, g, TieBreaking.Pessimistic).Value, 12);
                Assert.Equal(mrrO / used, RankingMetrics.MrrDetailed(s, r, g, TieBreaking.Optimistic).Value, 12);
                Assert.Equal(mrrA / used, RankingMetrics.MrrDetailed(s, r, g, TieBreaking.Average).Value, 12);
            }
        }

        [Fact]
        public void LargeTieBlocksMatchTheExplicitSort()
        {
            // One request of 300 items with only 2 score levels: tie blocks larger than the stack buffer.
            var (s, _, _, _, r) = RandomData(6, 300, 1, 2);
            var g = new int[300];
            double ideal = Dcg(r.OrderByDescending(x => x), 50);
            var pessOrder = Enumerable.Range(0, 300).OrderByDescending(i => s[i]).ThenBy(i => r[i]).Select(i => r[i]).ToList();
            Assert.Equal(Dcg(pessOrder, 50) / ideal, RankingMetrics.Ndcg(s, r, g, 50), 12);
        }

        [Fact]
        public void RowOrderDoesNotMatter()
        {
            var (s, l, w, g, r) = RandomData(7, 400, 30, 8);
            var shuffle = new Random(8);
            var perm = Enumerable.Range(0, 400).OrderBy(_ => shuffle.Next()).ToArray();
            float[] ps = perm.Select(i => s[i]).ToArray(), pw = perm.Select(i => w[i]).ToArray(), pr = perm.Select(i => r[i]).ToArray();
            bool[] pl = perm.Select(i => l[i]).ToArray();
            int[] pg = perm.Select(i => g[i]).ToArray();
            Assert.Equal(RankingMetrics.Auc(s, l, w), RankingMetrics.Auc(ps, pl, pw), 12);
            Assert.Equal(RankingMetrics.GroupAuc(s, l, g), RankingMetrics.GroupAuc(ps, pl, pg), 12);
            foreach (var ties in new[] { TieBreaking.Pessimistic, TieBreaking.Average, TieBreaking.Optimistic })
            {
                Assert.Equal(RankingMetrics.NdcgDetailed(s, r, g, 5, ties).Value, RankingMetrics.NdcgDetailed(ps, pr, pg, 5, ties).Value, 12);
                Assert.Equal(RankingMetrics.MrrDetailed(s, r, g, ties).Value, RankingMetrics.MrrDetailed(ps, pr, pg, ties).Value, 12);
            }
            Assert.Equal(RankingMetrics.ExpectedCalibrationError(s, l, 7, CalibrationBinning.EqualMass, w),
                RankingMetrics.ExpectedCalibrationError(ps, pl, 7, CalibrationBinning.EqualMass, pw), 12);
        }
    }
}
