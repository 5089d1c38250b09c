using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    public class InversePropensityWeightTests
    {
        private sealed class Row
        {
            public float Propensity { get; set; }
            public bool Click { get; set; }
            public float ClickF { get; set; }
        }

        private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(new[]
        {
            new Row { Propensity = 1f, Click = true, ClickF = 1 },
            new Row { Propensity = 0.5f, Click = true, ClickF = 1 },
            new Row { Propensity = 0.05f, Click = true, ClickF = 1 },   // 20 -> clipped to 10
            new Row { Propensity = 0.25f, Click = false, ClickF = 0 },
        });

        [Fact]
        public void ClickedRows_GetClippedInversePropensity_OthersOne()
        {
            var ml = new MLContext(1);
            var data = Data(ml);
            var t = ml.Ranker().Transforms.InversePropensityWeight().Fit(data);
            Assert.Equal(new[] { 1f, 2f, 10f, 1f }, t.Transform(data).GetColumn<float>("Weight").ToArray());
            Assert.Equal(1, t.ClippedRows);
            Assert.Equal(1, t.Scale);

            // a Single 0/1 label gives the same weights
            var f = ml.Ranker().Transforms.InversePropensityWeight(labelColumnName: "ClickF").Fit(data);
            Assert.Equal(new[] { 1f, 2f, 10f, 1f }, f.Transform(data).GetColumn<float>("Weight").ToArray());
        }

        [Fact]
        public void AllRows_AndNormalizationOverClicks()
        {
            var ml = new MLContext(1);
            var data = Data(ml);
            var all = ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightEstimator.Options { ApplyTo = InversePropensityWeighting.AllRows, MaximumWeight = 5 }).Fit(data);
            Assert.Equal(new[] { 1f, 2f, 5f, 4f }, all.Transform(data).GetColumn<float>("Weight").ToArray());

            var norm = ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightEstimator.Options { NormalizeOverClicks = true }).Fit(data);
            var w = norm.Transform(data).GetColumn<float>("Weight").ToArray();
            Assert.Equal(3.0 / 13.0, norm.Scale, 9); // clicked weights 1, 2, 10: mean 13/3
            Assert.Equal(1.0, (w[0] + w[1] + w[2]) / 3.0, 5);
            Assert.Equal(1f, w[3]);
        }

        [Fact]
        public void BadPropensities_AndSchemaErrors_NameTheColumn()
        {
            var ml = new MLContext(1);
            foreach (var bad in new[] { 0f, -0.5f, float.NaN, float.PositiveInfinity })
            {
                var data = ml.Data.LoadFromEnumerable(new[] { new Row { Propensity = 0.5f }, new Row { Propensity = bad } });
                var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.InversePropensityWeight().Fit(data));
                Assert.Contains("'Propensity'", ex.Message);
                Assert.Contains("row 1", ex.Message);
            }
            var shape = Shapes.Of(Data(ml).Schema);
            var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.InversePropensityWeight(propensityColumnName: "P").GetOutputSchema(shape));
            Assert.Contains("'P'", missing.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.InversePropensityWeight(maximumWeight: 0.5));
            var output = ml.Ranker().Transforms.InversePropensityWeight().GetOutputSchema(shape);
            Assert.Equal(NumberDataViewType.Single, output.Single(c => c.Name == "Weight").ItemType);
        }

        [Fact]
        public void PropensityThenWeights_AsOneChain_SavesAndLoadsWithoutMLNetRank()
        {
            var ml = new MLContext(1);
            var rows = PositionPropensityTests.RandomizedLog(4000, new[] { 1.0, 0.5, 0.25 }, seed: 4);
            var data = ml.Data.LoadFromEnumerable(rows);
            var chain = ml.Ranker().Transforms.EstimatePositionPropensity(maximumPosition: 2)
                .Append(ml.Ranker().Transforms.InversePropensityWeight(new InversePropensityWeightEstimator.Options { NormalizeOverClicks = true }));
            var model = chain.Fit(data);
            var scored = model.Transform(data);
            var prop = scored.GetColumn<float>("Propensity").ToArray();
            var w = scored.GetColumn<float>("Weight").ToArray();
            var scale = ((InversePropensityWeightTransformer)model.LastTransformer).Scale;
            for (int i = 0; i < rows.Count; i++)
                Assert.Equal(rows[i].Click ? (float)(Math.Min(1 / prop[i], 10) * scale) : 1f, w[i], 5);

            var path = Path.Combine(Path.GetTempPath(), $"ips-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var loaded = new MLContext(3).Model.Load(path, out _).Transform(data);
                Assert.Equal(prop, loaded.GetColumn<float>("Propensity").ToArray());
                Assert.Equal(w, loaded.GetColumn<float>("Weight").ToArray());
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
