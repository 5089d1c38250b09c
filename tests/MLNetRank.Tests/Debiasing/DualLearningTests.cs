using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>
    /// The dual learning algorithm (<c>mlContext.Ranker().Trainers.DualLearning</c>) on simulated position-based clicks with a
    /// known examination curve (1/rank)^η and a known relevance: the learned propensities recover the curve, the ranker
    /// orders unseen lists by the true relevance better than the same network trained on raw clicks, the result depends on
    /// the seed only through noise, and bad input fails with the column named.
    /// </summary>
    public class DualLearningTests
    {
        private readonly Xunit.Abstractions.ITestOutputHelper _out;

        public DualLearningTests(Xunit.Abstractions.ITestOutputHelper output) => _out = output;

        private const int Dim = 5;

        private sealed class Impression
        {
            [VectorType(Dim)]
            public float[] Features { get; set; } = Array.Empty<float>();
            public int Position { get; set; }
            public bool Click { get; set; }
            public uint Session { get; set; }
            public uint Item { get; set; }
        }

        private sealed class Doc
        {
            [VectorType(Dim)]
            public float[] Features { get; set; } = Array.Empty<float>();
        }

        /// <summary>The truth of the simulation: relevance γ(x) = 0.05 + 0.9 σ(1.5 x0 + 0.7 x1 − 0.5 x2).</summary>
        private static double Relevance(float[] x) => 0.05 + 0.9 / (1 + Math.Exp(-(1.5 * x[0] + 0.7 * x[1] - 0.5 * x[2])));

        private static float[] Draw(Random rng)
        {
            var x = new float[Dim];
            for (int j = 0; j < Dim; j++)
                x[j] = (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
            return x;
        }

        /// <summary>
        /// <paramref name="queries"/> queries of 10 documents; a deterministic logger ranks them by x3 + 0.5 x1 (a poor ranker
        /// leaning on a feature the relevance ignores, so raw clicks credit x3); each session shows a random query's 10
        /// documents in the logger's order, clicks ~ Bernoulli((1/rank)^η · γ).
        /// </summary>
        private static (List<Impression> Log, List<float[]> Docs) Simulate(int queries, int sessions, double eta, int seed)
        {
            var rng = new Random(seed);
            var lists = new List<int[]>();
            var docs = new List<float[]>();
            for (int q = 0; q < queries; q++)
            {
                var ids = Enumerable.Range(docs.Count, 10).ToArray();
                for (int i = 0; i < 10; i++)
                    docs.Add(Draw(rng));
                lists.Add(ids.OrderByDescending(i => docs[i][3] + 0.5 * docs[i][1]).ToArray());
            }
            var log = new List<Impression>();
            for (int s = 0; s < sessions; s++)
            {
                var list = lists[rng.Next(queries)];
                for (int r = 1; r <= list.Length; r++)
                {
                    int d = list[r - 1];
                    bool click = rng.NextDouble() < Math.Pow(1.0 / r, eta) * Relevance(docs[d]);
                    log.Add(new Impression { Features = docs[d], Position = r, Click = click, Session = (uint)s, Item = (uint)d });
                }
            }
            return (log, docs);
        }

        /// <summary>Mean over lists of 10 fresh documents of the share of pairs ordered as the true relevance orders them.</summary>
        private static double Concordance(MLContext ml, ITransformer model, int seed)
        {
            var rng = new Random(seed);
            var docs = Enumerable.Range(0, 2000).Select(_ => Draw(rng)).ToList();
            var scores = model.Transform(ml.Data.LoadFromEnumerable(docs.Select(d => new Doc { Features = d }))).GetColumn<float[]>("Score").Select(v => v[0]).ToArray();
            double good = 0, pairs = 0;
            for (int q = 0; q < docs.Count / 10; q++)
                for (int i = q * 10; i < q * 10 + 10; i++)
                    for (int j = i + 1; j < q * 10 + 10; j++)
                    {
                        double t = Relevance(docs[i]) - Relevance(docs[j]);
                        double s = scores[i] - scores[j];
                        pairs++;
                        good += t * s > 0 ? 1 : s == 0 ? 0.5 : 0;
                    }
            return good / pairs;
        }

        private static DualLearningEstimator.Options Options(int seed, double maximumWeight = 100, int[]? hidden = null) => new()
        {
            HiddenLayers = hidden ?? Array.Empty<int>(), Epochs = 8, MaximumPosition = 9, ItemColumnName = "Item", Seed = seed, MaximumWeight = maximumWeight,
        };

        [Theory]
        [InlineData(2.0, 0)]
        [InlineData(1.0, 16)]
        [InlineData(2.0, 16)]
        public void LearnsTheSimulatedCurve_AndRanksBetterThanTheSameNetworkOnRawClicks(double eta, int hidden)
        {
            var ml = new MLContext(1);
            var (log, _) = Simulate(queries: 1000, sessions: 20000, eta, seed: 5);
            var view = ml.Data.LoadFromEnumerable(log);
            var h = hidden > 0 ? new[] { hidden } : Array.Empty<int>();
            using var dla = ml.Ranker().Trainers.DualLearning(Options(seed: 1, hidden: h)).Fit(view);
            // MaximumWeight = 1 clips every inverse propensity ratio (≥ 1) to 1: the same network and loss on raw clicks
            using var naive = ml.Ranker().Trainers.DualLearning(Options(seed: 1, maximumWeight: 1, hidden: h)).Fit(view);
            double worst = 0;
            for (int k = 1; k <= 10; k++)
            {
                double truth = Math.Pow(1.0 / k, eta);
                _out.WriteLine($"position {k}: true {truth:F4}, DLA {dla.GetPropensity(k):F4}, naive-clipped {naive.GetPropensity(k):F4}");
                worst = Math.Max(worst, Math.Abs(dla.GetPropensity(k) - truth));
            }
            double cDla = Concordance(ml, dla, 99), cNaive = Concordance(ml, naive, 99);
            _out.WriteLine($"eta {eta}, hidden {hidden}: max |error| {worst:F4}; concordance with the true relevance DLA {cDla:F4}, naive {cNaive:F4}; losses {string.Join(", ", dla.RankerLoss.Select(l => l.ToString("F3")))}");
            Assert.True(worst < 0.06, $"max propensity error {worst:F4}");
            Assert.True(cDla > cNaive + 0.03, $"DLA {cDla:F4} vs naive {cNaive:F4}");
            Assert.Equal(1.0, dla.Propensities[0], 12);
            Assert.Equal(PropensityEstimationMethod.DualLearning, dla.PropensityTransformer.Method);
        }

        [Fact]
        public void SameSeedGivesTheSameModel_AnotherSeedAnotherModelWithTheSameCurveWithinTheBound()
        {
            var ml = new MLContext(1);
            var (log, _) = Simulate(queries: 1000, sessions: 20000, eta: 1, seed: 7);
            var view = ml.Data.LoadFromEnumerable(log);
            var h = new[] { 16 };
            using var a = ml.Ranker().Trainers.DualLearning(Options(seed: 3, hidden: h)).Fit(view);
            using var b = ml.Ranker().Trainers.DualLearning(Options(seed: 3, hidden: h)).Fit(view);
            using var c = ml.Ranker().Trainers.DualLearning(Options(seed: 4, hidden: h)).Fit(view);
            var docs = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 200).Select(i => new Doc { Features = log[i].Features }));
            float[] Scores(ITransformer t) => t.Transform(docs).GetColumn<float[]>("Score").Select(v => v[0]).ToArray();
            Assert.Equal(Scores(a), Scores(b));
            Assert.Equal(a.Propensities, b.Propensities);
            Assert.NotEqual(Scores(a), Scores(c));
            Assert.NotEqual(a.Propensities, c.Propensities);
            for (int k = 1; k <= 10; k++)
            {
                Assert.True(Math.Abs(a.GetPropensity(k) - 1.0 / k) < 0.06, $"seed 3, position {k}: {a.GetPropensity(k):F4}");
                Assert.True(Math.Abs(c.GetPropensity(k) - 1.0 / k) < 0.06, $"seed 4, position {k}: {c.GetPropensity(k):F4}");
            }
            // a seed from the context when none is given: same context seed, same model
            var o = Options(seed: 0);
            o.Seed = null;
            using var d1 = new MLContext(11).Ranker().Trainers.DualLearning(o).Fit(view);
            using var d2 = new MLContext(11).Ranker().Trainers.DualLearning(o).Fit(view);
            Assert.Equal(Scores(d1), Scores(d2));
            // the item column only saves memory: without it (one feature vector per impression) the model is the same
            var perRow = Options(seed: 3, hidden: h);
            perRow.ItemColumnName = null;
            using var e = ml.Ranker().Trainers.DualLearning(perRow).Fit(view);
            Assert.Equal(a.Propensities, e.Propensities);
            Assert.Equal(Scores(a), Scores(e));
        }

        [Fact]
        public void SavedRanker_LoadsInANewContext_AndScoresIdentically_WithoutPositionOrSession()
        {
            var ml = new MLContext(1);
            var (log, _) = Simulate(queries: 200, sessions: 3000, eta: 1, seed: 9);
            // a missing feature value at serving is the training mean, as in training
            var docs = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 50).Select(i => new Doc { Features = i == 0 ? new[] { float.NaN, 1f, 0f, 0f, 0f } : log[i].Features }));
            var o = Options(seed: 1);
            o.Epochs = 2;
            var estimator = ml.Ranker().Trainers.DualLearning(o);
            var shape = estimator.GetOutputSchema(ShapeOf(ml.Data.LoadFromEnumerable(log)));
            Assert.Contains(shape, c => c.Name == "Score" && c.ItemType == NumberDataViewType.Single);
            using var model = estimator.Fit(ml.Data.LoadFromEnumerable(log));
            Assert.Equal(NumberDataViewType.Single, ((VectorDataViewType)model.GetOutputSchema(docs.Schema)["Score"].Type).ItemType);
            var expected = model.Transform(docs).GetColumn<float[]>("Score").Select(v => v[0]).ToArray();
            Assert.All(expected, v => Assert.True(float.IsFinite(v)));
            string dir = Path.Combine(Path.GetTempPath(), "mlnetrank-dla-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string path = Path.Combine(dir, "dla.zip");
                ml.Model.Save(model, docs.Schema, path);
                string curvePath = Path.Combine(dir, "curve.zip");
                var withPosition = ml.Data.LoadFromEnumerable(Enumerable.Range(1, 12).Select(p => new Impression { Features = new float[Dim], Position = p }));
                ml.Model.Save(model.PropensityTransformer, withPosition.Schema, curvePath);
                var fresh = new MLContext(2);
                var loaded = fresh.Model.Load(path, out _);
                var actual = loaded.Transform(fresh.Data.LoadFromEnumerable(docs.GetColumn<float[]>("Features").Select(f => new Doc { Features = f })))
                    .GetColumn<float[]>("Score").Select(v => v[0]).ToArray();
                Assert.Equal(expected, actual);
                var curve = fresh.Model.Load(curvePath, out _).Transform(withPosition).GetColumn<float>("Propensity").ToArray();
                for (int p = 1; p <= 12; p++)
                    Assert.Equal(model.GetPropensity(p), curve[p - 1], 5);
                (loaded as IDisposable)?.Dispose();
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void SimpleOverload_TakesTheColumnsInTrainerOrder_AndEqualsTheOptionsOverload()
        {
            var (log, _) = Simulate(queries: 200, sessions: 3000, eta: 1, seed: 13);
            MLContext Ml() => new MLContext(21);
            IDataView Renamed(MLContext ml) => ml.Transforms.CopyColumns("Clicked", "Click").Append(ml.Transforms.CopyColumns("X", "Features"))
                .Append(ml.Transforms.CopyColumns("Rank", "Position")).Append(ml.Transforms.CopyColumns("List", "Session"))
                .Fit(ml.Data.LoadFromEnumerable(log)).Transform(ml.Data.LoadFromEnumerable(log));
            var m1 = Ml();
            using var simple = m1.Ranker().Trainers.DualLearning("Clicked", "X", "Rank", "List", maximumPosition: 9).Fit(Renamed(m1));
            var m2 = Ml();
            using var full = m2.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options
            {
                LabelColumnName = "Clicked", FeatureColumnName = "X", PositionColumnName = "Rank", SessionColumnName = "List", MaximumPosition = 9,
            }).Fit(Renamed(m2));
            Assert.Equal(full.Propensities, simple.Propensities);
            Assert.True(simple.GetPropensity(2) < 0.8 && simple.GetPropensity(2) > 0.3, $"position 2: {simple.GetPropensity(2):F4}");
            var docs = m1.Data.LoadFromEnumerable(Enumerable.Range(0, 50).Select(i => new Doc { Features = log[i].Features }));
            var mapped = m1.Transforms.CopyColumns("X", "Features").Fit(docs).Transform(docs);
            Assert.Equal(full.Transform(mapped).GetColumn<float[]>("Score").Select(v => v[0]), simple.Transform(mapped).GetColumn<float[]>("Score").Select(v => v[0]));
            // the arguments in the old order (features before the label) fail naming the column and the type expected
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ml().Ranker().Trainers.DualLearning("X", "Clicked", "Rank", "List", 9).Fit(Renamed(Ml())));
            Assert.Contains("'Clicked'", e.Message);
            Assert.Contains("vector of Single", e.Message);
        }

        private sealed class BadImpression
        {
            [VectorType(Dim)]
            public float[] Features { get; set; } = new float[Dim];
            public float Position { get; set; } = 1;
            public float Click { get; set; }
            public uint Session { get; set; }
            public double Dense { get; set; }
        }

        // SchemaShape.Create(DataViewSchema) is internal in ML.NET 5 (the pipeline calls it): reached by reflection
        private static SchemaShape ShapeOf(IDataView data)
            => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Public)!
                .Invoke(null, new object[] { data.Schema })!;

        [Fact]
        public void BadInput_FailsNamingTheColumnOrTheOption()
        {
            var ml = new MLContext(1);
            var good = Enumerable.Range(0, 40).Select(i => new BadImpression { Position = i % 4 + 1, Click = i % 3 == 0 ? 1 : 0, Session = (uint)(i / 4) }).ToList();
            var o = new DualLearningEstimator.Options { MaximumPosition = 3, Epochs = 1 };
            // a missing session column and a mistyped feature column: from GetOutputSchema and from Fit
            var noSession = new DualLearningEstimator.Options { SessionColumnName = "Query", MaximumPosition = 3 };
            var view = ml.Data.LoadFromEnumerable(good);
            var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(noSession).GetOutputSchema(ShapeOf(view)));
            Assert.Contains("'Query'", e1.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(noSession).Fit(view));
            var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options { FeatureColumnName = "Dense" }).Fit(view));
            Assert.Contains("'Dense'", e2.Message);
            Assert.Contains("vector of Single", e2.Message);
            // position 0, a fractional position, a NaN click label
            var zero = good.Select(r => new BadImpression { Position = r.Session == 3 && r.Position == 2 ? 0 : r.Position, Click = r.Click, Session = r.Session }).ToList();
            var e3 = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.DualLearning(o).Fit(ml.Data.LoadFromEnumerable(zero)));
            Assert.Contains("'Position'", e3.Message);
            Assert.Contains("row 13", e3.Message);
            var nan = good.Select((r, i) => new BadImpression { Position = r.Position, Click = i == 5 ? float.NaN : r.Click, Session = r.Session }).ToList();
            var e4 = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.DualLearning(o).Fit(ml.Data.LoadFromEnumerable(nan)));
            Assert.Contains("'Click'", e4.Message);
            // no click at all, no impression at a bucket, infinite features
            var none = good.Select(r => new BadImpression { Position = r.Position, Session = r.Session }).ToList();
            Assert.Contains("No list has a click", Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.DualLearning(o).Fit(ml.Data.LoadFromEnumerable(none))).Message);
            var deep = new DualLearningEstimator.Options { MaximumPosition = 6, Epochs = 1 };
            Assert.Contains("MaximumPosition", Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.DualLearning(deep).Fit(view)).Message);
            var inf = good.Select((r, i) => new BadImpression { Features = i == 6 ? new[] { 0f, float.PositiveInfinity, 0, 0, 0 } : new float[Dim], Position = r.Position, Click = r.Click, Session = r.Session }).ToList();
            Assert.Contains("'Features'", Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.DualLearning(o).Fit(ml.Data.LoadFromEnumerable(inf))).Message);
            // options
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options { Epochs = 0 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options { MaximumWeight = 0.5 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options { HiddenLayers = new[] { 0 } }));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options { LearningRate = double.NaN }));
            Assert.Contains("DualLearning", Assert.Throws<ArgumentException>(() => ml.Ranker().Transforms.EstimatePositionPropensity(
                new PositionPropensityEstimator.Options { Method = PropensityEstimationMethod.DualLearning })).Message);
            // a learning rate that makes the ranker diverge is an error, not a model
            var huge = new DualLearningEstimator.Options { MaximumPosition = 3, Epochs = 3, LearningRate = 1e30, PropensityLearningRate = 1e30 };
            var diverging = good.Select((r, i) => new BadImpression { Features = Enumerable.Range(0, Dim).Select(j => (float)((i * 7 + j * 3) % 5)).ToArray(), Position = r.Position, Click = r.Click, Session = r.Session }).ToList();
            Assert.Contains("diverged", Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.DualLearning(huge).Fit(ml.Data.LoadFromEnumerable(diverging))).Message);
        }
    }
}
