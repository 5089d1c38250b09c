using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Onnx;

namespace MLNetRank.Benchmarks.Onnx
{
    /// <summary>
    /// Scoring a 4-expert MMoE (experts [256,128] over 100 dense inputs + 3 id embeddings, 2 gates, 2 towers):
    /// ML.NET Transform and PredictionEngine against the request scorer (200-candidate requests), and the one-core
    /// roofline (single-thread sgemm GFLOPS / network FLOPs per row).
    /// Args: [--rows N (default 20000)] [--requests K (default 400)] [--candidates C (default 200)].
    /// </summary>
    public sealed class OnnxServingBench : IBench
    {
        public string Name => "onnx-serving";

        public string Description => "MMoE scoring: ML.NET Transform/PredictionEngine vs the batched request scorer; % of one-core roofline";

        private sealed class InRow
        {
            [VectorType(100)]
            public float[] Dense { get; set; } = Array.Empty<float>();
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            public uint CategoryId { get; set; }
        }

        private sealed class OutRow
        {
            [VectorType(1)]
            public float[] ClickProbability { get; set; } = Array.Empty<float>();
            [VectorType(1)]
            public float[] BuyProbability { get; set; } = Array.Empty<float>();
        }

        public int Run(string[] args)
        {
            int rows = Arg(args, "--rows", 20000);
            int requests = Arg(args, "--requests", 400);
            int candidates = Arg(args, "--candidates", 200);

            var spec = new ReferenceNetworks.MmoeSpec();
            byte[] onnx = ReferenceNetworks.Mmoe(spec);
            var rng = new Random(7);
            var data = Enumerable.Range(0, rows).Select(_ => new InRow
            {
                Dense = Enumerable.Range(0, 100).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(),
                UserId = (uint)rng.Next(10000),
                LiveId = (uint)rng.Next(5000),
                CategoryId = (uint)rng.Next(100),
            }).ToArray();

            var ml = new MLContext(seed: 1);
            ((Microsoft.ML.Runtime.IHostEnvironment)ml).SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
            var view = ml.Data.LoadFromEnumerable(data);
            string zip = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-serving-" + Environment.ProcessId + ".zip");
            using (var fitted = ml.Ranker().Transforms.ApplyOnnxNetwork(new OnnxNetworkEstimator.Options { Model = onnx, IntraOpNumThreads = 1, InterOpNumThreads = 1 }).Fit(view))
                ml.Model.Save(fitted, view.Schema, zip);

            var (dynamicGflops, packedGflops) = SgemmGflops();
            double gflops = Math.Max(dynamicGflops, packedGflops);
            long flops = spec.FlopsPerRow;
            double roofline = gflops * 1e9 / flops;
            Console.WriteLine();
            Console.WriteLine($"Network: {spec.Experts} experts [{string.Join(",", spec.ExpertLayers)}] over {spec.DenseInputs} dense + {spec.Ids.Length}x{spec.EmbeddingDim} embeddings, " +
                              $"{spec.Tasks.Length} gates, towers [{string.Join(",", spec.TowerLayers)},1]; {flops / 1e6:F3} MFLOP/row; ONNX {onnx.Length / 1024} KiB.");
            Console.WriteLine($"One-core sgemm, 1024x1024x1024 on 1 ONNX Runtime thread: MatMul of two inputs {dynamicGflops:F1} GFLOPS, Gemm by a constant (pre-packed) weight {packedGflops:F1} GFLOPS " +
                              $"-> roofline {gflops:F1} GFLOPS / {flops / 1e6:F3} MFLOP = {roofline:N0} rows/s.");
            Console.WriteLine();
            Console.WriteLine($"| path | threads | rows/s (mean) | % of 1-core roofline | rows/s at p50 | % at p50 | {candidates}-candidate request p50 (ms) | p99 (ms) |");
            Console.WriteLine("|---|---|---|---|---|---|---|---|");

            // ML.NET Transform over all rows (OnnxTransformer: one ONNX Runtime call per row).
            var loadedCtx = new MLContext(seed: 2);
            ((Microsoft.ML.Runtime.IHostEnvironment)loadedCtx).SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
            var model = loadedCtx.Model.Load(zip, out _);
            double transformRate = MeasureTransform(loadedCtx, model, data);
            var transformLatency = Latencies(Math.Min(requests, 60), i =>
            {
                var slice = loadedCtx.Data.LoadFromEnumerable(Slice(data, i, candidates));
                Drain(model.Transform(slice));
            });
            Row("ML.NET `Transform`", 1, transformRate, roofline, transformLatency, candidates);

            // PredictionEngine, one row at a time.
            using (var engine = loadedCtx.Model.CreatePredictionEngine<InRow, OutRow>(model))
            {
                var output = new OutRow();
                int n = Math.Min(rows, 5000);
                for (int i = 0; i < 200; i++)
                    engine.Predict(data[i], ref output);
                var sw = Stopwatch.StartNew();
                for (int i = 0; i < n; i++)
                    engine.Predict(data[i], ref output);
                double rate = n / sw.Elapsed.TotalSeconds;
                var latency = Latencies(Math.Min(requests, 60), r =>
                {
                    foreach (var row in Slice(data, r, candidates))
                        engine.Predict(row, ref output);
                });
                Row("ML.NET `PredictionEngine`", 1, rate, roofline, latency, candidates);
            }
            (model as IDisposable)?.Dispose();

            // The request scorer: 200-candidate requests filled from arrays, one batched ONNX Runtime call each.
            foreach (int threads in new[] { 1, 2 })
            {
                using var scorer = RequestScorer.Open(zip, new RequestScorerOptions { IntraOpNumThreads = threads });
                using var request = scorer.CreateRequest(candidates);
                void Fill(int r)
                {
                    request.Count = candidates;
                    var dense = request.GetInputSpan<float>("Dense");
                    var user = request.GetInputSpan<uint>("UserId");
                    var live = request.GetInputSpan<uint>("LiveId");
                    var cat = request.GetInputSpan<uint>("CategoryId");
                    int start = (r * candidates) % Math.Max(1, rows - candidates);
                    for (int i = 0; i < candidates; i++)
                    {
                        var row = data[start + i];
                        row.Dense.CopyTo(dense.Slice(i * 100, 100));
                        user[i] = row.UserId;
                        live[i] = row.LiveId;
                        cat[i] = row.CategoryId;
                    }
                }
                for (int r = 0; r < 30; r++)
                {
                    Fill(r);
                    scorer.Score(request);
                }
                var latency = Latencies(requests, r =>
                {
                    Fill(r);
                    scorer.Score(request);
                });
                double rate = candidates * requests / (latency.Sum() / 1000.0);
                Row("request scorer", threads, rate, roofline, latency, candidates);
            }

            // Raw ONNX Runtime on the same graph, batches of 200, for reference (no ML.NET, no request buffers).
            using (var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL })
            using (var session = new InferenceSession(onnx, options))
            {
                var dense = new float[candidates * 100];
                var ids = new long[candidates];
                for (int i = 0; i < dense.Length; i++)
                    dense[i] = (float)(rng.NextDouble() * 2 - 1);
                using var runOptions = new RunOptions();
                using var d = OrtValue.CreateTensorValueFromMemory(dense, new long[] { candidates, 100 });
                using var u = OrtValue.CreateTensorValueFromMemory(ids, new long[] { candidates, 1 });
                var names = new[] { "Dense", "UserId", "LiveId", "CategoryId" };
                var values = new[] { d, u, u, u };
                for (int i = 0; i < 30; i++)
                    using (session.Run(runOptions, names, values, session.OutputNames)) { }
                var latency = Latencies(requests, _ => { using (session.Run(runOptions, names, values, session.OutputNames)) { } });
                Row("raw ONNX Runtime (reference)", 1, candidates * requests / (latency.Sum() / 1000.0), roofline, latency, candidates);
            }
            File.Delete(zip);
            return 0;
        }

        private static void Row(string path, int threads, double rate, double roofline, double[] latencyMs, int candidates)
        {
            var sorted = latencyMs.OrderBy(v => v).ToArray();
            double P(double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
            double atP50 = candidates / (P(0.5) / 1000.0);
            Console.WriteLine($"| {path} | {threads} | {rate:N0} | {100 * rate / roofline:F0}% | {atP50:N0} | {100 * atP50 / roofline:F0}% | {P(0.5):F2} | {P(0.99):F2} |");
        }

        private static double[] Latencies(int count, Action<int> action)
        {
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

        private static IEnumerable<InRow> Slice(InRow[] data, int request, int candidates)
        {
            int start = (request * candidates) % Math.Max(1, data.Length - candidates);
            return new ArraySegment<InRow>(data, start, candidates);
        }

        private static double MeasureTransform(MLContext ml, ITransformer model, InRow[] data)
        {
            var view = ml.Data.LoadFromEnumerable(data);
            Drain(model.Transform(ml.Data.TakeRows(view, 500)));
            var sw = Stopwatch.StartNew();
            Drain(model.Transform(view));
            return data.Length / sw.Elapsed.TotalSeconds;
        }

        private static void Drain(IDataView scored)
        {
            var a = scored.Schema["ClickProbability"];
            var b = scored.Schema["BuyProbability"];
            using var cursor = scored.GetRowCursor(new[] { a, b });
            var ga = cursor.GetGetter<VBuffer<float>>(a);
            var gb = cursor.GetGetter<VBuffer<float>>(b);
            VBuffer<float> va = default, vb = default;
            while (cursor.MoveNext())
            {
                ga(ref va);
                gb(ref vb);
            }
        }

        /// <summary>
        /// Single-thread sgemm throughput through ONNX Runtime's MLAS on one intra-op thread, best of: MatMul of two
        /// 1024x1024 runtime inputs, and Gemm of a 1024x1024 input by a constant (pre-packed) 1024x1024 weight.
        /// </summary>
        private static (double Dynamic, double Packed) SgemmGflops()
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
                for (int i = 0; i < 9; i++)
                {
                    var sw = Stopwatch.StartNew();
                    using (session.Run(runOptions, names, values, new[] { "C" })) { }
                    best = Math.Min(best, sw.Elapsed.TotalSeconds);
                }
                return 2.0 * n * n * n / best / 1e9;
            }
            return (Measure(dynamicGraph.ToBytes(), true), Measure(packedGraph.ToBytes(), false));
        }

        private static int Arg(string[] args, string name, int fallback)
        {
            int i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], out int v) && v > 0 ? v : fallback;
        }
    }
}
