using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Graph;
using MLNetRank.Simulation;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>
    /// metapath2vec on the live-stream simulator: do nearest neighbours share the simulator's communities, and do the
    /// user/live embeddings raise the CVR (and CTR) model's AUC/GAUC over the same GBDT without them?
    /// </summary>
    public sealed class Metapath2VecSimulatorBench : IBench
    {
        /// <inheritdoc />
        public string Name => "metapath2vec-simulator";

        /// <inheritdoc />
        public string Description => "metapath2vec on the simulator: community k-NN purity; CVR/CTR AUC and GAUC with vs without embeddings";

        private static readonly Option<int> Requests = BenchOption.Of("--requests", 30000, "simulator requests");
        private static readonly Option<int> Seed = BenchOption.Of("--seed", 42, "simulator seed");
        private static readonly Option<int> Trees = BenchOption.Of("--trees", 100, "GBDT trees");
        private static readonly Option<int> Dim = BenchOption.Of("--dim", 32, "embedding dimension");
        private static readonly Option<int> Walks = BenchOption.Of("--walks", 10, "walks per node");
        private static readonly Option<int> Epochs = BenchOption.Of("--epochs", 3, "epochs");

        /// <inheritdoc />
        public int Run(ParseResult args)
        {
            int requests = args.GetValue(Requests), seed = args.GetValue(Seed), trees = args.GetValue(Trees);
            var ml = new MLContext(seed);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = seed, RequestCount = requests });
            Console.Write(sim.Describe());
            long trainRequests = (long)(requests * 0.8);
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, trainRequests));
            var test = ml.Data.Cache(sim.GetImpressions(ml, trainRequests, requests - trainRequests));
            var edges = sim.GetEdges(ml);

            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-User", "User-Item-User", "User-Live-Item-Live-User", "Live-Item-Category-Item-Live" },
                WeightColumnName = "Weight",
                Dimension = args.GetValue(Dim),
                WalksPerNode = args.GetValue(Walks),
                WalkLength = 40,
                Epochs = args.GetValue(Epochs),
                NumberOfThreads = 2,
                AddKnownIndicator = true,
                Seed = seed,
            };
            var sw = Stopwatch.StartNew();
            var m2v = ml.Ranker().Transforms.Metapath2Vec(edges, o,
                new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("LiveEmbedding", "LiveId")).Fit(train);
            Console.WriteLine($"metapath2vec: {m2v.Summary.Nodes:N0} nodes, {m2v.Summary.EdgeRows:N0} edge rows, {m2v.Summary.TokensPerEpoch:N0} tokens/epoch x {o.Epochs}, " +
                              $"fit {sw.Elapsed.TotalSeconds:F1}s ({m2v.Summary.TokensPerSecond:N0} tokens/s, 2 threads)");

            var w = sim.World;
            double pu = GraphBenchUtil.Purity(m2v.GetEmbeddings("User"), id => w.UserCommunity(uint.Parse(id)), 10);
            double pl = GraphBenchUtil.Purity(m2v.GetEmbeddings("Live"), id => w.LiveCommunity(uint.Parse(id)), 10);
            double pi = GraphBenchUtil.Purity(m2v.GetEmbeddings("Item"), id => w.ItemCommunity(uint.Parse(id)), 10);
            Console.WriteLine();
            Console.WriteLine($"| nodes | 10-NN community purity | chance |");
            Console.WriteLine("|---|---|---|");
            Console.WriteLine($"| User | {pu:F3} | {1.0 / w.CommunityCount:F3} |");
            Console.WriteLine($"| Live | {pl:F3} | {1.0 / w.CommunityCount:F3} |");
            Console.WriteLine($"| Item | {pi:F3} | {1.0 / w.CommunityCount:F3} |");

            var trainE = ml.Data.Cache(m2v.Transform(train));
            var testE = ml.Data.Cache(m2v.Transform(test));
            var rows = new List<string>();
            foreach (var (task, label, clickedOnly) in new[] { ("CVR (Buy given click)", "Buy", true), ("CTR (Click)", "Click", false) })
            {
                var tr = clickedOnly ? ml.Data.FilterByCustomPredicate<ClickRow>(trainE, r => !r.Click) : trainE;
                var te = clickedOnly ? ml.Data.FilterByCustomPredicate<ClickRow>(testE, r => !r.Click) : testE;
                foreach (var (name, cols) in new[] { ("StatFeatures", new[] { "StatFeatures" }), ("StatFeatures + metapath2vec user & live embeddings", new[] { "StatFeatures", "UserEmbedding", "LiveEmbedding" }) })
                {
                    var pipe = ml.Transforms.Concatenate("Features", cols)
                        .Append(ml.Transforms.CopyColumns("Label", label))
                        .Append(ml.BinaryClassification.Trainers.FastTree(new Microsoft.ML.Trainers.FastTree.FastTreeBinaryTrainer.Options
                        {
                            NumberOfTrees = trees, NumberOfLeaves = 31, MinimumExampleCountPerLeaf = 20, LearningRate = 0.1, NumberOfThreads = 2, Seed = 1,
                        }));
                    var model = pipe.Fit(tr);
                    var scored = model.Transform(te);
                    var scores = scored.GetColumn<float>("Score").ToArray();
                    var labels = scored.GetColumn<bool>(label).ToArray();
                    var users = scored.GetColumn<uint>("UserId").ToArray();
                    double auc = MLNetRank.Evaluation.RankerMetrics.Auc(scores, labels);
                    double gauc = MLNetRank.Evaluation.RankerMetrics.GroupAuc<uint>(scores, labels, users);
                    rows.Add($"| {task} | {name} | {labels.Length:N0} | {labels.Count(x => x):N0} | {auc:F4} | {gauc:F4} |");
                }
            }
            Console.WriteLine();
            Console.WriteLine("| task | features | test rows | positives | AUC | GAUC (by user) |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var r in rows)
                Console.WriteLine(r);
            return 0;
        }

        private sealed class ClickRow
        {
            public bool Click { get; set; }
        }
    }
}
