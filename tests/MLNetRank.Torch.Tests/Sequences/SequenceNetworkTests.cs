using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.TestSupport;
using MLNetRank.Torch.MultiTask;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>Networks with DIN, V2 dual target attention and the V4 transformer train, export (ONNX = TorchSharp to 1e-5,
    /// one row per call and in batches), save, and reload in a new context with identical scores.</summary>
    [Collection("TorchSharp")]
    public class SequenceNetworkTests
    {
        private readonly ITestOutputHelper _out;

        public SequenceNetworkTests(ITestOutputHelper output) => _out = output;

        internal static LiveStreamSimulatorOptions SimOptions(int requests, double interest = 1.5) => new()
        {
            Seed = 5, UserCount = 300, LiveCount = 60, ItemCount = 600, CategoryCount = 12, CommunityCount = 4,
            RequestCount = requests, ListSize = 8, CandidatePoolSize = 20, ItemInterestScale = interest,
        };

        /// <summary>Stat features, the room id, and the sequences declared for one of the layers.</summary>
        internal static MultiTaskEstimator.Options Options(string layer, int epochs = 1)
        {
            var o = new MultiTaskEstimator.Options { Epochs = epochs, BatchSize = 128, Experts = 2, ExpertLayers = new[] { 16 }, TowerLayers = new[] { 8 }, ShuffleBufferSize = 1000, Seed = 3 };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures));
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, 8));
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveItemsOnSale, 8) { MaximumLength = 8 });
            var items = new SequenceFeature(ImpressionColumns.UserItemSeq) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true, MaximumLength = 20 };
            var rooms = new SequenceFeature(ImpressionColumns.UserLiveSeq) { SharedEmbeddingWith = ImpressionColumns.LiveId, SameForAllCandidates = true };
            switch (layer)
            {
                case "mean":
                    break;
                case "din":
                    rooms.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId);
                    break;
                case "dual":
                    items.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveItemsOnSale);
                    rooms.Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId) { Weighting = AttentionWeighting.Softmax };
                    break;
                case "transformer":
                    o.Features.Add(new SequenceFeature(ImpressionColumns.LiveCoreItems) { SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, MaximumLength = 5 });
                    items.Pooling = new TransformerPooling(ImpressionColumns.LiveCoreItems, ImpressionColumns.LiveItemsOnSale) { Layers = 2, Heads = 4 };
                    break;
                case "transformer-target":
                    items.Pooling = new TransformerPooling(ImpressionColumns.LiveItemsOnSale) { Layers = 1, Heads = 2, Output = TransformerOutput.TargetAttention, TargetFeatureName = ImpressionColumns.LiveId };
                    break;
                default:
                    throw new ArgumentException(layer);
            }
            o.Features.Add(items);
            o.Features.Add(rooms);
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
            o.Tasks.Add(new TaskSpec("Buy", ImpressionColumns.Buy));
            return o;
        }

        [Theory]
        [InlineData("din")]
        [InlineData("dual")]
        [InlineData("transformer")]
        [InlineData("transformer-target")]
        public void TrainsExportsAndReloadsWithIdenticalScores(string layer)
        {
            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(SimOptions(150));
            var data = sim.GetImpressions(ml);
            using var model = ml.Ranker().Trainers.MultiTask(Options(layer)).Fit(data);
            Assert.True(double.IsFinite(model.History[^1].TrainingLoss));
            // ONNX (one row per OnnxTransformer call) = TorchSharp
            var torch = model.TorchOutputs(data);
            var scored = model.Transform(data);
            for (int k = 0; k < model.OutputColumnNames.Count; k++)
            {
                var onnx = Column(scored, model.OutputColumnNames[k]);
                Assert.Equal(torch[k].Length, onnx.Length);
                for (int i = 0; i < onnx.Length; i++)
                    Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])), $"{layer} {model.OutputColumnNames[k]} row {i}: ONNX {onnx[i]} vs TorchSharp {torch[k][i]}");
            }
            var path = Path.Combine(Path.GetTempPath(), $"seq-{layer}-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                // a new context: identical scores
                var ml2 = new MLContext(seed: 9);
                var loaded = ml2.Model.Load(path, out _);
                var again = loaded.Transform(sim.GetImpressions(ml2));
                foreach (var name in model.OutputColumnNames)
                    Assert.Equal(Column(scored, name), Column(again, name));
                (loaded as IDisposable)?.Dispose();
                // the request scorer (a request's rows in one call, user-side sequences fed once) = TorchSharp
                using var scorer = RequestScorer.Open(path);
                var batched = scorer.ScoreAll(data, batchSize: 8);
                // a "request" spanning two users' rows breaks SameForAllCandidates: refused, the column named
                var ex = Assert.Throws<InvalidOperationException>(() => scorer.ScoreAll(data, batchSize: 16));
                Assert.Contains("SameForAllCandidates", ex.Message);
                Assert.Contains("UserItemSeq", ex.Message);
                for (int k = 0; k < model.OutputColumnNames.Count; k++)
                {
                    var b = (float[])batched[model.OutputColumnNames[k]];
                    for (int i = 0; i < b.Length; i++)
                        Assert.True(Math.Abs(b[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])), $"{layer} batched {model.OutputColumnNames[k]} row {i}: {b[i]} vs {torch[k][i]}");
                }
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void BadDeclarations_AreRejected_WithTheFeatureNamed()
        {
            var ml = new MLContext(1);
            var o = Options("mean");
            ((SequenceFeature)o.Features.First(f => f.ColumnName == ImpressionColumns.UserLiveSeq)).Pooling = new TargetAttentionPooling("NoSuchColumn");
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("UserLiveSeq", ex.Message);
            Assert.Contains("NoSuchColumn", ex.Message);
            o = Options("mean");
            o.Features.Add(new CategoricalFeature(ImpressionColumns.UserId, 4));
            ((SequenceFeature)o.Features.First(f => f.ColumnName == ImpressionColumns.UserLiveSeq)).Pooling = new TargetAttentionPooling(ImpressionColumns.UserId);
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("UserLiveSeq", ex.Message);
            Assert.Contains("dimensions", ex.Message);
        }

        internal static float[] Column(IDataView view, string name)
        {
            var t = view.Schema[name].Type;
            return t is VectorDataViewType
                ? view.GetColumn<float[]>(view.Schema[name]).Select(v => v[0]).ToArray()
                : view.GetColumn<float>(view.Schema[name]).ToArray();
        }
    }
}
