using System;
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
        /// <inheritdoc />
        public string Name => "metapath2vec-planted";

        /// <inheritdoc />
        public string Description => "metapath2vec vs gensim Word2Vec on the same walks: tokens/s, walk steps/s, k-NN community purity";

        /// <inheritdoc />
        public int Run(string[] args)
        {
            var a = GraphBenchUtil.Args(args);
            int users = a.Int("users", 20000), lives = a.Int("lives", 2000), items = a.Int("items", 10000), communities = a.Int("communities", 8);
            int threads = a.Int("threads", 2);
            var sbm = PlantedSbm.Create(communities, users, lives, items, a.Int("livesPerUser", 5), a.Int("itemsPerLive", 10), 0.8, 1);
            var ml = new MLContext(1);
            var edges = ml.Data.LoadFromEnumerable(sbm.Edges);
            var o = new Metapath2VecOptions
            {
                Metapaths = new[] { "User-Live-User", "User-Live-Item-Live-User" },
                Dimension = a.Int("dim", 64),
                WalksPerNode = a.Int("walks", 5),
                WalkLength = a.Int("length", 40),
                WindowSize = a.Int("window", 5),
                NegativeSamples = 5,
                Epochs = a.Int("epochs", 3),
                NumberOfThreads = threads,
                Seed = 1,
            };
            Console.WriteLine($"graph: {users} users, {lives} lives, {items} items, {communities} communities, {sbm.Edges.Count} edges; " +
                              $"dim {o.Dimension}, window {o.WindowSize}, negative 5, epochs {o.Epochs}, {o.WalksPerNode} walks/node of length {o.WalkLength}, sample {o.SubsamplingThreshold}, threads {threads}");
            var data = ml.Data.LoadFromEnumerable(new[] { new BenchUserRow { UserId = 0 } });
            var results = new System.Collections.Generic.List<string>();
            foreach (var variant in new[] { Metapath2VecVariant.Metapath2Vec, Metapath2VecVariant.Metapath2VecPlusPlus })
            {
                o.Variant = variant;
                var sw = Stopwatch.StartNew();
                var model = ml.Ranker().Transforms.Metapath2Vec(edges, o, new InputOutputColumnPair("U", "UserId")).Fit(data);
                double fit = sw.Elapsed.TotalSeconds;
                double pu = GraphBenchUtil.Purity(model.GetEmbeddings("User"), id => sbm.UserCommunity[int.Parse(id)], 10);
                double pi = GraphBenchUtil.Purity(model.GetEmbeddings("Item"), id => sbm.ItemCommunity[int.Parse(id)], 10);
                results.Add($"| MLNetRank {(variant == Metapath2VecVariant.Metapath2Vec ? "metapath2vec" : "metapath2vec++")} | {threads} | {model.Summary.TokensPerSecond:N0} | {model.Summary.TrainSeconds:F2} | {fit:F2} | {pu:F3} | {pi:F3} |");
                if (variant == Metapath2VecVariant.Metapath2Vec)
                {
                    // Walk generation speed: every walk of one epoch, one thread.
                    var walker = model.Walker;
                    var buf = new int[walker.WalkLength];
                    sw.Restart();
                    long steps = 0;
                    for (long w = 0; w < walker.WalkCount; w++)
                        steps += walker.Generate(w, buf) - 1;
                    Console.WriteLine($"walk generation: {steps:N0} steps in {sw.Elapsed.TotalSeconds:F2}s = {steps / sw.Elapsed.TotalSeconds:N0} steps/s (1 thread); {model.Summary.TokensPerEpoch:N0} tokens per epoch");
                    // gensim on the same walks.
                    var walksPath = Path.Combine(Path.GetTempPath(), $"m2v-walks-{Guid.NewGuid():N}.txt");
                    try
                    {
                        model.WriteWalks(walksPath);
                        var g = GraphBenchUtil.Gensim(walksPath, o, threads);
                        var users2 = g.Vectors.Where(kv => kv.Key.StartsWith("User:", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[5..], kv => kv.Value);
                        var items2 = g.Vectors.Where(kv => kv.Key.StartsWith("Item:", StringComparison.Ordinal)).ToDictionary(kv => kv.Key[5..], kv => kv.Value);
                        double gu = GraphBenchUtil.Purity(users2, id => sbm.UserCommunity[int.Parse(id)], 10);
                        double gi = GraphBenchUtil.Purity(items2, id => sbm.ItemCommunity[int.Parse(id)], 10);
                        results.Add($"| gensim {g.Version} Word2Vec (sg=1, negative=5), same walks | {threads} | {g.Words / g.Seconds:N0} | {g.Seconds:F2} | | {gu:F3} | {gi:F3} |");
                    }
                    finally
                    {
                        File.Delete(walksPath);
                    }
                }
            }
            Console.WriteLine();
            Console.WriteLine("| trainer | threads | walk tokens/s | train s | fit s (graph+walks+train+tables) | user 10-NN purity | item 10-NN purity |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var r in results)
                Console.WriteLine(r);
            Console.WriteLine($"\nchance purity = {1.0 / communities:F3}; peak RSS {GraphBenchUtil.PeakRssMb()} MB");
            return 0;
        }
    }
}
