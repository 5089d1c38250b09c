using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Torch
{
    /// <summary>
    /// Quality of the multi-task trainer: (1) architectures on synthetic impressions with known click and conversion
    /// probabilities (sparse conversions, partially related tasks); (2) ESMM vs a clicked-only CVR model over the entire
    /// space; (3) uncertainty weighting vs a grid of fixed weights; (4) UCI Census-Income (KDD) per-task AUC for each
    /// architecture, next to published figures; (5) the simulator: architectures and ESMM. Args:
    /// [section=all|arch|esmm|weights|census|sim|esmm-sim|esmm-epochs] [seeds=3] [simulator training requests: sim 6000, weights and esmm-sim 4000];
    /// <c>esmm-epochs</c> also takes <c>only=early|mmoe|paper|separate</c> (a subset of its rows), <c>worlds=K</c> (simulator seeds
    /// 2024.. 2024+K-1) and <c>data=synthetic</c> (the <c>esmm</c> section's synthetic impressions instead of the simulator). <c>sim-sweep key=value ...</c> (not in "all") sweeps architectures x task
    /// relatedness x data size on the simulator, see <see cref="SimulatorSweep"/>.
    /// </summary>
    public sealed class MultiTaskQualityBench : IBench
    {
        public string Name => "multitask-quality";

        public string Description => "Multi-task quality: architectures, ESMM, uncertainty weighting (synthetic truth) and Census-Income AUC";

        private static readonly Option<string> SectionOption = BenchOption.OneOf("--section", "all", "what to run (all: arch, esmm, weights, census, sim)",
            "all", "arch", "esmm", "weights", "esmm-epochs", "esmm-sim", "census", "sim", "sim-sweep");
        private static readonly Option<int> SeedsOption = BenchOption.Of("--seeds", 3, "seeds (worlds)");
        private static readonly Option<long[]> RequestsOption = BenchOption.List("--requests", Array.Empty<long>(),
            "simulator requests (default 4000; sim: 6000); sim-sweep takes a list; esmm-epochs with --data synthetic: training impressions");
        private static readonly Option<string> OnlyOption = BenchOption.OneOf("--only", "", "esmm-epochs: only one variant", "", "early", "mmoe", "paper", "separate");
        private static readonly Option<int> WorldsOption = BenchOption.Of("--worlds", 1, "esmm-epochs: worlds");
        private static readonly Option<string> DataOption = BenchOption.OneOf("--data", "sim", "esmm-epochs: data", "sim", "synthetic");
        private static readonly Option<int> FirstOption = BenchOption.Of("--first", 1, "sim-sweep: first seed");
        private static readonly Option<double[]> RhoOption = BenchOption.List("--rho", new[] { 0, 0.3, 0.5, 0.8 }, "sim-sweep: task relatedness ρ values");
        private static readonly Option<string[]> ModelsOption = BenchOption.List("--models", new[] { "single", "shared", "shared-wide", "mmoe", "cgc", "ple" }, "sim-sweep: models");
        private static readonly Option<string> TasksOption = BenchOption.Of("--tasks", "cb", "sim-sweep: tasks (c click, b buy, f follow, s stay time; cvr: click + CVR)");
        private static readonly Option<int> EpochsOption = BenchOption.Of("--epochs", 4, "sim-sweep: epochs");
        private static readonly Option<double> LrOption = BenchOption.Of("--lr", 0.002, "sim-sweep: Adam learning rate");
        private static readonly Option<long> TestOption = BenchOption.Of("--test", 3000L, "sim-sweep: test requests");
        private static readonly Option<int> ThreadsOption = BenchOption.Of("--threads", 1, "sim-sweep: threads");
        private static readonly Option<float> ValidOption = BenchOption.Of("--valid", 0f, "sim-sweep: validation fraction (early stopping)");
        private static readonly Option<int> PatienceOption = BenchOption.Of("--patience", 0, "sim-sweep: early-stopping patience");
        private static readonly Option<string> StopOption = BenchOption.Of("--stop", "Loss", "sim-sweep: early-stopping metric");

        public int Run(ParseResult args)
        {
            string section = args.GetValue(SectionOption)!;
            if (section is "sim-sweep")
            {
                SimulatorSweep(args);
                return 0;
            }
            int seeds = args.GetValue(SeedsOption);
            var requestList = args.GetValue(RequestsOption)!;
            long Requests(long fallback) => requestList.Length > 0 ? requestList[0] : fallback;
            if (section is "all" or "arch")
                Architectures(seeds);
            if (section is "all" or "esmm")
                Esmm(seeds);
            if (section is "all" or "weights")
                Weights(seeds, Requests(4000));
            if (section is "esmm-epochs")
                EsmmEpochs(seeds, Requests(4000), args.GetValue(OnlyOption)!, args.GetValue(WorldsOption), args.GetValue(DataOption) == "synthetic");
            if (section is "esmm-sim")
            {
                long requests = Requests(4000);
                var ml = new MLContext(1);
                var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 2024, RequestCount = requests + 3000 });
                EsmmSimulator(ml, ml.Data.Cache(sim.GetImpressions(ml, 0, requests)), ml.Data.Cache(sim.GetImpressions(ml, requests, 3000)), seeds);
            }
            if (section is "all" or "census")
                Census();
            if (section is "all" or "sim")
                Simulator(seeds, Requests(6000));
            return 0;
        }

        // ---------------------------------------------------------------- synthetic impressions with known truth

        private sealed class Impression
        {
            [VectorType(6)] public float[] Features { get; set; } = new float[6];
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            public bool Click { get; set; }
            public bool Buy { get; set; }
            public float TrueCtr { get; set; }
            public float TrueCvr { get; set; }
        }

        private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

        private static List<Impression> Make(int n, int seed, double buyBias)
        {
            var world = new Random(12345);
            var userBias = Enumerable.Range(0, 200).Select(_ => world.NextDouble() * 2 - 1).ToArray();
            var liveBias = Enumerable.Range(0, 100).Select(_ => world.NextDouble() * 2 - 1).ToArray();
            var rng = new Random(seed);
            var rows = new List<Impression>(n);
            for (int i = 0; i < n; i++)
            {
                var f = Enumerable.Range(0, 6).Select(_ => (float)Normal(rng)).ToArray();
                uint user = (uint)rng.Next(200), live = (uint)rng.Next(100);
                double shared = Math.Tanh(f[0] * f[1]) * 1.5 + 0.8 * f[2];
                double ctr = 1 / (1 + Math.Exp(-(shared + 0.5 * f[3] + 0.7 * userBias[user] + 0.5 * liveBias[live] - 0.5)));
                double cvr = 1 / (1 + Math.Exp(-(1.2 * shared - 0.6 * f[4] + 0.5 * liveBias[live] + buyBias)));
                bool click = rng.NextDouble() < ctr;
                rows.Add(new Impression
                {
                    Features = f, UserId = user, LiveId = live, Click = click, Buy = click && rng.NextDouble() < cvr,
                    TrueCtr = (float)ctr, TrueCvr = (float)cvr,
                });
            }
            return rows;
        }

        private static MultiTaskEstimator.Options Options(MultiTaskArchitecture arch, int seed, int epochs = 8)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = arch, ExpertLayers = new[] { 32, 16 }, TowerLayers = new[] { 8 }, Experts = 4,
                SharedExperts = 2, TaskExperts = 1, Levels = 1, Epochs = epochs, BatchSize = 128, LearningRate = 0.005,
                ShuffleBufferSize = 10_000, Seed = seed, NumberOfThreads = 2,
            };
            o.Features.Add(new DenseFeature("Features"));
            o.Features.Add(new CategoricalFeature("UserId", 4));
            o.Features.Add(new CategoricalFeature("LiveId", 4));
            return o;
        }

        /// <summary>AUC against the true probability: the library's one implementation (<see cref="RankerMetrics.ExpectedAuc"/>).</summary>
        private static double ExpectedAuc(float[] scores, float[] truth) => RankerMetrics.ExpectedAuc(scores, truth);

        private static float[] Col(IDataView v, string name) => v.GetColumn<float[]>(v.Schema[name]).Select(a => a[0]).ToArray();

        private static string Pm(IList<double> xs)
        {
            double m = xs.Average();
            double sd = xs.Count > 1 ? Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1)) : 0;
            return $"{m:F4} ± {sd:F4}";
        }

        private static void Architectures(int seeds)
        {
            var ml = new MLContext(1);
            var train = ml.Data.LoadFromEnumerable(Make(20_000, 1, -3.0));
            var testRows = Make(20_000, 2, -3.0);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var buyTruth = testRows.Select(r => r.TrueCtr * r.TrueCvr).ToArray();
            var clickTruth = testRows.Select(r => r.TrueCtr).ToArray();
            Console.WriteLine();
            Console.WriteLine($"## Architectures: 20,000 training impressions, buy rate {testRows.Average(r => r.Buy ? 1.0 : 0):P1}, expected AUC vs the true probability on 20,000 test impressions, {seeds} seeds (mean ± sd)");
            Console.WriteLine();
            Console.WriteLine("| architecture | Buy (sparse) | Click | train s |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var arch in new[] { MultiTaskArchitecture.SingleTask, MultiTaskArchitecture.SharedBottom, MultiTaskArchitecture.MMoE, MultiTaskArchitecture.Ple })
            {
                var buy = new List<double>();
                var click = new List<double>();
                var sw = Stopwatch.StartNew();
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var o = Options(arch, seed);
                    o.Tasks.Add(new TaskSpec("Click", "Click"));
                    o.Tasks.Add(new TaskSpec("Buy", "Buy"));
                    using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                    var scored = m.Transform(test);
                    buy.Add(ExpectedAuc(Col(scored, "BuyProbability"), buyTruth));
                    click.Add(ExpectedAuc(Col(scored, "ClickProbability"), clickTruth));
                }
                Console.WriteLine($"| {arch} | {Pm(buy)} | {Pm(click)} | {sw.Elapsed.TotalSeconds / seeds:F1} |");
            }
        }

        private static void Esmm(int seeds)
        {
            var ml = new MLContext(1);
            var train = ml.Data.LoadFromEnumerable(Make(20_000, 3, -0.5));
            var testRows = Make(20_000, 4, -0.5);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var truth = new EsmmTruth(
                testRows.Select(r => r.TrueCvr).ToArray(), testRows.Select(r => r.TrueCtr * r.TrueCvr).ToArray(),
                testRows.Select(r => r.Click).ToArray(), testRows.Select(r => r.Buy).ToArray());
            Console.WriteLine();
            Console.WriteLine($"## ESMM: CVR over the entire space (synthetic, 20,000 training impressions, click rate {testRows.Average(r => r.Click ? 1.0 : 0):P1}, buy rate {testRows.Average(r => r.Buy ? 1.0 : 0):P2}), {seeds} seeds");
            EsmmCompare(ml, train, test, truth, seeds, (arch, seed) => Options(arch, seed), new[] { MultiTaskArchitecture.SharedBottom, MultiTaskArchitecture.SingleTask }, "Click", "Buy");
        }

        private sealed record EsmmTruth(float[] Cvr, float[] Ctcvr, bool[] Click, bool[] Buy);

        private sealed class ClickBuyRow
        {
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }

        private sealed class BuyIfClickedRow
        {
            public float BuyIfClicked { get; set; }
        }

        /// <summary>ESMM, ESMM + ESCM²-IPS, the same network with Buy trained on clicked rows only, and a separate clicked-only CVR
        /// network: same options, epochs and training rows. pCVR is judged against the true P(buy | click) on all test impressions
        /// and on the clicked ones (also against the observed Buy label there: the ESMM paper's protocol); pCTCVR against the true
        /// P(click and buy) on all test impressions.</summary>
        private static void EsmmCompare(MLContext ml, IDataView train, IDataView test, EsmmTruth truth, int seeds,
            Func<MultiTaskArchitecture, int, MultiTaskEstimator.Options> options, MultiTaskArchitecture[] archs, string click, string buy, string? position = null)
        {
            var baseOptions = options;
            options = (a, seed) => { var o = baseOptions(a, seed); o.NumberOfThreads = 1; return o; };
            // Buy label only on clicked rows (NaN = no label): the multi-task "clicked-only CVR" baseline on the same network
            var masked = ml.Transforms.CustomMapping<ClickBuyRow, BuyIfClickedRow>((i, o) => o.BuyIfClicked = i.Click ? (i.Buy ? 1f : 0f) : float.NaN, null)
                .Fit(train).Transform(train);
            var clickedTrain = ml.Data.FilterByCustomPredicate<ClickRow>(train, r => !r.Click);
            int[] clickedIdx = Enumerable.Range(0, truth.Click.Length).Where(i => truth.Click[i]).ToArray();
            var models = new List<(string Name, Func<int, (float[] Cvr, float[]? Ctcvr)> Fit)>();
            foreach (var arch in archs)
            {
                models.Add(($"ESMM ({arch}, Buy conditioned on Click)", seed => EsmmFit(ml, train, test, options(arch, seed), click, buy, 0f)));
                models.Add(($"ESMM + ESCM²-IPS, λ = 0.3 ({arch})", seed => EsmmFit(ml, train, test, options(arch, seed), click, buy, 0.3f)));
                models.Add(($"ESMM + ESCM²-IPS, λ = 1 ({arch})", seed => EsmmFit(ml, train, test, options(arch, seed), click, buy, 1f)));
                if (position is not null)
                    models.Add(($"ESMM + training-only position tower on Click ({arch})", seed => EsmmFit(ml, train, test, options(arch, seed), click, buy, 0f, position)));
                models.Add(($"same network, Buy on clicked rows only ({arch}; pCTCVR = pCTR x pCVR)", seed =>
                {
                    var o = options(arch, seed);
                    o.Tasks.Add(new TaskSpec("Click", click));
                    o.Tasks.Add(new TaskSpec("Buy", "BuyIfClicked"));
                    using var m = ml.Ranker().Trainers.MultiTask(o).Fit(masked);
                    var s = m.Transform(test);
                    var cvr = Col(s, "BuyProbability");
                    return (cvr, Col(s, "ClickProbability").Zip(cvr, (a, b) => a * b).ToArray());
                }));
            }
            models.Add(("separate CVR network on clicked impressions only (its own training run)", seed =>
            {
                var o = options(MultiTaskArchitecture.SingleTask, seed);
                o.Tasks.Add(new TaskSpec("Buy", buy));
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(clickedTrain);
                return (Col(m.Transform(test), "BuyProbability"), null);
            }));
            Console.WriteLine();
            Console.WriteLine("| model | pCVR, all impressions (vs true CVR) | pCVR, clicked impressions (vs true CVR) | pCVR, clicked, observed Buy AUC | pCTCVR, all (vs true CTCVR) | s per fit |");
            Console.WriteLine("|---|---|---|---|---|---|");
            var clickedCvrTruth = clickedIdx.Select(i => truth.Cvr[i]).ToArray();
            var clickedBuy = clickedIdx.Select(i => truth.Buy[i]).ToArray();
            foreach (var (name, fit) in models)
            {
                var all = new List<double>();
                var clk = new List<double>();
                var obs = new List<double>();
                var joint = new List<double>();
                var sw = Stopwatch.StartNew();
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var (cvr, ctcvr) = fit(seed);
                    all.Add(ExpectedAuc(cvr, truth.Cvr));
                    var c = clickedIdx.Select(i => cvr[i]).ToArray();
                    clk.Add(ExpectedAuc(c, clickedCvrTruth));
                    obs.Add(RankerMetrics.Auc(c, clickedBuy));
                    if (ctcvr is not null)
                        joint.Add(ExpectedAuc(ctcvr, truth.Ctcvr));
                }
                Console.WriteLine($"| {name} | {Pm(all)} | {Pm(clk)} | {Pm(obs)} | {(joint.Count > 0 ? Pm(joint) : "-")} | {sw.Elapsed.TotalSeconds / seeds:F0} |");
            }
        }

        private static (float[] Cvr, float[]? Ctcvr) EsmmFit(MLContext ml, IDataView train, IDataView test, MultiTaskEstimator.Options o, string click, string buy, float lambda, string? position = null)
        {
            var clickTask = new TaskSpec("Click", click);
            if (position is not null)
                clickTask.TrainingOnlyLogitAdjustments.Add(new BiasTower(position) { HiddenLayers = new[] { 8 } });
            o.Tasks.Add(clickTask);
            o.Tasks.Add(new TaskSpec("Buy", buy) { ConditionedOn = "Click", CounterfactualWeight = lambda });
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
            var s = m.Transform(test);
            return (Col(s, "BuyProbability"), Col(s, "BuyJointProbability"));
        }

        /// <summary>Diagnostic: pCVR quality against the number of passes, for ESMM (MMoE, all impressions) and for a separate CVR
        /// network on the clicked impressions only (a tenth of the rows: 10x its epochs is the same number of optimizer steps).</summary>
        private static void EsmmEpochs(int seeds, long requests, string only, int worlds, bool synthetic)
        {
            var ml = new MLContext(1);
            // "paper": the ESMM paper's architecture, shared embeddings and one MLP tower per task ([64, 32, 16], the layers
            // of the separate CVR network); early stopping: the same rule for all (20 % of the model's own training rows held
            // out, Buy.LogLoss, patience 2, best epoch kept; at most 8 epochs for ESMM, 80 for the clicked-only network: about
            // the same number of steps)
            const string Mmoe = "mmoe", Paper = "paper", Separate = "separate";
            var runs = new List<(string Name, int Epochs, string Kind, bool Early)>
            {
                ("ESMM (MMoE)", 1, Mmoe, false), ("ESMM (MMoE)", 2, Mmoe, false), ("ESMM (MMoE)", 4, Mmoe, false), ("ESMM (MMoE)", 8, Mmoe, false),
                ("ESMM (shared embeddings, towers [64, 32, 16]: the ESMM paper's architecture)", 2, Paper, false),
                ("ESMM (shared embeddings, towers [64, 32, 16]: the ESMM paper's architecture)", 4, Paper, false),
                ("separate CVR network, clicked only", 2, Separate, false), ("separate CVR network, clicked only", 4, Separate, false),
                ("separate CVR network, clicked only", 10, Separate, false), ("separate CVR network, clicked only", 40, Separate, false),
                ("ESMM (MMoE), early stopping", 8, Mmoe, true),
                ("ESMM (the ESMM paper's architecture), early stopping", 8, Paper, true),
                ("separate CVR network, clicked only, early stopping", 80, Separate, true),
            };
            if (only.Length > 0)
                runs = runs.Where(r => r.Kind == only || (only == "early" && r.Early)).ToList();
            var results = runs.Select(_ => new List<double>()).ToArray();
            var secs = new double[runs.Count];
            long trainRows = 0, clickedRows = 0;
            for (int world = 0; world < worlds; world++)
            {
                IDataView train, test;
                float[] conv;
                if (synthetic)
                {
                    // the synthetic impressions of the `esmm` section (known CTR and CVR), a new draw per world
                    train = ml.Data.Cache(ml.Data.LoadFromEnumerable(Make((int)requests, 3 + 10 * world, -0.5)));
                    var testRows = Make(20_000, 4 + 10 * world, -0.5);
                    test = ml.Data.Cache(ml.Data.LoadFromEnumerable(testRows));
                    conv = testRows.Select(r => r.TrueCvr).ToArray();
                }
                else
                {
                    var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 2024 + world, RequestCount = requests + 3000 });
                    train = ml.Data.Cache(sim.GetImpressions(ml, 0, requests));
                    test = ml.Data.Cache(sim.GetImpressions(ml, requests, 3000));
                    conv = test.GetColumn<float>(ImpressionColumns.TrueConversion).ToArray();
                }
                var clickedTrain = ml.Data.FilterByCustomPredicate<ClickRow>(train, r => !r.Click);
                trainRows = train.GetColumn<bool>(ImpressionColumns.Click).LongCount();
                clickedRows = train.GetColumn<bool>(ImpressionColumns.Click).LongCount(c => c);
                for (int r = 0; r < runs.Count; r++)
                {
                    var (name, epochs, kind, early) = runs[r];
                    var sw = Stopwatch.StartNew();
                    for (int seed = 1; seed <= seeds; seed++)
                    {
                        var arch = kind == Mmoe ? MultiTaskArchitecture.MMoE : kind == Paper ? MultiTaskArchitecture.SharedBottom : MultiTaskArchitecture.SingleTask;
                        var o = synthetic ? Options(arch, seed) : SimOptions(arch, seed);
                        if (kind == Paper)
                        {
                            o.TowerLayers = o.ExpertLayers.Concat(o.TowerLayers).ToArray();     // the separate network's layers
                            o.ExpertLayers = Array.Empty<int>();
                        }
                        o.NumberOfThreads = 1;
                        o.Epochs = epochs;
                        if (early)
                        {
                            o.ValidationFraction = 0.2f;
                            o.EarlyStoppingMetric = "Buy.LogLoss";
                            o.EarlyStoppingPatience = 2;
                        }
                        if (kind != Separate)
                        {
                            results[r].Add(ExpectedAuc(EsmmFit(ml, train, test, o, ImpressionColumns.Click, ImpressionColumns.Buy, 0f).Cvr, conv));
                            continue;
                        }
                        o.Tasks.Add(new TaskSpec("Buy", ImpressionColumns.Buy));
                        using var m = ml.Ranker().Trainers.MultiTask(o).Fit(clickedTrain);
                        results[r].Add(ExpectedAuc(Col(m.Transform(test), "BuyProbability"), conv));
                    }
                    secs[r] += sw.Elapsed.TotalSeconds / seeds / worlds;
                    Console.WriteLine($"# world {(synthetic ? world : 2024 + world)} {name}, {(early ? "early stopping" : $"{epochs} epochs")}: {string.Join(" ", results[r].Skip(world * seeds).Select(v => v.ToString("F4")))}");
                }
            }
            // paired differences to the early-stopped separate network (same world and seed)
            int reference = runs.FindIndex(r => r.Kind == Separate && r.Early);
            Console.WriteLine();
            Console.WriteLine(synthetic
                ? $"## pCVR against training length (synthetic impressions, {requests:N0} for training, {worlds} draw(s) x {seeds} model seeds): expected AUC vs the true P(buy | click) on all test impressions"
                : $"## pCVR against training length (simulator, {requests * 10:N0} training impressions, {worlds} world(s) from seed 2024 x {seeds} model seeds): expected AUC vs the true P(buy | click) on all test impressions");
            Console.WriteLine();
            Console.WriteLine("| model | epochs | optimizer steps per run | pCVR, all impressions | Δ to the early-stopped separate network (paired) | ahead in | s per fit |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            for (int r = 0; r < runs.Count; r++)
            {
                var (name, epochs, kind, early) = runs[r];
                long steps = epochs * ((kind != Separate ? trainRows : clickedRows) + 255) / 256;
                string delta = "-", ahead = "-";
                if (reference >= 0 && r != reference)
                {
                    var d = results[r].Zip(results[reference], (a, b) => a - b).ToList();
                    delta = $"{BenchFormat.Signed(d.Average())} ± {Sd(d)}";
                    ahead = $"{d.Count(x => x > 0)} of {d.Count}";
                }
                Console.WriteLine($"| {name} | {(early ? $"at most {epochs}" : epochs.ToString())} | {(early ? "-" : steps.ToString("N0"))} | {Pm(results[r])} | {delta} | {ahead} | {secs[r]:F0} |");
            }
        }

        private static string Effective(MultiTaskTransformer m)
            => string.Join(", ", m.TaskLogVariances.Select(kv => $"{kv.Key} {Math.Exp(-kv.Value):F2}"));

        private static void Weights(int seeds, long simRequests)
        {
            var ml = new MLContext(1);
            var train = ml.Data.LoadFromEnumerable(Make(20_000, 5, -3.0));
            var testRows = Make(20_000, 6, -3.0);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var buyTruth = testRows.Select(r => r.TrueCtr * r.TrueCvr).ToArray();
            var clickTruth = testRows.Select(r => r.TrueCtr).ToArray();
            Console.WriteLine();
            Console.WriteLine($"## Task weighting, Click + sparse Buy (synthetic, SharedBottom, 8 epochs): expected AUC, {seeds} seeds; mean = (Click + Buy) / 2");
            Console.WriteLine();
            Console.WriteLine("| weighting | Click | Buy | mean | learned exp(-s) (last seed) |");
            Console.WriteLine("|---|---|---|---|---|");
            var settings = new List<(string Name, TaskWeighting W, float Weight)>
            {
                ("fixed, Buy weight 0.5", TaskWeighting.Fixed, 0.5f),
                ("fixed, Buy weight 1", TaskWeighting.Fixed, 1f),
                ("fixed, Buy weight 2", TaskWeighting.Fixed, 2f),
                ("fixed, Buy weight 5", TaskWeighting.Fixed, 5f),
                ("uncertainty (Kendall et al.)", TaskWeighting.Uncertainty, 1f),
                ("regularized uncertainty (Liebel and Körner)", TaskWeighting.RegularizedUncertainty, 1f),
            };
            foreach (var (name, w, buyWeight) in settings)
            {
                var click = new List<double>();
                var buy = new List<double>();
                string learned = "";
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var o = Options(MultiTaskArchitecture.SharedBottom, seed);
                    o.NumberOfThreads = 1;
                    o.TaskWeighting = w;
                    o.Tasks.Add(new TaskSpec("Click", "Click"));
                    o.Tasks.Add(new TaskSpec("Buy", "Buy") { Weight = buyWeight });
                    using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                    var s = m.Transform(test);
                    click.Add(ExpectedAuc(Col(s, "ClickProbability"), clickTruth));
                    buy.Add(ExpectedAuc(Col(s, "BuyProbability"), buyTruth));
                    learned = Effective(m);
                }
                Console.WriteLine($"| {name} | {Pm(click)} | {Pm(buy)} | {(click.Average() + buy.Average()) / 2:F4} | {(learned.Length > 0 ? learned : "-")} |");
            }
            WeightsSimulator(seeds, simRequests);
        }

        private sealed class StayRow
        {
            public float StayTime { get; set; }
        }

        /// <summary>Tasks on different loss scales: Click (cross-entropy) + StayTime (squared error on log1p seconds, 0 without a
        /// click), on the simulator; a grid of fixed Stay weights against uncertainty weighting.</summary>
        private static void WeightsSimulator(int seeds, long trainRequests)
        {
            var ml = new MLContext(1);
            long testRequests = 3000;
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 2024, RequestCount = trainRequests + testRequests });
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, testRequests));
            var pClick = test.GetColumn<float>(ImpressionColumns.TrueExamination).Zip(test.GetColumn<float>(ImpressionColumns.TrueAttraction), (e, a) => e * a).ToArray();
            var stay = test.GetColumn<float>(ImpressionColumns.StayTime).Select(v => (float)Math.Log(1 + v)).ToArray();
            var clicked = test.GetColumn<bool>(ImpressionColumns.Click).ToArray();
            Console.WriteLine();
            Console.WriteLine($"## Task weighting, Click (cross-entropy) + StayTime (regression on log1p seconds, 0 without a click), simulator seed 2024, {trainRequests * 10:N0} training / {testRequests * 10:N0} test impressions, MMoE, 4 epochs, {seeds} seeds");
            Console.WriteLine();
            Console.WriteLine("| weighting | Click expected AUC | Stay RMSE (log1p s), all | Stay RMSE, clicked | Stay AUC of clicked vs not | learned exp(-s) (last seed) |");
            Console.WriteLine("|---|---|---|---|---|---|");
            var settings = new List<(string Name, TaskWeighting W, float Weight)>
            {
                ("fixed, Stay weight 0.1", TaskWeighting.Fixed, 0.1f),
                ("fixed, Stay weight 0.3", TaskWeighting.Fixed, 0.3f),
                ("fixed, Stay weight 1", TaskWeighting.Fixed, 1f),
                ("fixed, Stay weight 3", TaskWeighting.Fixed, 3f),
                ("uncertainty (Kendall et al.)", TaskWeighting.Uncertainty, 1f),
                ("regularized uncertainty (Liebel and Körner)", TaskWeighting.RegularizedUncertainty, 1f),
            };
            foreach (var (name, w, stayWeight) in settings)
            {
                var auc = new List<double>();
                var rmse = new List<double>();
                var rmseClicked = new List<double>();
                var stayAuc = new List<double>();
                string learned = "";
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var o = SimOptions(MultiTaskArchitecture.MMoE, seed);
                    o.NumberOfThreads = 1;
                    o.TaskWeighting = w;
                    o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
                    o.Tasks.Add(new TaskSpec("Stay", ImpressionColumns.StayTime, MultiTaskKind.Regression) { LabelTransform = LabelTransform.Log1p, Weight = stayWeight });
                    using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                    var s = m.Transform(test);
                    auc.Add(ExpectedAuc(Col(s, "ClickProbability"), pClick));
                    var pred = Col(s, "StayScore").Select(v => (float)Math.Log(1 + Math.Max(v, -0.999999f))).ToArray();
                    rmse.Add(RankerMetrics.Rmse(pred, stay));
                    var ci = Enumerable.Range(0, pred.Length).Where(i => clicked[i]).ToArray();
                    rmseClicked.Add(RankerMetrics.Rmse(ci.Select(i => pred[i]).ToArray(), ci.Select(i => stay[i]).ToArray()));
                    stayAuc.Add(RankerMetrics.Auc(pred, clicked));
                    learned = Effective(m);
                }
                Console.WriteLine($"| {name} | {Pm(auc)} | {Pm(rmse)} | {Pm(rmseClicked)} | {Pm(stayAuc)} | {(learned.Length > 0 ? learned : "-")} |");
            }
        }

        // ---------------------------------------------------------------- the live-stream simulator

        private static MultiTaskEstimator.Options SimOptions(MultiTaskArchitecture arch, int seed)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = arch, ExpertLayers = new[] { 64, 32 }, TowerLayers = new[] { 16 }, Experts = 4,
                SharedExperts = 2, TaskExperts = 1, Levels = 1, Epochs = 4, BatchSize = 256, LearningRate = 2e-3,
                ShuffleBufferSize = 50_000, Seed = seed, NumberOfThreads = 2,
            };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.UserId, 8));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, 8));
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserLiveSeq) { SharedEmbeddingWith = ImpressionColumns.LiveId });
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserItemSeq, 8) { Encoding = IdEncoding.Hash, HashBits = 14 });
            return o;
        }

        private static void Simulator(int seeds, long trainRequests)
        {
            var ml = new MLContext(1);
            long testRequests = 3000;
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 2024, RequestCount = trainRequests + testRequests });
            // materialize once: every model reads the same rows (the trainer itself streams)
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, testRequests));
            var exam = test.GetColumn<float>(ImpressionColumns.TrueExamination).ToArray();
            var attr = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            var conv = test.GetColumn<float>(ImpressionColumns.TrueConversion).ToArray();
            var pClick = exam.Zip(attr, (e, a) => e * a).ToArray();
            var pBuy = pClick.Zip(conv, (c, v) => c * v).ToArray();
            double buyRate = test.GetColumn<bool>(ImpressionColumns.Buy).Average(b => b ? 1.0 : 0.0);
            double clickRate = test.GetColumn<bool>(ImpressionColumns.Click).Average(b => b ? 1.0 : 0.0);
            Console.WriteLine();
            Console.WriteLine($"## Live-stream simulator (seed 2024): {trainRequests * 10:N0} training / {testRequests * 10:N0} test impressions, click rate {clickRate:P1}, buy rate {buyRate:P2}; expected AUC vs the simulator's true probabilities, {seeds} seeds");
            Console.WriteLine();
            Console.WriteLine("| model | Buy = P(click) x P(buy given click) | Click | CVR over all impressions (vs P(buy given click)) | train s |");
            Console.WriteLine("|---|---|---|---|---|");
            foreach (var arch in new[] { MultiTaskArchitecture.SingleTask, MultiTaskArchitecture.SharedBottom, MultiTaskArchitecture.MMoE, MultiTaskArchitecture.Ple })
            {
                var buy = new List<double>();
                var click = new List<double>();
                var sw = Stopwatch.StartNew();
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var o = SimOptions(arch, seed);
                    o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
                    o.Tasks.Add(new TaskSpec("Buy", ImpressionColumns.Buy));
                    using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                    var s = m.Transform(test);
                    buy.Add(ExpectedAuc(Col(s, "BuyProbability"), pBuy));
                    click.Add(ExpectedAuc(Col(s, "ClickProbability"), pClick));
                }
                Console.WriteLine($"| {arch} | {Pm(buy)} | {Pm(click)} | - | {sw.Elapsed.TotalSeconds / seeds:F0} |");
            }
            EsmmSimulator(ml, train, test, seeds);
        }

        /// <summary>The ESMM comparison on the simulator (the <c>sim</c> section's ESMM rows; alone: section <c>esmm-sim</c>).</summary>
        private static void EsmmSimulator(MLContext ml, IDataView train, IDataView test, int seeds)
        {
            var exam = test.GetColumn<float>(ImpressionColumns.TrueExamination).ToArray();
            var attr = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            var conv = test.GetColumn<float>(ImpressionColumns.TrueConversion).ToArray();
            var truth = new EsmmTruth(conv, exam.Select((e, i) => e * attr[i] * conv[i]).ToArray(),
                test.GetColumn<bool>(ImpressionColumns.Click).ToArray(), test.GetColumn<bool>(ImpressionColumns.Buy).ToArray());
            long trainBuys = train.GetColumn<bool>(ImpressionColumns.Buy).LongCount(b => b);
            long trainClicks = train.GetColumn<bool>(ImpressionColumns.Click).LongCount(b => b);
            Console.WriteLine();
            Console.WriteLine($"## ESMM on the simulator: {trainClicks:N0} clicks and {trainBuys:N0} buys in training; 4 epochs, {seeds} seeds");
            EsmmCompare(ml, train, test, truth, seeds, SimOptions, new[] { MultiTaskArchitecture.MMoE, MultiTaskArchitecture.SingleTask }, ImpressionColumns.Click, ImpressionColumns.Buy, ImpressionColumns.Position);
        }

        // ---------------------------------------------------------------- simulator sweep: architecture x relatedness x data

        /// <summary>A compared model of the sweep: a key for the command line, a label, and its options over <see cref="SimOptions"/>.</summary>
        private sealed record SweepModel(string Key, string Label, Action<MultiTaskEstimator.Options> Configure);

        private static readonly SweepModel[] SweepModels =
        {
            new("single", "single-task [64, 32] per task", o => o.Architecture = MultiTaskArchitecture.SingleTask),
            new("shared", "shared-bottom [64, 32]", o => o.Architecture = MultiTaskArchitecture.SharedBottom),
            new("shared-wide", "shared-bottom [256, 32] (~MMoE-4's bottom parameters)", o =>
            {
                o.Architecture = MultiTaskArchitecture.SharedBottom;
                o.ExpertLayers = new[] { 256, 32 };
            }),
            new("shared-deep", "shared-bottom [64, 32, 64, 32] (PLE-2's depth)", o =>
            {
                o.Architecture = MultiTaskArchitecture.SharedBottom;
                o.ExpertLayers = new[] { 64, 32, 64, 32 };
            }),
            new("mmoe", "MMoE 4 experts [64, 32]", o => o.Architecture = MultiTaskArchitecture.MMoE),
            new("mmoe-narrow", "MMoE 4 experts [16, 32] (~shared-bottom's bottom parameters)", o =>
            {
                o.Architecture = MultiTaskArchitecture.MMoE;
                o.ExpertLayers = new[] { 16, 32 };
            }),
            new("mmoe8", "MMoE 8 experts [64, 32]", o =>
            {
                o.Architecture = MultiTaskArchitecture.MMoE;
                o.Experts = 8;
            }),
            new("cgc", "PLE 1 level (CGC), 2 shared + 1 per task [64, 32]", o =>
            {
                o.Architecture = MultiTaskArchitecture.Ple;
                o.Levels = 1; o.SharedExperts = 2; o.TaskExperts = 1;
            }),
            new("cgc22", "PLE 1 level (CGC), 2 shared + 2 per task [64, 32]", o =>
            {
                o.Architecture = MultiTaskArchitecture.Ple;
                o.Levels = 1; o.SharedExperts = 2; o.TaskExperts = 2;
            }),
            new("ple", "PLE 2 levels, 2 shared + 1 per task [64, 32]", o =>
            {
                o.Architecture = MultiTaskArchitecture.Ple;
                o.Levels = 2; o.SharedExperts = 2; o.TaskExperts = 1;
            }),
        };

        private static long MlpParameters(int input, int[] layers)
        {
            long n = 0;
            foreach (var h in layers)
            {
                n += (long)input * h + h;
                input = h;
            }
            return n;
        }

        /// <summary>Parameters of the bottom (experts and gates; not the embeddings, towers or wide part), from the
        /// shapes <c>Network.cs</c> builds.</summary>
        internal static long BottomParameters(MultiTaskEstimator.Options o, int encodedSize, int tasks)
        {
            int last = o.ExpertLayers[^1];
            switch (o.Architecture)
            {
                case MultiTaskArchitecture.SingleTask:
                    return tasks * MlpParameters(encodedSize, o.ExpertLayers);
                case MultiTaskArchitecture.SharedBottom:
                    return MlpParameters(encodedSize, o.ExpertLayers);
                case MultiTaskArchitecture.MMoE:
                    return o.Experts * MlpParameters(encodedSize, o.ExpertLayers) + tasks * ((long)encodedSize * o.Experts + o.Experts);
                default:
                    long total = 0;
                    int n = encodedSize;
                    for (int l = 0; l < o.Levels; l++)
                    {
                        total += (o.SharedExperts + tasks * o.TaskExperts) * MlpParameters(n, o.ExpertLayers);
                        int g = o.SharedExperts + o.TaskExperts;
                        total += tasks * ((long)n * g + g);
                        if (l < o.Levels - 1)
                        {
                            int sg = o.SharedExperts + tasks * o.TaskExperts;
                            total += (long)n * sg + sg;
                        }
                        n = last;
                    }
                    return total;
            }
        }

        private static string Sd(IList<double> xs)
        {
            double m = xs.Average();
            return xs.Count > 1 ? $"{Math.Sqrt(xs.Sum(x => (x - m) * (x - m)) / (xs.Count - 1)):F4}" : "-";
        }

        /// <summary>
        /// <c>sim-sweep</c>: every model of <see cref="SweepModels"/> on the live-stream simulator, for each training size and
        /// each conversion correlation ρ (<see cref="LiveStreamSimulatorOptions.ConversionCorrelation"/>, the relatedness of
        /// the sparse Buy task to the click task). Seed s means simulator seed 2023 + s (a new world and new traffic) and
        /// model seed s; differences to shared-bottom are paired per seed. Same epochs, learning rate and batch for all.
        /// Arguments (key=value): <c>seeds=3 first=1 requests=4000[,..] rho=0,0.3,0.5,0.8 models=single,shared,shared-wide,mmoe,cgc,ple
        /// tasks=cb|cbf|cbfs|cvr epochs=4 lr=0.002 test=3000 threads=1 valid=0 patience=0 stop=Loss</c>; with <c>valid</c> &gt; 0 that
        /// fraction of the training rows is held out and every model keeps its best epoch by <c>stop</c> (early stopping after
        /// <c>patience</c> epochs without improvement), so each model gets its own number of epochs out of the same budget. Tasks: c = Click, b = Buy (on every impression,
        /// judged against P(click) x P(buy | click)), f = Follow (observed AUC: the simulator exposes no true follow
        /// probability), s = StayTime (regression, log1p); <c>cvr</c> = Click and a CVR task whose label is Buy on clicked
        /// impressions and missing (NaN) elsewhere, judged against P(buy | click) on every test impression (its own
        /// relatedness to Click is exactly ρ's), with pCTR x pCVR judged against P(buy).
        /// </summary>
        private static void SimulatorSweep(ParseResult args)
        {
            int seeds = args.GetValue(SeedsOption);
            int first = args.GetValue(FirstOption);
            var sizes = args.GetValue(RequestsOption) is { Length: > 0 } given ? given : new[] { 4000L };
            var rhos = args.GetValue(RhoOption)!;
            var keys = args.GetValue(ModelsOption)!;
            var models = keys.Select(k => SweepModels.FirstOrDefault(m => m.Key == k) ?? throw new ArgumentException($"Unknown model '{k}'; known: {string.Join(", ", SweepModels.Select(m => m.Key))}")).ToArray();
            string tasks = args.GetValue(TasksOption)!;
            int epochs = args.GetValue(EpochsOption);
            double lr = args.GetValue(LrOption);
            long testRequests = args.GetValue(TestOption);
            int threads = args.GetValue(ThreadsOption);
            float valid = args.GetValue(ValidOption);
            int patience = args.GetValue(PatienceOption);
            string stop = args.GetValue(StopOption)!;
            bool cvr = tasks == "cvr";
            bool follow = !cvr && tasks.Contains('f'), stay = !cvr && tasks.Contains('s');
            int taskCount = 2 + (follow ? 1 : 0) + (stay ? 1 : 0);
            string sparse = cvr ? "CVR" : "Buy";
            var ml = new MLContext(1);
            Console.WriteLine();
            Console.WriteLine($"## Simulator sweep: {string.Join(" ", args.Tokens.Where(t => t.Type != System.CommandLine.Parsing.TokenType.Command).Select(t => t.Value))} (tasks: Click, Buy{(follow ? ", Follow" : "")}{(stay ? ", StayTime (log1p)" : "")}; {epochs} epochs, Adam {lr}, batch 256, {threads} thread(s))");
            var summary = new List<(long N, double Rho, SweepModel M, List<double> Buy, List<double> Diff)>();
            foreach (var n in sizes)
                foreach (var rho in rhos)
                {
                    var buy = models.ToDictionary(m => m.Key, _ => new List<double>());
                    var click = models.ToDictionary(m => m.Key, _ => new List<double>());
                    var fol = models.ToDictionary(m => m.Key, _ => new List<double>());
                    var joint = models.ToDictionary(m => m.Key, _ => new List<double>());
                    var bestEpoch = models.ToDictionary(m => m.Key, _ => new List<double>());
                    var secs = models.ToDictionary(m => m.Key, _ => new List<double>());
                    var parameters = new Dictionary<string, long>();
                    double buyRate = 0;
                    for (int seed = first; seed < first + seeds; seed++)
                    {
                        var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 2023 + seed, RequestCount = n + testRequests, ConversionCorrelation = rho });
                        var train = sim.GetImpressions(ml, 0, n);
                        if (cvr)
                            train = ml.Transforms.CustomMapping<ClickBuyRow, CvrLabelRow>((i, o) => o.CvrLabel = i.Click ? (i.Buy ? 1f : 0f) : float.NaN, null).Fit(train).Transform(train);
                        train = ml.Data.Cache(train);
                        var test = ml.Data.Cache(sim.GetImpressions(ml, n, testRequests));
                        var exam = test.GetColumn<float>(ImpressionColumns.TrueExamination).ToArray();
                        var attr = test.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
                        var conv = test.GetColumn<float>(ImpressionColumns.TrueConversion).ToArray();
                        var pClick = exam.Zip(attr, (e, a) => e * a).ToArray();
                        var pBuy = pClick.Zip(conv, (c, v) => c * v).ToArray();
                        var followLabel = test.GetColumn<bool>(ImpressionColumns.Follow).ToArray();
                        buyRate += test.GetColumn<bool>(ImpressionColumns.Buy).Average(b => b ? 1.0 : 0.0) / seeds;
                        int encoded = ((Microsoft.ML.Data.VectorDataViewType)test.Schema[ImpressionColumns.StatFeatures].Type).Size + 4 * 8;
                        foreach (var model in models)
                        {
                            var o = SimOptions(MultiTaskArchitecture.SharedBottom, seed);
                            o.Epochs = epochs;
                            o.LearningRate = lr;
                            o.NumberOfThreads = threads;
                            o.ValidationFraction = valid;
                            o.EarlyStoppingPatience = patience;
                            o.EarlyStoppingMetric = stop;
                            model.Configure(o);
                            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
                            o.Tasks.Add(cvr ? new TaskSpec("CVR", nameof(CvrLabelRow.CvrLabel)) : new TaskSpec("Buy", ImpressionColumns.Buy));
                            if (follow)
                                o.Tasks.Add(new TaskSpec("Follow", ImpressionColumns.Follow));
                            if (stay)
                                o.Tasks.Add(new TaskSpec("Stay", ImpressionColumns.StayTime, MultiTaskKind.Regression) { LabelTransform = LabelTransform.Log1p });
                            parameters[model.Key] = BottomParameters(o, encoded, taskCount);
                            var sw = Stopwatch.StartNew();
                            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                            secs[model.Key].Add(sw.Elapsed.TotalSeconds);
                            bestEpoch[model.Key].Add(m.BestEpoch);
                            var s = m.Transform(test);
                            var pc = Col(s, "ClickProbability");
                            click[model.Key].Add(ExpectedAuc(pc, pClick));
                            if (cvr)
                            {
                                var pv = Col(s, "CVRProbability");
                                buy[model.Key].Add(ExpectedAuc(pv, conv));
                                joint[model.Key].Add(ExpectedAuc(pc.Zip(pv, (a, b) => a * b).ToArray(), pBuy));
                            }
                            else
                                buy[model.Key].Add(ExpectedAuc(Col(s, "BuyProbability"), pBuy));
                            if (follow)
                                fol[model.Key].Add(RankerMetrics.Auc(Col(s, "FollowProbability"), followLabel));
                            Console.WriteLine($"# requests {n} rho {rho} seed {seed} {model.Key}: {sparse} {buy[model.Key][^1]:F4}{(cvr ? $" pCTRxpCVR {joint[model.Key][^1]:F4}" : "")} Click {click[model.Key][^1]:F4}{(follow ? $" Follow {fol[model.Key][^1]:F4}" : "")} {secs[model.Key][^1]:F0} s{(valid > 0 ? $" best epoch {m.BestEpoch}" : "")}");
                        }
                    }
                    Console.WriteLine();
                    Console.WriteLine($"### {n * 10:N0} training impressions, ρ = {rho}, buy rate {buyRate:P2}, {seeds} seeds (mean ± sd; Δ = paired difference to shared-bottom [64, 32])");
                    Console.WriteLine();
                    string sparseHeader = cvr ? "CVR expected AUC (vs P(buy given click), all impressions)" : "Buy expected AUC";
                    Console.WriteLine($"| model | bottom parameters | {sparseHeader} | Δ {sparse} vs shared-bottom | Click expected AUC |{(follow ? " Follow AUC (observed) |" : "")}{(cvr ? " pCTR x pCVR vs P(buy) |" : "")}{(valid > 0 ? " best epoch |" : "")} train s |");
                    Console.WriteLine($"|---|---|---|---|---|{(follow || cvr ? "---|" : "")}{(valid > 0 ? "---|" : "")}---|");
                    var baseline = buy.TryGetValue("shared", out var b0) ? b0 : null;
                    foreach (var model in models)
                    {
                        var diff = baseline is null ? new List<double>() : buy[model.Key].Zip(baseline, (a, b) => a - b).ToList();
                        string d = baseline is null || model.Key == "shared" ? "-" : $"{BenchFormat.Signed(diff.Average())} ± {Sd(diff)}";
                        Console.WriteLine($"| {model.Label} | {parameters[model.Key]:N0} | {Pm(buy[model.Key])} | {d} | {Pm(click[model.Key])} |{(follow ? $" {Pm(fol[model.Key])} |" : "")}{(cvr ? $" {Pm(joint[model.Key])} |" : "")}{(valid > 0 ? $" {bestEpoch[model.Key].Average():F1} |" : "")} {secs[model.Key].Average():F0} |");
                        summary.Add((n, rho, model, buy[model.Key], diff));
                    }
                }
            Console.WriteLine();
            Console.WriteLine($"### {sparse} expected AUC by relatedness (mean over seeds; in brackets the paired Δ to shared-bottom, mean / sd)");
            Console.WriteLine();
            Console.WriteLine($"| training impressions | ρ | {string.Join(" | ", models.Select(m => m.Key))} |");
            Console.WriteLine($"|---|---|{string.Concat(models.Select(_ => "---|"))}");
            foreach (var g in summary.GroupBy(r => (r.N, r.Rho)))
                Console.WriteLine($"| {g.Key.N * 10:N0} | {g.Key.Rho} | {string.Join(" | ", g.Select(r => r.M.Key == "shared" || r.Diff.Count == 0 ? $"{r.Buy.Average():F4}" : $"{r.Buy.Average():F4} ({BenchFormat.Signed(r.Diff.Average())} / {Sd(r.Diff)})"))} |");
        }

        private sealed class CvrLabelRow
        {
            public float CvrLabel { get; set; }
        }

        private sealed class ClickRow
        {
            public bool Click { get; set; }
        }

        // ---------------------------------------------------------------- UCI Census-Income (KDD)

        private sealed class CensusRow
        {
            [VectorType(7)] public float[] Numeric { get; set; } = new float[7];
            [VectorType(32)] public string[] Categories { get; set; } = new string[32];
            public bool Income { get; set; }
            public bool NeverMarried { get; set; }
            public bool IsTest { get; set; }
        }

        private static readonly int[] NumericColumns = { 0, 5, 16, 17, 18, 30, 39 };

        private static List<CensusRow> LoadCensus(string path)
        {
            var rows = new List<CensusRow>();
            using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var reader = new StreamReader(gz);
            string? line;
            int index = 0;
            var skip = new HashSet<int>(NumericColumns) { 7, 24, 41 };
            while ((line = reader.ReadLine()) is not null)
            {
                if (line.Length == 0)
                    continue;
                var f = line.Split(',').Select(s => s.Trim()).ToArray();
                if (f.Length != 42)
                    continue;
                var num = NumericColumns.Select(c => float.Parse(f[c], System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                for (int k = 1; k <= 4; k++)
                    num[k] = MathF.Log(1 + num[k]); // wage, capital gains/losses, dividends: heavy tails
                var cats = Enumerable.Range(0, 42).Where(c => !skip.Contains(c)).Select(c => $"{c}={f[c]}").ToArray();
                // deterministic 2/3 : 1/3 split of the test file
                uint h = (uint)(index * 2654435761u);
                rows.Add(new CensusRow
                {
                    Numeric = num,
                    Categories = cats,
                    Income = f[41].StartsWith("50000+", StringComparison.Ordinal),
                    NeverMarried = f[7] == "Never married",
                    IsTest = h % 3 == 0,
                });
                index++;
            }
            return rows;
        }

        private static void Census()
        {
            string root = MultiTaskSpeedBench.RepoRoot();
            string path = Path.Combine(root, "..", "shared", "data", "census-income", "census-income.test.gz");
            if (!File.Exists(path))
            {
                Console.WriteLine($"Census-Income not found at {path}; skipped.");
                return;
            }
            var rows = LoadCensus(path);
            var ml = new MLContext(1);
            var train = ml.Data.LoadFromEnumerable(rows.Where(r => !r.IsTest).ToList());
            var testRows = rows.Where(r => r.IsTest).ToList();
            var test = ml.Data.LoadFromEnumerable(testRows);
            Console.WriteLine();
            Console.WriteLine($"## UCI Census-Income (KDD), the 99,762-row file split 2/3 train ({rows.Count - testRows.Count}) / 1/3 test ({testRows.Count}); AUC on test");
            Console.WriteLine();
            Console.WriteLine("| architecture | income > 50K AUC | never married AUC | published (PaddleRec, full data) | train s |");
            Console.WriteLine("|---|---|---|---|---|");
            var published = new Dictionary<MultiTaskArchitecture, string>
            {
                [MultiTaskArchitecture.SharedBottom] = "0.9312 / 0.9926",
                [MultiTaskArchitecture.MMoE] = "0.9447 / 0.9932",
            };
            foreach (var arch in new[] { MultiTaskArchitecture.SingleTask, MultiTaskArchitecture.SharedBottom, MultiTaskArchitecture.MMoE, MultiTaskArchitecture.Ple })
            {
                var o = new MultiTaskEstimator.Options
                {
                    Architecture = arch, ExpertLayers = new[] { 16 }, TowerLayers = new[] { 8 }, Experts = 8, SharedExperts = 4,
                    TaskExperts = 2, Levels = 2, Epochs = 6, BatchSize = 256, LearningRate = 1e-3, Seed = 1, NumberOfThreads = 2,
                    ShuffleBufferSize = 100_000,
                };
                if (arch == MultiTaskArchitecture.SharedBottom)
                    o.ExpertLayers = new[] { 64 };
                o.Features.Add(new DenseFeature("Numeric"));
                o.Features.Add(new CategoricalFeature("Categories", 4));
                o.Tasks.Add(new TaskSpec("Income", "Income"));
                o.Tasks.Add(new TaskSpec("Marital", "NeverMarried"));
                var sw = Stopwatch.StartNew();
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                double secs = sw.Elapsed.TotalSeconds;
                var s = m.Transform(test);
                double income = RankerMetrics.Auc(Col(s, "IncomeProbability"), testRows.Select(r => r.Income).ToArray());
                double marital = RankerMetrics.Auc(Col(s, "MaritalProbability"), testRows.Select(r => r.NeverMarried).ToArray());
                Console.WriteLine($"| {arch} | {income:F4} | {marital:F4} | {(published.TryGetValue(arch, out var p) ? p : "-")} | {secs:F0} |");
            }
        }
    }
}
