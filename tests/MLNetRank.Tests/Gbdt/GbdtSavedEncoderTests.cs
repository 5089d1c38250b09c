using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Gbdt;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    [Collection(LightGbmCollection.Name)]
    public class GbdtSavedEncoderTests
    {
        [Theory]
        [InlineData(GbdtLeafTrainer.FastTree)]
        [InlineData(GbdtLeafTrainer.LightGbm)]
        public void TheFastEncoderIsRebuiltFromTheSavedZip(GbdtLeafTrainer trainer)
        {
            const int f = 6;
            var ml = new MLContext(seed: 121);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(1000, f, seed: 122, nanRate: 0.15), f);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                Trainer = trainer, OutputColumnName = "Ids", NumberOfTrees = 7, NumberOfLeaves = 9, MinimumExampleCountPerLeaf = 5,
            }).Fit(data);
            using var zip = new MemoryStream();
            ml.Model.Save(model, data.Schema, zip);
            zip.Position = 0;
            var saved = Assert.Single(SavedGbdtLeafEncoder.Load(zip));
            Assert.Equal("Features", saved.FeatureColumnName);
            Assert.Equal("Ids", saved.OutputColumnName);
            Assert.Equal(model.LeafCounts, saved.Encoder.LeafCounts);
            Assert.Equal(f, saved.Encoder.FeatureCount);
            var rows = GbdtTestData.StressRows(500, f, seed: 123);
            var x = rows.SelectMany(r => r.Features).ToArray();
            var expected = new int[rows.Count * model.Encoder.TreeCount];
            var actual = new int[expected.Length];
            model.Encoder.EncodeBatch(x, rows.Count, expected, 1);
            saved.Encoder.EncodeBatch(x, rows.Count, actual, 1);
            Assert.Equal(expected, actual);
            var one = new int[model.Encoder.TreeCount];
            saved.Encoder.Encode(rows[3].Features, one);
            Assert.Equal(expected.Take(one.Length * 4).Skip(one.Length * 3), one);
        }

        [Fact]
        public void AZipWithoutGbdtEncodingGivesNone()
        {
            var ml = new MLContext(seed: 1);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(50, 3, seed: 2), 3);
            var t = ml.Transforms.NormalizeMinMax("Features").Fit(data);
            using var zip = new MemoryStream();
            ml.Model.Save(t, data.Schema, zip);
            zip.Position = 0;
            Assert.Empty(SavedGbdtLeafEncoder.Load(zip));
        }
    }
}
