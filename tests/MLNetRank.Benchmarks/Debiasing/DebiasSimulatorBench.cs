using MLNetRank.Evaluation;
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Debiasing;
using MLNetRank.Simulation;

namespace MLNetRank.Benchmarks.Debiasing
{
    /// <summary>
    /// Position debiasing on the live-stream simulator, where the truth is known: the recovered propensity curve against the
    /// simulated one (randomized traffic and regression EM), and naive vs IPS-weighted vs position-as-feature point-wise GBDT
    /// click models (AUC against TrueAttraction, nDCG@10 on TrueRelevance, exposure Gini over rooms).
    /// </summary>
    public sealed class DebiasSimulatorBench : IBench
    {
        public string Name => "debias-simulator";

        public string Description => "propensity recovery + naive vs IPS vs position-as-feature GBDT on the simulator";

        private static readonly Option<long> Requests = BenchOption.Of("--requests", 30000L, "simulator requests");
        private static readonly Option<double> Eta = BenchOption.Of("--eta", 1.0, "position-bias severity η");
        private static readonly Option<int> Trees = BenchOption.Of("--trees", 100, "GBDT trees");
        private static readonly Option<double> Popularity = BenchOption.Of("--popularity", 0.5, "logging policy's popularity weight");

        public int Run(ParseResult args)
        {
            long requests = args.GetValue(Requests);
            double eta = args.GetValue(Eta);
            int trees = args.GetValue(Trees);
            double popularity = args.GetValue(Popularity);
            var result = Evaluate(requests, eta, trees, popularity, seed: 42, log: Console.WriteLine);
            return result.Count > 0 ? 0 : 1;
        }

        /// <summary>One model's figures on the test requests.</summary>
        public sealed record ModelFigures(string Name, double ExpectedAuc, double Ndcg10, double Gini3, double TrainSeconds);

        public static List<ModelFigures> Evaluate(long requests, double eta, int trees, double popularity, int seed, Action<string> log)
        {
            var ml = new MLContext(seed);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = seed, RequestCount = requests, PositionBiasExponent = eta, PolicyPopularityWeight = popularity });
            long trainRequests = requests * 4 / 5;
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, requests - trainRequests));
            var truth = sim.World.TrueExaminationCurve;
            int k = truth.Count;
            log($"simulator: {requests} requests x {k} positions, eta {eta}, policy popularity weight {popularity}, randomized share {sim.Options.RandomizedShare}; train {trainRequests} requests, test {requests - trainRequests}");

            // ---- propensity recovery
            var sw = Stopwatch.StartNew();
            var random = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                RandomizedColumnName = "IsRandomized",
                MaximumPosition = k - 1,
                BootstrapResamples = 200,
            }).Fit(train);
            double tRandom = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var nonRandom = ml.Data.FilterByCustomPredicate<RandomFlag>(train, r => r.IsRandomized);
            var em = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                Method = PropensityEstimationMethod.RegressionEm,
                FeatureColumnName = "StatFeatures",
                MaximumPosition = k - 1,
            }).Fit(nonRandom);
            double tEm = sw.Elapsed.TotalSeconds;
            sw.Restart();
            var emGbdt = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
            {
                Method = PropensityEstimationMethod.RegressionEm,
                FeatureColumnName = "StatFeatures",
                RelevanceModel = EmRelevanceModel.Gbdt,
                MaximumPosition = k - 1,
                MaximumIterations = 30,
                Tolerance = 1e-4,
            }).Fit(nonRandom);
            double tEmGbdt = sw.Elapsed.TotalSeconds;
            var naiveCurve = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options { MaximumPosition = k - 1 }).Fit(nonRandom);
            log("");
            log("| position | true θ_k/θ_1 | randomization (CI 95%) | abs err | regression EM, logistic (StatFeatures, logged traffic) | abs err | regression EM, GBDT | abs err | naive CTR ratio (logged traffic) | abs err |");
            log("|---|---|---|---|---|---|---|---|---|---|");
            for (int p = 0; p < k; p++)
            {
                double t = truth[p] / truth[0];
                var ci = random.ConfidenceIntervals![p];
                log(FormattableString.Invariant($"| {p + 1} | {t:F4} | {random.Propensities[p]:F4} [{ci.Lower:F4}, {ci.Upper:F4}] | {Math.Abs(random.Propensities[p] - t):F4} | {em.Propensities[p]:F4} | {Math.Abs(em.Propensities[p] - t):F4} | {emGbdt.Propensities[p]:F4} | {Math.Abs(emGbdt.Propensities[p] - t):F4} | {naiveCurve.Propensities[p]:F4} | {Math.Abs(naiveCurve.Propensities[p] - t):F4} |"));
            }
            double Rmse(IReadOnlyList<double> c) => Math.Sqrt(Enumerable.Range(0, k).Average(p => Math.Pow(c[p] - truth[p] / truth[0], 2)));
            log(FormattableString.Invariant($"| RMSE | | {Rmse(random.Propensities):F4} ({random.RowsUsed} randomized rows, {tRandom:F1} s incl. 200 bootstrap) | | {Rmse(em.Propensities):F4} ({em.Iterations} it, {tEm:F1} s) | | {Rmse(emGbdt.Propensities):F4} ({emGbdt.Iterations} it, {tEmGbdt:F1} s) | | {Rmse(naiveCurve.Propensities):F4} | |"));

            // ---- models
            var ips = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options { RandomizedColumnName = "IsRandomized", MaximumPosition = k - 1 })
                .Append(ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightEstimator.Options { MaximumWeight = 20, NormalizeOverClicks = true }))
                .Fit(train);
            var trainW = ips.Transform(train);
            FastTreeBinaryTrainer.Options Opt(string features, string? weight) => new()
            {
                LabelColumnName = "Click",
                FeatureColumnName = features,
                ExampleWeightColumnName = weight,
                NumberOfTrees = trees,
                NumberOfLeaves = 31,
                MinimumExampleCountPerLeaf = 50,
                LearningRate = 0.1,
                NumberOfThreads = 1,
                Seed = seed,
            };
            var models = new List<(string Name, Func<ITransformer> Fit)>
            {
                ("naive (raw clicks)", () => ml.BinaryClassification.Trainers.FastTree(Opt("StatFeatures", null)).Fit(train)),
                ("IPS (randomization propensities, clip 20, normalized)", () => ml.BinaryClassification.Trainers.FastTree(Opt("StatFeatures", "Weight")).Fit(trainW)),
                ("position as feature (neutral 1)", () => ml.Ranker().Trainers.PositionAsFeature(ml.BinaryClassification.Trainers.FastTree(Opt("FeaturesWithPosition", null)), featureColumnName: "StatFeatures").Fit(train)),
                ("ceiling: regression on TrueAttraction", () => ml.Regression.Trainers.FastTree(new FastTreeRegressionTrainer.Options
                {
                    LabelColumnName = "TrueAttraction", FeatureColumnName = "StatFeatures", NumberOfTrees = trees, NumberOfLeaves = 31,
                    MinimumExampleCountPerLeaf = 50, LearningRate = 0.1, NumberOfThreads = 1, Seed = seed,
                }).Fit(train)),
            };
            var req = test.GetColumn<uint>("RequestId").ToArray();
            var live = test.GetColumn<uint>("LiveId").ToArray();
            var attraction = test.GetColumn<float>("TrueAttraction").ToArray();
            var relevance = test.GetColumn<float>("TrueRelevance").ToArray();
            var position = test.GetColumn<int>("Position").ToArray();
            var figures = new List<ModelFigures>();
            var logged = position.Select(p => (float)-p).ToArray();
            figures.Add(new ModelFigures("logging policy (as shown)", RankerMetrics.ExpectedAuc(logged, attraction), RankerMetrics.Ndcg(logged, relevance, req, 10),
                RankerMetrics.ExposureGini(logged, req, live, 3), 0));
            foreach (var (name, fit) in models)
            {
                sw.Restart();
                var model = fit();
                double secs = sw.Elapsed.TotalSeconds;
                var score = model.Transform(test).GetColumn<float>("Score").ToArray();
                figures.Add(new ModelFigures(name, RankerMetrics.ExpectedAuc(score, attraction), RankerMetrics.Ndcg(score, relevance, req, 10),
                    RankerMetrics.ExposureGini(score, req, live, 3), secs));
            }
            log("");
            log($"| model ({trees} trees x 31 leaves, FastTree, 1 thread) | AUC vs TrueAttraction (expected) | nDCG@10 on TrueRelevance | exposure Gini top-3 over rooms | train s |");
            log("|---|---|---|---|---|");
            foreach (var f in figures)
                log(FormattableString.Invariant($"| {f.Name} | {f.ExpectedAuc:F4} | {f.Ndcg10:F4} | {f.Gini3:F4} | {f.TrainSeconds:F1} |"));
            return figures;
        }

        private sealed class RandomFlag
        {
            public bool IsRandomized { get; set; }
        }
    }
}
