using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    public class ClickRelevanceTests
    {
        private sealed class Impression
        {
            public uint Item { get; set; }
            public string Name { get; set; } = "";
            public float Propensity { get; set; }
            public bool Click { get; set; }
            public float ClickF { get; set; }
        }

        private sealed class ItemRow
        {
            public uint Item { get; set; }
            public string Name { get; set; } = "";
        }

        private static Impression I(uint item, float p, bool c) => new() { Item = item, Name = "doc" + item, Propensity = p, Click = c, ClickF = c ? 1 : 0 };

        // item 1: clicks at propensity 1 and 0.5, one miss at 0.5 -> IPS (1 + 2 + 0) / 3 = 1, CTR 2/3
        // item 2: a click at 0.25 and a miss -> IPS (4 + 0) / 2 = 2 (clip 3: 1.5), CTR 1/2
        // item 3: one miss -> 0; item 4: never shown -> NaN (unseen)
        private static IDataView Log(MLContext ml) => ml.Data.LoadFromEnumerable(new[]
        {
            I(1, 1f, true), I(2, 0.25f, true), I(1, 0.5f, true), I(3, 0.5f, false), I(1, 0.5f, false), I(2, 0.25f, false),
        });

        private static IDataView Items(MLContext ml) => ml.Data.LoadFromEnumerable(new uint[] { 1, 2, 3, 4 }.Select(i => new ItemRow { Item = i, Name = "doc" + i }));

        [Fact]
        public void IpsRelevance_IsTheMeanOfClickOverPropensity_PerItem_NaNForUnseen()
        {
            var ml = new MLContext(1);
            var t = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Item", ImpressionsColumnName = "Impressions" }).Fit(Log(ml));
            var scored = t.Transform(Items(ml));
            var rel = scored.GetColumn<float>("Relevance").ToArray();
            Assert.Equal(new[] { 1f, 2f, 0f }, rel.Take(3).ToArray());
            Assert.True(float.IsNaN(rel[3]));
            Assert.Equal(new[] { 3f, 2f, 1f, 0f }, scored.GetColumn<float>("Impressions").ToArray());
            Assert.Equal(3, t.Items);
            Assert.Equal(6, t.Rows);
            Assert.Equal(3, t.Clicks);
            Assert.Equal(0, t.ClippedClicks);
            Assert.True(t.IsPropensityCorrected);
            Assert.DoesNotContain(scored.Schema, c => c.Name.StartsWith("__clickrel", StringComparison.Ordinal) && !c.IsHidden);
        }

        [Fact]
        public void Clipping_NaiveCtr_StringIds_SingleLabel_AndUnseenValue()
        {
            var ml = new MLContext(1);
            var clipped = ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Item", maximumWeight: 3).Fit(Log(ml));
            Assert.Equal(new[] { 1f, 1.5f, 0f }, clipped.Transform(Items(ml)).GetColumn<float>("Relevance").Take(3).ToArray());
            Assert.Equal(1, clipped.ClippedClicks);

            var naive = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Name", PropensityColumnName = null, LabelColumnName = "ClickF", UnseenValue = 0 }).Fit(Log(ml));
            Assert.False(naive.IsPropensityCorrected);
            var ctr = naive.Transform(Items(ml)).GetColumn<float>("Relevance").ToArray();
            Assert.Equal(2f / 3f, ctr[0], 6);
            Assert.Equal(new[] { 0.5f, 0f, 0f }, ctr.Skip(1).ToArray());
        }

        [Fact]
        public void BadInput_NamesTheColumn()
        {
            var ml = new MLContext(1);
            var shape = Shapes.Of(Log(ml).Schema);
            var missing = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Doc").GetOutputSchema(shape));
            Assert.Contains("'Doc'", missing.Message);
            var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Propensity").Fit(Log(ml)));
            Assert.Contains("'Propensity'", wrongType.Message);
            Assert.Contains("Single", wrongType.Message);
            var bad = ml.Data.LoadFromEnumerable(new[] { I(1, 0.5f, true), I(2, 0f, false) });
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Item").Fit(bad));
            Assert.Contains("'Propensity'", ex.Message);
            Assert.Contains("row 1", ex.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EstimateClickRelevance(maximumWeight: 0.5));
            var output = ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Item").GetOutputSchema(shape);
            Assert.Equal(NumberDataViewType.Single, output.Single(c => c.Name == "Relevance").ItemType);
        }

        [Fact]
        public void SavedTransform_LoadsInANewContext_AndScoresIdentically()
        {
            var ml = new MLContext(1);
            var t = ml.Ranker().Transforms.EstimateClickRelevance(new ClickRelevanceEstimator.Options { ItemColumnName = "Name", ImpressionsColumnName = "Impressions" }).Fit(Log(ml));
            var items = Items(ml);
            var path = Path.Combine(Path.GetTempPath(), $"clickrel-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(t, items.Schema, path);
                var loaded = new MLContext(3).Model.Load(path, out _);
                Assert.IsNotType<ClickRelevanceTransformer>(loaded);
                foreach (var col in new[] { "Relevance", "Impressions" })
                    Assert.Equal(t.Transform(items).GetColumn<float>(col).ToArray(), loaded.Transform(items).GetColumn<float>(col).ToArray());
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void OnPositionBasedClicks_IpsRecoversTheAttraction_WhereTheCtrIsConfounded()
        {
            // 20 items with known attraction; a ranker that puts attractive items on top (plus noise); clicks = θ(position) · γ
            var ml = new MLContext(1);
            var rng = new Random(3);
            var gamma = Enumerable.Range(0, 20).Select(i => 0.05 + 0.045 * i).ToArray();
            var rows = new List<Impression>();
            for (int s = 0; s < 20000; s++)
            {
                var order = Enumerable.Range(0, 20).OrderByDescending(i => gamma[i] + 0.3 * rng.NextDouble()).ToArray();
                for (int r = 0; r < 10; r++)
                {
                    float theta = 1f / (r + 1);
                    rows.Add(I((uint)order[r], theta, rng.NextDouble() < theta * gamma[order[r]]));
                }
            }
            var log = ml.Data.LoadFromEnumerable(rows);
            var items = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 20).Select(i => new ItemRow { Item = (uint)i }));
            var ips = ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Item", maximumWeight: 100).Fit(log).Transform(items).GetColumn<float>("Relevance").ToArray();
            var ctr = ml.Ranker().Transforms.EstimateClickRelevance(itemColumnName: "Item", propensityColumnName: null).Fit(log).Transform(items).GetColumn<float>("Relevance").ToArray();
            // items shown often enough to estimate (2,000+ impressions) (the ranker hides the least attractive ones)
            var seen = Enumerable.Range(0, 20).Where(i => rows.Count(r => r.Item == i) >= 2000).ToArray();
            Assert.True(seen.Length >= 8, $"{seen.Length} items shown 2000+ times");
            double ipsErr = seen.Max(i => Math.Abs(ips[i] - gamma[i]));
            double ctrErr = seen.Max(i => Math.Abs(ctr[i] - gamma[i]));
            Assert.True(ipsErr < 0.1, $"IPS max error {ipsErr:F3}");
            Assert.True(ctrErr > 0.3, $"CTR max error {ctrErr:F3}");
        }
    }
}
