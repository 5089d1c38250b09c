using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;

namespace MLNetRank.Simulation.Tests.Simulation
{
    public class EdgesAndCsvTests
    {
        private sealed class SyncProgress : IProgress<long>
        {
            private readonly Action<long> _report;
            public SyncProgress(Action<long> report) => _report = report;
            public void Report(long value) => _report(value);
        }

        private static List<(uint s, string st, uint t, string tt, float w)> ReadEdges(IDataView v)
        {
            var list = new List<(uint, string, uint, string, float)>();
            var s = v.Schema;
            using var c = v.GetRowCursor(s);
            var g1 = c.GetGetter<uint>(s["SourceId"]);
            var g2 = c.GetGetter<ReadOnlyMemory<char>>(s["SourceType"]);
            var g3 = c.GetGetter<uint>(s["TargetId"]);
            var g4 = c.GetGetter<ReadOnlyMemory<char>>(s["TargetType"]);
            var g5 = c.GetGetter<float>(s["Weight"]);
            uint a = 0, b = 0;
            ReadOnlyMemory<char> x = default, y = default;
            float w = 0;
            while (c.MoveNext())
            {
                g1(ref a); g2(ref x); g3(ref b); g4(ref y); g5(ref w);
                list.Add((a, x.ToString(), b, y.ToString(), w));
            }
            return list;
        }

        [Fact]
        public void Edges_HaveConsistentIdsTypesAndWeights()
        {
            var o = SimHelpers.Small(requests: 50);
            var sim = new LiveStreamSimulator(o);
            var view = sim.GetEdges(new MLContext(1));
            var edges = ReadEdges(view);
            Assert.Equal(edges.Count, view.GetRowCount());
            var kinds = edges.GroupBy(e => (e.st, e.tt)).ToDictionary(g => g.Key, g => g.ToList());
            Assert.Equal(new[] { ("User", "Item"), ("User", "Live"), ("Live", "Item"), ("Item", "Category") }.OrderBy(k => k), kinds.Keys.OrderBy(k => k));
            uint Max(string type) => type switch { "User" => (uint)o.UserCount, "Live" => (uint)o.LiveCount, "Item" => (uint)o.ItemCount, _ => (uint)o.CategoryCount };
            foreach (var e in edges)
            {
                Assert.InRange(e.s, 1u, Max(e.st));
                Assert.InRange(e.t, 1u, Max(e.tt));
                Assert.True(e.w >= 1f);
            }
            // item -> category: exactly one per item, matching the world
            var ic = kinds[("Item", "Category")];
            Assert.Equal(o.ItemCount, ic.Count);
            Assert.All(ic, e => Assert.Equal(sim.World.ItemCategory(e.s), e.t));
            // live -> item: the room's catalog, core items weighted 2
            foreach (var g in kinds[("Live", "Item")].GroupBy(e => e.s))
            {
                Assert.Equal(sim.World.LiveCatalog(g.Key).OrderBy(i => i), g.Select(e => e.t));
                var core = sim.World.LiveCoreItemsOf(g.Key);
                Assert.All(g, e => Assert.Equal(core.Contains(e.t) ? 2f : 1f, e.w));
            }
            Assert.Equal(o.LiveCount, kinds[("Live", "Item")].Select(e => e.s).Distinct().Count());
            // user -> item and user -> live: counts of the background history before time 0; every user has some
            Assert.Equal(o.UserCount, kinds[("User", "Item")].Select(e => e.s).Distinct().Count());
            Assert.Equal(kinds[("User", "Item")].Count, kinds[("User", "Item")].Select(e => (e.s, e.t)).Distinct().Count());
            // a request's item sequence before time 0 items come from the same history: the first request's sequence items
            // that the user clicked before time 0 are edges of that user
            var row = SimHelpers.Read(sim.GetImpressions(new MLContext(1)), 1)[0];
            var userItems = kinds[("User", "Item")].Where(e => e.s == row.UserId).Select(e => e.t).ToHashSet();
            Assert.Contains(row.ItemSeq[0], userItems);
            // users click items of their own community more than chance
            int own = kinds[("User", "Item")].Count(e => sim.World.UserCommunity(e.s) == sim.World.ItemCommunity(e.t));
            Assert.True(own > 0.5 * kinds[("User", "Item")].Count);
            Assert.Equal(new[] { "User", "Live", "Item", "Category" }, LiveStreamSimulator.NodeTypes);
        }

        [Fact]
        public void Csv_WritesHeaderAndTheSameRowsAsTheDataView()
        {
            var o = SimHelpers.Small(requests: 30);
            var sim = new LiveStreamSimulator(o);
            var rows = SimHelpers.Read(sim.GetImpressions(new MLContext(1)));
            string path = Path.Combine(Path.GetTempPath(), $"mlnetrank-sim-{Guid.NewGuid():N}.csv");
            string epath = Path.ChangeExtension(path, ".edges.csv");
            try
            {
                sim.WriteImpressionsCsv(path);
                var lines = File.ReadAllLines(path);
                Assert.Equal(rows.Count + 1, lines.Length);
                var header = lines[0].Split(',');
                Assert.Equal(LiveStreamSimulator.CsvHeader(), header);
                Assert.Equal(6 + 25 + 4 + 9 + 5, header.Length);
                int col(string n) => Array.IndexOf(header, n);
                for (int i = 0; i < rows.Count; i++)
                {
                    var f = lines[i + 1].Split(',');
                    Assert.Equal(header.Length, f.Length);
                    var r = rows[i];
                    Assert.Equal(r.RequestId.ToString(CultureInfo.InvariantCulture), f[col("RequestId")]);
                    Assert.Equal(r.LiveId.ToString(CultureInfo.InvariantCulture), f[col("LiveId")]);
                    Assert.Equal(r.Time, float.Parse(f[col("Time")], CultureInfo.InvariantCulture));
                    Assert.Equal(r.Click ? "1" : "0", f[col("Click")]);
                    Assert.Equal(r.StayTime, float.Parse(f[col("StayTime")], CultureInfo.InvariantCulture));
                    Assert.Equal(string.Join(";", r.ItemSeq), f[col("UserItemSeq")]);
                    Assert.Equal(string.Join(";", r.OnSale), f[col("LiveItemsOnSale")]);
                    Assert.Equal(r.Stat[5], float.Parse(f[col("live_hist_ctr_7d")], CultureInfo.InvariantCulture));
                    Assert.Equal(r.TrueAttraction, float.Parse(f[col("TrueAttraction")], CultureInfo.InvariantCulture));
                }
                var reported = new List<long>();
                sim.WriteImpressionsCsv(path, maxRequests: 2, progress: new SyncProgress(reported.Add));
                Assert.Equal(2 * o.ListSize + 1, File.ReadAllLines(path).Length);
                Assert.Equal(new[] { 2L }, reported);

                sim.WriteEdgesCsv(epath);
                var elines = File.ReadAllLines(epath);
                var edges = sim.GetEdges(new MLContext(1));
                Assert.Equal("SourceId,SourceType,TargetId,TargetType,Weight", elines[0]);
                Assert.Equal(edges.GetRowCount() + 1, elines.Length);
                // the CSV loads back with ML.NET's text loader
                var ml = new MLContext(1);
                var loaded = ml.Data.LoadFromTextFile(epath, new[]
                {
                    new TextLoader.Column("SourceId", DataKind.UInt32, 0), new TextLoader.Column("SourceType", DataKind.String, 1),
                    new TextLoader.Column("TargetId", DataKind.UInt32, 2), new TextLoader.Column("TargetType", DataKind.String, 3),
                    new TextLoader.Column("Weight", DataKind.Single, 4),
                }, separatorChar: ',', hasHeader: true);
                Assert.Equal(edges.GetColumn<float>("Weight").Sum(), loaded.GetColumn<float>("Weight").Sum(), 3);
            }
            finally
            {
                File.Delete(path);
                File.Delete(epath);
            }
        }
    }
}
