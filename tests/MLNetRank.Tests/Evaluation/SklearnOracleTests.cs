using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    /// <summary>
    /// The static metrics against scikit-learn 1.2.1, run once as an oracle. The data and the expected values
    /// below are the output of the script in the comment (run with Debian's /usr/bin/python3 and python3-sklearn).
    /// </summary>
    public class SklearnOracleTests
    {
        // Script (its printed arrays are the fields below, its printed metrics the expected values):
        //     import numpy as np, sklearn
        //     from sklearn.metrics import roc_auc_score, log_loss, ndcg_score, mean_squared_error, mean_absolute_error
        //     r = np.random.RandomState(20261123)
        //     n = 48
        //     score = np.round(r.rand(n), 1).astype(np.float32)          # one decimal: many ties
        //     label = r.rand(n) < 0.4
        //     weight = np.round(r.uniform(0.5, 2.0, n), 2).astype(np.float32)
        //     group = r.randint(0, 5, n)                                   # groups not contiguous
        //     prob = np.round(r.rand(n), 3).astype(np.float32)
        //     rel = r.randint(0, 4, n)                                     # graded relevance 0..3
        //     stay = np.round(r.exponential(30.0, n), 1).astype(np.float32)
        //     pred = np.round(r.exponential(30.0, n), 1).astype(np.float32)
        //     f = lambda a: ", ".join(str(np.float32(x)) + "f" for x in a)
        //     print("score:", f(score)); print("label:", ", ".join("true" if x else "false" for x in label))
        //     print("weight:", f(weight)); print("group:", ", ".join(str(x) for x in group))
        //     print("prob:", f(prob)); print("rel:", ", ".join(str(x) for x in rel))
        //     print("stay:", f(stay)); print("pred:", f(pred))
        //     s64, p64, w64 = score.astype(np.float64), prob.astype(np.float64), weight.astype(np.float64)
        //     print("sklearn", sklearn.__version__)
        //     print("auc", repr(roc_auc_score(label, s64)))
        //     print("auc_w", repr(roc_auc_score(label, s64, sample_weight=w64)))
        //     print("logloss", repr(log_loss(label, p64, eps=1e-15)))
        //     print("logloss_w", repr(log_loss(label, p64, eps=1e-15, sample_weight=w64)))
        //     num = den = 0.0
        //     for g in np.unique(group):
        //         m = group == g
        //         if label[m].all() or not label[m].any(): continue
        //         num += m.sum() * roc_auc_score(label[m], s64[m]); den += m.sum()
        //     print("gauc", repr(num / den))
        //     gains = (2.0 ** rel - 1.0)
        //     for k in (1, 3, 5, None):
        //         vals = [ndcg_score([gains[group == g]], [s64[group == g]], k=k) for g in np.unique(group)]
        //         print("ndcg_avgties k=%s" % k, repr(float(np.mean(vals))))
        //     print("rmse", repr(float(np.sqrt(mean_squared_error(stay.astype(np.float64), pred.astype(np.float64))))))
        //     print("rmse_log1p", repr(float(np.sqrt(mean_squared_error(np.log1p(stay.astype(np.float64)), np.log1p(pred.astype(np.float64)))))))
        //     print("mae", repr(float(mean_absolute_error(stay.astype(np.float64), pred.astype(np.float64)))))
        private static readonly float[] Score = [0.4f, 0.9f, 0.8f, 0.4f, 0.6f, 0.0f, 0.9f, 0.4f, 0.6f, 0.4f, 0.0f, 0.2f, 0.5f, 0.8f, 0.7f, 0.4f, 0.4f, 0.6f, 0.3f, 0.1f, 0.5f, 0.2f, 0.2f, 0.7f, 0.8f, 0.6f, 0.9f, 0.7f, 0.5f, 0.5f, 0.1f, 0.4f, 0.2f, 0.3f, 0.4f, 0.5f, 0.5f, 0.1f, 0.8f, 0.7f, 0.6f, 0.7f, 0.2f, 0.9f, 0.6f, 0.5f, 0.0f, 0.8f];
        private static readonly bool[] Label = [false, true, false, false, false, true, true, true, false, true, true, false, false, false, true, false, false, false, false, true, true, false, false, true, false, false, false, false, false, true, false, true, false, false, true, false, false, false, false, false, false, false, true, true, true, false, false, false];
        private static readonly float[] Weight = [1.93f, 0.81f, 1.87f, 0.74f, 0.98f, 0.74f, 1.68f, 0.57f, 0.74f, 1.74f, 1.82f, 1.3f, 1.67f, 1.42f, 1.84f, 1.55f, 1.48f, 1.18f, 0.58f, 0.78f, 1.8f, 0.7f, 1.61f, 0.79f, 0.71f, 0.63f, 1.33f, 0.73f, 1.71f, 1.36f, 1.46f, 1.01f, 1.06f, 0.56f, 1.25f, 1.73f, 1.71f, 1.73f, 1.1f, 1.1f, 0.62f, 1.13f, 1.24f, 0.7f, 1.1f, 1.18f, 1.23f, 0.81f];
        private static readonly int[] Group = [2, 1, 1, 2, 2, 3, 1, 2, 2, 3, 4, 2, 4, 2, 2, 0, 1, 1, 2, 0, 2, 0, 3, 3, 1, 2, 1, 3, 0, 4, 2, 1, 4, 3, 1, 1, 3, 2, 4, 1, 4, 1, 0, 4, 0, 3, 1, 0];
        private static readonly float[] Prob = [0.319f, 0.224f, 0.258f, 0.813f, 0.534f, 0.496f, 0.477f, 0.0f, 0.74f, 0.018f, 0.518f, 0.515f, 0.906f, 0.994f, 0.412f, 0.536f, 0.376f, 0.239f, 0.094f, 0.459f, 0.461f, 0.377f, 0.195f, 0.455f, 0.923f, 0.271f, 0.672f, 0.962f, 0.839f, 0.854f, 0.824f, 0.256f, 0.001f, 0.582f, 0.046f, 0.258f, 0.209f, 0.393f, 0.942f, 0.059f, 0.557f, 0.04f, 0.295f, 0.057f, 0.873f, 0.629f, 0.37f, 0.257f];
        private static readonly float[] Rel = [3f, 1f, 1f, 0f, 1f, 3f, 3f, 0f, 0f, 1f, 1f, 1f, 2f, 3f, 1f, 1f, 1f, 2f, 2f, 2f, 0f, 2f, 0f, 1f, 2f, 2f, 1f, 2f, 3f, 1f, 1f, 3f, 2f, 3f, 0f, 2f, 3f, 0f, 0f, 2f, 3f, 0f, 2f, 0f, 2f, 0f, 1f, 2f];
        private static readonly float[] Stay = [7.5f, 19.5f, 5.4f, 71.2f, 18.1f, 87.4f, 36.2f, 7.9f, 3.2f, 14.8f, 3.0f, 47.4f, 0.1f, 44.3f, 8.0f, 74.2f, 22.5f, 29.0f, 13.6f, 68.2f, 13.0f, 9.6f, 1.8f, 9.9f, 47.4f, 28.9f, 44.2f, 30.6f, 85.7f, 7.3f, 45.4f, 53.7f, 115.7f, 0.9f, 4.0f, 10.8f, 20.3f, 5.7f, 10.8f, 54.4f, 6.3f, 118.1f, 15.5f, 15.8f, 19.4f, 4.6f, 82.0f, 21.3f];
        private static readonly float[] Pred = [16.6f, 60.7f, 58.4f, 56.7f, 1.2f, 2.0f, 16.9f, 58.4f, 53.7f, 135.0f, 85.9f, 11.8f, 8.0f, 32.7f, 32.5f, 14.1f, 1.3f, 19.2f, 14.4f, 30.3f, 0.5f, 30.3f, 0.4f, 34.2f, 52.2f, 67.7f, 86.6f, 71.9f, 36.8f, 13.1f, 12.3f, 6.0f, 1.8f, 75.4f, 14.8f, 25.8f, 23.2f, 23.0f, 6.4f, 10.7f, 9.2f, 2.9f, 77.5f, 5.3f, 18.7f, 8.5f, 3.1f, 1.7f];

        [Fact]
        public void AucMatchesRocAucScore()
        {
            Assert.Equal(0.482421875, RankerMetrics.Auc(Score, Label), 12);
            Assert.Equal(0.4907440213132031, RankerMetrics.Auc(Score, Label, Weight), 12);
        }

        [Fact]
        public void LogLossMatchesSklearnLogLoss()
        {
            Assert.Equal(1.821304935747155, RankerMetrics.LogLoss(Prob, Label), 12);
            Assert.Equal(1.4457931987061552, RankerMetrics.LogLoss(Prob, Label, Weight), 12);
        }

        [Fact]
        public void GroupAucMatchesImpressionWeightedRocAucScore()
        {
            Assert.Equal(0.5126157407407407, RankerMetrics.GroupAuc(Score, Label, Group), 12);
        }

        [Fact]
        public void NdcgWithAveragedTiesMatchesNdcgScore()
        {
            // scikit-learn's ndcg_score uses y_true as the gain, so the script passes 2^rel - 1.
            Assert.Equal(0.42857142857142855, RankerMetrics.NdcgDetailed(Score, Rel, Group, 1, TieBreaking.Average, NoRelevantItemsHandling.ScoreZero).Value, 12);
            Assert.Equal(0.5235318234480094, RankerMetrics.NdcgDetailed(Score, Rel, Group, 3, TieBreaking.Average, NoRelevantItemsHandling.ScoreZero).Value, 12);
            Assert.Equal(0.5633970271648854, RankerMetrics.NdcgDetailed(Score, Rel, Group, 5, TieBreaking.Average, NoRelevantItemsHandling.ScoreZero).Value, 12);
            Assert.Equal(0.739006941515351, RankerMetrics.NdcgDetailed(Score, Rel, Group, int.MaxValue, TieBreaking.Average, NoRelevantItemsHandling.ScoreZero).Value, 12);
        }

        [Fact]
        public void RegressionMetricsMatchSklearn()
        {
            Assert.Equal(46.50186359139165, RankerMetrics.Rmse(Pred, Stay), 9);
            Assert.Equal(1.7315236018714448, RankerMetrics.RmseLog1p(Pred, Stay), 12);
            Assert.Equal(34.39166647428647, RankerMetrics.Mae(Pred, Stay), 9);
        }
    }
}
