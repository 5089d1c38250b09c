using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>Inputs and faults where the trainer used to say nothing and return a wrong result, or leave torn state.</summary>
    [Collection("TorchSharp")]
    public class ReliabilityTests
    {
        private static Exception Fit(List<Impression> rows, MultiTaskEstimator.Options? o = null)
        {
            var ml = new MLContext(1);
            return Assert.ThrowsAny<Exception>(() => ml.Ranker().Trainers.MultiTask(o ?? Fixture.FullOptions(epochs: 1)).Fit(Fixture.Load(ml, rows)).Dispose());
        }

        [Fact]
        public void ATaskWhoseLabelsAreAllMissingIsRefused()
        {
            var rows = Fixture.Make(200, 3);
            rows.ForEach(r => r.StayTime = float.NaN);
            var ex = Assert.IsType<InvalidOperationException>(Fit(rows));
            Assert.Contains("'StayTime'", ex.Message);
            Assert.Contains("task 'Stay'", ex.Message);
            Assert.Contains("missing (NaN) in all of the 200 training rows", ex.Message);

            // one labelled row is enough to train (the other rows train the other tasks)
            rows[7].StayTime = 3f;
            var ml = new MLContext(1);
            using var m = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1)).Fit(Fixture.Load(ml, rows));
            Assert.Single(m.History);
        }

        [Fact]
        public void ABinaryTaskWithOneClassIsRefused()
        {
            var rows = Fixture.Make(200, 3);
            rows.ForEach(r => { r.Buy = false; });
            var ex = Assert.IsType<InvalidOperationException>(Fit(rows));
            Assert.Contains("'Buy'", ex.Message);
            Assert.Contains("one class only: all 200 labelled rows", ex.Message);
            Assert.Contains("are 0", ex.Message);

            rows = Fixture.Make(200, 3);
            rows.ForEach(r => { r.Click = true; });
            ex = Assert.IsType<InvalidOperationException>(Fit(rows));
            Assert.Contains("'Click'", ex.Message);
            Assert.Contains("are 1", ex.Message);

            // the check is on the rows trained on: with a validation fraction it names them
            rows = Fixture.Make(200, 3);
            rows.ForEach(r => { r.Buy = false; });
            var o = Fixture.FullOptions(epochs: 1);
            o.ValidationFraction = 0.25f;
            ex = Assert.IsType<InvalidOperationException>(Fit(rows, o));
            Assert.Contains("outside the validation fraction", ex.Message);
        }

        [Fact]
        public void AnEsmmLabelThatDoesNotImplyItsConditionIsRefused()
        {
            var rows = Fixture.Make(200, 3);
            int row = rows.FindIndex(r => !r.Click);
            rows[row].Buy = true;                       // a buy without a click
            var ex = Assert.IsType<InvalidOperationException>(Fit(rows));
            Assert.Contains("'Buy'", ex.Message);
            Assert.Contains("'Click'", ex.Message);
            Assert.Contains($"row {row}", ex.Message);
            Assert.Contains("ConditionedOn", ex.Message);

            // without conditioning the same data is an ordinary pair of tasks
            var o = Fixture.FullOptions(epochs: 1);
            o.Tasks[1].ConditionedOn = null;
            var ml = new MLContext(1);
            using var m = ml.Ranker().Trainers.MultiTask(o).Fit(Fixture.Load(ml, rows));
            Assert.Single(m.History);
        }

        [Fact]
        public void AHugeLearningRateStopsWithAMessageSayingWhatToChange()
        {
            var o = Fixture.FullOptions(epochs: 3);
            o.LearningRate = 1e6;
            var ex = Assert.IsType<InvalidOperationException>(Fit(Fixture.Make(400, 3), o));
            Assert.Contains("Training diverged", ex.Message);
            Assert.Contains("Lower LearningRate (now 1E+06; try 1E+05)", ex.Message);

            // a sane learning rate on the same data trains (the check does not fire on healthy runs)
            var ml = new MLContext(1);
            using var m = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 3)).Fit(Fixture.Load(ml, Fixture.Make(400, 3)));
            Assert.Equal(3, m.History.Count);
            Assert.All(m.History, h => Assert.True(double.IsFinite(h.TrainingLoss)));
        }

        private static MultiTaskEstimator.Options CheckpointOptions(int epochs, string ck, bool resume)
        {
            var o = Fixture.FullOptions(epochs: epochs);
            o.Dropout = 0.1f;
            o.CheckpointPath = ck;
            o.ResumeFromCheckpoint = resume;
            return o;
        }

        private static string NewDirectory()
        {
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-reliability-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            return dir;
        }

        [Fact]
        public void ACheckpointIsOneFileAndADamagedOrTruncatedOneIsRefused()
        {
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(300, 1));
            var dir = NewDirectory();
            try
            {
                var ck = Path.Combine(dir, "run");
                ml.Ranker().Trainers.MultiTask(CheckpointOptions(1, ck, false)).Fit(data).Dispose();
                Assert.Equal(new[] { "run.checkpoint" }, Directory.GetFiles(dir).Select(Path.GetFileName));
                var good = File.ReadAllBytes(ck + ".checkpoint");

                // a flipped bit in the weights
                var flipped = (byte[])good.Clone();
                flipped[flipped.Length - 100] ^= 0x10;
                File.WriteAllBytes(ck + ".checkpoint", flipped);
                var ex = Assert.Throws<InvalidDataException>(() => ml.Ranker().Trainers.MultiTask(CheckpointOptions(2, ck, true)).Fit(data));
                Assert.Contains("damaged or incomplete", ex.Message);
                Assert.Contains("SHA-256", ex.Message);

                // a file cut short (a copy interrupted, a disk full)
                File.WriteAllBytes(ck + ".checkpoint", good.AsSpan(0, good.Length / 2).ToArray());
                ex = Assert.Throws<InvalidDataException>(() => ml.Ranker().Trainers.MultiTask(CheckpointOptions(2, ck, true)).Fit(data));
                Assert.Contains("runs past the end of the file", ex.Message);

                // not a checkpoint at all
                File.WriteAllText(ck + ".checkpoint", "hello");
                ex = Assert.Throws<InvalidDataException>(() => ml.Ranker().Trainers.MultiTask(CheckpointOptions(2, ck, true)).Fit(data));
                Assert.Contains("header", ex.Message);

                // the former three-file format cannot be checked for tearing: refused, not half-resumed
                File.Delete(ck + ".checkpoint");
                File.WriteAllText(ck + ".state", "{}");
                var io = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(CheckpointOptions(2, ck, true)).Fit(data));
                Assert.Contains("three-file format", io.Message);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        public static IEnumerable<object[]> ForeignRuns() => new[]
        {
            new object[] { "Dropout", (Action<MultiTaskEstimator.Options>)(o => o.Dropout = 0.2f) },
            new object[] { "L2Regularization", (Action<MultiTaskEstimator.Options>)(o => o.L2Regularization = 1e-4) },
            new object[] { "Tasks", (Action<MultiTaskEstimator.Options>)(o => o.Tasks[2].Weight = 2f) },
            new object[] { "Tasks", (Action<MultiTaskEstimator.Options>)(o => o.Tasks[1].ConditionedOn = null) },
            new object[] { "Seed", (Action<MultiTaskEstimator.Options>)(o => o.Seed = 8) },
            new object[] { "LearningRate", (Action<MultiTaskEstimator.Options>)(o => o.LearningRate = 0.02) },
        };

        [Theory]
        [MemberData(nameof(ForeignRuns))]
        public void ACheckpointOfAnotherRunIsRefusedNamingWhatDiffers(string field, Action<MultiTaskEstimator.Options> change)
        {
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(200, 1));
            var dir = NewDirectory();
            try
            {
                var ck = Path.Combine(dir, "run");
                ml.Ranker().Trainers.MultiTask(CheckpointOptions(1, ck, false)).Fit(data).Dispose();
                var o = CheckpointOptions(2, ck, true);
                change(o);
                var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
                Assert.Contains("different training run", ex.Message);
                Assert.Contains(field + ":", ex.Message);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void ACheckpointOfOtherDataIsRefused()
        {
            var ml = new MLContext(1);
            var dir = NewDirectory();
            try
            {
                var ck = Path.Combine(dir, "run");
                var rows = Fixture.Make(200, 1);
                ml.Ranker().Trainers.MultiTask(CheckpointOptions(1, ck, false)).Fit(Fixture.Load(ml, rows)).Dispose();
                rows[150].Features[3] += 0.25f;               // one value of one row changed
                var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(CheckpointOptions(2, ck, true)).Fit(Fixture.Load(ml, rows)));
                Assert.Contains("Data:", ex.Message);
                Assert.DoesNotContain("Dropout:", ex.Message);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void CancellationStopsWithinABatchAndTheLastCheckpointResumesToTheUninterruptedModel()
        {
            var ml = new MLContext(1);
            var data = Fixture.Load(ml, Fixture.Make(400, 1));
            var dir = NewDirectory();
            try
            {
                using var full = ml.Ranker().Trainers.MultiTask(CheckpointOptions(4, Path.Combine(dir, "full"), false)).Fit(data);
                var ck = Path.Combine(dir, "run");
                using var cts = new CancellationTokenSource();
                var o = CheckpointOptions(4, ck, false);
                o.CancellationToken = cts.Token;
                int epochsSeen = 0;
                o.Progress = new SyncProgress<MultiTaskProgress>(p =>
                {
                    epochsSeen = p.Epoch;
                    if (p.Epoch == 2)
                        cts.Cancel();       // after epoch 2's report, before its checkpoint is written
                });
                Assert.ThrowsAny<OperationCanceledException>(() => ml.Ranker().Trainers.MultiTask(o).Fit(data));
                Assert.Equal(2, epochsSeen);                    // no batch of epoch 3 finished an epoch
                Assert.Single(Directory.GetFiles(dir, "run*"));   // no temporary file left behind

                using var resumed = ml.Ranker().Trainers.MultiTask(CheckpointOptions(4, ck, true)).Fit(data);
                Assert.Equal(4, resumed.History.Count);
                Assert.Equal(full.History.Select(h => h.TrainingLoss), resumed.History.Select(h => h.TrainingLoss));
                foreach (var name in full.OutputColumnNames)
                    Assert.Equal(Fixture.Column(full.Transform(data), name), Fixture.Column(resumed.Transform(data), name));

                // cancelled before it starts: no batch trains at all
                var o2 = Fixture.FullOptions(epochs: 1);
                o2.CancellationToken = new CancellationToken(canceled: true);
                Assert.ThrowsAny<OperationCanceledException>(() => ml.Ranker().Trainers.MultiTask(o2).Fit(data));
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }

        [Fact]
        public void MklCpuDispatchIsOptIn()
        {
            Assert.False(MklCpuDispatch.Requested(false, null));
            Assert.False(MklCpuDispatch.Requested(false, ""));
            Assert.True(MklCpuDispatch.Requested(true, null));
            Assert.True(MklCpuDispatch.Requested(false, "1"));
            Assert.True(MklCpuDispatch.Requested(false, " on "));
            Assert.False(MklCpuDispatch.Requested(true, "0"));      // the environment can always refuse
            Assert.False(MklCpuDispatch.Requested(true, "off"));
            Assert.False(new MultiTaskEstimator.Options().EnableMklCpuDispatch);
        }

        [Fact]
        public void MklCpuDispatchWritesOnlyOverTheCodeItKnows()
        {
            // mkl_serv_intel_cpu_true of libtorch 2.10's libtorch_cpu.so (objdump): cached answer, then CPUID vs GenuineIntel
            var known = Convert.FromHexString(
                "8B051A67980985C07801C353C74424F800000000C74424E8000000008B4424E88B4C24F80FA2894424FC895C24F4894C24F0895424EC" +
                "B847656E75334424F4B96E74656C334C24F009C1BA696E6549335424EC31C009CA0F94C08905C06698095BC3");
            Assert.Equal(98, known.Length);       // the symbol's ELF size
            Assert.Null(MklCpuDispatch.CheckCode(known));
            var patched = (byte[])known.Clone();
            patched[0] = 0xB8; patched[1] = 0x01; patched[2] = 0; patched[3] = 0; patched[4] = 0; patched[5] = 0xC3;
            Assert.Contains("not the expected", MklCpuDispatch.CheckCode(patched));
            var other = (byte[])known.Clone();
            other[other.AsSpan().IndexOf(new byte[] { 0x0F, 0xA2 })] = 0x90;
            Assert.Contains("no CPUID", MklCpuDispatch.CheckCode(other));
            var noVendor = (byte[])known.Clone();
            noVendor[noVendor.AsSpan().IndexOf(new byte[] { 0x47, 0x65, 0x6E, 0x75 })] = 0x41;
            Assert.Contains("GenuineIntel", MklCpuDispatch.CheckCode(noVendor));
            Assert.Contains("shorter", MklCpuDispatch.CheckCode(known.AsSpan(0, 8)));
        }

        public sealed class TextIdRow
        {
            [Microsoft.ML.Data.VectorType(6)] public float[] Features { get; set; } = new float[6];
            public string UserId { get; set; } = "";
            public uint LiveId { get; set; }
            [Microsoft.ML.Data.VectorType] public uint[] LiveSeq { get; set; } = Array.Empty<uint>();
        }

        [Fact]
        public void AStringIdWhereTheModelWasTrainedOnIntegersIsNamedAtTheSchemaCheck()
        {
            var ml = new MLContext(1);
            var rows = Fixture.Make(200, 1);
            using var m = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(epochs: 1)).Fit(Fixture.Load(ml, rows));
            var text = ml.Data.LoadFromEnumerable(rows.Select(r => new TextIdRow { Features = r.Features, UserId = "u" + r.UserId, LiveId = r.LiveId, LiveSeq = r.LiveSeq }));
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => m.Transform(text));
            Assert.Contains("'UserId' (categorical feature) has type String", ex.Message);
            Assert.Contains("trained with UInt32", ex.Message);
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => m.GetOutputSchema(text.Schema));
            Assert.Contains("'UserId'", ex.Message);
            var noSeq = ml.Transforms.DropColumns("LiveSeq").Fit(Fixture.Load(ml, rows)).Transform(Fixture.Load(ml, rows));
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => m.Transform(noSeq));
            Assert.Contains("no column 'LiveSeq' (sequence feature)", ex.Message);
            // data of the training types (labels and training-only columns absent) scores
            var servingOnly = ml.Transforms.DropColumns("Click", "Buy", "StayTime", "Position").Fit(Fixture.Load(ml, rows)).Transform(Fixture.Load(ml, rows));
            Assert.Equal(200, Fixture.Column(m.Transform(servingOnly), "ClickProbability").Length);
        }

        private sealed class SyncProgress<T> : IProgress<T>
        {
            private readonly Action<T> _a;
            public SyncProgress(Action<T> a) => _a = a;
            public void Report(T value) => _a(value);
        }
    }
}
