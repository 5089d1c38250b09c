using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Graph;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>
    /// Memory of a metapath2vec fit as users run it (public API, id columns mapped) on ~200k nodes / 900k edges: resident
    /// memory and managed heap at each stage (read from the progress reports), the saved zip, then a fresh process that
    /// loads the zip and scores one row (time and peak RSS).
    /// </summary>
    public sealed class Metapath2VecMemoryBench : IBench
    {
        /// <inheritdoc />
        public string Name => "metapath2vec-memory";

        /// <inheritdoc />
        public string Description => "metapath2vec RSS per stage on 200k nodes / 900k edges, zip size, load + score one row in a fresh process";

        private sealed class Row
        {
            public uint UserId { get; set; }
            public uint ItemId { get; set; }
        }

        private static (long Rss, long Hwm) Rss()
        {
            long rss = 0, hwm = 0;
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    rss = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    hwm = long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            }
            return (rss, hwm);
        }

        private static string Stage(string name)
        {
            var (rss, hwm) = Rss();
            return $"| {name} | {rss:N0} | {hwm:N0} | {GC.GetGCMemoryInfo().HeapSizeBytes / 1048576.0:N0} | {GC.GetTotalMemory(false) / 1048576.0:N0} |";
        }

        private static readonly Option<string?> Load = BenchOption.Optional<string>("--load", "child process: load this saved zip with plain ML.NET and score one row");
        private static readonly Option<int> Users = BenchOption.Of("--users", 150_000, "users");
        private static readonly Option<int> Lives = BenchOption.Of("--lives", 10_000, "live streams");
        private static readonly Option<int> Items = BenchOption.Of("--items", 40_000, "items");
        private static readonly Option<int> UlEdges = BenchOption.Of("--ul-edges", 600_000, "user-live edges");
        private static readonly Option<int> LiEdges = BenchOption.Of("--li-edges", 300_000, "live-item edges");
        private static readonly Option<int> Dim = BenchOption.Of("--dim", 64, "embedding dimension");
        private static readonly Option<int> Walks = BenchOption.Of("--walks", 1, "walks per node");
        private static readonly Option<int> Length = BenchOption.Of("--length", 20, "walk length");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 1, "epochs");
        private static readonly Option<int> Threads = BenchOption.Of("--threads", 2, "threads (NumberOfThreads)");

        /// <inheritdoc />
        public int Run(ParseResult args)
        {
            if (args.GetValue(Load) is string savedZip)
            {
                var sw0 = Stopwatch.StartNew();
                var fresh = new MLContext(1);
                var loaded = fresh.Model.Load(savedZip, out _);
                double load = sw0.Elapsed.TotalSeconds;
                var one = fresh.Data.LoadFromEnumerable(new[] { new Row { UserId = 1, ItemId = 2 } });
                sw0.Restart();
                var v = loaded.Transform(one).GetColumn<float[]>("UserEmbedding").Single();
                double score = sw0.Elapsed.TotalSeconds;
                Console.WriteLine($"child: load {load:F2} s, score one row {score:F2} s (vector length {v.Length}); peak RSS {Rss().Hwm:N0} MB");
                return 0;
            }
            int users = args.GetValue(Users), lives = args.GetValue(Lives), items = args.GetValue(Items);
            long ul = args.GetValue(UlEdges), li = args.GetValue(LiEdges);
            var ml = new MLContext(1);
            var edges = ml.Data.LoadFromEnumerable(Metapath2VecScaleBench.Stream(users, lives, items, ul, li));
            Console.WriteLine("| stage | RSS MB | peak RSS MB | GC heap MB | live managed MB |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Console.WriteLine(Stage("start"));
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-Item-Live-User" },
                Dimension = args.GetValue(Dim),
                WalksPerNode = args.GetValue(Walks),
                WalkLength = args.GetValue(Length),
                Epochs = args.GetValue(Epochs),
                NumberOfThreads = args.GetValue(Threads),
                Seed = 1,
                Progress = new Reporter(p => { if (!p.InEpoch) Console.WriteLine(Stage("after " + p.Stage + (p.Epoch > 0 ? " epoch " + p.Epoch : ""))); }),
            };
            var sw = Stopwatch.StartNew();
            var model = ml.Ranker().Transforms.Metapath2Vec(edges, o, new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("ItemEmbedding", "ItemId"))
                .Fit(ml.Data.LoadFromEnumerable(new[] { new Row() }));
            double fit = sw.Elapsed.TotalSeconds;
            Console.WriteLine(Stage("after Fit (lookup tables built)"));
            GC.Collect();
            Console.WriteLine(Stage("after GC.Collect"));
            var zip = Path.Combine(Path.GetTempPath(), $"m2v-mem-{Guid.NewGuid():N}.zip");
            try
            {
                var schema = ml.Data.LoadFromEnumerable(new[] { new Row() }).Schema;
                sw.Restart();
                ml.Model.Save(model, schema, zip);
                double save = sw.Elapsed.TotalSeconds;
                Console.WriteLine(Stage("after Save"));
                long d = o.Dimension;
                Console.WriteLine();
                Console.WriteLine($"graph: {model.Summary.Nodes:N0} nodes, {model.Summary.EdgeRows:N0} edge rows; dim {d}; fit {fit:F1} s; " +
                                  $"users embedded {model.GetEmbeddings("User").Count:N0}, items {model.GetEmbeddings("Item").Count:N0}; " +
                                  $"two training tables {2 * model.Summary.Nodes * d * 4 / 1048576.0:N0} MB; save {save:F1} s; zip {new FileInfo(zip).Length / 1048576.0:F1} MB");
                var psi = BenchProcess.Self(true, Name, "--load", zip);
                sw.Restart();
                using var p = Process.Start(psi)!;
                Console.WriteLine(p.StandardOutput.ReadToEnd().Trim() + $" (process wall {sw.Elapsed.TotalSeconds:F1} s)");
                p.WaitForExit();
            }
            finally
            {
                File.Delete(zip);
            }
            return 0;
        }

        private sealed class Reporter : IProgress<Metapath2VecProgress>
        {
            private readonly Action<Metapath2VecProgress> _a;
            public Reporter(Action<Metapath2VecProgress> a) => _a = a;
            public void Report(Metapath2VecProgress value) => _a(value);
        }
    }
}
