using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;

namespace LiveStreamRanking
{
    /// <summary>
    /// The main MLNetRank example: the evolution of the 1688 live-stream ranker, stage by stage, on simulated traffic whose
    /// truth is known — V1 weighted GBDT, V2 dual target attention, V3 graph embeddings, V4 live-stream transformer, the
    /// multi-task network, position debiasing, the final system and the fused ranking score. Each stage adds its part to
    /// the previous stage's pipeline; the last one is saved as <c>final.zip</c> and served by the request scorer.
    /// Run <c>dotnet run -c Release --project examples/LiveStreamRanking -- --help</c> for the options.
    /// </summary>
    public static class Program
    {
        /// <summary>Entry point.</summary>
        public static int Main(string[] args)
        {
            ExampleOptions a;
            try
            {
                a = ExampleOptions.Parse(args);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine(e.Message);
                Console.Error.WriteLine("Run with --help for the options.");
                return 2;
            }
            if (a.Help)
            {
                Console.Write(ExampleOptions.HelpText());
                return 0;
            }
            if (a.ReplotFolder != null)
            {
                Console.WriteLine("plot: " + Plots.Evolution(SeedSpread.ReadResults(Path.Combine(a.ReplotFolder, "evolution.csv")), a.ReplotFolder));
                return 0;
            }
            if (a.SpreadFolders.Count > 0)
                return Spread(a.SpreadFolders.Select(f => (f, Path.Combine(f, "evolution.csv"))).ToList(), a.OutputFolder);
            if (a.Seeds.Count == 0)
                return Run(a);
            foreach (int seed in a.Seeds)
            {
                Header($"Seed {seed} ({a.Seeds.Count} seeds)");
                int code = Run(a.ForSeed(seed));
                if (code != 0)
                    return code;
            }
            return Spread(a.Seeds.Select(s => (s.ToString(CultureInfo.InvariantCulture), Path.Combine(a.ForSeed(s).OutputFolder, "evolution.csv"))).ToList(), a.OutputFolder);
        }

        private static int Spread(IReadOnlyList<(string Seed, string CsvPath)> runs, string folder)
        {
            Header("Stage gains against the seed spread");
            Console.WriteLine();
            Console.Write(SeedSpread.Write(runs, folder));
            Console.WriteLine($"written: {Path.Combine(folder, "seed-spread.md")}");
            return 0;
        }

        private static int Run(ExampleOptions a)
        {
            var total = Stopwatch.StartNew();
            var ml = new MLContext(seed: a.Seed);
            Directory.CreateDirectory(a.OutputFolder);
            var log = new ConsoleLog(a.Quiet, total);

            // ------------------------------------------------------------------ simulate
            Header("Simulate live-stream traffic (known ground truth)");
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions
            {
                Seed = a.Seed, RequestCount = a.Requests, UserCount = a.Users, LiveCount = a.Lives, ItemCount = a.Items,
                ItemInterestScale = a.ItemInterest,
            });
            if (!a.Quiet)
                Console.Write(sim.Describe());
            // Time increases with the request index: train on the first 80% of requests, test on the last 20% (the future).
            // The network holds out 10% of its training rows (a fixed per-row draw) to pick its best epoch.
            long validEnd = (long)(a.Requests * 0.8);
            var train = ml.Data.Cache(RankingPipelines.WithStayLabel(ml, sim.GetImpressions(ml, 0, validEnd)));
            var test = ml.Data.Cache(sim.GetImpressions(ml, validEnd, a.Requests - validEnd));
            var edges = ml.Data.Cache(sim.GetEdges(ml));
            var truth = new TestTruth(test);
            Console.WriteLine($"train: requests 1..{validEnd}, test: {validEnd + 1}..{a.Requests} (split by time); " +
                $"{truth.Click.Length:N0} test impressions, {truth.Click.Count(c => c):N0} clicks, {truth.Buy.Count(b => b):N0} purchases");
            var requests = LatencyRequests(ml, sim, validEnd, a.Requests, a.LatencyRequests);

            // ------------------------------------------------------------------ stages
            var selected = a.Stages.Count == 0 ? Stages.All.ToList() : Stages.All.Where(s => a.Stages.Contains(s.Name, StringComparer.OrdinalIgnoreCase)).ToList();
            var results = new List<StageResult>();
            ITransformer? finalModel = null;
            IReadOnlyDictionary<string, float[]>? finalScores = null;
            Recipe? finalRecipe = null;
            string finalStage = Stages.LastAvailable.Name;
            string finalZip = Path.Combine(a.OutputFolder, "final.zip");
            // the last fitted stage: a stage that only adds a score fusion is fitted on it
            (string Name, Recipe? Recipe, ITransformer? Model, double Seconds, double CpuSeconds, bool Keep, string Zip) previous = ("", null, null, 0, 0, false, "");
            int k = 0;
            foreach (var stage in selected)
            {
                k++;
                Header($"[{k}/{selected.Count}] {stage.Name}: {stage.Title}");
                if (!stage.Available)
                {
                    Console.WriteLine($"skipped: {stage.MissingReason}");
                    continue;
                }
                var recipe = Stages.RecipeOf(stage);
                var stageClock = Stopwatch.StartNew();
                var stageCpu = Process.GetCurrentProcess().TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                ITransformer model;
                double earlier = 0, earlierCpu = 0;
                if (recipe.Fusion != null && previous.Recipe != null && recipe with { Fusion = null } == previous.Recipe)
                {
                    // Only the fusion is new: it is fitted on the previous stage's fitted pipeline and appended to it (its
                    // training time is the previous pipeline's plus its own).
                    // The previous pipeline's outputs on the training rows come from its saved zip through the request
                    // scorer, one request per batched call (ML.NET's OnnxTransformer would call ONNX Runtime once per row).
                    log.Line($"scoring the training rows with the {previous.Name} pipeline (request scorer, one request per call)");
                    var fusionRows = FusionTrainingRows(previous.Zip, train, sim.Options.ListSize, previous.Model!.GetOutputSchema(train.Schema));
                    log.Line($"fitting the score fusion on the {previous.Name} pipeline's outputs");
                    var fusion = recipe.Fusion.Create(ml).Fit(fusionRows);
                    model = previous.Model!.Append(fusion);
                    earlier = previous.Seconds;
                    earlierCpu = previous.CpuSeconds;
                    previous.Keep = true;
                }
                else
                {
                    var pipeline = RankingPipelines.Build(ml, recipe, edges, a.Sizes, log.Epochs(stage.Name));
                    log.Line($"fitting {Describe(recipe)} on {validEnd * sim.Options.ListSize:N0} impressions");
                    model = pipeline.Fit(train);
                }
                double seconds = sw.Elapsed.TotalSeconds + earlier;
                double cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds + earlierCpu;
                var network = StageEvaluation.Flatten(model).OfType<MultiTaskTransformer>().FirstOrDefault();
                string zip = stage.Name == finalStage ? finalZip : Path.Combine(a.OutputFolder, $"stage-{stage.Name}.zip");
                ml.Model.Save(model, train.Schema, zip);
                // The test period is scored as it is served: a chain with an ONNX network through the request scorer opened
                // on the saved zip, one request per batched call; a GBDT-only chain through ML.NET.
                Dictionary<string, float[]> testScores;
                double p50, p99;
                string path;
                if (StageEvaluation.HasNetwork(zip))
                {
                    using var scorer = RequestScorer.Open(zip, new RequestScorerOptions { Context = new MLContext(seed: 0) });
                    testScores = StageEvaluation.ScoreByRequest(scorer, test, truth.RequestId, sim.Options.ListSize);
                    (p50, p99) = StageEvaluation.Latency(scorer, recipe.RankingScoreColumn, requests);
                    path = "RequestScorer";
                }
                else
                {
                    testScores = StageEvaluation.ScoreOnce(model, test, StageEvaluation.ScoreColumns(recipe));
                    (p50, p99) = StageEvaluation.LatencyMlNet(zip, recipe.RankingScoreColumn, requests);
                    path = "ML.NET";
                }
                var quality = StageEvaluation.Quality(testScores, recipe, truth);
                var result = quality with
                {
                    Stage = stage.Name, Title = stage.Title, TrainSeconds = seconds, TrainCpuSeconds = cpuSeconds, ModelBytes = StageEvaluation.SizeOf(zip),
                    ScoreP50Ms = p50, ScoreP99Ms = p99, ScoringPath = path,
                    History = network?.History ?? (IReadOnlyList<MultiTaskEpoch>)Array.Empty<MultiTaskEpoch>(), BestEpoch = network?.BestEpoch ?? 0,
                };
                results.Add(result);
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "{0}: click AUC {1:0.0000}, buy AUC {2:0.0000}, nDCG@10 {3:0.0000}, AUC vs true attraction {4:0.0000}; trained in {5:0.0} s ({10:0.0} s CPU); {6:0} KiB; {7} p50 {8:0.000} ms / p99 {9:0.000} ms per request",
                    stage.Name, result.ClickAuc, result.BuyAuc, result.Ndcg10, result.AttractionAuc, seconds, result.ModelBytes / 1024.0, path, p50, p99, cpuSeconds));
                log.Line(string.Format(CultureInfo.InvariantCulture, "{0}: whole stage (fit, evaluation, save, latency) {1:0.0} s, {2:0.0} s CPU",
                    stage.Name, stageClock.Elapsed.TotalSeconds, (Process.GetCurrentProcess().TotalProcessorTime - stageCpu).TotalSeconds));
                if (previous.Model != null && !previous.Keep)
                    (previous.Model as IDisposable)?.Dispose();
                if (stage.Name == finalStage)
                {
                    finalModel = model;
                    finalRecipe = recipe;
                    finalScores = testScores;
                    previous = (stage.Name, recipe, model, seconds, cpuSeconds, true, zip);
                }
                else
                    previous = (stage.Name, recipe, model, seconds, cpuSeconds, false, zip);
            }
            if (previous.Model != null && !previous.Keep && !ReferenceEquals(previous.Model, finalModel))
                (previous.Model as IDisposable)?.Dispose();
            if (results.Count == 0)
            {
                Console.WriteLine("No available stage was selected.");
                return 1;
            }

            // ------------------------------------------------------------------ the evolution table
            Header("Evolution of the ranker (time-split test)");
            Console.WriteLine();
            Console.Write(Report.Markdown(results));
            string load = LoadAverage();
            var (mdPath, csvPath) = Report.Write(results, a.OutputFolder, string.Format(CultureInfo.InvariantCulture,
                "Simulator seed {0}: {1:N0} requests x {2} positions, {3:N0} users, {4:N0} rooms, {5:N0} items, item-level interest {10}; train / test = first 80% / last 20% of requests (the network validates its epochs on a fixed 10% draw of the training rows). " +
                "{6} cores, load average {7} at the end, run of {8:0} s ({11:0} s CPU). Scoring latency: one simulated request ({2} candidates), {9} requests, after one warm-up pass.",
                a.Seed, a.Requests, sim.Options.ListSize, a.Users, a.Lives, a.Items, Environment.ProcessorCount, load, total.Elapsed.TotalSeconds, requests.Count, a.ItemInterest, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds));
            Console.WriteLine($"written: {mdPath}, {csvPath}");

            // ------------------------------------------------------------------ plots
            var plots = new List<string> { Plots.Evolution(results, a.OutputFolder) };
            plots.AddRange(Plots.TrainingCurves(results, a.OutputFolder));
            if (finalModel != null && finalRecipe != null && finalScores != null)
            {
                // A debiased model's P(click) is position-free (the click rate of a candidate shown first), so it is compared
                // with the clicks at position 1, where the examination is the simulator's maximum; P(click and buy) likewise.
                var top = Enumerable.Range(0, truth.Position.Length).Where(i => truth.Position[i] == 1).ToArray();
                var click = finalScores[finalRecipe.ClickProbabilityColumn ?? finalRecipe.ClickScoreColumn];
                var curves = new List<(string, float[], bool[])> { ("P(click), position 1", top.Select(i => click[i]).ToArray(), top.Select(i => truth.Click[i]).ToArray()) };
                if (finalRecipe.ClickAndBuyProbabilityColumn != null)
                {
                    var buy = finalScores[finalRecipe.ClickAndBuyProbabilityColumn];
                    curves.Add(("P(click and buy), position 1", top.Select(i => buy[i]).ToArray(), top.Select(i => truth.Buy[i]).ToArray()));
                }
                plots.Add(Plots.Calibration(finalStage, curves, a.OutputFolder));
            }
            if (selected.Any(s => s.Name == "debiasing" && s.Available))
            {
                // The position curve from the randomized share of the traffic (method 4), against the simulator's truth.
                var propensity = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
                {
                    RandomizedColumnName = "IsRandomized", MaximumPosition = sim.Options.ListSize - 1,
                }).Fit(train);
                plots.Add(Plots.PositionCurve(sim.World.TrueExaminationCurve, propensity.Propensities,
                    "EstimatePositionPropensity (randomized lists)", a.OutputFolder));
                double rmse = Math.Sqrt(Enumerable.Range(0, sim.Options.ListSize).Average(i =>
                    Math.Pow(propensity.Propensities[i] / propensity.Propensities[0] - sim.World.TrueExaminationCurve[i] / sim.World.TrueExaminationCurve[0], 2)));
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "position curve recovered from the randomized lists: RMSE {0:0.0000} against the truth (relative to position 1)", rmse));
            }
            Console.WriteLine("plots: " + string.Join(", ", plots));

            // ------------------------------------------------------------------ serve final.zip
            if (finalModel != null && finalRecipe != null && finalScores != null)
            {
                Header($"Serve {finalZip}: a fresh MLContext and the request scorer score it as trained");
                ServeFinal(finalZip, finalModel, finalScores[finalRecipe.RankingScoreColumn], finalRecipe, test, sim, validEnd);
                (finalModel as IDisposable)?.Dispose();
            }
            else
                Console.WriteLine($"final.zip not written: the last available stage ({finalStage}) was not selected.");

            Console.WriteLine();
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "done in {0:0.0} s ({1:0.0} s CPU, load average {2}); outputs in {3}",
                total.Elapsed.TotalSeconds, Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, LoadAverage(), Path.GetFullPath(a.OutputFolder)));
            return 0;
        }

        /// <summary>Loads final.zip in a new context and checks it scores the first test requests exactly as the trained
        /// pipeline does (both through ML.NET), and that the scores the metrics were computed from (the request scorer's, one
        /// request per call) equal ML.NET's to float32 rounding; then scores one request with the request scorer and prints
        /// its top 10 next to the truth.</summary>
        private static void ServeFinal(string zip, ITransformer trained, float[] metricScores, Recipe recipe, IDataView test, LiveStreamSimulator sim, long firstTestRequest)
        {
            var serving = new MLContext(seed: 0);
            var loaded = serving.Model.Load(zip, out _);
            // ML.NET's OnnxTransformer calls ONNX Runtime once per row: the check reads the first 1,000 test requests.
            int checkedRows = (int)Math.Min(metricScores.Length, 1_000L * sim.Options.ListSize);
            var head = serving.Data.TakeRows(test, checkedRows);
            var expected = StageEvaluation.ScoreOnce(trained, head, new[] { recipe.RankingScoreColumn })[recipe.RankingScoreColumn];
            var again = StageEvaluation.ScoreOnce(loaded, head, new[] { recipe.RankingScoreColumn })[recipe.RankingScoreColumn];
            if (!expected.SequenceEqual(again))
                throw new InvalidOperationException("final.zip scored differently after loading it in a fresh MLContext.");
            // Batched ONNX Runtime calls sum in another order than ML.NET's row-at-a-time calls: float32 rounding, which the
            // fused score's logits of small probabilities (P(click and buy) ~ 1e-3) amplify: measured 4e-5 (seed 1) and
            // 1.7e-4 (seed 2) relative to max(1, |score|); a wrong input or model gives differences of order 1e-1.
            double metricsDiff = expected.Select((x, i) => Math.Abs(x - metricScores[i]) / Math.Max(1.0, Math.Abs(x))).Max();
            if (metricsDiff > 1e-3)
                throw new InvalidOperationException($"The scores the metrics read differ from ML.NET's by {metricsDiff} on final.zip.");
            Console.WriteLine($"loaded {Path.GetFileName(zip)} ({StageEvaluation.SizeOf(zip) / 1024.0:0} KiB) as {string.Join(" -> ", StageEvaluation.Flatten(loaded).Select(t => t.GetType().Name).Distinct())}");
            Console.WriteLine($"{checkedRows:N0} test scores (the first {checkedRows / sim.Options.ListSize:N0} test requests) identical to the trained pipeline's; " +
                $"the request-scored test scores of the metrics equal ML.NET's to {metricsDiff:G2} (float32 rounding)");

            var request = serving.Data.Cache(sim.GetImpressions(serving, firstTestRequest + 7, 1));
            float[] mlnet = StageEvaluation.Scores(loaded.Transform(request), recipe.RankingScoreColumn);
            float[] fast;
            bool hasNetwork = StageEvaluation.Flatten(loaded).Any(t => t is Microsoft.ML.Transforms.Onnx.OnnxTransformer);
            if (hasNetwork)
            {
                using var scorer = RequestScorer.Open(zip);
                using var r = scorer.CreateRequest(64);
                r.Load(request);
                scorer.Score(r);
                fast = r.GetOutput<float>(recipe.RankingScoreColumn).ToArray();
                double maxDiff = mlnet.Zip(fast, (x, y) => Math.Abs(x - y)).Max();
                // float32 through a deep network (MMoE, towers, ensemble): one batched ONNX call sums in another order than
                // ML.NET's row-at-a-time calls, so equal means equal to float32 rounding, relative to the score's size
                double worst = mlnet.Zip(fast, (x, y) => Math.Abs(x - y) / Math.Max(1.0, Math.Abs(x))).Max();
                if (worst > 1e-4)
                    throw new InvalidOperationException($"The request scorer differs from ML.NET by {maxDiff} on final.zip.");
                Console.WriteLine($"request scorer: {fast.Length} candidates in one batched call, max |difference| to ML.NET {maxDiff:G3}");
            }
            else
                fast = mlnet;
            (loaded as IDisposable)?.Dispose();

            var rows = request.GetColumn<uint>(ImpressionColumns.LiveId).ToArray();
            var shownAt = request.GetColumn<int>(ImpressionColumns.Position).ToArray();
            var attraction = request.GetColumn<float>(ImpressionColumns.TrueAttraction).ToArray();
            var relevance = request.GetColumn<float>(ImpressionColumns.TrueRelevance).ToArray();
            Console.WriteLine($"request {firstTestRequest + 8}: ranked by {recipe.RankingScoreColumn}");
            Console.WriteLine("rank | live room | shown at | score  | true attraction | true relevance");
            int rank = 0;
            foreach (int i in Enumerable.Range(0, fast.Length).OrderByDescending(i => fast[i]).Take(10))
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,4} | {1,9} | {2,8} | {3:0.0000} | {4,15:0.0000} | {5,14:0.##}",
                    ++rank, rows[i], shownAt[i], fast[i], attraction[i], relevance[i]));
        }

        /// <summary>The score fusion's training rows: the fitted pipeline's outputs (every float score, with the types the
        /// pipeline outputs) on the training rows, scored through its saved zip by the request scorer one request per call,
        /// next to the training rows' request ids and click and buy labels.</summary>
        private static IDataView FusionTrainingRows(string zip, IDataView train, int listSize, DataViewSchema modelOutput)
        {
            var ids = train.GetColumn<uint>(ImpressionColumns.RequestId).ToArray();
            using var scorer = RequestScorer.Open(zip, new RequestScorerOptions { Context = new MLContext(seed: 0) });
            var scores = StageEvaluation.ScoreByRequest(scorer, train, ids, listSize);
            var view = new ArrayDataView(ids.Length)
                .Add(ImpressionColumns.RequestId, NumberDataViewType.UInt32, ids)
                .Add(ImpressionColumns.Click, BooleanDataViewType.Instance, train.GetColumn<bool>(ImpressionColumns.Click).ToArray())
                .Add(ImpressionColumns.Buy, BooleanDataViewType.Instance, train.GetColumn<bool>(ImpressionColumns.Buy).ToArray());
            foreach (var (name, values) in scores)
            {
                var type = modelOutput.GetColumnOrNull(name)?.Type;
                if (type is VectorDataViewType { Size: 1 })
                    view.AddVector(name, values, 1);
                else if (type == NumberDataViewType.Single)
                    view.Add(name, NumberDataViewType.Single, values);
            }
            return view;
        }

        /// <summary>Requests of the test period, each cached and read once, for the latency measurement.</summary>
        private static List<IDataView> LatencyRequests(MLContext ml, LiveStreamSimulator sim, long first, long end, int count)
        {
            var list = new List<IDataView>();
            long step = Math.Max(1, (end - first) / Math.Max(1, count));
            for (long r = first; r < end && list.Count < count; r += step)
            {
                var view = ml.Data.Cache(sim.GetImpressions(ml, r, 1));
                _ = view.GetColumn<uint>(ImpressionColumns.RequestId).Count(); // materialise the cache
                using var cursor = view.GetRowCursor(view.Schema);
                while (cursor.MoveNext()) { }
                list.Add(view);
            }
            return list;
        }

        /// <summary>The 1-minute load average (Linux), or "n/a".</summary>
        private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

        private static string Describe(Recipe r)
        {
            var parts = new List<string>();
            if (r.GraphEmbeddings) parts.Add("metapath2vec");
            if (r.GbdtLeaves) parts.Add("GBDT leaves");
            parts.AddRange(r.SequenceInputs.Select(s => s.Name));
            parts.Add(r.Scorer switch
            {
                ScorerKind.Gbdt => "weighted GBDT",
                ScorerKind.ClickNetwork => "click network",
                _ => "MMoE (click, buy, stay)" + (r.PositionBiasTower ? " + PAL tower" : ""),
            });
            if (r.Fusion != null) parts.Add("ensemble");
            return string.Join(" + ", parts);
        }

        private static void Header(string title)
        {
            Console.WriteLine();
            Console.WriteLine("== " + title);
        }
    }

    /// <summary>Console progress: per-epoch lines of the network, timestamped by the run's clock (silent with --quiet).</summary>
    internal sealed class ConsoleLog
    {
        private readonly bool _quiet;
        private readonly Stopwatch _clock;

        public ConsoleLog(bool quiet, Stopwatch clock)
        {
            _quiet = quiet;
            _clock = clock;
        }

        public void Line(string text)
        {
            if (!_quiet)
                Console.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:0.0} s, {Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds,6:0.0} s CPU] {text}");
        }

        public IProgress<MultiTaskProgress>? Epochs(string stage) => _quiet ? null : new EpochPrinter(this, stage);

        private sealed class EpochPrinter : IProgress<MultiTaskProgress>
        {
            private readonly ConsoleLog _log;
            private readonly string _stage;

            public EpochPrinter(ConsoleLog log, string stage)
            {
                _log = log;
                _stage = stage;
            }

            public void Report(MultiTaskProgress p)
            {
                string V(string key) => p.ValidationMetrics.TryGetValue(key, out var v) ? v.ToString("0.0000", CultureInfo.InvariantCulture) : "-";
                _log.Line(string.Format(CultureInfo.InvariantCulture, "{0} epoch {1}/{2}: loss {3:0.0000}, {4:N0} rows/s; validation click AUC {5}, buy AUC {6}, stay RMSE {7}",
                    _stage, p.Epoch, p.Epochs, p.TrainingLoss, p.SamplesPerSecond, V("Click.Auc"), V("Buy.Auc"), V("StayTime.Rmse")));
            }
        }
    }
}
