using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.CompilerServices;
using MLNetRank.Common;

namespace MLNetRank.Graph
{
    /// <summary>A parsed metapath: its type names and the cycle of type indices a walk repeats.</summary>
    internal sealed class Metapath
    {
        public required string Text { get; init; }
        public required string[] Types { get; init; }

        /// <summary>The repeated cycle: the types without the last one when the path is closed (first == last), else all of them (the walk wraps).</summary>
        public string[] Cycle => Types[0] == Types[^1] ? Types[..^1] : Types;

        public static Metapath Parse(string text)
        {
            if (string.IsNullOrWhiteSpace(text))
                throw new ArgumentException("A metapath is empty; write it as node types joined by '-', e.g. \"User-Live-User\".");
            var types = text.Split('-').Select(s => s.Trim()).ToArray();
            if (types.Any(t => t.Length == 0))
                throw new ArgumentException($"The metapath \"{text}\" has an empty node type; write it as node types joined by '-', e.g. \"User-Live-User\".");
            if (types.Length < 2)
                throw new ArgumentException($"The metapath \"{text}\" has a single node type; it needs at least two, e.g. \"User-Live-User\".");
            return new Metapath { Text = text, Types = types };
        }
    }

    /// <summary>
    /// Metapath-guided random walks. Walk number w (0 &lt;= w &lt; <see cref="WalkCount"/>) is a pure function of the
    /// seed and w: round r = w / (walks per round) and, inside a round, metapath after metapath, one walk from each
    /// start node (nodes of the metapath's first type, in a fixed shuffled order). A walk moves to a neighbour of the
    /// next type in the metapath cycle (uniformly, or in proportion to the edge weight) and stops early when the
    /// current node has no such neighbour (a dead end, as in the paper's reference walker).
    /// </summary>
    internal sealed class MetapathWalker
    {
        private readonly HeterogeneousGraph _graph;
        private readonly int[][] _cycleTypes;
        private readonly HeterogeneousGraph.Relation[][] _steps;
        private readonly int[][] _starts;
        private readonly long[] _startPrefix;
        private readonly ulong _seed;

        public MetapathWalker(HeterogeneousGraph graph, IReadOnlyList<Metapath> metapaths, int walksPerNode, int walkLength, int seed)
        {
            _graph = graph;
            WalkLength = walkLength;
            WalksPerNode = walksPerNode;
            Metapaths = metapaths;
            _seed = SplitMix64.Mix((ulong)(uint)seed ^ 0x5DEECE66DUL);
            _cycleTypes = new int[metapaths.Count][];
            _steps = new HeterogeneousGraph.Relation[metapaths.Count][];
            _starts = new int[metapaths.Count][];
            _startPrefix = new long[metapaths.Count + 1];
            for (int m = 0; m < metapaths.Count; m++)
            {
                var cycle = metapaths[m].Cycle.Select(graph.TypeIndex).ToArray();
                _cycleTypes[m] = cycle;
                _steps[m] = new HeterogeneousGraph.Relation[cycle.Length];
                for (int i = 0; i < cycle.Length; i++)
                    _steps[m][i] = graph.Relations[(cycle[i], cycle[(i + 1) % cycle.Length])];
                // Start from every node of the first type that can take the first step, in a fixed shuffled order.
                var first = _steps[m][0];
                int lo = graph.TypeOffsets[cycle[0]], count = graph.TypeOffsets[cycle[0] + 1] - lo;
                var starts = new List<int>(count);
                for (int u = 0; u < count; u++)
                    if (first.Offsets[u + 1] > first.Offsets[u])
                        starts.Add(lo + u);
                var arr = starts.ToArray();
                var rng = new SplitMix64(_seed ^ (0xA5A5A5A5UL * (ulong)(m + 1)));
                for (int i = arr.Length - 1; i > 0; i--)
                {
                    int j = rng.NextInt(i + 1);
                    (arr[i], arr[j]) = (arr[j], arr[i]);
                }
                _starts[m] = arr;
                _startPrefix[m + 1] = _startPrefix[m] + arr.Length;
            }
            WalksPerRound = _startPrefix[^1];
            WalkCount = WalksPerRound * walksPerNode;
        }

        public IReadOnlyList<Metapath> Metapaths { get; }
        public int WalkLength { get; }
        public int WalksPerNode { get; }
        public long WalksPerRound { get; }
        public long WalkCount { get; }
        public HeterogeneousGraph Graph => _graph;

        /// <summary>Writes walk <paramref name="w"/> (global node ids) into <paramref name="buffer"/>; returns its length (1 to WalkLength).</summary>
        public int Generate(long w, Span<int> buffer)
        {
            long round = w / WalksPerRound, k = w - round * WalksPerRound;
            int m = 0;
            while (_startPrefix[m + 1] <= k)
                m++;
            int node = _starts[m][k - _startPrefix[m]];
            var rng = new SplitMix64(_seed ^ SplitMix64.Mix((ulong)w + 0x632BE59BD9B4E019UL));
            var steps = _steps[m];
            var offsets = _graph.TypeOffsets;
            var types = _cycleTypes[m];
            int len = Math.Min(WalkLength, buffer.Length);
            buffer[0] = node;
            int n = 1;
            for (int s = 0; n < len; s++)
            {
                var rel = steps[s % steps.Length];
                int local = node - offsets[types[s % types.Length]];
                long lo = rel.Offsets[local], hi = rel.Offsets[local + 1];
                if (hi == lo)
                    break; // dead end: the walk stops here
                long pick;
                if (rel.CumulativeWeights is null)
                {
                    long deg = hi - lo;
                    pick = lo + (deg <= int.MaxValue ? rng.NextInt((int)deg) : rng.NextLong(deg));
                }
                else
                {
                    var cum = rel.CumulativeWeights;
                    float r = rng.NextFloat() * cum[hi - 1];
                    long a = lo, b = hi - 1;
                    while (a < b)
                    {
                        long mid = (a + b) >> 1;
                        if (cum[mid] > r)
                            b = mid;
                        else
                            a = mid + 1;
                    }
                    pick = a;
                }
                node = rel.Targets[pick];
                buffer[n++] = node;
            }
            return n;
        }

        /// <summary>"Type:Id" tokens of a walk.</summary>
        public string[] Tokens(ReadOnlySpan<int> walk)
        {
            var tokens = new string[walk.Length];
            for (int i = 0; i < walk.Length; i++)
                tokens[i] = Token(walk[i]);
            return tokens;
        }

        public string Token(int node) => _graph.TypeNames[_graph.TypeOf(node)] + ":" + _graph.IdText(node);
    }
}
