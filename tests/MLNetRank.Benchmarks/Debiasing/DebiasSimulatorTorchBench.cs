using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Debiasing
{
    /// <summary>
    /// Position debiasing in the multi-task (TorchSharp) trainer on the live-stream simulator, where the truth is known:
    /// naive vs position as a feature (neutral position 1) vs an additive position-bias tower vs PAL's product form vs IPS
    /// weights, all with the same network, data and budget, over several seeds. Metrics on held-out requests: expected AUC of
    /// the score against <c>TrueAttraction</c> (position-free click probability), nDCG@10 of each request's shown rooms on
    /// <c>TrueRelevance</c>, and the exposure Gini over rooms (DCG-weighted exposure of each request's top 10 and top 3).
    /// </summary>
    public sealed class DebiasSimulatorTorchBench : IBench
    {
        public string Name => "debias-simulator-torch";

        public string Description => "naive vs position-as-feature vs bias tower vs PAL vs IPS in the multi-task trainer on the simulator (--curve: the training-length curve)";

        private static readonly Option<bool> CurveMode = BenchOption.Flag("--curve", "the training-length curve instead of the comparison");
        private static readonly Option<long> Requests = BenchOption.Of("--requests", 20000L, "simulator requests");
        private static readonly Option<double?> Eta = BenchOption.Optional<double?>("--eta", "position-bias severity η (default 1.0; 1.5 with --curve)");
        private static readonly Option<double?> Popularity = BenchOption.Optional<double?>("--popularity", "logging policy's popularity weight (default 0.5; 1.5 with --curve)");
        private static readonly Option<int> Seeds = BenchOption.Of("--seeds", 3, "worlds (seeds)");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 4, "epochs");

        public int Run(ParseResult args)
        {
            if (args.GetValue(CurveMode))
            {
                Curve(args.GetValue(Requests), args.GetValue(Eta) ?? 1.5, args.GetValue(Popularity) ?? 1.5, args.GetValue(Epochs));
                return 0;
            }
            long requests = args.GetValue(Requests);
            double eta = args.GetValue(Eta) ?? 1.0;
            double popularity = args.GetValue(Popularity) ?? 0.5;
            int seeds = args.GetValue(Seeds);
            int epochs = args.GetValue(Epochs);
            Evaluate(requests, eta, popularity, seeds, epochs, Console.WriteLine);
            return 0;
        }

        /// <summary>The compared models: name and how each changes the shared options.</summary>
        public static IReadOnlyList<(string Name, Action<MultiTaskEstimator.Options> Configure)> Models { get; } = new List<(string, Action<MultiTaskEstimator.Options>)>
        {
            ("naive (raw clicks)", _ => { }),
            ("position as feature (neutral 1)", o => o.Features.Add(new PositionFeature(ImpressionColumns.Position) { NeutralPosition = 1 })),
            ("bias tower, additive", o => o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower(ImpressionColumns.Position))),
            ("PAL (bias tower, product)", o => o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower(ImpressionColumns.Position) { Combine = BiasCombination.Product })),
            ("IPS weights (randomization propensities, clip 20, normalized)", o => o.ExampleWeightColumnName = "Weight"),
        };

        /// <summary>The shared network and budget: shared-bottom [64, 32], tower [16], one Click task.</summary>
        public static MultiTaskEstimator.Options BaseOptions(int seed, int epochs)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.SharedBottom,
                ExpertLayers = new[] { 64, 32 },
                TowerLayers = new[] { 16 },
                Epochs = epochs,
                BatchSize = 256,
                LearningRate = 2e-3,
                ShuffleBufferSize = 50_000,
                Seed = seed,
                NumberOfThreads = 1,
            };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.UserId, 8));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, 8));
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
            return o;
        }

        /// <summary>Per model, per seed: expected AUC vs TrueAttraction, nDCG@10 on TrueRelevance, Gini@10, Gini@3, train seconds.</summary>
        public static Dictionary<string, List<double[]>> Evaluate(long requests, double eta, double popularity, int seeds, int epochs, Action<string> log)
        {
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 42, RequestCount = requests, PositionBiasExponent = eta, PolicyPopularityWeight = popularity });
            long trainRequests = requests * 4 / 5;
            var raw = sim.GetImpressions(ml, 0, trainRequests);
            int k = sim.World.TrueExaminationCurve.Count;
            var ips = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options { RandomizedColumnName = "IsRandomized", MaximumPosition = k - 1 })
                .Append(ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightEstimator.Options { MaximumWeight = 20, NormalizeOverClicks = true }))
                .Fit(raw);
            var train = ml.Data.Cache(ips.Transform(raw));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, requests - trainRequests));
            var req = test.GetColumn<uint>(ImpressionColumns.RequestId).ToArray();
            var live = test.GetColumn<uint>(ImpressionColumns.LiveId).ToArray();
            var attraction = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            var relevance = test.GetColumn<float>(ImpressionColumns.TrueRelevance).ToArray();
            var position = test.GetColumn<int>(ImpressionColumns.Position).ToArray();
            log($"simulator seed 42: {requests} requests x {k} positions, eta {eta}, policy popularity weight {popularity}, randomized share {sim.Options.RandomizedShare}; train {trainRequests} requests, test {requests - trainRequests}; {seeds} seeds, {epochs} epochs");
            var results = new Dictionary<string, List<double[]>>();
            double[] Figures(float[] score, double secs) => new[]
            {
                RankerMetrics.ExpectedAuc(score, attraction), RankerMetrics.Ndcg(score, relevance, req, 10),
                RankerMetrics.ExposureGini(score, req, live, 10), RankerMetrics.ExposureGini(score, req, live, 3), secs,
            };
            var logged = position.Select(p => (float)-p).ToArray();
            results["logging policy (as shown)"] = new List<double[]> { Figures(logged, 0) };
            foreach (var (name, configure) in Models)
            {
                var list = results[name] = new List<double[]>();
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var o = BaseOptions(seed, epochs);
                    configure(o);
                    var sw = Stopwatch.StartNew();
                    using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                    double secs = sw.Elapsed.TotalSeconds;
                    var score = model.Transform(test).GetColumn<float[]>("ClickScore").Select(v => v[0]).ToArray();
                    list.Add(Figures(score, secs));
                    log(FormattableString.Invariant($"  {name}, seed {seed}: AUC {list[^1][0]:F4}, nDCG@10 {list[^1][1]:F4}, Gini@10 {list[^1][2]:F4}, {secs:F0} s"));
                }
            }
            log("");
            log($"| model (shared-bottom [64, 32], tower [16], {epochs} epochs, 1 thread) | AUC vs TrueAttraction (expected) | nDCG@10 on TrueRelevance | exposure Gini top-10 | exposure Gini top-3 | train s |");
            log("|---|---|---|---|---|---|");
            foreach (var (name, rows) in results)
                log($"| {name} | {Pm(rows, 0)} | {Pm(rows, 1)} | {Pm(rows, 2)} | {Pm(rows, 3)} | {rows.Average(r => r[4]).ToString("F0", CultureInfo.InvariantCulture)} |");
            return results;
        }

        /// <summary>The examination curve learned by PAL's tower, σ(tower logit) per position relative to position 1, against
        /// the simulator's (training-time probability / served probability = p(seen | position) on every row).</summary>
        public static void Curve(long requests, double eta, double popularity, int epochs)
        {
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 42, RequestCount = requests, PositionBiasExponent = eta, PolicyPopularityWeight = popularity });
            long trainRequests = requests * 4 / 5;
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, requests - trainRequests));
            var truth = sim.World.TrueExaminationCurve;
            var position = test.GetColumn<int>(ImpressionColumns.Position).ToArray();
            Console.WriteLine($"simulator seed 42: {requests} requests, eta {eta}, policy popularity weight {popularity}; PAL tower (MaximumPosition 10), {epochs} epochs, seeds 1-3");
            var curves = new List<double[]>();
            for (int seed = 1; seed <= 3; seed++)
            {
                var o = BaseOptions(seed, epochs);
                o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new PositionBiasTower(ImpressionColumns.Position) { Combine = BiasCombination.Product });
                using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                var served = model.TorchOutputs(test, training: false)[1];
                var observed = model.TorchOutputs(test, training: true)[1];
                var seen = new double[truth.Count];
                for (int k = 0; k < truth.Count; k++)
                {
                    int i = Array.IndexOf(position, k + 1);
                    seen[k] = observed[i] / served[i];
                }
                curves.Add(seen.Select(x => x / seen[0]).ToArray());
            }
            Console.WriteLine();
            Console.WriteLine("| position | true θ_k/θ_1 | PAL σ(tower)_k/σ(tower)_1, seeds 1 / 2 / 3 | abs err (mean) |");
            Console.WriteLine("|---|---|---|---|");
            for (int k = 0; k < truth.Count; k++)
            {
                double t = truth[k] / truth[0];
                double mean = curves.Average(c => c[k]);
                Console.WriteLine(FormattableString.Invariant($"| {k + 1} | {t:F4} | {string.Join(" / ", curves.Select(c => c[k].ToString("F4", CultureInfo.InvariantCulture)))} | {Math.Abs(mean - t):F4} |"));
            }
            double rmse = Math.Sqrt(Enumerable.Range(0, truth.Count).Average(k => Math.Pow(curves.Average(c => c[k]) - truth[k] / truth[0], 2)));
            Console.WriteLine(FormattableString.Invariant($"| RMSE (mean curve) | | | {rmse:F4} |"));
        }

        private static string Pm(List<double[]> rows, int i)
        {
            var v = rows.Select(r => r[i]).ToArray();
            double mean = v.Average();
            if (v.Length < 2)
                return mean.ToString("F4", CultureInfo.InvariantCulture);
            double sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / (v.Length - 1));
            return FormattableString.Invariant($"{mean:F4} ± {sd:F4}");
        }
    }
}
