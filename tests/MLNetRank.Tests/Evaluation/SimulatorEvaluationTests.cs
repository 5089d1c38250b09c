using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;
using Xunit;

namespace MLNetRank.Tests.Evaluation
{
    /// <summary>
    /// The evaluator on simulated traffic, where the truth is known: the simulator draws a click with probability
    /// TrueExamination × TrueAttraction, and TrueRelevance is a non-decreasing grade of TrueAttraction.
    /// </summary>
    public class SimulatorEvaluationTests
    {
        private sealed class In
        {
            public uint RequestId { get; set; }
            public int Position { get; set; }
            public float TrueAttraction { get; set; }
            public float TrueExamination { get; set; }
        }

        private sealed class Out
        {
            public float TrueClickProbability { get; set; }
            public float Overconfident { get; set; }
            public float RandomScore { get; set; }
        }

        private static IDataView Scored(MLContext ml, out float[] p)
        {
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions
            {
                Seed = 3, UserCount = 400, LiveCount = 80, ItemCount = 600, CategoryCount = 12, CommunityCount = 4,
                RequestCount = 2000, ListSize = 8, CandidatePoolSize = 20,
            });
            var data = ml.Transforms.CustomMapping<In, Out>((i, o) =>
            {
                o.TrueClickProbability = i.TrueExamination * i.TrueAttraction;
                o.Overconfident = Math.Min(1f, 1.6f * o.TrueClickProbability);
                // A score independent of everything: a hash of (request, position) mapped to [0, 1).
                uint h = unchecked(i.RequestId * 2654435761u ^ (uint)i.Position * 40503u);
                h ^= h >> 15; h = unchecked(h * 2246822519u); h ^= h >> 13;
                o.RandomScore = (h >> 8) / (float)(1 << 24);
            }, contractName: null).Fit(sim.GetImpressions(ml)).Transform(sim.GetImpressions(ml));
            var cached = ml.Data.Cache(data);
            p = cached.GetColumn<float>("TrueClickProbability").ToArray();
            return cached;
        }

        [Fact]
        public void TheTrueClickProbabilityIsCalibratedAndRankingByTruthIsIdeal()
        {
            var ml = new MLContext(seed: 1);
            var scored = Scored(ml, out float[] p);
            var result = ml.Ranker().Evaluate(scored, new RankingEvaluationOptions
            {
                Tasks =
                {
                    RankingTaskSpec.Binary("Truth", "Click", "TrueClickProbability"),
                    RankingTaskSpec.Binary("Overconfident", "Click", "Overconfident"),
                    RankingTaskSpec.Binary("Random", "Click", "RandomScore"),
                },
                GroupColumnNames = { "UserId", "RequestId" },
                RequestColumnName = "RequestId",
                RelevanceColumnName = "TrueRelevance",
                RankingScoreColumnName = "TrueAttraction",
            });
            var truth = result.Binary["Truth"];
            Assert.Equal(16_000, truth.Count);

            // Calibration: the mean prediction is within 4 standard deviations of the click rate. For a calibrated model,
            // E[ECE] <= bound = sum_b sqrt(sum_{i in b} p_i (1 - p_i)) / n (per bin, E|observed - predicted| <= its standard
            // deviation); the test allows 1.5 x bound for sampling spread. The 1.6x over-confident copy is far above it.
            double sd = Math.Sqrt(p.Sum(x => (double)x * (1 - x))) / p.Length;
            Assert.InRange(truth.MeanObserved - truth.MeanPredicted, -4 * sd, 4 * sd);
            double bound = p.GroupBy(x => Math.Min(9, (int)(x * 10.0))).Sum(b => Math.Sqrt(b.Sum(x => (double)x * (1 - x)))) / p.Length;
            Assert.True(truth.Ece < 1.5 * bound, $"ECE {truth.Ece} >= 1.5 x calibrated bound {bound}");
            Assert.True(result.Binary["Overconfident"].Ece > 4 * bound, $"over-confident ECE {result.Binary["Overconfident"].Ece} vs bound {bound}");
            Assert.True(result.Binary["Overconfident"].LogLoss > truth.LogLoss);
            Assert.Equal(truth.Auc, result.Binary["Overconfident"].Auc, 2); // nearly the same order (clipping at 1 adds ties)

            // A random score has no signal: AUC 1/2 within 4 DeLong standard errors; the truth beats it decisively.
            var random = result.Binary["Random"];
            Assert.InRange(random.Auc, 0.5 - 4 * random.AucStandardError, 0.5 + 4 * random.AucStandardError);
            var c = ml.Ranker().CompareAuc(scored, "Click", "TrueClickProbability", "RandomScore");
            Assert.True(c.Difference > 0 && c.PValue < 1e-6, $"diff {c.Difference}, p {c.PValue}");
            Assert.True(truth.GAuc["UserId"] > random.GAuc["UserId"]);

            // Ranking each request by the true attraction orders the true relevance grades ideally.
            var list = result.List!;
            Assert.Equal(2000, list.Requests);
            foreach (var k in result.NdcgAt)
                Assert.Equal(1.0, list.Ndcg[k], 12);
            Assert.Equal(1.0, list.Mrr, 12);
        }
    }
}
