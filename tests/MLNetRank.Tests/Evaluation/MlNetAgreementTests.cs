using System;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Evaluation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    /// <summary>The static metrics against ML.NET's own binary classification evaluator on random data.</summary>
    public class MlNetAgreementTests
    {
        private sealed class Row
        {
            public bool Label { get; set; }
            public float Score { get; set; }
            public float Probability { get; set; }
            public bool PredictedLabel { get; set; }
        }

        private static Row[] RandomRows(int seed, int n, int decimals)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, n).Select(_ =>
            {
                double p = rng.NextDouble();
                bool label = rng.NextDouble() < 0.2 + 0.6 * p; // informative but noisy
                // Rounding makes ties: ML.NET's AUC must then agree on how a tie counts.
                float q = (float)Math.Round(p, decimals);
                return new Row { Label = label, Score = q, Probability = q, PredictedLabel = q > 0.5f };
            }).ToArray();
        }

        [Theory]
        [InlineData(1, 2000, 6)]
        [InlineData(2, 3000, 2)]
        [InlineData(3, 500, 1)]
        public void AucEqualsMlNetBinaryEvaluator(int seed, int n, int decimals)
        {
            var rows = RandomRows(seed, n, decimals);
            var ml = new MLContext(seed: 1);
            var metrics = ml.BinaryClassification.Evaluate(ml.Data.LoadFromEnumerable(rows));
            double auc = RankingMetrics.Auc(rows.Select(r => r.Score).ToArray(), rows.Select(r => r.Label).ToArray());
            Assert.Equal(metrics.AreaUnderRocCurve, auc, 6);
        }

        [Fact]
        public void LogLossIsMlNetLogLossInNats()
        {
            // ML.NET reports log-loss in bits; ours is in nats (natural log): ours = ML.NET's x ln 2.
            var rows = RandomRows(4, 2000, 4).Select(r => { r.Probability = Math.Clamp(r.Probability, 0.001f, 0.999f); return r; }).ToArray();
            var ml = new MLContext(seed: 1);
            var metrics = ml.BinaryClassification.Evaluate(ml.Data.LoadFromEnumerable(rows));
            double ll = RankingMetrics.LogLoss(rows.Select(r => r.Probability).ToArray(), rows.Select(r => r.Label).ToArray());
            Assert.Equal(metrics.LogLoss * Math.Log(2), ll, 6);
        }
    }
}
