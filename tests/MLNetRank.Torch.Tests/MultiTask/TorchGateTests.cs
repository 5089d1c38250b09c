using System;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using MLNetRank.Torch.Layers;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// The process-wide gates of <see cref="TorchGate"/>: trainings never interleave (libtorch's generator is
    /// process-wide), and the read-ahead may read rows only where the trainer lets go of the row gate.
    /// </summary>
    [Collection("TorchSharp")]
    public class TorchGateTests
    {
        [Fact]
        public void ReleasedForRefusesToRunOutsideATraining()
        {
            // letting go of the row gate outside a training would admit another training between two native calls
            var ex = Assert.Throws<InvalidOperationException>(() => TorchGate.ReleasedFor(() => { }));
            Assert.Contains("TorchGate.Training", ex.Message);
            int ran = 0;
            TorchGate.Exclusive(() => { TorchGate.ReleasedFor(() => ran++); return 0; });
            Assert.Equal(1, ran);
        }

        [Fact]
        public async Task ATrainingStartedDuringAnotherGivesTheModelsEachGivesAlone()
        {
            // Two MMoE trainings with dropout (libtorch's process-wide generator draws every mask, each training reseeds
            // it) and the batch read-ahead (small batches, a shuffle buffer). The second is started from the first's
            // epoch-1 progress report, so it asks for the gate while the first still has epochs to run, each batch of
            // which lets go of the row gate (waiting for rows, backward, the optimizer step); a third thread allocates and
            // forces collections throughout. Each training must give exactly the model it gives alone: a second training
            // admitted between the first's native calls would reseed and draw from the shared generator (other dropout
            // masks, other models), and a collection finalizing a Scalar during a native call would crash.
            float[] Run(int seed, Action? afterFirstEpoch = null)
            {
                var ml = new MLContext(seed: 1);
                var data = Fixture.Load(ml, Fixture.Make(400, 3));
                var o = Fixture.FullOptions(epochs: 4);
                o.Seed = seed;
                o.Dropout = 0.2f;
                o.BatchSize = 16;
                if (afterFirstEpoch is not null)
                    o.Progress = new OnFirstEpoch(afterFirstEpoch);
                using var m = ml.Ranker().Trainers.MultiTask(o).Fit(data);
                return Fixture.Column(m.Transform(data), "ClickScore");
            }
            var alone11 = Run(11);
            var alone12 = Run(12);
            Assert.NotEqual(alone11, alone12);

            using var stop = new CancellationTokenSource();
            var churn = Task.Run(() =>
            {
                long n = 0;
                while (!stop.IsCancellationRequested)
                {
                    var junk = new byte[64 * 1024];
                    n += junk.Length;
                    if ((n & ((1 << 24) - 1)) == 0)
                    {
                        GC.Collect();
                        GC.WaitForPendingFinalizers();
                    }
                }
            });
            Task<float[]>? b = null;
            float[] together11, together12;
            try
            {
                together11 = await Task.Run(() => Run(11, () =>
                {
                    b = Task.Run(() => Run(12));
                    Thread.Sleep(500);   // the second training reaches the gate before the first goes on
                }));
                Assert.NotNull(b);
                together12 = await b!;
            }
            finally
            {
                stop.Cancel();
                await churn;
            }
            Assert.Equal(alone11, together11);
            Assert.Equal(alone12, together12);
        }

        private sealed class OnFirstEpoch : IProgress<MultiTaskProgress>
        {
            private Action? _action;
            public OnFirstEpoch(Action action) => _action = action;
            public void Report(MultiTaskProgress value)
            {
                var a = _action;
                _action = null;
                a?.Invoke();
            }
        }
    }
}
