using System;
using System.Linq;
using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    /// <summary>Static metrics against cases computed by hand (the arithmetic is written out in each test).</summary>
    public class RankerMetricsTests
    {
        private static readonly double Log2Of3 = Math.Log2(3);

        // ---------------------------------------------------------------- AUC

        [Fact]
        public void AucClassicExample()
        {
            // scikit-learn's documented example: 3 of the 4 positive/negative pairs are ordered right.
            Assert.Equal(0.75, RankerMetrics.Auc([0.1f, 0.4f, 0.35f, 0.8f], [false, false, true, true]), 12);
        }

        [Fact]
        public void AucCountsTiesAsHalf()
        {
            // positives {0.5, 0.9}, negatives {0.5, 0.2}: pairs 0.5~0.5 = 1/2, 0.5>0.2, 0.9>0.5, 0.9>0.2 -> 3.5 / 4.
            Assert.Equal(0.875, RankerMetrics.Auc([0.5f, 0.5f, 0.2f, 0.9f], [true, false, false, true]), 12);
            // All scores equal: every pair ties.
            Assert.Equal(0.5, RankerMetrics.Auc([1f, 1f, 1f, 1f, 1f], [true, false, true, false, false]), 12);
            // -0 and +0 are the same score.
            Assert.Equal(0.5, RankerMetrics.Auc([-0f, 0f], [true, false]), 12);
        }

        [Fact]
        public void AucWithWeights()
        {
            // pos a(0.5, w2), d(0.9, w1); neg b(0.5, w1), c(0.2, w3).
            // a-b tie: 2*1*1/2 = 1; a-c: 2*3 = 6; d-b: 1*1 = 1; d-c: 1*3 = 3 -> 11 / (3 * 4).
            Assert.Equal(11.0 / 12.0, RankerMetrics.Auc([0.5f, 0.5f, 0.2f, 0.9f], [true, false, false, true], [2f, 1f, 3f, 1f]), 12);
            // Integer weights equal repeated rows.
            float[] s = [0.3f, 0.7f, 0.7f, 0.1f];
            bool[] l = [true, false, true, false];
            float[] rs = [0.3f, 0.3f, 0.7f, 0.7f, 0.7f, 0.7f, 0.1f];
            bool[] rl = [true, true, false, true, true, true, false];
            Assert.Equal(RankerMetrics.Auc(rs, rl), RankerMetrics.Auc(s, l, [2f, 1f, 3f, 1f]), 12);
        }

        [Fact]
        public void AucIsUndefinedForOneClassOrNoRows()
        {
            Assert.True(double.IsNaN(RankerMetrics.Auc([0.1f, 0.2f], [true, true])));
            Assert.True(double.IsNaN(RankerMetrics.Auc([0.1f, 0.2f], [false, false])));
            Assert.True(double.IsNaN(RankerMetrics.Auc([], [])));
            // Zero-weight negatives leave one class.
            Assert.True(double.IsNaN(RankerMetrics.Auc([0.1f, 0.2f], [true, false], [1f, 0f])));
        }

        [Fact]
        public void AucRejectsBadInput()
        {
            var e = Assert.Throws<ArgumentException>(() => RankerMetrics.Auc([0.1f, float.NaN], [true, false]));
            Assert.Contains("scores[1]", e.Message);
            Assert.Throws<ArgumentException>(() => RankerMetrics.Auc([0.1f, float.PositiveInfinity], [true, false]));
            Assert.Throws<ArgumentException>(() => RankerMetrics.Auc([0.1f, 0.2f], [true]));
            e = Assert.Throws<ArgumentException>(() => RankerMetrics.Auc([0.1f, 0.2f], [true, false], [1f, -1f]));
            Assert.Contains("weights[1]", e.Message);
            Assert.Throws<ArgumentException>(() => RankerMetrics.Auc([0.1f, 0.2f], [true, false], [1f]));
        }

        // ---------------------------------------------------------------- GAUC

        // Rows of three users, interleaved (not contiguous):
        //   u1: scores 0.9 (T), 0.1 (F), 0.5 (F)           -> AUC 1, 3 impressions, 1 positive
        //   u2: 0.2 (T), 0.8 (F), 0.6 (T), 0.4 (F)         -> pairs 0.2<0.8, 0.2<0.4, 0.6<0.8, 0.6>0.4 -> 1/4, 4 impressions, 2 positives
        //   u3: 0.3 (F), 0.7 (F)                           -> one class: skipped
        private static readonly float[] GScores = [0.9f, 0.2f, 0.3f, 0.1f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f];
        private static readonly bool[] GLabels = [true, true, false, false, false, false, true, false, false];
        private static readonly uint[] GUsers = [1, 2, 3, 1, 2, 3, 2, 1, 2];

        [Fact]
        public void GroupAucWeightsGroupsByImpressionsAndSkipsSingleClassGroups()
        {
            Assert.Equal((3 * 1.0 + 4 * 0.25) / 7, RankerMetrics.GroupAuc(GScores, GLabels, GUsers), 12);
            var d = RankerMetrics.GroupAucDetailed(GScores, GLabels, GUsers);
            Assert.Equal(3, d.Groups);
            Assert.Equal(2, d.GroupsUsed);
            Assert.Equal(1, d.GroupsSkipped);
            Assert.Equal(7, d.RowsUsed);
            Assert.Equal((1.0 + 0.25) / 2, RankerMetrics.GroupAucDetailed(GScores, GLabels, GUsers, weighting: GroupAucWeighting.Uniform).Value, 12);
            Assert.Equal((1 * 1.0 + 2 * 0.25) / 3, RankerMetrics.GroupAucDetailed(GScores, GLabels, GUsers, weighting: GroupAucWeighting.Positives).Value, 12);
        }

        [Fact]
        public void GroupAucIsTheSameForAnyIdTypeAndRowOrder()
        {
            double expected = (3 * 1.0 + 4 * 0.25) / 7;
            Assert.Equal(expected, RankerMetrics.GroupAuc(GScores, GLabels, GUsers.Select(u => "user" + u).ToArray()), 12);
            Assert.Equal(expected, RankerMetrics.GroupAuc(GScores, GLabels, GUsers.Select(u => -(long)u * 1_000_000_000_000).ToArray()), 12);
            // Contiguous fast path: rows sorted by user.
            int[] order = Enumerable.Range(0, GUsers.Length).OrderBy(i => GUsers[i]).ToArray();
            Assert.Equal(expected, RankerMetrics.GroupAuc(order.Select(i => GScores[i]).ToArray(), order.Select(i => GLabels[i]).ToArray(),
                order.Select(i => GUsers[i]).ToArray()), 12);
        }

        [Fact]
        public void GroupAucWithWeightsWeighsPairsAndGroups()
        {
            // u1 rows get weight 2 each (AUC stays 1, group weight 6); u2 rows weight 1 except 0.6 (T) weight 3:
            // u2 pairs: 0.2: 0 + 0, 0.6: 0 vs 0.8, 3*1 vs 0.4 -> 3 / (pos 4 * neg 2) = 3/8, group weight 6.
            float[] w = [2f, 1f, 1f, 2f, 1f, 1f, 3f, 2f, 1f];
            var d = RankerMetrics.GroupAucDetailed(GScores, GLabels, GUsers, w);
            Assert.Equal((6 * 1.0 + 6 * 3.0 / 8) / 12, d.Value, 12);
        }

        [Fact]
        public void GroupAucIsNaNWhenNoGroupHasBothClasses()
        {
            var d = RankerMetrics.GroupAucDetailed([0.1f, 0.2f, 0.3f], [true, false, true], new[] { 1, 2, 3 });
            Assert.True(double.IsNaN(d.Value));
            Assert.Equal(3, d.GroupsSkipped);
        }

        // ---------------------------------------------------------------- log-loss, calibration

        [Fact]
        public void LogLossInNatsWithClipping()
        {
            // -(ln 0.75 + ln(1 - 0.25)) / 2 = ln(4/3)
            Assert.Equal(Math.Log(4.0 / 3.0), RankerMetrics.LogLoss([0.75f, 0.25f], [true, false]), 12);
            // p = 0 for a positive is clipped to 1e-15: -ln(1e-15); p = 1 for a positive costs -ln(1 - 1e-15) ~ 1e-15.
            Assert.Equal(-Math.Log(1e-15) / 2, RankerMetrics.LogLoss([0f, 1f], [true, true]), 9);
            // Weights: (3 * -ln 0.5 + 1 * -ln 0.75) / 4
            Assert.Equal((3 * Math.Log(2) - Math.Log(0.75)) / 4, RankerMetrics.LogLoss([0.5f, 0.25f], [true, false], [3f, 1f]), 12);
            Assert.Throws<ArgumentException>(() => RankerMetrics.LogLoss([1.5f], [true]));
            Assert.Throws<ArgumentException>(() => RankerMetrics.LogLoss([float.NaN], [true]));
        }

        [Fact]
        public void MeansPredictedAndObserved()
        {
            Assert.Equal(0.4, RankerMetrics.MeanPredicted([0.25f, 0.5f, 0.75f, 0.1f]), 6);
            Assert.Equal(0.25, RankerMetrics.MeanObserved([true, false, false, false]), 12);
            Assert.Equal(0.75, RankerMetrics.MeanObserved([true, false], [3f, 1f]), 12);
            Assert.Equal((0.25 * 3 + 0.75) / 4, RankerMetrics.MeanPredicted([0.25f, 0.75f], [3f, 1f]), 12);
        }

        // probabilities 0.1 0.15 0.3 0.35 | 0.8 0.95 with labels F T F F | T T
        private static readonly float[] CProbs = [0.1f, 0.15f, 0.3f, 0.35f, 0.8f, 0.95f];
        private static readonly bool[] CLabels = [false, true, false, false, true, true];

        [Fact]
        public void EceEqualWidthBins()
        {
            // 2 bins: [0, 0.5): mean p 0.225, observed 1/4 -> 0.025 x 4 rows; [0.5, 1]: 0.875 vs 1 -> 0.125 x 2 rows.
            Assert.Equal((4 * 0.025 + 2 * 0.125) / 6, RankerMetrics.ExpectedCalibrationError(CProbs, CLabels, bins: 2), 6);
            var curve = RankerMetrics.CalibrationCurve(CProbs, CLabels, bins: 4);
            Assert.Equal(4, curve.Length);
            Assert.Equal(new long[] { 2, 2, 0, 2 }, curve.Select(b => b.Count).ToArray());
            Assert.True(double.IsNaN(curve[2].MeanPredicted));
            Assert.Equal(0.5, curve[0].MeanObserved, 12);
            Assert.Equal(0.75, curve[3].Lower, 12);
            // p = 1 belongs to the last bin, p = 0.5 to the upper one of two bins.
            var edge = RankerMetrics.CalibrationCurve([1f, 0.5f, 0f], [true, true, false], bins: 2);
            Assert.Equal(new long[] { 1, 2 }, edge.Select(b => b.Count).ToArray());
        }

        [Fact]
        public void EceEqualMassBins()
        {
            // 3 bins of 2 rows: {0.1, 0.15}: 0.125 vs 0.5; {0.3, 0.35}: 0.325 vs 0; {0.8, 0.95}: 0.875 vs 1.
            Assert.Equal((0.375 + 0.325 + 0.125) / 3,
                RankerMetrics.ExpectedCalibrationError(CProbs, CLabels, bins: 3, binning: CalibrationBinning.EqualMass), 6);
            // A tie block stays in one bin: three rows at 0.2 and one at 0.6 in 2 bins -> {0.2 x3}, {0.6}.
            var curve = RankerMetrics.CalibrationCurve([0.2f, 0.6f, 0.2f, 0.2f], [true, true, false, false], bins: 2, binning: CalibrationBinning.EqualMass);
            Assert.Equal(new long[] { 3, 1 }, curve.Select(b => b.Count).ToArray());
            Assert.Equal(0.2, curve[0].Lower, 6);
            Assert.Equal(0.2, curve[0].Upper, 6);
            Assert.Equal(1.0 / 3, curve[0].MeanObserved, 12);
        }

        [Fact]
        public void EcePerfectCalibrationIsZeroAndWeightsCount()
        {
            // Each equal-width bin has mean prediction equal to its positive rate.
            Assert.Equal(0.0, RankerMetrics.ExpectedCalibrationError([0.25f, 0.25f, 0.25f, 0.25f, 0.75f, 0.75f, 0.75f, 0.75f],
                [true, false, false, false, true, true, true, false], bins: 2), 12);
            // Weights: bin [0,0.5) holds p=0.25 (F, w 3), bin [0.5,1] p=0.75 (T, w 1): (3 * 0.25 + 1 * 0.25) / 4.
            Assert.Equal(0.25, RankerMetrics.ExpectedCalibrationError([0.25f, 0.75f], [false, true], bins: 2, weights: [3f, 1f]), 12);
            Assert.Throws<ArgumentOutOfRangeException>(() => RankerMetrics.ExpectedCalibrationError(CProbs, CLabels, bins: 0));
        }

        // ---------------------------------------------------------------- regression

        [Fact]
        public void RegressionErrors()
        {
            // predictions 1, 3 against targets 2, 0: errors -1, 3.
            Assert.Equal(Math.Sqrt(5), RankerMetrics.Rmse([1f, 3f], [2f, 0f]), 12);
            Assert.Equal(2.0, RankerMetrics.Mae([1f, 3f], [2f, 0f]), 12);
            double a = Math.Log(2) - Math.Log(3), b = Math.Log(4) - Math.Log(1);
            Assert.Equal(Math.Sqrt((a * a + b * b) / 2), RankerMetrics.RmseLog1p([1f, 3f], [2f, 0f]), 12);
            // A negative prediction reads as 0; a negative target is an error.
            Assert.Equal(Math.Log(3), RankerMetrics.RmseLog1p([-5f], [2f]), 12);
            Assert.Throws<ArgumentException>(() => RankerMetrics.RmseLog1p([1f], [-2f]));
            Assert.Equal(Math.Sqrt((3 * 1 + 1 * 9) / 4.0), RankerMetrics.Rmse([1f, 3f], [2f, 0f], [3f, 1f]), 12);
        }

        // ---------------------------------------------------------------- nDCG and MRR

        [Fact]
        public void NdcgWithGradedGains()
        {
            // One request ranked 0.9, 0.8, 0.7, 0.6 with relevance 1, 3, 0, 2 -> gains 1, 7, 0, 3.
            float[] s = [0.7f, 0.9f, 0.6f, 0.8f];
            float[] r = [0f, 1f, 2f, 3f];
            int[] g = [5, 5, 5, 5];
            double dcg3 = 1 / 1.0 + 7 / Log2Of3 + 0 / 2.0;
            double idcg3 = 7 / 1.0 + 3 / Log2Of3 + 1 / 2.0;
            Assert.Equal(dcg3 / idcg3, RankerMetrics.Ndcg(s, r, g, 3), 12);
            Assert.Equal(1 / 7.0, RankerMetrics.Ndcg(s, r, g, 1), 12);
            double dcgAll = dcg3 + 3 / Math.Log2(5), idcgAll = idcg3 + 0;
            Assert.Equal(dcgAll / idcgAll, RankerMetrics.Ndcg(s, r, g, 10), 12);
            Assert.Equal(dcgAll / idcgAll, RankerMetrics.Ndcg(s, r, g, int.MaxValue), 12);
        }

        [Fact]
        public void NdcgTieRules()
        {
            // scores 0.5, 0.5, 0.1 with relevance 2, 0, 1 -> gains 3, 0, 1; the first two tie.
            float[] s = [0.5f, 0.5f, 0.1f];
            float[] r = [2f, 0f, 1f];
            uint[] g = [1, 1, 1];
            double idcg2 = 3 + 1 / Log2Of3;
            Assert.Equal((0 + 3 / Log2Of3) / idcg2, RankerMetrics.NdcgDetailed(s, r, g, 2, TieBreaking.Pessimistic).Value, 12);
            Assert.Equal((3 + 0 / Log2Of3) / idcg2, RankerMetrics.NdcgDetailed(s, r, g, 2, TieBreaking.Optimistic).Value, 12);
            Assert.Equal(1.5 * (1 + 1 / Log2Of3) / idcg2, RankerMetrics.NdcgDetailed(s, r, g, 2, TieBreaking.Average).Value, 12);
            // The default is pessimistic, whatever the row order.
            Assert.Equal((0 + 3 / Log2Of3) / idcg2, RankerMetrics.Ndcg([0.5f, 0.5f, 0.1f], [0f, 2f, 1f], g, 2), 12);
            // A constant scorer gets the worst order under the pessimistic rule.
            Assert.Equal((0 + 1 / Log2Of3 + 3 / 2.0) / (3 + 1 / Log2Of3 + 0), RankerMetrics.Ndcg([1f, 1f, 1f], r, g, 3), 12);
        }

        [Fact]
        public void NdcgAveragesRequestsAndHandlesRequestsWithoutRelevantItems()
        {
            // request 1: perfect order (nDCG 1); request 2: worst order of gains 1, 0 (0.5/... ); request 3: nothing relevant.
            float[] s = [0.9f, 0.1f, 0.2f, 0.8f, 0.3f, 0.4f];
            float[] r = [1f, 0f, 1f, 0f, 0f, 0f];
            long[] g = [1, 1, 2, 2, 3, 3];
            double worst = (1 / Log2Of3) / 1.0;
            var skip = RankerMetrics.NdcgDetailed(s, r, g, 2);
            Assert.Equal((1 + worst) / 2, skip.Value, 12);
            Assert.Equal(3, skip.Groups);
            Assert.Equal(2, skip.GroupsUsed);
            Assert.Equal(1, skip.GroupsWithoutRelevant);
            Assert.Equal((1 + worst + 0) / 3, RankerMetrics.NdcgDetailed(s, r, g, 2, noRelevant: NoRelevantItemsHandling.ScoreZero).Value, 12);
            Assert.Equal((1 + worst + 1) / 3, RankerMetrics.NdcgDetailed(s, r, g, 2, noRelevant: NoRelevantItemsHandling.ScoreOne).Value, 12);
            Assert.True(double.IsNaN(RankerMetrics.Ndcg([0.3f], [0f], new[] { 1 }, 3)));
            // Boolean relevance = gains 0/1.
            bool[] relevant = r.Select(x => x > 0).ToArray();
            double binary = RankerMetrics.Ndcg(s, relevant, g, 2);
            Assert.Equal((1 + worst) / 2, binary, 12);
        }

        [Fact]
        public void NdcgRejectsBadInput()
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => RankerMetrics.Ndcg([0.3f], [1f], new[] { 1 }, 0));
            Assert.Throws<ArgumentException>(() => RankerMetrics.Ndcg([0.3f], [-1f], new[] { 1 }, 1));
            Assert.Throws<ArgumentException>(() => RankerMetrics.Ndcg([0.3f], [float.NaN], new[] { 1 }, 1));
            Assert.Throws<ArgumentException>(() => RankerMetrics.Ndcg([float.NaN], [1f], new[] { 1 }, 1));
            Assert.Throws<ArgumentException>(() => RankerMetrics.Ndcg([0.3f, 0.2f], [1f, 0f], new[] { 1 }, 1));
        }

        [Fact]
        public void MrrFirstRelevantItem()
        {
            // A: 0.9 F, 0.8 T, 0.7 T -> 1/2.  B: 0.6 F, 0.3 T -> 1/2.
            // C: 0.5 F, 0.5 T, 0.5 F, 0.1 F: a tie block of 3 holding 1 relevant item ->
            //    pessimistic 1/3, optimistic 1, average (1 + 1/2 + 1/3) / 3 = 11/18.  D: nothing relevant -> skipped.
            float[] s = [0.9f, 0.8f, 0.7f, 0.3f, 0.6f, 0.5f, 0.5f, 0.5f, 0.1f, 0.4f];
            bool[] l = [false, true, true, true, false, false, true, false, false, false];
            string[] g = ["A", "A", "A", "B", "B", "C", "C", "C", "C", "D"];
            Assert.Equal((0.5 + 0.5 + 1.0 / 3) / 3, RankerMetrics.Mrr(s, l, g), 12);
            float[] r = l.Select(x => x ? 2f : 0f).ToArray();
            Assert.Equal((0.5 + 0.5 + 1.0) / 3, RankerMetrics.MrrDetailed(s, r, g, TieBreaking.Optimistic).Value, 12);
            Assert.Equal((0.5 + 0.5 + 11.0 / 18) / 3, RankerMetrics.MrrDetailed(s, r, g, TieBreaking.Average).Value, 12);
            var zero = RankerMetrics.MrrDetailed(s, r, g, noRelevant: NoRelevantItemsHandling.ScoreZero);
            Assert.Equal((0.5 + 0.5 + 1.0 / 3) / 4, zero.Value, 12);
            Assert.Equal(1, zero.GroupsWithoutRelevant);
        }

        [Fact]
        public void MrrAverageTieRuleIsTheExpectationOverOrders()
        {
            // Tie block of 3 with 2 relevant at the top: the non-relevant item is first in 1 of 3 orders (RR 1/2), else RR 1.
            Assert.Equal((0.5 + 1 + 1) / 3, RankerMetrics.MrrDetailed([0.5f, 0.5f, 0.5f], [1f, 0f, 1f], new[] { 1, 1, 1 }, TieBreaking.Average).Value, 12);
            // After one non-relevant item ranked first, a block of 2 with 1 relevant: (1/2 + 1/3) / 2.
            Assert.Equal((0.5 + 1.0 / 3) / 2, RankerMetrics.MrrDetailed([0.9f, 0.5f, 0.5f], [0f, 1f, 0f], new[] { 1, 1, 1 }, TieBreaking.Average).Value, 12);
        }

        [Fact]
        public void ListMetricsInOnePassEqualSeparateCalls()
        {
            var rng = new Random(3);
            int n = 500;
            float[] s = Enumerable.Range(0, n).Select(_ => (float)Math.Round(rng.NextDouble(), 1)).ToArray();
            float[] r = Enumerable.Range(0, n).Select(_ => (float)rng.Next(0, 4)).ToArray();
            int[] g = Enumerable.Range(0, n).Select(_ => rng.Next(0, 40)).ToArray();
            foreach (var ties in new[] { TieBreaking.Pessimistic, TieBreaking.Average, TieBreaking.Optimistic })
            {
                var all = RankerMetrics.NdcgAndMrr(s, r, g, [1, 3, 10], ties, NoRelevantItemsHandling.Skip, out var mrr);
                Assert.Equal(RankerMetrics.NdcgDetailed(s, r, g, 3, ties).Value, all[1].Value, 12);
                Assert.Equal(RankerMetrics.MrrDetailed(s, r, g, ties).Value, mrr.Value, 12);
            }
            // Pessimistic <= average <= optimistic.
            double p = RankerMetrics.NdcgDetailed(s, r, g, 5, TieBreaking.Pessimistic).Value;
            double a = RankerMetrics.NdcgDetailed(s, r, g, 5, TieBreaking.Average).Value;
            double o = RankerMetrics.NdcgDetailed(s, r, g, 5, TieBreaking.Optimistic).Value;
            Assert.True(p < a && a < o, $"{p} {a} {o}");
        }
    }
}
