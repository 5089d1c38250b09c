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
            + "(args key=value: sessions=1000,10000,100000 eta=1,2 topk=10 noise=0 loggerQueries=2 seeds=5 epsMinus=0.1 epsPlus=1 clip=100 randomShare=0.1 iterations=100 pairwise=1 data=../shared/data/lightgbm-lambdarank; see docs/benchmarks-debiasing.md section 2)";

        /// <summary>Settings of one run (see <see cref="Description"/> for the command-line keys and defaults).</summary>
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
        }

        public int Run(string[] args)
        {
            var s = new Settings();
            foreach (var a in args)
            {
                var kv = a.Split('=', 2);
                if (kv.Length != 2)
                {
                    Console.Error.WriteLine($"argument '{a}': expected key=value");
                    return 2;
                }
                double D(string v) => double.Parse(v, CultureInfo.InvariantCulture);
                switch (kv[0])
                {
                    case "sessions": s.Sessions = kv[1].Split(',').Select(v => (int)D(v)).ToArray(); break;
                    case "eta": s.Etas = kv[1].Split(',').Select(D).ToArray(); break;
                    case "topk": s.TopK = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                    case "noise": s.LoggerNoise = D(kv[1]); break;
                    case "loggerQueries": s.LoggerQueries = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                    case "seeds": s.Seeds = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                    case "epsMinus": s.EpsMinus = D(kv[1]); break;
                    case "epsPlus": s.EpsPlus = D(kv[1]); break;
                    case "clip": s.Clip = D(kv[1]); break;
                    case "randomShare": s.RandomShare = D(kv[1]); break;
                    case "iterations": s.Iterations = int.Parse(kv[1], CultureInfo.InvariantCulture); break;
                    case "pairwise": s.Pairwise = kv[1] != "0"; break;
                    case "networks": s.Networks = kv[1] != "0"; break;
                    case "data": s.Folder = kv[1]; break;
                    default:
                        Console.Error.WriteLine($"unknown key '{kv[0]}'");
                        return 2;
                }
            }
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

            public IEnumerable<LogRow> Rows()
            {
                for (int k = 0; k < Doc.Count; k++)
                    yield return new LogRow { QueryDoc = (uint)Doc[k], Position = Position[k], Click = Click[k], TruePropensity = Propensity[k] };
            }
        }

        private sealed class DocRow
        {
            public uint QueryDoc { get; set; }
        }

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
            public readonly List<string> Order = new();

            public void Add(string name, double v)
            {
                if (!Values.TryGetValue(name, out var l))
                {
                    Values[name] = l = new List<double>();
                    Order.Add(name);
                }
                l.Add(v);
            }
        }

        public static List<Figure> Evaluate(Settings s, Action<string> log)
        {
            var ml = new MLContext(1);
            var train = Read(ml, Path.Combine(s.Folder, "rank.train"));
            var test = Read(ml, Path.Combine(s.Folder, "rank.test"));
            int dim = train[0].Features.Length;
            int n = train.Count;
            var testView = Load(ml, test.Select(d => new TrainRow { Features = d.Features, Label = d.Grade, Group = (uint)d.Query + 1 }), dim, true);
            var testGrades = test.Select(d => d.Grade).ToArray();
            var testQueries = test.Select(d => d.Query).ToArray();
            double Ndcg(ITransformer m) => RankerMetrics.Ndcg(m.Transform(testView).GetColumn<float>("Score").ToArray(), testGrades, testQueries, 10);

            // queries (contiguous in the file)
            var starts = new List<int>();
            for (int i = 0; i < n; i++)
                if (i == 0 || train[i].Query != train[i - 1].Query)
                    starts.Add(i);
            int Q = starts.Count;
            starts.Add(n);
            var queryOf = new int[n];
            for (int q = 0; q < Q; q++)
                for (int i = starts[q]; i < starts[q + 1]; i++)
                    queryOf[i] = q;

            // ceiling: LambdaRank on the true grades of every training document
            var sw = Stopwatch.StartNew();
            var all = Enumerable.Range(0, n).ToArray();
            IDataView Grades(IEnumerable<int> docs) => Load(ml, docs.Select(i => new TrainRow { Features = train[i].Features, Label = train[i].Grade, Group = (uint)queryOf[i] + 1 }), dim, true);
            double ceiling = Ndcg(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, 1)).Fit(Grades(all)));
            log(FormattableString.Invariant($"LightGBM lambdarank data: {n} train docs / {Q} queries, {test.Count} test docs / {test.Select(d => d.Query).Distinct().Count()} queries; ceiling nDCG@10 {ceiling:F4} ({sw.Elapsed.TotalSeconds:F1} s)"));

            // weak logging ranker: 10 trees on the true grades of the first loggerQueries training queries
            var loggerOptions = RankOptions(10, 1);
            loggerOptions.MinimumExampleCountPerLeaf = 5;
            var logger = ml.Ranking.Trainers.LightGbm(loggerOptions).Fit(Grades(Enumerable.Range(0, starts[Math.Min(s.LoggerQueries, Q)])));
            var logScore = logger.Transform(Grades(all)).GetColumn<float>("Score").ToArray();
            double lm = logScore.Average(), lsd = Math.Sqrt(logScore.Average(v => (v - lm) * (v - lm)));
            double loggerNdcg = Ndcg(logger);
            var sorted = new int[Q][];
            for (int q = 0; q < Q; q++)
                sorted[q] = Enumerable.Range(starts[q], starts[q + 1] - starts[q]).OrderByDescending(i => logScore[i]).ThenBy(i => i).ToArray();
            int hidden = sorted.Sum(o => Math.Max(0, o.Length - s.TopK));
            log(FormattableString.Invariant($"logging ranker: 10 trees on the grades of {s.LoggerQueries} queries, nDCG@10 {loggerNdcg:F4} ({loggerNdcg / ceiling:P1} of the ceiling); top {s.TopK} shown, Gumbel noise {s.LoggerNoise} x score sd; {hidden} of {n} training documents are below the top {s.TopK} of the deterministic ranking"));
            log(FormattableString.Invariant($"clicks: P = (1/rank)^eta * ({s.EpsMinus} + {s.EpsPlus - s.EpsMinus} (2^grade - 1)/15) on ranks 1..{s.TopK}; IPS clip {s.Clip}; randomized bucket {s.RandomShare:P0} of the sessions (propensity estimation only)"));

            var docView = ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new DocRow { QueryDoc = (uint)i }));
            var figures = new List<Figure>();
            foreach (var eta in s.Etas)
            {
                var cells = new Dictionary<int, Cell>();
                string propTable = "";
                foreach (var N in s.Sessions)
                {
                    var cell = cells[N] = new Cell();
                    for (int seed = 1; seed <= s.Seeds; seed++)
                    {
                        sw.Restart();
                        var rng = new Random(seed * 7919 + N + (int)(eta * 1000));
                        double Attr(int i) => s.EpsMinus + (s.EpsPlus - s.EpsMinus) * (Math.Pow(2, train[i].Grade) - 1) / 15.0;
                        double Theta(int r) => Math.Pow(1.0 / r, eta);
                        var rows = new ImpressionLog(N * s.TopK);
                        var issued = new int[Q];
                        var buffer = new (int Doc, double Key)[64];
                        void Session(int q, bool randomized, ImpressionLog into, uint sessionId)
                        {
                            int size = starts[q + 1] - starts[q];
                            if (buffer.Length < size)
                                buffer = new (int, double)[size];
                            if (randomized || s.LoggerNoise > 0)
                            {
                                for (int k = 0; k < size; k++)
                                {
                                    int i = starts[q] + k;
                                    double g = -Math.Log(-Math.Log(rng.NextDouble() * 0.999998 + 1e-6));
                                    buffer[k] = (i, randomized ? g : logScore[i] + s.LoggerNoise * lsd * g);
                                }
                                Array.Sort(buffer, 0, size, Comparer<(int Doc, double Key)>.Create((a, b) => b.Key.CompareTo(a.Key)));
                            }
                            else
                                for (int k = 0; k < size; k++)
                                    buffer[k] = (sorted[q][k], 0);
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
                        var logView = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows.Rows()));
                        long clicks = rows.Clicks;

                        // propensities: true; randomization on the randomized bucket; regression EM on the logged sessions
                        var variants = new List<(string Name, IDataView View, string Column)> { ("true θ", logView, "TruePropensity") };
                        PositionPropensityTransformer? rand = null, em = null;
                        if (R > 0)
                        {
                            try
                            {
                                rand = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityOptions { LabelColumnName = "Click", MaximumPosition = s.TopK - 1 }).Fit(ml.Data.LoadFromEnumerable(randomRows.Rows()));
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
                            em = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityOptions
                            {
                                Method = PropensityEstimationMethod.RegressionEm,
                                RelevanceGroupColumnName = "QueryDoc",
                                LabelColumnName = "Click",
                                MaximumPosition = s.TopK - 1,
                                MaximumIterations = 200,
                            }).Fit(logView);
                            variants.Add(("θ by regression EM", em.Transform(logView), "Propensity"));
                        }
                        if (seed == 1 && N == s.Sessions.Max())
                            propTable = PropensityTable(s.TopK, eta, rand, em, R, N);

                        // relevance estimates per (query, document), by the product transform
                        (float[] Rel, float[] Imp) Estimate(IDataView view, string? propensity)
                        {
                            var t = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceOptions
                            {
                                ItemColumnName = "QueryDoc",
                                LabelColumnName = "Click",
                                PropensityColumnName = propensity,
                                MaximumWeight = s.Clip,
                                ImpressionsColumnName = "Impressions",
                            }).Fit(view).Transform(docView);
                            return (t.GetColumn<float>("Relevance").ToArray(), t.GetColumn<float>("Impressions").ToArray());
                        }
                        var naive = Estimate(logView, null);
                        var shown = Enumerable.Range(0, n).Where(i => naive.Imp[i] > 0).ToArray();

                        // learners on a relevance estimate over the shown documents
                        double Regression((float[] Rel, float[] Imp) e)
                        {
                            var v = Load(ml, shown.Select(i => new TrainRow { Features = train[i].Features, Label = e.Rel[i] }), dim, false);
                            return Ndcg(ml.Regression.Trainers.LightGbm(RegressionOptions(s.Iterations, seed)).Fit(v));
                        }
                        const int levels = 10;
                        int[] linear = Enumerable.Range(0, levels + 1).ToArray();
                        double LambdaRankLevels((float[] Rel, float[] Imp) e)
                        {
                            var v = Load(ml, shown.Select(i => new TrainRow { Features = train[i].Features, Label = (float)Math.Round(Math.Clamp(e.Rel[i], 0, 1) * levels), Group = (uint)queryOf[i] + 1 }), dim, true);
                            return Ndcg(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, seed, linear)).Fit(v));
                        }
                        // pairwise IPS (Joachims et al. 2017) aggregated: one group per clicked (query, document) — that document
                        // labelled 1, the query's other shown documents 0 — weighted by Σ click/θ over its impressions per query issue
                        // (Σ click per issue for the naive variant); the copies of one (query, document) are identical, so they merge
                        double Pairwise((float[] Rel, float[] Imp) e)
                        {
                            var groups = new List<TrainRow>();
                            uint g = 0;
                            var weights = shown.Where(i => e.Rel[i] > 0).Select(i => (i, w: e.Rel[i] * e.Imp[i] / Math.Max(1, issued[queryOf[i]]))).ToList();
                            double mean = weights.Average(t => t.w);
                            foreach (var (c, w) in weights)
                            {
                                g++;
                                int q = queryOf[c];
                                foreach (int j in shown.Where(j => queryOf[j] == q))
                                    groups.Add(new TrainRow { Features = train[j].Features, Label = j == c ? 1 : 0, Group = g, Weight = (float)(w / mean) });
                            }
                            return Ndcg(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, seed)).Fit(Load(ml, groups, dim, true)));
                        }

                        cell.Add("naive: regression on CTR", Regression(naive));
                        cell.Add("naive: LambdaRank on CTR levels", LambdaRankLevels(naive));
                        if (s.Pairwise)
                            cell.Add("naive: pairwise LambdaRank on clicks", Pairwise(naive));
                        foreach (var (name, view, column) in variants)
                        {
                            var e = Estimate(view, column);
                            cell.Add($"IPS ({name}): regression on IPS relevance", Regression(e));
                            if (name == "true θ")
                            {
                                cell.Add($"IPS ({name}): LambdaRank on IPS relevance levels", LambdaRankLevels(e));
                                if (s.Pairwise)
                                    cell.Add($"IPS ({name}): pairwise LambdaRank, IPS-weighted clicks", Pairwise(e));
                            }
                        }
                        var towerRows = new List<(string Name, float[] Scores)>();
                        if (s.Networks)
                            TrainBiasTower(new BiasTowerInput(ml, () => Load(ml, Enumerable.Range(0, rows.Count).Select(k => new ImpressionRow
                        {
                            Features = train[rows.Doc[k]].Features, Position = rows.Position[k], Click = rows.Click[k], Session = rows.Session[k], QueryDoc = (uint)rows.Doc[k],
                        }), dim, false), testView, eta, seed), towerRows);
                        foreach (var (towerName, towerScores) in towerRows)
                            cell.Add(towerName, RankerMetrics.Ndcg(towerScores, testGrades, testQueries, 10));
                        // oracle labels on the shown documents: what an estimator that recovers every shown document's grade can reach
                        cell.Add("true grades of the shown documents only (LambdaRank)", Ndcg(ml.Ranking.Trainers.LightGbm(RankOptions(s.Iterations, seed)).Fit(Grades(shown))));
                        log(FormattableString.Invariant($"eta {eta}, {N} sessions, seed {seed}: {rows.Count} impressions, {clicks} clicks, {shown.Length} documents shown, {R} randomized sessions; {sw.Elapsed.TotalSeconds:F1} s"));
                    }
                }

                // tables for this eta
                log("");
                log(FormattableString.Invariant($"### η = {eta}: nDCG@10 on the test queries' true grades, mean ± sd over {s.Seeds} click simulations (share of the ceiling)"));
                log("");
                log("| model (LightGBM, " + s.Iterations + " iterations x 31 leaves) | " + string.Join(" | ", s.Sessions.Select(N => $"{N:N0} sessions")) + " |");
                log("|---|" + string.Concat(s.Sessions.Select(_ => "---|")));
                log(FormattableString.Invariant($"| logging ranker | {string.Join(" | ", s.Sessions.Select(_ => $"{loggerNdcg:F4} ({loggerNdcg / ceiling:P1})"))} |"));
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
                        double m = v.Average(), sd = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Count - 1)) : 0;
                        string runs = v.Count < s.Seeds ? $" [{v.Count} of {s.Seeds} runs]" : "";
                        parts.Add(FormattableString.Invariant($"{m:F4} ± {sd:F4} ({m / ceiling:P1}){runs}"));
                        figures.Add(new Figure(name, eta, N, m, sd, v.Count, m / ceiling));
                    }
                    log($"| {name} | {string.Join(" | ", parts)} |");
                }
                log(FormattableString.Invariant($"| ceiling: LambdaRank on the true grades of all training documents | {string.Join(" | ", s.Sessions.Select(_ => $"{ceiling:F4} (100 %)"))} |"));
                log("");
                log(propTable);
            }
            return figures;
        }

        private static string PropensityTable(int k, double eta, PositionPropensityTransformer? rand, PositionPropensityTransformer? em, int randomSessions, int sessions)
        {
            var sb = new System.Text.StringBuilder();
            sb.AppendLine(FormattableString.Invariant($"Propensities at η = {eta}, {sessions} sessions, first simulation ({randomSessions} randomized sessions):"));
            sb.AppendLine();
            sb.AppendLine("| position | true (1/rank)^η | randomization | regression EM |");
            sb.AppendLine("|---|---|---|---|");
            double r2 = 0, e2 = 0;
            for (int p = 1; p <= k; p++)
            {
                double t = Math.Pow(1.0 / p, eta);
                string R = rand is null ? "–" : rand.GetPropensity(p).ToString("F4", CultureInfo.InvariantCulture);
                string E = em is null ? "–" : em.GetPropensity(p).ToString("F4", CultureInfo.InvariantCulture);
                if (rand is not null)
                    r2 += Math.Pow(rand.GetPropensity(p) - t, 2);
                if (em is not null)
                    e2 += Math.Pow(em.GetPropensity(p) - t, 2);
                sb.AppendLine(FormattableString.Invariant($"| {p} | {t:F4} | {R} | {E} |"));
            }
            sb.AppendLine(FormattableString.Invariant($"| RMSE | | {(rand is null ? "–" : Math.Sqrt(r2 / k).ToString("F4", CultureInfo.InvariantCulture))} | {(em is null ? "–" : Math.Sqrt(e2 / k).ToString("F4", CultureInfo.InvariantCulture))} |"));
            return sb.ToString();
        }
    }
}
