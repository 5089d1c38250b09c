using MLNetRank.Evaluation;
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.LightGbm;
using MLNetRank.Debiasing;
using MLNetRank.Simulation.Datasets;

namespace MLNetRank.Benchmarks.Debiasing
{
    /// <summary>
    /// Unbiased learning to rank on LightGBM's lambdarank example, in the standard semi-synthetic protocol (Joachims et al.
    /// 2017; Ai et al. 2018): a weak logging ranker (LambdaRank trained on the grades of a few training queries) shows the top k
    /// documents of each session's query; clicks follow the position-based model P(click) = (1/rank)^η · (ε- + (ε+ − ε-)
    /// (2^grade − 1)/15) on the shown documents only. Rankers trained on the clicks — naive (raw click-through rate),
    /// inverse-propensity scored with the true, the randomization-estimated and (with a stochastic logger) the EM-estimated
    /// propensities — are compared by nDCG@10 on the test queries' true grades, with the logger and a ceiling trained on the
    /// true grades, over a range of session counts and several click simulations.
    /// </summary>
    public sealed partial class DebiasLetorBench : IBench
    {
        public string Name => "debias-letor";

        public string Description => "unbiased LTR on LightGBM's lambdarank data, top-k PBM clicks: naive vs IPS (pointwise/pairwise) vs ceiling, nDCG@10 over a session curve "
            + "(debias-letor --help: the options; see docs/benchmarks-debiasing.md section 2)";

        /// <summary>Settings of one run (the command-line options below set them; <c>debias-letor --help</c> lists them with their defaults).</summary>
        public sealed class Settings
        {
            public int[] Sessions = { 1000, 10000, 100000 };
            public double[] Etas = { 1, 2 };
            public int TopK = 10;
            public double LoggerNoise;
            public int LoggerQueries = 2;
            public int Seeds = 5;
            public double EpsMinus = 0.1;
            public double EpsPlus = 1.0;
            public double Clip = 100;
            public double RandomShare = 0.1;
            public string Folder = Path.Combine("..", "shared", "data", "lightgbm-lambdarank");
            public int Iterations = 100;
            public bool Pairwise = true;
            /// <summary>Also train the multi-task network rows (naive, bias tower, PAL); `networks=0` skips them.</summary>
            public bool Networks = true;
            /// <summary>Grades after reduction (0 = as in the file): grade g of 0..gmax becomes ⌈g (G − 1) / gmax⌉ (G = 3: 0 → 0, 1–2 → 1, 3–4 → 2).</summary>
            public int Grades;
            /// <summary>Folds over all queries of both files (0 = the files' own train/test split).</summary>
            public int Folds;
            /// <summary>Pseudo-impressions of the power-law prior in the randomization estimate of θ.</summary>
            public double Smoothing = 1000;
            /// <summary>Also the doubly robust rows whose prior is a model (exposure-weighted regression on SNIPS).</summary>
            public bool ModelPrior;
            /// <summary>Dual learning (DLA): its own ranker row and "θ by DLA" for the click-label estimators; `dla=0` skips it.</summary>
            public bool Dla = true;
            /// <summary>Hidden layers of the DLA ranker (`dlaHidden=32`; `dlaHidden=0`, the default, = linear as the library's default).</summary>
            public int[] DlaHidden = Array.Empty<int>();
            /// <summary>DLA epochs (0 = a budget of about 100,000 list visits: 10 epochs at 10k sessions, 3 at 100k).</summary>
            public int DlaEpochs;
            /// <summary>DLA learning rates (ranker, propensity); 0 = the library's defaults.</summary>
            public double DlaLearningRate, DlaPropensityLearningRate;
            /// <summary>Only these folds (1-based; empty = all), for quick looks.</summary>
            public int[] OnlyFolds = Array.Empty<int>();
            /// <summary>Skip the LambdaRank-on-levels rows and the clip-tuned IPS rows (`extra=0`), which never led.</summary>
            public bool Extra = true;
            /// <summary>Validation bucket: extra uniformly randomized sessions (share of `sessions`, own random stream) whose clicks
            /// choose the best naive and the best debiased learner (<see cref="ClickValidator"/>); 0 = no selection.</summary>
            public double ValidShare = 0.1;
            /// <summary>Clips of 1/θ tried as IPS candidates (estimated θ) besides <see cref="Clip"/>, for the validation choice.</summary>
            public double[] ValidClips = { 2, 5, 10, 20, 50 };
        }

        private static readonly Settings Defaults = new();
        private static readonly Option<int[]> SessionsOption = BenchOption.List("--sessions", Defaults.Sessions, "session counts of the curve");
        private static readonly Option<double[]> EtaOption = BenchOption.List("--eta", Defaults.Etas, "position-bias severities η");
        private static readonly Option<int> TopKOption = BenchOption.Of("--topk", Defaults.TopK, "documents shown per session");
        private static readonly Option<double> NoiseOption = BenchOption.Of("--noise", Defaults.LoggerNoise, "logger noise (0: deterministic logger)");
        private static readonly Option<int> LoggerQueriesOption = BenchOption.Of("--logger-queries", Defaults.LoggerQueries, "queries per session");
        private static readonly Option<int> SeedsOption = BenchOption.Of("--seeds", Defaults.Seeds, "click simulations");
        private static readonly Option<double> EpsMinusOption = BenchOption.Of("--eps-minus", Defaults.EpsMinus, "click noise on irrelevant documents");
        private static readonly Option<double> EpsPlusOption = BenchOption.Of("--eps-plus", Defaults.EpsPlus, "click probability of the most relevant grade");
        private static readonly Option<double> ClipOption = BenchOption.Of("--clip", Defaults.Clip, "IPS weight clip");
        private static readonly Option<double> RandomShareOption = BenchOption.Of("--random-share", Defaults.RandomShare, "share of randomized sessions");
        private static readonly Option<int> IterationsOption = BenchOption.Of("--iterations", Defaults.Iterations, "GBDT iterations");
        private static readonly Option<bool> PairwiseOption = BenchOption.Of("--pairwise", Defaults.Pairwise, "also the pairwise IPS rows");
        private static readonly Option<bool> NetworksOption = BenchOption.Of("--networks", Defaults.Networks, "also the multi-task network rows (naive, bias tower, PAL)");
        private static readonly Option<string> DataOption = BenchOption.Of("--data", Defaults.Folder, "lightgbm-lambdarank data folder");
        private static readonly Option<int> GradesOption = BenchOption.Of("--grades", Defaults.Grades, "grades after reduction (0: as in the file)");
        private static readonly Option<int> FoldsOption = BenchOption.Of("--folds", Defaults.Folds, "folds over all queries (0: the files' own split)");
        private static readonly Option<double> SmoothingOption = BenchOption.Of("--smoothing", Defaults.Smoothing, "pseudo-impressions of the prior in the randomization estimate");
        private static readonly Option<bool> ModelPriorOption = BenchOption.Of("--model-prior", Defaults.ModelPrior, "also the doubly robust rows with a model prior");
        private static readonly Option<bool> DlaOption = BenchOption.Of("--dla", Defaults.Dla, "dual learning (DLA) rows");
        private static readonly Option<int[]> DlaHiddenOption = BenchOption.List("--dla-hidden", Defaults.DlaHidden, "hidden layers of the DLA ranker (0 or empty: linear)");
        private static readonly Option<int> DlaEpochsOption = BenchOption.Of("--dla-epochs", Defaults.DlaEpochs, "DLA epochs (0: about 100,000 list visits)");
        private static readonly Option<double> DlaLrOption = BenchOption.Of("--dla-lr", Defaults.DlaLearningRate, "DLA ranker learning rate (0: the library's default)");
        private static readonly Option<double> DlaPropensityLrOption = BenchOption.Of("--dla-propensity-lr", Defaults.DlaPropensityLearningRate, "DLA propensity learning rate (0: the library's default)");
        private static readonly Option<int[]> OnlyFoldsOption = BenchOption.List("--only-folds", Defaults.OnlyFolds, "only these folds (1-based; empty: all)");
        private static readonly Option<bool> ExtraOption = BenchOption.Of("--extra", Defaults.Extra, "the LambdaRank-on-levels and clip-tuned IPS rows");
        private static readonly Option<double> ValidShareOption = BenchOption.Of("--valid-share", Defaults.ValidShare, "validation bucket (share of sessions) whose clicks choose the learners (0: no selection)");

        public int Run(ParseResult args)
        {
            var dlaHidden = args.GetValue(DlaHiddenOption)!;
            var s = new Settings
            {
                Sessions = args.GetValue(SessionsOption)!, Etas = args.GetValue(EtaOption)!, TopK = args.GetValue(TopKOption),
                LoggerNoise = args.GetValue(NoiseOption), LoggerQueries = args.GetValue(LoggerQueriesOption), Seeds = args.GetValue(SeedsOption),
                EpsMinus = args.GetValue(EpsMinusOption), EpsPlus = args.GetValue(EpsPlusOption), Clip = args.GetValue(ClipOption),
                RandomShare = args.GetValue(RandomShareOption), Iterations = args.GetValue(IterationsOption), Pairwise = args.GetValue(PairwiseOption),
                Networks = args.GetValue(NetworksOption), Folder = args.GetValue(DataOption)!, Grades = args.GetValue(GradesOption),
                Folds = args.GetValue(FoldsOption), Smoothing = args.GetValue(SmoothingOption), ModelPrior = args.GetValue(ModelPriorOption),
                Dla = args.GetValue(DlaOption), DlaHidden = dlaHidden.All(h => h == 0) ? Array.Empty<int>() : dlaHidden,
                DlaEpochs = args.GetValue(DlaEpochsOption), DlaLearningRate = args.GetValue(DlaLrOption),
                DlaPropensityLearningRate = args.GetValue(DlaPropensityLrOption), OnlyFolds = args.GetValue(OnlyFoldsOption)!,
                Extra = args.GetValue(ExtraOption), ValidShare = args.GetValue(ValidShareOption),
            };
            if (!Directory.Exists(s.Folder))
            {
                Console.Error.WriteLine($"data folder '{s.Folder}' not found (expected ../shared/data/lightgbm-lambdarank from the repo root)");
                return 2;
            }
            var r = Evaluate(s, Console.WriteLine);
            return r.Count > 0 ? 0 : 1;
        }

        internal sealed class Doc
        {
            public float[] Features = Array.Empty<float>();
            public float Grade;
            public int Query;
        }

        private sealed class TrainRow
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public float Label { get; set; }
            public uint Group { get; set; }
            public float Weight { get; set; } = 1;
        }

        private sealed class LogRow
        {
            public uint QueryDoc { get; set; }
            public int Position { get; set; }
            public bool Click { get; set; }
            public float TruePropensity { get; set; }
            public uint Session { get; set; }
            public float Prior { get; set; }
        }

        /// <summary>The impressions of a simulation, column by column (10^7 rows stay small); rows are materialized lazily.</summary>
        private sealed class ImpressionLog
        {
            public readonly List<int> Doc, Position;
            public readonly List<bool> Click;
            public readonly List<float> Propensity;
            public readonly List<uint> Session;
            public long Clicks;

            public ImpressionLog(int capacity)
            {
                Doc = new List<int>(capacity);
                Position = new List<int>(capacity);
                Click = new List<bool>(capacity);
                Propensity = new List<float>(capacity);
                Session = new List<uint>(capacity);
            }

            public int Count => Doc.Count;

            public void Add(int doc, int position, bool click, float propensity, uint session)
            {
                Doc.Add(doc);
                Position.Add(position);
                Click.Add(click);
                Propensity.Add(propensity);
                Session.Add(session);
                Clicks += click ? 1 : 0;
            }

            public IEnumerable<LogRow> Rows(float[]? prior = null)
            {
                for (int k = 0; k < Doc.Count; k++)
                    yield return new LogRow { QueryDoc = (uint)Doc[k], Position = Position[k], Click = Click[k], TruePropensity = Propensity[k], Session = Session[k], Prior = prior is null ? 0 : prior[Doc[k]] };
            }
        }

        private sealed class DocRow
        {
            public uint QueryDoc { get; set; }
        }

        /// <summary>A training document to be scored for the validation choice: features, id, query.</summary>
        private sealed class ValidDocRow
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public uint QueryDoc { get; set; }
            public uint Group { get; set; }
        }

        private sealed class ScoredDocRow
        {
            public uint QueryDoc { get; set; }
            public uint Group { get; set; }
            public float Score { get; set; }
        }

        internal const string SelectedNaive = "selected on validation clicks: naive";
        internal const string SelectedDebiased = "selected on validation clicks: debiased (estimated θ)";

        /// <summary>Input of the bias-tower hook: the session-level click log with features, and the test documents.</summary>
        /// <param name="Context">The ML.NET context (seeded).</param>
        /// <param name="ClickLog">One row per impression: <c>Features</c> (vector of Single), <c>Position</c> (Int32, 1-based),
        /// <c>Click</c> (Boolean), <c>Session</c> (UInt32), <c>QueryDoc</c> (UInt32). Built lazily (the features are shared arrays).</param>
        /// <param name="Test">The test documents: <c>Features</c>, <c>Label</c> (true grade), <c>Group</c>.</param>
        /// <param name="Eta">Position-bias exponent of the simulation.</param>
        /// <param name="Seed">Seed of this click simulation.</param>
        public sealed record BiasTowerInput(MLContext Context, Func<IDataView> ClickLog, IDataView Test, double Eta, int Seed);

        /// <summary>
        /// Rows of the TorchSharp multi-task trainer (a naive network and networks with a position bias tower), implemented in
        /// <c>DebiasLetorBench.BiasTower.cs</c>: each trains on <see cref="BiasTowerInput.ClickLog"/> and adds (row name, one
        /// score per row of <see cref="BiasTowerInput.Test"/>) to <paramref name="rows"/>.
        /// </summary>
        static partial void TrainBiasTower(BiasTowerInput input, List<(string Name, float[] Scores)> rows);

        private sealed class ImpressionRow
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public int Position { get; set; }
            public bool Click { get; set; }
            public uint Session { get; set; }
            public uint QueryDoc { get; set; }
        }

        internal static List<Doc> Read(MLContext ml, string path)
        {
            var view = LambdarankDataset.Load(ml, path);
            var f = view.GetColumn<float[]>("Features").ToArray();
            var y = view.GetColumn<float>("Label").ToArray();
            var q = view.GetColumn<int>("QueryIndex").ToArray();
            return Enumerable.Range(0, y.Length).Select(i => new Doc { Features = f[i], Grade = y[i], Query = q[i] }).ToList();
        }

        private static IDataView Load<T>(MLContext ml, IEnumerable<T> rows, int dim, bool group) where T : class
        {
            var schema = SchemaDefinition.Create(typeof(T));
            schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dim);
            var view = ml.Data.LoadFromEnumerable(rows, schema);
            return group ? ml.Transforms.Conversion.MapValueToKey("GroupId", "Group").Fit(view).Transform(view) : view;
        }

        private static LightGbmRankingTrainer.Options RankOptions(int iterations, int seed, int[]? gains = null)
        {
            var o = new LightGbmRankingTrainer.Options
            {
                LabelColumnName = "Label",
                FeatureColumnName = "Features",
                RowGroupColumnName = "GroupId",
                ExampleWeightColumnName = "Weight",
                NumberOfIterations = iterations,
                NumberOfLeaves = 31,
                MinimumExampleCountPerLeaf = 20,
                LearningRate = 0.05,
                NumberOfThreads = 1,
                Seed = seed,
                Silent = true,
                Verbose = false,
            };
            if (gains is not null)
                o.CustomGains = gains;
            return o;
        }

        private static LightGbmRegressionTrainer.Options RegressionOptions(int iterations, int seed) => new()
        {
            LabelColumnName = "Label",
            FeatureColumnName = "Features",
            NumberOfIterations = iterations,
            NumberOfLeaves = 31,
            MinimumExampleCountPerLeaf = 20,
            ExampleWeightColumnName = "Weight",
            LearningRate = 0.05,
            NumberOfThreads = 1,
            Seed = seed,
            Silent = true,
            Verbose = false,
        };

        /// <summary>One figure: a model at a session count, over the click simulations.</summary>
        public sealed record Figure(string Model, double Eta, int Sessions, double Mean, double Sd, int Runs, double ShareOfCeiling);

        private sealed class Cell
        {
            public readonly Dictionary<string, List<double>> Values = new();
            public readonly Dictionary<string, List<double>> Raw = new();
            public readonly List<string> Order = new();
            /// <summary>Per selection row (chosen on validation clicks), the learner chosen in each run.</summary>
            public readonly Dictionary<string, List<string>> Chosen = new();

            /// <summary>Adds one run of a model: its share of the split's ceiling and its nDCG@10.</summary>
            public void Add(string name, double share, double ndcg)
            {
                if (!Values.TryGetValue(name, out var l))
                {
                    Values[name] = l = new List<double>();
                    Raw[name] = new List<double>();
                    Order.Add(name);
                }
                l.Add(share);
                Raw[name].Add(ndcg);
            }
        }

        /// <summary>A train/test split of the documents (global indices), with its click simulations.</summary>
        private sealed record Split(string Name, int[] Train, int[] Test, int[] Seeds);

        /// <summary>Everything that depends on a split only: the training queries, the test view, the ceiling and the logger.</summary>
        private sealed class Prepared
        {
            public Split Split = null!;
            public int[] Docs = Array.Empty<int>();        // training documents (global index), query-contiguous
            public int[] Starts = Array.Empty<int>();      // query q = Docs[Starts[q] .. Starts[q+1])
            public int[] QueryOf = Array.Empty<int>();     // local training doc -> local query
            public int[][] Sorted = Array.Empty<int[]>();  // local docs of each query by logger score
            public float[] LogScore = Array.Empty<float>();
            public double LogSd;
            public IDataView TestView = null!;
            public float[] TestGrades = Array.Empty<float>();
            public int[] TestQueries = Array.Empty<int>();
            public double Ceiling, LoggerNdcg;
            public int Hidden;
        }

        public static List<Figure> Evaluate(Settings s, Action<string> log)
        {
            var ml = new MLContext(1);
            var trainFile = Read(ml, Path.Combine(s.Folder, "rank.train"));
            var testFile = Read(ml, Path.Combine(s.Folder, "rank.test"));
            int trainQueries = trainFile.Max(d => d.Query) + 1;
            // one document list: the training file's queries, then the test file's (query ids offset)
            var docs = trainFile.Concat(testFile.Select(d => new Doc { Features = d.Features, Grade = d.Grade, Query = d.Query + trainQueries })).ToList();
            if (s.Grades > 0)
            {
                double top = docs.Max(d => d.Grade);
                foreach (var d in docs)
                    d.Grade = d.Grade > 0 ? (float)Math.Ceiling(d.Grade * (s.Grades - 1) / top - 1e-9) : 0;
            }
            double gmax = docs.Max(d => d.Grade);
            int dim = docs[0].Features.Length;
            int totalQueries = docs.Max(d => d.Query) + 1;
            var splits = new List<Split>();
            if (s.Folds <= 0)
                splits.Add(new Split("file split", Enumerable.Range(0, trainFile.Count).ToArray(), Enumerable.Range(trainFile.Count, testFile.Count).ToArray(),
                    Enumerable.Range(1, s.Seeds).ToArray()));
            else
            {
                // queries shuffled once (seed 1) and dealt into folds; fold f is the test set of split f, the others train
                var perm = Enumerable.Range(0, totalQueries).OrderBy(_ => 0).ToArray();
                new Random(1).Shuffle(perm);
                var foldOf = new int[totalQueries];
                for (int i = 0; i < perm.Length; i++)
                    foldOf[perm[i]] = i % s.Folds;
                for (int f = 0; f < s.Folds; f++)
                    if (s.OnlyFolds.Length == 0 || s.OnlyFolds.Contains(f + 1))
                        splits.Add(new Split($"fold {f + 1}", Enumerable.Range(0, docs.Count).Where(i => foldOf[docs[i].Query] != f).ToArray(),
                        Enumerable.Range(0, docs.Count).Where(i => foldOf[docs[i].Query] == f).ToArray(),
                        Enumerable.Range(1, s.Seeds).Select(k => 100 * (f + 1) + k).ToArray()));
            }
            var grades = docs.GroupBy(d => d.Grade).OrderBy(g => g.Key).Select(g => FormattableString.Invariant($"{g.Key}: {g.Count()}"));
            log(FormattableString.Invariant($"LightGBM lambdarank data: {docs.Count} documents / {totalQueries} queries, grades {string.Join(", ", grades)}{(s.Grades > 0 ? $" (0–4 reduced to {s.Grades} grades)" : "")}; {(s.Folds > 0 ? $"{s.Folds} folds over the queries (one test fold, the others train)" : "the files' train/test split")}, {s.Seeds} click simulation(s) per split"));
            log(FormattableString.Invariant($"clicks: P = (1/rank)^eta * ({s.EpsMinus} + {s.EpsPlus - s.EpsMinus} (2^grade - 1)/(2^{gmax} - 1)) on ranks 1..{s.TopK}; IPS clip {s.Clip}; randomized bucket {s.RandomShare:P0} of the sessions (propensity estimation only), smoothed by {s.Smoothing} pseudo-impressions at a fitted power law"));

            var prepared = splits.Select(sp => Prepare(ml, s, docs, sp, dim, log)).ToList();
            var figures = new List<Figure>();
            foreach (var eta in s.Etas)
            {
                // cells[N][model] = per-run (share of the split's ceiling, nDCG)
                var cells = new Dictionary<int, Cell>();
                var runLabels = new List<string>();
                string propTable = "";
                foreach (var N in s.Sessions)
                {
                    var cell = cells[N] = new Cell();
                    foreach (var p in prepared)
                        foreach (int seed in p.Split.Seeds)
                        {
                            if (N == s.Sessions[0])
                                runLabels.Add(p.Split.Seeds.Length > 1 ? $"{p.Split.Name} s{seed}" : p.Split.Name);
                            string table = Simulate(ml, s, docs, p, dim, eta, N, seed, gmax, cell, log);
                            if (propTable.Length == 0 && N == s.Sessions.Max())
                                propTable = table;
                        }
                }
                log("");
                log(FormattableString.Invariant($"### η = {eta}: nDCG@10 on the test queries' true grades as a share of the split's ceiling, mean ± sd over {runLabels.Count} runs ({string.Join(", ", runLabels)})"));
                log("");
                log("| model (LightGBM, " + s.Iterations + " iterations x 31 leaves) | " + string.Join(" | ", s.Sessions.Select(N => $"{N:N0} sessions")) + " |");
                log("|---|" + string.Concat(s.Sessions.Select(_ => "---|")));
                var loggerShares = prepared.SelectMany(p => p.Split.Seeds.Select(_ => p.LoggerNdcg / p.Ceiling)).ToList();
                log(FormattableString.Invariant($"| logging ranker | {string.Join(" | ", s.Sessions.Select(_ => MeanSd(loggerShares)))} |"));
                foreach (var name in s.Sessions.SelectMany(N => cells[N].Order).Distinct())
                {
                    var parts = new List<string>();
                    foreach (var N in s.Sessions)
                    {
                        if (!cells[N].Values.TryGetValue(name, out var v))
                        {
                            parts.Add("–");
                            continue;
                        }
                        string runs = v.Count < runLabels.Count ? $" [{v.Count} of {runLabels.Count} runs]" : "";
                        parts.Add(MeanSd(v) + runs);
                        double m = v.Average(), sd = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Count - 1)) : 0;
                        var raw = cells[N].Raw[name];
                        figures.Add(new Figure(name, eta, N, raw.Average(), sd, v.Count, m));
                    }
                    log($"| {name} | {string.Join(" | ", parts)} |");
                }
                log(FormattableString.Invariant($"| ceiling (nDCG@10): LambdaRank on the true grades of all training documents | {string.Join(" | ", s.Sessions.Select(_ => string.Join(", ", prepared.Select(p => p.Ceiling.ToString("F4", CultureInfo.InvariantCulture)))))} |"));
                log("");
                // every run, and the goal: best debiased (by mean) against best naive (by mean), run by run
                foreach (var N in s.Sessions)
                {
                    var cell = cells[N];
                    var complete = cell.Order.Where(nm => cell.Values[nm].Count == runLabels.Count).ToList();
                    var naive = complete.Where(nm => nm.StartsWith("naive", StringComparison.Ordinal)).OrderByDescending(nm => cell.Values[nm].Average()).FirstOrDefault();
                    var debiased = complete.Where(IsDebiased).OrderByDescending(nm => cell.Values[nm].Average()).FirstOrDefault();
                    var debiasedEstimated = complete.Where(nm => IsDebiased(nm) && !nm.Contains("true θ", StringComparison.Ordinal)).OrderByDescending(nm => cell.Values[nm].Average()).FirstOrDefault();
                    log(FormattableString.Invariant($"η = {eta}, {N:N0} sessions, every run (share of the split's ceiling):"));
                    log("");
                    log("| model | " + string.Join(" | ", runLabels) + " | mean |");
                    log("|---|" + string.Concat(runLabels.Select(_ => "---|")) + "---|");
                    foreach (var nm in cell.Order)
                    {
                        var v = cell.Values[nm];
                        string mark = nm == naive ? " **(best naive)**" : nm == debiased ? " **(best debiased)**" : nm == debiasedEstimated ? " **(best debiased, estimated θ)**" : "";
                        log($"| {nm}{mark} | {string.Join(" | ", v.Select(x => x.ToString("P1", CultureInfo.InvariantCulture)))}{(v.Count < runLabels.Count ? " | (incomplete)" : "")} | {v.Average().ToString("P1", CultureInfo.InvariantCulture)} |");
                    }
                    if (cell.Values.ContainsKey(SelectedNaive) && cell.Values.ContainsKey(SelectedDebiased))
                    {
                        var sd = cell.Values[SelectedDebiased];
                        var d = sd.Zip(cell.Values[SelectedNaive], (a, b) => a - b).ToList();
                        log("");
                        log(FormattableString.Invariant($"**Goal check, chosen on validation clicks only**, η = {eta}, {N:N0} sessions: debiased {sd.Average():P1} vs naive {cell.Values[SelectedNaive].Average():P1}; wins {d.Count(x => x > 0)} of {d.Count} runs (differences {string.Join(", ", d.Select(x => (100 * x).ToString("+0.0;-0.0", CultureInfo.InvariantCulture)))} points); runs at ≥ 95% of the ceiling: {sd.Count(x => x >= 0.95)} of {d.Count}"));
                        foreach (var row in new[] { SelectedNaive, SelectedDebiased })
                            log($"  {row}, per run: {string.Join(" | ", cell.Chosen[row].Zip(cell.Values[row], (c, v) => $"{c} ({v.ToString("P1", CultureInfo.InvariantCulture)})"))}");
                    }
                    foreach (var (label, best) in new[] { ("best debiased", debiased), ("best debiased with estimated θ", debiasedEstimated) })
                    {
                        if (naive is null || best is null)
                            continue;
                        var d = cell.Values[best].Zip(cell.Values[naive], (a, b) => a - b).ToList();
                        log("");
                        log(FormattableString.Invariant($"Goal check, η = {eta}, {N:N0} sessions: {label} \"{best}\" {cell.Values[best].Average():P1} vs best naive \"{naive}\" {cell.Values[naive].Average():P1}; wins {d.Count(x => x > 0)} of {d.Count} runs (differences {string.Join(", ", d.Select(x => (100 * x).ToString("+0.0;-0.0", CultureInfo.InvariantCulture)))} points); runs at ≥ 95% of the ceiling: {cell.Values[best].Count(x => x >= 0.95)} of {d.Count}"));
                    }
                    log("");
                }
                log(propTable);
            }
            return figures;
        }

        private static bool IsDebiased(string name)
            => !name.StartsWith("naive", StringComparison.Ordinal) && !name.StartsWith("true grades", StringComparison.Ordinal)
                && !name.StartsWith("selected", StringComparison.Ordinal);

        private static string MeanSd(List<double> v)
        {
            double m = v.Average(), sd = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Count - 1)) : 0;
            return FormattableString.Invariant($"{100 * m:F1} ± {100 * sd:F1} %");
        }

        private static Prepared Prepare(MLContext ml, Settings s, List<Doc> all, Split split, int dim, Action<string> log)
        {
            var p = new Prepared { Split = split };
            // training docs grouped by query (stable), local query ids
            p.Docs = split.Train.OrderBy(i => all[i].Query).ThenBy(i => i).ToArray();
            var starts = new List<int>();
            for (int k = 0; k < p.Docs.Length; k++)
                if (k == 0 || all[p.Docs[k]].Query != all[p.Docs[k - 1]].Query)
                    starts.Add(k);
            int Q = starts.Count;
            starts.Add(p.Docs.Length);
            p.Starts = starts.ToArray();
            p.QueryOf = new int[p.Docs.Length];
            for (int q = 0; q < Q; q++)
                for (int k = p.Starts[q]; k < p.Starts[q + 1]; k++)
                    p.QueryOf[k] = q;
            var test = split.Test.Select(i => all[i]).ToList();
            p.TestView = Load(ml, test.Select(d => new TrainRow { Features = d.Features, Label = d.Grade, Group = (uint)d.Query + 1 }), dim, true);
            p.TestGrades = test.Select(d => d.Grade).ToArray();
            p.TestQueries = test.Select(d => d.Query).ToArray();
            var sw = Stopwatch.StartNew();
            p.Ceiling = Ndcg(p, ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, 1)).Fit(Grades(ml, all, p, Enumerable.Range(0, p.Docs.Length), dim)));
            var loggerOptions = RankOptions(10, 1);
            loggerOptions.MinimumExampleCountPerLeaf = 5;
            // the first loggerQueries training queries with at least two distinct grades (a query of one grade teaches nothing)
            var loggerQueries = Enumerable.Range(0, Q).Where(q => Enumerable.Range(p.Starts[q], p.Starts[q + 1] - p.Starts[q]).Select(k => all[p.Docs[k]].Grade).Distinct().Count() > 1)
                .Take(s.LoggerQueries).ToArray();
            var logger = ml.Ranking.Trainers.LightGbm(loggerOptions).Fit(Grades(ml, all, p, loggerQueries.SelectMany(q => Enumerable.Range(p.Starts[q], p.Starts[q + 1] - p.Starts[q])), dim));
            p.LogScore = logger.Transform(Grades(ml, all, p, Enumerable.Range(0, p.Docs.Length), dim)).GetColumn<float>("Score").ToArray();
            double lm = p.LogScore.Average();
            p.LogSd = Math.Sqrt(p.LogScore.Average(v => (v - lm) * (v - lm)));
            p.LoggerNdcg = Ndcg(p, logger);
            p.Sorted = new int[Q][];
            for (int q = 0; q < Q; q++)
                p.Sorted[q] = Enumerable.Range(p.Starts[q], p.Starts[q + 1] - p.Starts[q]).OrderByDescending(i => p.LogScore[i]).ThenBy(i => i).ToArray();
            p.Hidden = p.Sorted.Sum(o => Math.Max(0, o.Length - s.TopK));
            log(FormattableString.Invariant($"{split.Name}: {p.Docs.Length} train docs / {Q} queries, {test.Count} test docs / {test.Select(d => d.Query).Distinct().Count()} queries; ceiling nDCG@10 {p.Ceiling:F4}; logger (10 trees on the grades of {s.LoggerQueries} queries) {p.LoggerNdcg:F4} ({p.LoggerNdcg / p.Ceiling:P1}); {p.Hidden} training docs below the logger's top {s.TopK} ({sw.Elapsed.TotalSeconds:F1} s)"));
            return p;
        }

        private static double Ndcg(Prepared p, ITransformer m)
            => RankerMetrics.Ndcg(m.Transform(p.TestView).GetColumn<float>("Score").ToArray(), p.TestGrades, p.TestQueries, 10);

        /// <summary>The true grades of some local training documents, grouped by query.</summary>
        private static IDataView Grades(MLContext ml, List<Doc> all, Prepared p, IEnumerable<int> local, int dim)
            => Load(ml, local.Select(k => new TrainRow { Features = all[p.Docs[k]].Features, Label = all[p.Docs[k]].Grade, Group = (uint)p.QueryOf[k] + 1 }), dim, true);

        /// <summary>One click simulation on one split and the learners on it; adds each model's share of the ceiling to the cell.</summary>
        private static string Simulate(MLContext ml, Settings s, List<Doc> all, Prepared p, int dim, double eta, int N, int seed, double gmax, Cell cell, Action<string> log)
        {
            var sw = Stopwatch.StartNew();
            int n = p.Docs.Length, Q = p.Sorted.Length;
            var rng = new Random(seed * 7919 + N + (int)(eta * 1000));
            double Attr(int k) => s.EpsMinus + (s.EpsPlus - s.EpsMinus) * (Math.Pow(2, all[p.Docs[k]].Grade) - 1) / (Math.Pow(2, gmax) - 1);
            double Theta(int r) => Math.Pow(1.0 / r, eta);
            var rows = new ImpressionLog(N * s.TopK);
            var issued = new int[Q];
            var buffer = new (int Doc, double Key)[64];
            void Session(int q, bool randomized, ImpressionLog into, uint sessionId)
            {
                int size = p.Starts[q + 1] - p.Starts[q];
                if (buffer.Length < size)
                    buffer = new (int, double)[size];
                if (randomized || s.LoggerNoise > 0)
                {
                    for (int k = 0; k < size; k++)
                    {
                        int i = p.Starts[q] + k;
                        double g = -Math.Log(-Math.Log(rng.NextDouble() * 0.999998 + 1e-6));
                        buffer[k] = (i, randomized ? g : p.LogScore[i] + s.LoggerNoise * p.LogSd * g);
                    }
                    Array.Sort(buffer, 0, size, Comparer<(int Doc, double Key)>.Create((a, b) => b.Key.CompareTo(a.Key)));
                }
                else
                    for (int k = 0; k < size; k++)
                        buffer[k] = (p.Sorted[q][k], 0);
                for (int r = 1; r <= Math.Min(size, s.TopK); r++)
                {
                    int i = buffer[r - 1].Doc;
                    double th = Theta(r);
                    into.Add(i, r, rng.NextDouble() < th * Attr(i), (float)th, sessionId);
                }
            }
            for (int t = 0; t < N; t++)
            {
                int q = rng.Next(Q);
                issued[q]++;
                Session(q, false, rows, (uint)t + 1);
            }
            var randomRows = new ImpressionLog(0);
            int R = (int)Math.Round(s.RandomShare * N);
            for (int t = 0; t < R; t++)
                Session(rng.Next(Q), true, randomRows, 0);
            // validation bucket: randomized sessions from their own random stream (every other figure is unchanged by it); only
            // its clicks choose among the learners (the library's ClickValidator), never the test grades
            int V = (int)Math.Round(s.ValidShare * N);
            var validRows = new ImpressionLog(V * s.TopK);
            rng = new Random(seed * 7919 + N + (int)(eta * 1000) + 1_000_003);
            for (int t = 0; t < V; t++)
                Session(rng.Next(Q), true, validRows, 0);
            ClickValidator? validator = validRows.Clicks > 0
                ? ml.Ranker().CreateClickValidator(ml.Data.LoadFromEnumerable(validRows.Rows()), new ClickValidationOptions { ItemColumnName = "QueryDoc", GroupColumnName = "Group" })
                : null;
            var validDocs = Load(ml, Enumerable.Range(0, n).Select(i => new ValidDocRow { Features = all[p.Docs[i]].Features, QueryDoc = (uint)i, Group = (uint)p.QueryOf[i] }), dim, false);
            var candidates = new List<KeyValuePair<string, IDataView>>();
            var runNdcg = new Dictionary<string, double>();
            IDataView? pending = null;
            var logView = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows.Rows()));
            long clicks = rows.Clicks;
            var docView = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new DocRow { QueryDoc = (uint)i }));

            // propensities: true; randomization on the randomized bucket (smoothed); regression EM on the logged sessions
            var variants = new List<(string Name, IDataView View, string Column)> { ("true θ", logView, "TruePropensity") };
            PositionPropensityTransformer? rand = null, em = null;
            if (R > 0)
            {
                try
                {
                    rand = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
                    {
                        LabelColumnName = "Click", MaximumPosition = s.TopK - 1, Smoothing = s.Smoothing, SmoothingPrior = PropensitySmoothingPrior.PowerLaw,
                    }).Fit(ml.Data.LoadFromEnumerable(randomRows.Rows()));
                    if (rand.Propensities.All(v => v > 0))
                        variants.Add(("θ by randomization", rand.Transform(logView), "Propensity"));
                    else
                        log($"  (randomization estimate has a zero propensity at {N} sessions, seed {seed}: {R} randomized sessions are too few; IPS with it skipped)");
                }
                catch (InvalidOperationException e)
                {
                    log($"  (randomization estimate failed at {N} sessions: {e.Message})");
                }
            }
            if (s.LoggerNoise > 0)
            {
                em = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityEstimator.Options
                {
                    Method = PropensityEstimationMethod.RegressionEm,
                    RelevanceGroupColumnName = "QueryDoc",
                    LabelColumnName = "Click",
                    MaximumPosition = s.TopK - 1,
                    MaximumIterations = 200,
                }).Fit(logView);
                variants.Add(("θ by regression EM", em.Transform(logView), "Propensity"));
            }
            DualLearningTransformer? dla = null;
            IDataView ImpressionView() => Load(ml, Enumerable.Range(0, rows.Count).Select(k => new ImpressionRow
            {
                Features = all[p.Docs[rows.Doc[k]]].Features, Position = rows.Position[k], Click = rows.Click[k], Session = rows.Session[k], QueryDoc = (uint)rows.Doc[k],
            }), dim, false);
            double dlaSeconds = 0;
            if (s.Dla)
            {
                // the dual learning algorithm on the logged sessions only (no randomized traffic): a budget of about
                // 100,000 list visits (10 epochs at 10k sessions, 3 at 100k), the library's other defaults
                var dsw = Stopwatch.StartNew();
                var dlo = new DualLearningEstimator.Options
                {
                    ItemColumnName = "QueryDoc", MaximumPosition = s.TopK - 1, HiddenLayers = s.DlaHidden, Seed = seed,
                    Epochs = s.DlaEpochs > 0 ? s.DlaEpochs : Math.Clamp(100_000 / N, 3, 20),
                };
                if (s.DlaLearningRate > 0)
                    dlo.LearningRate = s.DlaLearningRate;
                if (s.DlaPropensityLearningRate > 0)
                    dlo.PropensityLearningRate = s.DlaPropensityLearningRate;
                dla = ml.Ranker().Trainers.DualLearning(dlo).Fit(ImpressionView());
                dlaSeconds = dsw.Elapsed.TotalSeconds;
                variants.Add(("θ by DLA", dla.PropensityTransformer.Transform(logView), "Propensity"));
            }
            string table = PropensityTable(s.TopK, eta, rand, em, dla, R, N);
            string Rmse(object? t)
            {
                Func<int, double>? get = t switch { PositionPropensityTransformer pt => pt.GetPropensity, DualLearningTransformer d => d.GetPropensity, _ => null };
                return get is null ? "–" : Math.Sqrt(Enumerable.Range(1, s.TopK).Average(r => Math.Pow(get(r) - Math.Pow(1.0 / r, eta), 2))).ToString("F4", CultureInfo.InvariantCulture);
            }

            // relevance estimates per (query, document), by the library's transform
            (float[] Rel, float[] Imp, float[] Exp) Estimate(IDataView view, string? propensity, ClickRelevanceMethod method = ClickRelevanceMethod.InversePropensity,
                bool tune = false, string? prior = null)
            {
                var o = new ClickRelevanceEstimator.Options
                {
                    ItemColumnName = "QueryDoc",
                    LabelColumnName = "Click",
                    PropensityColumnName = propensity,
                    Method = method,
                    MaximumWeight = s.Clip,
                    ImpressionsColumnName = "Impressions",
                    ExposureColumnName = "Exposure",
                    SessionColumnName = "Session",
                    Seed = seed,
                    PriorColumnName = prior,
                };
                if (tune && method == ClickRelevanceMethod.DoublyRobust)
                    o.ShrinkageCandidates = new[] { 0.0, 0.5, 1, 2, 4, 8, 16, 32 };
                else if (tune)
                    o.MaximumWeightCandidates = new[] { 2.0, 5, 10, 20, 50, 100 };
                var t = ml.Ranker().Transforms.EstimateClickRelevance(o).Fit(view);
                var d = t.Transform(docView);
                return (d.GetColumn<float>("Relevance").ToArray(), d.GetColumn<float>("Impressions").ToArray(), d.GetColumn<float>("Exposure").ToArray());
            }
            var naive = Estimate(logView, null);
            var shown = Enumerable.Range(0, n).Where(i => naive.Imp[i] > 0).ToArray();

            double Score(ITransformer m)
            {
                pending = m.Transform(validDocs);
                return Ndcg(p, m);
            }
            // learners on a relevance estimate over the shown documents; weighted = example weight ∝ the document's exposure Σθ
            double Regression((float[] Rel, float[] Imp, float[] Exp) e, bool weighted = false)
            {
                double mean = weighted ? shown.Average(i => e.Exp[i]) : 1;
                var v = Load(ml, shown.Select(i => new TrainRow { Features = all[p.Docs[i]].Features, Label = e.Rel[i], Weight = weighted ? (float)(e.Exp[i] / mean) : 1 }), dim, false);
                return Score(ml.Regression.Trainers.LightGbm(RegressionOptions(s.Iterations, seed)).Fit(v));
            }
            const int levels = 10;
            int[] linear = Enumerable.Range(0, levels + 1).ToArray();
            double LambdaRankLevels((float[] Rel, float[] Imp, float[] Exp) e)
            {
                var v = Load(ml, shown.Select(i => new TrainRow { Features = all[p.Docs[i]].Features, Label = (float)Math.Round(Math.Clamp(e.Rel[i], 0, 1) * levels), Group = (uint)p.QueryOf[i] + 1 }), dim, true);
                return Score(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, seed, linear)).Fit(v));
            }
            // pairwise IPS (Joachims et al. 2017) aggregated: one group per clicked (query, document) — that document
            // labelled 1, the query's other shown documents 0 — weighted by Σ click/θ over its impressions per query issue
            double Pairwise((float[] Rel, float[] Imp, float[] Exp) e)
            {
                var groups = new List<TrainRow>();
                uint g = 0;
                var weights = shown.Where(i => e.Rel[i] > 0).Select(i => (i, w: e.Rel[i] * e.Imp[i] / Math.Max(1, issued[p.QueryOf[i]]))).ToList();
                double mean = weights.Average(t => t.w);
                var shownByQuery = shown.GroupBy(i => p.QueryOf[i]).ToDictionary(x => x.Key, x => x.ToArray());
                foreach (var (c, w) in weights)
                {
                    g++;
                    foreach (int j in shownByQuery[p.QueryOf[c]])
                        groups.Add(new TrainRow { Features = all[p.Docs[j]].Features, Label = j == c ? 1 : 0, Group = g, Weight = (float)(w / mean) });
                }
                return Score(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, seed)).Fit(Load(ml, groups, dim, true)));
            }

            void Add(string name, double ndcg)
            {
                cell.Add(name, ndcg / p.Ceiling, ndcg);
                runNdcg[name] = ndcg;
                if (pending is not null)
                    candidates.Add(new KeyValuePair<string, IDataView>(name, pending));
                pending = null;
            }
            Add("naive: regression on CTR", Regression(naive));
            Add("naive: regression on CTR, weighted by impressions", Regression((naive.Rel, naive.Imp, naive.Imp), true));
            if (s.Extra)
                Add("naive: LambdaRank on CTR levels", LambdaRankLevels(naive));
            if (s.Pairwise)
                Add("naive: pairwise LambdaRank on clicks", Pairwise(naive));
            foreach (var (name, view, column) in variants)
            {
                var ips = Estimate(view, column);
                Add($"IPS ({name}, clip {s.Clip}): regression", Regression(ips));
                if (validator is not null && name != "true θ")
                    foreach (var c in s.ValidClips.Where(c => c != s.Clip))
                    {
                        var keep = s.Clip;
                        s.Clip = c;
                        var clipped = Estimate(view, column);
                        s.Clip = keep;
                        Add($"IPS ({name}, clip {c}): regression", Regression(clipped));
                    }
                if (s.Extra)
                    Add($"IPS ({name}, clip chosen on held-out clicks): regression", Regression(Estimate(view, column, ClickRelevanceMethod.InversePropensity, true)));
                var sn = Estimate(view, column, ClickRelevanceMethod.SelfNormalized);
                Add($"SNIPS ({name}): regression weighted by exposure", Regression(sn, true));
                var dr = Estimate(view, column, ClickRelevanceMethod.DoublyRobust, true);
                Add($"DR ({name}, pooled prior, λ chosen on held-out clicks): regression weighted by exposure", Regression(dr, true));
                if (s.ModelPrior)
                {
                    // the direct model: the exposure-weighted regression on SNIPS, scored on every training document
                    double mean = shown.Average(i => sn.Exp[i]);
                    var fit = ml.Regression.Trainers.LightGbm(RegressionOptions(s.Iterations, seed)).Fit(
                        Load(ml, shown.Select(i => new TrainRow { Features = all[p.Docs[i]].Features, Label = sn.Rel[i], Weight = (float)(sn.Exp[i] / mean) }), dim, false));
                    var prior = fit.Transform(Load(ml, Enumerable.Range(0, n).Select(i => new TrainRow { Features = all[p.Docs[i]].Features }), dim, false)).GetColumn<float>("Score").ToArray();
                    IDataView priorView = ml.Data.LoadFromEnumerable(rows.Rows(prior));
                    if (name != "true θ")
                        priorView = (name == "θ by randomization" ? rand! : em!).Transform(priorView);
                    var drm = Estimate(priorView, column, ClickRelevanceMethod.DoublyRobust, true, "Prior");
                    Add($"DR ({name}, model prior, λ chosen on held-out clicks): regression weighted by exposure", Regression(drm, true));
                }
                if (name == "true θ")
                {
                    if (s.Extra)
                        Add($"IPS ({name}, clip {s.Clip}): LambdaRank on IPS relevance levels", LambdaRankLevels(ips));
                    if (s.Pairwise)
                        Add($"IPS ({name}, clip {s.Clip}): pairwise LambdaRank, IPS-weighted clicks", Pairwise(ips));
                }
            }
            var towerRows = new List<(string Name, float[] Scores)>();
            IDataView? dlaPending = null;
            if (dla is not null)
            {
                towerRows.Add(("DLA: the jointly learned ranker (network, θ learned from the logged clicks)",
                    dla.Transform(p.TestView).GetColumn<float[]>("Score").Select(v => v[0]).ToArray()));
                var dlaTrain = dla.Transform(validDocs).GetColumn<float[]>("Score").Select(v => v[0]).ToArray();
                dlaPending = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new ScoredDocRow { QueryDoc = (uint)i, Group = (uint)p.QueryOf[i], Score = dlaTrain[i] }));
                dla.Dispose();
            }
            if (s.Networks)
                TrainBiasTower(new BiasTowerInput(ml, ImpressionView, p.TestView, eta, seed), towerRows);
            foreach (var (towerName, towerScores) in towerRows)
            {
                if (towerName.StartsWith("DLA:", StringComparison.Ordinal))
                    pending = dlaPending;
                Add(towerName, RankerMetrics.Ndcg(towerScores, p.TestGrades, p.TestQueries, 10));
            }
            pending = null;
            // oracle labels on the shown documents: what an estimator that recovers every shown document's grade can reach
            Add("true grades of the shown documents only (LambdaRank)", Score(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, seed)).Fit(Grades(ml, all, p, shown, dim))));
            if (validator is not null)
            {
                // the choice on validation clicks only, by the library's selector, for each side
                foreach (var (row, pool) in new[]
                {
                    (SelectedNaive, candidates.Where(c => c.Key.StartsWith("naive", StringComparison.Ordinal))),
                    (SelectedDebiased, candidates.Where(c => IsDebiased(c.Key) && !c.Key.Contains("true θ", StringComparison.Ordinal))),
                })
                {
                    var pick = validator.Select(pool);
                    cell.Add(row, runNdcg[pick.Best] / p.Ceiling, runNdcg[pick.Best]);
                    if (!cell.Chosen.TryGetValue(row, out var chosen))
                        cell.Chosen[row] = chosen = new List<string>();
                    chosen.Add(pick.Best);
                    log(FormattableString.Invariant($"  {row}: \"{pick.Best}\" (click nDCG@10 {pick.BestValue:F4}; next: {string.Join("; ", pick.Scores.Skip(1).Take(3).Select(x => $"{x.Name} {x.Value:F4}"))}); test {runNdcg[pick.Best] / p.Ceiling:P1} of the ceiling"));
                }
            }
            log(FormattableString.Invariant($"{p.Split.Name}, eta {eta}, {N} sessions, seed {seed}: {V} validation sessions ({validRows.Clicks} clicks), {rows.Count} impressions, {clicks} clicks, {shown.Length} documents shown, {R} randomized sessions; {sw.Elapsed.TotalSeconds:F1} s (DLA fit {dlaSeconds:F1} s); θ RMSE randomization {Rmse(rand)}, DLA {Rmse(dla)}"));
            return table;
        }

        private static string PropensityTable(int k, double eta, PositionPropensityTransformer? rand, PositionPropensityTransformer? em, DualLearningTransformer? dla, int randomSessions, int sessions)
        {
            var sb = new System.Text.StringBuilder();
            sb.AppendLine(FormattableString.Invariant($"Propensities at η = {eta}, {sessions} sessions, first simulation ({randomSessions} randomized sessions):"));
            sb.AppendLine();
            sb.AppendLine("| position | true (1/rank)^η | randomization | regression EM | DLA (logged sessions only) |");
            sb.AppendLine("|---|---|---|---|---|");
            double r2 = 0, e2 = 0, d2 = 0;
            for (int p = 1; p <= k; p++)
            {
                double t = Math.Pow(1.0 / p, eta);
                string R = rand is null ? "–" : rand.GetPropensity(p).ToString("F4", CultureInfo.InvariantCulture);
                string E = em is null ? "–" : em.GetPropensity(p).ToString("F4", CultureInfo.InvariantCulture);
                if (rand is not null)
                    r2 += Math.Pow(rand.GetPropensity(p) - t, 2);
                if (em is not null)
                    e2 += Math.Pow(em.GetPropensity(p) - t, 2);
                string D = dla is null ? "–" : dla.GetPropensity(p).ToString("F4", CultureInfo.InvariantCulture);
                if (dla is not null)
                    d2 += Math.Pow(dla.GetPropensity(p) - t, 2);
                sb.AppendLine(FormattableString.Invariant($"| {p} | {t:F4} | {R} | {E} | {D} |"));
            }
            sb.AppendLine(FormattableString.Invariant($"| RMSE | | {(rand is null ? "–" : Math.Sqrt(r2 / k).ToString("F4", CultureInfo.InvariantCulture))} | {(em is null ? "–" : Math.Sqrt(e2 / k).ToString("F4", CultureInfo.InvariantCulture))} | {(dla is null ? "–" : Math.Sqrt(d2 / k).ToString("F4", CultureInfo.InvariantCulture))} |"));
            return sb.ToString();
        }
    }
}
