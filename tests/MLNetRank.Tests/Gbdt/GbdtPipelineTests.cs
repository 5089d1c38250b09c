using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Gbdt;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    public class GbdtPipelineTests
    {
        private sealed class Scored
        {
            public float Probability { get; set; }
        }

        private sealed class In
        {
            [VectorType(4)]
            public float[] Features { get; set; } = Array.Empty<float>();
        }

        private sealed class Out
        {
            public uint[] LeafIds { get; set; } = Array.Empty<uint>();
        }

        [Fact]
        public void APredictionEngineScoresSingleRowsLikeTheEncoder()
        {
            var ml = new MLContext(seed: 141);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(400, 4, seed: 142), 4);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(numberOfTrees: 6, numberOfLeaves: 5).Fit(data);
            using var engine = ml.Model.CreatePredictionEngine<In, Out>(model);
            var leaves = new int[6];
            foreach (var row in GbdtTestData.StressRows(50, 4, seed: 143))
            {
                var ids = engine.Predict(new In { Features = row.Features }).LeafIds;
                model.Encoder.Encode(row.Features, leaves);
                Assert.Equal(leaves.Select(l => (uint)(l + 1)), ids);
            }
        }

        [Fact]
        public void AGbdtPlusLrPipelineSavesAndLoadsAsPlainMLNet()
        {
            const int f = 5;
            var ml = new MLContext(seed: 131);
            var trees = GbdtTestData.Load(ml, GbdtTestData.Rows(600, f, seed: 132), f);
            var lr = GbdtTestData.Load(ml, GbdtTestData.Rows(600, f, seed: 133), f);
            var test = GbdtTestData.Load(ml, GbdtTestData.StressRows(200, f, seed: 134).Select(r =>
            {
                // NaN stays (missing: the trees route it, the LR part imputes the mean); infinities are not data.
                r.Features = r.Features.Select(v => float.IsInfinity(v) ? 0f : v).ToArray();
                return r;
            }), f);
            var pipeline = ml.Ranker().Trainers.GbdtLogisticRegression(new GbdtLeafEncodingEstimator.Options
            {
                FittingData = trees, NumberOfTrees = 5, NumberOfLeaves = 6, MinimumExampleCountPerLeaf = 5,
            });
            var model = pipeline.Fit(lr);
            var before = ml.Data.CreateEnumerable<Scored>(model.Transform(test), reuseRowObject: false).Select(s => s.Probability).ToArray();
            var path = Path.Combine(Path.GetTempPath(), $"gbdt-lr-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, lr.Schema, path);
                var fresh = new MLContext(seed: 1);
                var loaded = fresh.Model.Load(path, out _);
                var after = fresh.Data.CreateEnumerable<Scored>(loaded.Transform(test), reuseRowObject: false).Select(s => s.Probability).ToArray();
                Assert.Equal(before, after);
                Assert.All(before, p => Assert.InRange(p, 0f, 1f)); // NaN inputs give valid probabilities too
                (loaded as IDisposable)?.Dispose();
            }
            finally
            {
                File.Delete(path);
                foreach (var t in model.OfType<IDisposable>())
                    t.Dispose();
            }
        }
    }
}
