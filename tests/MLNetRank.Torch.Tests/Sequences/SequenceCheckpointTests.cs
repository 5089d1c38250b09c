using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>A checkpoint records the options of every sequence layer, not only its type: a run whose layer differs only
    /// in an option (same parameter shapes, a different function) is refused at resume, naming the feature list; the same
    /// options resume.</summary>
    [Collection("TorchSharp")]
    public class SequenceCheckpointTests
    {
        private static MultiTaskEstimator.Options Options(string dir, bool resume, int epochs, Action<TargetAttentionPooling>? change = null)
        {
            var o = SequenceNetworkTests.Options("din", epochs);
            var din = (TargetAttentionPooling)((SequenceFeature)o.Features.First(f => f.ColumnName == ImpressionColumns.UserLiveSeq)).Pooling!;
            change?.Invoke(din);
            o.CheckpointPath = Path.Combine(dir, "run");
            o.ResumeFromCheckpoint = resume;
            return o;
        }

        [Theory]
        [InlineData("Weighting")]
        [InlineData("HiddenLayers")]
        [InlineData("EqualWeightPenalty")]
        public void APoolingOptionThatDiffers_IsRefusedAtResume(string option)
        {
            var ml = new MLContext(seed: 1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(60)).GetImpressions(ml);
            var dir = Path.Combine(Path.GetTempPath(), $"mlnetrank-seqck-{Guid.NewGuid():N}");
            Directory.CreateDirectory(dir);
            try
            {
                ml.Ranker().Trainers.MultiTask(Options(dir, false, 1)).Fit(data).Dispose();
                // Softmax weights: the same parameter shapes, another function (before, the checkpoint recorded only the
                // pooling's type and resumed it); a second hidden layer: named as well, before any shape is compared
                // a training-only penalty: the same shapes and export, another objective
                Action<TargetAttentionPooling> change = option switch
                {
                    "Weighting" => p => p.Weighting = AttentionWeighting.Softmax,
                    "EqualWeightPenalty" => p => p.EqualWeightPenalty = 1f,
                    _ => p => p.HiddenLayers = new[] { 32, 32 },
                };
                var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.MultiTask(Options(dir, true, 2, change)).Fit(data));
                Assert.Contains("different training run", ex.Message);
                Assert.Contains("Features:", ex.Message);
                Assert.Contains(option + "=", ex.Message);
                // the same options resume from the checkpoint
                using var resumed = ml.Ranker().Trainers.MultiTask(Options(dir, true, 2)).Fit(data);
                Assert.Equal(2, resumed.History.Count);
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
