using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Graph;
using Xunit;

namespace MLNetRank.Tests.Graph
{
    public class Metapath2VecTests
    {
        private static readonly PlantedGraph Planted = new(3, 60, 12, 30, 3, 3, 0.9, 1);

        private static Metapath2VecEstimator Estimator(MLContext ml, Metapath2VecEstimator.Options o, IDataView? edges = null)
            => ml.Ranker().Transforms.Metapath2Vec(edges ?? Planted.EdgesView(ml), o,
                new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("LiveEmbedding", "LiveId"));

        [Fact]
        public void MapsIdsToEmbeddingsAndUnseenIdsToTheDefault()
        {
            var ml = new MLContext(1);
            var o = GraphTestUtil.Small("User-Live-User", "Live-Item-Live");
            o.AddKnownIndicator = true;
            var model = Estimator(ml, o).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            var data = GraphTestUtil.Rows(ml, (0, 1), (5, 4), (999, 3), (7, 12345));
            var output = model.Transform(data);
            Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 16), output.Schema["UserEmbedding"].Type);
            Assert.Equal(BooleanDataViewType.Instance, output.Schema["UserEmbeddingKnown"].Type);
            Assert.Null(output.Schema.GetColumnOrNull("__m2v_row_UserEmbedding"));
            var users = output.GetColumn<float[]>("UserEmbedding").ToArray();
            var lives = output.GetColumn<float[]>("LiveEmbedding").ToArray();
            var userKnown = output.GetColumn<bool>("UserEmbeddingKnown").ToArray();
            var liveKnown = output.GetColumn<bool>("LiveEmbeddingKnown").ToArray();
            var ue = model.GetEmbeddings("User");
            var le = model.GetEmbeddings("Live");
            Assert.Equal(60, ue.Count);
            Assert.Equal(12, le.Count);
            Assert.Equal(ue.GetVector(ue.IndexOf("0")).ToArray(), users[0]);
            Assert.Equal(ue.GetVector(ue.IndexOf("5")).ToArray(), users[1]);
            Assert.Equal(new float[16], users[2]); // unseen user -> zeros
            Assert.Equal(le.GetVector(le.IndexOf("3")).ToArray(), lives[2]);
            Assert.Equal(new float[16], lives[3]);
            Assert.Equal(new[] { true, true, false, true }, userKnown);
            Assert.Equal(new[] { true, true, true, false }, liveKnown);
            Assert.Contains(users[0], v => v != 0);
            // The embeddings concatenate with other features (full-length vectors for unseen ids too).
            var concat = ml.Transforms.Concatenate("Features", "UserEmbedding", "LiveEmbedding").Fit(output).Transform(output);
            Assert.All(concat.GetColumn<float[]>("Features"), f => Assert.Equal(32, f.Length));
        }

        [Fact]
        public void TypeMeanDefaultForUnseenIds()
        {
            var ml = new MLContext(1);
            var o = GraphTestUtil.Small("User-Live-User");
            o.UnseenEmbedding = UnseenNodeEmbedding.TypeMean;
            var model = Estimator(ml, o).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            var output = model.Transform(GraphTestUtil.Rows(ml, (999, 999)));
            var user = output.GetColumn<float[]>("UserEmbedding").Single();
            var mean = new float[16];
            var ue = model.GetEmbeddings("User");
            for (int i = 0; i < ue.Count; i++)
                for (int k = 0; k < 16; k++)
                    mean[k] += ue.GetVector(i)[k] / ue.Count;
            for (int k = 0; k < 16; k++)
                Assert.Equal(mean[k], user[k], 5);
            Assert.Equal(ue.Mean.ToArray(), user);
        }

        [Fact]
        public void SingleThreadTrainingIsBitForBitDeterministic()
        {
            float[] Train(int seed, Metapath2VecVariant variant)
            {
                var ml = new MLContext(1);
                var o = GraphTestUtil.Small("User-Live-Item-Live-User");
                o.Seed = seed;
                o.Variant = variant;
                var m = Estimator(ml, o).Fit(GraphTestUtil.Rows(ml, (0, 0)));
                return m.GetEmbeddings("User").ToArray().Concat(m.GetEmbeddings("Item").ToArray()).ToArray();
            }
            Assert.Equal(Train(3, Metapath2VecVariant.Metapath2Vec), Train(3, Metapath2VecVariant.Metapath2Vec));
            Assert.Equal(Train(3, Metapath2VecVariant.Metapath2VecPlusPlus), Train(3, Metapath2VecVariant.Metapath2VecPlusPlus));
            Assert.NotEqual(Train(3, Metapath2VecVariant.Metapath2Vec), Train(4, Metapath2VecVariant.Metapath2Vec));
            Assert.NotEqual(Train(3, Metapath2VecVariant.Metapath2Vec), Train(3, Metapath2VecVariant.Metapath2VecPlusPlus));
        }

        [Fact]
        public void SeedComesFromTheContextWhenNotGiven()
        {
            float[] Train(int contextSeed)
            {
                var ml = new MLContext(contextSeed);
                var o = GraphTestUtil.Small("User-Live-User");
                o.Seed = null;
                return Estimator(ml, o).Fit(GraphTestUtil.Rows(ml, (0, 0))).GetEmbeddings("User").ToArray();
            }
            Assert.Equal(Train(5), Train(5));
            Assert.NotEqual(Train(5), Train(6));
        }

        [Fact]
        public void MultiThreadedTrainingRunsAndReportsProgress()
        {
            var ml = new MLContext(1);
            var o = GraphTestUtil.Small("User-Live-User");
            o.NumberOfThreads = 2;
            o.Epochs = 3;
            var reports = new System.Collections.Generic.List<Metapath2VecProgress>();
            o.Progress = new SyncProgress(reports.Add);
            var model = Estimator(ml, o).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            Assert.Equal(2, model.Summary.Threads);
            Assert.Equal(new[] { 1, 2, 3 }, reports.Where(r => r.Stage == "training" && !r.InEpoch).Select(r => r.Epoch));
            Assert.Equal(model.Summary.TokensPerEpoch * 3, reports.Last().TokensProcessed);
            Assert.True(reports.Last().LearningRate < o.InitialLearningRate * 0.05f, $"final learning rate {reports.Last().LearningRate}");
            Assert.All(model.GetEmbeddings("User").ToArray(), v => Assert.True(float.IsFinite(v)));
        }

        private sealed class SyncProgress : IProgress<Metapath2VecProgress>
        {
            private readonly Action<Metapath2VecProgress> _a;
            public SyncProgress(Action<Metapath2VecProgress> a) => _a = a;
            public void Report(Metapath2VecProgress value) => _a(value);
        }

        [Fact]
        public void SavesAsBuiltInTransformersAndLoadsInANewContextScoringIdentically()
        {
            var ml = new MLContext(1);
            var o = GraphTestUtil.Small("User-Live-User");
            o.AddKnownIndicator = true;
            o.UnseenEmbedding = UnseenNodeEmbedding.TypeMean;
            var data = GraphTestUtil.Rows(ml, (0, 1), (5, 4), (999, 3), (7, 12345));
            var model = Estimator(ml, o).Fit(data);
            var path = Path.Combine(Path.GetTempPath(), $"m2v-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var fresh = new MLContext(99);
                var loaded = fresh.Model.Load(path, out var inputSchema);
                Assert.IsNotType<Metapath2VecTransformer>(loaded);
                Assert.Equal(2, inputSchema.Count);
                var data2 = GraphTestUtil.Rows(fresh, (0, 1), (5, 4), (999, 3), (7, 12345));
                var a = model.Transform(data);
                var b = loaded.Transform(data2);
                Assert.Equal(a.Schema.Select(c => c.Name + c.Type), b.Schema.Select(c => c.Name + c.Type));
                foreach (var col in new[] { "UserEmbedding", "LiveEmbedding" })
                    Assert.Equal(a.GetColumn<float[]>(col).ToArray(), b.GetColumn<float[]>(col).ToArray());
                foreach (var col in new[] { "UserEmbeddingKnown", "LiveEmbeddingKnown" })
                    Assert.Equal(a.GetColumn<bool>(col).ToArray(), b.GetColumn<bool>(col).ToArray());
                foreach (var col in new[] { "UserId", "LiveId" })
                    Assert.Equal(a.GetColumn<uint>(col).ToArray(), b.GetColumn<uint>(col).ToArray());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void WorksInsideAPipelineThatSavesAndLoads()
        {
            var ml = new MLContext(1);
            var data = GraphTestUtil.Rows(ml, (0, 1), (5, 4), (999, 3));
            var pipeline = Estimator(ml, GraphTestUtil.Small("User-Live-User"))
                .Append(ml.Transforms.Concatenate("Features", "UserEmbedding", "LiveEmbedding"));
            var model = pipeline.Fit(data);
            Assert.IsType<Metapath2VecTransformer>(model.First());
            var path = Path.Combine(Path.GetTempPath(), $"m2v-pipe-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var loaded = new MLContext(5).Model.Load(path, out _);
                var expected = model.Transform(data).GetColumn<float[]>("Features").ToArray();
                var actual = loaded.Transform(data).GetColumn<float[]>("Features").ToArray();
                Assert.Equal(expected, actual);
                Assert.All(actual, f => Assert.Equal(32, f.Length));
            }
            finally
            {
                File.Delete(path);
            }
        }

        private sealed class TextIdRow
        {
            public string Author { get; set; } = "";
        }

        [Fact]
        public void TextIdsWorkEndToEnd()
        {
            var ml = new MLContext(1);
            var edges = ml.Data.LoadFromEnumerable(new[]
            {
                new TextEdgeRow { SourceId = "p1", SourceType = "Paper", TargetId = "alice", TargetType = "Author" },
                new TextEdgeRow { SourceId = "p1", SourceType = "Paper", TargetId = "bob", TargetType = "Author" },
                new TextEdgeRow { SourceId = "p2", SourceType = "Paper", TargetId = "bob", TargetType = "Author" },
                new TextEdgeRow { SourceId = "p2", SourceType = "Paper", TargetId = "carol", TargetType = "Author" },
            });
            var o = GraphTestUtil.Small("Author-Paper-Author");
            o.SubsamplingThreshold = 0;
            o.AddKnownIndicator = true;
            var data = ml.Data.LoadFromEnumerable(new[] { new TextIdRow { Author = "carol" }, new TextIdRow { Author = "dave" } });
            var model = ml.Ranker().Transforms.Metapath2Vec(edges, o, new InputOutputColumnPair("AuthorVector", "Author")).Fit(data);
            var output = model.Transform(data);
            var v = output.GetColumn<float[]>("AuthorVector").ToArray();
            Assert.Equal(model.GetEmbeddings("Author").GetVector(model.GetEmbeddings("Author").IndexOf("carol")).ToArray(), v[0]);
            Assert.Equal(new float[16], v[1]);
            Assert.Equal(new[] { true, false }, output.GetColumn<bool>("AuthorVectorKnown").ToArray());
            Assert.Equal(new[] { "Author", "Paper" }, model.NodeTypes);
            var walk = model.GetWalks().First();
            Assert.StartsWith("Author:", walk[0]);
            Assert.StartsWith("Paper:", walk[1]);
        }

        [Fact]
        public void WalksCanBeExportedInTheCorpusFormat()
        {
            var ml = new MLContext(1);
            var model = Estimator(ml, GraphTestUtil.Small("User-Live-User")).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            var writer = new StringWriter();
            model.WriteWalks(writer);
            var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(model.WalkCount, lines.Length);
            Assert.Equal(60 * 5, model.WalkCount);
            Assert.Equal(string.Join(' ', model.GetWalks().First()), lines[0].TrimEnd('\r'));
            Assert.All(lines, l => Assert.Equal(20, l.Split(' ').Length));
            Assert.Equal(model.Summary.TokensPerEpoch, lines.Sum(l => l.Split(' ').Length));
        }

        [Fact]
        public void OptionErrorsNameTheProblem()
        {
            var ml = new MLContext(1);
            var edges = Planted.EdgesView(ml);
            var pair = new InputOutputColumnPair("UserEmbedding", "UserId");
            Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, new Metapath2VecEstimator.Options(), pair));
            foreach (var bad in new Action<Metapath2VecEstimator.Options>[]
            {
                o => o.Dimension = 0, o => o.WalkLength = 1, o => o.WindowSize = 0, o => o.WalksPerNode = 0, o => o.Epochs = 0,
                o => o.NegativeSamples = -1, o => o.InitialLearningRate = 0, o => o.SubsamplingThreshold = -1, o => o.NumberOfThreads = 0,
                o => o.InitialLearningRate = float.NaN, o => o.MinLearningRateFraction = 2,
            })
            {
                var o = GraphTestUtil.Small("User-Live-User");
                bad(o);
                Assert.ThrowsAny<ArgumentException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, o, pair));
            }
            var malformed = Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, GraphTestUtil.Small("User--User"), pair));
            Assert.Contains("empty node type", malformed.Message);
            Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, GraphTestUtil.Small("User"), pair));
            // A column whose node type no metapath visits.
            var col = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, GraphTestUtil.Small("User-Live-User"), new InputOutputColumnPair("E", "ItemId")));
            Assert.Contains("ItemId", col.Message);
            // Missing edge columns, named.
            var o2 = GraphTestUtil.Small("User-Live-User");
            o2.WeightColumnName = "Strength";
            var miss = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, o2, pair));
            Assert.Contains("'Strength'", miss.Message);
            var o3 = GraphTestUtil.Small("User-Live-User");
            o3.SourceTypeColumnName = "Weight";
            var wrong = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.Metapath2Vec(edges, o3, pair));
            Assert.Contains("'Weight'", wrong.Message);
            Assert.Contains("String", wrong.Message);
        }

        private sealed class FloatIdRow
        {
            public float UserId { get; set; }
        }

        [Fact]
        public void InputSchemaErrorsNameTheColumn()
        {
            var ml = new MLContext(1);
            var est = ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), GraphTestUtil.Small("User-Live-User"), new InputOutputColumnPair("UserEmbedding", "UserId"));
            var floats = ml.Data.LoadFromEnumerable(new[] { new FloatIdRow { UserId = 1 } });
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => est.Fit(floats));
            Assert.Contains("'UserId'", ex.Message);
            Assert.Contains("Single", ex.Message);
            var none = ml.Data.LoadFromEnumerable(new[] { new TextIdRow { Author = "x" } });
            var ex2 = Assert.Throws<ArgumentOutOfRangeException>(() => est.Fit(none));
            Assert.Contains("not found", ex2.Message);
            // GetOutputSchema validates too and gives the right shape.
            var shape = est.GetOutputSchema(SchemaShapeOf(ml, GraphTestUtil.Rows(ml, (1, 1))));
            var c = shape.Single(x => x.Name == "UserEmbedding");
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, c.Kind);
            Assert.Equal(NumberDataViewType.Single, c.ItemType);
            Assert.DoesNotContain(shape, x => x.Name.StartsWith("__m2v", StringComparison.Ordinal));
            Assert.Throws<ArgumentOutOfRangeException>(() => est.GetOutputSchema(SchemaShapeOf(ml, floats)));
        }

        private static SchemaShape SchemaShapeOf(MLContext ml, IDataView data)
        {
            // SchemaShape.Create(DataViewSchema) is internal in ML.NET 5 (the pipeline calls it); tests reach it by reflection.
            _ = ml;
            var create = typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)!;
            return (SchemaShape)create.Invoke(null, new object[] { data.Schema })!;
        }

        [Fact]
        public void UnknownTypeInAMetapathIsAClearError()
        {
            var ml = new MLContext(1);
            var est = ml.Ranker().Transforms.Metapath2Vec(Planted.EdgesView(ml), GraphTestUtil.Small("User-Shop-User"), new InputOutputColumnPair("U", "UserId"));
            var ex = Assert.Throws<InvalidOperationException>(() => est.Fit(GraphTestUtil.Rows(ml, (0, 0))));
            Assert.Contains("'Shop'", ex.Message);
            Assert.Contains("Item, Live, User", ex.Message);
        }

        [Fact]
        public void MetapathThatNoEdgeCanFollowIsAClearError()
        {
            var ml = new MLContext(1);
            var ex = Assert.Throws<InvalidOperationException>(() => Estimator(ml, GraphTestUtil.Small("User-Item-User", "User-Live-User")).Fit(GraphTestUtil.Rows(ml, (0, 0))));
            Assert.Contains("\"User-Item-User\" cannot be followed", ex.Message);
            Assert.Contains("User node to a Item node", ex.Message);
            var open = Assert.Throws<InvalidOperationException>(() => Estimator(ml, GraphTestUtil.Small("User-Live-Item")).Fit(GraphTestUtil.Rows(ml, (0, 0))));
            Assert.Contains("wraps", open.Message);
        }

        [Fact]
        public void EmptyGraphIsAClearError()
        {
            var ml = new MLContext(1);
            var empty = ml.Data.LoadFromEnumerable(Array.Empty<EdgeRow>());
            var ex = Assert.Throws<InvalidOperationException>(() => Estimator(ml, GraphTestUtil.Small("User-Live-User"), empty).Fit(GraphTestUtil.Rows(ml, (0, 0))));
            Assert.Contains("empty", ex.Message);
        }

        [Fact]
        public void SelfTypedEdgesAreARelationLikeAnyOther()
        {
            var ml = new MLContext(1);
            // Users follow users (User-User edges) and watch lives.
            var rows = Planted.Edges.ToList();
            for (uint u = 0; u < 60; u++)
                rows.Add(EdgeRow.Of("User", u, "User", (u + 3) % 60));
            var o = GraphTestUtil.Small("User-User", "User-Live-User");
            var model = Estimator(ml, o, ml.Data.LoadFromEnumerable(rows)).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            var walks = model.GetWalks().ToList();
            var userUser = walks.Where(w => w.Skip(1).First().StartsWith("User:", StringComparison.Ordinal)).ToList();
            Assert.Equal(60 * 5, userUser.Count); // every user starts 5 User-User walks
            Assert.All(userUser, w => Assert.All(w, t => Assert.StartsWith("User:", t)));
            Assert.Equal(60, model.GetEmbeddings("User").Count);
        }

        [Fact]
        public void DuplicateEdgesThrowWhenAsked()
        {
            var ml = new MLContext(1);
            var rows = Planted.Edges.Concat(new[] { Planted.Edges[0] }).ToList();
            var o = GraphTestUtil.Small("User-Live-User");
            o.DuplicateEdges = DuplicateEdgeHandling.Throw;
            var ex = Assert.Throws<InvalidOperationException>(() => Estimator(ml, o, ml.Data.LoadFromEnumerable(rows)).Fit(GraphTestUtil.Rows(ml, (0, 0))));
            Assert.Contains("more than once", ex.Message);
            o.DuplicateEdges = DuplicateEdgeHandling.SumWeights;
            var model = Estimator(ml, o, ml.Data.LoadFromEnumerable(rows)).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            Assert.Equal(2, model.Summary.DuplicateEntries);
        }

        [Fact]
        public void GetEmbeddingsOfAnUnknownTypeNamesTheTypes()
        {
            var ml = new MLContext(1);
            var model = Estimator(ml, GraphTestUtil.Small("User-Live-User")).Fit(GraphTestUtil.Rows(ml, (0, 0)));
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => model.GetEmbeddings("Shop"));
            Assert.Contains("Item, Live, User", ex.Message);
            // Items are in the graph but no metapath visits them: no embeddings (they map to the default).
            Assert.Equal(0, model.GetEmbeddings("Item").Count);
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void NearestNeighboursSharePlantedCommunities()
        {
            var planted = new PlantedGraph(4, 400, 40, 120, 4, 4, 0.85, 11);
            foreach (var variant in new[] { Metapath2VecVariant.Metapath2Vec, Metapath2VecVariant.Metapath2VecPlusPlus })
            {
                var ml = new MLContext(1);
                var o = new Metapath2VecEstimator.Options
                {
                    Metapaths = new[] { "User-Live-User", "User-Live-Item-Live-User" },
                    Dimension = 32,
                    WalksPerNode = 10,
                    WalkLength = 40,
                    WindowSize = 5,
                    Epochs = 3,
                    Variant = variant,
                    NumberOfThreads = 1, // deterministic: the figures below are exact for this seed, not a lucky draw
                    Seed = 3,
                };
                var model = ml.Ranker().Transforms.Metapath2Vec(planted.EdgesView(ml), o, new InputOutputColumnPair("U", "UserId")).Fit(GraphTestUtil.Rows(ml, (0, 0)));
                double users = GraphTestUtil.NeighbourPurity(model.GetEmbeddings("User"), id => planted.UserCommunity[int.Parse(id)], 10);
                double items = GraphTestUtil.NeighbourPurity(model.GetEmbeddings("Item"), id => planted.ItemCommunity[int.Parse(id)], 10);
                // Chance is 1/4; the planted mixing (85% inside) bounds what any method can reach.
                Assert.True(users > 0.85, $"{variant}: user 10-NN purity {users:F3}");
                Assert.True(items > 0.7, $"{variant}: item 10-NN purity {items:F3}");
            }
        }
    }
}
