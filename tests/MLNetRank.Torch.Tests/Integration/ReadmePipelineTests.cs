using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Gbdt;
using MLNetRank.Graph;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.Integration
{
    /// <summary>
    /// README's "A ranker in one pipeline": GBDT leaf encoding + metapath2vec + a multi-task MMoE as one ML.NET
    /// pipeline, saved as one zip that a fresh MLContext loads and scores identically.
    /// </summary>
    public class ReadmePipelineTests
    {
        [Fact]
        [Trait("Category", "Quality")]
        public void GbdtLeavesPlusMetapath2VecPlusMultiTask_FitSaveLoadScore()
        {
            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { RequestCount = 2_000, UserCount = 400, LiveCount = 80, ItemCount = 800 });
            IDataView train = ml.Data.Cache(sim.GetImpressions(ml, 0, 1_600)), edges = sim.GetEdges(ml);
            IDataView test = ml.Data.Cache(sim.GetImpressions(ml, 1_600, 400));

            // --- as in README (sizes reduced for the test) ---
            var pipeline = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
                    { FeatureColumnName = "StatFeatures", LabelColumnName = "Click", OutputColumnName = "LeafIds", NumberOfTrees = 20, NumberOfLeaves = 8 })
                .Append(ml.Ranker().Transforms.Metapath2Vec(edges,
                    new Metapath2VecEstimator.Options { Metapaths = new[] { "User-Live-User", "User-Item-Live-Item-User" }, Dimension = 16, WalksPerNode = 3, WalkLength = 20, Epochs = 1 },
                    new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("LiveEmbedding", "LiveId")))
                .Append(ml.Transforms.Concatenate("Dense", "StatFeatures", "UserEmbedding", "LiveEmbedding"))
                .Append(ml.Ranker().Trainers.MultiTask(new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.MMoE,
                    Epochs = 2,
                    Features = { new DenseFeature("Dense"), new CategoricalFeature("LeafIds"), new SequenceFeature("UserItemSeq") },
                    Tasks = { new TaskSpec("Click", "Click"), new TaskSpec("Buy", "Buy") { ConditionedOn = "Click" } },
                }));
            var model = pipeline.Fit(train);
            // ---

            var scored = model.Transform(test);
            var clickProb = scored.GetColumn<float[]>("ClickProbability").Select(v => v[0]).ToArray();
            var clicks = test.GetColumn<bool>("Click").ToArray();
            double auc = RankerMetrics.Auc(clickProb, clicks);
            Assert.True(auc > 0.7, $"click AUC {auc}");

            var path = Path.Combine(Path.GetTempPath(), $"mlnetrank-readme-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, train.Schema, path);
                var fresh = new MLContext();
                var loaded = fresh.Model.Load(path, out _);
                var again = loaded.Transform(test);
                foreach (var column in new[] { "ClickProbability", "BuyProbability", "BuyJointProbability" })
                {
                    var a = scored.GetColumn<float[]>(column).Select(v => v[0]).ToArray();
                    var b = again.GetColumn<float[]>(column).Select(v => v[0]).ToArray();
                    Assert.Equal(a, b);
                }
                (loaded as IDisposable)?.Dispose();
            }
            finally
            {
                File.Delete(path);
                (model as IDisposable)?.Dispose();
            }
        }
    }
}
