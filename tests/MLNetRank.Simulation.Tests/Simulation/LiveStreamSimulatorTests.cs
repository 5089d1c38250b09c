using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    public class LiveStreamSimulatorTests
    {
        private readonly ITestOutputHelper _out;

        public LiveStreamSimulatorTests(ITestOutputHelper output) => _out = output;

        [Fact]
        public void Schema_MatchesTheContract()
        {
            var sim = new LiveStreamSimulator(SimHelpers.Small());
            var s = sim.GetImpressions(new MLContext(1)).Schema;
            var u32 = NumberDataViewType.UInt32;
            var expected = new (string name, DataViewType type)[]
            {
                ("RequestId", u32), ("UserId", u32), ("LiveId", u32), ("Time", NumberDataViewType.Single), ("Position", NumberDataViewType.Int32),
                ("IsRandomized", BooleanDataViewType.Instance), ("StatFeatures", new VectorDataViewType(NumberDataViewType.Single, ImpressionColumns.StatFeatureCount)),
                ("UserItemSeq", new VectorDataViewType(u32)), ("UserLiveSeq", new VectorDataViewType(u32)),
                ("LiveItemsOnSale", new VectorDataViewType(u32)), ("LiveCoreItems", new VectorDataViewType(u32)),
                ("Click", BooleanDataViewType.Instance), ("Buy", BooleanDataViewType.Instance), ("StayTime", NumberDataViewType.Single),
                ("Follow", BooleanDataViewType.Instance), ("Comment", BooleanDataViewType.Instance),
                ("TrueAttraction", NumberDataViewType.Single), ("TrueConversion", NumberDataViewType.Single),
                ("TrueExamination", NumberDataViewType.Single), ("TrueRelevance", NumberDataViewType.Single),
                ("TrueObjectives", new VectorDataViewType(NumberDataViewType.Single, 5)),
            };
            Assert.Equal(expected.Select(e => e.name), s.Select(c => c.Name));
            foreach (var (name, type) in expected)
                Assert.Equal(type, s[name].Type);
            Assert.False(((VectorDataViewType)s["UserItemSeq"].Type).IsKnownSize);
            Assert.True(((VectorDataViewType)s["StatFeatures"].Type).IsKnownSize);
            VBuffer<ReadOnlyMemory<char>> names = default;
            s["StatFeatures"].GetSlotNames(ref names);
            Assert.Equal(ImpressionColumns.StatFeatureNames, names.DenseValues().Select(m => m.ToString()));
            Assert.Equal(25, ImpressionColumns.StatFeatureCount);

            var e = sim.GetEdges(new MLContext(1)).Schema;
            Assert.Equal(new[] { "SourceId", "SourceType", "TargetId", "TargetType", "Weight" }, e.Select(c => c.Name));
            Assert.Equal(u32, e["SourceId"].Type);
            Assert.Equal(TextDataViewType.Instance, e["SourceType"].Type);
            Assert.Equal(u32, e["TargetId"].Type);
            Assert.Equal(TextDataViewType.Instance, e["TargetType"].Type);
            Assert.Equal(NumberDataViewType.Single, e["Weight"].Type);
        }

        [Fact]
        public void SameSeed_GivesSameRows_DifferentSeed_DifferentRows()
        {
            var a = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(seed: 3, requests: 60)).GetImpressions(new MLContext(1)));
            var b = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(seed: 3, requests: 60)).GetImpressions(new MLContext(99)));
            var c = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(seed: 4, requests: 60)).GetImpressions(new MLContext(1)));
            Assert.Equal(a.Count, b.Count);
            for (int i = 0; i < a.Count; i++)
            {
                Assert.Equal(a[i].UserId, b[i].UserId);
                Assert.Equal(a[i].LiveId, b[i].LiveId);
                Assert.Equal(a[i].Time, b[i].Time);
                Assert.Equal(a[i].Click, b[i].Click);
                Assert.Equal(a[i].StayTime, b[i].StayTime);
                Assert.Equal(a[i].Stat, b[i].Stat);
                Assert.Equal(a[i].ItemSeq, b[i].ItemSeq);
                Assert.Equal(a[i].OnSale, b[i].OnSale);
                Assert.Equal(a[i].TrueAttraction, b[i].TrueAttraction);
            }
            int diffLive = a.Zip(c, (x, y) => x.LiveId != y.LiveId || x.UserId != y.UserId ? 1 : 0).Sum();
            Assert.True(diffLive > a.Count / 2, $"only {diffLive} of {a.Count} rows differ between seeds 3 and 4");
            // a second cursor over the same view gives the same rows
            var view = new LiveStreamSimulator(SimHelpers.Small(seed: 3, requests: 60)).GetImpressions(new MLContext(1));
            var d1 = SimHelpers.Read(view);
            var d2 = SimHelpers.Read(view);
            Assert.Equal(d1.Select(r => r.Stat.Sum()), d2.Select(r => r.Stat.Sum()));
        }

        [Fact]
        public void Requests_AreContiguous_PositionsOrdered_TimeIncreasing_IdsInRange()
        {
            var o = SimHelpers.Small(requests: 200);
            var sim = new LiveStreamSimulator(o);
            var rows = SimHelpers.Read(sim.GetImpressions(new MLContext(1)));
            Assert.Equal(200 * o.ListSize, rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var r = rows[i];
                Assert.Equal((uint)(i / o.ListSize + 1), r.RequestId);
                Assert.Equal(i % o.ListSize + 1, r.Position);
                Assert.InRange(r.UserId, 1u, (uint)o.UserCount);
                Assert.InRange(r.LiveId, 1u, (uint)o.LiveCount);
                Assert.InRange(r.Time, 0f, (float)o.TimeSpanHours);
                Assert.All(r.ItemSeq.Concat(r.OnSale).Concat(r.Core), id => Assert.InRange(id, 1u, (uint)o.ItemCount));
                Assert.All(r.LiveSeq, id => Assert.InRange(id, 1u, (uint)o.LiveCount));
                Assert.InRange(r.ItemSeq.Length, 1, o.MaxItemSequenceLength);
                Assert.InRange(r.OnSale.Length, 1, o.MaxItemsOnSale);
                Assert.All(r.Stat, v => Assert.True(float.IsFinite(v)));
                if (i > 0)
                    Assert.True(r.Time >= rows[i - 1].Time);
                if (r.Position > 1)
                {
                    var prev = rows[i - 1];
                    Assert.Equal(prev.UserId, r.UserId);
                    Assert.Equal(prev.Time, r.Time);
                    Assert.Equal(prev.IsRandomized, r.IsRandomized);
                    Assert.Equal(prev.ItemSeq, r.ItemSeq);
                }
                Assert.Equal((float)sim.World.TrueExamination(r.Position), r.TrueExamination);
                Assert.Equal(r.Core, sim.World.LiveCoreItemsOf(r.LiveId));
                Assert.Equal(r.OnSale, sim.World.LiveItemsOnSaleAt(r.LiveId, r.Time));
                Assert.All(r.OnSale, id => Assert.Contains(id, sim.World.LiveCatalog(r.LiveId)));
                Assert.Equal((float)sim.World.TrueAttraction(r.UserId, r.LiveId, r.Time), r.TrueAttraction);
                Assert.Equal((float)sim.World.TrueConversion(r.UserId, r.LiveId, r.Time), r.TrueConversion);
            }
            // a live room appears at most once per list
            foreach (var g in rows.GroupBy(r => r.RequestId))
                Assert.Equal(o.ListSize, g.Select(r => r.LiveId).Distinct().Count());
        }

        [Fact]
        public void Labels_AreConsistent()
        {
            var rows = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(requests: 1500)).GetImpressions(new MLContext(1)));
            foreach (var r in rows)
            {
                if (r.Buy || r.Follow || r.Comment)
                    Assert.True(r.Click);
                Assert.Equal(r.Click, r.StayTime > 0);
                Assert.InRange(r.TrueAttraction, 0f, 1f);
                Assert.InRange(r.TrueConversion, 0f, 1f);
                Assert.Contains(r.TrueRelevance, new[] { 0f, 1f, 2f, 3f, 4f });
            }
            int clicks = rows.Count(r => r.Click), buys = rows.Count(r => r.Buy);
            _out.WriteLine($"rows {rows.Count}, CTR {clicks / (double)rows.Count:0.0000}, buy|click {buys / (double)clicks:0.000}, follow|click {rows.Count(r => r.Follow) / (double)clicks:0.000}, comment|click {rows.Count(r => r.Comment) / (double)clicks:0.000}");
            _out.WriteLine($"stay median {Median(rows.Where(r => r.Click).Select(r => (double)r.StayTime))}, mean {rows.Where(r => r.Click).Average(r => r.StayTime)}");
            _out.WriteLine("relevance grades: " + string.Join(" ", rows.GroupBy(r => r.TrueRelevance).OrderBy(g => g.Key).Select(g => $"{g.Key}:{g.Count()}")));
            Assert.InRange(clicks / (double)rows.Count, 0.01, 0.5);
            Assert.True(buys > 0);
            // stay time is heavy-tailed: mean well above median
            var stays = rows.Where(r => r.Click).Select(r => (double)r.StayTime).ToList();
            Assert.True(stays.Average() > 1.3 * Median(stays));
            // labels follow the truth: clicked rows have higher attraction x examination
            Assert.True(rows.Where(r => r.Click).Average(r => r.TrueAttraction * r.TrueExamination) > 1.5 * rows.Average(r => r.TrueAttraction * r.TrueExamination));
            Assert.True(rows.Where(r => r.Buy).Average(r => r.TrueConversion) > rows.Where(r => r.Click && !r.Buy).Average(r => r.TrueConversion));
        }

        private static double Median(IEnumerable<double> values)
        {
            var a = values.OrderBy(v => v).ToArray();
            return a[a.Length / 2];
        }

        [Fact]
        public void Streaming_CountsWithoutMaterializing_AndSubrangesMatch()
        {
            var o = SimHelpers.Small(requests: 100_000_000);
            var sim = new LiveStreamSimulator(o);
            var view = sim.GetImpressions(new MLContext(1));
            Assert.Equal(800_000_000L, view.GetRowCount());
            Assert.Equal(800_000_000L, sim.ImpressionCount);
            Assert.False(view.CanShuffle);
            Assert.Single(view.GetRowCursorSet(view.Schema, 4));
            // the head of a huge stream is read lazily
            var head = SimHelpers.Read(view, 40);
            Assert.Equal(Enumerable.Range(0, 40).Select(i => (uint)(i / 8 + 1)), head.Select(r => r.RequestId));
            // a sub-range equals the matching rows of the full stream
            var full = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(requests: 10)).GetImpressions(new MLContext(1)));
            var part = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(requests: 10)).GetImpressions(new MLContext(1), 4, 3));
            Assert.Equal(24, part.Count);
            Assert.Equal(full.Skip(32).Take(24).Select(r => (r.RequestId, r.UserId, r.LiveId, r.Click, r.StayTime)), part.Select(r => (r.RequestId, r.UserId, r.LiveId, r.Click, r.StayTime)));
        }

        [Fact]
        public void RandomizedShare_IsRespected_AndLoggedListsAreBiasedTowardRelevance()
        {
            var o = SimHelpers.Small(requests: 3000);
            var rows = SimHelpers.Read(new LiveStreamSimulator(o).GetImpressions(new MLContext(1)));
            var firsts = rows.Where(r => r.Position == 1).ToList();
            double share = firsts.Count(r => r.IsRandomized) / (double)firsts.Count;
            double sd = Math.Sqrt(0.1 * 0.9 / firsts.Count);
            Assert.InRange(share, 0.1 - 4 * sd, 0.1 + 4 * sd);
            var logged = rows.Where(r => !r.IsRandomized).ToList();
            var random = rows.Where(r => r.IsRandomized).ToList();
            double corrLogged = SimHelpers.Pearson(logged.Select(r => (double)r.Position).ToList(), logged.Select(r => (double)r.TrueAttraction).ToList());
            double corrRandom = SimHelpers.Pearson(random.Select(r => (double)r.Position).ToList(), random.Select(r => (double)r.TrueAttraction).ToList());
            _out.WriteLine($"corr(position, attraction): logged {corrLogged:0.000}, randomized {corrRandom:0.000} (n = {random.Count})");
            Assert.True(corrLogged < -0.15, $"logged lists should put relevant rooms first: corr {corrLogged}");
            Assert.InRange(corrRandom, -4 / Math.Sqrt(random.Count / (double)o.ListSize), 4 / Math.Sqrt(random.Count / (double)o.ListSize));
            // the shown rooms of logged lists are more relevant than the randomized ones (selection bias)
            Assert.True(logged.Average(r => r.TrueAttraction) > random.Average(r => r.TrueAttraction));
        }

        [Fact]
        public void Options_AreValidated_WithTheOptionNamed()
        {
            var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(new LiveStreamSimulatorOptions { ListSize = 0 }));
            Assert.Contains("ListSize", ex.Message);
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(new LiveStreamSimulatorOptions { RandomizedShare = 1.5 }));
            Assert.Contains("RandomizedShare", ex.Message);
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(new LiveStreamSimulatorOptions { ListSize = 5, ExaminationCurve = new[] { 1.0, 0.5 } }));
            Assert.Contains("ExaminationCurve", ex.Message);
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(new LiveStreamSimulatorOptions { ListSize = 2, ExaminationCurve = new[] { 1.0, 0.0 } }));
            Assert.Contains("position 2", ex.Message);
            ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(new LiveStreamSimulatorOptions { CandidatePoolSize = 5 }));
            Assert.Contains("CandidatePoolSize", ex.Message);
            Assert.Throws<ArgumentNullException>(() => new LiveStreamSimulator(null!));
            var sim = new LiveStreamSimulator(SimHelpers.Small(requests: 3));
            Assert.Throws<ArgumentOutOfRangeException>(() => sim.GetImpressions(new MLContext(1), -1, 2));
            Assert.Throws<ArgumentOutOfRangeException>(() => sim.World.UserLatent(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => sim.World.TrueExamination(9));
        }

        [Fact]
        public void UserItemSequence_VsRoomItemsOnSale_TracksTrueConversionAndAttraction()
        {
            var sim = new LiveStreamSimulator(SimHelpers.Small(requests: 600));
            var w = sim.World;
            var rows = SimHelpers.Read(sim.GetImpressions(new MLContext(1)));
            // attention-like score: mean latent dot product of the user's recent items and the room's items on sale
            var lat = Enumerable.Range(1, w.ItemCount).Select(i => w.ItemLatent((uint)i)).ToArray();
            var score = rows.Select(r =>
            {
                double s = 0;
                foreach (var a in r.ItemSeq)
                    foreach (var b in r.OnSale)
                        for (int k = 0; k < w.LatentDimension; k++)
                            s += lat[a - 1][k] * lat[b - 1][k];
                return s / (r.ItemSeq.Length * r.OnSale.Length);
            }).ToList();
            static double Logit(double p) => Math.Log(p / (1 - p));
            double cConv = SimHelpers.Pearson(score, rows.Select(r => Logit(r.TrueConversion)).ToList());
            double cAttr = SimHelpers.Pearson(score, rows.Select(r => Logit(r.TrueAttraction)).ToList());
            // the category-match slot (23) is a coarse version of the same signal
            double cMatch = SimHelpers.Pearson(rows.Select(r => (double)r.Stat[23]).ToList(), rows.Select(r => Logit(r.TrueAttraction)).ToList());
            _out.WriteLine($"corr(sequence x on-sale similarity, logit conversion) {cConv:0.000}, (.., logit attraction) {cAttr:0.000}; corr(category match slot, logit attraction) {cMatch:0.000}");
            Assert.True(cConv > 0.2, $"corr with conversion {cConv}");
            Assert.True(cAttr > 0.2, $"corr with attraction {cAttr}");
            Assert.True(cMatch > 0.1, $"corr of the category match slot {cMatch}");
        }

        [Fact]
        public void EdgeSizes_EmptyStream_AndTinyWorldsWork()
        {
            var empty = new LiveStreamSimulator(SimHelpers.Small(requests: 0)).GetImpressions(new MLContext(1));
            Assert.Equal(0L, empty.GetRowCount());
            using (var c = empty.GetRowCursor(empty.Schema))
                Assert.False(c.MoveNext());
            var two = new LiveStreamSimulator(SimHelpers.Small(requests: 2)).GetImpressions(new MLContext(1));
            using (var c = two.GetRowCursor(two.Schema))
            {
                Assert.Equal(-1, c.Position);
                int n = 0;
                while (c.MoveNext())
                    Assert.Equal(n++, c.Position);
                Assert.Equal(16, n);
                Assert.Equal(-1, c.Position);
                Assert.False(c.MoveNext());
            }
            // every room in every list, few rooms on air (the pool is topped up), fewer items than categories
            var o = new LiveStreamSimulatorOptions { UserCount = 3, LiveCount = 4, ItemCount = 12, CategoryCount = 20, CommunityCount = 2, ListSize = 4, CandidatePoolSize = 4, RequestCount = 50, MinCatalogSize = 2, MaxCatalogSize = 3, CoreItemCount = 2, MaxItemsOnSale = 2 };
            var rows = SimHelpers.Read(new LiveStreamSimulator(o).GetImpressions(new MLContext(1)));
            Assert.Equal(200, rows.Count);
            foreach (var g in rows.GroupBy(r => r.RequestId))
                Assert.Equal(new uint[] { 1, 2, 3, 4 }, g.Select(r => r.LiveId).OrderBy(x => x));
            Assert.All(rows, r => Assert.InRange(r.OnSale.Length, 1, 2));
            Assert.All(rows, r => Assert.InRange(r.Core.Length, 1, 2));
        }

        [Fact]
        public void ExaminationCurve_DefaultsToPowerLaw_AndCanBeReplaced()
        {
            var sim = new LiveStreamSimulator(SimHelpers.Small());
            Assert.Equal(Enumerable.Range(1, 8).Select(p => 1.0 / p), sim.World.TrueExaminationCurve);
            var o = SimHelpers.Small();
            o.PositionBiasExponent = 0.5;
            Assert.Equal(Math.Pow(1.0 / 4, 0.5), new LiveStreamSimulator(o).World.TrueExamination(4), 12);
            o.ExaminationCurve = new[] { 1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2 };
            var w = new LiveStreamSimulator(o).World;
            Assert.Equal(0.7, w.TrueExamination(4), 12);
            Assert.Equal(8, w.TrueExaminationCurve.Count);
        }

        [Fact]
        public void World_ExposesCommunitiesAndLatents_ThatDriveBehaviour()
        {
            var sim = new LiveStreamSimulator(SimHelpers.Small());
            var w = sim.World;
            Assert.Equal(300, w.UserCount);
            Assert.Equal(8, w.UserLatent(1).Length);
            Assert.InRange(w.UserCommunity(300), 0, 3);
            Assert.Equal(w.CategoryCommunity(w.ItemCategory(10)), w.ItemCommunity(10));
            // same-community pairs are more attractive than cross-community ones
            double same = 0, cross = 0;
            int ns = 0, nc = 0;
            for (uint u = 1; u <= 300; u++)
                for (uint l = 1; l <= 60; l++)
                {
                    double a = w.TrueAttraction(u, l, 10f);
                    if (w.UserCommunity(u) == w.LiveCommunity(l)) { same += a; ns++; } else { cross += a; nc++; }
                }
            _out.WriteLine($"mean attraction same community {same / ns:0.000}, cross {cross / nc:0.000}");
            Assert.True(same / ns > 1.5 * cross / nc);
            // rooms sell mostly items of their own community
            int own = 0, all = 0;
            for (uint l = 1; l <= 60; l++)
                foreach (var i in w.LiveCatalog(l))
                {
                    all++;
                    if (w.ItemCommunity(i) == w.LiveCommunity(l)) own++;
                }
            Assert.True(own > 0.6 * all, $"{own} of {all} catalog items in the room's community");
            Assert.Contains("LiveStreamSimulator (seed 7)", sim.Describe());
        }
    }
}
