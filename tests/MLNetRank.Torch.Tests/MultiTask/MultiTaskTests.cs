using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.TestSupport;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    [Collection("TorchSharp")]
    public class MultiTaskTests
    {
        private static (MLContext Ml, IDataView Data, List<Impression> Rows) Data(int n = 600, int seed = 1)
        {
            var ml = new MLContext(seed: 1);
            var rows = Fixture.Make(n, seed);
            return (ml, Fixture.Load(ml, rows), rows);
        }

        [Fact]
        public void OptionsAreValidatedWithClearMessages()
        {
            var ml = new MLContext(1);
            var empty = new MultiTaskEstimator.Options();
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(empty));
            Assert.Contains("Features", ex.Message);

            var o = Fixture.FullOptions();
            o.Tasks.Add(new TaskSpec("Follow", "Follow") { ConditionedOn = "Nope" });
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("'Nope'", ex.Message);

            o = Fixture.FullOptions();
            o.EarlyStoppingMetric = "Stay.Auc";
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("Stay.Auc", ex.Message);

            o = Fixture.FullOptions();
            o.Features.Add(new SequenceFeature("UserSeq") { SharedEmbeddingWith = "ItemId" });
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("'ItemId'", ex.Message);

            o = Fixture.FullOptions(MultiTaskArchitecture.MMoE);
            o.ExpertLayers = Array.Empty<int>();
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("ExpertLayers", ex.Message);
            Assert.Contains("SharedBottom", ex.Message);
        }

        [Fact]
        public void MissingOrMistypedColumnsAreNamed()
        {
            var (ml, data, _) = Data(50);
            var o = Fixture.FullOptions();
            o.Features.Add(new DenseFeature("Missing"));
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
            Assert.Contains("'Missing'", ex.Message);

            o = Fixture.FullOptions();
            o.Tasks.Add(new TaskSpec("Pos", "Position"));
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
            Assert.Contains("'Position'", ex.Message);
            Assert.Contains("Boolean or Single", ex.Message);

            o = Fixture.FullOptions();
            o.Features.Add(new DenseFeature("Position"));
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(o).GetOutputSchema(MLNetRank.TestSupport.Shapes.Of(data.Schema)));
            Assert.Contains("'Position'", ex.Message);
            Assert.Contains("Single", ex.Message);
        }

        [Fact]
        public void NonFiniteFeaturesAndBadLabelsFailWithTheColumnName()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(100, 3);
            rows[17].Features[2] = float.NaN;
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1)).Fit(Fixture.Load(ml, rows)));
            Assert.Contains("'Features'", ex.Message);
            Assert.Contains("row 17", ex.Message);

            rows = Fixture.Make(100, 3);
            rows[5].StayTime = -2f;
            ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1)).Fit(Fixture.Load(ml, rows)));
            Assert.Contains("'StayTime'", ex.Message);
        }

        [Fact]
        public void CudaWithoutACudaBackendFailsClearly()
        {
            // this test project references the CPU backend only
            var (ml, data, _) = Data(50);
            var o = Fixture.FullOptions(epochs: 1);
            o.Device = "cuda";
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
            Assert.Contains("CUDA is not available", ex.Message);
        }

        [Fact]
        public void OutputSchemaHasScoreAndProbabilityPerTask()
        {
            var (ml, data, _) = Data(300);
            var est = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1));
            var shape = est.GetOutputSchema(Shapes.Of(data.Schema));
            var expected = new[] { "ClickScore", "ClickProbability", "BuyScore", "BuyProbability", "BuyJointProbability", "StayScore" };
            Assert.Equal(expected, est.OutputColumnNames);
            foreach (var name in expected)
                Assert.Contains(shape, c => c.Name == name);
            Assert.DoesNotContain(shape, c => c.Name.StartsWith("MultiTask.", StringComparison.Ordinal));

            using var model = est.Fit(data);
            var scored = model.Transform(data);
            foreach (var name in expected)
            {
                var type = Assert.IsType<VectorDataViewType>(scored.Schema[name].Type);
                Assert.Equal(NumberDataViewType.Single, type.ItemType);
                Assert.Equal(1, type.Size);
            }
            Assert.Null(scored.Schema.GetColumnOrNull("MultiTask.Dense"));
            var p = Fixture.Column(scored, "ClickProbability");
            Assert.All(p, v => Assert.InRange(v, 0f, 1f));
            var stay = Fixture.Column(scored, "StayScore");
            Assert.All(stay, v => Assert.True(v > -1f && float.IsFinite(v)));
        }

        [Fact]
        public void EsmmJointProbabilityIsTheProductOfClickAndConversion()
        {
            var (ml, data, _) = Data(400);
            using var model = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1)).Fit(data);
            var scored = model.Transform(data);
            var ctr = Fixture.Column(scored, "ClickProbability");
            var cvr = Fixture.Column(scored, "BuyProbability");
            var ctcvr = Fixture.Column(scored, "BuyJointProbability");
            for (int i = 0; i < ctr.Length; i++)
                Assert.Equal(ctr[i] * cvr[i], ctcvr[i], 1e-6f);
            Assert.True(ctcvr.Zip(ctr).All(z => z.First <= z.Second + 1e-7f));
        }

        [Theory]
        [InlineData(MultiTaskArchitecture.MMoE)]
        [InlineData(MultiTaskArchitecture.Ple)]
        [InlineData(MultiTaskArchitecture.SharedBottom)]
        [InlineData(MultiTaskArchitecture.SingleTask)]
        [InlineData(MultiTaskArchitecture.SharedBottom, true)]
        public void OnnxOutputEqualsTorchSharpOutput(MultiTaskArchitecture arch, bool sharedEmbeddingsOnly = false)
        {
            var (ml, data, _) = Data(300);
            var o = Fixture.FullOptions(arch, epochs: 1);
            if (sharedEmbeddingsOnly)
            {
                // the ESMM paper's architecture: no shared layers, each task's tower reads the encoded inputs
                o.ExpertLayers = Array.Empty<int>();
                o.TowerLayers = new[] { 16, 8 };
            }
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            var scored = model.Transform(data);
            var torch = model.TorchOutputs(data);
            for (int k = 0; k < model.OutputColumnNames.Count; k++)
            {
                var onnx = Fixture.Column(scored, model.OutputColumnNames[k]);
                Assert.Equal(torch[k].Length, onnx.Length);
                for (int i = 0; i < onnx.Length; i++)
                    Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])),
                        $"{arch} {model.OutputColumnNames[k]} row {i}: ONNX {onnx[i]} vs TorchSharp {torch[k][i]}");
            }
        }

        [Theory]
        [InlineData(IdEncoding.Dictionary)]
        [InlineData(IdEncoding.Hash)]
        public void SequencesOfDifferentLengthsAndTextIdsExportExactly(IdEncoding encoding)
        {
            var (ml, data, rows) = Data(300);
            var o = Fixture.FullOptions(MultiTaskArchitecture.MMoE, epochs: 1);
            o.Features.Add(new SequenceFeature("ItemSeq", 6) { Encoding = encoding, HashBits = 6, MaximumLength = 4 });
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            // rows whose two sequences differ in length, including empty ones
            Assert.Contains(rows, r => r.ItemSeq.Length != r.LiveSeq.Length && r.ItemSeq.Length > 4);
            Assert.Contains(rows, r => r.ItemSeq.Length == 0);
            var scored = model.Transform(data);
            var torch = model.TorchOutputs(data);
            for (int k = 0; k < model.OutputColumnNames.Count; k++)
            {
                var onnx = Fixture.Column(scored, model.OutputColumnNames[k]);
                for (int i = 0; i < onnx.Length; i++)
                    Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])),
                        $"{model.OutputColumnNames[k]} row {i}: ONNX {onnx[i]} vs TorchSharp {torch[k][i]}");
            }
            // the item table: a dictionary of the 50 item ids (+ row 0), or 2^6 hash buckets (+ row 0)
            var table = model.Layout.Tables[model.Layout.Sequences[1].Table];
            Assert.Equal(encoding == IdEncoding.Hash ? 65 : 51, table.Rows);
        }

        [Fact]
        public void SavedModelLoadsInAFreshContextAndScoresIdentically()
        {
            var (ml, data, _) = Data(300);
            using var model = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1)).Fit(data);
            var path = Path.Combine(Path.GetTempPath(), $"mtl-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var fresh = new MLContext();
                var loaded = fresh.Model.Load(path, out var schema);
                Assert.IsNotType<MultiTaskTransformer>(loaded);
                var freshData = Fixture.Load(fresh, Fixture.Make(300, 1));
                var a = model.Transform(data);
                var b = loaded.Transform(freshData);
                foreach (var name in model.OutputColumnNames)
                    Assert.Equal(Fixture.Column(a, name), Fixture.Column(b, name));
                (loaded as IDisposable)?.Dispose();
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void SameSeedGivesTheSameModelAndAnotherSeedDoesNot()
        {
            var (ml, data, _) = Data(300);
            float[] Run(int seed)
            {
                var o = Fixture.FullOptions(epochs: 2);
                o.Seed = seed;
                o.Dropout = 0.1f;
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
                return Fixture.Column(m.Transform(data), "BuyJointProbability");
            }
            var a = Run(11);
            var b = Run(11);
            var c = Run(12);
            Assert.Equal(a, b);
            Assert.NotEqual(a, c);

            // and the seed drawn from the MLContext: same context seed, same model
            float[] FromContext()
            {
                var ctx = new MLContext(seed: 5);
                var o = Fixture.FullOptions(epochs: 1);
                o.Seed = null;
                using var m = ctx.Ranker().Trainers.MultiTask(o).Fit(Fixture.Load(ctx, Fixture.Make(300, 1)));
                return Fixture.Column(m.Transform(data), "ClickScore");
            }
            Assert.Equal(FromContext(), FromContext());
        }

        [Fact]
        public void UncertaintyWeightsAreLearned()
        {
            var (ml, data, rows) = Data(600);
            var o = Fixture.FullOptions(epochs: 3);
            o.TaskWeighting = TaskWeighting.Uncertainty;
            o.LearningRate = 0.03;
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            var s = m.TaskLogVariances;
            Assert.Equal(new[] { "Buy", "Click", "Stay" }, s.Keys.OrderBy(k => k));
            Assert.All(s.Values, v => Assert.True(Math.Abs(v) > 1e-3, $"log-variance {v} did not move from 0"));
            // Kendall et al.: exp(-s) L + s/2 (binary) is minimised at s = ln(2L), ½ exp(-s) L + ½ s (regression) at s = ln L.
            // Starting from 0, s moves towards that optimum: its sign is the sign of ln(2L) / ln(L), with L the task's loss.
            var scored = m.Transform(data);
            static double LogLoss(float[] p, bool[] y) => p.Zip(y, (q, t) => -Math.Log(t ? Math.Max(q, 1e-7) : Math.Max(1 - q, 1e-7))).Average();
            double click = LogLoss(Fixture.Column(scored, "ClickProbability"), rows.Select(r => r.Click).ToArray());
            double buy = LogLoss(Fixture.Column(scored, "BuyJointProbability"), rows.Select(r => r.Buy).ToArray());
            double stay = Fixture.Column(scored, "StayScore").Zip(rows, (p, r) => Math.Pow(Math.Log(1 + p) - Math.Log(1 + r.StayTime), 2)).Average();
            var optima = new[] { ("Click", Math.Log(2 * click)), ("Buy", Math.Log(2 * buy)), ("Stay", Math.Log(stay)) };
            var clear = optima.Where(p => Math.Abs(p.Item2) > 0.2).ToArray();
            Assert.True(clear.Length >= 2, "optima " + string.Join(", ", optima.Select(p => $"{p.Item1} {p.Item2:F3} (s = {s[p.Item1]:F3})")));
            foreach (var (task, optimum) in clear)
                Assert.True(Math.Sign(s[task]) == Math.Sign(optimum), $"{task}: log-variance {s[task]}, optimum {optimum}");
            Assert.Equal(3, m.History.Count);
            Assert.All(m.History, h => Assert.Equal(3, h.TaskLogVariances.Count));
        }

        [Fact]
        public void ResumingFromACheckpointEqualsUninterruptedTraining()
        {
            var (ml, data, _) = Data(400);
            var dir = Path.Combine(Path.GetTempPath(), $"mtl-ck-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                MultiTaskEstimator.Options Opt(int epochs, string? ck, bool resume)
                {
                    var o = Fixture.FullOptions(epochs: epochs);
                    o.Dropout = 0.1f;
                    o.CheckpointPath = ck;
                    o.ResumeFromCheckpoint = resume;
                    return o;
                }
                using var full = ml.Ranker().Trainers.MultiTask(Opt(4, null, false)).Fit(data);
                var ck = Path.Combine(dir, "run");
                using (var part = ml.Ranker().Trainers.MultiTask(Opt(2, ck, false)).Fit(data))
                    Assert.Equal(2, part.History.Count);
                Assert.Equal(new[] { "run.checkpoint" }, Directory.GetFiles(dir).Select(Path.GetFileName));   // one atomic file
                using var resumed = ml.Ranker().Trainers.MultiTask(Opt(4, ck, true)).Fit(data);
                Assert.Equal(4, resumed.History.Count);
                Assert.Equal(full.History.Select(h => h.TrainingLoss), resumed.History.Select(h => h.TrainingLoss));
                foreach (var name in full.OutputColumnNames)
                    Assert.Equal(Fixture.Column(full.Transform(data), name), Fixture.Column(resumed.Transform(data), name));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void ShuffleBufferSmallerThanTheDataStreamsEveryRowOnceInANewOrder()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(500, 2);
            var o = new MultiTaskEstimator.Options();
            o.Features.Add(new DenseFeature("RowIndex") { Standardize = false });
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            var data = Fixture.Load(ml, rows);
            var plan = PreparationPlan.Create(ml, o, data.Schema, null);
            var prepared = plan.Estimator.Fit(data).Transform(data);
            var layout = plan.Layout(prepared.Schema, o, out var cols);
            var reader = new BatchReader(prepared, layout, cols, 0f, 0);
            var seen = new List<float>();
            int maxBatch = 0;
            reader.Run(RowSubset.All, 32, 50, 123, b =>
            {
                maxBatch = Math.Max(maxBatch, b.Count);
                for (int r = 0; r < b.Count; r++)
                    seen.Add(b.Dense[r]);
            });
            Assert.Equal(32, maxBatch);
            Assert.Equal(Enumerable.Range(0, 500).Select(i => (float)i), seen.OrderBy(v => v));
            Assert.NotEqual(Enumerable.Range(0, 500).Select(i => (float)i), seen);
            // a bounded buffer of 50 rows: no row can come out more than 50 positions before its place in the data
            for (int i = 0; i < seen.Count; i++)
                Assert.True(seen[i] <= i + 50, $"row {seen[i]} emitted at {i}");
            // validation split: disjoint, covering, deterministic
            var train = new List<float>();
            var val = new List<float>();
            var split = new BatchReader(prepared, layout, cols, 0.2f, 9);
            split.Run(RowSubset.TrainingPart, 64, 0, null, b => { for (int r = 0; r < b.Count; r++) train.Add(b.Dense[r]); });
            split.Run(RowSubset.ValidationPart, 64, 0, null, b => { for (int r = 0; r < b.Count; r++) val.Add(b.Dense[r]); });
            Assert.Empty(train.Intersect(val));
            Assert.Equal(500, train.Count + val.Count);
            Assert.InRange(val.Count, 60, 140);
        }

        [Fact]
        public void StreamsStartedAheadGiveTheSameBatchesAndStopWhenDisposedUnread()
        {
            // the trainer starts the next epoch's stream while the current one trains: both run at once, on one reader
            var ml = new MLContext(1);
            var o = new MultiTaskEstimator.Options();
            o.Features.Add(new DenseFeature("RowIndex") { Standardize = false });
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            var data = Fixture.Load(ml, Fixture.Make(3000, 2));
            var plan = PreparationPlan.Create(ml, o, data.Schema, null);
            var prepared = plan.Estimator.Fit(data).Transform(data);
            var layout = plan.Layout(prepared.Schema, o, out var cols);
            var reader = new BatchReader(prepared, layout, cols, 0.1f, 5);
            List<float> Read(BatchReader.BatchStream s)
            {
                var rows = new List<float>();
                s.Consume(b => { for (int r = 0; r < b.Count; r++) rows.Add(b.Dense[r]); });
                return rows;
            }
            var once = new List<float>();
            reader.Run(RowSubset.TrainingPart, 64, 1000, 17, b => { for (int r = 0; r < b.Count; r++) once.Add(b.Dense[r]); });
            using (var first = reader.Start(RowSubset.TrainingPart, 64, 1000, 17))
            using (var ahead = reader.Start(RowSubset.TrainingPart, 64, 1000, 18))
            using (var unread = reader.Start(RowSubset.TrainingPart, 64, 1000, 19))
            {
                Assert.Equal(once, Read(first));
                var second = Read(ahead);
                Assert.Equal(once.OrderBy(v => v), second.OrderBy(v => v));
                Assert.NotEqual(once, second);
                Assert.Throws<InvalidOperationException>(() => first.Consume(_ => { }));
            }   // 'unread' is disposed while its worker waits for a free batch: Dispose must stop it, not hang
            // a failure in the consumer stops the worker and surfaces
            using var failing = reader.Start(RowSubset.All, 64, 0, null);
            Assert.Throws<FormatException>(() => failing.Consume(_ => throw new FormatException("consumer")));
        }

        [Fact]
        public async System.Threading.Tasks.Task TheNextEpochsStreamNeverTakesTheReadingRoleFromTheCurrentOne()
        {
            // rows that overflow the shuffle buffer: the first shuffled pass reads and emits as it goes, and a pass started
            // after it waits for it. The roles follow the order the streams are started; when the next epoch's worker thread
            // could claim the reading role first (CI saw it, load on 2 cores), the trainer consumed the current stream,
            // which waited for the next one's rows, whose worker waited for a consumer: a deadlock. Many pairs, each
            // consumed current-then-next as the trainer does, each with a deadline instead of a hang.
            var ml = new MLContext(1);
            var o = new MultiTaskEstimator.Options();
            o.Features.Add(new DenseFeature("RowIndex") { Standardize = false });
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            var data = Fixture.Load(ml, Fixture.Make(600, 2));
            var plan = PreparationPlan.Create(ml, o, data.Schema, null);
            var prepared = plan.Estimator.Fit(data).Transform(data);
            var layout = plan.Layout(prepared.Schema, o, out var cols);
            for (int pair = 0; pair < 40; pair++)
            {
                var reader = new BatchReader(prepared, layout, cols, 0f, pair);
                var both = System.Threading.Tasks.Task.Run(() =>
                {
                    int rows = 0;
                    using var current = reader.Start(RowSubset.All, 16, 50, 2 * pair);
                    // decided when the stream starts, not when its worker thread gets to run
                    Assert.True(reader.HasReadingPass(RowSubset.All, 50), $"pair {pair}: the current stream had not claimed the reading role when Start returned");
                    using var next = reader.Start(RowSubset.All, 16, 50, 2 * pair + 1);
                    current.Consume(b => rows += b.Count);
                    next.Consume(b => rows += b.Count);
                    return rows;
                });
                var done = await System.Threading.Tasks.Task.WhenAny(both, System.Threading.Tasks.Task.Delay(TimeSpan.FromSeconds(30)));
                Assert.True(done == both, $"pair {pair}: the two streams did not finish within 30 s (deadlock)");
                Assert.Equal(1200, await both);
            }
        }

        /// <summary>Counts the cursors opened on a data view.</summary>
        private sealed class CountingView : IDataView
        {
            private readonly IDataView _inner;
            public int Cursors;
            public CountingView(IDataView inner) => _inner = inner;
            public bool CanShuffle => _inner.CanShuffle;
            public DataViewSchema Schema => _inner.Schema;
            public long? GetRowCount() => _inner.GetRowCount();
            public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            {
                System.Threading.Interlocked.Increment(ref Cursors);
                return _inner.GetRowCursor(columnsNeeded, rand);
            }
            public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            {
                System.Threading.Interlocked.Increment(ref Cursors);
                return _inner.GetRowCursorSet(columnsNeeded, n, rand);
            }
        }

        [Fact]
        public void RowsThatFitTheShuffleBufferAreReadOnceAndReshuffledAsIfReadAgain()
        {
            var ml = new MLContext(1);
            var o = new MultiTaskEstimator.Options();
            o.Features.Add(new DenseFeature("RowIndex") { Standardize = false });
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            var data = Fixture.Load(ml, Fixture.Make(700, 3));
            var plan = PreparationPlan.Create(ml, o, data.Schema, null);
            var prepared = plan.Estimator.Fit(data).Transform(data);
            var layout = plan.Layout(prepared.Schema, o, out var cols);
            List<float> Pass(BatchReader reader, RowSubset subset, int buffer, int? seed)
            {
                var rows = new List<float>();
                reader.Run(subset, 64, buffer, seed, b => { for (int r = 0; r < b.Count; r++) rows.Add(b.Dense[r]); });
                return rows;
            }

            // every training row fits the buffer: the first pass reads the data, later ones reshuffle the resident rows
            var view = new CountingView(prepared);
            var reader = new BatchReader(view, layout, cols, 0.2f, 4);
            var first = Pass(reader, RowSubset.TrainingPart, 1000, 17);
            var second = Pass(reader, RowSubset.TrainingPart, 1000, 18);
            var again = Pass(reader, RowSubset.TrainingPart, 1000, 17);
            Assert.Equal(1, view.Cursors);
            Assert.Equal(first, again);
            Assert.NotEqual(first, second);
            Assert.Equal(first.OrderBy(v => v), second.OrderBy(v => v));
            // ...in exactly the order a pass that reads the data gives (a fresh reader reads it)
            var freshView = new CountingView(prepared);
            var fresh = new BatchReader(freshView, layout, cols, 0.2f, 4);
            Assert.Equal(second, Pass(fresh, RowSubset.TrainingPart, 1000, 18));
            Assert.Equal(1, freshView.Cursors);
            // other subsets, buffer sizes and unshuffled passes read the data themselves, and never see the resident rows
            var validation = Pass(reader, RowSubset.ValidationPart, 1000, 17);
            Assert.Empty(validation.Intersect(first));
            Assert.Equal(700, validation.Count + first.Count);
            Assert.Equal(2, view.Cursors);
            Assert.Equal(first.OrderBy(v => v), Pass(reader, RowSubset.TrainingPart, 0, null));
            Assert.Equal(3, view.Cursors);

            // rows that do not fit the buffer are read again by every pass (a bounded buffer holds no full copy)
            var small = new CountingView(prepared);
            var streaming = new BatchReader(small, layout, cols, 0f, 0);
            var s1 = Pass(streaming, RowSubset.All, 100, 5);
            var s2 = Pass(streaming, RowSubset.All, 100, 5);
            Assert.Equal(2, small.Cursors);
            Assert.Equal(s1, s2);
            Assert.Equal(Enumerable.Range(0, 700).Select(i => (float)i), s1.OrderBy(v => v));
        }

        [Fact]
        public void ValidationAndEarlyStoppingKeepTheBestEpoch()
        {
            var (ml, data, _) = Data(600);
            var o = Fixture.FullOptions(epochs: 30);
            o.LearningRate = 0.05;
            o.ValidationFraction = 0.3f;
            o.EarlyStoppingMetric = "Click.Auc";
            o.EarlyStoppingPatience = 2;
            var reports = new List<MultiTaskProgress>();
            o.Progress = new SyncProgress<MultiTaskProgress>(reports.Add);
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            Assert.True(m.History.Count < 30, "early stopping never triggered");
            Assert.Equal(m.History.Count, reports.Count);
            var aucs = m.History.Select(h => h.ValidationMetrics["Click.Auc"]).ToArray();
            Assert.Equal(aucs.Max(), aucs[m.BestEpoch - 1]);
            Assert.Equal(m.History.Count, m.BestEpoch + 2);
            Assert.All(reports, r => Assert.Contains("Buy.Auc", r.ValidationMetrics.Keys));
        }

        [Fact]
        public void BiasTowerTrainsWithPositionAndIsLeftOutOfTheServingModel()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(800, 4, positionEffect: 0.6);
            var data = Fixture.Load(ml, rows);
            var o = Fixture.FullOptions(epochs: 2);
            o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new BiasTower("Position"));
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
            // serving data has no Position column at all
            var serving = ml.Transforms.DropColumns("Position").Fit(data).Transform(data);
            var scored = m.Transform(serving);
            var served = Fixture.Column(scored, "ClickScore");
            var torchServing = m.TorchOutputs(data, training: false)[0];
            var torchTraining = m.TorchOutputs(data, training: true)[0];
            for (int i = 0; i < served.Length; i++)
                Assert.True(Math.Abs(served[i] - torchServing[i]) < 1e-5, $"row {i}");
            // the bias term is real: it changes the training-time logit, more so for later positions
            double Diff(int pos) => Enumerable.Range(0, rows.Count).Where(i => rows[i].Position == pos).Average(i => torchTraining[i] - torchServing[i]);
            Assert.True(Diff(5) < Diff(1), $"bias at position 5 {Diff(5)} vs 1 {Diff(1)}");
        }

        [Fact]
        public void LiveTensorCountStaysFlatAcrossEpochs()
        {
            // Counted on the training thread only (TorchSharp's per-thread statistics: tensors created on this thread minus
            // those disposed on it), so neither the garbage collector's finalizer thread, nor the read-ahead worker, nor any
            // other test can move the count: it grows only if the trainer keeps tensors (or leaves them to the finalizer)
            // from epoch to epoch. The first epoch creates the optimizer state and the best-weights copy; from the second
            // epoch on, when the next epoch's read-ahead has started as in every later epoch, the count must not change.
            var (ml, data, _) = Data(400);
            var o = Fixture.FullOptions(epochs: 5);
            o.Tasks[0].TrainingOnlyLogitAdjustments.Add(new BiasTower("Position"));
            o.ValidationFraction = 0.2f;
            var stats = TorchSharp.DisposeScopeManager.Statistics.TensorStatistics;
            var live = new List<long>();
            int thread = Environment.CurrentManagedThreadId;
            o.Progress = new SyncProgress<MultiTaskProgress>(_ =>
            {
                Assert.Equal(thread, Environment.CurrentManagedThreadId);
                live.Add(stats.ThreadTotalLiveCount);
            });
            long before = stats.ThreadTotalLiveCount;
            using (var m = ml.Ranker().Trainers.MultiTask(o).Fit(data))
            {
                Assert.Equal(5, live.Count);
                Assert.True(live[0] > before, "the count does not see the training's tensors");
                Assert.All(live.Skip(2), n => Assert.Equal(live[1], n));
            }
        }

        private sealed class SyncProgress<T> : IProgress<T>
        {
            private readonly Action<T> _a;
            public SyncProgress(Action<T> a) => _a = a;
            public void Report(T value) => _a(value);
        }
    }
}
