using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using MLNetRank.Debiasing;
using MLNetRank.Evaluation;
using MLNetRank.Simulation.Datasets;
using MLNetRank.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>
    /// The standard semi-synthetic unbiased learning-to-rank protocol on LightGBM's lambdarank data (a small version of the
    /// debias-letor benchmark): a weak logger shows the top 10, clicks follow the position-based model with η = 2, and a
    /// LightGBM regression on the IPS relevance estimate (<c>EstimateClickRelevance</c>) beats the same regression on the raw
    /// click-through rate, in every click simulation.
    /// </summary>
    [Collection(LightGbmCollection.Name)]
    public class LetorUnbiasedLtrTests
    {
        private readonly ITestOutputHelper _out;

        public LetorUnbiasedLtrTests(ITestOutputHelper output) => _out = output;

        private sealed class Row
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public float Label { get; set; }
            public uint Group { get; set; }
        }

        private sealed class Impression
        {
            public uint QueryDoc { get; set; }
            public bool Click { get; set; }
            public float Propensity { get; set; }
        }

        private sealed class DocId
        {
            public uint QueryDoc { get; set; }
        }

        [SharedDataFact]
        [Trait("Category", "Quality")]
        public void IpsRelevance_BeatsTheNaiveCtr_OnTopTenPbmClicks_InEverySimulation()
        {
            var folder = TestData.RequireFolder("lightgbm-lambdarank");
            var ml = new MLContext(1);
            (float[][] X, float[] Y, int[] Q) Read(string file)
            {
                var v = LambdarankDataset.Load(ml, Path.Combine(folder, file));
                return (v.GetColumn<float[]>("Features").ToArray(), v.GetColumn<float>("Label").ToArray(), v.GetColumn<int>("QueryIndex").ToArray());
            }
            var (x, y, q) = Read("rank.train");
            var (tx, ty, tq) = Read("rank.test");
            int dim = x[0].Length, n = y.Length;
            IDataView View(IEnumerable<int> docs, Func<int, float> label, float[][] f, int[] g)
            {
                var schema = SchemaDefinition.Create(typeof(Row));
                schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dim);
                var v = ml.Data.LoadFromEnumerable(docs.Select(i => new Row { Features = f[i], Label = label(i), Group = (uint)g[i] + 1 }), schema);
                return ml.Transforms.Conversion.MapValueToKey("GroupId", "Group").Fit(v).Transform(v);
            }
            var testView = View(Enumerable.Range(0, ty.Length), i => ty[i], tx, tq);
            double Ndcg(ITransformer m) => RankerMetrics.Ndcg(m.Transform(testView).GetColumn<float>("Score").ToArray(), ty, tq, 10);
            LightGbmRankingTrainer.Options Rank(int trees, int minLeaf) => new()
            {
                FeatureColumnName = "Features", RowGroupColumnName = "GroupId", NumberOfIterations = trees, NumberOfLeaves = 31,
                MinimumExampleCountPerLeaf = minLeaf, LearningRate = 0.05, NumberOfThreads = 1, Seed = 1, Silent = true,
            };

            // weak logger: 10 trees on the grades of the first 2 training queries; ceiling: 100 trees on every grade
            var starts = Enumerable.Range(0, n).Where(i => i == 0 || q[i] != q[i - 1]).Append(n).ToArray();
            int queries = starts.Length - 1;
            var logger = ml.Ranking.Trainers.LightGbm(Rank(10, 5)).Fit(View(Enumerable.Range(0, starts[2]), i => y[i], x, q));
            var score = logger.Transform(View(Enumerable.Range(0, n), i => y[i], x, q)).GetColumn<float>("Score").ToArray();
            double ceiling = Ndcg(ml.Ranking.Trainers.LightGbm(Rank(100, 20)).Fit(View(Enumerable.Range(0, n), i => y[i], x, q)));
            double loggerNdcg = Ndcg(logger);
            var shownOrder = Enumerable.Range(0, queries)
                .Select(k => Enumerable.Range(starts[k], starts[k + 1] - starts[k]).OrderByDescending(i => score[i]).ThenBy(i => i).Take(10).ToArray()).ToArray();
            var docIds = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new DocId { QueryDoc = (uint)i }));
            var shown = shownOrder.SelectMany(o => o).OrderBy(i => i).ToArray();

            const double eta = 2;
            var naive = new List<double>();
            var ips = new List<double>();
            foreach (int seed in new[] { 1, 2, 3 })
            {
                var rng = new Random(seed);
                var log = new List<Impression>();
                for (int s = 0; s < 10000; s++)
                {
                    var order = shownOrder[rng.Next(queries)];
                    for (int r = 0; r < order.Length; r++)
                    {
                        double theta = Math.Pow(1.0 / (r + 1), eta);
                        double attraction = 0.1 + 0.9 * (Math.Pow(2, y[order[r]]) - 1) / 15;
                        log.Add(new Impression { QueryDoc = (uint)order[r], Click = rng.NextDouble() < theta * attraction, Propensity = (float)theta });
                    }
                }
                var logView = ml.Data.LoadFromEnumerable(log);
                double Fit(string? propensity)
                {
                    var rel = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "QueryDoc", PropensityColumnName = propensity, MaximumWeight = 100 })
                        .Fit(logView).Transform(docIds).GetColumn<float>("Relevance").ToArray();
                    var train = View(shown, i => rel[i], x, q);
                    return Ndcg(ml.Regression.Trainers.LightGbm(new LightGbmRegressionTrainer.Options
                    {
                        FeatureColumnName = "Features", NumberOfIterations = 100, NumberOfLeaves = 31, MinimumExampleCountPerLeaf = 20,
                        LearningRate = 0.05, NumberOfThreads = 1, Seed = seed, Silent = true,
                    }).Fit(train));
                }
                naive.Add(Fit(null));
                ips.Add(Fit("Propensity"));
                _out.WriteLine($"seed {seed}: naive {naive[^1]:F4}, IPS {ips[^1]:F4} (logger {loggerNdcg:F4}, ceiling {ceiling:F4})");
            }
            for (int k = 0; k < ips.Count; k++)
                Assert.True(ips[k] > naive[k] + 0.05, $"simulation {k + 1}: IPS {ips[k]:F4} vs naive {naive[k]:F4}");
            Assert.True(naive.Average() < 0.85 * ceiling, $"naive mean {naive.Average():F4} vs ceiling {ceiling:F4}");
            Assert.True(ips.Average() > 0.85 * ceiling, $"IPS mean {ips.Average():F4} vs ceiling {ceiling:F4}");
        }
    }
}
