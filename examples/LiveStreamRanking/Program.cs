using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Baselines;
using MLNetRank.Evaluation;
using MLNetRank.Simulation;

namespace LiveStreamRanking
{
    /// <summary>
    /// The main MLNetRank example: a live-stream ranker built stage by stage on simulated traffic whose truth is known.
    /// <list type="number">
    /// <item>Simulate users, live rooms, items and ranked impressions; split by time (first 80% train, last 20% test).</item>
    /// <item>V1: a point-wise GBDT (FastTree and LightGBM) on the statistical features with engagement sample weights.</item>
    /// <item>Save the model zip, load it in a fresh MLContext, score one request and print its top 10.</item>
    /// </list>
    /// Usage: <c>dotnet run -c Release --project examples/LiveStreamRanking -- [--requests N] [--users N] [--lives N]
    /// [--items N] [--trees N] [--seed N] [--out DIR]</c>.
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            var a = Args.Parse(args);
            var total = Stopwatch.StartNew();
            var ml = new MLContext(seed: a.Seed);
            Directory.CreateDirectory(a.OutputFolder);

            // ---------------------------------------------------------------- Stage 1: simulate
            Stage("1. Simulate live-stream traffic (known ground truth)");
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions
            {
                Seed = a.Seed,
                RequestCount = a.Requests,
                UserCount = a.Users,
                LiveCount = a.Lives,
                ItemCount = a.Items,
            });
            Console.Write(sim.Describe());
            long trainRequests = (long)(a.Requests * 0.8);
            // Time increases with the request index: the first 80% of requests are the past, the rest the future.
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, a.Requests - trainRequests));
            Console.WriteLine($"train: requests 1..{trainRequests}, test: requests {trainRequests + 1}..{a.Requests} (split by time)");

            // ---------------------------------------------------------------- Stage 2: V1 GBDT
            Stage("2. V1 ranker: point-wise GBDT on statistical features, engagement-weighted");
            var results = new List<(string Name, RankingEvaluationResult Metrics)>();
            var models = new Dictionary<GbdtTrainerKind, PointwiseGbdtTransformer>();
            foreach (var trainer in new[] { GbdtTrainerKind.FastTree, GbdtTrainerKind.LightGbm })
            {
                var sw = Stopwatch.StartNew();
                var model = ml.Ranker().Trainers.PointwiseGbdt(new PointwiseGbdtEstimator.Options
                {
                    Trainer = trainer,
                    FeatureColumnName = "StatFeatures",
                    NumberOfTrees = a.Trees,
                    Weighting = new EngagementWeightEstimator.Options(), // click 1, +4 if bought, +0.25 ln(1 + stay seconds)
                }).Fit(train);
                Console.WriteLine($"{trainer}: trained on {model.TrainingRows:N0} impressions ({model.TrainingPositives:N0} clicks) in {sw.Elapsed.TotalSeconds:0.0} s");
                models[trainer] = model;
                results.Add(($"V1 {trainer}", Evaluate(ml, model.Transform(test))));
            }
            PrintTable(results);

            // ---------------------------------------------------------------- Stage 3: save, load, serve
            Stage("3. Save the model zip, load it in a fresh MLContext, score one request");
            var v1 = models[GbdtTrainerKind.FastTree];
            string zip = Path.Combine(a.OutputFolder, "v1-fasttree.zip");
            ml.Model.Save(v1, train.Schema, zip);
            Console.WriteLine($"saved {zip} ({new FileInfo(zip).Length / 1024.0:0} KiB)");

            var serving = new MLContext(seed: 0);
            var loaded = serving.Model.Load(zip, out _);
            Console.WriteLine($"loaded as {loaded.GetType().Name} (plain ML.NET; no MLNetRank code needed to serve)");
            long requestIndex = trainRequests + Math.Min(7, a.Requests - trainRequests - 1); // a request from the test period
            var request = sim.GetImpressions(serving, requestIndex, 1);
            var scored = loaded.Transform(request);
            var rows = serving.Data.CreateEnumerable<ScoredImpression>(scored, reuseRowObject: false).ToList();
            var original = v1.Transform(request).GetColumn<float>("Probability").ToArray();
            if (!rows.Select(r => r.Probability).SequenceEqual(original))
                throw new InvalidOperationException("The reloaded model scored differently from the trained one.");
            Console.WriteLine($"request {rows[0].RequestId} of user {rows[0].UserId}: {rows.Count} candidates (reloaded scores identical to the trained model's)");
            Console.WriteLine("rank | live room | shown at | P(click) model | true attraction | true P(buy|click) | true relevance");
            int rank = 0;
            foreach (var r in rows.OrderByDescending(r => r.Probability).Take(10))
            {
                rank++;
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "{0,4} | {1,9} | {2,8} | {3,14:0.0000} | {4,15:0.0000} | {5,17:0.0000} | {6,14:0.##}",
                    rank, r.LiveId, r.Position, r.Probability, r.TrueAttraction, r.TrueConversion, r.TrueRelevance));
            }

            Console.WriteLine();
            Console.WriteLine($"done in {total.Elapsed.TotalSeconds:0.0} s; outputs in {Path.GetFullPath(a.OutputFolder)}");
            return 0;
        }

        private static RankingEvaluationResult Evaluate(MLContext ml, IDataView scored)
            => ml.Ranker().Evaluate(scored, new RankingEvaluationOptions
            {
                Tasks =
                {
                    RankingTaskSpec.Binary("Click", "Click", "Probability"),
                    // One score ranks for every objective: how well does it order purchases over all impressions?
                    RankingTaskSpec.Binary("Buy", "Buy", "Probability"),
                },
                GroupColumnNames = { "UserId" },
                RequestColumnName = "RequestId",
                RelevanceColumnName = "TrueRelevance",
                RankingScoreColumnName = "Probability",
                NdcgAt = new[] { 10 },
            });

        private static void PrintTable(List<(string Name, RankingEvaluationResult Metrics)> results)
        {
            Console.WriteLine();
            Console.WriteLine("| model | Click AUC | Click GAUC (user) | Buy AUC | Buy GAUC (user) | Click log-loss | nDCG@10 (true relevance) |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
            foreach (var (name, m) in results)
            {
                var click = m.Binary["Click"];
                var buy = m.Binary["Buy"];
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "| {0} | {1:0.0000} | {2:0.0000} | {3:0.0000} | {4:0.0000} | {5:0.0000} | {6:0.0000} |",
                    name, click.Auc, click.GAuc["UserId"], buy.Auc, buy.GAuc["UserId"], click.LogLoss, m.List!.Ndcg[10]));
            }
            Console.WriteLine();
        }

        private static void Stage(string title)
        {
            Console.WriteLine();
            Console.WriteLine("== " + title);
        }

        private sealed class ScoredImpression
        {
            public uint RequestId { get; set; }
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
            public int Position { get; set; }
            public float Probability { get; set; }
            public float TrueAttraction { get; set; }
            public float TrueConversion { get; set; }
            public float TrueRelevance { get; set; }
        }

        private sealed class Args
        {
            public long Requests { get; private set; } = 150_000;
            public int Users { get; private set; } = 10_000;
            public int Lives { get; private set; } = 600;
            public int Items { get; private set; } = 6_000;
            public int Trees { get; private set; } = 100;
            public int Seed { get; private set; } = 1;
            public string OutputFolder { get; private set; } = Path.Combine("artifacts", "example");

            public static Args Parse(string[] args)
            {
                var a = new Args();
                for (int i = 0; i < args.Length; i++)
                {
                    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
                    switch (args[i])
                    {
                        case "--requests": a.Requests = long.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--users": a.Users = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--lives": a.Lives = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--items": a.Items = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--trees": a.Trees = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--seed": a.Seed = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                        case "--out": a.OutputFolder = Next(); break;
                        default: throw new ArgumentException($"unknown argument {args[i]}; see the summary at the top of Program.cs");
                    }
                }
                if (a.Requests < 50) throw new ArgumentException("--requests must be at least 50 (the last 20% are the test period).");
                if (a.Users < 1 || a.Lives < 10 || a.Items < 10) throw new ArgumentException("--users must be >= 1, --lives and --items >= 10.");
                if (a.Trees < 1) throw new ArgumentException("--trees must be >= 1.");
                return a;
            }
        }
    }
}
