using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Benchmarks.Onnx;
using MLNetRank.Onnx;
using MLNetRank.Serving;
using MLNetRank.Torch.MultiTask;
using TorchSharp.Modules;

namespace MLNetRank.Benchmarks.Torch
{
    /// <summary>
    /// Scoring the issue's MMoE as trained and exported by MLNetRank's multi-task trainer (weights from a short training
    /// run; they do not matter for speed), from the zip saved with <c>mlContext.Model.Save</c>: ML.NET <c>Transform</c>,
    /// <c>PredictionEngine</c> and the request scorer (200-candidate requests, 1 thread), with the one-core sgemm roofline
    /// measured in the same run; and raw ONNX Runtime on the exported graph against the hand-written reference graph of
    /// the same network (<c>ReferenceNetworks.Mmoe</c>), interleaved.
    /// Args: [--rows N (scored rows, default 20000)] [--requests K (default 400)] [--candidates C (default 200)]
    /// [--train-rows R (default 4000)].
    /// </summary>
    public sealed class MultiTaskScoringBench : IBench
    {
        public string Name => "multitask-scoring";

        public string Description => "MMoE trained by MLNetRank, scored from its zip: ML.NET Transform/PredictionEngine vs request scorer; % of one-core roofline";

        private sealed class ScoreIn
        {
            [VectorType(100)] public float[] Dense { get; set; } = new float[100];
            [KeyType(10000)] public uint UserId { get; set; }
            [KeyType(5000)] public uint LiveId { get; set; }
            [KeyType(100)] public uint CategoryId { get; set; }
        }

        private sealed class ScoreOut
        {
            [VectorType(1)] public float[] ClickProbability { get; set; } = Array.Empty<float>();
            [VectorType(1)] public float[] BuyProbability { get; set; } = Array.Empty<float>();
        }

        private static readonly string[] Outputs = { "ClickScore", "ClickProbability", "BuyScore", "BuyProbability" };

        private static readonly Option<int> Rows = BenchOption.Of("--rows", 20000, "rows scored through ML.NET");
        private static readonly Option<int> Requests = BenchOption.Of("--requests", 400, "requests timed");
        private static readonly Option<int> Candidates = BenchOption.Of("--candidates", 200, "candidates per request");
        private static readonly Option<int> TrainRows = BenchOption.Of("--train-rows", 4000, "rows the network is trained on");

        public int Run(ParseResult args)
        {
            int rows = args.GetValue(Rows);
            int requests = args.GetValue(Requests);
            int candidates = args.GetValue(Candidates);
            int trainRows = args.GetValue(TrainRows);
            string dir = Path.Combine(Path.GetTempPath(), "mlnetrank-multitask-scoring-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            try
            {
                return Run(rows, requests, candidates, trainRows, dir);
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        private int Run(int rows, int requests, int candidates, int trainRows, string dir)
        {
            Console.WriteLine();
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");

            // 1. Train the issue's MMoE briefly with our trainer and save the zip.
            var ml = new MLContext(1);
            var train = ml.Data.LoadFromEnumerable(MultiTaskSpeedBench.IssueNetwork.Rows(trainRows, 1));
            string zip = Path.Combine(dir, "mmoe.zip");
            long flops, referenceFlops;
            byte[] exported;
            string layers;
            var sw = Stopwatch.StartNew();
            using (var model = ml.Ranker().Trainers.MultiTask(MultiTaskSpeedBench.IssueNetwork.Options(256, 1, 1, trainRows)).Fit(train))
            {
                ml.Model.Save(model, train.Schema, zip);
                exported = model.OnnxModel.ToArray();
                (flops, layers) = FlopsPerRow(model);
            }
            Console.WriteLine($"Trained on {trainRows} rows (1 epoch, 1 thread) and saved in {sw.Elapsed.TotalSeconds:F1} s; zip {new FileInfo(zip).Length / 1024} KiB, ONNX {exported.Length / 1024} KiB.");
            var spec = new ReferenceNetworks.MmoeSpec();
            referenceFlops = spec.FlopsPerRow;
            Console.WriteLine($"Network (from the trained modules): {layers}; {flops / 1e6:F3} MFLOP/row (reference graph's count for the same layers: {referenceFlops / 1e6:F3}).");
            if (flops != referenceFlops)
                throw new InvalidOperationException($"The trained network's FLOPs per row ({flops}) differ from the reference network's ({referenceFlops}): the layers are not the same.");

            var (dynamicStart, packedStart) = ScoringMeasures.SgemmGflops();
            Console.WriteLine($"One-core sgemm at the start (1024^3, 1 ONNX Runtime thread): MatMul {dynamicStart:F1} GFLOPS, pre-packed Gemm {packedStart:F1} GFLOPS.");

            var rng = new Random(7);
            var data = MultiTaskSpeedBench.IssueNetwork.Rows(rows, 2).Select(r => new ScoreIn { Dense = r.Dense, UserId = r.UserId, LiveId = r.LiveId, CategoryId = r.CategoryId }).ToArray();
            var results = new List<(string Path, int Threads, double Rate, double[]? Latency)>();

            // 2. ML.NET from the zip, in a fresh context (ONNX Runtime: 1 intra-op thread).
            var loadedCtx = new MLContext(seed: 2);
            ((Microsoft.ML.Runtime.IHostEnvironment)loadedCtx).SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
            var loaded = loadedCtx.Model.Load(zip, out _);
            float[][] expected;
            {
                var all = loadedCtx.Data.LoadFromEnumerable(data);
                ScoringMeasures.Drain(loaded.Transform(loadedCtx.Data.TakeRows(all, 500)), Outputs);
                sw.Restart();
                ScoringMeasures.Drain(loaded.Transform(all), Outputs);
                double rate = rows / sw.Elapsed.TotalSeconds;
                var latency = ScoringMeasures.Latencies(Math.Min(requests, 60), r =>
                    ScoringMeasures.Drain(loaded.Transform(loadedCtx.Data.LoadFromEnumerable(Slice(data, r, candidates))), Outputs));
                results.Add(("ML.NET `Transform` (cursor over the 4 outputs)", 1, rate, latency));
                var first = loaded.Transform(loadedCtx.Data.LoadFromEnumerable(Slice(data, 0, candidates)));
                expected = Outputs.Select(c => first.GetColumn<float[]>(c).Select(v => v[0]).ToArray()).ToArray();
            }
            using (var engine = loadedCtx.Model.CreatePredictionEngine<ScoreIn, ScoreOut>(loaded))
            {
                var output = new ScoreOut();
                int n = Math.Min(rows, 5000);
                for (int i = 0; i < 200; i++)
                    engine.Predict(data[i], ref output);
                sw.Restart();
                for (int i = 0; i < n; i++)
                    engine.Predict(data[i], ref output);
                double rate = n / sw.Elapsed.TotalSeconds;
                var latency = ScoringMeasures.Latencies(Math.Min(requests, 60), r =>
                {
                    foreach (var row in Slice(data, r, candidates))
                        engine.Predict(row, ref output);
                });
                results.Add(("ML.NET `PredictionEngine`", 1, rate, latency));
            }
            (loaded as IDisposable)?.Dispose();

            // 3. The request scorer on the same zip: 200-candidate requests filled from arrays (inside the timed region).
            double maxDiff;
            using (var scorer = RequestScorer.Open(zip, new RequestScorerOptions { IntraOpNumThreads = 1 }))
            using (var request = scorer.CreateRequest(candidates))
            {
                Console.WriteLine($"Request columns: {string.Join(", ", scorer.RequestColumns.Select(c => c.Name))}; outputs: {string.Join(", ", scorer.OutputColumns.Select(c => c.Name))}.");
                void Fill(int r)
                {
                    request.Count = candidates;
                    var dense = request.GetInputSpan<float>("Dense");
                    var user = request.GetInputSpan<uint>("UserId");
                    var live = request.GetInputSpan<uint>("LiveId");
                    var cat = request.GetInputSpan<uint>("CategoryId");
                    int start = Start(data.Length, r, candidates);
                    for (int i = 0; i < candidates; i++)
                    {
                        var row = data[start + i];
                        row.Dense.CopyTo(dense.Slice(i * 100, 100));
                        // a request carries ML.NET's raw key values (1-based, 0 = missing), a [KeyType] class field the
                        // 0-based index: + 1
                        user[i] = row.UserId + 1;
                        live[i] = row.LiveId + 1;
                        cat[i] = row.CategoryId + 1;
                    }
                }
                Fill(0);
                scorer.Score(request);
                maxDiff = Outputs.Select((c, k) => request.GetOutput<float>(c).ToArray().Zip(expected[k], (p, q) => Math.Abs(p - q)).Max()).Max();
                if (!(maxDiff <= 1e-5))
                    throw new InvalidOperationException($"The request scorer's outputs differ from ML.NET Transform's by {maxDiff:E2}.");
                var latency = ScoringMeasures.Latencies(requests, r =>
                {
                    Fill(r);
                    scorer.Score(request);
                }, warmup: 30);
                results.Add(("**request scorer**", 1, candidates * requests / (latency.Sum() / 1000.0), latency));

                var all = new MLContext(3).Data.LoadFromEnumerable(data);
                scorer.ScoreAll(new MLContext(3).Data.TakeRows(all, 512));
                sw.Restart();
                var scores = scorer.ScoreAll(all, 256);
                results.Add(("request scorer `ScoreAll` (IDataView, batches of 256)", 1, rows / sw.Elapsed.TotalSeconds, null));
            }

            // 4. Raw ONNX Runtime, 200-row batches, inputs pre-built: the exported graph against the hand-written reference
            //    graph of the same layers, in alternating blocks so both see the same machine load.
            byte[] reference = ReferenceNetworks.Mmoe(spec);
            using (var exportedRun = new RawRun(exported, candidates))
            using (var referenceRun = new RawRun(reference, candidates))
            {
                var exportedLatency = new List<double>();
                var referenceLatency = new List<double>();
                exportedRun.Warm();
                referenceRun.Warm();
                int blocks = 8, perBlock = Math.Max(1, requests / blocks);
                for (int b = 0; b < blocks; b++)
                {
                    exportedLatency.AddRange(ScoringMeasures.Latencies(perBlock, _ => exportedRun.Run()));
                    referenceLatency.AddRange(ScoringMeasures.Latencies(perBlock, _ => referenceRun.Run()));
                }
                results.Add(("raw ONNX Runtime, graph exported by the trainer", 1, candidates * exportedLatency.Count / (exportedLatency.Sum() / 1000.0), exportedLatency.ToArray()));
                results.Add(("raw ONNX Runtime, hand-written reference graph (`ReferenceNetworks.Mmoe`)", 1, candidates * referenceLatency.Count / (referenceLatency.Sum() / 1000.0), referenceLatency.ToArray()));
                Console.WriteLine($"Exported graph: {exportedRun.Describe()}. Reference graph: {referenceRun.Describe()}.");
            }

            var (dynamicEnd, packedEnd) = ScoringMeasures.SgemmGflops();
            Console.WriteLine($"One-core sgemm at the end: MatMul {dynamicEnd:F1} GFLOPS, pre-packed Gemm {packedEnd:F1} GFLOPS. Load average at the end: {ScoringMeasures.LoadAverage()}.");
            double gflops = new[] { dynamicStart, packedStart, dynamicEnd, packedEnd }.Max();
            double roofline = gflops * 1e9 / flops;
            Console.WriteLine($"Roofline: {gflops:F1} GFLOPS / {flops / 1e6:F3} MFLOP per row = {roofline:N0} rows/s (one core).");
            Console.WriteLine();
            Console.WriteLine(ScoringMeasures.MarkdownHeader(candidates));
            foreach (var (path, threads, rate, latency) in results)
                Console.WriteLine(ScoringMeasures.MarkdownRow(path, threads, rate, roofline, latency, candidates));
            Console.WriteLine();
            Console.WriteLine($"Request scorer vs ML.NET `Transform` on a {candidates}-candidate request, all 4 outputs: max |difference| {maxDiff:E1}.");
            return 0;
        }

        /// <summary>FLOPs per row of the trained network from its Linear layers (2 x in x out each) plus the expert mixing
        /// (2 x experts x expert width per task); and a description of the layers.</summary>
        private static (long Flops, string Layers) FlopsPerRow(MultiTaskTransformer model)
        {
            long flops = 0;
            var linear = new List<string>();
            foreach (var (name, module) in model.Network.named_modules())
            {
                if (module is not Linear l)
                    continue;
                long outF = l.weight!.shape[0], inF = l.weight.shape[1];
                flops += 2 * inF * outF;
                linear.Add($"{inF}x{outF}");
            }
            var o = model.Options;
            int width = o.ExpertLayers[^1];
            flops += o.Tasks.Count * 2L * o.Experts * width;
            var groups = linear.GroupBy(s => s).Select(g => $"{g.Count()} x {g.Key}");
            return (flops, $"Linear layers {string.Join(", ", groups)}; embeddings {string.Join(", ", model.Layout.Tables.Select(t => $"{t.Name} {t.Rows}x{t.Dimension}"))}");
        }

        /// <summary>An ONNX Runtime session on one thread with pre-built inputs for a batch (dense inputs random, ids 1).</summary>
        private sealed class RawRun : IDisposable
        {
            private readonly InferenceSession _session;
            private readonly RunOptions _runOptions = new RunOptions();
            private readonly OrtValue[] _values;
            private readonly string[] _names;

            public RawRun(byte[] onnx, int batch)
            {
                using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
                _session = new InferenceSession(onnx, options);
                var rng = new Random(5);
                var names = new List<string>();
                var values = new List<OrtValue>();
                foreach (var (name, meta) in _session.InputMetadata)
                {
                    long width = meta.Dimensions.Skip(1).Aggregate(1L, (a, d) => a * Math.Max(1, d));
                    var shape = new[] { (long)batch }.Concat(meta.Dimensions.Skip(1).Select(d => (long)Math.Max(1, d))).ToArray();
                    int count = (int)(batch * width);
                    values.Add(meta.ElementDataType switch
                    {
                        TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), shape),
                        TensorElementType.UInt32 => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, count).Select(_ => (uint)rng.Next(1, 100)).ToArray(), shape),
                        TensorElementType.Int64 => OrtValue.CreateTensorValueFromMemory(Enumerable.Range(0, count).Select(_ => (long)rng.Next(1, 100)).ToArray(), shape),
                        var t => throw new NotSupportedException($"Input '{name}' of type {t}."),
                    });
                    names.Add(name);
                }
                _names = names.ToArray();
                _values = values.ToArray();
            }

            public string Describe()
            {
                var inputs = string.Join(", ", _session.InputMetadata.Select(kv => $"{kv.Key} {kv.Value.ElementDataType} [{string.Join(",", kv.Value.Dimensions)}]"));
                return $"inputs {inputs}";
            }

            public void Warm()
            {
                for (int i = 0; i < 30; i++)
                    Run();
            }

            public void Run()
            {
                using (_session.Run(_runOptions, _names, _values, _session.OutputNames)) { }
            }

            public void Dispose()
            {
                foreach (var v in _values)
                    v.Dispose();
                _runOptions.Dispose();
                _session.Dispose();
            }
        }

        private static int Start(int length, int request, int candidates) => (request * candidates) % Math.Max(1, length - candidates);

        private static IEnumerable<ScoreIn> Slice(ScoreIn[] data, int request, int candidates)
            => new ArraySegment<ScoreIn>(data, Start(data.Length, request, candidates), candidates);
    }
}
