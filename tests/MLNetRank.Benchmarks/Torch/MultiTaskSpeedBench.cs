using System;
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
    /// python3-torch, tensors in memory), same layers, batch, optimizer and threads, in one run.
    /// Args: [rows=50000] [threads=2] [epochs=3] [batch=256].
    /// </summary>
    public sealed class MultiTaskSpeedBench : IBench
    {
        public string Name => "multitask-speed";

        public string Description => "MMoE training samples/s: MLNetRank (TorchSharp) vs PyTorch, same network, batch and threads";

        private sealed class Row
        {
            [VectorType(32)] public float[] Features { get; set; } = new float[32];
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }

        private sealed class EpochMemory : IProgress<MultiTaskProgress>
        {
            private readonly System.Collections.Generic.List<long> _sink;
            public EpochMemory(System.Collections.Generic.List<long> sink) => _sink = sink;
            public void Report(MultiTaskProgress value) => _sink.Add(Environment.WorkingSet);
        }

        internal static string RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetRank.sln")))
                dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Run from inside the repository (MLNetRank.sln not found above the binaries).");
        }

        public int Run(string[] args)
        {
            int rows = args.Length > 0 ? int.Parse(args[0]) : 50_000;
            int threads = args.Length > 1 ? int.Parse(args[1]) : 2;
            int epochs = args.Length > 2 ? int.Parse(args[2]) : 3;
            int batch = args.Length > 3 ? int.Parse(args[3]) : 256;
            const int dense = 32, experts = 4, tower = 16;
            var hidden = new[] { 64, 32 };

            var rng = new Random(1);
            var data = Enumerable.Range(0, rows).Select(_ => new Row
            {
                Features = Enumerable.Range(0, dense).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(),
                Click = rng.NextDouble() < 0.3,
                Buy = rng.NextDouble() < 0.3,
            }).ToList();
            var ml = new MLContext(1);
            var view = ml.Data.LoadFromEnumerable(data);
            var o = new MultiTaskOptions
            {
                Architecture = MultiTaskArchitecture.MMoE,
                Experts = experts,
                ExpertLayers = hidden,
                TowerLayers = new[] { tower },
                BatchSize = batch,
                Epochs = epochs,
                Threads = threads,
                ShuffleBufferSize = rows,
                Seed = 1,
            };
            o.Features.Add(new DenseFeature("Features"));
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            o.Tasks.Add(new TaskSpec("Buy", "Buy"));
            long memBefore = Environment.WorkingSet;
            var memory = new System.Collections.Generic.List<long>();
            o.Progress = new EpochMemory(memory);
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(view);
            var net = model.History.Select(h => h.SamplesPerSecond).ToArray();

            string script = Path.Combine(RepoRoot(), "tests", "MLNetRank.Benchmarks", "Torch", "mmoe_peer.py");
            var psi = new ProcessStartInfo("/usr/bin/python3", $"{script} {rows} {dense} {experts} {string.Join(",", hidden)} {tower} {batch} {epochs} {threads}")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            double[] py;
            string pyVersion;
            using (var p = Process.Start(psi)!)
            {
                string stdout = p.StandardOutput.ReadToEnd();
                string stderr = p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                {
                    Console.Error.WriteLine("PyTorch peer failed (install python3-torch): " + stderr);
                    return 3;
                }
                using var doc = JsonDocument.Parse(stdout.Trim().Split('\n').Last());
                py = doc.RootElement.GetProperty("samples_per_second").EnumerateArray().Select(e => e.GetDouble()).ToArray();
                pyVersion = doc.RootElement.GetProperty("torch").GetString() ?? "?";
            }
            // the first epoch warms both up; report the best of the later epochs as well as each epoch
            double netBest = net.Skip(1).DefaultIfEmpty(net[0]).Max();
            double pyBest = py.Skip(1).DefaultIfEmpty(py[0]).Max();
            Console.WriteLine();
            Console.WriteLine($"MMoE: {dense} dense inputs, {experts} experts [{string.Join(", ", hidden)}], 2 towers [{tower}], batch {batch}, Adam, {threads} threads, {rows} rows, {epochs} epochs");
            Console.WriteLine();
            Console.WriteLine("| trainer | samples/s per epoch | best after warm-up | ratio |");
            Console.WriteLine("|---|---|---|---|");
            Console.WriteLine($"| MLNetRank (TorchSharp {typeof(TorchSharp.torch).Assembly.GetName().Version}, streaming IDataView) | {string.Join(" / ", net.Select(v => v.ToString("F0")))} | {netBest:F0} | {netBest / pyBest:F2}x |");
            Console.WriteLine($"| PyTorch {pyVersion} (tensors in memory) | {string.Join(" / ", py.Select(v => v.ToString("F0")))} | {pyBest:F0} | 1.00x |");
            Console.WriteLine();
            Console.WriteLine($"process working set before training {memBefore / (1 << 20)} MB; after each epoch: {string.Join(" / ", memory.Select(m => (m / (1 << 20)) + " MB"))}");
            return 0;
        }
    }
}
