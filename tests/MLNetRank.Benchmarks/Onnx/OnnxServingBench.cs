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
using MLNetRank.Serving;

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

        private sealed class SeqRow
        {
            [VectorType(100)]
            public float[] Dense { get; set; } = Array.Empty<float>();
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            public uint CategoryId { get; set; }
            [VectorType]
            public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
        }

        private sealed class OutRow
        {
            [VectorType(1)]
            public float[] ClickProbability { get; set; } = Array.Empty<float>();
            [VectorType(1)]
            public float[] BuyProbability { get; set; } = Array.Empty<float>();
        }

        private static readonly Option<int> Rows = BenchOption.Of("--rows", 20000, "rows scored through ML.NET");
        private static readonly Option<int> Requests = BenchOption.Of("--requests", 400, "requests timed");
        private static readonly Option<int> Candidates = BenchOption.Of("--candidates", 200, "candidates per request");

        public int Run(ParseResult args)
        {
            int rows = args.GetValue(Rows);
            int requests = args.GetValue(Requests);
            int candidates = args.GetValue(Candidates);

            var spec = new ReferenceNetworks.MmoeSpec();
            byte[] onnx = ReferenceNetworks.Mmoe(spec);
            var rng = new Random(7);
            var data = MakeRows(rng, rows);
            var ml = new MLContext(seed: 1);
            ((Microsoft.ML.Runtime.IHostEnvironment)ml).SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
            var view = ml.Data.LoadFromEnumerable(data);
            string zip = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-serving-" + Environment.ProcessId + ".zip");
            using (var fitted = ml.Ranker().Transforms.ApplyOnnxNetwork(new OnnxNetworkEstimator.Options { Model = onnx, IntraOpNumThreads = 1, InterOpNumThreads = 1 }).Fit(view))
                ml.Model.Save(fitted, view.Schema, zip);

            var (gflops, roofline) = MeasureRooflineAtStart(spec, onnx);
            var s = new Setup(data, rows, requests, candidates, roofline);

            var loadedCtx = new MLContext(seed: 2);
            ((Microsoft.ML.Runtime.IHostEnvironment)loadedCtx).SetOnnxSessionOption(new OnnxSessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
            var model = loadedCtx.Model.Load(zip, out _);
            MeasureMlNetTransform(s, loadedCtx, model);
            MeasurePredictionEngine(s, loadedCtx, model);
            (model as IDisposable)?.Dispose();

            var agreement = new ScoreAgreement();
            ScorerRows(s, agreement, zip, "request scorer", new[] { 1, 2 });
            MeasureFusedScorer(s, agreement, ml, view, spec);
            MeasurePrefixScorer(s, agreement, ml, view, onnx);
            double seqDiff = MeasureSequenceScorer(s, ml, loadedCtx, rng);
            MeasureScoreAll(s, loadedCtx, zip);
            MeasureRawOnnxRuntime(s, onnx, rng);
            File.Delete(zip);
            PrintReport(gflops, spec.FlopsPerRow, candidates, agreement.MaxDiff, seqDiff);
            return 0;
        }

        /// <summary>What every measurement step reads: the rows, the sizes, and the roofline at the start.</summary>
        private sealed record Setup(InRow[] Data, int Rows, int Requests, int Candidates, double Roofline);

        /// <summary>ClickProbability of the first request of the first scorer run, and the largest difference from it in the
        /// later runs (1 vs 2 threads, fused vs unfused).</summary>
        private sealed class ScoreAgreement
        {
            public float[] FirstScores = Array.Empty<float>();
            public double MaxDiff;
        }

        private static InRow[] MakeRows(Random rng, int rows) => Enumerable.Range(0, rows).Select(_ => new InRow
        {
            Dense = Enumerable.Range(0, 100).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(),
            UserId = (uint)rng.Next(10000),
            LiveId = (uint)rng.Next(5000),
            CategoryId = (uint)rng.Next(100),
        }).ToArray();

        /// <summary>Prints the network and the one-core sgemm at the start; returns the best GFLOPS and the roofline (rows/s).</summary>
        private static (double Gflops, double Roofline) MeasureRooflineAtStart(ReferenceNetworks.MmoeSpec spec, byte[] onnx)
        {
            // The roofline is measured at the start and again at the end of the run (best of each), since other
            // processes on the machine can slow any single window; the larger figure is the stricter roofline.
            var (dynamicGflops, packedGflops) = ScoringMeasures.SgemmGflops();
            double gflops = Math.Max(dynamicGflops, packedGflops);
            long flops = spec.FlopsPerRow;
            double roofline = gflops * 1e9 / flops;
            Console.WriteLine();
            Console.WriteLine($"Network: {spec.Experts} experts [{string.Join(",", spec.ExpertLayers)}] over {spec.DenseInputs} dense + {spec.Ids.Length}x{spec.EmbeddingDim} embeddings, " +
                              $"{spec.Tasks.Length} gates, towers [{string.Join(",", spec.TowerLayers)},1]; {flops / 1e6:F3} MFLOP/row; ONNX {onnx.Length / 1024} KiB.");
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");
            Console.WriteLine($"One-core sgemm at the start, 1024x1024x1024 on 1 ONNX Runtime thread: MatMul of two inputs {dynamicGflops:F1} GFLOPS, Gemm by a constant (pre-packed) weight {packedGflops:F1} GFLOPS.");
            return (gflops, roofline);
        }

        /// <summary>ML.NET Transform over all rows (OnnxTransformer: one ONNX Runtime call per row).</summary>
        private void MeasureMlNetTransform(Setup s, MLContext loadedCtx, ITransformer model)
        {
            double transformRate = MeasureTransform(loadedCtx, model, s.Data);
            var transformLatency = ScoringMeasures.Latencies(Math.Min(s.Requests, 60), i =>
            {
                var slice = loadedCtx.Data.LoadFromEnumerable(Slice(s.Data, i, s.Candidates));
                ScoringMeasures.Drain(model.Transform(slice), "ClickProbability", "BuyProbability");
            });
            Row("ML.NET `Transform`", 1, transformRate, s.Roofline, transformLatency, s.Candidates);
        }

        /// <summary>PredictionEngine, one row at a time.</summary>
        private void MeasurePredictionEngine(Setup s, MLContext loadedCtx, ITransformer model)
        {
            using var engine = loadedCtx.Model.CreatePredictionEngine<InRow, OutRow>(model);
            var output = new OutRow();
            int n = Math.Min(s.Rows, 5000);
            for (int i = 0; i < 200; i++)
                engine.Predict(s.Data[i], ref output);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < n; i++)
                engine.Predict(s.Data[i], ref output);
            double rate = n / sw.Elapsed.TotalSeconds;
            var latency = ScoringMeasures.Latencies(Math.Min(s.Requests, 60), r =>
            {
                foreach (var row in Slice(s.Data, r, s.Candidates))
                    engine.Predict(row, ref output);
            });
            Row("ML.NET `PredictionEngine`", 1, rate, s.Roofline, latency, s.Candidates);
        }

        /// <summary>The request scorer: 200-candidate requests filled from arrays, one batched ONNX Runtime call each.</summary>
        private void ScorerRows(Setup s, ScoreAgreement agreement, string modelZip, string label, int[] threadCounts)
        {
            int candidates = s.Candidates, rows = s.Rows, requests = s.Requests;
            var data = s.Data;
            foreach (int threads in threadCounts)
            {
                using var scorer = RequestScorer.Open(modelZip, new RequestScorerOptions { IntraOpNumThreads = threads });
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
                Fill(0);
                scorer.Score(request);
                var scores = request.GetOutput<float>("ClickProbability").ToArray();
                if (agreement.FirstScores.Length == 0)
                    agreement.FirstScores = scores;
                else
                    agreement.MaxDiff = Math.Max(agreement.MaxDiff, scores.Zip(agreement.FirstScores, (p, q) => Math.Abs(p - q)).Max());
                var latency = ScoringMeasures.Latencies(requests, r =>
                {
                    Fill(r);
                    scorer.Score(request);
                }, warmup: 30);
                double rate = candidates * requests / (latency.Sum() / 1000.0);
                Row(label, threads, rate, s.Roofline, latency, candidates);
            }
        }

        private void MeasureFusedScorer(Setup s, ScoreAgreement agreement, MLContext ml, IDataView view, ReferenceNetworks.MmoeSpec spec)
        {
            string fusedZip = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-serving-fused-" + Environment.ProcessId + ".zip");
            spec.FuseBottomLayers = true;
            using (var fitted = ml.Ranker().Transforms.ApplyOnnxNetwork(ReferenceNetworks.Mmoe(spec)).Fit(view))
                ml.Model.Save(fitted, view.Schema, fusedZip);
            ScorerRows(s, agreement, fusedZip, "request scorer, bottom layers fused in one Gemm", new[] { 1 });
            File.Delete(fusedZip);
            spec.FuseBottomLayers = false;
        }

        /// <summary>An ML.NET transform before the network (mean-variance normalization of the 100 dense inputs): the scorer
        /// runs it row by row through ML.NET's row mapper, then the network batched.</summary>
        private void MeasurePrefixScorer(Setup s, ScoreAgreement agreement, MLContext ml, IDataView view, byte[] onnx)
        {
            string prefixZip = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-serving-prefix-" + Environment.ProcessId + ".zip");
            var prefixPipeline = ml.Transforms.NormalizeMeanVariance("Dense")
                .Append(ml.Ranker().Transforms.ApplyOnnxNetwork(new OnnxNetworkEstimator.Options { Model = onnx, IntraOpNumThreads = 1, InterOpNumThreads = 1 }));
            using (var fitted = prefixPipeline.Fit(view))
            {
                ml.Model.Save(fitted, view.Schema, prefixZip);
                foreach (var t in fitted)
                    (t as IDisposable)?.Dispose();
            }
            agreement.FirstScores = Array.Empty<float>();
            ScorerRows(s, agreement, prefixZip, "request scorer, ML.NET `NormalizeMeanVariance` before the network", new[] { 1 });
            File.Delete(prefixZip);
        }

        /// <summary>The same MMoE with a 50-item user behaviour sequence (int64 [-1, -1], mean-pooled embeddings), fed by a
        /// variable-size UInt32 column: the scorer groups rows by sequence length (one group: the user's sequence is
        /// shared by the request's candidates). Returns the largest difference from ML.NET's Transform on the first request.</summary>
        private double MeasureSequenceScorer(Setup s, MLContext ml, MLContext loadedCtx, Random rng)
        {
            int candidates = s.Candidates, requests = s.Requests;
            var seqSpec = new ReferenceNetworks.MmoeSpec { Sequence = ("UserItemSeq", 20000) };
            var userSeq = Enumerable.Range(0, 50).Select(_ => (uint)rng.Next(20000)).ToArray();
            var seqData = s.Data.Take(Math.Min(s.Rows, 2000)).Select(r => new SeqRow { Dense = r.Dense, UserId = r.UserId, LiveId = r.LiveId, CategoryId = r.CategoryId, UserItemSeq = userSeq }).ToArray();
            var seqView = ml.Data.LoadFromEnumerable(seqData);
            string seqZip = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-serving-seq-" + Environment.ProcessId + ".zip");
            using (var fitted = ml.Ranker().Transforms.ApplyOnnxNetwork(ReferenceNetworks.Mmoe(seqSpec)).Fit(seqView))
                ml.Model.Save(fitted, seqView.Schema, seqZip);
            using var scorer = RequestScorer.Open(seqZip);
            using var request = scorer.CreateRequest(candidates);
            void Fill(int r)
            {
                request.Count = candidates;
                var dense = request.GetInputSpan<float>("Dense");
                var user = request.GetInputSpan<uint>("UserId");
                var live = request.GetInputSpan<uint>("LiveId");
                var cat = request.GetInputSpan<uint>("CategoryId");
                int start = (r * candidates) % Math.Max(1, seqData.Length - candidates);
                for (int i = 0; i < candidates; i++)
                {
                    var row = seqData[start + i];
                    row.Dense.CopyTo(dense.Slice(i * 100, 100));
                    user[i] = row.UserId;
                    live[i] = row.LiveId;
                    cat[i] = row.CategoryId;
                    request.SetValues<uint>("UserItemSeq", i, row.UserItemSeq);
                }
            }
            // Equality with ML.NET on the first request.
            Fill(0);
            scorer.Score(request);
            var seqModel = loadedCtx.Model.Load(seqZip, out _);
            var expected = seqModel.Transform(loadedCtx.Data.LoadFromEnumerable(seqData.Take(candidates))).GetColumn<float[]>("ClickProbability").Select(v => v[0]).ToArray();
            (seqModel as IDisposable)?.Dispose();
            double seqDiff = expected.Zip(request.GetOutput<float>("ClickProbability").ToArray(), (p, q) => Math.Abs(p - q)).Max();
            var latency = ScoringMeasures.Latencies(requests, r =>
            {
                Fill(r);
                scorer.Score(request);
            }, warmup: 30);
            Row($"request scorer, MMoE + 50-item user sequence ({seqSpec.FlopsPerRow / 1e6:F3} MFLOP/row)", 1, candidates * requests / (latency.Sum() / 1000.0), s.Roofline, latency, candidates, seqSpec.FlopsPerRow);
            File.Delete(seqZip);
            return seqDiff;
        }

        /// <summary>Offline: the scorer over the whole IDataView in batches of 256 (compare with ML.NET Transform above).</summary>
        private void MeasureScoreAll(Setup s, MLContext loadedCtx, string zip)
        {
            using var scorer = RequestScorer.Open(zip);
            var all = loadedCtx.Data.LoadFromEnumerable(s.Data);
            scorer.ScoreAll(loadedCtx.Data.TakeRows(all, 512));
            var sw = Stopwatch.StartNew();
            var scores = scorer.ScoreAll(all, 256);
            double rate = s.Rows / sw.Elapsed.TotalSeconds;
            Row("request scorer `ScoreAll` (IDataView, batches of 256)", 1, rate, s.Roofline, null, s.Candidates);
            if (((float[])scores["ClickProbability"]).Length != s.Rows)
                throw new InvalidOperationException("ScoreAll returned the wrong number of rows.");
        }

        /// <summary>Raw ONNX Runtime on the same graph, batches of 200, for reference (no ML.NET, no request buffers).</summary>
        private void MeasureRawOnnxRuntime(Setup s, byte[] onnx, Random rng)
        {
            int candidates = s.Candidates, requests = s.Requests;
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            using var session = new InferenceSession(onnx, options);
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
            var latency = ScoringMeasures.Latencies(requests, _ => { using (session.Run(runOptions, names, values, session.OutputNames)) { } });
            Row("raw ONNX Runtime (reference)", 1, candidates * requests / (latency.Sum() / 1000.0), s.Roofline, latency, candidates);
        }

        /// <summary>Measures the sgemm again at the end (the best figure is the roofline) and prints the table.</summary>
        private void PrintReport(double gflops, long flops, int candidates, double maxDiff, double seqDiff)
        {
            var (dynamicEnd, packedEnd) = ScoringMeasures.SgemmGflops();
            Console.WriteLine($"Load average at the end: {ScoringMeasures.LoadAverage()}.");
            Console.WriteLine($"One-core sgemm at the end: MatMul {dynamicEnd:F1} GFLOPS, pre-packed Gemm {packedEnd:F1} GFLOPS.");
            // Other processes can only slow a measurement down: the best figure is the roofline.
            gflops = Math.Max(gflops, Math.Max(dynamicEnd, packedEnd));
            double roofline = gflops * 1e9 / flops;
            Console.WriteLine($"Roofline: {gflops:F1} GFLOPS / {flops / 1e6:F3} MFLOP per row = {roofline:N0} rows/s.");
            Console.WriteLine();
            Console.WriteLine(ScoringMeasures.MarkdownHeader(candidates));
            foreach (var row in _rows)
                Console.WriteLine(ScoringMeasures.MarkdownRow(row.Path, row.Threads, row.Rate, row.Flops > 0 ? gflops * 1e9 / row.Flops : roofline, row.Latency, row.Candidates));
            Console.WriteLine();
            Console.WriteLine($"Max |difference| of ClickProbability between the scorer runs and graphs (1 vs 2 threads, fused vs unfused): {maxDiff:E1}; " +
                              $"sequence model, scorer vs ML.NET Transform on a 200-candidate request: {seqDiff:E1}.");
        }

        private readonly List<(string Path, int Threads, double Rate, double[]? Latency, int Candidates, long Flops)> _rows = new();

        private void Row(string path, int threads, double rate, double roofline, double[]? latencyMs, int candidates, long flopsPerRow = 0)
            => _rows.Add((path, threads, rate, latencyMs, candidates, flopsPerRow));

        private static IEnumerable<InRow> Slice(InRow[] data, int request, int candidates)
        {
            int start = (request * candidates) % Math.Max(1, data.Length - candidates);
            return new ArraySegment<InRow>(data, start, candidates);
        }

        private static double MeasureTransform(MLContext ml, ITransformer model, InRow[] data)
        {
            var view = ml.Data.LoadFromEnumerable(data);
            ScoringMeasures.Drain(model.Transform(ml.Data.TakeRows(view, 500)), "ClickProbability", "BuyProbability");
            var sw = Stopwatch.StartNew();
            ScoringMeasures.Drain(model.Transform(view), "ClickProbability", "BuyProbability");
            return data.Length / sw.Elapsed.TotalSeconds;
        }
    }
}
