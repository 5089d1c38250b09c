using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Graph
{
    /// <summary>
    /// A heterogeneous graph in compressed sparse row form: nodes are numbered globally, grouped by type
    /// (type t owns the global range [<see cref="TypeOffsets"/>[t], <see cref="TypeOffsets"/>[t+1])), and every
    /// ordered pair of node types that a metapath steps through has its own CSR relation (typed neighbour lists,
    /// sorted, duplicates merged). Edges are undirected: each row is stored in both directions.
    /// </summary>
    internal sealed class HeterogeneousGraph
    {
        internal sealed class Relation
        {
            public required int SourceType { get; init; }
            public required int TargetType { get; init; }
            /// <summary>Indexed by the source node's local index (global - TypeOffsets[SourceType]); length = count + 1.</summary>
            public required long[] Offsets { get; init; }
            /// <summary>Global ids of the neighbours.</summary>
            public required int[] Targets { get; init; }
            /// <summary>Cumulative weights per neighbour list (null when every weight is equal: uniform choice).</summary>
            public float[]? CumulativeWeights { get; init; }
            public long EdgeCount => Targets.LongLength;
        }

        public required string[] TypeNames { get; init; }
        public required int[] TypeOffsets { get; init; }
        /// <summary>Global node -> id, when the edges table has integer ids in both id columns.</summary>
        public long[]? IntegerIds { get; init; }
        /// <summary>Global node -> id, when one id column is text.</summary>
        public string[]? TextIds { get; init; }
        public required Dictionary<(int Source, int Target), Relation> Relations { get; init; }
        /// <summary>Undirected edge rows per unordered type pair, as read (before merging), for diagnostics.</summary>
        public required Dictionary<(int, int), long> RowsPerTypePair { get; init; }
        public long EdgeRows { get; init; }
        public long DuplicateRows { get; init; }
        /// <summary>Rows merged with a row of the same two nodes in the other direction (estimated from the relations built).</summary>
        public long ReversedDuplicateRows { get; init; }
        public long SelfLoopRows { get; init; }
        public long ZeroWeightRows { get; init; }

        public int NodeCount => TypeOffsets[^1];
        public int TypeCount => TypeNames.Length;

        public int TypeIndex(string name) => Array.IndexOf(TypeNames, name);

        public int TypeOf(int node)
        {
            int t = Array.BinarySearch(TypeOffsets, node);
            if (t >= 0)
            {
                while (t + 1 < TypeOffsets.Length && TypeOffsets[t + 1] == node)
                    t++;
                return t;
            }
            return ~t - 1;
        }

        public string IdText(int node) => IntegerIds is not null
            ? IntegerIds[node].ToString(CultureInfo.InvariantCulture)
            : TextIds![node];

        /// <summary>True when some edge links a node of type <paramref name="a"/> to a node of type <paramref name="b"/>.</summary>
        public bool HasEdges(int a, int b) => RowsPerTypePair.ContainsKey(a <= b ? (a, b) : (b, a));

        /// <summary>
        /// Reads the edges table. Only the relations listed in <paramref name="neededRelations"/> get a CSR (both
        /// directions of every other type pair are counted, not stored).
        /// </summary>
        public static HeterogeneousGraph Build(IDataView edges, Metapath2VecEstimator.Options options, Func<string[], HashSet<(int, int)>> neededRelations, RankerLog? log)
        {
            if (edges is null)
                throw new ArgumentNullException(nameof(edges));
            var schema = edges.Schema;
            var srcIdCol = Check.Column(schema, options.SourceIdColumnName, "source id", "text or an integer type", IsIdType);
            var dstIdCol = Check.Column(schema, options.TargetIdColumnName, "target id", "text or an integer type", IsIdType);
            var srcTypeCol = Check.Column(schema, options.SourceTypeColumnName, "source type", "text (String)", t => t is TextDataViewType);
            var dstTypeCol = Check.Column(schema, options.TargetTypeColumnName, "target type", "text (String)", t => t is TextDataViewType);
            DataViewSchema.Column? weightCol = null;
            if (!string.IsNullOrEmpty(options.WeightColumnName))
                weightCol = Check.Column(schema, options.WeightColumnName, "weight", "Single", t => t == NumberDataViewType.Single);

            bool integerIds = srcIdCol.Type is not TextDataViewType && dstIdCol.Type is not TextDataViewType;
            var typeIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            var typeNames = new List<string>();
            var longMaps = new List<Dictionary<long, int>>();
            var textMaps = new List<Dictionary<string, int>>();
            var longIds = new List<List<long>>();
            var textIds = new List<List<string>>();

            var eSrcT = new Grow<ushort>(); var eSrc = new Grow<int>();
            var eDstT = new Grow<ushort>(); var eDst = new Grow<int>();
            var eW = new Grow<float>();
            long rows = 0, selfLoops = 0, zeroWeights = 0;

            var cols = new List<DataViewSchema.Column> { srcIdCol, dstIdCol, srcTypeCol, dstTypeCol };
            if (weightCol.HasValue)
                cols.Add(weightCol.Value);
            using (var cursor = edges.GetRowCursor(cols))
            {
                var srcId = IdGetter(cursor, srcIdCol);
                var dstId = IdGetter(cursor, dstIdCol);
                var srcType = cursor.GetGetter<ReadOnlyMemory<char>>(srcTypeCol);
                var dstType = cursor.GetGetter<ReadOnlyMemory<char>>(dstTypeCol);
                ValueGetter<float>? weight = weightCol.HasValue ? cursor.GetGetter<float>(weightCol.Value) : null;
                ReadOnlyMemory<char> tbuf = default;
                float w = 1f;
                while (cursor.MoveNext())
                {
                    long row = rows++;
                    srcType(ref tbuf);
                    int st = Type(tbuf, options.SourceTypeColumnName, row);
                    dstType(ref tbuf);
                    int dt = Type(tbuf, options.TargetTypeColumnName, row);
                    int s = Node(st, srcId, options.SourceIdColumnName, row);
                    int d = Node(dt, dstId, options.TargetIdColumnName, row);
                    if (weight is not null)
                    {
                        weight(ref w);
                        if (!float.IsFinite(w) || w < 0)
                            throw new InvalidOperationException($"Column '{options.WeightColumnName}' has the value {w} at row {row}; expected a finite, non-negative edge weight.");
                        if (w == 0)
                        {
                            zeroWeights++;
                            continue;
                        }
                    }
                    if (st == dt && s == d)
                    {
                        selfLoops++;
                        continue;
                    }
                    eSrcT.Add((ushort)st); eSrc.Add(s); eDstT.Add((ushort)dt); eDst.Add(d); eW.Add(w);
                }
            }

            if (typeNames.Count == 0 || eSrc.Count == 0)
                throw new InvalidOperationException(
                    $"The edges table is empty ({rows} rows{(rows > 0 ? $", of which {selfLoops} self-loops and {zeroWeights} zero-weight edges were dropped" : "")}): metapath2vec needs a graph with at least one edge.");

            // Types are numbered in ordinal name order, nodes of a type in first-seen order.
            var order = Enumerable.Range(0, typeNames.Count).OrderBy(t => typeNames[t], StringComparer.Ordinal).ToArray();
            var newIndex = new int[order.Length];
            for (int i = 0; i < order.Length; i++)
                newIndex[order[i]] = i;
            var offsets = new int[order.Length + 1];
            for (int i = 0; i < order.Length; i++)
            {
                long next = (long)offsets[i] + (integerIds ? longIds[order[i]].Count : textIds[order[i]].Count);
                if (next > int.MaxValue - 1)
                    throw new InvalidOperationException("The graph has more than 2^31 nodes, the limit of this implementation.");
                offsets[i + 1] = (int)next;
            }
            int n = offsets[^1];
            long[]? gLong = integerIds ? new long[n] : null;
            string[]? gText = integerIds ? null : new string[n];
            for (int i = 0; i < order.Length; i++)
            {
                if (integerIds)
                    longIds[order[i]].CopyTo(gLong!, offsets[i]);
                else
                    textIds[order[i]].CopyTo(gText!, offsets[i]);
            }
            var names = order.Select(t => typeNames[t]).ToArray();
            var needed = neededRelations(names);

            int m = eSrc.Count;
            var rowsPerPair = new Dictionary<(int, int), long>();
            var degree = new Dictionary<(int, int), long[]>();
            foreach (var (a, b) in needed)
                degree[(a, b)] = new long[offsets[a + 1] - offsets[a] + 1];
            var srcT = eSrcT.Items; var src = eSrc.Items; var dstT = eDstT.Items; var dst = eDst.Items; var wts = eW.Items;
            for (int i = 0; i < m; i++)
            {
                int a = newIndex[srcT[i]], b = newIndex[dstT[i]];
                src[i] += offsets[a];
                dst[i] += offsets[b];
                srcT[i] = (ushort)a; dstT[i] = (ushort)b;
                var key = a <= b ? (a, b) : (b, a);
                rowsPerPair[key] = rowsPerPair.TryGetValue(key, out long c) ? c + 1 : 1;
                if (degree.TryGetValue((a, b), out var dab))
                    dab[src[i] - offsets[a]]++;
                if (degree.TryGetValue((b, a), out var dba))
                    dba[dst[i] - offsets[b]]++;
            }

            var relations = new Dictionary<(int, int), Relation>();
            long duplicates = 0, mirrored = 0, entries = 0;
            bool weighted = weightCol.HasValue;
            foreach (var key in needed.OrderBy(k => k))
            {
                var (a, b) = key;
                var deg = degree[key];
                var off = new long[deg.Length];
                for (int i = 0; i < deg.Length - 1; i++)
                    off[i + 1] = off[i] + deg[i];
                long total = off[^1];
                entries += total;
                var targets = new int[total];
                var w = new float[total];
                var fill = (long[])off.Clone();
                for (int i = 0; i < m; i++)
                {
                    // The sign of the stored weight (weights are > 0 here) records the row's direction as seen from the
                    // list's owner: + when the owner is the row's source, - when it is its target. A pair merged from a +
                    // and a - entry was listed in both directions.
                    if (srcT[i] == a && dstT[i] == b)
                    {
                        long p = fill[src[i] - offsets[a]]++;
                        targets[p] = dst[i]; w[p] = wts[i];
                    }
                    if (dstT[i] == a && srcT[i] == b)
                    {
                        long p = fill[dst[i] - offsets[a]]++;
                        targets[p] = src[i]; w[p] = -wts[i];
                    }
                }
                // Sort each neighbour list, merge duplicates, compact.
                long write = 0;
                bool uniform = true;
                var newOff = new long[deg.Length];
                for (int u = 0; u < deg.Length - 1; u++)
                {
                    long lo = off[u], hi = off[u + 1];
                    newOff[u] = write;
                    if (hi - lo > 1)
                        Array.Sort(targets, w, (int)lo, (int)(hi - lo));
                    int forward = 0, backward = 0; // rows of the current group in each direction
                    for (long p = lo; p < hi; p++)
                    {
                        float wp = w[p];
                        bool reversed = wp < 0;
                        wp = Math.Abs(wp);
                        if (write > newOff[u] && targets[write - 1] == targets[p])
                        {
                            duplicates++;
                            if (options.DuplicateEdges == DuplicateEdgeHandling.Throw)
                                throw new InvalidOperationException(
                                    $"The edges table links {names[a]} '{IdOf(gLong, gText, offsets[a] + u)}' and {names[b]} '{IdOf(gLong, gText, targets[p])}' more than once" +
                                    (reversed ? (forward > 0 ? " (in both directions: edges are undirected, list each once)" : "") : (backward > 0 ? " (in both directions: edges are undirected, list each once)" : "")) +
                                    "; set DuplicateEdges to SumWeights or KeepMaxWeight to merge duplicate rows.");
                            w[write - 1] = options.DuplicateEdges == DuplicateEdgeHandling.SumWeights ? w[write - 1] + wp : Math.Max(w[write - 1], wp);
                            if (reversed) backward++; else forward++;
                            continue;
                        }
                        if (forward > 0 && backward > 0)
                            mirrored += forward + backward;
                        forward = reversed ? 0 : 1;
                        backward = reversed ? 1 : 0;
                        targets[write] = targets[p]; w[write] = wp;
                        write++;
                    }
                    if (forward > 0 && backward > 0)
                        mirrored += forward + backward;
                }
                newOff[^1] = write;
                for (long p = 1; p < write && uniform; p++)
                    uniform = w[p] == w[0];
                if (write < total)
                {
                    Array.Resize(ref targets, (int)write);
                    Array.Resize(ref w, (int)write);
                }
                float[]? cum = null;
                if (!uniform && (weighted || options.DuplicateEdges == DuplicateEdgeHandling.SumWeights))
                {
                    cum = w;
                    for (int u = 0; u < deg.Length - 1; u++)
                    {
                        float acc = 0;
                        for (long p = newOff[u]; p < newOff[u + 1]; p++)
                        {
                            acc += w[p];
                            cum[p] = acc;
                        }
                    }
                }
                relations[key] = new Relation { SourceType = a, TargetType = b, Offsets = newOff, Targets = targets, CumulativeWeights = cum };
            }
            // Each undirected duplicate is seen from both ends (once for a same-type relation read in both directions).
            long duplicateRows = duplicates;
            log?.Info($"Graph: {n} nodes of {names.Length} types ({string.Join(", ", names.Select((t, i) => $"{t}: {offsets[i + 1] - offsets[i]}"))}), " +
                      $"{m} edges read from {rows} rows; dropped {selfLoops} self-loops and {zeroWeights} zero-weight rows; merged {duplicateRows} duplicate neighbour entries.");
            if (selfLoops > 0)
                log?.Warning($"{selfLoops} self-loop rows (a node linked to itself) were ignored.");
            // Each row is an entry in the lists of both its ends (of the relations built), so the share of entries merged with
            // a reversed twin is the share of rows listed in both directions.
            double reversedShare = entries > 0 ? mirrored / (double)entries : 0;
            long reversedRows = (long)Math.Round(reversedShare * (m - 0.0));
            if (reversedShare >= 0.5)
                log?.Warning($"{reversedShare * 100:F0}% of the edge rows also appear reversed (u, v) and (v, u): edges are undirected, so each such pair is a duplicate, " +
                             (options.DuplicateEdges == DuplicateEdgeHandling.SumWeights
                                 ? "merged with the sum of its two weights (a pair listed in one direction only weighs half as much as one listed both ways). "
                                 : "merged by DuplicateEdges. ") +
                             "List each edge once, or set DuplicateEdges = KeepMaxWeight.");
            return new HeterogeneousGraph
            {
                TypeNames = names,
                TypeOffsets = offsets,
                IntegerIds = gLong,
                TextIds = gText,
                Relations = relations,
                RowsPerTypePair = rowsPerPair,
                EdgeRows = rows,
                DuplicateRows = duplicateRows,
                ReversedDuplicateRows = reversedRows,
                SelfLoopRows = selfLoops,
                ZeroWeightRows = zeroWeights,
            };

            int Type(ReadOnlyMemory<char> value, string column, long row)
            {
                var span = value.Span.Trim();
                if (span.IsEmpty)
                    throw new InvalidOperationException($"Column '{column}' is empty at row {row}; expected a node type such as \"User\".");
                var alt = typeIndex.GetAlternateLookup<ReadOnlySpan<char>>();
                if (alt.TryGetValue(span, out int t))
                    return t;
                if (typeNames.Count >= ushort.MaxValue)
                    throw new InvalidOperationException($"More than {ushort.MaxValue} node types (column '{column}', row {row}).");
                t = typeNames.Count;
                var name = span.ToString();
                typeIndex[name] = t;
                typeNames.Add(name);
                longMaps.Add(new Dictionary<long, int>());
                textMaps.Add(new Dictionary<string, int>(StringComparer.Ordinal));
                longIds.Add(new List<long>());
                textIds.Add(new List<string>());
                return t;
            }

            int Node(int type, IdReader reader, string column, long row)
            {
                if (integerIds)
                {
                    long id = reader.ReadInteger(column, row);
                    var map = longMaps[type];
                    if (!map.TryGetValue(id, out int local))
                    {
                        local = map.Count;
                        map.Add(id, local);
                        longIds[type].Add(id);
                    }
                    return local;
                }
                else
                {
                    var tmap = textMaps[type].GetAlternateLookup<ReadOnlySpan<char>>();
                    var span = reader.ReadText(column, row);
                    if (!tmap.TryGetValue(span, out int local))
                    {
                        local = textMaps[type].Count;
                        var s = span.ToString();
                        textMaps[type].Add(s, local);
                        textIds[type].Add(s);
                    }
                    return local;
                }
            }
        }

        private static string IdOf(long[]? l, string[]? t, int node) => l is not null ? l[node].ToString(CultureInfo.InvariantCulture) : t![node];

        internal static bool IsIdType(DataViewType t) => t is TextDataViewType
            || t == NumberDataViewType.UInt32 || t == NumberDataViewType.Int32
            || t == NumberDataViewType.UInt64 || t == NumberDataViewType.Int64
            || t == NumberDataViewType.UInt16 || t == NumberDataViewType.Int16
            || t == NumberDataViewType.Byte || t == NumberDataViewType.SByte;

        private static IdReader IdGetter(DataViewRowCursor cursor, DataViewSchema.Column col) => new IdReader(cursor, col);

        /// <summary>Reads an id column of any supported type as an integer or as text.</summary>
        internal sealed class IdReader
        {
            private readonly Func<long, long>? _int;
            private readonly ValueGetter<ReadOnlyMemory<char>>? _text;
            private readonly Func<string>? _intText;
            private long _last;
            private ReadOnlyMemory<char> _buf;

            public IdReader(DataViewRow row, DataViewSchema.Column col)
            {
                var t = col.Type;
                if (t is TextDataViewType)
                {
                    _text = row.GetGetter<ReadOnlyMemory<char>>(col);
                    return;
                }
                _int = t.RawType switch
                {
                    Type x when x == typeof(uint) => Make<uint>(row, col, v => v),
                    Type x when x == typeof(int) => Make<int>(row, col, v => v),
                    Type x when x == typeof(long) => Make<long>(row, col, v => v),
                    Type x when x == typeof(ulong) => Make<ulong>(row, col, v => v > long.MaxValue ? throw new OverflowException() : (long)v),
                    Type x when x == typeof(ushort) => Make<ushort>(row, col, v => v),
                    Type x when x == typeof(short) => Make<short>(row, col, v => v),
                    Type x when x == typeof(byte) => Make<byte>(row, col, v => v),
                    Type x when x == typeof(sbyte) => Make<sbyte>(row, col, v => v),
                    _ => throw new ArgumentOutOfRangeException(col.Name, $"Column '{col.Name}' has type {t}; expected text or an integer type."),
                };
                _intText = () => _last.ToString(CultureInfo.InvariantCulture);
            }

            private static Func<long, long> Make<T>(DataViewRow row, DataViewSchema.Column col, Func<T, long> conv)
            {
                var g = row.GetGetter<T>(col);
                T value = default!;
                return _ => { g(ref value); return conv(value); };
            }

            public long ReadInteger(string column, long row)
            {
                try
                {
                    return _last = _int!(row);
                }
                catch (OverflowException)
                {
                    throw new InvalidOperationException($"Column '{column}' has an id above Int64.MaxValue at row {row}.");
                }
            }

            public ReadOnlySpan<char> ReadText(string column, long row)
            {
                if (_text is null)
                {
                    ReadInteger(column, row);
                    _buf = _intText!().AsMemory();
                    return _buf.Span;
                }
                _text(ref _buf);
                var span = _buf.Span.Trim();
                if (span.IsEmpty)
                    throw new InvalidOperationException($"Column '{column}' has an empty id at row {row}; expected a node id.");
                return span;
            }
        }

        /// <summary>A growable array (List without the per-call overhead, exposing its buffer).</summary>
        private sealed class Grow<T>
        {
            public T[] Items = new T[1024];
            public int Count;

            public void Add(T v)
            {
                if (Count == Items.Length)
                {
                    if (Items.Length >= Array.MaxLength / 2)
                        throw new InvalidOperationException("The edges table has more rows than this implementation holds (about 1 billion).");
                    Array.Resize(ref Items, Items.Length * 2);
                }
                Items[Count++] = v;
            }
        }
    }
}
