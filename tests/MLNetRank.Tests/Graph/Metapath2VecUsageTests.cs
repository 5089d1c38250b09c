using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MLNetRank.Graph;
using Xunit;

namespace MLNetRank.Tests.Graph
{
    /// <summary>metapath2vec as users use it: graph-only fits, context vectors, link scores, progress, cancellation,
    /// divergence and symmetric edge lists.</summary>
    public class Metapath2VecUsageTests
    {
        private static readonly PlantedGraph Planted = new(3, 60, 12, 30, 3, 3, 0.9, 1);

        private sealed class SyncProgress : IProgress<Metapath2VecProgress>
        {
            private readonly Action<Metapath2VecProgress> _a;
            public SyncProgress(Action<Metapath2VecProgress> a) => _a = a;
            public void Report(Metapath2VecProgress value) => _a(value);
        }

        [Fact]
        public void GraphOnlyFitGivesEmbeddingsAndContextVectorsWithoutData()
        {
            var ml = new MLContext(1);
            var o = GraphTestUtil.Small("User-Live-User");
            var model = ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), o).FitGraph();
            var users = model.GetEmbeddings("User");
            var contexts = model.GetContextEmbeddings("User");
            Assert.Equal(60, users.Count);
            Assert.Equal(users.Ids, contexts.Ids);
            Assert.NotEqual(users.ToArray(), contexts.ToArray());
            Assert.Contains(contexts.ToArray(), v => v != 0); // trained, not the zero initialisation
            // Same seed: the graph-only fit trains exactly the model a Fit with an id column trains.
            var withColumn = ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), o, new InputOutputColumnPair("U", "UserId")).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            Assert.Equal(withColumn.GetEmbeddings("User").ToArray(), users.ToArray());
            Assert.Equal(withColumn.GetContextEmbeddings("User").ToArray(), contexts.ToArray());
            // With no column to map, the transformer passes data through.
            var data = GraphTestUtil.Rows(ml, (1, 2));
            Assert.Equal(data.Schema.Select(c => c.Name), model.Transform(data).Schema.Select(c => c.Name));
            // FitGraph on an estimator that maps columns says what to do instead.
            var ex = Assert.Throws<InvalidOperationException>(() =>
                ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), o, new InputOutputColumnPair("U", "UserId")).FitGraph());
            Assert.Contains("'UserId'", ex.Message);
        }

        [Fact]
        public void ScoreLinkComputesTheDocumentedScoresAndDotPredictsHeldOutLinks()
        {
            // Hold out 10% of the User-Live edges; score them against random User-Live pairs that are not edges.
            var planted = new PlantedGraph(4, 400, 40, 120, 4, 4, 0.85, 5);
            var rng = new Random(3);
            var userLive = planted.Edges.Where(e => e.SourceType == "User").ToList();
            var held = userLive.Where(_ => rng.NextDouble() < 0.1).ToHashSet();
            var train = planted.Edges.Where(e => !held.Contains(e)).ToList();
            var edgeSet = userLive.Select(e => (e.SourceId, e.TargetId)).ToHashSet();
            var ml = new MLContext(1);
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-User", "User-Live-Item-Live-User" },
                Dimension = 32, WalksPerNode = 10, WalkLength = 40, WindowSize = 5, Epochs = 3, NumberOfThreads = 1, Seed = 3,
            };
            var model = ml.Ranker().Transforms.Metapath2Vec(ml.Data.LoadFromEnumerable(train), o).FitGraph();
            var users = model.GetEmbeddings("User");
            var lives = model.GetEmbeddings("Live");
            var liveContexts = model.GetContextEmbeddings("Live");
            string u0 = held.First().SourceId.ToString(), l0 = held.First().TargetId.ToString();
            Assert.True(users.TryGetVector(u0, out var uv));
            Assert.True(lives.TryGetVector(l0, out var lv));
            Assert.True(liveContexts.TryGetVector(l0, out var lc));
            Assert.Equal(TensorPrimitives.Dot(uv, lv), model.ScoreLink("User", u0, "Live", l0));
            Assert.Equal(TensorPrimitives.CosineSimilarity(uv, lv), model.ScoreLink("User", u0, "Live", l0, Metapath2VecLinkScore.Cosine), 5);
            Assert.Equal(TensorPrimitives.Dot(uv, lc), model.ScoreLink("User", u0, "Live", l0, Metapath2VecLinkScore.InputContextDot));
            Assert.Throws<ArgumentOutOfRangeException>(() => model.ScoreLink("User", "99999", "Live", l0));

            var positives = held.Select(e => (U: e.SourceId.ToString(), L: e.TargetId.ToString())).Where(p => users.IndexOf(p.U) >= 0).ToList();
            var negatives = new List<(string U, string L)>();
            while (negatives.Count < positives.Count)
            {
                uint u = (uint)rng.Next(400), l = (uint)rng.Next(40);
                if (!edgeSet.Contains((u, l)) && users.IndexOf(u.ToString()) >= 0)
                    negatives.Add((u.ToString(), l.ToString()));
            }
            foreach (var kind in new[] { Metapath2VecLinkScore.Dot, Metapath2VecLinkScore.Cosine, Metapath2VecLinkScore.InputContextDot })
            {
                var pos = positives.Select(p => model.ScoreLink("User", p.U, "Live", p.L, kind)).ToArray();
                var neg = negatives.Select(p => model.ScoreLink("User", p.U, "Live", p.L, kind)).ToArray();
                double auc = pos.Sum(a => neg.Sum(b => a > b ? 1.0 : a == b ? 0.5 : 0)) / ((double)pos.Length * neg.Length);
                // The planted graph keeps 85% of links inside a community of 4: a held-out link's live is in the user's
                // community far more often than a random one's, which any score that learned the communities ranks.
                Assert.True(auc > 0.75, $"{kind}: held-out link AUC {auc:F3} over {pos.Length} links");
            }
        }

        [Fact]
        public void ProgressIsReportedDuringEpochsOnTheCallingThreadAndToTheLog()
        {
            var ml = new MLContext(1);
            var messages = new List<string>();
            ml.Log += (_, e) =>
            {
                if (e.Source.StartsWith("MLNetRank.Metapath2Vec", StringComparison.Ordinal))
                    lock (messages)
                        messages.Add(e.Message);
            };
            var planted = new PlantedGraph(4, 400, 40, 120, 4, 4, 0.85, 11);
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-Item-Live-User" }, Dimension = 32, WalksPerNode = 20, WalkLength = 40, Epochs = 2,
                NumberOfThreads = 2, Seed = 1, ProgressInterval = TimeSpan.FromMilliseconds(1),
            };
            var reports = new List<(Metapath2VecProgress P, int Thread)>();
            o.Progress = new SyncProgress(p => reports.Add((p, Environment.CurrentManagedThreadId)));
            var model = ml.Ranker().Transforms.Metapath2Vec(planted.EdgesView(ml), o).FitGraph();
            int caller = Environment.CurrentManagedThreadId;
            Assert.All(reports, r => Assert.Equal(caller, r.Thread));
            var inEpoch = reports.Where(r => r.P.InEpoch).Select(r => r.P).ToList();
            Assert.NotEmpty(inEpoch);
            long total = model.Summary.TokensPerEpoch * 2;
            Assert.All(inEpoch, p => Assert.Equal(total, p.TotalTokens));
            Assert.All(inEpoch, p => Assert.InRange(p.TokensProcessed, 0, total));
            Assert.Equal(new[] { 1, 2 }, reports.Where(r => r.P.Stage == "training" && !r.P.InEpoch).Select(r => r.P.Epoch));
            Assert.Contains(messages, m => m.Contains("in progress", StringComparison.Ordinal) && m.Contains("%", StringComparison.Ordinal));
            Assert.Contains(messages, m => m.Contains("Epoch 2/2:", StringComparison.Ordinal));
        }

        [Fact]
        public void CancellationStopsTrainingInsideTheEpoch()
        {
            var ml = new MLContext(1);
            var planted = new PlantedGraph(4, 400, 40, 120, 4, 4, 0.85, 11);
            using var cts = new CancellationTokenSource();
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-Item-Live-User" }, Dimension = 32, WalksPerNode = 20, WalkLength = 40, Epochs = 3,
                NumberOfThreads = 1, Seed = 1, ProgressInterval = TimeSpan.FromMilliseconds(1),
            };
            var reports = new List<Metapath2VecProgress>();
            o.Progress = new SyncProgress(p =>
            {
                reports.Add(p);
                if (p.InEpoch)
                    cts.Cancel(); // the first report inside epoch 1
            });
            var estimator = ml.Ranker().Transforms.Metapath2Vec(planted.EdgesView(ml), o);
            Assert.ThrowsAny<OperationCanceledException>(() => estimator.FitGraph(cts.Token));
            // It stopped inside epoch 1: no epoch ever completed.
            Assert.Contains(reports, p => p.InEpoch);
            Assert.DoesNotContain(reports, p => p.Stage == "training" && !p.InEpoch);
            // A token cancelled before the fit stops it before training.
            Assert.ThrowsAny<OperationCanceledException>(() => estimator.Fit(GraphTestUtil.Rows(ml, (0, 0)), cts.Token));
            // The options' token (the project's pattern for trainers) stops it too, and a live call token does not mask it.
            var o2 = GraphTestUtil.Small("User-Live-User");
            o2.CancellationToken = cts.Token;
            using var live = new CancellationTokenSource();
            Assert.ThrowsAny<OperationCanceledException>(() => ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), o2).FitGraph(live.Token));
        }

        [Fact]
        public void HugeLearningRateStopsWithAMessageSayingWhatToChange()
        {
            var ml = new MLContext(1);
            var warnings = new List<string>();
            ml.Log += (_, e) =>
            {
                if (e.Kind == ChannelMessageKind.Warning)
                    lock (warnings)
                        warnings.Add(e.Message);
            };
            foreach (int threads in new[] { 1, 2 })
            {
                var o = GraphTestUtil.Small("User-Live-User");
                o.InitialLearningRate = 1e6f;
                o.NumberOfThreads = threads;
                var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), o).FitGraph());
                Assert.Contains("diverged", ex.Message);
                Assert.Contains("lower InitialLearningRate", ex.Message);
                Assert.Contains("1E+06", ex.Message);
            }
            Assert.Contains(warnings, w => w.Contains("diverged", StringComparison.Ordinal));
            // The default learning rate on the same graph trains finite embeddings.
            var ok = ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), GraphTestUtil.Small("User-Live-User")).FitGraph();
            Assert.All(ok.GetEmbeddings("User").ToArray(), v => Assert.True(float.IsFinite(v)));
        }

        [Fact]
        public void AnEdgeListWithEveryEdgeInBothDirectionsIsCountedAndWarned()
        {
            var once = Planted.Edges.Where(e => e.SourceType == "User").ToList();
            var both = once.Concat(once.Select(e => EdgeRow.Of(e.TargetType, e.TargetId, e.SourceType, e.SourceId))).ToList();
            (Metapath2VecTrainingSummary Summary, List<string> Warnings) Fit(List<EdgeRow> rows)
            {
                var ml = new MLContext(1);
                var warnings = new List<string>();
                ml.Log += (_, e) =>
                {
                    if (e.Kind == ChannelMessageKind.Warning)
                        lock (warnings)
                            warnings.Add(e.Message);
                };
                var m = ml.Ranker().Transforms.Metapath2Vec(ml.Data.LoadFromEnumerable(rows), GraphTestUtil.Small("User-Live-User")).FitGraph();
                return (m.Summary, warnings);
            }
            var (s1, w1) = Fit(once);
            Assert.Equal(0, s1.ReversedDuplicateRows);
            Assert.DoesNotContain(w1, w => w.Contains("reversed", StringComparison.Ordinal));
            var (s2, w2) = Fit(both);
            Assert.Equal(both.Count, s2.ReversedDuplicateRows);
            Assert.Contains(w2, w => w.Contains("100%", StringComparison.Ordinal) && w.Contains("KeepMaxWeight", StringComparison.Ordinal));
            // The same row listed twice in one direction is a duplicate, not a reversed pair.
            var (s3, w3) = Fit(once.Concat(once).ToList());
            Assert.Equal(0, s3.ReversedDuplicateRows);
            Assert.DoesNotContain(w3, w => w.Contains("reversed", StringComparison.Ordinal));
        }
    }
}
