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

        private sealed class QueryRow
        {
            public float Label { get; set; }
            public uint Query { get; set; }
            public float Score { get; set; }
        }

        [Fact]
        public void NdcgEqualsMlNetRankingEvaluator()
        {
            // ML.NET's ranking evaluator: label gains 0, 3, 7, 15, 31 for labels 0..4 (= 2^(label+1) - 1 above 0), ties in
            // score ordered by ascending label (pessimistic, as ours), queries without a relevant document scored 0.
            // Graded labels 0..4, queries of 1..15 documents, scores with one decimal (many ties), some queries all 0.
            var rng = new Random(12);
            var rows = new System.Collections.Generic.List<QueryRow>();
            for (uint q = 0; q < 200; q++)
            {
                int size = rng.Next(1, 16);
                bool empty = rng.NextDouble() < 0.1;
                for (int d = 0; d < size; d++)
                    rows.Add(new QueryRow { Query = q, Label = empty ? 0 : rng.Next(0, 5), Score = (float)Math.Round(rng.NextDouble(), 1) });
            }
            var ml = new MLContext(seed: 1);
            var view = ml.Transforms.Conversion.MapValueToKey("GroupId", "Query").Fit(ml.Data.LoadFromEnumerable(rows)).Transform(ml.Data.LoadFromEnumerable(rows));
            var metrics = ml.Ranking.Evaluate(view, labelColumnName: "Label", rowGroupColumnName: "GroupId", scoreColumnName: "Score");
            var ks = Enumerable.Range(1, 10).ToArray();
            // The same gains in our 2^rel - 1 form: label l > 0 becomes relevance l + 1.
            var relevance = rows.Select(r => r.Label == 0 ? 0f : r.Label + 1).ToArray();
            var ours = RankingMetrics.NdcgAndMrr(rows.Select(r => r.Score).ToArray(), relevance, rows.Select(r => r.Query).ToArray(),
                ks, TieBreaking.Pessimistic, NoRelevantItemsHandling.ScoreZero, out _);
            Assert.True(ours[0].GroupsWithoutRelevant > 0);
            for (int k = 1; k <= 10; k++)
                Assert.Equal(metrics.NormalizedDiscountedCumulativeGains[k - 1], ours[k - 1].Value, 9);
        }
    }
}
