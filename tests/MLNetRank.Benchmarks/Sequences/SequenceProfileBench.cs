using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Benchmarks.Onnx;
using MLNetRank.Simulation;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Where a request's time goes in a sequence layer's exported graph: trains one layer's network (as
    /// <c>sequence-latency</c>: d = 16, clicked items L = 50, 1 epoch), runs its ONNX graph in ONNX Runtime (1 intra-op
    /// thread, all graph optimisations) on 200-candidate requests with the user-side sequences fed once (one row), with
    /// ONNX Runtime's profiler on, and prints the kernel time per operator type and the costliest nodes.
    /// Rooms have 4 to 8 products on sale, as in the simulator (the rest of the 8 slots is padding, id 0).
    /// Args: [--layer transformer|din|dual|mean] [--requests K (200)] [--candidates C (200)] [--length L (50)] [--dim d (16)]
    /// [--not-shared] (the user-side sequences declared without SameForAllCandidates and fed one row per candidate)
    /// [--nodes N (25)] [--paired-session5] (transformer: also times the session-5 export of the same network, interleaved).
    /// </summary>
    public sealed class SequenceProfileBench : IBench
    {
        public string Name => "sequence-profile";

        public string Description => "ONNX Runtime profile of one sequence layer's graph per 200-candidate request (kernel time by operator)";

        private static readonly Option<string> LayerOption = BenchOption.Of("--layer", "transformer", "sequence layer to profile");
        private static readonly Option<int> RequestsOption = BenchOption.Of("--requests", 200, "requests timed");
        private static readonly Option<int> CandidatesOption = BenchOption.Of("--candidates", 200, "candidates per request");
        private static readonly Option<int> LengthOption = BenchOption.Of("--length", 50, "sequence length");
        private static readonly Option<int> DimOption = BenchOption.Of("--dim", 16, "token dimension d");
        private static readonly Option<bool> NotSharedOption = BenchOption.Flag("--not-shared", "user-side sequences not SameForAllCandidates: fed one row per candidate");
        private static readonly Option<int> NodesOption = BenchOption.Of("--nodes", 25, "costliest nodes listed");
        private static readonly Option<bool> PairedOption = BenchOption.Flag("--paired-session5", "transformer: also time the session-5 export of the same network, interleaved (20-request slices)");

        public int Run(ParseResult args)
        {
            string layer = args.GetValue(LayerOption)!;
            int requests = args.GetValue(RequestsOption);
            int candidates = args.GetValue(CandidatesOption);
            int length = args.GetValue(LengthOption);
            int d = args.GetValue(DimOption);
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 7, RequestCount = 600, MaxItemSequenceLength = length, MeanItemHistory = 3 * length, ItemInterestScale = 1.0 });
            var train = ml.Data.Cache(sim.GetImpressions(ml));
            bool paired = args.GetValue(PairedOption) && layer == "transformer";
            byte[] Train(bool session5)
            {
                MLNetRank.Torch.MultiTask.TransformerModule.Session5Export = session5;
                try
                {
                    using var model = new MLContext(1).Ranker().Trainers.MultiTask(SequenceModels.Options(layer, d, 1, epochs: 1, itemLength: length, shared: !args.GetValue(NotSharedOption), threads: 1)).Fit(train);
                    return model.OnnxModel.ToArray();
                }
                finally
                {
                    MLNetRank.Torch.MultiTask.TransformerModule.Session5Export = false;
                }
            }
            byte[] onnx = Train(false);
            byte[]? before = paired ? Train(true) : null;

            string dir = Path.Combine(Path.GetTempPath(), "mlnetrank-seq-profile-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            try
            {
                using var so = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
                using var plain = new InferenceSession(onnx, so);
                var inputs = Inputs(plain, candidates, length, args.GetValue(NotSharedOption));
                for (int w = 0; w < 20; w++)
                    using (plain.Run(inputs)) { }
                var sw = new Stopwatch();
                var lat = new List<double>();
                var cpu = new List<double>();
                for (int r = 0; r < requests; r++)
                {
                    double c0 = SequenceLatencyBench.ThreadCpuMs();
                    sw.Restart();
                    using (plain.Run(inputs)) { }
                    lat.Add(sw.Elapsed.TotalMilliseconds);
                    cpu.Add(SequenceLatencyBench.ThreadCpuMs() - c0);
                }
                Console.WriteLine($"{layer}: {plain.InputMetadata.Count} inputs, graph run per {candidates}-candidate request: wall p50 {ScoringMeasures.Percentile(lat, 0.5):F3} ms, p99 {ScoringMeasures.Percentile(lat, 0.99):F3} ms; thread CPU p50 {ScoringMeasures.Percentile(cpu, 0.5):F3} ms, p99 {ScoringMeasures.Percentile(cpu, 0.99):F3} ms (no profiler)");
                if (before is not null)
                    Paired(so, onnx, before, inputs, requests);
                Profile(layer, onnx, inputs, requests, dir, args.GetValue(NodesOption));
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
            Console.WriteLine($"Load average at the end: {ScoringMeasures.LoadAverage()}.");
            return 0;
        }

        /// <summary>Random inputs of one request: the user-side sequences one row, the candidates' columns <paramref name="candidates"/> rows.</summary>
        private static List<NamedOnnxValue> Inputs(InferenceSession session, int candidates, int length, bool notShared)
        {
            var rng = new Random(3);
            var inputs = new List<NamedOnnxValue>();
            foreach (var (name, meta) in session.InputMetadata)
            {
                bool user = name.Contains("User", StringComparison.Ordinal) && !notShared;
                var dims = meta.Dimensions.Select((x, k) => x >= 0 ? x : k == 0 ? (user ? 1 : candidates) : name.Contains("UserItemSeq") ? length : name.Contains("UserLiveSeq") ? 10 : name.Contains("OnSale") ? 8 : 5).ToArray();
                int n = dims.Aggregate(1, (a, b) => a * b);
                Console.WriteLine($"  input {name}: {meta.ElementDataType} [{string.Join(", ", dims)}]");
                if (meta.ElementDataType == TensorElementType.Float)
                    inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(), dims)));
                else if (meta.ElementDataType == TensorElementType.Int64)
                    inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(Enumerable.Range(0, n).Select(_ => (long)rng.Next(1, 20)).ToArray(), dims)));
                else
                {
                    var ids = Enumerable.Range(0, n).Select(_ => (uint)rng.Next(1, 20)).ToArray();
                    // as in the simulator, a room has 4 to 8 products on sale: the request pads the others with 0
                    if (name.Contains("OnSale", StringComparison.Ordinal) && dims.Length == 2)
                        for (int row = 0; row < dims[0]; row++)
                            for (int j = 4 + rng.Next(5); j < dims[1]; j++)
                                ids[row * dims[1] + j] = 0;
                    inputs.Add(NamedOnnxValue.CreateFromTensor(name, new DenseTensor<uint>(ids, dims)));
                }
            }
            return inputs;
        }

        /// <summary>Runs the graph <paramref name="requests"/> times under ONNX Runtime's profiler and prints the kernel time per
        /// operator type and the costliest nodes.</summary>
        private static void Profile(string label, byte[] onnx, List<NamedOnnxValue> inputs, int requests, string dir, int nodes)
        {
            // the prefix must be set before profiling is enabled: ONNX Runtime reads it when EnableProfiling is set (set
            // after, the profile lands in the working directory as onnxruntime_profile__*.json)
            using var so = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            so.ProfileOutputPathPrefix = Path.Combine(dir, "profile");
            so.EnableProfiling = true;
            string file;
            using (var session = new InferenceSession(onnx, so))
            {
                for (int r = 0; r < requests; r++)
                    using (session.Run(inputs)) { }
                file = Path.GetFullPath(session.EndProfiling());
            }
            if (!file.StartsWith(Path.GetFullPath(dir), StringComparison.Ordinal))
                throw new InvalidOperationException($"ONNX Runtime wrote its profile outside the temporary folder: {file}.");
            using var doc = JsonDocument.Parse(File.ReadAllText(file));
            File.Delete(file);
            var byOp = new Dictionary<string, (double Us, int Count)>();
            var byNode = new Dictionary<string, (string Op, double Us)>();
            var shapes = new Dictionary<string, string>();
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.GetProperty("cat").GetString() != "Node" || !e.GetProperty("name").GetString()!.EndsWith("_kernel_time"))
                    continue;
                string op = e.GetProperty("args").GetProperty("op_name").GetString()!;
                string node = e.GetProperty("name").GetString()!;
                double us = e.GetProperty("dur").GetDouble();
                byOp[op] = byOp.TryGetValue(op, out var a) ? (a.Us + us, a.Count + 1) : (us, 1);
                byNode[node] = byNode.TryGetValue(node, out var b) ? (op, b.Us + us) : (op, us);
                if (!shapes.ContainsKey(node) && e.GetProperty("args").TryGetProperty("input_type_shape", out var ins) && e.GetProperty("args").TryGetProperty("output_type_shape", out var outs))
                    shapes[node] = $"{Shapes(ins)} -> {Shapes(outs)}";
            }
            double total = byOp.Values.Sum(v => v.Us) / requests;
            Console.WriteLine();
            Console.WriteLine($"{label}: kernel time per request: {total / 1000:F3} ms over {byNode.Count} nodes.");
            Console.WriteLine("| operator | ms per request | share | nodes |");
            Console.WriteLine("|---|---|---|---|");
            foreach (var (op, v) in byOp.OrderByDescending(p => p.Value.Us))
                Console.WriteLine($"| {op} | {v.Us / requests / 1000:F3} | {v.Us / requests / total:P0} | {v.Count / requests} |");
            Console.WriteLine("Costliest nodes:");
            foreach (var (node, v) in byNode.OrderByDescending(p => p.Value.Us).Take(nodes))
                Console.WriteLine($"  {v.Us / requests / 1000:F3} ms  {v.Op}  {node}  {shapes.GetValueOrDefault(node)}");
        }

        /// <summary>The current export and the session-5 export of the same network timed in alternating 20-request slices
        /// (thread CPU p50 of each, and of their per-slice difference).</summary>
        private static void Paired(SessionOptions so, byte[] now, byte[] before, List<NamedOnnxValue> inputs, int requests)
        {
            using var a = new InferenceSession(now, so);
            using var b = new InferenceSession(before, so);
            using (var ra = a.Run(inputs))
            using (var rb = b.Run(inputs))
            {
                var ya = ra.SelectMany(v => v.AsEnumerable<float>()).ToArray();
                var yb = rb.SelectMany(v => v.AsEnumerable<float>()).ToArray();
                Console.WriteLine($"Paired: outputs of the two exports differ by at most {ya.Zip(yb, (p, q) => Math.Abs(p - q)).Max():G3}.");
            }
            for (int w = 0; w < 20; w++)
            {
                using (a.Run(inputs)) { }
                using (b.Run(inputs)) { }
            }
            var ca = new List<double>();
            var cb = new List<double>();
            var ma = new List<double>();
            var mb = new List<double>();
            for (int s = 0; s < Math.Max(1, requests / 20); s++)
                foreach (var (session, list, medians) in s % 2 == 0 ? new[] { (a, ca, ma), (b, cb, mb) } : new[] { (b, cb, mb), (a, ca, ma) })
                {
                    var slice = new List<double>();
                    for (int r = 0; r < 20; r++)
                    {
                        double c0 = SequenceLatencyBench.ThreadCpuMs();
                        using (session.Run(inputs)) { }
                        slice.Add(SequenceLatencyBench.ThreadCpuMs() - c0);
                    }
                    list.AddRange(slice);
                    medians.Add(ScoringMeasures.Percentile(slice, 0.5));
                }
            var sliceDiff = ma.Zip(mb, (p, q) => p - q).ToList();
            Console.WriteLine($"Paired (alternating 20-request slices, {ca.Count} requests each): thread CPU p50 this export {ScoringMeasures.Percentile(ca, 0.5):F3} ms, session-5 export {ScoringMeasures.Percentile(cb, 0.5):F3} ms; per-slice median difference {ScoringMeasures.Percentile(sliceDiff, 0.5):F3} ms. Load average: {ScoringMeasures.LoadAverage()}.");
        }

        /// <summary>The tensor shapes of a profiler event's <c>input_type_shape</c>/<c>output_type_shape</c> list, e.g. <c>[200x14x16, 16x48]</c>.</summary>
        private static string Shapes(JsonElement list)
            => "[" + string.Join(", ", list.EnumerateArray().SelectMany(o => o.EnumerateObject()).Select(p => string.Join("x", p.Value.EnumerateArray().Select(d => d.GetInt64())))) + "]";
    }
}
