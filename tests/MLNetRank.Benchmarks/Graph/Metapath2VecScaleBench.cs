using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Graph;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>
    /// Scale: a streamed random graph of ~1M nodes and ~10M edges (users, lives, items with communities), graph build,
    /// walks and skip-gram training on 2 threads; wall time per stage and peak RSS (VmHWM).
    /// </summary>
    public sealed class Metapath2VecScaleBench : IBench
    {
        /// <inheritdoc />
        public string Name => "metapath2vec-scale";

        /// <inheritdoc />
        public string Description => "1M nodes / 10M edges: graph build, walks, training time and peak RSS";

        private static readonly Option<int> Users = BenchOption.Of("--users", 700_000, "users");
        private static readonly Option<int> Lives = BenchOption.Of("--lives", 50_000, "live streams");
        private static readonly Option<int> Items = BenchOption.Of("--items", 250_000, "items");
        private static readonly Option<int> UlEdges = BenchOption.Of("--ul-edges", 7_000_000, "user-live edges");
        private static readonly Option<int> LiEdges = BenchOption.Of("--li-edges", 3_000_000, "live-item edges");
        private static readonly Option<int> Dim = BenchOption.Of("--dim", 64, "embedding dimension");
        private static readonly Option<int> Walks = BenchOption.Of("--walks", 1, "walks per node");
        private static readonly Option<int> Length = BenchOption.Of("--length", 20, "walk length");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 1, "epochs");
        private static readonly Option<int> Threads = BenchOption.Of("--threads", 2, "threads (NumberOfThreads)");

        /// <inheritdoc />
        public int Run(ParseResult args)
        {
            int users = args.GetValue(Users), lives = args.GetValue(Lives), items = args.GetValue(Items);
            long ul = args.GetValue(UlEdges), li = args.GetValue(LiEdges);
            var ml = new MLContext(1);
            var edges = ml.Data.LoadFromEnumerable(Stream(users, lives, items, ul, li));
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-Item-Live-User" },
                Dimension = args.GetValue(Dim),
                WalksPerNode = args.GetValue(Walks),
                WalkLength = args.GetValue(Length),
                WindowSize = 5,
                Epochs = args.GetValue(Epochs),
                NumberOfThreads = args.GetValue(Threads),
                Seed = 1,
            };
            var total = Stopwatch.StartNew();
            var sw = Stopwatch.StartNew();
            var mps = o.Metapaths.Select(Metapath.Parse).ToArray();
            var graph = HeterogeneousGraph.Build(edges, o, names => new HashSet<(int, int)>
            {
                (Array.IndexOf(names, "User"), Array.IndexOf(names, "Live")), (Array.IndexOf(names, "Live"), Array.IndexOf(names, "Item")),
                (Array.IndexOf(names, "Item"), Array.IndexOf(names, "Live")), (Array.IndexOf(names, "Live"), Array.IndexOf(names, "User")),
            }, null);
            double build = sw.Elapsed.TotalSeconds;
            long graphBytes = graph.Relations.Values.Sum(r => r.Targets.LongLength * 4 + r.Offsets.LongLength * 8 + (r.CumulativeWeights?.LongLength ?? 0) * 4) + (graph.IntegerIds?.LongLength ?? 0) * 8;
            long rssAfterBuild = GraphBenchUtil.PeakRssMb();
            GC.Collect();
            var walker = new MetapathWalker(graph, mps, o.WalksPerNode, o.WalkLength, 1);
            var trainer = new SkipGramTrainer(walker, o.Dimension, o.WindowSize, o.NegativeSamples, o.Epochs, o.InitialLearningRate, o.MinLearningRateFraction,
                o.SubsamplingThreshold, false, o.NumberOfThreads!.Value, 1);
            sw.Restart();
            trainer.CountWalks();
            double walks = sw.Elapsed.TotalSeconds;
            trainer.Train(null);
            double trainS = trainer.Statistics.TrainSeconds;
            long tables = (long)graph.NodeCount * o.Dimension * 4 * 2;
            Console.WriteLine($"graph: {graph.NodeCount:N0} nodes, {graph.EdgeRows:N0} edge rows, CSR {graph.Relations.Values.Sum(r => r.EdgeCount):N0} directed entries ({graphBytes / 1e6:F0} MB incl. ids)");
            Console.WriteLine($"walks: {trainer.Statistics.Walks:N0} walks, {trainer.Statistics.TokensPerEpoch:N0} tokens/epoch; dim {o.Dimension}, window 5, negative 5, epochs {o.Epochs}, threads {o.NumberOfThreads}");
            Console.WriteLine();
            Console.WriteLine("| stage | seconds |");
            Console.WriteLine("|---|---|");
            Console.WriteLine($"| read edges + build CSR (streamed IDataView) | {build:F1} |");
            Console.WriteLine($"| walk generation + counting (vocabulary pass, {o.NumberOfThreads} threads) | {walks:F1} ({trainer.Statistics.TokensPerEpoch / walks:N0} steps/s) |");
            Console.WriteLine($"| skip-gram training | {trainS:F1} ({trainer.Statistics.TokensPerEpoch * (double)o.Epochs / trainS:N0} tokens/s) |");
            Console.WriteLine($"| total | {total.Elapsed.TotalSeconds:F1} |");
            Console.WriteLine();
            Console.WriteLine($"peak RSS after graph build: {rssAfterBuild} MB; peak RSS overall: {GraphBenchUtil.PeakRssMb()} MB; graph {graphBytes / 1e6:F0} MB + two embedding tables {tables / 1e6:F0} MB = {(graphBytes + tables) / 1e6:F0} MB");
            return 0;
        }

        internal static IEnumerable<BenchEdge> Stream(int users, int lives, int items, long ul, long li)
        {
            // Communities: node i is in community i % 50; 80% of links stay inside.
            const int c = 50;
            var rng = new Random(7);
            BenchEdge e;
            for (long k = 0; k < ul; k++)
            {
                int u = (int)(k % users);
                int comm = rng.NextDouble() < 0.8 ? u % c : rng.Next(c);
                int l = comm + c * rng.Next((lives - comm + c - 1) / c);
                e = new BenchEdge { SourceId = (uint)u, SourceType = "User", TargetId = (uint)l, TargetType = "Live" };
                yield return e;
            }
            for (long k = 0; k < li; k++)
            {
                int l = (int)(k % lives);
                int comm = rng.NextDouble() < 0.8 ? l % c : rng.Next(c);
                int i = comm + c * rng.Next((items - comm + c - 1) / c);
                e = new BenchEdge { SourceId = (uint)l, SourceType = "Live", TargetId = (uint)i, TargetType = "Item" };
                yield return e;
            }
        }
    }
}
