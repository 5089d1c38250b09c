using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Common;
using MLNetRank.Graph;
using Xunit;

namespace MLNetRank.Tests.Graph
{
    public class GraphStructureTests
    {
        private static HeterogeneousGraph Build(MLContext ml, IEnumerable<EdgeRow> edges, Metapath2VecEstimator.Options o, params (string, string)[] relations)
            => HeterogeneousGraph.Build(ml.Data.LoadFromEnumerable(edges.ToList()), o,
                names => relations.Select(r => (Array.IndexOf(names, r.Item1), Array.IndexOf(names, r.Item2))).ToHashSet(), null);

        private static int[] Neighbours(HeterogeneousGraph g, string from, uint id, string to)
        {
            int a = g.TypeIndex(from), b = g.TypeIndex(to);
            var rel = g.Relations[(a, b)];
            int node = Enumerable.Range(g.TypeOffsets[a], g.TypeOffsets[a + 1] - g.TypeOffsets[a]).Single(v => g.IntegerIds![v] == id);
            int local = node - g.TypeOffsets[a];
            return Enumerable.Range((int)rel.Offsets[local], (int)(rel.Offsets[local + 1] - rel.Offsets[local])).Select(p => (int)g.IntegerIds![rel.Targets[p]]).ToArray();
        }

        [Fact]
        public void CsrStoresUndirectedSortedTypedNeighbourLists()
        {
            var ml = new MLContext(1);
            var edges = new[]
            {
                EdgeRow.Of("User", 10, "Live", 3), EdgeRow.Of("User", 10, "Live", 1), EdgeRow.Of("User", 11, "Live", 1),
                EdgeRow.Of("Live", 3, "Item", 100), EdgeRow.Of("Item", 101, "Live", 3), EdgeRow.Of("User", 12, "Item", 100),
            };
            var g = Build(ml, edges, GraphTestUtil.Small("User-Live-User"), ("User", "Live"), ("Live", "User"), ("Live", "Item"), ("Item", "Live"));
            Assert.Equal(new[] { "Item", "Live", "User" }, g.TypeNames);
            Assert.Equal(new[] { 0, 2, 4, 7 }, g.TypeOffsets); // 2 items, 2 lives, 3 users
            Assert.Equal(new[] { 3, 1 }, Neighbours(g, "User", 10, "Live")); // sorted by node number: live 3 was seen first
            Assert.Equal(new[] { 10, 11 }, Neighbours(g, "Live", 1, "User").OrderBy(x => x).ToArray());
            Assert.Equal(new[] { 10 }, Neighbours(g, "Live", 3, "User"));
            Assert.Equal(new[] { 100, 101 }, Neighbours(g, "Live", 3, "Item").OrderBy(x => x).ToArray()); // both directions of the rows
            Assert.Empty(Neighbours(g, "Live", 1, "Item"));
            Assert.False(g.Relations.ContainsKey((g.TypeIndex("User"), g.TypeIndex("Item")))); // not needed by a metapath: not stored
            Assert.True(g.HasEdges(g.TypeIndex("Item"), g.TypeIndex("User")));
            Assert.Equal(3, g.Relations[(g.TypeIndex("User"), g.TypeIndex("Live"))].EdgeCount);
        }

        [Fact]
        public void DuplicatesAreMergedPerPolicyAndSelfLoopsDropped()
        {
            var ml = new MLContext(1);
            var edges = new[]
            {
                EdgeRow.Of("User", 1, "Live", 5, 2f), EdgeRow.Of("Live", 5, "User", 1, 3f), EdgeRow.Of("User", 1, "Live", 6, 1f),
                EdgeRow.Of("User", 1, "User", 1, 1f), EdgeRow.Of("User", 1, "User", 2, 1f),
            };
            var o = GraphTestUtil.Small("User-Live-User");
            o.WeightColumnName = "Weight";
            var g = Build(ml, edges, o, ("User", "Live"), ("Live", "User"), ("User", "User"));
            var rel = g.Relations[(g.TypeIndex("User"), g.TypeIndex("Live"))];
            Assert.Equal(2, rel.EdgeCount);
            Assert.Equal(new[] { 5f, 6f }, rel.CumulativeWeights!); // 2 + 3 summed, then + 1
            Assert.Equal(1, g.SelfLoopRows);
            Assert.Equal(2, g.DuplicateRows); // the duplicated pair, seen from both ends
            var uu = g.Relations[(g.TypeIndex("User"), g.TypeIndex("User"))];
            Assert.Equal(2, uu.EdgeCount); // 1-2 both ways, the self-loop gone

            o.DuplicateEdges = DuplicateEdgeHandling.KeepMaxWeight;
            g = Build(ml, edges, o, ("User", "Live"));
            Assert.Equal(new[] { 3f, 4f }, g.Relations[(g.TypeIndex("User"), g.TypeIndex("Live"))].CumulativeWeights!);

            o.DuplicateEdges = DuplicateEdgeHandling.Throw;
            var ex = Assert.Throws<InvalidOperationException>(() => Build(ml, edges, o, ("User", "Live")));
            Assert.Contains("more than once", ex.Message);
            Assert.Contains("'1'", ex.Message);
            Assert.Contains("'5'", ex.Message);
        }

        [Fact]
        public void UnweightedDuplicatesWithKeepMaxStayUniform()
        {
            var ml = new MLContext(1);
            var edges = new[] { EdgeRow.Of("User", 1, "Live", 5), EdgeRow.Of("User", 1, "Live", 5), EdgeRow.Of("User", 1, "Live", 6) };
            var o = GraphTestUtil.Small("User-Live-User");
            o.DuplicateEdges = DuplicateEdgeHandling.KeepMaxWeight;
            var g = Build(ml, edges, o, ("User", "Live"));
            Assert.Null(g.Relations[(g.TypeIndex("User"), g.TypeIndex("Live"))].CumulativeWeights);
            o.DuplicateEdges = DuplicateEdgeHandling.SumWeights;
            g = Build(ml, edges, o, ("User", "Live"));
            Assert.Equal(new[] { 2f, 3f }, g.Relations[(g.TypeIndex("User"), g.TypeIndex("Live"))].CumulativeWeights!);
        }

        [Fact]
        public void BadWeightsAndEmptyGraphAreRejected()
        {
            var ml = new MLContext(1);
            var o = GraphTestUtil.Small("User-Live-User");
            o.WeightColumnName = "Weight";
            var ex = Assert.Throws<InvalidOperationException>(() => Build(ml, new[] { EdgeRow.Of("User", 1, "Live", 2, float.NaN) }, o, ("User", "Live")));
            Assert.Contains("'Weight'", ex.Message);
            Assert.Contains("row 0", ex.Message);
            Assert.Throws<InvalidOperationException>(() => Build(ml, new[] { EdgeRow.Of("User", 1, "Live", 2, -1f) }, o, ("User", "Live")));
            var empty = Assert.Throws<InvalidOperationException>(() => Build(ml, Array.Empty<EdgeRow>(), o));
            Assert.Contains("empty", empty.Message);
            var zeros = Assert.Throws<InvalidOperationException>(() => Build(ml, new[] { EdgeRow.Of("User", 1, "Live", 2, 0f) }, o));
            Assert.Contains("zero-weight", zeros.Message);
        }

        private static (MetapathWalker Walker, HeterogeneousGraph Graph) Walker(MLContext ml, IEnumerable<EdgeRow> edges, int walkLength, params string[] metapaths)
        {
            var mps = metapaths.Select(Metapath.Parse).ToArray();
            var rels = new HashSet<(string, string)>();
            foreach (var m in mps)
                for (int i = 0; i < m.Cycle.Length; i++)
                    rels.Add((m.Cycle[i], m.Cycle[(i + 1) % m.Cycle.Length]));
            var g = Build(ml, edges, GraphTestUtil.Small(metapaths), rels.ToArray());
            return (new MetapathWalker(g, mps, 3, walkLength, 11), g);
        }

        [Fact]
        public void WalksFollowTheMetapathCyclicallyAlongEdges()
        {
            var ml = new MLContext(1);
            var planted = new PlantedGraph(3, 30, 9, 18, 3, 3, 0.8, 5);
            var edgeSet = planted.Edges.Select(e => (e.SourceType + e.SourceId, e.TargetType + e.TargetId)).ToHashSet();
            var (walker, g) = Walker(ml, planted.Edges, 13, "User-Live-Item-Live-User");
            Assert.Equal(30 * 3, walker.WalkCount); // every user has a live: 3 walks per user
            var cycle = new[] { "User", "Live", "Item", "Live" };
            var buf = new int[13];
            for (long w = 0; w < walker.WalkCount; w++)
            {
                int len = walker.Generate(w, buf);
                Assert.Equal(13, len); // no dead end in this graph
                for (int i = 0; i < len; i++)
                {
                    Assert.Equal(cycle[i % 4], g.TypeNames[g.TypeOf(buf[i])]);
                    if (i > 0)
                    {
                        string a = g.TypeNames[g.TypeOf(buf[i - 1])] + g.IdText(buf[i - 1]), b = g.TypeNames[g.TypeOf(buf[i])] + g.IdText(buf[i]);
                        Assert.True(edgeSet.Contains((a, b)) || edgeSet.Contains((b, a)), $"{a} -> {b} is not an edge");
                    }
                }
            }
            // Walk w is a pure function of (seed, w).
            var again = new int[13];
            walker.Generate(17, buf);
            walker.Generate(17, again);
            Assert.Equal(buf, again);
        }

        [Fact]
        public void OpenMetapathWrapsFromLastTypeToFirst()
        {
            var ml = new MLContext(1);
            var edges = new[] { EdgeRow.Of("User", 1, "Live", 2), EdgeRow.Of("Live", 2, "Item", 3), EdgeRow.Of("Item", 3, "User", 1) };
            var (walker, g) = Walker(ml, edges, 7, "User-Live-Item");
            var buf = new int[7];
            Assert.Equal(7, walker.Generate(0, buf));
            Assert.Equal(new[] { "User", "Live", "Item", "User", "Live", "Item", "User" }, buf.Select(v => g.TypeNames[g.TypeOf(v)]).ToArray());
        }

        [Fact]
        public void WalkStopsAtADeadEnd()
        {
            var ml = new MLContext(1);
            // Live 2 sells nothing: U-L-I-L-U walks from user 1 stop at the live.
            var edges = new[] { EdgeRow.Of("User", 1, "Live", 2), EdgeRow.Of("User", 5, "Live", 6), EdgeRow.Of("Live", 6, "Item", 9) };
            var (walker, g) = Walker(ml, edges, 9, "User-Live-Item-Live-User");
            var buf = new int[9];
            for (long w = 0; w < walker.WalkCount; w++)
            {
                int len = walker.Generate(w, buf);
                string start = g.IdText(buf[0]);
                if (start == "1")
                    Assert.Equal(2, len);
                else
                    Assert.Equal(9, len); // 5-6-9-6-5-6-9-6-5
            }
        }

        [Fact]
        public void WeightedWalksPickNeighboursInProportionToWeight()
        {
            var ml = new MLContext(1);
            var edges = new[] { EdgeRow.Of("User", 1, "Live", 2, 1f), EdgeRow.Of("User", 1, "Live", 3, 3f) };
            var mps = new[] { Metapath.Parse("User-Live-User") };
            var o = GraphTestUtil.Small("User-Live-User");
            o.WeightColumnName = "Weight";
            var g = Build(ml, edges, o, ("User", "Live"), ("Live", "User"));
            var walker = new MetapathWalker(g, mps, 4000, 2, 3);
            var buf = new int[2];
            int toThree = 0;
            for (long w = 0; w < walker.WalkCount; w++)
            {
                walker.Generate(w, buf);
                toThree += g.IdText(buf[1]) == "3" ? 1 : 0;
            }
            double share = toThree / (double)walker.WalkCount;
            Assert.InRange(share, 0.72, 0.78); // expected 0.75; 4000 draws: sd 0.007
        }

        [Fact]
        public void AliasTableMatchesItsDistribution()
        {
            var table = new AliasTable(new double[] { 1, 0, 2, 5 }, 10);
            var rng = new SplitMix64(3);
            var counts = new int[4];
            for (int i = 0; i < 80000; i++)
                counts[table.Sample(ref rng) - 10]++;
            Assert.Equal(0, counts[1]);
            Assert.InRange(counts[0] / 80000.0, 0.115, 0.135);
            Assert.InRange(counts[2] / 80000.0, 0.24, 0.26);
            Assert.InRange(counts[3] / 80000.0, 0.61, 0.64);
        }
    }
}
