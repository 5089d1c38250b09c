using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Graph;

namespace MLNetRank.Tests.Graph
{
    /// <summary>An edges row in the simulator's layout.</summary>
    public sealed class EdgeRow
    {
        public uint SourceId { get; set; }
        public string SourceType { get; set; } = "";
        public uint TargetId { get; set; }
        public string TargetType { get; set; } = "";
        public float Weight { get; set; } = 1f;

        public static EdgeRow Of(string st, uint s, string tt, uint t, float w = 1f) => new() { SourceType = st, SourceId = s, TargetType = tt, TargetId = t, Weight = w };
    }

    /// <summary>An edges row with text ids.</summary>
    public sealed class TextEdgeRow
    {
        public string SourceId { get; set; } = "";
        public string SourceType { get; set; } = "";
        public string TargetId { get; set; } = "";
        public string TargetType { get; set; } = "";
    }

    public sealed class UserLiveRow
    {
        public uint UserId { get; set; }
        public uint LiveId { get; set; }
    }

    /// <summary>
    /// A stochastic block model of users, live rooms and items with planted communities: a user watches lives of its
    /// own community with probability <c>pIn</c>, a live sells items of its community with probability <c>pIn</c>.
    /// </summary>
    public sealed class PlantedGraph
    {
        public int Communities { get; }
        public int[] UserCommunity { get; }
        public int[] LiveCommunity { get; }
        public int[] ItemCommunity { get; }
        public List<EdgeRow> Edges { get; } = new();

        public PlantedGraph(int communities, int users, int lives, int items, int livesPerUser, int itemsPerLive, double pIn, int seed)
        {
            Communities = communities;
            var rng = new Random(seed);
            UserCommunity = Enumerable.Range(0, users).Select(i => i % communities).ToArray();
            LiveCommunity = Enumerable.Range(0, lives).Select(i => i % communities).ToArray();
            ItemCommunity = Enumerable.Range(0, items).Select(i => i % communities).ToArray();
            for (int u = 0; u < users; u++)
                foreach (var l in Pick(UserCommunity[u], LiveCommunity, livesPerUser))
                    Edges.Add(EdgeRow.Of("User", (uint)u, "Live", (uint)l));
            for (int l = 0; l < lives; l++)
                foreach (var i in Pick(LiveCommunity[l], ItemCommunity, itemsPerLive))
                    Edges.Add(EdgeRow.Of("Live", (uint)l, "Item", (uint)i));

            IEnumerable<int> Pick(int community, int[] pool, int k)
            {
                var chosen = new HashSet<int>();
                while (chosen.Count < k)
                {
                    bool inside = rng.NextDouble() < pIn; // each link stays inside the community with probability pIn
                    int j;
                    do
                        j = rng.Next(pool.Length);
                    while ((pool[j] == community) != inside);
                    chosen.Add(j);
                }
                return chosen.OrderBy(x => x);
            }
        }

        public IDataView EdgesView(MLContext ml) => ml.Data.LoadFromEnumerable(Edges);
    }

    internal static class GraphTestUtil
    {
        public static Metapath2VecEstimator.Options Small(params string[] metapaths) => new()
        {
            Metapaths = metapaths,
            Dimension = 16,
            WalksPerNode = 5,
            WalkLength = 20,
            WindowSize = 3,
            Epochs = 2,
            NumberOfThreads = 1,
            Seed = 7,
        };

        public static IDataView Rows(MLContext ml, params (uint User, uint Live)[] rows)
            => ml.Data.LoadFromEnumerable(rows.Select(r => new UserLiveRow { UserId = r.User, LiveId = r.Live }).ToList());

        /// <summary>Fraction of nodes whose k nearest neighbours (cosine) share their community, averaged.</summary>
        public static double NeighbourPurity(NodeEmbeddings e, Func<string, int> community, int k)
        {
            double sum = 0;
            for (int i = 0; i < e.Count; i++)
            {
                var id = e.Ids[i];
                var nn = e.MostSimilar(id, k);
                sum += nn.Count(x => community(x.Id) == community(id)) / (double)nn.Count;
            }
            return sum / e.Count;
        }
    }
}
