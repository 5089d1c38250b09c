using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Onnx;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// <see cref="CategoricalFeature.InitialEmbeddings"/> / <see cref="SequenceFeature.InitialEmbeddings"/>: a table starts at
    /// the given vectors (ids without one keep the random start of a run without them), frozen tables stay there through
    /// training and into the ONNX export, fine-tuned ones move, bad input is refused naming the feature, the model saves and
    /// reloads with identical scores, and on a world whose label is "the candidate item's hidden group matches the history's"
    /// vectors that encode the groups beat the random start.
    /// </summary>
    [Collection("TorchSharp")]
    public class PretrainedEmbeddingTests
    {
        private readonly ITestOutputHelper _out;

        public PretrainedEmbeddingTests(ITestOutputHelper output) => _out = output;

        private const int Groups = 8;
        private const int Items = 160;
        private const int Dim = 8;

        private sealed class Row
        {
            [VectorType(1)] public float[] Noise { get; set; } = Array.Empty<float>();
            public uint Item { get; set; }
            [VectorType] public uint[] History { get; set; } = Array.Empty<uint>();
            public bool Label { get; set; }
        }

        /// <summary>Item i's hidden group (a fixed shuffle, unrelated to the id's order).</summary>
        private static int GroupOf(uint item) => (int)((item * 37u) % Groups);

        /// <summary>Each row: a history of 5 items of one group, a candidate of that group half of the time; the label is 1
        /// with probability 0.9 when the groups match, 0.1 otherwise.</summary>
        private static Row[] Rows(int count, int seed)
        {
            var rng = new Random(seed);
            var byGroup = Enumerable.Range(1, Items).Select(i => (uint)i).GroupBy(GroupOf).ToDictionary(g => g.Key, g => g.ToArray());
            uint Pick(int g) => byGroup[g][rng.Next(byGroup[g].Length)];
            return Enumerable.Range(0, count).Select(_ =>
            {
                int g = rng.Next(Groups);
                bool same = rng.Next(2) == 0;
                int cg = same ? g : (g + 1 + rng.Next(Groups - 1)) % Groups;
                return new Row
                {
                    Noise = new[] { (float)rng.NextDouble() },
                    Item = Pick(cg),
                    History = Enumerable.Range(0, 5).Select(_ => Pick(g)).ToArray(),
                    Label = rng.NextDouble() < (same ? 0.9 : 0.1),
                };
            }).ToArray();
        }

        /// <summary>Vectors that encode the groups: the group's one-hot (of <see cref="Dim"/>) plus N(0, 0.05²) noise, for the
        /// items <paramref name="ids"/> (and an id no row holds).</summary>
        private static PretrainedEmbeddings GroupVectors(IEnumerable<uint> ids, int seed = 11)
        {
            var rng = new Random(seed);
            double Normal() => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
            var d = new Dictionary<string, float[]>();
            foreach (var id in ids.Append(9999u))
                d[id.ToString(System.Globalization.CultureInfo.InvariantCulture)] = Enumerable.Range(0, Dim).Select(j => (float)((j == GroupOf(id) ? 1.0 : 0.0) + 0.05 * Normal())).ToArray();
            return new PretrainedEmbeddings(d);
        }

        private static MultiTaskEstimator.Options Options(PretrainedEmbeddings? vectors, bool freeze, int epochs = 2, IdEncoding? encoding = null, bool onSequence = false)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 32 }, TowerLayers = new[] { 16 },
                Epochs = epochs, BatchSize = 64, LearningRate = 3e-3, Seed = 5, NumberOfThreads = 1, ShuffleBufferSize = 1000,
            };
            o.Features.Add(new DenseFeature("Noise"));
            o.Features.Add(new CategoricalFeature("Item", Dim) { Encoding = encoding, HashBits = 10, InitialEmbeddings = onSequence ? null : vectors, FreezeEmbeddings = !onSequence && freeze });
            // the history shares the item table: the vectors may be set on either feature (the table is initialised once)
            o.Features.Add(new SequenceFeature("History") { SharedEmbeddingWith = "Item", MaximumLength = 5, InitialEmbeddings = onSequence ? vectors : null, FreezeEmbeddings = onSequence && freeze });
            o.Tasks.Add(new TaskSpec("Match", "Label"));
            return o;
        }

        private static float[] Table(MultiTaskTransformer model, int table = 0)
            => model.Network.Encoders[0].named_parameters().First(p => p.name == $"tables.{table}.weight").parameter.detach().cpu().data<float>().ToArray();

        /// <summary>The item table's row of each item id: ML.NET's by-occurrence dictionary of the Item column (row 0 = unknown).</summary>
        private static Dictionary<uint, int> DictionaryRows(Row[] rows)
        {
            var map = new Dictionary<uint, int>();
            foreach (var r in rows)
                if (!map.ContainsKey(r.Item))
                    map[r.Item] = map.Count + 1;
            return map;
        }

        private static float[] Column(IDataView scored, string name) => scored.GetColumn<float[]>(name).Select(v => v[0]).ToArray();

        [Fact]
        public void FrozenTableStartsAtTheVectors_StaysThere_AndIsWhatTheOnnxGraphHolds()
        {
            var rows = Rows(600, 1);
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            // vectors for items 1..150 only: items 151..160 keep the random start
            var vectors = GroupVectors(Enumerable.Range(1, 150).Select(i => (uint)i));
            var log = new List<string>();
            ml.Log += (_, e) => { if (e.Message.Contains("InitialEmbeddings") || e.Message.Contains("pretrained")) log.Add(e.Message); };
            using var model = ml.Ranker().Trainers.MultiTask(Options(vectors, freeze: true)).Fit(data);
            var rowOf = DictionaryRows(rows);
            var trained = Table(model);
            Assert.Equal((rowOf.Count + 1) * Dim, trained.Length);

            // the start a run without vectors draws (same seed): the frozen table must be it, with the pretrained rows replaced
            var table = model.Layout.Tables[0];
            var (keepRows, keepValues) = (table.InitialRows, table.InitialValues);
            float[] Start(bool withVectors)
            {
                table.InitialRows = withVectors ? keepRows : null;
                table.InitialValues = withVectors ? keepValues : null;
                torch.manual_seed(model.Seed);
                using var net = new MultiTaskNetwork(model.Layout, model.Options);
                table.InitialRows = keepRows;
                table.InitialValues = keepValues;
                return net.Encoders[0].named_parameters().First(p => p.name == "tables.0.weight").parameter.detach().cpu().data<float>().ToArray();
            }
            var random = Start(false);
            Assert.Equal(Start(true), trained);                    // frozen: training left every row where it started
            int fromVectors = 0, fallback = 0;
            for (int r = 0; r <= rowOf.Count; r++)
            {
                uint? id = rowOf.FirstOrDefault(p => p.Value == r) is { Key: > 0 } p ? p.Key : null;
                var row = trained.AsSpan(r * Dim, Dim).ToArray();
                if (id is { } i && vectors.TryGetVector(i.ToString(System.Globalization.CultureInfo.InvariantCulture), out var v))
                {
                    Assert.Equal(v.ToArray(), row);
                    fromVectors++;
                }
                else
                {
                    // unknown row 0 and items without a vector: the random start of a run without vectors
                    Assert.Equal(random.AsSpan(r * Dim, Dim).ToArray(), row);
                    Assert.NotEqual(0f, row.Select(Math.Abs).Max());
                    fallback++;
                }
            }
            Assert.Equal(rowOf.Keys.Count(i => i <= 150), fromVectors);
            Assert.Equal(1 + rowOf.Keys.Count(i => i > 150), fallback);
            Assert.True(fallback > 1, "some items of the data have no vector");
            // the counts reach the MLContext log
            Assert.Contains(log, m => m.Contains("Item") && m.Contains($"{fromVectors} of the table's {rowOf.Count} ids start from pretrained vectors") && m.Contains("frozen"));

            // the exported graph's embedding initializer is the frozen table
            var graph = OnnxModelProto.Parse(model.OnnxModel.ToArray()).Graph;
            var init = graph.Initializer.Single(t => t.Dims.SequenceEqual(new long[] { rowOf.Count + 1, Dim }));
            var exported = init.FloatData.Count > 0 ? init.FloatData.ToArray() : MemoryMarshalFloats(init.RawData.ToByteArray());
            Assert.Equal(trained, exported);
        }

        private static float[] MemoryMarshalFloats(byte[] raw)
        {
            var f = new float[raw.Length / 4];
            Buffer.BlockCopy(raw, 0, f, 0, raw.Length);
            return f;
        }

        [Fact]
        public void FineTunedRowsMove_SetOnTheSharingSequence_AndTheModelReloadsWithIdenticalScores()
        {
            var rows = Rows(600, 2);
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var vectors = GroupVectors(Enumerable.Range(1, Items).Select(i => (uint)i));
            using var model = ml.Ranker().Trainers.MultiTask(Options(vectors, freeze: false, onSequence: true)).Fit(data);
            var rowOf = DictionaryRows(rows);
            var trained = Table(model);
            int moved = rowOf.Count(p => vectors.TryGetVector(p.Key.ToString(System.Globalization.CultureInfo.InvariantCulture), out var v)
                && !v.ToArray().SequenceEqual(trained.AsSpan(p.Value * Dim, Dim).ToArray()));
            Assert.Equal(rowOf.Count, moved);                  // every item the data holds was updated

            // same seed, same data: the same model; another seed (other batches, other random rows elsewhere): another one
            using (var again = new MLContext(seed: 1).Ranker().Trainers.MultiTask(Options(vectors, freeze: false, onSequence: true)).Fit(data))
                Assert.Equal(trained, Table(again));
            var otherSeed = Options(vectors, freeze: false, onSequence: true);
            otherSeed.Seed = 6;
            using (var other = new MLContext(seed: 1).Ranker().Trainers.MultiTask(otherSeed).Fit(data))
                Assert.NotEqual(trained, Table(other));

            var scored = model.Transform(data);
            var path = Path.Combine(Path.GetTempPath(), $"pretrained-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var ml2 = new MLContext(seed: 9);
                var loaded = ml2.Model.Load(path, out _);
                var rescored = loaded.Transform(ml2.Data.LoadFromEnumerable(rows));
                Assert.Equal(Column(scored, "MatchProbability"), Column(rescored, "MatchProbability"));
                (loaded as IDisposable)?.Dispose();
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void ResumingFromACheckpointGivesTheUninterruptedModel_AndOtherVectorsAreRefused()
        {
            var rows = Rows(400, 8);
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var vectors = GroupVectors(Enumerable.Range(1, Items).Select(i => (uint)i));
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-pretrained-ck-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                MultiTaskEstimator.Options WithCheckpoint(PretrainedEmbeddings v, int epochs, bool resume)
                {
                    var o = Options(v, freeze: false, epochs: epochs);
                    o.CheckpointPath = Path.Combine(dir, "run");
                    o.ResumeFromCheckpoint = resume;
                    return o;
                }
                using var whole = ml.Ranker().Trainers.MultiTask(Options(vectors, freeze: false, epochs: 3)).Fit(data);
                ml.Ranker().Trainers.MultiTask(WithCheckpoint(vectors, 1, false)).Fit(data).Dispose();
                // other vectors (one value changed): another run, refused
                var other = new PretrainedEmbeddings(vectors.Ids.ToDictionary(id => id, id =>
                {
                    vectors.TryGetVector(id, out var v);
                    var a = v.ToArray();
                    if (id == "1")
                        a[0] += 1e-3f;
                    return a;
                }));
                var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(WithCheckpoint(other, 3, true)).Fit(data));
                Assert.Contains("different training run", ex.Message);
                Assert.Contains("pretrained", ex.Message);
                using var resumed = ml.Ranker().Trainers.MultiTask(WithCheckpoint(vectors, 3, true)).Fit(data);
                Assert.Equal(3, resumed.History.Count);
                Assert.Equal(Table(whole), Table(resumed));
                Assert.Equal(Column(whole.Transform(data), "MatchProbability"), Column(resumed.Transform(data), "MatchProbability"));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void HashedIdsStartTheRowsTheirHashSelects()
        {
            var rows = Rows(300, 3);
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var vectors = GroupVectors(Enumerable.Range(1, Items).Select(i => (uint)i));
            using var model = ml.Ranker().Trainers.MultiTask(Options(vectors, freeze: true, epochs: 1, encoding: IdEncoding.Hash)).Fit(data);
            var trained = Table(model);
            // the rows the history column's own ids hash to, by ML.NET's Hash over that (vector) column: the sequence's path
            var hashed = ml.Transforms.Conversion.Hash("H", "History", 10).Fit(data).Transform(data);
            var keys = hashed.GetColumn<uint[]>("H").ToArray();
            var keyOf = new Dictionary<uint, uint>();
            for (int r = 0; r < rows.Length; r++)
                for (int j = 0; j < rows[r].History.Length; j++)
                    Assert.Equal(keyOf.TryAdd(rows[r].History[j], keys[r][j]) ? keys[r][j] : keyOf[rows[r].History[j]], keys[r][j]);
            int checkedRows = 0;
            // rows only one of the data's ids hashes to hold its vector (unless an id outside the data shares the row: then
            // the mean of the two, which the count below allows for by needing most, not all, rows)
            foreach (var g in keyOf.GroupBy(p => p.Value).Where(g => g.Count() == 1))
            {
                uint id = g.Single().Key;
                Assert.True(vectors.TryGetVector(id.ToString(System.Globalization.CultureInfo.InvariantCulture), out var v));
                if (v.ToArray().SequenceEqual(trained.AsSpan((int)g.Key * Dim, Dim).ToArray()))
                    checkedRows++;
            }
            Assert.True(checkedRows > 100, $"only {checkedRows} hashed rows hold their id's vector");
        }

        [Fact]
        public void BadInputIsRefusedNamingTheFeature()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Rows(200, 4));
            // dimension mismatch: at construction, naming the feature and both dimensions
            var three = new PretrainedEmbeddings(new Dictionary<string, float[]> { ["1"] = new float[3] });
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(Options(three, freeze: false)));
            Assert.Contains("'Item'", ex.Message);
            Assert.Contains("dimension 3", ex.Message);
            Assert.Contains($"dimension {Dim}", ex.Message);
            // the sharing sequence: the message names it and the table it shares
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(Options(three, freeze: false, onSequence: true)));
            Assert.Contains("'History'", ex.Message);
            Assert.Contains("shares with 'Item'", ex.Message);
            // vectors on both features of one table
            var ok = GroupVectors(new uint[] { 1, 2 });
            var both = Options(ok, freeze: false);
            ((SequenceFeature)both.Features[2]).InitialEmbeddings = ok;
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(both));
            Assert.Contains("initialised once", ex.Message);
            // FreezeEmbeddings without vectors
            var frozenAlone = Options(null, freeze: false);
            ((CategoricalFeature)frozenAlone.Features[1]).FreezeEmbeddings = true;
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(frozenAlone));
            Assert.Contains("FreezeEmbeddings needs InitialEmbeddings", ex.Message);
            // no pretrained id is an id of the table (e.g. prefixed ids): refused at Fit, naming the feature and an id
            var prefixed = new PretrainedEmbeddings(Enumerable.Range(1, 5).ToDictionary(i => $"item_{i}", _ => new float[Dim]));
            var none = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(Options(prefixed, freeze: false)).Fit(data));
            Assert.Contains("'Item'", none.Message);
            Assert.Contains("item_1", none.Message);
            // a hashed integer column: an id that is not an integer cannot be one of its values
            var text = new PretrainedEmbeddings(new Dictionary<string, float[]> { ["1"] = new float[Dim], ["abc"] = new float[Dim] });
            var bad = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(Options(text, freeze: false, encoding: IdEncoding.Hash)).Fit(data));
            Assert.Contains("'Item'", bad.Message);
            Assert.Contains("'abc'", bad.Message);
            // the vectors themselves: duplicate ids, ragged or non-finite vectors
            Assert.Contains("same length", Assert.Throws<ArgumentException>(() => new PretrainedEmbeddings(new Dictionary<string, float[]> { ["1"] = new float[2], ["2"] = new float[3] })).Message);
            Assert.Contains("non-finite", Assert.Throws<ArgumentException>(() => new PretrainedEmbeddings(new Dictionary<string, float[]> { ["1"] = new[] { float.NaN } })).Message);
            var dupView = ml.Data.LoadFromEnumerable(new[] { new IdVector { Id = "7", Embedding = new float[2] }, new IdVector { Id = "7", Embedding = new float[2] } });
            Assert.Contains("'7' occurs more than once", Assert.Throws<ArgumentException>(() => PretrainedEmbeddings.FromDataView(dupView)).Message);
            Assert.Contains("'Missing'", Assert.Throws<ArgumentOutOfRangeException>(() => PretrainedEmbeddings.FromDataView(dupView, "Missing")).Message);
        }

        private sealed class IdVector
        {
            public string Id { get; set; } = "";
            [VectorType(2)] public float[] Embedding { get; set; } = Array.Empty<float>();
        }

        [Fact]
        public void FromDataViewAndFromNodeEmbeddingsReadTheVectors()
        {
            var ml = new MLContext(seed: 1);
            var view = ml.Data.LoadFromEnumerable(new[] { new IdVector { Id = "a", Embedding = new[] { 1f, 2f } }, new IdVector { Id = "b", Embedding = new[] { 3f, 4f } } });
            var p = PretrainedEmbeddings.FromDataView(view);
            Assert.Equal(2, p.Dimension);
            Assert.Equal(new[] { "a", "b" }, p.Ids);
            Assert.True(p.TryGetVector("b", out var b));
            Assert.Equal(new[] { 3f, 4f }, b.ToArray());
            Assert.False(p.TryGetVector("c", out _));

            // metapath2vec's node vectors, ids as text: the same vectors
            var edges = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 40).Select(i => new Edge { SourceId = (uint)(i % 10), SourceType = "User", TargetId = (uint)(1 + i % 7), TargetType = "Item" }));
            var m2v = ml.Ranker().Transforms.Metapath2Vec(edges, new MLNetRank.Graph.Metapath2VecEstimator.Options { Metapaths = new[] { "Item-User-Item" }, Dimension = 4, Epochs = 1, NumberOfThreads = 1, Seed = 1 },
                new InputOutputColumnPair("UserEmbedding", "UserId")).Fit(ml.Data.LoadFromEnumerable(new[] { new UserRow { UserId = 1 } }));
            var items = m2v.GetEmbeddings("Item");
            var q = PretrainedEmbeddings.FromNodeEmbeddings(items);
            Assert.Equal(items.Count, q.Count);
            Assert.Equal(4, q.Dimension);
            for (int i = 0; i < items.Count; i++)
            {
                Assert.True(q.TryGetVector(items.Ids[i], out var v));
                Assert.Equal(items.GetVector(i).ToArray(), v.ToArray());
            }
        }

        /// <summary>docs/multitask.md, "Pretrained embedding tables": the snippet, on the simulator's columns.</summary>
        [Fact]
        public void DocsSnippet_Metapath2VecItemVectorsStartTheItemTable()
        {
            var mlContext = new MLContext(seed: 1);
            var trainingData = new MLNetRank.Simulation.LiveStreamSimulator(MLNetRank.Torch.Tests.Sequences.SequenceNetworkTests.SimOptions(80)).GetImpressions(mlContext);
            // --- snippet ---
            // 1. Item vectors from the training logs only: one (user, clicked item) edge per pair in the click histories
            var users = trainingData.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var histories = trainingData.GetColumn<uint[]>(ImpressionColumns.UserItemSeq).ToArray();
            var pairs = users.Zip(histories, (u, items) => items.Where(i => i > 0).Select(i => (u, i))).SelectMany(x => x).Distinct();
            IDataView edges = mlContext.Data.LoadFromEnumerable(pairs.Select(p => new Edge { SourceId = p.u, SourceType = "User", TargetId = p.i, TargetType = "Item" }));
            var m2v = mlContext.Ranker().Transforms.Metapath2Vec(edges,
                    new MLNetRank.Graph.Metapath2VecEstimator.Options { Metapaths = { "Item-User-Item" }, Dimension = 16, Seed = 1 },
                    new InputOutputColumnPair("UserEmbedding", ImpressionColumns.UserId))
                .Fit(trainingData);
            var itemVectors = PretrainedEmbeddings.FromNodeEmbeddings(m2v.GetEmbeddings("Item"));

            // 2. The item table (owned by LiveItemsOnSale, shared by the clicked items) starts from them
            var o = new MultiTaskEstimator.Options { Epochs = 1 };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveItemsOnSale, 16)
            {
                MaximumLength = 8,
                InitialEmbeddings = itemVectors,     // Dimension 16 = EmbeddingDimension
                FreezeEmbeddings = false,            // fine-tune (default); true keeps the table as pretrained
            });
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserItemSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true,
                Pooling = new TargetAttentionPooling(ImpressionColumns.LiveItemsOnSale),
            });
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
            using var model = mlContext.Ranker().Trainers.MultiTask(o).Fit(trainingData);
            // --- end of snippet ---
            Assert.True(double.IsFinite(model.History[^1].TrainingLoss));
            Assert.NotNull(model.Layout.Tables[0].InitialRows);
            Assert.True(model.Layout.Tables[0].InitialRows!.Length > 0);
        }

        private sealed class Edge
        {
            public uint SourceId { get; set; }
            public string SourceType { get; set; } = "";
            public uint TargetId { get; set; }
            public string TargetType { get; set; } = "";
        }

        private sealed class UserRow
        {
            public uint UserId { get; set; }
        }

        /// <summary>The known answer: the label depends on the candidate's hidden group matching the history's. With few rows per
        /// item the random start cannot learn the groups from the labels; vectors that encode them (frozen or fine-tuned) can.</summary>
        [Fact]
        public void VectorsEncodingTheHiddenGroupsBeatTheRandomStart()
        {
            var train = Rows(800, 6);
            var test = Rows(2000, 7);
            var ml = new MLContext(seed: 1);
            var trainView = ml.Data.LoadFromEnumerable(train);
            var testView = ml.Data.LoadFromEnumerable(test);
            var labels = test.Select(r => r.Label).ToArray();
            double Auc(PretrainedEmbeddings? v, bool freeze)
            {
                using var model = ml.Ranker().Trainers.MultiTask(Options(v, freeze, epochs: 4)).Fit(trainView);
                return RankerMetrics.Auc(Column(model.Transform(testView), "MatchScore"), labels);
            }
            var vectors = GroupVectors(Enumerable.Range(1, Items).Select(i => (uint)i));
            double random = Auc(null, false), frozen = Auc(vectors, true), tuned = Auc(vectors, false);
            _out.WriteLine($"test AUC: random start {random:F4}, frozen group vectors {frozen:F4}, fine-tuned {tuned:F4}");
            // the label's ceiling: AUC of the true P(label) (0.9 / 0.1) on these rows is 0.9 at most
            Assert.True(frozen > random + 0.1, $"frozen group vectors {frozen:F4} vs random start {random:F4}");
            Assert.True(tuned > random + 0.1, $"fine-tuned group vectors {tuned:F4} vs random start {random:F4}");
        }
    }
}
