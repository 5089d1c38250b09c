using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using MLNetRank.Onnx;

namespace MLNetRank.Benchmarks.Onnx
{
    /// <summary>
    /// Measurements shared by the scoring benchmarks (<c>onnx-serving</c>, <c>multitask-scoring</c>): the one-core sgemm
    /// roofline, request latencies and their percentiles, the load average, and draining ML.NET outputs.
    /// </summary>
    internal static class ScoringMeasures
    {
        /// <summary>
        /// Single-thread sgemm throughput through ONNX Runtime's MLAS on one intra-op thread, best of 30 runs each: MatMul of
        /// two 1024x1024 runtime inputs, and Gemm of a 1024x1024 input by a constant (pre-packed) 1024x1024 weight.
        /// </summary>
        public static (double Dynamic, double Packed) SgemmGflops()
        {
            const int n = 1024;
            var rng = new Random(3);
            var a = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble()).ToArray();
            var b = Enumerable.Range(0, n * n).Select(_ => (float)rng.NextDouble()).ToArray();

            var dynamicGraph = new OnnxGraphBuilder("sgemm");
            dynamicGraph.AddInput("A", new long[] { n, n });
            dynamicGraph.AddInput("B", new long[] { n, n });
            dynamicGraph.AddOutput(dynamicGraph.MatMul("A", "B", "C"), new long[] { n, n });
            var packedGraph = new OnnxGraphBuilder("sgemm-packed");
            packedGraph.AddInput("A", new long[] { n, n });
            packedGraph.AddOutput(packedGraph.Gemm("A", packedGraph.AddInitializer("B", b, new long[] { n, n }), output: "C"), new long[] { n, n });

            double Measure(byte[] model, bool withB)
            {
                using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
                using var session = new InferenceSession(model, options);
                using var va = OrtValue.CreateTensorValueFromMemory(a, new long[] { n, n });
                using var vb = OrtValue.CreateTensorValueFromMemory(b, new long[] { n, n });
                using var runOptions = new RunOptions();
                var names = withB ? new[] { "A", "B" } : new[] { "A" };
                var values = withB ? new[] { va, vb } : new[] { va };
                using (session.Run(runOptions, names, values, new[] { "C" })) { }
                double best = double.MaxValue;
                for (int i = 0; i < 30; i++)
                {
                    var sw = Stopwatch.StartNew();
                    using (session.Run(runOptions, names, values, new[] { "C" })) { }
                    best = Math.Min(best, sw.Elapsed.TotalSeconds);
                }
                return 2.0 * n * n * n / best / 1e9;
            }
            return (Measure(dynamicGraph.ToBytes(), true), Measure(packedGraph.ToBytes(), false));
        }

        /// <summary>The 1-, 5- and 15-minute load averages (Linux), or "n/a".</summary>
        public static string LoadAverage()
        {
            try
            {
                return File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
            }
            catch (IOException)
            {
                return "n/a";
            }
        }

        /// <summary>Wall time in milliseconds of each of <paramref name="count"/> calls of <paramref name="action"/>(i), after
        /// <paramref name="warmup"/> untimed calls <paramref name="action"/>(0 .. warmup - 1).</summary>
        public static double[] Latencies(int count, Action<int> action, int warmup = 0)
        {
            for (int i = 0; i < warmup; i++)
                action(i);
            var result = new double[count];
            var sw = new Stopwatch();
            for (int i = 0; i < count; i++)
            {
                sw.Restart();
                action(i);
                result[i] = sw.Elapsed.TotalMilliseconds;
            }
            return result;
        }

        /// <summary>The <paramref name="q"/>-quantile (nearest rank) of <paramref name="values"/>.</summary>
        public static double Percentile(IReadOnlyCollection<double> values, double q)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted[Math.Max(0, Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1))];
        }

        /// <summary>One Markdown row: path, threads, mean rows/s and its % of the roofline, rows/s at the median latency and
        /// its %, p50 and p99 of the request latency (blank latency cells without latencies).</summary>
        public static string MarkdownRow(string path, int threads, double rate, double roofline, double[]? latencyMs, int candidates)
        {
            if (latencyMs is null)
                return $"| {path} | {threads} | {rate:N0} | {100 * rate / roofline:F0}% | | | | |";
            double p50 = Percentile(latencyMs, 0.5), p99 = Percentile(latencyMs, 0.99);
            double atP50 = candidates / (p50 / 1000.0);
            return $"| {path} | {threads} | {rate:N0} | {100 * rate / roofline:F0}% | {atP50:N0} | {100 * atP50 / roofline:F0}% | {p50:F2} | {p99:F2} |";
        }

        /// <summary>The header of the table of <see cref="MarkdownRow"/>.</summary>
        public static string MarkdownHeader(int candidates)
            => $"| path | threads | rows/s (mean) | % of 1-core roofline | rows/s at p50 | % at p50 | {candidates}-candidate request p50 (ms) | p99 (ms) |\n"
             + "|---|---|---|---|---|---|---|---|";

        /// <summary>Runs a cursor over the given (vector of Single) output columns to the end.</summary>
        public static void Drain(IDataView scored, params string[] columns)
        {
            var cols = columns.Select(c => scored.Schema[c]).ToArray();
            using var cursor = scored.GetRowCursor(cols);
            var getters = cols.Select(c => cursor.GetGetter<VBuffer<float>>(c)).ToArray();
            var values = new VBuffer<float>[cols.Length];
            while (cursor.MoveNext())
                for (int i = 0; i < getters.Length; i++)
                    getters[i](ref values[i]);
        }
    }
}
