using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Torch.Ensemble;
using MLNetRank.Torch.MultiTask;
using TorchSharp;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// Issue 15, cancellation: a token cancelled in the middle of an epoch stops the trainer within one batch (multi-task and
    /// objective ensemble), and the multi-task trainer's last checkpoint stays loadable: resuming from it ends with exactly
    /// the uninterrupted model.
    /// </summary>
    /// <remarks>
    /// Work is measured as the tensors created on the training thread (TorchSharp's per-thread statistics, read through the
    /// object captured on that thread): neither ML.NET's own read-ahead of the source (its splitter reads hundreds of rows
    /// ahead of the trainer) nor the batch read-ahead thread nor the load of the machine moves that count, and every batch
    /// creates the same number of tensors. A watcher thread cancels a few batches into epoch 2; from the cancel on, the
    /// trainer may finish the batch in flight and nothing more. A trainer that checked the token only between epochs
    /// creates the tensors of the rest of the epoch (tens of batches) and fails the bound.
    /// </remarks>
    [Collection("TorchSharp")]
    public class CancellationTests
    {
        private readonly ITestOutputHelper _out;

        public CancellationTests(ITestOutputHelper output) => _out = output;

        private sealed class SyncProgress<T> : IProgress<T>
        {
            private readonly Action<T> _report;
            public SyncProgress(Action<T> report) => _report = report;
            public void Report(T value) => _report(value);
        }

        /// <summary>Tensors created on the training thread; <see cref="Capture"/> runs on that thread (a progress report).</summary>
        private sealed class TrainingThreadMeter
        {
            private volatile TorchSharp.LifetimeStatistics? _stats;

            public void Capture() => _stats ??= DisposeScopeManager.Statistics.TensorStatistics;

            public long Created => _stats is { } s ? s.CreatedInScopeCount + s.CreatedOutsideScopeCount : 0;
        }

        /// <summary>
        /// Cancels <paramref name="cts"/> once the training thread has created <paramref name="after"/> tensors past
        /// <paramref name="armedAt"/> (read once armed), and records the count right after the cancel.
        /// </summary>
        private sealed class Watcher : IDisposable
        {
            private readonly Thread _thread;
            private volatile bool _stop;
            public long CountAtCancel = -1;

            public Watcher(TrainingThreadMeter meter, Func<long?> armedAt, long after, CancellationTokenSource cts)
            {
                _thread = new Thread(() =>
                {
                    while (!_stop)
                    {
                        if (armedAt() is long start && meter.Created - start >= after)
                        {
                            cts.Cancel();
                            Interlocked.Exchange(ref CountAtCancel, meter.Created);
                            return;
                        }
                        Thread.Sleep(1);
                    }
                }) { IsBackground = true, Name = "cancellation watcher" };
                _thread.Start();
            }

            public void Dispose()
            {
                _stop = true;
                _thread.Join();
            }
        }

        private static MultiTaskEstimator.Options Options(int epochs, string checkpoint, bool resume)
        {
            var o = Fixture.FullOptions(epochs: epochs);        // batches of 64 rows
            o.CheckpointPath = checkpoint;
            o.ResumeFromCheckpoint = resume;
            return o;
        }

        [Fact]
        public void MultiTask_CancellingInTheMiddleOfAnEpochStopsWithinABatchAndTheLastCheckpointResumesToTheUninterruptedModel()
        {
            const int rowCount = 3000, batches = (rowCount + 63) / 64;   // 47 batches an epoch
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(rowCount, 1));
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-cancel-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                // the uninterrupted run also gives the tensors one batch creates (epoch 2: its batches and the epoch's end)
                var fullMeter = new TrainingThreadMeter();
                var fullCounts = new List<long>();
                var fo = Options(3, Path.Combine(dir, "full"), false);
                fo.Progress = new SyncProgress<MultiTaskProgress>(p => { fullMeter.Capture(); fullCounts.Add(fullMeter.Created); });
                using var full = ml.Ranker().Trainers.MultiTask(fo).Fit(data);
                double perBatch = (fullCounts[1] - fullCounts[0]) / (double)batches;
                Assert.True(perBatch >= 10, $"a batch creates {perBatch} tensors on the training thread: the meter does not see the training");

                var ck = Path.Combine(dir, "run");
                using var cts = new CancellationTokenSource();
                var o = Options(3, ck, false);
                o.CancellationToken = cts.Token;
                var meter = new TrainingThreadMeter();
                long armedAt = -1;
                int epochsReported = 0;
                o.Progress = new SyncProgress<MultiTaskProgress>(p =>
                {
                    epochsReported = p.Epoch;
                    meter.Capture();
                    if (p.Epoch == 1)
                        Interlocked.Exchange(ref armedAt, meter.Created);   // epoch 1 done; its checkpoint is written next
                });
                long countAtCancel;
                using (var watcher = new Watcher(meter, () => Interlocked.Read(ref armedAt) is >= 0 and var a ? a : null, (long)(4 * perBatch), cts))
                {
                    Assert.ThrowsAny<OperationCanceledException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
                    watcher.Dispose();
                    countAtCancel = Interlocked.Read(ref watcher.CountAtCancel);
                }
                long after = meter.Created - countAtCancel;
                _out.WriteLine($"per batch {perBatch:F1} tensors; after the cancel {after} ({after / perBatch:F2} batches)");
                Assert.True(countAtCancel > 0, "the watcher never cancelled");
                Assert.Equal(1, epochsReported);                  // epoch 2 never finished
                // within one batch: the batch in flight at the cancel, then the token is checked before the next one
                Assert.InRange(after, 0, (long)Math.Ceiling(perBatch));
                Assert.Single(Directory.GetFiles(dir, "run*"));  // the checkpoint of epoch 1, no temporary file

                // the last checkpoint (epoch 1) is loadable and resumes to exactly the uninterrupted model
                using var resumed = ml.Ranker().Trainers.MultiTask(Options(3, ck, true)).Fit(data);
                Assert.Equal(3, resumed.History.Count);
                Assert.Equal(full.History.Select(h => h.TrainingLoss), resumed.History.Select(h => h.TrainingLoss));
                foreach (var name in full.OutputColumnNames)
                    Assert.Equal(Fixture.Column(full.Transform(data), name), Fixture.Column(resumed.Transform(data), name));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        private sealed class TwoScores
        {
            public float P { get; set; }
            [VectorType(1)]
            public float[] X { get; set; } = new float[1];
            public bool A { get; set; }
            public float B { get; set; }
        }

        [Fact]
        public void Ensemble_CancellingInTheMiddleOfAnEpochStopsWithinABatch()
        {
            const int rowCount = 4000, batches = (rowCount + 63) / 64;
            var ml = new MLContext(1);
            var rng = new Random(4);
            var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rowCount).Select(_ =>
            {
                float p = (float)rng.NextDouble(), x = (float)(rng.NextDouble() * 8 - 4);
                return new TwoScores { P = p, X = new[] { x }, A = rng.NextDouble() < p, B = rng.NextDouble() < 1 / (1 + Math.Exp(-x)) ? 60f : 5f };
            }).ToList());
            ObjectiveEnsembleEstimator.Options Options()
            {
                var o = new ObjectiveEnsembleEstimator.Options { Method = ObjectiveEnsembleMethod.HarmonRank, TwoStep = false, Epochs = 3, BatchSize = 64, Seed = 1 };
                o.Objectives.Add(new EnsembleObjective("A", "P", "A") { Weight = 2f });
                o.Objectives.Add(new EnsembleObjective("B", "X", "B", ObjectiveScoreKind.Logit) { Weight = 0.5f, LabelThreshold = 30 });
                return o;
            }

            var fullMeter = new TrainingThreadMeter();
            var fullCounts = new List<long>();
            var fo = Options();
            fo.Progress = new SyncProgress<ObjectiveEnsembleProgress>(p => { fullMeter.Capture(); fullCounts.Add(fullMeter.Created); });
            using (ml.Ranker().Trainers.ObjectiveEnsemble(fo).Fit(data)) { }
            Assert.Equal(3, fullCounts.Count);
            double perBatch = (fullCounts[1] - fullCounts[0]) / (double)batches;
            Assert.True(perBatch >= 10, $"a batch creates {perBatch} tensors on the training thread: the meter does not see the training");

            using var cts = new CancellationTokenSource();
            var o = Options();
            o.CancellationToken = cts.Token;
            var meter = new TrainingThreadMeter();
            long armedAt = -1;
            int epochsReported = 0;
            o.Progress = new SyncProgress<ObjectiveEnsembleProgress>(p =>
            {
                epochsReported = p.Epoch;
                meter.Capture();
                if (p.Epoch == 1)
                    Interlocked.Exchange(ref armedAt, meter.Created);
            });
            long countAtCancel;
            using (var watcher = new Watcher(meter, () => Interlocked.Read(ref armedAt) is >= 0 and var a ? a : null, (long)(4 * perBatch), cts))
            {
                Assert.ThrowsAny<OperationCanceledException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(data));
                watcher.Dispose();
                countAtCancel = Interlocked.Read(ref watcher.CountAtCancel);
            }
            long after = meter.Created - countAtCancel;
            _out.WriteLine($"per batch {perBatch:F1} tensors; after the cancel {after} ({after / perBatch:F2} batches)");
            Assert.True(countAtCancel > 0, "the watcher never cancelled");
            Assert.Equal(1, epochsReported);
            Assert.InRange(after, 0, (long)Math.Ceiling(perBatch));
        }
    }
}
