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
    /// Debiasing method 3 on the live-stream simulator, where the truth is known: a naive single click tower against
    /// per-position towers (K = 5, serving tower 1; also the K+ tower's column) and against position-aware allocation from
    /// all towers (greedy slot by slot, and the exact assignment), same network, epochs and learning rate, several seeds.
    /// Metrics on held-out requests: expected AUC against TrueAttraction, nDCG@10 on TrueRelevance, exposure Gini over rooms,
    /// and the expected clicks of the re-ranked list of each request under the simulator's true examination x attraction.
    /// A synthetic section, where the position curve depends on the item, shows where allocation can help.
    /// Options: <c>--train-requests 8000 --test-requests 2000 --seeds 3 --setting both</c> (popular + default) | popular | default | synthetic | all.
    /// </summary>
    public sealed class DebiasPerPositionBench : IBench
    {
        public string Name => "debias-per-position";

        public string Description => "naive tower vs per-position towers vs greedy/optimal allocation, simulator + synthetic";

        private const int K = 5;

        private static readonly Option<long> TrainRequests = BenchOption.Of("--train-requests", 8000L, "training requests");
        private static readonly Option<long> TestRequests = BenchOption.Of("--test-requests", 2000L, "test requests");
        private static readonly Option<int> Seeds = BenchOption.Of("--seeds", 3, "worlds (seeds)");
        private static readonly Option<string> Setting = BenchOption.OneOf("--setting", "both", "which worlds", "both", "popular", "default", "synthetic", "all");

        public int Run(ParseResult args)
        {
            long trainRequests = args.GetValue(TrainRequests);
            long testRequests = args.GetValue(TestRequests);
            int seeds = args.GetValue(Seeds);
            string setting = args.GetValue(Setting)!;
            if (setting is "all" or "both" or "popular")
                Evaluate(trainRequests, testRequests, seeds, eta: 1.5, popularity: 1.5, Console.WriteLine);
            if (setting is "all" or "both" or "default")
                Evaluate(trainRequests, testRequests, seeds, eta: 1.0, popularity: 0.5, Console.WriteLine);
            if (setting is "all" or "synthetic")
                Synthetic(trainRequests, testRequests, seeds, Console.WriteLine);
            return 0;
        }

        /// <summary>Mean figures of one method over the seeds (and their standard deviations).</summary>
        public sealed record MethodFigures(string Name, double[] Auc, double[] Ndcg10, double[] Gini3, double[] Gini10, double[] Clicks);

        internal static MultiTaskEstimator.Options Options(int seed, PerPositionTowers? towers)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.SharedBottom,
                ExpertLayers = new[] { 64, 32 },
                TowerLayers = new[] { 16 },
                Epochs = 3,
                BatchSize = 256,
                LearningRate = 2e-3,
                ShuffleBufferSize = 50_000,
                Seed = seed,
                NumberOfThreads = 1,
            };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.UserId, 8));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, 8));
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click) { PerPositionTowers = towers });
            return o;
        }

        /// <summary>Test rows of one simulator setting, grouped by request.</summary>
        internal sealed class TestSet
        {
            public uint[] Request = Array.Empty<uint>();
            public uint[] Live = Array.Empty<uint>();
            public float[] Attraction = Array.Empty<float>();
            public float[] Relevance = Array.Empty<float>();
            public int[] Position = Array.Empty<int>();
            public double[] Examination = Array.Empty<double>();
            public List<int[]> Groups = new();

            public static TestSet From(IDataView test, IReadOnlyList<double> examination)
            {
                var t = new TestSet
                {
                    Request = test.GetColumn<uint>(ImpressionColumns.RequestId).ToArray(),
                    Live = test.GetColumn<uint>(ImpressionColumns.LiveId).ToArray(),
                    Attraction = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray(),
                    Relevance = test.GetColumn<float>(ImpressionColumns.TrueRelevance).ToArray(),
                    Position = test.GetColumn<int>(ImpressionColumns.Position).ToArray(),
                    Examination = examination.ToArray(),
                };
                var byRequest = new Dictionary<uint, List<int>>();
                var order = new List<uint>();
                for (int i = 0; i < t.Request.Length; i++)
                {
                    if (!byRequest.TryGetValue(t.Request[i], out var l))
                    {
                        byRequest[t.Request[i]] = l = new List<int>();
                        order.Add(t.Request[i]);
                    }
                    l.Add(i);
                }
                t.Groups = order.Select(r => byRequest[r].ToArray()).ToList();
                return t;
            }

            /// <summary>Mean over requests of Σ_slot examination(slot) x attraction(item at slot), for a list order per request.</summary>
            public double ExpectedClicks(Func<int[], int[]> orderOf)
            {
                double total = 0;
                foreach (var g in Groups)
                {
                    var order = orderOf(g);
                    for (int s = 0; s < order.Length; s++)
                        total += Examination[Math.Min(s, Examination.Length - 1)] * Attraction[g[order[s]]];
                }
                return total / Groups.Count;
            }

            /// <summary>The order of a request's rows by descending score (ties: row order).</summary>
            public static int[] ByScore(int[] g, float[] score)
                => Enumerable.Range(0, g.Length).OrderByDescending(i => score[g[i]]).ThenBy(i => i).ToArray();

            /// <summary>A score per row from an order per request: the first slot gets the highest score.</summary>
            public float[] ScoreOf(Func<int[], int[]> orderOf)
            {
                var score = new float[Request.Length];
                foreach (var g in Groups)
                {
                    var order = orderOf(g);
                    for (int s = 0; s < order.Length; s++)
                        score[g[order[s]]] = order.Length - s;
                }
                return score;
            }

            public (double Auc, double Ndcg, double Gini3, double Gini10) Metrics(float[] score, bool auc = true)
                => (auc ? RankerMetrics.ExpectedAuc(score, Attraction) : double.NaN,
                    RankerMetrics.Ndcg(score, Relevance, Request, 10),
                    RankerMetrics.ExposureGini(score, Request, Live, 3),
                    RankerMetrics.ExposureGini(score, Request, Live, 10, Examination));
        }

        public static List<MethodFigures> Evaluate(long trainRequests, long testRequests, int seeds, double eta, double popularity, Action<string> log)
        {
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions
            {
                Seed = 42, RequestCount = trainRequests + testRequests, PositionBiasExponent = eta, PolicyPopularityWeight = popularity,
            });
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, testRequests));
            var t = TestSet.From(test, sim.World.TrueExaminationCurve);
            int listSize = sim.Options.ListSize;
            log("");
            log($"## Simulator η = {eta}, policy popularity weight {popularity}: {trainRequests:N0} training / {testRequests:N0} test requests x {listSize} positions; per-position towers K = {K} (+ K+), {seeds} seeds");
            log("");

            var methods = new Dictionary<string, List<(double Auc, double Ndcg, double Gini3, double Gini10, double Clicks)>>();
            void Add(string name, (double Auc, double Ndcg, double Gini3, double Gini10) m, double clicks)
            {
                if (!methods.TryGetValue(name, out var l))
                    methods[name] = l = new();
                l.Add((m.Auc, m.Ndcg, m.Gini3, m.Gini10, clicks));
            }

            // references (no model): the logged order and the oracle order by true attraction
            var logged = t.Position.Select(p => (float)-p).ToArray();
            var oracle = t.Attraction.ToArray();
            var times = new Dictionary<string, double>();
            for (int seed = 1; seed <= seeds; seed++)
            {
                Add("logging policy (as shown)", t.Metrics(logged), t.ExpectedClicks(g => TestSet.ByScore(g, logged)));
                Add("oracle: sorted by TrueAttraction", t.Metrics(oracle), t.ExpectedClicks(g => TestSet.ByScore(g, oracle)));

                var sw = Stopwatch.StartNew();
                using (var naive = ml.Ranker().Trainers.MultiTask(Options(seed, null)).Fit(train))
                {
                    times["naive"] = times.GetValueOrDefault("naive") + sw.Elapsed.TotalSeconds;
                    var s = Flat(naive.Transform(test), "ClickScore");
                    Add("naive single tower", t.Metrics(s), t.ExpectedClicks(g => TestSet.ByScore(g, s)));
                }
                sw.Restart();
                using var towers = ml.Ranker().Trainers.MultiTask(Options(seed, new PerPositionTowers(ImpressionColumns.Position, K) { OutputAllPositions = true })).Fit(train);
                times["towers"] = times.GetValueOrDefault("towers") + sw.Elapsed.TotalSeconds;
                var scored = towers.Transform(test);
                var serve = Flat(scored, "ClickScore");
                var all = Flat(scored, "ClickPositionScores");
                var probs = Flat(scored, "ClickPositionProbabilities");
                int w = K + 1;
                Add("per-position towers, serving tower 1", t.Metrics(serve), t.ExpectedClicks(g => TestSet.ByScore(g, serve)));
                var kplus = Enumerable.Range(0, t.Request.Length).Select(i => all[i * w + K]).ToArray();
                Add("per-position towers, K+ tower's column", t.Metrics(kplus), t.ExpectedClicks(g => TestSet.ByScore(g, kplus)));
                var mean = Enumerable.Range(0, t.Request.Length).Select(i => (float)Enumerable.Range(0, w).Average(j => all[i * w + j])).ToArray();
                Add("per-position towers, mean of the towers' logits", t.Metrics(mean), t.ExpectedClicks(g => TestSet.ByScore(g, mean)));
                int[] Slice(int[] g, Func<float[], int, int, int[]> allocate)
                {
                    var p = new float[g.Length * w];
                    for (int i = 0; i < g.Length; i++)
                        Array.Copy(probs, g[i] * w, p, i * w, w);
                    return allocate(p, g.Length, g.Length);
                }
                Func<int[], int[]> greedy = g => Slice(g, (p, n, s) => PositionAllocation.Greedy(p, n, s));
                Func<int[], int[]> optimal = g => Slice(g, (p, n, s) => PositionAllocation.Optimal(p, n, s));
                sw.Restart();
                _ = t.Groups.Select(greedy).ToList();
                times["greedy"] = times.GetValueOrDefault("greedy") + sw.Elapsed.TotalSeconds;
                sw.Restart();
                _ = t.Groups.Select(optimal).ToList();
                times["optimal"] = times.GetValueOrDefault("optimal") + sw.Elapsed.TotalSeconds;
                Add("allocation, greedy over the towers", t.Metrics(t.ScoreOf(greedy), auc: false), t.ExpectedClicks(greedy));
                Add("allocation, optimal over the towers", t.Metrics(t.ScoreOf(optimal), auc: false), t.ExpectedClicks(optimal));
                log($"seed {seed} done (naive {times["naive"] / seed:F0} s, towers {times["towers"] / seed:F0} s per training so far)");
            }

            log("");
            log("| method | AUC vs TrueAttraction (expected) | nDCG@10 on TrueRelevance | exposure Gini top-3 | exposure Gini @10 (true examination) | expected clicks per request | vs oracle |");
            log("|---|---|---|---|---|---|---|");
            double oracleClicks = methods["oracle: sorted by TrueAttraction"].Average(x => x.Clicks);
            var result = new List<MethodFigures>();
            foreach (var (name, l) in methods)
            {
                var f = new MethodFigures(name, l.Select(x => x.Auc).ToArray(), l.Select(x => x.Ndcg).ToArray(), l.Select(x => x.Gini3).ToArray(),
                    l.Select(x => x.Gini10).ToArray(), l.Select(x => x.Clicks).ToArray());
                result.Add(f);
                log($"| {name} | {Pm(f.Auc)} | {Pm(f.Ndcg10)} | {Pm(f.Gini3)} | {Pm(f.Gini10)} | {Pm(f.Clicks)} | {f.Clicks.Average() / oracleClicks:P1} |");
            }
            log("");
            log(FormattableString.Invariant($"training s per model (mean over seeds, 1 libtorch thread, machine under load): naive {times["naive"] / seeds:F1}, per-position towers {times["towers"] / seeds:F1}; allocation of all test requests: greedy {times["greedy"] / seeds * 1000:F0} ms, optimal {times["optimal"] / seeds * 1000:F0} ms ({t.Groups.Count} requests)"));
            return result;
        }

        // ---------------------------------------------------------------- a world where the position curve depends on the item

        private sealed class SynRow
        {
            [VectorType(3)] public float[] Features { get; set; } = new float[3];
            public int Position { get; set; }
            public bool Click { get; set; }
        }

        /// <summary>
        /// The simulator's click model is position-based (examination depends on the position only), where no allocation
        /// can beat sorting by attraction. Here half of the items ("steep", Features[2] = 1) are examined as 1/p^2 and the
        /// others ("flat") as 1/p^0.3, attraction = sigmoid(x0 + 0.5 x1 - 1); lists of 10 are shown in random order (no
        /// confounding). Expected clicks of the re-ranked test lists under the true p(click | item, slot).
        /// </summary>
        public static void Synthetic(long trainRequests, long testRequests, int seeds, Action<string> log)
        {
            const int n = 10;
            static double Exam(bool steep, int slot) => Math.Pow(1.0 / (slot + 1), steep ? 2.0 : 0.3);
            (List<SynRow> Rows, double[] Attr, bool[] Steep) Make(long requests, int seed)
            {
                var rng = new Random(seed);
                var rows = new List<SynRow>();
                var attr = new List<double>();
                var steep = new List<bool>();
                for (long r = 0; r < requests; r++)
                {
                    var slots = Enumerable.Range(0, n).OrderBy(_ => rng.Next()).ToArray();
                    for (int i = 0; i < n; i++)
                    {
                        float x0 = (float)(rng.NextDouble() * 4 - 2), x1 = (float)(rng.NextDouble() * 4 - 2);
                        bool st = rng.Next(2) == 0;
                        double a = 1 / (1 + Math.Exp(-(x0 + 0.5 * x1 - 1)));
                        rows.Add(new SynRow { Features = new[] { x0, x1, st ? 1f : 0f }, Position = slots[i] + 1, Click = rng.NextDouble() < a * Exam(st, slots[i]) });
                        attr.Add(a);
                        steep.Add(st);
                    }
                }
                return (rows, attr.ToArray(), steep.ToArray());
            }
            var ml = new MLContext(1);
            var (trainRows, _, _) = Make(trainRequests, 1);
            var (testRows, attrT, steepT) = Make(testRequests, 2);
            var train = ml.Data.LoadFromEnumerable(trainRows);
            var test = ml.Data.LoadFromEnumerable(testRows);
            // truth matrix of a test request: p(click | candidate i, slot s)
            float[] Truth(int r)
            {
                var p = new float[n * n];
                for (int i = 0; i < n; i++)
                    for (int s2 = 0; s2 < n; s2++)
                        p[i * n + s2] = (float)(attrT[r * n + i] * Exam(steepT[r * n + i], s2));
                return p;
            }
            double Clicks(Func<int, int[]> orderOf)
            {
                double total = 0;
                for (int r = 0; r < testRequests; r++)
                    total += PositionAllocation.Value(Truth(r), n, orderOf(r));
                return total / testRequests;
            }
            int[] ByScore(int r, float[] score) => Enumerable.Range(0, n).OrderByDescending(i => score[r * n + i]).ThenBy(i => i).ToArray();
            var res = new Dictionary<string, List<double>>();
            void Add(string name, double v)
            {
                if (!res.TryGetValue(name, out var l))
                    res[name] = l = new();
                l.Add(v);
            }
            log("");
            log($"## Item-dependent position curves (synthetic): {trainRequests:N0} training / {testRequests:N0} test lists of {n}, random logging order, K = {K}, {seeds} seeds");
            log("");
            for (int seed = 1; seed <= seeds; seed++)
            {
                MultiTaskEstimator.Options O(PerPositionTowers? t)
                {
                    var o = new MultiTaskEstimator.Options
                    {
                        Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 64, 32 }, TowerLayers = new[] { 16 },
                        Epochs = 3, BatchSize = 256, LearningRate = 2e-3, ShuffleBufferSize = 50_000, Seed = seed, NumberOfThreads = 1,
                    };
                    o.Features.Add(new DenseFeature("Features"));
                    o.Tasks.Add(new TaskSpec("Click", "Click") { PerPositionTowers = t });
                    return o;
                }
                Add("oracle: exact assignment on the true p(click at slot)", Clicks(r => PositionAllocation.Optimal(Truth(r), n, n)));
                Add("oracle: sorted by true attraction", Clicks(r => Enumerable.Range(0, n).OrderByDescending(i => attrT[r * n + i]).ToArray()));
                using (var naive = ml.Ranker().Trainers.MultiTask(O(null)).Fit(train))
                {
                    var sN = Flat(naive.Transform(test), "ClickScore");
                    Add("naive single tower", Clicks(r => ByScore(r, sN)));
                }
                using var towers = ml.Ranker().Trainers.MultiTask(O(new PerPositionTowers("Position", K) { OutputAllPositions = true })).Fit(train);
                var scored = towers.Transform(test);
                var s1 = Flat(scored, "ClickScore");
                var probs = Flat(scored, "ClickPositionProbabilities");
                int w = K + 1;
                Add("per-position towers, serving tower 1", Clicks(r => ByScore(r, s1)));
                float[] Req(int r) => probs.AsSpan(r * n * w, n * w).ToArray();
                Add("allocation, greedy over the towers", Clicks(r => PositionAllocation.Greedy(Req(r), n, n)));
                Add("allocation, optimal over the towers", Clicks(r => PositionAllocation.Optimal(Req(r), n, n)));
            }
            double best = res["oracle: exact assignment on the true p(click at slot)"].Average();
            log("| method | expected clicks per list | vs exact oracle |");
            log("|---|---|---|");
            foreach (var (name, l) in res)
                log($"| {name} | {Pm(l.ToArray())} | {l.Average() / best:P1} |");
        }

        private static float[] Flat(IDataView view, string name) => view.GetColumn<float[]>(view.Schema[name]).SelectMany(v => v).ToArray();

        private static string Pm(double[] v)
        {
            if (v.All(double.IsNaN))
                return "—";
            double m = v.Average();
            double sd = v.Length > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Length - 1)) : 0;
            return sd < 5e-5 ? FormattableString.Invariant($"{m:F4}") : FormattableString.Invariant($"{m:F4} ± {sd:F4}");
        }
    }
}
