using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Benchmarks.Onnx;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Taobao's "Lying Flat" MMoE variants on the simulator: DIN units (the room id attends over the user's watched rooms
    /// and clicked items) inside an MMoE, the wide part (statistics + room id, also a linear term) routed to the experts and
    /// gates / experts only / gates only / neither, plus the same network with mean pooling; Click, Buy and Follow with
    /// loss weights 1:1:1. Paired over seeds (each seed its own world and traffic, every variant the same rows and seed).
    /// Args: [--seeds S (5)] [--train-requests N (1000)] [--test-requests M (1000)] [--epochs E (3)] [--dim d (8)]
    /// [--threads T (1)] [--kappa κ (1.5)] [--variants i,j,... (indices into the variant list, 0 = Lying Flat, always run; default all)].
    /// </summary>
    public sealed class LyingFlatBench : IBench
    {
        public string Name => "lying-flat";

        public string Description => "Lying Flat MMoE (DIN + wide part into experts/gates): Click/Buy/Follow AUC of the routing variants, paired seeds";

        private static readonly (string Name, WidePartRouting Routing, bool Din)[] Variants =
        {
            ("experts + gates (Lying Flat)", WidePartRouting.ExpertsAndGates, true),
            ("experts only", WidePartRouting.ExpertsOnly, true),
            ("gates only", WidePartRouting.GatesOnly, true),
            ("neither (linear part only)", WidePartRouting.LinearOnly, true),
            ("experts + gates, mean pooling (no DIN)", WidePartRouting.ExpertsAndGates, false),
        };

        private static readonly (string Task, string Label)[] Objectives =
            { ("Click", ImpressionColumns.Click), ("Buy", ImpressionColumns.Buy), ("Follow", ImpressionColumns.Follow) };

        internal static MultiTaskEstimator.Options Options(WidePartRouting routing, bool din, int d, int seed, int epochs, int threads)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.MMoE, WidePartRouting = routing, Epochs = epochs, BatchSize = 256, Experts = 4,
                ExpertLayers = new[] { 64, 32 }, TowerLayers = new[] { 16 }, LearningRate = 2e-3, ShuffleBufferSize = 50_000, Seed = seed,
                NumberOfThreads = threads,
            };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures) { Wide = true });
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, d) { Wide = true });
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveItemsOnSale, d) { MaximumLength = 8 });
            var items = new SequenceFeature(ImpressionColumns.UserItemSeq) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true, MaximumLength = 20 };
            var rooms = new SequenceFeature(ImpressionColumns.UserLiveSeq) { SharedEmbeddingWith = ImpressionColumns.LiveId, SameForAllCandidates = true };
            if (din)
            {
                items.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
                rooms.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
            }
            o.Features.Add(items);
            o.Features.Add(rooms);
            foreach (var (task, label) in Objectives)
                o.Tasks.Add(new TaskSpec(task, label) { Weight = 1f });
            return o;
        }

        private static readonly Option<int> SeedsOption = BenchOption.Of("--seeds", 5, "seeds (paired worlds)");
        private static readonly Option<int> TrainRequestsOption = BenchOption.Of("--train-requests", 1000, "training requests");
        private static readonly Option<int> TestRequestsOption = BenchOption.Of("--test-requests", 1000, "test requests");
        private static readonly Option<int> EpochsOption = BenchOption.Of("--epochs", 3, "epochs");
        private static readonly Option<int> DimOption = BenchOption.Of("--dim", 8, "token dimension d");
        private static readonly Option<int> ThreadsOption = BenchOption.Of("--threads", 1, "threads");
        private static readonly Option<double> KappaOption = BenchOption.Of("--kappa", 1.5, "item-interest knob κ");
        private static readonly Option<int[]> VariantsOption = BenchOption.List("--variants", Array.Empty<int>(), "variant indexes to run besides Lying Flat (0, always run); empty: all");

        public int Run(ParseResult args)
        {
            int seeds = args.GetValue(SeedsOption);
            int trainRequests = args.GetValue(TrainRequestsOption);
            int testRequests = args.GetValue(TestRequestsOption);
            int epochs = args.GetValue(EpochsOption);
            int d = args.GetValue(DimOption);
            int threads = args.GetValue(ThreadsOption);
            double kappa = args.GetValue(KappaOption);
            var chosen = args.GetValue(VariantsOption) ?? Array.Empty<int>();
            var Variants = chosen.Length > 0
                ? new[] { 0 }.Concat(chosen.Where(x => x != 0)).Select(x => LyingFlatBench.Variants[x]).ToArray()
                : LyingFlatBench.Variants;
            Console.WriteLine();
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");
            // [variant][objective][seed]
            var auc = Variants.Select(_ => Objectives.Select(_ => new double[seeds]).ToArray()).ToArray();
            var seconds = new double[Variants.Length];
            for (int s = 0; s < seeds; s++)
            {
                var ml = new MLContext(s);
                var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 100 + s, RequestCount = trainRequests + testRequests, ItemInterestScale = kappa });
                var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
                var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, testRequests));
                var labels = Objectives.Select(x => test.GetColumn<bool>(x.Label).ToArray()).ToArray();
                for (int v = 0; v < Variants.Length; v++)
                {
                    var sw = Stopwatch.StartNew();
                    using var model = ml.Ranker().Trainers.MultiTask(Options(Variants[v].Routing, Variants[v].Din, d, s + 1, epochs, threads)).Fit(train);
                    seconds[v] += sw.Elapsed.TotalSeconds;
                    var scored = model.Transform(test);
                    for (int k = 0; k < Objectives.Length; k++)
                        auc[v][k][s] = RankerMetrics.Auc(scored.GetColumn<float[]>(Objectives[k].Task + "Score").Select(x => x[0]).ToArray(), labels[k]);
                    Console.WriteLine($"  seed {s}, {Variants[v].Name}: " + string.Join(", ", Objectives.Select((o, k) => $"{o.Task} AUC {auc[v][k][s]:F4}"))
                        + $" ({sw.Elapsed.TotalSeconds:F0} s, load {ScoringMeasures.LoadAverage()})");
                }
            }
            Console.WriteLine();
            Console.WriteLine($"### Lying Flat variants, κ = {kappa}: {trainRequests * 10:N0} training / {testRequests * 10:N0} test impressions per seed, {seeds} seeds, {epochs} epochs, d = {d}, {threads} thread(s)");
            Console.WriteLine();
            Console.WriteLine("| variant | " + string.Join(" | ", Objectives.Select(o => $"{o.Task} AUC (mean ± sd) | Δ vs Lying Flat (± sd, seeds ahead)")) + " | train s / seed |");
            Console.WriteLine("|---|" + string.Concat(Objectives.Select(_ => "---|---|")) + "---|");
            static double Sd(double[] x)
            {
                double m = x.Average();
                return x.Length > 1 ? Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Length - 1)) : 0;
            }
            for (int v = 0; v < Variants.Length; v++)
            {
                var cells = new List<string>();
                for (int k = 0; k < Objectives.Length; k++)
                {
                    var diffs = auc[v][k].Zip(auc[0][k], (a, b) => a - b).ToArray();
                    cells.Add($"{auc[v][k].Average():F4} ± {Sd(auc[v][k]):F4}");
                    cells.Add(v == 0 ? "—" : $"{BenchFormat.Signed(diffs.Average())} ± {Sd(diffs):0.0000} ({diffs.Count(x => x > 0)}/{seeds})");
                }
                Console.WriteLine($"| {Variants[v].Name} | {string.Join(" | ", cells)} | {seconds[v] / seeds:F0} |");
            }
            Console.WriteLine();
            Console.WriteLine($"Load average at the end: {ScoringMeasures.LoadAverage()}.");
            return 0;
        }
    }
}
