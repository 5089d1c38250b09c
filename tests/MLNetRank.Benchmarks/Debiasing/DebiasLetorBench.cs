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
using RankingMetrics = MLNetRank.Evaluation.RankingMetrics;

namespace MLNetRank.Benchmarks.Debiasing
{
    /// <summary>
    /// Unbiased learning to rank on LightGBM's lambdarank example with clicks simulated by the position-based model: a weak,
    /// stochastic logging ranker shows each training query's documents, clicks follow (1/rank)^η × ε(grade); LambdaRank is
    /// trained on raw clicks (naive), on clicks with IPS row weights (EM-estimated and true propensities), and on the true
    /// grades (the ceiling); nDCG@10 on the test queries' true grades.
    /// </summary>
    public sealed class DebiasLetorBench : IBench
    {
        public string Name => "debias-letor";

        public string Description => "PBM clicks on LightGBM's lambdarank data: naive vs IPS LambdaRank vs true-label ceiling, nDCG@10 (args: [sessionsPerQuery] [eta] [loggerNoise] [loggerQueries] [repeats] [dataFolder])";

        public int Run(string[] args)
        {
            int sessions = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 50;
            double eta = args.Length > 1 ? double.Parse(args[1], CultureInfo.InvariantCulture) : 1.0;
            double noise = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 0.3;
            int loggerQueries = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 20;
            int repeats = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 3;
            string folder = args.Length > 5 ? args[5] : Path.Combine("..", "shared", "data", "lightgbm-lambdarank");
            if (!Directory.Exists(folder))
            {
                Console.Error.WriteLine($"data folder '{folder}' not found (expected ../shared/data/lightgbm-lambdarank from the repo root)");
                return 2;
            }
            var r = Evaluate(folder, sessions, eta, noise, loggerQueries, repeats, seed: 1, log: Console.WriteLine);
            return r.Count > 0 ? 0 : 1;
        }

        internal sealed class Doc
        {
            public float[] Features = Array.Empty<float>();
            public float Grade;
            public int Query;
            public int Index;
        }

        private sealed class ClickRow
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public float Label { get; set; }
            public uint Session { get; set; }
            public int Position { get; set; }
            public uint QueryDoc { get; set; }
            public float TruePropensity { get; set; }
        }

        internal static List<Doc> Read(MLContext ml, string path)
        {
            var view = LambdarankDataset.Load(ml, path);
            var f = view.GetColumn<float[]>("Features").ToArray();
            var y = view.GetColumn<float>("Label").ToArray();
            var q = view.GetColumn<int>("QueryIndex").ToArray();
            var d = view.GetColumn<int>("DocumentIndex").ToArray();
            return Enumerable.Range(0, y.Length).Select(i => new Doc { Features = f[i], Grade = y[i], Query = q[i], Index = d[i] }).ToList();
        }

        private static IDataView Load(MLContext ml, IEnumerable<ClickRow> rows, int dim)
        {
            var schema = SchemaDefinition.Create(typeof(ClickRow));
            schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dim);
            var view = ml.Data.LoadFromEnumerable(rows, schema);
            return ml.Transforms.Conversion.MapValueToKey("GroupId", "Session").Fit(view).Transform(view);
        }

        private static LightGbmRankingTrainer.Options Options(string label, string? weight, int seed) => new()
        {
            LabelColumnName = label,
            FeatureColumnName = "Features",
            RowGroupColumnName = "GroupId",
            ExampleWeightColumnName = weight,
            NumberOfIterations = 100,
            NumberOfLeaves = 31,
            MinimumExampleCountPerLeaf = 20,
            LearningRate = 0.05,
            NumberOfThreads = 1,
            Seed = seed,
            Silent = true,
            Verbose = false,
        };

        public sealed record Figure(string Name, double Ndcg10, double ShareOfCeiling);

        public static List<Figure> Evaluate(string folder, int sessionsPerQuery, double eta, double loggerNoise, int loggerQueries, int repeats, int seed, Action<string> log)
        {
            var ml = new MLContext(seed);
            var train = Read(ml, Path.Combine(folder, "rank.train"));
            var test = Read(ml, Path.Combine(folder, "rank.test"));
            int dim = train[0].Features.Length;
            var testView = Load(ml, test.Select(d => new ClickRow { Features = d.Features, Label = d.Grade, Session = (uint)d.Query + 1 }), dim);
            var testGrades = test.Select(d => d.Grade).ToArray();
            var testQueries = test.Select(d => d.Query).ToArray();
            double Ndcg(ITransformer m) => RankingMetrics.Ndcg(m.Transform(testView).GetColumn<float>("Score").ToArray(), testGrades, testQueries, 10);

            // ceiling: LambdaRank on the true grades of every training query
            var trueView = Load(ml, train.Select(d => new ClickRow { Features = d.Features, Label = d.Grade, Session = (uint)d.Query + 1 }), dim);
            var sw = Stopwatch.StartNew();
            var ceiling = ml.Ranking.Trainers.LightGbm(Options("Label", null, seed)).Fit(trueView);
            double ceilingNdcg = Ndcg(ceiling);
            log($"LightGBM lambdarank data: {train.Count} train docs / {train.Select(d => d.Query).Distinct().Count()} queries, {test.Count} test docs / {test.Select(d => d.Query).Distinct().Count()} queries; ceiling trained in {sw.Elapsed.TotalSeconds:F1} s");

            // weak logging ranker: 10 trees on the true grades of the first few training queries
            var firstQueries = train.Where(d => d.Query < loggerQueries).ToList();
            var loggerOptions = Options("Label", null, seed);
            loggerOptions.NumberOfIterations = 10;
            loggerOptions.MinimumExampleCountPerLeaf = 5;
            var logger = ml.Ranking.Trainers.LightGbm(loggerOptions).Fit(Load(ml, firstQueries.Select(d => new ClickRow { Features = d.Features, Label = d.Grade, Session = (uint)d.Query + 1 }), dim));
            var logScore = logger.Transform(trueView).GetColumn<float>("Score").ToArray();
            double mean = logScore.Average(), sd = Math.Sqrt(logScore.Average(s => (s - mean) * (s - mean)));
            double loggerNdcg = Ndcg(logger);

            // clicks: each session ranks the query's documents by the logging score + Gumbel noise (a stochastic logging policy,
            // so every document is seen at several positions), then clicks with P = (1/rank)^eta * (0.1 + 0.9 (2^grade - 1) / 15)
            var results = new Dictionary<string, List<double>>();
            var order = new List<string>();
            for (int rep = 0; rep < repeats; rep++)
            {
                var rng = new Random(seed + 1000 * rep);
                var rows = new List<ClickRow>();
                var byQuery = Enumerable.Range(0, train.Count).GroupBy(i => train[i].Query).ToList();
                uint session = 0;
                long clicks = 0;
                foreach (var g in byQuery)
                {
                    var docs = g.ToArray();
                    for (int s = 0; s < sessionsPerQuery; s++)
                    {
                        session++;
                        var noisy = docs.Select(i => (i, v: logScore[i] + loggerNoise * sd * -Math.Log(-Math.Log(rng.NextDouble() * 0.999999 + 1e-7)))).OrderByDescending(t => t.v).ToArray();
                        for (int r = 0; r < noisy.Length; r++)
                        {
                            int i = noisy[r].i;
                            double theta = Math.Pow(1.0 / (r + 1), eta);
                            double eps = 0.1 + 0.9 * (Math.Pow(2, train[i].Grade) - 1) / 15.0;
                            bool click = rng.NextDouble() < theta * eps;
                            clicks += click ? 1 : 0;
                            rows.Add(new ClickRow
                            {
                                Features = train[i].Features,
                                Label = click ? 1 : 0,
                                Session = session,
                                Position = r + 1,
                                QueryDoc = (uint)i,
                                TruePropensity = (float)theta,
                            });
                        }
                    }
                }
                var clickView = ml.Data.Cache(Load(ml, rows, dim));
                log($"clicks: {session} sessions ({sessionsPerQuery} per query), {rows.Count} impressions, {clicks} clicks, eta {eta}, logger Gumbel noise {loggerNoise} x score sd; logging ranker nDCG@10 {loggerNdcg:F4}");

                // propensities: regression EM with one relevance per (query, document); positions >= 20 pooled
                int maxPos = Math.Min(20, rows.Max(r => r.Position));
                sw.Restart();
                var em = ml.Ranker().Transforms.EstimatePositionPropensity(new PositionPropensityOptions
                {
                    Method = PropensityEstimationMethod.RegressionEm,
                    RelevanceGroupColumnName = "QueryDoc",
                    LabelColumnName = "Label",
                    MaxPosition = maxPos,
                    MaximumIterations = 200,
                }).Fit(clickView);
                double emSecs = sw.Elapsed.TotalSeconds;
                if (rep > 0)
                    goto models;
                log("");
                log("| position | true (1/rank)^eta | EM estimate | abs err |");
                log("|---|---|---|---|");
                for (int p = 0; p < Math.Min(maxPos, 10); p++)
                {
                    double t = Math.Pow(1.0 / (p + 1), eta);
                    log(FormattableString.Invariant($"| {p + 1} | {t:F4} | {em.Propensities[p]:F4} | {Math.Abs(em.Propensities[p] - t):F4} |"));
                }
                double rmse = Math.Sqrt(Enumerable.Range(0, maxPos - 1).Average(p => Math.Pow(em.Propensities[p] - Math.Pow(1.0 / (p + 1), eta), 2)));
                log(FormattableString.Invariant($"EM: {em.Iterations} iterations, {emSecs:F1} s, RMSE over positions 1..{maxPos - 1}: {rmse:F4}"));

                models:
                var emWeighted = ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightOptions { LabelColumnName = "Label", MaximumWeight = 20 })
                    .Fit(em.Transform(clickView)).Transform(em.Transform(clickView));
                var trueWeighted = ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightOptions { PropensityColumnName = "TruePropensity", LabelColumnName = "Label", MaximumWeight = 20 })
                    .Fit(clickView).Transform(clickView);

                // IPS for LambdaRank, exactly: one copy of the session per click, the clicked document labelled 1 and every other
                // document 0, all rows of the copy weighted min(1/propensity(click), 20). LightGBM multiplies each row's lambda by its
                // weight, so a uniform weight per copy scales every pair of the click by its inverse propensity (Joachims et al. 2017).
                IDataView Sessions(Func<ClickRow, double> propensity)
                {
                    var expanded = new List<ClickRow>();
                    uint copy = 0;
                    foreach (var sess in rows.GroupBy(r => r.Session))
                    {
                        var list = sess.ToList();
                        foreach (var c in list.Where(r => r.Label > 0))
                        {
                            copy++;
                            float w = (float)Math.Min(1 / propensity(c), 20);
                            foreach (var r in list)
                                expanded.Add(new ClickRow { Features = r.Features, Label = ReferenceEquals(r, c) ? 1 : 0, Session = copy, Position = r.Position, QueryDoc = r.QueryDoc, TruePropensity = w });
                        }
                    }
                    var v = Load(ml, expanded, dim);
                    return ml.Transforms.CopyColumns("Weight", "TruePropensity").Fit(v).Transform(v);
                }
                var emSessions = ml.Data.Cache(Sessions(r => em.GetPropensity(r.Position)));
                var trueSessions = ml.Data.Cache(Sessions(r => r.TruePropensity));

                void Add(string name, Func<ITransformer> fit)
                {
                    if (!results.TryGetValue(name, out var list))
                    {
                        results[name] = list = new List<double>();
                        order.Add(name);
                    }
                    list.Add(Ndcg(fit()));
                }
                Add("naive LambdaRank on clicks", () => ml.Ranking.Trainers.LightGbm(Options("Label", null, seed)).Fit(clickView));
                Add("IPS LambdaRank, EM propensities (row weights, clip 20)", () => ml.Ranking.Trainers.LightGbm(Options("Label", "Weight", seed)).Fit(emWeighted));
                Add("IPS LambdaRank, true propensities (row weights, clip 20)", () => ml.Ranking.Trainers.LightGbm(Options("Label", "Weight", seed)).Fit(trueWeighted));
                Add("IPS LambdaRank, EM propensities (one weighted copy per click)", () => ml.Ranking.Trainers.LightGbm(Options("Label", "Weight", seed)).Fit(emSessions));
                Add("IPS LambdaRank, true propensities (one weighted copy per click)", () => ml.Ranking.Trainers.LightGbm(Options("Label", "Weight", seed)).Fit(trueSessions));
            }
            var figures = new List<Figure> { new($"logging ranker (10 trees, {loggerQueries} queries)", loggerNdcg, loggerNdcg / ceilingNdcg) };
            foreach (var name in order)
            {
                double m = results[name].Average();
                double sdv = Math.Sqrt(results[name].Sum(v => (v - m) * (v - m)) / Math.Max(1, results[name].Count - 1));
                figures.Add(new Figure(FormattableString.Invariant($"{name} (sd {sdv:F4} over {repeats} click simulations)"), m, m / ceilingNdcg));
            }
            figures.Add(new Figure("ceiling: LambdaRank on true grades", ceilingNdcg, 1));
            log("");
            log("| model (LightGBM LambdaRank, 100 iterations x 31 leaves) | nDCG@10 (test, true grades; mean) | share of ceiling |");
            log("|---|---|---|");
            foreach (var f in figures)
                log(FormattableString.Invariant($"| {f.Name} | {f.Ndcg10:F4} | {f.ShareOfCeiling:P1} |"));
            return figures;
        }
    }
}
