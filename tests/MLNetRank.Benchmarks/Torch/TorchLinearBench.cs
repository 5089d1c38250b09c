using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace MLNetRank.Benchmarks.Torch
{
    /// <summary>
    /// One <c>Linear</c> layer's forward and forward + backward for the layer shapes of the MMoE, in TorchSharp's
    /// libtorch (oneMKL) and in Debian's PyTorch (OpenBLAS, its own kernel choice), same batch and threads: tells whether a
    /// training-speed gap is in the matrix kernels. Args: [batch=256] [threads=1] [mkl-default] — <c>mkl-default</c>
    /// leaves oneMKL's CPU dispatch alone (see <see cref="MLNetRank.Torch.MklCpuDispatch"/>).
    /// </summary>
    public sealed class TorchLinearBench : IBench
    {
        private static readonly (int In, int Out)[] Shapes = { (148, 256), (256, 128), (148, 4), (128, 64), (64, 1) };

        public string Name => "torch-linear";

        public string Description => "Linear forward / forward+backward GFLOPS per layer shape: libtorch (oneMKL) vs PyTorch (OpenBLAS)";

        private static readonly Option<int> Batch = BenchOption.Of("--batch", 256, "batch size (rows per product)");
        private static readonly Option<int> Threads = BenchOption.Of("--threads", 1, "threads, both sides");
        private static readonly Option<bool> MklDefault = BenchOption.Flag("--mkl-default", "leave oneMKL's CPU dispatch alone");

        public int Run(ParseResult args)
        {
            int b = args.GetValue(Batch);
            int threads = args.GetValue(Threads);
            string dispatch = args.GetValue(MklDefault) ? "oneMKL dispatch left alone (mkl-default)" : MLNetRank.Torch.MklCpuDispatch.Prepare();
            set_num_threads(threads);
            manual_seed(0);
            var ours = Shapes.Select(s => Measure(s.In, s.Out, b)).ToArray();
            var (peer, core) = Peer(b, threads);

            Console.WriteLine($"batch {b}, {threads} thread(s); MLNetRank: {dispatch}");
            Console.WriteLine();
            Console.WriteLine("| layer | libtorch forward µs (GFLOPS) | PyTorch forward µs (GFLOPS) | libtorch fwd+bwd µs (GFLOPS) | PyTorch fwd+bwd µs (GFLOPS) |");
            Console.WriteLine("|---|---|---|---|---|");
            for (int k = 0; k < Shapes.Length; k++)
            {
                double fl = 2.0 * b * Shapes[k].In * Shapes[k].Out;
                string Cell(double s, double flops) => double.IsNaN(s) ? "-" : $"{s * 1e6:F1} ({flops / s / 1e9:F0})";
                var p = peer.TryGetValue(Shapes[k], out var v) ? v : (double.NaN, double.NaN);
                Console.WriteLine($"| {Shapes[k].In} → {Shapes[k].Out} | {Cell(ours[k].Forward, fl)} | {Cell(p.Item1, fl)} | {Cell(ours[k].Both, 3 * fl)} | {Cell(p.Item2, 3 * fl)} |");
            }
            Console.WriteLine();
            Console.WriteLine($"PyTorch's OpenBLAS kernel: {core}.");
            return 0;
        }

        private static (double Forward, double Both) Measure(int i, int o, int b)
        {
            using var scope = NewDisposeScope();
            var lin = TorchSharp.torch.nn.Linear(i, o);
            var x = randn(b, i).requires_grad_(true);
            var gy = randn(b, o);
            void Step()
            {
                using var s = NewDisposeScope();
                lin.forward(x).backward(new[] { gy });
            }
            for (int r = 0; r < 50; r++) Step();
            double both = Enumerable.Range(0, 5).Min(_ => Timed(Step));
            double fwd;
            using (no_grad())
                fwd = Enumerable.Range(0, 5).Min(_ => Timed(() => { using var s = NewDisposeScope(); lin.forward(x); }));
            return (fwd, both);
        }

        private static double Timed(Action f)
        {
            var sw = Stopwatch.StartNew();
            for (int k = 0; k < 200; k++) f();
            return sw.Elapsed.TotalSeconds / 200;
        }

        private static (Dictionary<(int, int), (double, double)> Rows, string Core) Peer(int batch, int threads)
        {
            string script = Path.Combine(MultiTaskSpeedBench.RepoRoot(), "tests", "MLNetRank.Benchmarks", "Torch", "torch_linear_peer.py");
            var psi = PythonPeer.StartInfo($"{script} {batch} {threads}", threads);
            var rows = new Dictionary<(int, int), (double, double)>();
            try
            {
                using var p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEndAsync();
                string output = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                    return (rows, "PyTorch peer failed (apt-get install python3-torch libopenblas0-pthread): " + err.Result.Trim().Split('\n').Last());
                string core = "?";
                foreach (var line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    var f = line.Split(' ');
                    if (f[0] == "core")
                        core = f[1];
                    else
                        rows[(int.Parse(f[0], CultureInfo.InvariantCulture), int.Parse(f[1], CultureInfo.InvariantCulture))] =
                            (double.Parse(f[2], CultureInfo.InvariantCulture), double.Parse(f[3], CultureInfo.InvariantCulture));
                }
                return (rows, core);
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return (rows, "PyTorch peer not runnable: " + e.Message);
            }
        }
    }
}
