using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Torch.MultiTask;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// <see cref="PretrainedEmbeddings.FromSequences"/>: item vectors learned from the histories alone (no labels, no hidden
    /// groups) put items clicked by the same users together, are a deterministic function of the seed, start an item table
    /// that then beats the random start on a label made of the hidden groups, and bad input is refused naming the column.
    /// </summary>
    [Collection("TorchSharp")]
    public class FromSequencesTests
    {
        private readonly ITestOutputHelper _out;

        public FromSequencesTests(ITestOutputHelper output) => _out = output;

        private const int Groups = 8;
        private const int Items = 160;
        private const int Dim = 8;

        private sealed class Row
        {
            public uint User { get; set; }
            [VectorType(1)] public float[] Noise { get; set; } = Array.Empty<float>();
            public uint Item { get; set; }
            [VectorType] public uint[] History { get; set; } = Array.Empty<uint>();
            public bool Label { get; set; }
        }

        /// <summary>Item i's hidden group (a fixed shuffle, unrelated to the id's order).</summary>
        private static int GroupOf(uint item) => (int)((item * 37u) % Groups);

        /// <summary>Users 1..users, each with one hidden group (user % Groups); a row: the user's history of 5 items of the
        /// group (a 0 for padding at the end), a candidate of that group half of the time; the label is 1 with probability 0.9
        /// when the candidate's group is the history's, 0.1 otherwise.</summary>
        private static Row[] Rows(int count, int users, int seed)
        {
            var rng = new Random(seed);
            var byGroup = Enumerable.Range(1, Items).Select(i => (uint)i).GroupBy(GroupOf).ToDictionary(g => g.Key, g => g.ToArray());
            uint Pick(int g) => byGroup[g][rng.Next(byGroup[g].Length)];
            return Enumerable.Range(0, count).Select(_ =>
            {
                uint user = (uint)(1 + rng.Next(users));
                int g = (int)(user % Groups);
                bool same = rng.Next(2) == 0;
                int cg = same ? g : (g + 1 + rng.Next(Groups - 1)) % Groups;
                return new Row
                {
                    User = user,
                    Noise = new[] { (float)rng.NextDouble() },
                    Item = Pick(cg),
                    History = Enumerable.Range(0, 5).Select(_ => Pick(g)).Append(0u).ToArray(),
                    Label = rng.NextDouble() < (same ? 0.9 : 0.1),
                };
            }).ToArray();
        }

        /// <summary>Walk options: one thread (deterministic), the seed given.</summary>
        private static MLNetRank.Graph.Metapath2VecEstimator.Options Walks(int seed) => new() { NumberOfThreads = 1, Seed = seed };

        /// <summary>Share of each item's 5 nearest neighbours (cosine) in its own hidden group.</summary>
        private static double GroupPurity(PretrainedEmbeddings v)
        {
            var ids = v.Ids.Select(uint.Parse).ToArray();
            var unit = ids.Select(id =>
            {
                v.TryGetVector(id.ToString(System.Globalization.CultureInfo.InvariantCulture), out var x);
                var a = x.ToArray();
                double n = Math.Sqrt(a.Sum(t => (double)t * t));
                return a.Select(t => t / n).ToArray();
            }).ToArray();
            double hits = 0;
            for (int a = 0; a < ids.Length; a++)
                hits += Enumerable.Range(0, ids.Length).Where(b => b != a)
                    .OrderByDescending(b => unit[a].Zip(unit[b], (p, q) => p * q).Sum()).Take(5)
                    .Count(b => GroupOf(ids[b]) == GroupOf(ids[a])) / 5.0;
            return hits / ids.Length;
        }

        [Fact]
        public void ItemsClickedByTheSameUsersEndUpTogether_AndTheSeedDecidesTheVectors()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Rows(600, 120, 3));
            var v = PretrainedEmbeddings.FromSequences(ml, data, "User", "History", Dim, Walks(3));
            Assert.Equal(Dim, v.Dimension);
            // every item of the histories has a vector, padding (0) none
            var inHistories = Rows(600, 120, 3).SelectMany(r => r.History).Where(i => i > 0).Distinct().Count();
            Assert.Equal(inHistories, v.Count);
            Assert.False(v.TryGetVector("0", out _));
            double purity = GroupPurity(v);
            _out.WriteLine($"{v.Count} items, 5-NN in own group {purity:F3} (chance {1.0 / Groups:F3})");
            Assert.True(purity > 0.6, $"5-NN in own group {purity:F3}");
            // same seed: the same vectors; another seed: other vectors
            var again = PretrainedEmbeddings.FromSequences(new MLContext(seed: 1), data, "User", "History", Dim, Walks(3));
            var other = PretrainedEmbeddings.FromSequences(new MLContext(seed: 1), data, "User", "History", Dim, Walks(4));
            Assert.Equal(v.Ids, again.Ids);
            bool allEqual = true, anyDiffer = false;
            foreach (var id in v.Ids)
            {
                v.TryGetVector(id, out var a);
                again.TryGetVector(id, out var b);
                other.TryGetVector(id, out var c);
                allEqual &= a.SequenceEqual(b);
                anyDiffer |= !a.SequenceEqual(c);
            }
            Assert.True(allEqual, "same seed, other vectors");
            Assert.True(anyDiffer, "another seed gave the same vectors");
        }

        /// <summary>The known answer: the label is "the candidate's hidden group is the history's". Vectors learned from the
        /// training rows' histories alone start a frozen item table that beats the random start by a wide margin.</summary>
        [Fact]
        public void VectorsFromTheHistoriesBeatTheRandomStart()
        {
            var train = Rows(800, 160, 6);
            var test = Rows(2000, 160, 7);
            var ml = new MLContext(seed: 1);
            var trainView = ml.Data.LoadFromEnumerable(train);
            var testView = ml.Data.LoadFromEnumerable(test);
            var labels = test.Select(r => r.Label).ToArray();
            double Auc(PretrainedEmbeddings? v)
            {
                var o = new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.SharedBottom, ExpertLayers = new[] { 32 }, TowerLayers = new[] { 16 },
                    Epochs = 4, BatchSize = 64, LearningRate = 3e-3, Seed = 5, NumberOfThreads = 1, ShuffleBufferSize = 1000,
                };
                o.Features.Add(new DenseFeature("Noise"));
                o.Features.Add(new CategoricalFeature("Item", Dim) { InitialEmbeddings = v, FreezeEmbeddings = v is not null });
                o.Features.Add(new SequenceFeature("History") { SharedEmbeddingWith = "Item", MaximumLength = 6 });
                o.Tasks.Add(new TaskSpec("Match", "Label"));
                using var model = ml.Ranker().Trainers.MultiTask(o).Fit(trainView);
                return RankerMetrics.Auc(model.Transform(testView).GetColumn<float[]>("MatchScore").Select(s => s[0]).ToArray(), labels);
            }
            var vectors = PretrainedEmbeddings.FromSequences(ml, trainView, "User", "History", Dim, Walks(2));
            double random = Auc(null), learned = Auc(vectors);
            _out.WriteLine($"test AUC: random start {random:F4}, vectors from the histories (frozen) {learned:F4}");
            // the label's ceiling: AUC of the true P(label) (0.9 / 0.1) is 0.9 at most
            Assert.True(learned > random + 0.1, $"vectors from the histories {learned:F4} vs random start {random:F4}");
        }

        private sealed class BadRow
        {
            public float User { get; set; }
            public uint UserId { get; set; }
            public uint Single { get; set; }
            [VectorType(2)] public float[] Floats { get; set; } = Array.Empty<float>();
            [VectorType(2)] public uint[] Empty { get; set; } = Array.Empty<uint>();
        }

        [Fact]
        public void BadInputIsRefusedNamingTheColumn()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new BadRow { User = 1, UserId = 1, Single = 3, Floats = new[] { 1f, 2f }, Empty = new uint[2] } });
            void Refused(Action a, string expected)
            {
                var e = Assert.ThrowsAny<ArgumentException>(a);
                Assert.Contains(expected, e.Message);
            }
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "Nope", "Empty", Dim), "user column 'Nope' was not found");
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "UserId", "Nope", Dim), "sequence column 'Nope' was not found");
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "User", "Empty", Dim), "user column 'User' must be a scalar of an integer, key or text type");
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "UserId", "Single", Dim), "sequence column 'Single' must be a vector");
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "UserId", "Floats", Dim), "sequence column 'Floats' must be a vector of an integer, key or text type");
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "UserId", "Empty", 0), "dimension must be >= 1");
            Refused(() => PretrainedEmbeddings.FromSequences(ml, data, "UserId", "Empty", Dim), "column 'Empty' holds no item id");
        }
    }
}
