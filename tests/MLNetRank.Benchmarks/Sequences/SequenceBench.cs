using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Benchmarks.Onnx;
using MLNetRank.Evaluation;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>The behaviour-sequence layers declared on the live-stream simulator's columns (shared by the benches).</summary>
    internal static class SequenceModels
    {
        public static readonly string[] Layers = { "mean", "din", "dual", "transformer" };

        /// <summary>Stat features, the room id, the room's items on sale and core items (one item table), the user's clicked
        /// items and watched rooms (request-level), and the layer under test on the user's sequences.</summary>
        public static MultiTaskEstimator.Options Options(string layer, int d, int seed, int epochs, int itemLength = 20, bool shared = true, int threads = 0, double learningRate = 2e-3,
            PretrainedEmbeddings? itemVectors = null, bool freezeItems = false)
        {
            var o = new MultiTaskEstimator.Options
            {
                Epochs = epochs, BatchSize = 256, Experts = 4, ExpertLayers = new[] { 64, 32 }, TowerLayers = new[] { 16 },
                LearningRate = learningRate, ShuffleBufferSize = 50_000, Seed = seed, NumberOfThreads = threads,
            };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, d));
            // the one item table (items on sale, core items, clicked items), started from pretrained vectors when given
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveItemsOnSale, d) { MaximumLength = 8, InitialEmbeddings = itemVectors, FreezeEmbeddings = itemVectors is not null && freezeItems });
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveCoreItems) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, MaximumLength = 5 });
            var items = new SequenceFeature(ImpressionColumns.UserItemSeq) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = shared, MaximumLength = itemLength };
            var rooms = new SequenceFeature(ImpressionColumns.UserLiveSeq) { SharedEmbeddingWith = ImpressionColumns.LiveId, SameForAllCandidates = shared };
            // "din+intensity+init": a layer, then variants of its DIN units (quality experiments)
            var parts = layer.Split('+');
            switch (parts[0])
            {
                case "mean":
                    break;
                case "mean-reseed":
                    // the noise reference: mean pooling again, another training seed (initialisation and batch order)
                    o.Seed = seed + 1000;
                    break;
                case "din":
                    // DIN: the candidate room id attends over both histories
                    items.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
                    rooms.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
                    break;
                case "dual":
                    // V2: every product on sale attends over the clicked items; the room id over the watched rooms
                    items.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveItemsOnSale);
                    rooms.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
                    break;
                case "transformer":
                    items.Pooling = new TransformerPooling(ImpressionColumns.LiveCoreItems, ImpressionColumns.LiveItemsOnSale) { Layers = 2, Heads = 4 };
                    break;
                default:
                    throw new ArgumentException($"unknown layer '{layer}'");
            }
            // diagnostics: the true planted interest as a dense input (the bench adds the column with --diagnose)
            if (parts.Contains("oraclez"))
                o.Features.Add(new DenseFeature("OracleZ"));
            // diagnostics: the share of the room's items on sale that are among the user's clicked items (from the row's own
            // columns: an identity match, a hand-made feature; the bench adds the column when a layer asks for it)
            if (parts.Contains("sameshare"))
                o.Features.Add(new DenseFeature("SameShare"));
            // "itemsonly" / "roomsonly": the layer on one history, mean pooling on the other (where a loss comes from)
            if (parts.Contains("itemsonly"))
                rooms.Pooling = new MeanSequencePooling();
            if (parts.Contains("roomsonly"))
                items.Pooling = new MeanSequencePooling();
            // "reseedN": the same layer with training seed + 1000·N (its own retraining noise)
            foreach (var r in parts.Where(v => v.StartsWith("reseed", StringComparison.Ordinal)))
                o.Seed = seed + 1000 * int.Parse(r.Substring(6), System.Globalization.CultureInfo.InvariantCulture);
            foreach (var variant in parts.Skip(1).Where(v => v is not ("oraclez" or "sameshare" or "exact" or "itemsonly" or "roomsonly") && !v.StartsWith("reseed", StringComparison.Ordinal)))
                foreach (var unit in new[] { items.Pooling, rooms.Pooling }.OfType<TargetAttentionPooling>())
                    ApplyVariant(unit, variant, layer);
            // "exact": the layer's pooling of the clicked items plus the exact-match share of the items on sale (experiment)
            if (parts.Contains("exact"))
                items.Pooling = new ExactMatchReadout(items.Pooling ?? new MeanSequencePooling(), ImpressionColumns.LiveItemsOnSale);
            o.Features.Add(items);
            o.Features.Add(rooms);
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
            o.Tasks.Add(new TaskSpec("Buy", ImpressionColumns.Buy));
            return o;
        }

        /// <summary>The <c>reg</c> variant's EqualWeightPenalty (picked on seeds 10-14, see docs/benchmarks-sequences.md).</summary>
        private const float DefaultPenalty = 1f;

        private static void ApplyVariant(TargetAttentionPooling unit, string variant, string layer)
        {
            switch (variant)
            {
                case "intensity": unit.IncludeIntensity = true; break;                                   // batch-normalised mass
                case "mass": unit.IncludeIntensity = true; unit.IntensityBatchNorm = false; break;       // the raw mass (ablation)
                case "match": unit.MatchDetectors = true; break;
                case "norm": unit.NormalizeInputs = true; break;                                         // half of match (ablation)
                case "sim": unit.SimilarityInit = true; break;                                           // the other half (ablation)
                case "init": unit.OutputInitStd = 0.1f; break;                                           // small random output weights
                case "sum": unit.Weighting = AttentionWeighting.Sum; break;
                case "softmax": unit.Weighting = AttentionWeighting.Softmax; break;
                case "detach": unit.DetachUnitInputs = true; break;                                      // no gradient from the weights into the tables
                case "fixbias": unit.FixOutputBias = true; break;                                        // output bias stays 1
                case "frozen": unit.FreezeUnit = true; break;                                            // the unit stays mean pooling
                case "drop": unit.UnitDropout = 0.5f; break;                                             // dropout in the unit
                case "slow": unit.LearningRateScale = 0.1f; break;                                       // the unit learns 10x slower
                case "reg": unit.EqualWeightPenalty = DefaultPenalty; break;                             // the penalty at the chosen strength
                // "regL" (e.g. reg0.3): EqualWeightPenalty = L; "regmL": the ablation around the weights' mean (their variance)
                case var r when r.StartsWith("regm", StringComparison.Ordinal):
                    unit.EqualWeightPenalty = float.Parse(r.Substring(4), System.Globalization.CultureInfo.InvariantCulture);
                    unit.PenaltyAroundMean = true;
                    break;
                case var r when r.StartsWith("reg", StringComparison.Ordinal):
                    unit.EqualWeightPenalty = float.Parse(r.Substring(3), System.Globalization.CultureInfo.InvariantCulture);
                    break;
                default: throw new ArgumentException($"unknown variant '{variant}' in layer '{layer}'");
            }
        }

    }

    /// <summary>
    /// Added latency of each sequence layer in the request scorer: 200-candidate requests (one user, the user's clicked-item
    /// sequence of length 50 shared by the candidates), one intra-op thread, against the same network with mean pooling;
    /// the transformer has 2 layers and 4 heads over 16-dimensional tokens. The one-core sgemm throughput of ONNX Runtime is
    /// measured in the same run. Args: [--requests K (timed, default 300)] [--candidates C (default 200)] [--length L (50)]
    /// [--dim d (16)] [--train-requests T (default 600)].
    /// </summary>
    public sealed class SequenceLatencyBench : IBench
    {
        public string Name => "sequence-latency";

        public string Description => "request scorer latency per 200-candidate request added by DIN / dual / transformer over mean pooling (L = 50)";

        private static readonly Option<int> RequestsOption = BenchOption.Of("--requests", 300, "requests timed");
        private static readonly Option<int> CandidatesOption = BenchOption.Of("--candidates", 200, "candidates per request");
        private static readonly Option<int> LengthOption = BenchOption.Of("--length", 50, "sequence length");
        private static readonly Option<int> DimOption = BenchOption.Of("--dim", 16, "token dimension d");
        private static readonly Option<int> TrainRequestsOption = BenchOption.Of("--train-requests", 600, "training requests");

        public int Run(ParseResult args)
        {
            int requests = args.GetValue(RequestsOption);
            int candidates = args.GetValue(CandidatesOption);
            int length = args.GetValue(LengthOption);
            int d = args.GetValue(DimOption);
            int trainRequests = args.GetValue(TrainRequestsOption);
            Console.WriteLine();
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");
            var (dyn, packed) = ScoringMeasures.SgemmGflops();
            Console.WriteLine($"ONNX Runtime sgemm on one thread (1024^3): {dyn:F1} GFLOPS (MatMul of inputs), {packed:F1} GFLOPS (Gemm, packed weight).");
            var ml = new MLContext(1);
            var (train, source) = PrepareData(ml, trainRequests, length, candidates);
            string dir = Path.Combine(Path.GetTempPath(), "mlnetrank-sequence-latency-" + Environment.ProcessId);
            Directory.CreateDirectory(dir);
            var results = new List<LatencyResult>();
            var scorers = new List<(string Name, RequestScorer Scorer, ScoringRequest Request)>();
            try
            {
                TrainScorers(ml, train, d, length, candidates, dir, scorers);
                WarmUp(scorers, source);
                results.AddRange(MeasureInRounds(scorers, source, requests));
                PrintCaches(scorers);
            }
            finally
            {
                foreach (var (_, scorer, request) in scorers)
                {
                    request.Dispose();
                    scorer.Dispose();
                }
                Directory.Delete(dir, recursive: true);
            }
            PrintTable(results, length, d, candidates);
            return 0;
        }

        /// <summary>One model's figures: wall p50, thread-CPU p50 (<c>Mean</c>) and the best round's wall median (<c>P99</c>);
        /// the field names are the ones the table code has always used.</summary>
        private sealed record LatencyResult(string Name, double P50, double Mean, double P99, double CpuP90);

        /// <summary>The rows requests are filled from: room-side columns of consecutive rows, the user-side sequences of a
        /// long-history row.</summary>
        private sealed record RequestSource(Row[] Rows, Row[] Users, int Candidates)
        {
            public void Fill(ScoringRequest request, int r)
            {
                request.Count = Candidates;
                var user = Users[r % Users.Length];
                for (int i = 0; i < Candidates; i++)
                {
                    var row = Rows[(r * 37 + i) % Rows.Length];
                    request.SetValues<float>(ImpressionColumns.StatFeatures, i, row.StatFeatures);
                    request.SetValue(ImpressionColumns.LiveId, i, row.LiveId);
                    request.SetValues<uint>(ImpressionColumns.LiveItemsOnSale, i, row.LiveItemsOnSale);
                    request.SetValues<uint>(ImpressionColumns.LiveCoreItems, i, row.LiveCoreItems);
                    request.SetValues<uint>(ImpressionColumns.UserItemSeq, i, user.UserItemSeq);
                    request.SetValues<uint>(ImpressionColumns.UserLiveSeq, i, user.UserLiveSeq);
                }
            }
        }

        /// <summary>The simulator's training rows, and the 400 requests after them to fill the timed requests from.</summary>
        private static (IDataView Train, RequestSource Source) PrepareData(MLContext ml, int trainRequests, int length, int candidates)
        {
            var simOptions = new LiveStreamSimulatorOptions { Seed = 7, RequestCount = trainRequests + 400, MaxItemSequenceLength = length, MeanItemHistory = 3 * length, ItemInterestScale = 1.0 };
            var sim = new LiveStreamSimulator(simOptions);
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            // rows to fill requests from: room-side columns of consecutive rows, the user-side sequences of a long-history row
            var rows = ml.Data.CreateEnumerable<Row>(sim.GetImpressions(ml, trainRequests, 400), reuseRowObject: false).ToArray();
            var users = rows.Where(r => r.UserItemSeq.Length == length).ToArray();
            if (users.Length == 0)
                throw new InvalidOperationException($"No row has a clicked-item sequence of length {length}; raise MeanItemHistory.");
            return (train, new RequestSource(rows, users, candidates));
        }

        /// <summary>Trains one model per layer (and the transformer with the user side not shared), saves it and opens a
        /// one-thread request scorer on it; each is added to <paramref name="scorers"/> as soon as it opens.</summary>
        private static void TrainScorers(MLContext ml, IDataView train, int d, int length, int candidates, string dir,
            List<(string Name, RequestScorer Scorer, ScoringRequest Request)> scorers)
        {
            // the transformer's previous (session-5) export of the same network too, so its gain is measured in the same rounds
            var variants = SequenceModels.Layers.Select(l => (Name: l, Layer: l, Shared: true, Session5: false))
                .Append(("transformer, session-5 export", "transformer", true, true))
                .Append(("transformer, user side not shared", "transformer", false, false)).ToList();
            foreach (var (name, layer, shared, session5) in variants)
            {
                var o = SequenceModels.Options(layer, d, 1, epochs: 1, itemLength: length, shared: shared, threads: 1);
                MLNetRank.Torch.MultiTask.TransformerModule.Session5Export = session5;
                using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
                MLNetRank.Torch.MultiTask.TransformerModule.Session5Export = false;
                string zip = Path.Combine(dir, name.Replace(' ', '_').Replace(",", "") + ".zip");
                ml.Model.Save(model, train.Schema, zip);
                // the transformer (user side shared, current export) three ways: its ONNX graph in ONNX Runtime, the request
                // scorer's native kernel (graph cut at the block), and the native kernel with the room cache; the other
                // transformer variants measure their ONNX graphs
                var ways = layer == "transformer" && shared && !session5
                    ? new[] { (" (ONNX graph, native kernels off)", false, 0), (" (native kernel, no room cache)", true, 0), (" (native kernel + room cache)", true, 4096) }
                    : new[] { ("", layer != "transformer", 0) };
                foreach (var (suffix, native, cache) in ways)
                {
                    var scorer = RequestScorer.Open(zip, new RequestScorerOptions { IntraOpNumThreads = 1, NativeKernels = native, RoomCacheCapacity = cache });
                    if (native && layer == "transformer" && scorer.NativeBlocks.Count != 1)
                        throw new InvalidOperationException($"The transformer model ({name}) did not open with its native block.");
                    scorers.Add((name + suffix, scorer, scorer.CreateRequest(candidates)));
                }
            }
        }

        /// <summary>The room caches' hits and misses over the run (native scorers with a cache).</summary>
        private static void PrintCaches(List<(string Name, RequestScorer Scorer, ScoringRequest Request)> scorers)
        {
            foreach (var (name, scorer, _) in scorers)
                foreach (var native in scorer.Plan.Steps.SelectMany(st => st.Stage.Natives))
                    if (native.Cache is { } c)
                        Console.WriteLine($"{name}: room cache {c.Count} rooms held, {c.Hits} hits, {c.Misses} misses ({100.0 * c.Hits / Math.Max(1, c.Hits + c.Misses):F1}% hits, warm-up included), {c.Clears} clears.");
            Console.WriteLine($"Native kernel path: {MLNetRank.Serving.Native.TransformerKernel.ResolvedPath} (Vector512 accelerated: {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, Vector256: {System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated}).");
        }

        private static void WarmUp(List<(string Name, RequestScorer Scorer, ScoringRequest Request)> scorers, RequestSource source)
        {
            // at least 2 s each, so the tiered JIT has promoted the managed code (the native kernel) before timing
            foreach (var (_, scorer, request) in scorers)
            {
                var warm = Stopwatch.StartNew();
                for (int w = 0; w < 20 || warm.Elapsed.TotalSeconds < 2; w++)
                {
                    source.Fill(request, w % 400);
                    scorer.Score(request);
                }
            }
        }

        /// <summary>Rounds: every model in turn times a slice of the requests, so the (shared) machine's load hits all alike.
        /// Prints each model's line as it is summarised.</summary>
        private static List<LatencyResult> MeasureInRounds(List<(string Name, RequestScorer Scorer, ScoringRequest Request)> scorers,
            RequestSource source, int requests)
        {
            const int rounds = 10;
            var lat = scorers.Select(_ => new List<double>()).ToArray();
            var cpu = scorers.Select(_ => new List<double>()).ToArray();
            var roundMedians = scorers.Select(_ => new List<double>()).ToArray();
            var sw = new Stopwatch();
            for (int round = 0; round < rounds; round++)
                for (int m = 0; m < scorers.Count; m++)
                {
                    var (_, scorer, request) = scorers[m];
                    var slice = new List<double>();
                    for (int r = round * requests / rounds; r < (round + 1) * requests / rounds; r++)
                    {
                        source.Fill(request, r);
                        double c0 = ThreadCpuMs();
                        sw.Restart();
                        scorer.Score(request);
                        slice.Add(sw.Elapsed.TotalMilliseconds);
                        cpu[m].Add(ThreadCpuMs() - c0);
                    }
                    if (Environment.GetEnvironmentVariable("MLNETRANK_LATENCY_DUMP") == "1")
                    {
                        var c = cpu[m].Skip(cpu[m].Count - slice.Count).ToList();
                        double med = ScoringMeasures.Percentile(c, 0.5);
                        var slow = c.Select((v, i) => (v, r: round * requests / rounds + i)).Where(x => x.v > 2 * med).Select(x => $"{x.r}:{x.v:F1}");
                        Console.WriteLine($"    [{scorers[m].Name}] round {round}: median {med:F3}, slow requests {string.Join(" ", slow)}");
                    }
                    lat[m].AddRange(slice);
                    roundMedians[m].Add(ScoringMeasures.Percentile(slice, 0.5));
                }
            var results = new List<LatencyResult>();
            for (int m = 0; m < scorers.Count; m++)
            {
                results.Add(new LatencyResult(scorers[m].Name, ScoringMeasures.Percentile(lat[m], 0.5), ScoringMeasures.Percentile(cpu[m], 0.5), roundMedians[m].Min(), ScoringMeasures.Percentile(cpu[m], 0.9)));
                Console.WriteLine($"  {scorers[m].Name}: wall p50 {results[^1].P50:F3} ms; thread CPU p50 {results[^1].Mean:F3} ms; best round wall median {roundMedians[m].Min():F3} ms");
            }
            return results;
        }

        private static void PrintTable(List<LatencyResult> results, int length, int d, int candidates)
        {
            var baseCpu = results[0].Mean;
            Console.WriteLine();
            Console.WriteLine($"| layer on the user's sequences (L = {length}, d = {d}) | CPU time per request, p50 (ms) | added CPU over mean pooling (ms) | CPU p90 (ms) | added CPU p90 over mean's p90 (ms) | wall p50 (ms) | best round's wall median (ms) |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (var r in results)
                Console.WriteLine($"| {r.Name} | {r.Mean:F3} | {(r.Name == "mean" ? "—" : (r.Mean - baseCpu).ToString("F3"))} | {r.CpuP90:F3} | {(r.Name == "mean" ? "—" : (r.CpuP90 - results[0].CpuP90).ToString("F3"))} | {r.P50:F3} | {r.P99:F3} |");
            Console.WriteLine();
            Console.WriteLine($"{candidates}-candidate requests, request scorer with 1 intra-op thread; load average at the end: {ScoringMeasures.LoadAverage()}.");
        }

        [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
        private static extern int ClockGetTime(int clock, out Timespec ts);

        private struct Timespec
        {
            public long Seconds;
            public long Nanoseconds;
        }

        /// <summary>CPU time of the calling thread (ONNX Runtime with one intra-op thread computes on it): what a core spends,
        /// whatever else the machine runs.</summary>
        internal static double ThreadCpuMs()
        {
            ClockGetTime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var ts);
            return ts.Seconds * 1e3 + ts.Nanoseconds / 1e6;
        }

        private sealed class Row
        {
            [VectorType(25)] public float[] StatFeatures { get; set; } = Array.Empty<float>();
            public uint LiveId { get; set; }
            [VectorType] public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
        }
    }

    /// <summary>
    /// Click and Buy AUC / GAUC (per request) of mean pooling vs DIN vs V2 dual target attention vs the V4 transformer on the
    /// simulator, with the item-level interest knob on and off, paired over seeds (each seed: its own world, traffic and
    /// training seed; every layer trains on the same rows). Args: [--seeds S (5)] [--train-requests T (3000)]
    /// [--test-requests E (1500)] [--first-seed F (0)] [--epochs N (3)] [--kappa K (1.5)] [--dim d (8)] [--threads n (1)]
    /// [--taste-share s (0)] [--taste-groups g (3)] (the simulator's taste-shaped histories, session 7). Diagnostics: --headroom (AUC of the true click probability with and without κ·z), --diagnose (each DIN unit's output
    /// weights, the score's correlation with the true z, and the column OracleZ for the <c>+oraclez</c> arm), --oracle-groups
    /// (item ids replaced by their taste groups, every layer alike), --lr; layer variants <c>din+intensity+match</c> etc. (see
    /// <c>SequenceModels.ApplyVariant</c>).
    /// </summary>
    public sealed class SequenceQualityBench : IBench
    {
        public string Name => "sequence-quality";

        public string Description => "Click/Buy AUC and GAUC of mean pooling vs DIN vs dual attention vs transformer, item-interest knob on/off, paired seeds";

        private static readonly Option<int> SeedsOption = BenchOption.Of("--seeds", 5, "seeds (paired worlds)");
        private static readonly Option<int> TrainRequestsOption = BenchOption.Of("--train-requests", 3000, "training requests");
        private static readonly Option<int> TestRequestsOption = BenchOption.Of("--test-requests", 1500, "test requests");
        private static readonly Option<int> EpochsOption = BenchOption.Of("--epochs", 3, "epochs");
        private static readonly Option<int> DimOption = BenchOption.Of("--dim", 8, "token dimension d");
        private static readonly Option<int> ThreadsOption = BenchOption.Of("--threads", 1, "threads");
        private static readonly Option<double> KappaOption = BenchOption.Of("--kappa", 1.5, "item-interest knob κ");
        private static readonly Option<int> FirstSeedOption = BenchOption.Of("--first-seed", 0, "first seed (split a run's seeds over processes)");
        private static readonly Option<string[]> LayersOption = BenchOption.List("--layers", Array.Empty<string>(), "layers besides mean pooling (mean, mean-reseed, din, dual, transformer); empty: all");
        private static readonly Option<double[]> KappasOption = BenchOption.List("--kappas", Array.Empty<double>(), "κ values (empty: --kappa and 0)");
        private static readonly Option<bool> HeadroomOption = BenchOption.Flag("--headroom", "also print the test AUC / GAUC of the simulator's true click probability with and without the κ·z term");
        private static readonly Option<bool> OracleGroupsOption = BenchOption.Flag("--oracle-groups", "diagnostic world: every item id (sequences, items on sale, core items) replaced by its hidden taste group, for every layer alike");
        private static readonly Option<double> LearningRateOption = BenchOption.Of("--lr", 2e-3, "learning rate of every layer (diagnostics; the figures use 2e-3)");
        private static readonly Option<bool> DiagnoseOption = BenchOption.Flag("--diagnose", "print how far each DIN unit moved from its start (norms of its output weights) and the spread of its weights on a test batch");
        private static readonly Option<double> TasteShareOption = BenchOption.Of("--taste-share", 0.0, "simulator's TasteHistoryShare: share of history clicks drawn from the user's taste groups (0 = the session-6 world)");
        private static readonly Option<bool> CoocGroupsOption = BenchOption.Flag("--cooc-groups", "diagnostic: every item id replaced by its cluster (k-means, 100 clusters) of co-occurrence in the training rows' clicked-item sequences, learned from the logs, not from the ground truth");
        private static readonly Option<int> TasteGroupsOption = BenchOption.Of("--taste-groups", 3, "simulator's TasteGroupsPerUser (used when --taste-share > 0)");
        private static readonly Option<string[]> PretrainedOption = BenchOption.List("--pretrained", new[] { "none" }, "item-table starts, each an arm of every layer: none (random), metapath2vec (Item-User-Item walks on the training rows' user-clicked-item edges, dimension --dim), shuffled (the metapath2vec vectors dealt to other items: the control)");
        private static readonly Option<string[]> PretrainedTrainingOption = BenchOption.List("--pretrained-training", new[] { "finetune" }, "how pretrained item tables train: finetune, frozen (each an arm)");
        private static readonly Option<double> PretrainedNormOption = BenchOption.Of("--pretrained-norm", 0.0, "rescale the pretrained vectors to this mean L2 norm (0 = as learned)");
        private static readonly Option<int> PretrainedEpochsOption = BenchOption.Of("--pretrained-epochs", 5, "metapath2vec epochs");
        private static readonly Option<int> PretrainedWalksOption = BenchOption.Of("--pretrained-walks", 10, "metapath2vec walks per node");
        private static readonly Option<int> PretrainedWindowOption = BenchOption.Of("--pretrained-window", 5, "metapath2vec window");
        private static readonly Option<bool> PurityOnlyOption = BenchOption.Flag("--purity-only", "only pre-train the item vectors of every --pretrained source and print their purity (no network training)");

        public int Run(ParseResult args)
        {
            int seeds = args.GetValue(SeedsOption);
            double tasteShare = args.GetValue(TasteShareOption);
            int tasteGroups = args.GetValue(TasteGroupsOption);
            int firstSeed = args.GetValue(FirstSeedOption);
            int trainRequests = args.GetValue(TrainRequestsOption);
            int testRequests = args.GetValue(TestRequestsOption);
            int epochs = args.GetValue(EpochsOption);
            int d = args.GetValue(DimOption);
            int threads = args.GetValue(ThreadsOption);
            double kappa = args.GetValue(KappaOption);
            Console.WriteLine();
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");
            var metrics = new[] { "Click AUC", "Click GAUC", "Buy AUC", "Buy GAUC" };
            var kappas = args.GetValue(KappasOption) is { Length: > 0 } given ? given : new[] { kappa, 0.0 };
            var chosenLayers = args.GetValue(LayersOption) ?? Array.Empty<string>();
            // mean pooling always runs first: every other layer is compared with it
            var baseLayers = chosenLayers.Length > 0 ? new[] { "mean" }.Concat(chosenLayers.Where(x => x != "mean")).ToArray() : SequenceModels.Layers;
            // arms of the item table's start: (source, frozen), "none" first; every layer runs in every arm (mean pooling too)
            var sources = args.GetValue(PretrainedOption) ?? new[] { "none" };
            var trainings = args.GetValue(PretrainedTrainingOption) ?? new[] { "finetune" };
            foreach (var t in trainings)
                if (t is not ("finetune" or "frozen"))
                    throw new ArgumentException($"--pretrained-training: unknown '{t}' (finetune, frozen)");
            var arms = new List<(string Source, bool Frozen, string Suffix)>();
            foreach (var src in sources)
            {
                if (src == "none")
                    arms.Add(("none", false, ""));
                else if (src is "metapath2vec" or "shuffled" or "ppmi" or "ppmi-shuffled")
                    arms.AddRange(trainings.Select(t => (src, t == "frozen", src switch { "shuffled" => "+shuffled", "ppmi" => "+ppmi", "ppmi-shuffled" => "+ppmi-shuffled", _ => "+m2v" } + (t == "frozen" ? "-frozen" : ""))));
                else
                    throw new ArgumentException($"--pretrained: unknown '{src}' (none, metapath2vec, shuffled, ppmi, ppmi-shuffled)");
            }
            var runs = arms.SelectMany(a => baseLayers.Select(l => (Layer: l, Arm: a))).ToArray();
            var layers = runs.Select(r => r.Layer + r.Arm.Suffix).ToArray();
            foreach (var k in kappas)
            {
                // [layer][metric][seed]
                var values = layers.Select(_ => metrics.Select(_ => new double[seeds]).ToArray()).ToArray();
                var seconds = new double[layers.Length];
                for (int s = 0; s < seeds; s++)
                {
                    int seed = firstSeed + s;
                    var ml = new MLContext(seed);
                    var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 100 + seed, RequestCount = trainRequests + testRequests, ItemInterestScale = k, TasteHistoryShare = tasteShare, TasteGroupsPerUser = tasteGroups });
                    var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
                    var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, testRequests));
                    if (args.GetValue(OracleGroupsOption))
                    {
                        var toGroups = OracleGroups(ml, sim, train);
                        train = ml.Data.Cache(toGroups.Transform(train));
                        test = ml.Data.Cache(toGroups.Transform(test));
                    }
                    if (args.GetValue(CoocGroupsOption))
                    {
                        var toClusters = CoocGroups(ml, sim.World, train, seed);
                        train = ml.Data.Cache(toClusters.Transform(train));
                        test = ml.Data.Cache(toClusters.Transform(test));
                    }
                    var click = test.GetColumn<bool>(ImpressionColumns.Click).ToArray();
                    var buy = test.GetColumn<bool>(ImpressionColumns.Buy).ToArray();
                    var groups = test.GetColumn<uint>(ImpressionColumns.RequestId).ToArray();
                    if (args.GetValue(HeadroomOption))
                        PrintHeadroom(sim, test, click, groups, k, seed);
                    // the planted interest z of each test row (diagnostics: how much of it a layer's score follows)
                    double[]? zs = args.GetValue(DiagnoseOption) && k != 0 ? PlantedInterest.TrueZ(sim.World, test, k) : null;
                    if (args.GetValue(DiagnoseOption))
                        Console.WriteLine($"  co-occurrence in the training sequences (one per user): {PlantedInterest.GroupPurity(sim.World, PlantedInterest.CoOccurrence(train))}");
                    if (args.GetValue(DiagnoseOption))
                    {
                        var world = sim.World;
                        var addZ = ml.Transforms.CustomMapping<ZInput, ZOutput>((i, o) => o.OracleZ = new[] { (float)world.TrueItemInterest(i.UserId, i.LiveId, i.Time) }, null).Fit(train);
                        train = ml.Data.Cache(addZ.Transform(train));
                        test = ml.Data.Cache(addZ.Transform(test));
                    }
                    if (layers.Any(l => l.Split('+').Contains("sameshare")))
                    {
                        var addSame = ml.Transforms.CustomMapping<SameInput, SameOutput>((i, o) =>
                        {
                            var h = i.UserItemSeq.Where(x => x > 0).ToHashSet();
                            var p = i.LiveItemsOnSale.Where(x => x > 0).ToArray();
                            o.SameShare = new[] { p.Length == 0 ? 0f : p.Count(h.Contains) / (float)p.Length };
                        }, null).Fit(train);
                        train = ml.Data.Cache(addSame.Transform(train));
                        test = ml.Data.Cache(addSame.Transform(test));
                    }
                    // pretrained item vectors from the training rows only (never the ground truth), one set per seed for every arm
                    PretrainedEmbeddings? itemVectors = arms.Any(a => a.Source is "metapath2vec" or "shuffled")
                        ? PretrainItems(ml, sim.World, train, d, seed, args.GetValue(PretrainedEpochsOption), args.GetValue(PretrainedNormOption), args.GetValue(PretrainedWalksOption), args.GetValue(PretrainedWindowOption)) : null;
                    // the control: the same vectors dealt to other items at random (same norms and spread, no item structure)
                    PretrainedEmbeddings? shuffledVectors = arms.Any(a => a.Source == "shuffled") ? Shuffled(itemVectors!, seed) : null;
                    PretrainedEmbeddings? ppmiVectors = arms.Any(a => a.Source is "ppmi" or "ppmi-shuffled")
                        ? PpmiItems(sim.World, train, d, args.GetValue(PretrainedNormOption)) : null;
                    PretrainedEmbeddings? ppmiShuffled = arms.Any(a => a.Source == "ppmi-shuffled") ? Shuffled(ppmiVectors!, seed) : null;
                    if (args.GetValue(PurityOnlyOption))
                    {
                        if (k != 0)
                        {
                            var z = PlantedInterest.TrueZ(sim.World, test, k);
                            foreach (var (name, v) in new[] { ("metapath2vec", itemVectors), ("ppmi", ppmiVectors) })
                                if (v is not null)
                                    Console.WriteLine($"  {name}: {PlantedInterest.ReadoutCorrelations(test, v, z, groups)}");
                            Console.WriteLine($"  raw co-clicks: {PlantedInterest.CoClickReadouts(train, test, z, groups, sim.World)}");
                        }
                        continue;
                    }
                    for (int l = 0; l < layers.Length; l++)
                    {
                        var sw = Stopwatch.StartNew();
                        var arm = runs[l].Arm;
                        using var model = ml.Ranker().Trainers.MultiTask(SequenceModels.Options(runs[l].Layer, d, seed + 1, epochs, threads: threads, learningRate: args.GetValue(LearningRateOption),
                            itemVectors: arm.Source switch { "none" => null, "shuffled" => shuffledVectors, "ppmi" => ppmiVectors, "ppmi-shuffled" => ppmiShuffled, _ => itemVectors }, freezeItems: arm.Frozen)).Fit(train);
                        seconds[l] += sw.Elapsed.TotalSeconds;
                        var scored = model.Transform(test);
                        var pc = scored.GetColumn<float[]>("ClickScore").Select(v => v[0]).ToArray();
                        var pb = scored.GetColumn<float[]>("BuyScore").Select(v => v[0]).ToArray();
                        values[l][0][s] = RankerMetrics.Auc(pc, click);
                        values[l][1][s] = RankerMetrics.GroupAuc<uint>(pc, click, groups);
                        values[l][2][s] = RankerMetrics.Auc(pb, buy);
                        values[l][3][s] = RankerMetrics.GroupAuc<uint>(pb, buy, groups);
                        if (args.GetValue(DiagnoseOption))
                        {
                            PrintUnits(model);
                            // train vs test: how much of the fit does not carry to new impressions
                            var st = model.Transform(train);
                            var tc = st.GetColumn<float[]>("ClickScore").Select(v => v[0]).ToArray();
                            var tb = st.GetColumn<float[]>("BuyScore").Select(v => v[0]).ToArray();
                            Console.WriteLine($"    train click AUC {RankerMetrics.Auc(tc, train.GetColumn<bool>(ImpressionColumns.Click).ToArray()):F4}, train buy AUC {RankerMetrics.Auc(tb, train.GetColumn<bool>(ImpressionColumns.Buy).ToArray()):F4}");
                            var emb = ItemEmbeddings(model, train);
                            Console.WriteLine($"    trained item embeddings (mean |row| {emb.Values.Average(v => Math.Sqrt(v.Sum(x => (double)x * x))):F3}; N(0, 0.05) at the start: ~{0.05 * Math.Sqrt(d):F3}): {PlantedInterest.GroupPurity(sim.World, emb)}");
                        }
                        if (zs is not null)
                            Console.WriteLine($"    corr(click logit, z): {PlantedInterest.Correlation(pc, zs, null):F4}, within requests {PlantedInterest.Correlation(pc, zs, groups):F4}");
                        Console.WriteLine($"  kappa {k}, seed {seed}, {layers[l]}: click AUC {values[l][0][s]:F4}, GAUC {values[l][1][s]:F4}, buy AUC {values[l][2][s]:F4}, GAUC {values[l][3][s]:F4} ({sw.Elapsed.TotalSeconds:F0} s, load {ScoringMeasures.LoadAverage()})");
                    }
                }
                Console.WriteLine();
                Console.WriteLine($"### Item-level interest κ = {k}{(tasteShare > 0 ? $", taste-shaped histories (share {tasteShare}, {tasteGroups} groups per user)" : "")}: {trainRequests * 10:N0} training / {testRequests * 10:N0} test impressions per seed, {seeds} seeds, {epochs} epochs, d = {d}");
                PrintTable(layers, metrics, values, seconds, seeds, _ => 0, "mean pooling");
                if (arms.Count > 1)
                {
                    // the same comparisons within each arm (a layer against mean pooling with the same item-table start) ...
                    Console.WriteLine();
                    Console.WriteLine("Δ vs mean pooling of the same arm (the same item-table start):");
                    PrintTable(layers, metrics, values, seconds, seeds, l => Array.FindIndex(runs, r => r.Layer == "mean" && r.Arm == runs[l].Arm), "mean pooling, same start");
                    // ... and each layer with pretrained vectors against itself with the random start
                    Console.WriteLine();
                    Console.WriteLine("Δ of each layer vs the same layer with the random start (arm none):");
                    PrintTable(layers, metrics, values, seconds, seeds, l => Array.FindIndex(runs, r => r.Layer == runs[l].Layer && r.Arm.Source == "none"), "same layer, random start");
                }
            }
            Console.WriteLine();
            Console.WriteLine($"Load average at the end: {ScoringMeasures.LoadAverage()}.");
            return 0;
        }

        /// <summary>A Markdown table: each row's metric means and its paired Δ (± sd over seeds, seeds up) against row
        /// <paramref name="reference"/>(row) ("—" for the reference itself or when it is missing).</summary>
        private static void PrintTable(string[] layers, string[] metrics, double[][][] values, double[] seconds, int seeds, Func<int, int> reference, string against)
        {
            Console.WriteLine();
            Console.WriteLine("| layer | " + string.Join(" | ", metrics.Select(m => $"{m} (mean) | Δ vs {against} (± sd over seeds)")) + " | train s / seed |");
            Console.WriteLine("|---|" + string.Concat(metrics.Select(_ => "---|---|")) + "---|");
            for (int l = 0; l < layers.Length; l++)
            {
                int r = reference(l);
                var cells = new List<string>();
                for (int m = 0; m < metrics.Length; m++)
                {
                    cells.Add($"{values[l][m].Average():F4}");
                    if (r < 0 || r == l)
                    {
                        cells.Add("—");
                        continue;
                    }
                    var diffs = values[l][m].Zip(values[r][m], (a, b) => a - b).ToArray();
                    double mean = diffs.Average();
                    double sd = seeds > 1 ? Math.Sqrt(diffs.Sum(x => (x - mean) * (x - mean)) / (seeds - 1)) : 0;
                    cells.Add($"{BenchFormat.Signed(mean)} ± {sd:0.0000} ({diffs.Count(x => x > 0)}/{seeds} up)");
                }
                Console.WriteLine($"| {layers[l]} | {string.Join(" | ", cells)} | {seconds[l] / seeds:F0} |");
            }
        }

        private sealed class EdgeRow
        {
            public uint SourceId { get; set; }
            public string SourceType { get; set; } = "";
            public uint TargetId { get; set; }
            public string TargetType { get; set; } = "";
        }

        /// <summary>Item vectors pre-trained on the training rows only: the distinct (user, clicked item) pairs of their
        /// <c>UserItemSeq</c> (the logs' click histories, never the simulator's taste groups) as a User–Item graph, metapath2vec
        /// walks Item-User-Item (an item, a user who clicked it, another item that user clicked: item2vec's co-click context),
        /// dimension d, one thread (deterministic). Prints the vectors' 5-NN taste-group and category purity.</summary>
        private static PretrainedEmbeddings PretrainItems(MLContext ml, World world, IDataView train, int d, int seed, int epochs, double norm, int walks = 10, int window = 5)
        {
            var sw = Stopwatch.StartNew();
            var users = train.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var seqs = train.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var pairs = new HashSet<(uint, uint)>();
            for (int i = 0; i < users.Length; i++)
                foreach (var item in seqs[i])
                    if (item > 0)
                        pairs.Add((users[i], item));
            var edges = ml.Data.LoadFromEnumerable(pairs.OrderBy(p => p.Item1).ThenBy(p => p.Item2)
                .Select(p => new EdgeRow { SourceId = p.Item1, SourceType = "User", TargetId = p.Item2, TargetType = "Item" }).ToList());
            var o = new MLNetRank.Graph.Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "Item-User-Item" },
                Dimension = d,
                Epochs = epochs,
                WalksPerNode = walks,
                WindowSize = window,
                NumberOfThreads = 1,
                Seed = seed,
            };
            var m2v = ml.Ranker().Transforms.Metapath2Vec(edges, o, new InputOutputColumnPair("UserEmbedding", ImpressionColumns.UserId)).Fit(train);
            var items = m2v.GetEmbeddings("Item");
            var vectors = Enumerable.Range(0, items.Count).ToDictionary(i => items.Ids[i], i => items.GetVector(i).ToArray());
            double meanNorm = vectors.Values.Average(v => Math.Sqrt(v.Sum(x => (double)x * x)));
            if (norm > 0)
                foreach (var v in vectors.Values)
                    for (int j = 0; j < v.Length; j++)
                        v[j] = (float)(v[j] * norm / meanNorm);
            var byId = vectors.ToDictionary(p => uint.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture), p => p.Value);
            Console.WriteLine($"  metapath2vec item vectors, seed {seed}: {pairs.Count:N0} user-item edges, {items.Count:N0} items, mean |v| {meanNorm:F3}{(norm > 0 ? $" rescaled to {norm:F3}" : "")}, {sw.Elapsed.TotalSeconds:F1} s; {PlantedInterest.GroupPurity(world, byId)}");
            return new PretrainedEmbeddings(vectors);
        }

        /// <summary>Item vectors from the training rows only (the distinct (user, clicked item) pairs of <c>UserItemSeq</c>):
        /// PPMI of the item-item co-click counts, then its top-d eigenvectors × sqrt(eigenvalue) (torch.linalg.eigh).</summary>
        private static PretrainedEmbeddings PpmiItems(World world, IDataView train, int d, double norm)
        {
            var sw = Stopwatch.StartNew();
            var users = train.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var seqs = train.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var byUser = new Dictionary<uint, HashSet<uint>>();
            for (int i = 0; i < users.Length; i++)
            {
                if (!byUser.TryGetValue(users[i], out var set))
                    byUser[users[i]] = set = new HashSet<uint>();
                foreach (var item in seqs[i])
                    if (item > 0)
                        set.Add(item);
            }
            var items = byUser.Values.SelectMany(x => x).Distinct().OrderBy(x => x).ToArray();
            var index = items.Select((x, k) => (x, k)).ToDictionary(p => p.x, p => p.k);
            int n = items.Length;
            var c = new double[n * n];
            foreach (var set in byUser.Values)
            {
                var ix = set.Select(x => index[x]).ToArray();
                foreach (var a in ix)
                    foreach (var b in ix)
                        if (a != b)
                            c[a * n + b]++;
            }
            var row = new double[n];
            double total = 0;
            for (int a = 0; a < n; a++)
            {
                for (int b = 0; b < n; b++)
                    row[a] += c[a * n + b];
                total += row[a];
            }
            var m = new float[n * n];
            for (int a = 0; a < n; a++)
                for (int b = 0; b < n; b++)
                    if (c[a * n + b] > 0)
                        m[a * n + b] = (float)Math.Max(0, Math.Log(c[a * n + b] * total / (row[a] * row[b])));
            using var scope = TorchSharp.torch.NewDisposeScope();
            var mat = TorchSharp.torch.tensor(m, new long[] { n, n }, TorchSharp.torch.float64);
            var (vals, vecs) = TorchSharp.torch.linalg.eigh(mat);
            var lam = vals.data<double>().ToArray();
            var v = vecs.data<double>().ToArray();
            // the d largest eigenvalues (eigh sorts them ascending)
            var top = Enumerable.Range(0, n).OrderByDescending(k => lam[k]).Take(d).ToArray();
            var vectors = new Dictionary<string, float[]>();
            for (int a = 0; a < n; a++)
                vectors[items[a].ToString(System.Globalization.CultureInfo.InvariantCulture)] = top.Select(k => (float)(v[a * n + k] * Math.Sqrt(Math.Max(0, lam[k])))).ToArray();
            double meanNorm = vectors.Values.Average(x => Math.Sqrt(x.Sum(y => (double)y * y)));
            if (norm > 0)
                foreach (var x in vectors.Values)
                    for (int j = 0; j < x.Length; j++)
                        x[j] = (float)(x[j] * norm / meanNorm);
            var byId = vectors.ToDictionary(p => uint.Parse(p.Key, System.Globalization.CultureInfo.InvariantCulture), p => p.Value);
            Console.WriteLine($"  PPMI-SVD item vectors, d {d}: {n:N0} items, mean |v| {meanNorm:F3}{(norm > 0 ? $" rescaled to {norm:F3}" : "")}, {sw.Elapsed.TotalSeconds:F1} s; {PlantedInterest.GroupPurity(world, byId)}");
            return new PretrainedEmbeddings(vectors);
        }

        /// <summary>The vectors of <paramref name="v"/> dealt to its ids in a random order (seeded).</summary>
        private static PretrainedEmbeddings Shuffled(PretrainedEmbeddings v, int seed)
        {
            var rng = new Random(seed + 77);
            var order = Enumerable.Range(0, v.Count).OrderBy(_ => rng.Next()).ToArray();
            return new PretrainedEmbeddings(Enumerable.Range(0, v.Count).ToDictionary(i => v.Ids[i], i =>
            {
                v.TryGetVector(v.Ids[order[i]], out var x);
                return x.ToArray();
            }));
        }

        /// <summary>The ceiling: test Click AUC / GAUC of the simulator's true click probability (examination × attraction),
        /// with the item-level interest term κ·z and with it removed from the attraction logit.</summary>
        private static void PrintHeadroom(LiveStreamSimulator sim, IDataView test, bool[] click, uint[] groups, double k, int seed)
        {
            var zs = PlantedInterest.TrueZ(sim.World, test, k);
            var (with, without, _, _) = PlantedInterest.TrueProbabilities(test, zs, k);
            // the planted interest recomputed from the row's own columns (groups of the items on sale found in the clicked items)
            var seqs = test.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var sale = test.GetColumn<uint[]>(ImpressionColumns.LiveItemsOnSale).ToArray();
            var share = seqs.Select((h, i) =>
            {
                var hg = h.Where(x => x > 0).Select(x => sim.World.ItemTasteGroupOf(x)).ToHashSet();
                var s = sale[i].Where(x => x > 0).ToArray();
                return s.Length == 0 ? 0.0 : s.Count(x => hg.Contains(sim.World.ItemTasteGroupOf(x))) / (double)s.Length;
            }).ToArray();
            if (k != 0)
                Console.WriteLine($"  headroom: corr(share from the row's columns, true z) {PlantedInterest.Correlation(share.Select(x => (float)x).ToArray(), zs, null):F4}");
            // how concentrated the test rows' UserItemSeq are: share in the user's hidden taste groups, and share held by the
            // sequence's own 3 most frequent taste groups and 3 most frequent categories (what a log would show)
            var w = sim.World;
            var users = test.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            double Top3(IEnumerable<int> keys, int n) => n == 0 ? 0 : keys.GroupBy(x => x).Select(g => g.Count()).OrderByDescending(c => c).Take(3).Sum() / (double)n;
            var items = seqs.Select(h => h.Where(x => x > 0).ToArray()).ToArray();
            double inTaste = items.Select((h, i) => h.Length == 0 ? 0 : h.Count(x => w.UserTasteGroups(users[i]).Contains(w.ItemTasteGroupOf(x))) / (double)h.Length).Average();
            double top3Groups = items.Select(h => Top3(h.Select(x => w.ItemTasteGroupOf(x)), h.Length)).Average();
            double top3Cats = items.Select(h => Top3(h.Select(x => (int)w.ItemCategory(x)), h.Length)).Average();
            Console.WriteLine($"  histories, seed {seed}: mean UserItemSeq length {items.Average(h => h.Length):F1}; share in the user's taste groups {inTaste:F3}; "
                + $"share held by the sequence's top-3 taste groups {top3Groups:F3}, top-3 categories {top3Cats:F3}");
            Console.WriteLine($"  headroom, kappa {k}, seed {seed}: true P(click) AUC {RankerMetrics.Auc(with, click):F4}, GAUC {RankerMetrics.GroupAuc<uint>(with, click, groups):F4}; "
                + $"without κ·z AUC {RankerMetrics.Auc(without, click):F4}, GAUC {RankerMetrics.GroupAuc<uint>(without, click, groups):F4}");
        }

        /// <summary>Maps every item id to its taste group + 1 (diagnostic: can a layer learn the planted interest when the
        /// group structure is given?).</summary>
        private static ITransformer OracleGroups(MLContext ml, LiveStreamSimulator sim, IDataView data)
        {
            var map = Enumerable.Range(1, sim.World.ItemCount).Select(i => new KeyValuePair<uint, uint>((uint)i, (uint)sim.World.ItemTasteGroupOf((uint)i) + 1)).ToArray();
            return MapItemIds(ml, map, data);
        }

        /// <summary>Replaces every item id by map[id] in the three item-id columns (the user's clicked items, the room's items
        /// on sale and its core items).</summary>
        private static ITransformer MapItemIds(MLContext ml, KeyValuePair<uint, uint>[] map, IDataView data)
            => ml.Transforms.Conversion.MapValue(ImpressionColumns.UserItemSeq, map, ImpressionColumns.UserItemSeq)
                .Append(ml.Transforms.Conversion.MapValue(ImpressionColumns.LiveItemsOnSale, map, ImpressionColumns.LiveItemsOnSale))
                .Append(ml.Transforms.Conversion.MapValue(ImpressionColumns.LiveCoreItems, map, ImpressionColumns.LiveCoreItems))
                .Fit(data);

        /// <summary>Maps every item id to its co-occurrence cluster + 1: k-means (cosine, k-means++ start, 100 clusters, 20 rounds)
        /// of the items' L2-normalised co-occurrence counts in the training rows' sequences (one per user); items never seen in
        /// them get cluster 101. What a practitioner could build from the logs alone (diagnostic).</summary>
        private static ITransformer CoocGroups(MLContext ml, World world, IDataView train, int seed)
        {
            const int k = 100;
            var co = PlantedInterest.CoOccurrence(train);
            var ids = co.Keys.OrderBy(x => x).ToArray();
            var x = ids.Select(i =>
            {
                var v = co[i];
                double norm = Math.Sqrt(v.Sum(t => (double)t * t));
                return v.Select(t => (float)(t / norm)).ToArray();
            }).ToArray();
            int n = x.Length, dim = x[0].Length;
            var rng = new Random(seed);
            var centres = new List<float[]> { (float[])x[rng.Next(n)].Clone() };
            var best = new double[n];
            double Dot(float[] a, float[] b)
            {
                double t = 0;
                for (int j = 0; j < a.Length; j++)
                    t += a[j] * b[j];
                return t;
            }
            while (centres.Count < k)
            {
                // k-means++: the next centre with probability proportional to the squared distance (2 - 2 cos) to the nearest one
                var c = centres[^1];
                for (int i = 0; i < n; i++)
                    best[i] = centres.Count == 1 ? 2 - 2 * Dot(x[i], c) : Math.Min(best[i], 2 - 2 * Dot(x[i], c));
                double total = best.Sum(), u = rng.NextDouble() * total;
                int pick = 0;
                for (double acc = 0; pick < n - 1 && (acc += best[pick]) < u; pick++)
                {
                }
                centres.Add((float[])x[pick].Clone());
            }
            var assign = new int[n];
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < n; i++)
                {
                    double bestCos = double.NegativeInfinity;
                    for (int c = 0; c < k; c++)
                    {
                        double cos = Dot(x[i], centres[c]);
                        if (cos > bestCos)
                        {
                            bestCos = cos;
                            assign[i] = c;
                        }
                    }
                }
                for (int c = 0; c < k; c++)
                {
                    var sum = new double[dim];
                    int m = 0;
                    for (int i = 0; i < n; i++)
                        if (assign[i] == c)
                        {
                            m++;
                            for (int j = 0; j < dim; j++)
                                sum[j] += x[i][j];
                        }
                    if (m == 0)
                        continue;
                    double norm = Math.Sqrt(sum.Sum(t => t * t));
                    centres[c] = sum.Select(t => (float)(t / norm)).ToArray();
                }
            }
            // purity: the share of each cluster held by its most frequent taste group, weighted by size
            double Purity(int[] a) => Enumerable.Range(0, k).Sum(c => Enumerable.Range(0, n).Where(i => a[i] == c).GroupBy(i => world.ItemTasteGroupOf(ids[i])).Select(g => g.Count()).DefaultIfEmpty(0).Max()) / (double)n;
            var shuffled = assign.OrderBy(_ => rng.Next()).ToArray();
            Console.WriteLine($"  co-occurrence clusters: {n} items in {assign.Distinct().Count()} clusters, purity by taste group {Purity(assign):F3} (the same cluster sizes at random: {Purity(shuffled):F3})");
            var cluster = ids.Select((id, i) => (id, c: assign[i])).ToDictionary(p => p.id, p => (uint)p.c + 1);
            var map = Enumerable.Range(1, world.ItemCount).Select(i => new KeyValuePair<uint, uint>((uint)i, cluster.TryGetValue((uint)i, out var c) ? c : k + 1)).ToArray();
            return MapItemIds(ml, map, train);
        }

        private sealed class ZInput
        {
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            public float Time { get; set; }
        }

        private sealed class SameInput
        {
            [VectorType] public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
            [VectorType] public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
        }

        private sealed class SameOutput
        {
            [VectorType(1)] public float[] SameShare { get; set; } = Array.Empty<float>();
        }

        private sealed class ZOutput
        {
            [VectorType(1)] public float[] OracleZ { get; set; } = Array.Empty<float>();
        }

        /// <summary>The trained item embedding table (shared by the items on sale, the core items and the clicked items) by item id.
        /// Its dictionary is learned from the training rows' <c>LiveItemsOnSale</c> in order of first occurrence (row k = the
        /// k-th distinct id, row 0 = unknown); the table's row count checks the reconstruction.</summary>
        private static Dictionary<uint, float[]> ItemEmbeddings(MultiTaskTransformer model, IDataView train)
        {
            var order = new List<uint>();
            var seen = new HashSet<uint>();
            foreach (var sale in train.GetColumn<uint[]>(ImpressionColumns.LiveItemsOnSale))
                foreach (var id in sale)
                    if (seen.Add(id))
                        order.Add(id);
            var seq = model.Layout.Sequences.First(x => x.Name == ImpressionColumns.UserItemSeq);
            var table = model.Layout.Tables[seq.Table];
            if (table.Rows != order.Count + 1)
                throw new InvalidOperationException($"item table has {table.Rows} rows, {order.Count} distinct items on sale: the dictionary is not the one assumed");
            // the same order from ML.NET's own by-occurrence dictionary of the column (what the trainer builds)
            var ml = new MLContext(0);
            var keys = ml.Transforms.Conversion.MapValueToKey("k", ImpressionColumns.LiveItemsOnSale, keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByOccurrence).Fit(train).Transform(train);
            VBuffer<uint> values = default;
            keys.Schema["k"].GetKeyValues(ref values);
            if (!values.DenseValues().SequenceEqual(order))
                throw new InvalidOperationException("the item dictionary's order is not the order of first occurrence assumed");
            var weight = model.Network.Encoders[0].named_parameters().First(p => p.name == $"tables.{seq.Table}.weight").parameter;
            var data = weight.detach().cpu().data<float>().ToArray();
            int dim = table.Dimension;
            return order.Select((id, k) => (id, v: data.AsSpan((k + 1) * dim, dim).ToArray())).ToDictionary(p => p.id, p => p.v);
        }

        /// <summary>How far each DIN unit left its start (its output layer starts at zero weights and bias 1 or 0).</summary>
        private static void PrintUnits(MultiTaskTransformer model)
        {
            foreach (var encoder in model.Network.Encoders)
                foreach (var pooling in encoder.Poolings.OfType<TargetAttentionModule>())
                {
                    var p = pooling.named_parameters().ToDictionary(x => x.name, x => x.parameter);
                    string Norm(string n) => p.TryGetValue(n, out var t) ? t.norm().item<float>().ToString("F4") : "?";
                    Console.WriteLine($"    unit {pooling.GetName()}: |output.weight| {Norm("output.weight")}, output.bias {(p.TryGetValue("output.bias", out var b) ? b.item<float>().ToString("F4") : "?")}, |first.weight| {Norm("first.weight")}");
                }
        }
    }
}

namespace MLNetRank.Benchmarks.Sequences
{
    /// <summary>
    /// Training samples/s of the network with the V4 transformer (2 layers, 4 heads, d = 16, clicked-item sequences of 20)
    /// in MLNetRank (streaming the simulator's IDataView) against the same network in PyTorch (<c>sequence_peer.py</c>:
    /// fused Q/K/V, batched attention, tensors in memory), same threads and cores (run under <c>taskset</c>), alternating
    /// runs. Args: [--rows N (20000)] [--epochs E (2)] [--threads T (1)] [--repeats R (2)].
    /// </summary>
    public sealed class SequenceSpeedBench : IBench
    {
        public string Name => "sequence-speed";

        public string Description => "training samples/s of the V4 transformer network: MLNetRank (TorchSharp) vs a PyTorch peer";

        private static readonly Option<int> RowsOption = BenchOption.Of("--rows", 20000, "training rows");
        private static readonly Option<int> EpochsOption = BenchOption.Of("--epochs", 2, "epochs");
        private static readonly Option<int> ThreadsOption = BenchOption.Of("--threads", 1, "threads");
        private static readonly Option<int> RepeatsOption = BenchOption.Of("--repeats", 2, "repeats (median is reported)");

        public int Run(ParseResult args)
        {
            int rows = args.GetValue(RowsOption);
            int epochs = args.GetValue(EpochsOption);
            int threads = args.GetValue(ThreadsOption);
            int repeats = args.GetValue(RepeatsOption);
            const int d = 16, length = 20;
            Console.WriteLine();
            Console.WriteLine($"Load average at the start: {ScoringMeasures.LoadAverage()}.");
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 3, RequestCount = rows / 10, MaxItemSequenceLength = length, ItemInterestScale = 1.0 });
            var train = ml.Data.Cache(sim.GetImpressions(ml));
            var ours = new List<double>();
            var peer = new List<double>();
            long ourParams = 0, peerParams = 0;
            string version = "?";
            for (int r = 0; r < repeats; r++)
            {
                var o = SequenceModels.Options("transformer", d, 1, epochs, itemLength: length, threads: threads);
                using (var model = ml.Ranker().Trainers.MultiTask(o).Fit(train))
                {
                    ours.Add(model.History[^1].SamplesPerSecond);
                    ourParams = model.Network.parameters().Sum(p => p.numel());
                }
                Console.WriteLine($"  MLNetRank run {r + 1}: {ours[^1]:N0} samples/s (last epoch; load {ScoringMeasures.LoadAverage()})");
                string script = Path.Combine(Torch.MultiTaskSpeedBench.RepoRoot(), "tests", "MLNetRank.Benchmarks", "Sequences", "sequence_peer.py");
                // the peer's tables have the simulator's sizes (items and rooms + 1 for padding)
                var psi = PythonPeer.StartInfo($"{script} {rows} 256 {epochs} {threads} {d} {sim.World.ItemCount + 1} {sim.World.LiveCount + 1} {length}", threads);
                using var p = Process.Start(psi)!;
                var err = p.StandardError.ReadToEndAsync();
                string stdout = p.StandardOutput.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                    throw new InvalidOperationException("PyTorch peer failed: " + err.Result);
                using var doc = System.Text.Json.JsonDocument.Parse(stdout.Trim().Split('\n').Last());
                peer.Add(doc.RootElement.GetProperty("samples_per_second").EnumerateArray().Last().GetDouble());
                peerParams = doc.RootElement.GetProperty("parameters").GetInt64();
                version = doc.RootElement.GetProperty("torch").GetString() ?? "?";
                Console.WriteLine($"  PyTorch run {r + 1}: {peer[^1]:N0} samples/s (last epoch; load {ScoringMeasures.LoadAverage()})");
            }
            Console.WriteLine();
            Console.WriteLine("| network | threads | MLNetRank samples/s (best of runs) | PyTorch samples/s (best) | ratio | parameters (ours / peer) |");
            Console.WriteLine("|---|---|---|---|---|---|");
            Console.WriteLine($"| MMoE + V4 transformer (2 layers, 4 heads, d = {d}, L = {length}) | {threads} | {ours.Max():N0} | {peer.Max():N0} | {ours.Max() / peer.Max():F2}x | {ourParams:N0} / {peerParams:N0} |");
            Console.WriteLine();
            Console.WriteLine($"PyTorch {version}; all runs: ours {string.Join(", ", ours.Select(x => x.ToString("N0")))}, peer {string.Join(", ", peer.Select(x => x.ToString("N0")))}. Load average at the end: {ScoringMeasures.LoadAverage()}.");
            return 0;
        }
    }
}
