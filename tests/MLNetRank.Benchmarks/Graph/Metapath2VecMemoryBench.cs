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

        /// <inheritdoc />
        public int Run(string[] args)
        {
            if (args.Length >= 2 && args[0] == "load")
            {
                var sw0 = Stopwatch.StartNew();
                var fresh = new MLContext(1);
                var loaded = fresh.Model.Load(args[1], out _);
                double load = sw0.Elapsed.TotalSeconds;
                var one = fresh.Data.LoadFromEnumerable(new[] { new Row { UserId = 1, ItemId = 2 } });
                sw0.Restart();
                var v = loaded.Transform(one).GetColumn<float[]>("UserEmbedding").Single();
                double score = sw0.Elapsed.TotalSeconds;
                Console.WriteLine($"child: load {load:F2} s, score one row {score:F2} s (vector length {v.Length}); peak RSS {Rss().Hwm:N0} MB");
                return 0;
            }
            var a = GraphBenchUtil.Args(args);
            int users = a.Int("users", 150_000), lives = a.Int("lives", 10_000), items = a.Int("items", 40_000);
            long ul = a.Int("ulEdges", 600_000), li = a.Int("liEdges", 300_000);
            var ml = new MLContext(1);
            var edges = ml.Data.LoadFromEnumerable(Metapath2VecScaleBench.Stream(users, lives, items, ul, li));
            Console.WriteLine("| stage | RSS MB | peak RSS MB | GC heap MB | live managed MB |");
            Console.WriteLine("|---|---:|---:|---:|---:|");
            Console.WriteLine(Stage("start"));
            var o = new Metapath2VecOptions
            {
                Metapaths = new[] { "User-Live-Item-Live-User" },
                Dimension = a.Int("dim", 64),
                WalksPerNode = a.Int("walks", 1),
                WalkLength = a.Int("length", 20),
                Epochs = a.Int("epochs", 1),
                NumberOfThreads = a.Int("threads", 2),
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
                var psi = new ProcessStartInfo(Environment.ProcessPath!) { RedirectStandardOutput = true, UseShellExecute = false };
                if (Path.GetFileName(Environment.ProcessPath!) is "dotnet" or "dotnet.exe")
                    psi.ArgumentList.Add(typeof(Program).Assembly.Location); // running under `dotnet`: pass the assembly
                psi.ArgumentList.Add(Name);
                psi.ArgumentList.Add("load");
                psi.ArgumentList.Add(zip);
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
