using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Graph;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>
    /// metapath2vec on a planted-community user/live/item graph: k-NN community purity and training throughput,
    /// side by side with gensim's Word2Vec (skip-gram, negative sampling) trained on the very same walks.
    /// </summary>
    public sealed class Metapath2VecPlantedBench : IBench
    {
        private sealed class CpuMarks : IProgress<Metapath2VecProgress>
        {
            private readonly Action<Metapath2VecProgress> _a;
            public CpuMarks(Action<Metapath2VecProgress> a) => _a = a;
            public void Report(Metapath2VecProgress value) => _a(value);
        }

        /// <inheritdoc />
        public string Name => "metapath2vec-planted";

        /// <inheritdoc />
        public string Description => "metapath2vec vs gensim Word2Vec on the same walks: tokens/s, walk steps/s, k-NN community purity";

        private static readonly Option<int> Users = BenchOption.Of("--users", 20000, "users");
        private static readonly Option<int> Lives = BenchOption.Of("--lives", 2000, "live streams");
        private static readonly Option<int> Items = BenchOption.Of("--items", 10000, "items");
        private static readonly Option<int> Communities = BenchOption.Of("--communities", 8, "planted communities");
        private static readonly Option<int> Threads = BenchOption.Of("--threads", 2, "threads (NumberOfThreads)");
        private static readonly Option<int> LivesPerUser = BenchOption.Of("--lives-per-user", 5, "lives per user");
        private static readonly Option<int> ItemsPerLive = BenchOption.Of("--items-per-live", 10, "items per live");
        private static readonly Option<int> Dim = BenchOption.Of("--dim", 64, "embedding dimension");
        private static readonly Option<int> Walks = BenchOption.Of("--walks", 5, "walks per node");
        private static readonly Option<int> Length = BenchOption.Of("--length", 40, "walk length");
        private static readonly Option<int> Window = BenchOption.Of("--window", 5, "skip-gram window");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 3, "epochs");
        private static readonly Option<int> Repeats = BenchOption.Of("--repeats", 2, "repeats (best is reported)");
        private static readonly Option<bool> Iterable = BenchOption.Flag("--iterable", "feed the edges as a streaming IEnumerable");

        /// <inheritdoc />
        public int Run(ParseResult args)
        {
            int users = args.GetValue(Users), lives = args.GetValue(Lives), items = args.GetValue(Items), communities = args.GetValue(Communities);
            int threads = args.GetValue(Threads);
            var sbm = PlantedSbm.Create(communities, users, lives, items, args.GetValue(LivesPerUser), args.GetValue(ItemsPerLive), 0.8, 1);
            var ml = new MLContext(1);
            var edges = ml.Data.LoadFromEnumerable(sbm.Edges);
            var o = CreateOptions(args, threads);
            Console.WriteLine($"graph: {users} users, {lives} lives, {items} items, {communities} communities, {sbm.Edges.Count} edges; " +
                              $"dim {o.Dimension}, window {o.WindowSize}, negative 5, epochs {o.Epochs}, {o.WalksPerNode} walks/node of length {o.WalkLength}, sample {o.SubsamplingThreshold}, threads {threads}");
            var data = ml.Data.LoadFromEnumerable(new[] { new BenchUserRow { UserId = 0 } });
            int repeats = args.GetValue(Repeats);
            bool iterable = args.GetValue(Iterable);
            Console.WriteLine($"load average at start: {GraphBenchUtil.LoadAverage()}; repeats {repeats}, alternating MLNetRank and gensim; affinity: {GraphBenchUtil.Affinity()}");
            // (name, threads) -> tokens/s of every repeat, train s of the best, purities of the last.
            var runs = new List<RunRow>();
            var cpu = TrainingCpuClock.Attach(o);
            var walksPath = Path.Combine(Path.GetTempPath(), $"m2v-walks-{Guid.NewGuid():N}.txt");
            try
            {
                for (int r = 0; r < repeats; r++)
                {
                    foreach (var variant in new[] { Metapath2VecVariant.Metapath2Vec, Metapath2VecVariant.Metapath2VecPlusPlus })
                    {
                        var model = MeasureOurs(ml, edges, data, o, variant, sbm, cpu, runs);
                        if (variant != Metapath2VecVariant.Metapath2Vec)
                            continue;
                        if (r == 0)
                            MeasureWalkGeneration(model, o, threads, walksPath);
                        // gensim on the same walks, right after (alternating).
                        MeasureGensim(walksPath, o, threads, iterable, sbm, runs);
                    }
                }
            }
            finally
            {
                File.Delete(walksPath);
            }
            PrintReport(runs, threads, communities);
            return 0;
        }

        /// <summary>One row of the table: a trainer's figures from one repeat.</summary>
        private sealed record RunRow(string Name, double TokensPerSecond, double TrainSeconds, double Fit, double Pu, double Pi, double TokensPerCpuSecond);

        private static Metapath2VecEstimator.Options CreateOptions(ParseResult args, int threads) => new Metapath2VecEstimator.Options
        {
            Metapaths = new[] { "User-Live-User", "User-Live-Item-Live-User" },
            Dimension = args.GetValue(Dim),
            WalksPerNode = args.GetValue(Walks),
            WalkLength = args.GetValue(Length),
            WindowSize = args.GetValue(Window),
            NegativeSamples = 5,
            Epochs = args.GetValue(Epochs),
            NumberOfThreads = threads,
            Seed = 1,
        };

        /// <summary>CPU time of the training stage, read on the calling thread at the "walks" report and at the last epoch's.</summary>
        private sealed class TrainingCpuClock
        {
            public TimeSpan Start;
            public TimeSpan End;

            public static TrainingCpuClock Attach(Metapath2VecEstimator.Options o)
            {
                var clock = new TrainingCpuClock();
                var process = Process.GetCurrentProcess();
                o.Progress = new CpuMarks(p =>
                {
                    if (p.InEpoch)
                        return;
                    if (p.Stage == "walks" || (p.Stage == "training" && p.Epoch == o.Epochs))
                    {
                        process.Refresh();
                        if (p.Stage == "walks") clock.Start = process.TotalProcessorTime; else clock.End = process.TotalProcessorTime;
                    }
                });
                return clock;
            }
        }

        /// <summary>Our side: fits one variant (walks generated inside the timing) and records its throughput and purities.</summary>
        private static Metapath2VecTransformer MeasureOurs(MLContext ml, IDataView edges, IDataView data, Metapath2VecEstimator.Options o,
            Metapath2VecVariant variant, PlantedSbm sbm, TrainingCpuClock cpu, List<RunRow> runs)
        {
            o.Variant = variant;
            var sw = Stopwatch.StartNew();
            var model = ml.Ranker().Transforms.Metapath2Vec(edges, o, new InputOutputColumnPair("U", "UserId")).Fit(data);
            double fit = sw.Elapsed.TotalSeconds;
            double pu = GraphBenchUtil.Purity(model.GetEmbeddings("User"), id => sbm.UserCommunity[int.Parse(id)], 10);
            double pi = GraphBenchUtil.Purity(model.GetEmbeddings("Item"), id => sbm.ItemCommunity[int.Parse(id)], 10);
            runs.Add(new RunRow($"MLNetRank {(variant == Metapath2VecVariant.Metapath2Vec ? "metapath2vec" : "metapath2vec++")} (walks generated inside the timing)",
                model.Summary.TokensPerSecond, model.Summary.TrainSeconds, fit, pu, pi,
                model.Summary.TokensPerEpoch * (double)o.Epochs / (cpu.End - cpu.Start).TotalSeconds));
            return model;
        }

        /// <summary>Walk generation speed: every walk of one epoch, one thread (the share of our train time it takes); then
        /// writes the walks for gensim.</summary>
        private static void MeasureWalkGeneration(Metapath2VecTransformer model, Metapath2VecEstimator.Options o, int threads, string walksPath)
        {
            var walker = model.Walker;
            var buf = new int[walker.WalkLength];
            var sw = Stopwatch.StartNew();
            long steps = 0;
            for (long w = 0; w < walker.WalkCount; w++)
                steps += walker.Generate(w, buf) - 1;
            double ws = sw.Elapsed.TotalSeconds;
            Console.WriteLine($"walk generation: {steps:N0} steps in {ws:F2}s = {steps / ws:N0} steps/s (1 thread); {model.Summary.TokensPerEpoch:N0} tokens per epoch; " +
                              $"generating the walks of {o.Epochs} epochs takes {ws * o.Epochs / threads:F2}s of MLNetRank's {model.Summary.TrainSeconds:F2}s train time on {threads} thread(s)");
            model.WriteWalks(walksPath);
        }

        /// <summary>The peer: gensim Word2Vec on the same walks (corpus_file, and the iterable too with --iterable).</summary>
        private static void MeasureGensim(string walksPath, Metapath2VecEstimator.Options o, int threads, bool iterable, PlantedSbm sbm, List<RunRow> runs)
        {
            foreach (bool corpusFile in iterable ? new[] { true, false } : new[] { true })
            {
                var g = GraphBenchUtil.Gensim(walksPath, o, threads, corpusFile);
                var users2 = g.Vectors.Where(kv => kv.Key.StartsWith("User:", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[5..], kv => kv.Value);
                var items2 = g.Vectors.Where(kv => kv.Key.StartsWith("Item:", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[5..], kv => kv.Value);
                double gu = GraphBenchUtil.Purity(users2, id => sbm.UserCommunity[int.Parse(id)], 10);
                double gi = GraphBenchUtil.Purity(items2, id => sbm.ItemCommunity[int.Parse(id)], 10);
                runs.Add(new RunRow($"gensim {g.Version} Word2Vec (sg=1, negative=5), {(corpusFile ? "corpus_file=" : "LineSentence iterable")}, same walks (generated before the timing)",
                    g.Words / g.Seconds, g.Seconds, double.NaN, gu, gi, g.Words / g.CpuSeconds));
            }
        }

        private static void PrintReport(List<RunRow> runs, int threads, int communities)
        {
            Console.WriteLine($"load average at end: {GraphBenchUtil.LoadAverage()}");
            Console.WriteLine();
            Console.WriteLine("| trainer | threads | walk tokens/s (best) | every repeat | tokens per CPU-second (best) | every repeat | train s (best) | user 10-NN purity | item 10-NN purity |");
            Console.WriteLine("|---|---|---:|---|---:|---|---:|---:|---:|");
            foreach (var group in runs.GroupBy(x => x.Name))
            {
                var best = group.MaxBy(x => x.TokensPerSecond)!;
                var last = group.Last();
                Console.WriteLine($"| {group.Key} | {threads} | {best.TokensPerSecond:N0} | {string.Join(" / ", group.Select(x => x.TokensPerSecond.ToString("N0")))} | " +
                                  $"{group.Max(x => x.TokensPerCpuSecond):N0} | {string.Join(" / ", group.Select(x => x.TokensPerCpuSecond.ToString("N0")))} | {best.TrainSeconds:F2} | {last.Pu:F3} | {last.Pi:F3} |");
            }
            double ours = runs.Where(x => x.Name.Contains("MLNetRank metapath2vec (", StringComparison.Ordinal)).Max(x => x.TokensPerSecond);
            double theirs = runs.Where(x => x.Name.Contains("corpus_file", StringComparison.Ordinal)).Max(x => x.TokensPerSecond);
            Console.WriteLine($"\nbest vs best: MLNetRank metapath2vec / gensim corpus_file = {ours / theirs:F2}x (wall), " +
                              $"{runs.Where(x => x.Name.Contains("MLNetRank metapath2vec (", StringComparison.Ordinal)).Max(x => x.TokensPerCpuSecond) / runs.Where(x => x.Name.Contains("corpus_file", StringComparison.Ordinal)).Max(x => x.TokensPerCpuSecond):F2}x (per CPU-second)");
            Console.WriteLine($"\nchance purity = {1.0 / communities:F3}; peak RSS {GraphBenchUtil.PeakRssMb()} MB");
        }
    }
}
