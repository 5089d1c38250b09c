using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Torch
{
    /// <summary>
    /// Training throughput of the same MMoE in MLNetRank (TorchSharp, streaming an IDataView) and in PyTorch (Debian's
    /// python3-torch with OpenBLAS, tensors in memory), same layers, embeddings, batch, optimizer and threads, in one run;
    /// the parameter counts of both networks are checked equal.
    /// Args: [--network issue|small] [--rows N] [--epochs E] [--threads 1,2] [--batch 256,1024] [--repeats R] (R &gt; 1:
    /// each configuration runs R times on each side, alternating, and the ratio of the medians is reported), or the positional
    /// form [rows=50000] [threads=2] [epochs=3] [batch=256] (small network).
    /// Networks: <c>issue</c> = 100 dense inputs + UserId 10000x16, LiveId 5000x16, CategoryId 100x16 embeddings, 4 experts
    /// [256, 128], 2 towers [64] (the network of the speed issue and of <c>ReferenceNetworks.Mmoe</c>); <c>small</c> = 32
    /// dense inputs, 4 experts [64, 32], 2 towers [16].
    /// </summary>
    public sealed class MultiTaskSpeedBench : IBench
    {
        public string Name => "multitask-speed";

        public string Description => "MMoE training samples/s: MLNetRank (TorchSharp) vs PyTorch, same network, batch and threads";

        private sealed class SmallRow
        {
            [VectorType(32)] public float[] Features { get; set; } = new float[32];
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }

        /// <summary>A row of the issue's network: 100 dense features and three ids given as keys. ML.NET reads a
        /// <c>[KeyType]</c> field of a class as a 0-based index (0..count-1) and stores it as the key value index + 1
        /// (0 = missing), which is the row of the embedding table.</summary>
        internal sealed class IssueRow
        {
            [VectorType(100)] public float[] Dense { get; set; } = new float[100];
            [KeyType(10000)] public uint UserId { get; set; }
            [KeyType(5000)] public uint LiveId { get; set; }
            [KeyType(100)] public uint CategoryId { get; set; }
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }

        /// <summary>The issue's network: layers, embeddings, tasks.</summary>
        internal static class IssueNetwork
        {
            public const int Dense = 100, Experts = 4, Tower = 64, EmbeddingDim = 16;
            public static readonly int[] Hidden = { 256, 128 };

            public static IssueRow[] Rows(int n, int seed)
            {
                var rng = new Random(seed);
                return Enumerable.Range(0, n).Select(_ => new IssueRow
                {
                    Dense = Enumerable.Range(0, Dense).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(),
                    UserId = (uint)rng.Next(10000),
                    LiveId = (uint)rng.Next(5000),
                    CategoryId = (uint)rng.Next(100),
                    Click = rng.NextDouble() < 0.3,
                    Buy = rng.NextDouble() < 0.3,
                }).ToArray();
            }

            public static MultiTaskEstimator.Options Options(int batch, int epochs, int threads, int shuffle)
            {
                var o = new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.MMoE,
                    Experts = Experts,
                    ExpertLayers = Hidden,
                    TowerLayers = new[] { Tower },
                    BatchSize = batch,
                    Epochs = epochs,
                    NumberOfThreads = threads,
                    ShuffleBufferSize = shuffle,
                    Optimizer = MultiTaskOptimizer.Adam,
                    LearningRate = 1e-3,
                    Seed = 1,
                };
                o.Features.Add(new DenseFeature("Dense"));
                o.Features.Add(new CategoricalFeature("UserId", EmbeddingDim));
                o.Features.Add(new CategoricalFeature("LiveId", EmbeddingDim));
                o.Features.Add(new CategoricalFeature("CategoryId", EmbeddingDim));
                o.Tasks.Add(new TaskSpec("Click", "Click"));
                o.Tasks.Add(new TaskSpec("Buy", "Buy"));
                return o;
            }
        }

        private sealed class EpochMemory : IProgress<MultiTaskProgress>
        {
            private readonly List<(long WorkingSet, long Managed)> _sink;
            public EpochMemory(List<(long, long)> sink) => _sink = sink;
            public void Report(MultiTaskProgress value) => _sink.Add((Environment.WorkingSet, GC.GetTotalMemory(false)));
        }

        internal static string RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetRank.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Run from inside the repository (MLNetRank.sln not found above the binaries).");
        }

        /// <summary>Trainable parameters of a trained multi-task network.</summary>
        internal static long ParameterCount(MultiTaskTransformer model) => model.Network.parameters().Sum(p => p.numel());

        private sealed record PeerResult(double[] Rates, string Version, long Parameters, string Blas, double[] LastEpochPhases, int BlasThreads, string BlasCore, string Mode, bool Mkl)
        {
            /// <summary>"OpenBLAS (kernel)" or "MKL" or the library path: which BLAS ran the peer's matrix products.</summary>
            public string BlasName => Blas.Contains("openblas", StringComparison.OrdinalIgnoreCase) ? $"OpenBLAS {BlasCore}, {BlasThreads} thr"
                : Blas.Contains("mkl", StringComparison.OrdinalIgnoreCase) || Mkl ? "MKL" : Blas;
        }

        private static PeerResult RunPeer(string arguments, int threads, int blasThreads)
        {
            string script = Path.Combine(RepoRoot(), "tests", "MLNetRank.Benchmarks", "Torch", "mmoe_peer.py");
            var psi = PythonPeer.StartInfo($"{script} {arguments}", threads, blasThreads);
            using var p = Process.Start(psi)!;
            var stderrTask = p.StandardError.ReadToEndAsync();
            string stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException("PyTorch peer failed (apt-get install python3-torch libopenblas0-pthread): " + stderrTask.Result);
            using var doc = JsonDocument.Parse(stdout.Trim().Split('\n').Last());
            var root = doc.RootElement;
            return new PeerResult(
                root.GetProperty("samples_per_second").EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                root.GetProperty("torch").GetString() ?? "?",
                root.GetProperty("parameters").GetInt64(),
                root.GetProperty("blas").GetString() ?? "?",
                root.GetProperty("phases_ms").EnumerateArray().Last().EnumerateArray().Select(e => e.GetDouble()).ToArray(),
                root.GetProperty("blas_threads").GetInt32(),
                root.TryGetProperty("blas_core", out var core) ? core.GetString() ?? "?" : "?",
                root.TryGetProperty("mode", out var mode) ? mode.GetString() ?? "?" : "unfused",
                root.TryGetProperty("mkl", out var mkl) && mkl.GetBoolean());
        }

        private static readonly Option<string> PeerOption = BenchOption.OneOf("--peer", "fused", "PyTorch peer: fused (one MMoE module) or unfused (a layer per expert)", "fused", "unfused");
        private static readonly Option<string> NetworkOption = BenchOption.OneOf("--network", "issue", "issue: the issue's MMoE with embeddings; small: a small dense MMoE", "issue", "small");
        private static readonly Option<int?> RowsOption = BenchOption.Optional<int?>("--rows", "training rows (default 20000 for issue, 50000 for small)");
        private static readonly Option<int> EpochsOption = BenchOption.Of("--epochs", 3, "epochs");
        private static readonly Option<int[]> ThreadsOption = BenchOption.List("--threads", new[] { 1, 2 }, "thread counts, both sides");
        private static readonly Option<int[]> BatchOption = BenchOption.List("--batch", new[] { 256 }, "batch sizes");
        private static readonly Option<int> RepeatsOption = BenchOption.Of("--repeats", 1, "repeats (best is reported)");

        public int Run(ParseResult args)
        {
            // the bench opts in to MklCpuDispatch (the trainer does it only when asked: EnableMklCpuDispatch), before any
            // libtorch computation
            Console.WriteLine(MLNetRank.Torch.MklCpuDispatch.Prepare());
            string peerMode = args.GetValue(PeerOption)!;
            Console.WriteLine($"PyTorch peer: {peerMode}; {Graph.GraphBenchUtil.Affinity()} (run under taskset to pin both sides: the peer inherits the affinity).");
            string network = args.GetValue(NetworkOption)!;
            int rows = args.GetValue(RowsOption) ?? (network == "issue" ? 20_000 : 50_000);
            int epochs = args.GetValue(EpochsOption), repeats = Math.Max(1, args.GetValue(RepeatsOption));
            int[] threadList = args.GetValue(ThreadsOption)!, batchList = args.GetValue(BatchOption)!;

            var ml = new MLContext(1);
            var split = TrainerTimeSplit.Attach(ml);
            var view = LoadData(ml, network, rows, out string description);
            Console.WriteLine();
            Console.WriteLine($"{description}; {rows} rows, {epochs} epochs; load average at the start: {Onnx.ScoringMeasures.LoadAverage()}.");

            var report = new Report();
            foreach (int batch in batchList)
            {
                foreach (int threads in threadList)
                {
                    var o = CreateOptions(network, batch, epochs, threads, rows);
                    var repeatBests = new List<(double Net, double Py)>();
                    for (int repeat = 0; repeat < repeats; repeat++)
                    {
                        // our side, then the peer's, alternating repeat by repeat
                        if (MeasureRepeat(ml, o, view, network, rows, batch, epochs, threads, peerMode, split, report, repeatBests) is int exitCode)
                            return exitCode;
                    }
                    if (repeats > 1)
                        report.AddRepeatSummary(network, batch, threads, repeatBests);
                }
            }
            report.Print(repeats);
            return 0;
        }

        /// <summary>One repeat of a configuration: our training, then the peer's on the same network; records both in the
        /// report. Returns an exit code when the peer fails (3) or the networks differ (4), otherwise null.</summary>
        private static int? MeasureRepeat(MLContext ml, MultiTaskEstimator.Options o, IDataView view, string network, int rows, int batch, int epochs, int threads,
            string peerMode, TrainerTimeSplit split, Report report, List<(double Net, double Py)> repeatBests)
        {
            var ours = TrainOurs(ml, o, view);
            string peerArgs = PeerArguments(network, rows, batch, epochs, threads, ours.Tables, peerMode);
            PeerResult py;
            try
            {
                py = RunPeerBestPool(peerArgs, threads);
            }
            catch (InvalidOperationException e)
            {
                Console.Error.WriteLine(e.Message);
                return 3;
            }
            if (py.Parameters != ours.Parameters)
            {
                Console.Error.WriteLine($"The networks differ: MLNetRank has {ours.Parameters:N0} parameters, the PyTorch peer {py.Parameters:N0} (tables {ours.Tables}).");
                return 4;
            }
            repeatBests.Add(report.AddRepeat(network, batch, threads, ours, py, split.Last));
            return null;
        }

        /// <summary>The trainer's per-epoch time split (Trace level): "Epoch N time (ms): waiting for batches A, batch tensors
        /// B, forward C, ..."; <see cref="Last"/> holds the last one logged.</summary>
        private sealed class TrainerTimeSplit
        {
            public string? Last;

            public static TrainerTimeSplit Attach(MLContext ml)
            {
                var split = new TrainerTimeSplit();
                ml.Log += (_, e) =>
                {
                    int at = e.Message.IndexOf("time (ms): ", StringComparison.Ordinal);
                    if (at >= 0)
                        split.Last = e.Message.Substring(at + "time (ms): ".Length).TrimEnd('.');
                };
                return split;
            }
        }

        private static IDataView LoadData(MLContext ml, string network, int rows, out string description)
        {
            IDataView view;
            if (network == "issue")
            {
                view = ml.Data.LoadFromEnumerable(IssueNetwork.Rows(rows, 1));
                description = $"MMoE: {IssueNetwork.Dense} dense inputs + UserId 10000x{IssueNetwork.EmbeddingDim}, LiveId 5000x{IssueNetwork.EmbeddingDim}, CategoryId 100x{IssueNetwork.EmbeddingDim} embeddings, " +
                              $"{IssueNetwork.Experts} experts [{string.Join(", ", IssueNetwork.Hidden)}], 2 softmax gates, 2 towers [{IssueNetwork.Tower}], Adam lr 1e-3";
            }
            else
            {
                var rng = new Random(1);
                view = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(_ => new SmallRow
                {
                    Features = Enumerable.Range(0, 32).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(),
                    Click = rng.NextDouble() < 0.3,
                    Buy = rng.NextDouble() < 0.3,
                }).ToList());
                description = "MMoE: 32 dense inputs, 4 experts [64, 32], 2 softmax gates, 2 towers [16], Adam lr 1e-3";
            }
            return view;
        }

        private static MultiTaskEstimator.Options CreateOptions(string network, int batch, int epochs, int threads, int rows)
        {
            MultiTaskEstimator.Options o;
            if (network == "issue")
                o = IssueNetwork.Options(batch, epochs, threads, rows);
            else
            {
                o = new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.MMoE,
                    Experts = 4,
                    ExpertLayers = new[] { 64, 32 },
                    TowerLayers = new[] { 16 },
                    BatchSize = batch,
                    Epochs = epochs,
                    NumberOfThreads = threads,
                    ShuffleBufferSize = rows,
                    Seed = 1,
                };
                o.Features.Add(new DenseFeature("Features"));
                o.Tasks.Add(new TaskSpec("Click", "Click"));
                o.Tasks.Add(new TaskSpec("Buy", "Buy"));
            }
            return o;
        }

        /// <summary>Our side of one repeat: samples/s per epoch, parameters, embedding tables, and the process's memory.</summary>
        private sealed record OurResult(double[] Rates, long Parameters, string Tables, long MemoryBefore, List<(long WorkingSet, long Managed)> Memory);

        private static OurResult TrainOurs(MLContext ml, MultiTaskEstimator.Options o, IDataView view)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            long memBefore = Environment.WorkingSet;
            var memory = new List<(long WorkingSet, long Managed)>();
            o.Progress = new EpochMemory(memory);
            double[] net;
            long netParams;
            string tables;
            using (var model = ml.Ranker().Trainers.MultiTask(o).Fit(view))
            {
                net = model.History.Select(h => h.SamplesPerSecond).ToArray();
                netParams = ParameterCount(model);
                tables = string.Join(",", model.Layout.Tables.Select(t => $"{t.Rows}x{t.Dimension}"));
            }
            return new OurResult(net, netParams, tables, memBefore, memory);
        }

        private static string PeerArguments(string network, int rows, int batch, int epochs, int threads, string tables, string peerMode) => network == "issue"
            ? $"{rows} {IssueNetwork.Dense} {IssueNetwork.Experts} {string.Join(",", IssueNetwork.Hidden)} {IssueNetwork.Tower} {batch} {epochs} {threads} {tables} {peerMode}"
            : $"{rows} 32 4 64,32 16 {batch} {epochs} {threads} - {peerMode}";

        /// <summary>The peer's side of one repeat. With several threads, PyTorch gets the better of two pool settings: OpenBLAS
        /// with as many threads as PyTorch's own pool, or single-threaded BLAS under PyTorch's intra-op parallelism (in
        /// Debian's build the first oversubscribes the cores on this network).</summary>
        private static PeerResult RunPeerBestPool(string peerArgs, int threads)
        {
            var py = RunPeer(peerArgs, threads, threads);
            if (threads > 1)
            {
                var single = RunPeer(peerArgs, threads, 1);
                if (single.Rates.Skip(1).DefaultIfEmpty(single.Rates[0]).Max() > py.Rates.Skip(1).DefaultIfEmpty(py.Rates[0]).Max())
                    py = single;
            }
            return py;
        }

        /// <summary>The lines of the printed tables, gathered configuration by configuration.</summary>
        private sealed class Report
        {
            private readonly List<string> _table = new();
            private readonly List<string> _memoryLines = new();
            private readonly List<string> _splitLines = new();
            private readonly List<string> _repeatLines = new();
            private string? _peerInfo;

            /// <summary>Records one repeat (and prints its line); returns both sides' best epoch after warm-up.</summary>
            public (double Net, double Py) AddRepeat(string network, int batch, int threads, OurResult ours, PeerResult py, string? lastSplit)
            {
                var net = ours.Rates;
                long netParams = ours.Parameters;
                var memory = ours.Memory;
                _peerInfo ??= $"PyTorch {py.Version}, BLAS: {py.Blas}" + (py.Blas.Contains("openblas", StringComparison.OrdinalIgnoreCase) ? "" : " (NOT OpenBLAS: install libopenblas0-pthread, the reference BLAS is several times slower)");
                // the first epoch warms both up; report each epoch and the best of the later ones
                double netBest = net.Skip(1).DefaultIfEmpty(net[0]).Max();
                double pyBest = py.Rates.Skip(1).DefaultIfEmpty(py.Rates[0]).Max();
                _table.Add($"| {network} | {batch} | {threads} | {Graph.GraphBenchUtil.Affinity()} | {py.Mode}, {py.BlasName} | {netParams:N0} | {string.Join(" / ", net.Select(v => v.ToString("N0")))} | {string.Join(" / ", py.Rates.Select(v => v.ToString("N0")))} | {netBest:N0} | {pyBest:N0} | **{netBest / pyBest:F2}x** |");
                _splitLines.Add($"| {batch} | {threads} | {lastSplit} | forward {py.LastEpochPhases[0]:F0}, backward {py.LastEpochPhases[1]:F0}, optimizer {py.LastEpochPhases[2]:F0} |");
                _memoryLines.Add($"| {network} | {batch} | {threads} | {ours.MemoryBefore / (1 << 20)} | {string.Join(" / ", memory.Select(m => (m.WorkingSet / (1 << 20)).ToString()))} | {string.Join(" / ", memory.Select(m => (m.Managed / (1 << 20)).ToString()))} |");
                Console.WriteLine($"  batch {batch}, {threads} threads: MLNetRank {netBest:N0}, PyTorch {pyBest:N0} samples/s (best after warm-up), {netParams:N0} parameters in both; PyTorch's OpenBLAS pool: {py.BlasThreads} threads, kernel {py.BlasCore}.");
                return (netBest, pyBest);
            }

            public void AddRepeatSummary(string network, int batch, int threads, List<(double Net, double Py)> repeatBests)
            {
                double Median(IEnumerable<double> v) { var a = v.OrderBy(x => x).ToArray(); return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2; }
                double mNet = Median(repeatBests.Select(r => r.Net)), mPy = Median(repeatBests.Select(r => r.Py));
                _repeatLines.Add($"| {network} | {batch} | {threads} | {string.Join(" / ", repeatBests.Select(r => r.Net.ToString("N0")))} | {string.Join(" / ", repeatBests.Select(r => r.Py.ToString("N0")))} | {string.Join(" / ", repeatBests.Select(r => (r.Net / r.Py).ToString("F2")))} | {mNet:N0} | {mPy:N0} | **{mNet / mPy:F2}x** |");
            }

            public void Print(int repeats)
            {
                Console.WriteLine();
                Console.WriteLine($"MLNetRank: TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, streaming the IDataView; {_peerInfo}, tensors in memory. Load average at the end: {Onnx.ScoringMeasures.LoadAverage()}.");
                Console.WriteLine();
                Console.WriteLine("| network | batch | threads | pinned | PyTorch peer, BLAS | parameters (both) | MLNetRank samples/s per epoch | PyTorch samples/s per epoch | MLNetRank best after warm-up | PyTorch best after warm-up | ratio |");
                Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|---|");
                foreach (var line in _table)
                    Console.WriteLine(line);
                if (_repeatLines.Count > 0)
                {
                    Console.WriteLine();
                    Console.WriteLine($"Repeats (each configuration trained {repeats} times on each side, alternating MLNetRank and PyTorch; the table above shows the last):");
                    Console.WriteLine();
                    Console.WriteLine("| network | batch | threads | MLNetRank best per repeat | PyTorch best per repeat | ratio per repeat | MLNetRank median | PyTorch median | ratio of medians |");
                    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
                    foreach (var line in _repeatLines)
                        Console.WriteLine(line);
                }
                Console.WriteLine();
                Console.WriteLine("Time split of the last epoch (ms; MLNetRank from its Trace log, PyTorch timed around the same steps):");
                Console.WriteLine();
                Console.WriteLine("| batch | threads | MLNetRank | PyTorch |");
                Console.WriteLine("|---|---|---|---|");
                foreach (var line in _splitLines)
                    Console.WriteLine(line);
                Console.WriteLine();
                Console.WriteLine("Memory of the MLNetRank process (MB; the configurations run one after another in it):");
                Console.WriteLine();
                Console.WriteLine("| network | batch | threads | working set before training | working set after each epoch | managed heap after each epoch |");
                Console.WriteLine("|---|---|---|---|---|---|");
                foreach (var line in _memoryLines)
                    Console.WriteLine(line);
            }
        }
    }
}
