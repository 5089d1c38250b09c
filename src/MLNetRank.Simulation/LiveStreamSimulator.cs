using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation.Data;

namespace MLNetRank.Simulation
{
    /// <summary>
    /// A generator of live-stream recommendation traffic whose truth is known: users are shown ranked lists of live rooms
    /// chosen by a non-random logging policy (plus a share of randomized lists); clicks follow examination x attraction, and
    /// buy, stay time, follow and comment follow a click. Deterministic from <see cref="LiveStreamSimulatorOptions.Seed"/>;
    /// the impressions stream as an <see cref="IDataView"/> (any number of rows, memory bounded by the entities).
    /// </summary>
    /// <example>
    /// <code>
    /// var sim = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 1, RequestCount = 50_000 });
    /// IDataView impressions = sim.GetImpressions(mlContext);
    /// IDataView edges = sim.GetEdges(mlContext);
    /// double p3 = sim.World.TrueExamination(3);
    /// </code>
    /// </example>
    public sealed class LiveStreamSimulator
    {
        private readonly LiveStreamSimulatorOptions _options;
        private EdgeTable? _edges;

        /// <summary>Builds the world (entities, latent vectors, catalogs, background histories) from <paramref name="options"/>.</summary>
        /// <param name="options">The options; validated and copied (later changes to the object do not affect this simulator).</param>
        public LiveStreamSimulator(LiveStreamSimulatorOptions options)
        {
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            options.Validate();
            _options = options.Clone();
            World = new World(_options);
        }

        /// <summary>The simulated world: entities, latent vectors, communities and the true model.</summary>
        public World World { get; }

        /// <summary>A copy of the options this simulator was built with.</summary>
        public LiveStreamSimulatorOptions Options => _options.Clone();

        /// <summary>Number of impression rows of <see cref="GetImpressions(MLContext)"/>: RequestCount x ListSize.</summary>
        public long ImpressionCount => _options.RequestCount * _options.ListSize;

        /// <summary>
        /// The impressions of requests 1..RequestCount as a streaming <see cref="IDataView"/> (see <see cref="ImpressionColumns"/>
        /// for the columns). Rows of a request are contiguous, in position order; <c>Time</c> increases with <c>RequestId</c>,
        /// so a time split is a request split. Cursors regenerate rows on the fly (no shuffling; one cursor per cursor set).
        /// </summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line).</param>
        public IDataView GetImpressions(MLContext mlContext) => GetImpressions(mlContext, 0, _options.RequestCount);

        /// <summary>
        /// The impressions of <paramref name="requestCount"/> requests starting at the 0-based request index
        /// <paramref name="firstRequest"/> (RequestId = index + 1). Indices beyond <see cref="LiveStreamSimulatorOptions.RequestCount"/>
        /// continue the stream (their <c>Time</c> passes <see cref="LiveStreamSimulatorOptions.TimeSpanHours"/>). The same index
        /// always gives the same rows, so <c>GetImpressions(ctx, 0, n)</c> and <c>GetImpressions(ctx, n, m)</c> are a train/test split in time.
        /// </summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line).</param>
        /// <param name="firstRequest">0-based index of the first request.</param>
        /// <param name="requestCount">Number of requests.</param>
        public IDataView GetImpressions(MLContext mlContext, long firstRequest, long requestCount)
        {
            if (mlContext is null)
                throw new ArgumentNullException(nameof(mlContext));
            if (firstRequest < 0)
                throw new ArgumentOutOfRangeException(nameof(firstRequest), firstRequest, "firstRequest must be non-negative.");
            if (requestCount < 0)
                throw new ArgumentOutOfRangeException(nameof(requestCount), requestCount, "requestCount must be non-negative.");
            if (firstRequest + requestCount > uint.MaxValue)
                throw new ArgumentOutOfRangeException(nameof(requestCount), requestCount, "Request ids are UInt32: firstRequest + requestCount must stay below 2^32.");
            SimulationLog.Info(mlContext, $"Impressions: requests {firstRequest + 1}..{firstRequest + requestCount} x {_options.ListSize} positions = {requestCount * _options.ListSize} rows (streamed), seed {_options.Seed}.");
            return new ImpressionDataView(World, firstRequest, requestCount);
        }

        /// <summary>
        /// The heterogeneous graph as an edges table: columns <c>SourceId</c> (UInt32), <c>SourceType</c> (String),
        /// <c>TargetId</c> (UInt32), <c>TargetType</c> (String), <c>Weight</c> (Single). Edge kinds, in this order:
        /// User-Item (clicks, weight = count), User-Live (watches, weight = count), Live-Item (the room sells the item,
        /// weight 1, 2 for core items), Item-Category (weight 1). Clicks and watches come from the users' background history
        /// before time 0, so the graph does not leak the simulated window. Ids are those of the impressions.
        /// </summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line).</param>
        public IDataView GetEdges(MLContext mlContext)
        {
            if (mlContext is null)
                throw new ArgumentNullException(nameof(mlContext));
            var e = Edges();
            SimulationLog.Info(mlContext, $"Edges: {e.Count} ({Describe(e)}).");
            var typeMem = EdgeTypes.Select(s => s.AsMemory()).ToArray();
            return new InMemoryDataView(e.Count, new[]
            {
                InMemoryDataView.Scalar("SourceId", NumberDataViewType.UInt32, e.Source),
                InMemoryDataView.Scalar("SourceType", TextDataViewType.Instance, e.SourceType.Select(t => typeMem[t]).ToArray()),
                InMemoryDataView.Scalar("TargetId", NumberDataViewType.UInt32, e.Target),
                InMemoryDataView.Scalar("TargetType", TextDataViewType.Instance, e.TargetType.Select(t => typeMem[t]).ToArray()),
                InMemoryDataView.Scalar("Weight", NumberDataViewType.Single, e.Weight),
            });
        }

        /// <summary>Node type names of the edges table: "User", "Live", "Item", "Category".</summary>
        public static IReadOnlyList<string> NodeTypes => EdgeTypes;

        private static readonly string[] EdgeTypes = { "User", "Live", "Item", "Category" };
        private const byte TUser = 0, TLive = 1, TItem = 2, TCategory = 3;

        private sealed class EdgeTable
        {
            public uint[] Source = Array.Empty<uint>(), Target = Array.Empty<uint>();
            public byte[] SourceType = Array.Empty<byte>(), TargetType = Array.Empty<byte>();
            public float[] Weight = Array.Empty<float>();
            public int Count => Source.Length;
        }

        private static string Describe(EdgeTable e)
        {
            var groups = Enumerable.Range(0, e.Count).GroupBy(i => (e.SourceType[i], e.TargetType[i]))
                .Select(g => $"{EdgeTypes[g.Key.Item1]}-{EdgeTypes[g.Key.Item2]}: {g.Count()}");
            return string.Join(", ", groups);
        }

        private EdgeTable Edges()
        {
            if (_edges is not null)
                return _edges;
            var w = World;
            var src = new List<uint>();
            var dst = new List<uint>();
            var st = new List<byte>();
            var tt = new List<byte>();
            var wt = new List<float>();
            void Add(uint s, byte sType, uint t, byte tType, float weight)
            {
                src.Add(s);
                st.Add(sType);
                dst.Add(t);
                tt.Add(tType);
                wt.Add(weight);
            }
            var counts = new SortedDictionary<int, int>();
            for (int u = 0; u < w.UserCount; u++)
            {
                counts.Clear();
                for (int k = w.ItemHistoryOffsets[u]; k < w.ItemHistoryOffsets[u + 1]; k++)
                    if (w.ItemHistoryTimes[k] < 0)
                        counts[w.ItemHistoryItems[k]] = counts.TryGetValue(w.ItemHistoryItems[k], out int c) ? c + 1 : 1;
                foreach (var kv in counts)
                    Add((uint)u + 1, TUser, (uint)kv.Key + 1, TItem, kv.Value);
            }
            for (int u = 0; u < w.UserCount; u++)
            {
                counts.Clear();
                for (int k = w.LiveHistoryOffsets[u]; k < w.LiveHistoryOffsets[u + 1]; k++)
                    if (w.LiveHistoryTimes[k] < 0)
                        counts[w.LiveHistoryLives[k]] = counts.TryGetValue(w.LiveHistoryLives[k], out int c) ? c + 1 : 1;
                foreach (var kv in counts)
                    Add((uint)u + 1, TUser, (uint)kv.Key + 1, TLive, kv.Value);
            }
            for (int l = 0; l < w.LiveCount; l++)
            {
                var core = new HashSet<int>();
                for (int k = w.CoreOffsets[l]; k < w.CoreOffsets[l + 1]; k++)
                    core.Add(w.CoreItems[k]);
                foreach (int item in Enumerable.Range(w.CatalogOffsets[l], w.CatalogOffsets[l + 1] - w.CatalogOffsets[l]).Select(k => w.CatalogItems[k]).OrderBy(i => i))
                    Add((uint)l + 1, TLive, (uint)item + 1, TItem, core.Contains(item) ? 2f : 1f);
            }
            for (int i = 0; i < w.ItemCount; i++)
                Add((uint)i + 1, TItem, (uint)w.ItemCategoryData[i] + 1, TCategory, 1f);
            _edges = new EdgeTable { Source = src.ToArray(), Target = dst.ToArray(), SourceType = st.ToArray(), TargetType = tt.ToArray(), Weight = wt.ToArray() };
            return _edges;
        }

        /// <summary>
        /// Writes the impressions to a comma-separated file with a header row. Scalars are written as numbers (Booleans as
        /// 1/0, floats in invariant culture, round-trip precision); <c>StatFeatures</c> is spread over one column per slot,
        /// named by its slot name (<see cref="ImpressionColumns.StatFeatureNames"/>); the id lists (<c>UserItemSeq</c>,
        /// <c>UserLiveSeq</c>, <c>LiveItemsOnSale</c>, <c>LiveCoreItems</c>) are written as ';'-joined ids in one column each
        /// (empty when the list is empty). Rows stream: memory does not grow with the number of rows.
        /// </summary>
        /// <param name="path">Destination file (overwritten).</param>
        /// <param name="maxRequests">Optional limit on the number of requests written (default: all RequestCount requests).</param>
        /// <param name="progress">Optional receiver of the number of requests written so far (every 10,000 requests and at the end).</param>
        public void WriteImpressionsCsv(string path, long? maxRequests = null, IProgress<long>? progress = null)
        {
            if (string.IsNullOrEmpty(path))
                throw new ArgumentException("A file path is required.", nameof(path));
            long requests = Math.Min(_options.RequestCount, maxRequests ?? long.MaxValue);
            if (requests < 0)
                throw new ArgumentOutOfRangeException(nameof(maxRequests), maxRequests, "maxRequests must be non-negative.");
            var gen = new RequestGenerator(World);
            using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
            writer.Write(string.Join(",", CsvHeader()));
            writer.Write('\n');
            var sb = new StringBuilder(1024);
            var inv = CultureInfo.InvariantCulture;
            int nStat = RequestGenerator.StatCount;
            for (long r = 0; r < requests; r++)
            {
                gen.Generate(r);
                string itemSeq = Join(gen.ItemSeq, 0, gen.ItemSeqLength), liveSeq = Join(gen.LiveSeq, 0, gen.LiveSeqLength);
                for (int p = 0; p < gen.N; p++)
                {
                    sb.Clear();
                    sb.Append(r + 1).Append(',').Append(gen.UserId).Append(',').Append(gen.LiveIds[p]).Append(',')
                      .Append(gen.Time.ToString("R", inv)).Append(',').Append(p + 1).Append(',').Append(gen.IsRandomized ? '1' : '0');
                    for (int k = 0; k < nStat; k++)
                        sb.Append(',').Append(gen.Stats[p * nStat + k].ToString("R", inv));
                    sb.Append(',').Append(itemSeq).Append(',').Append(liveSeq)
                      .Append(',').Append(Join(gen.OnSale, p * _options.MaxItemsOnSale, gen.OnSaleLength[p]))
                      .Append(',').Append(Join(gen.Core, p * _options.CoreItemCount, gen.CoreLength[p]))
                      .Append(',').Append(gen.Click[p] ? '1' : '0').Append(',').Append(gen.Buy[p] ? '1' : '0')
                      .Append(',').Append(gen.StayTime[p].ToString("R", inv))
                      .Append(',').Append(gen.Follow[p] ? '1' : '0').Append(',').Append(gen.Comment[p] ? '1' : '0')
                      .Append(',').Append(gen.TrueAttraction[p].ToString("R", inv))
                      .Append(',').Append(gen.TrueConversion[p].ToString("R", inv))
                      .Append(',').Append(gen.TrueExamination[p].ToString("R", inv))
                      .Append(',').Append(gen.TrueRelevance[p].ToString("R", inv));
                    for (int k = 0; k < RequestGenerator.ObjectiveCount; k++)
                        sb.Append(',').Append(gen.TrueObjectives[p * RequestGenerator.ObjectiveCount + k].ToString("R", inv));
                    sb.Append('\n');
                    writer.Write(sb);
                }
                if ((r + 1) % 10_000 == 0)
                    progress?.Report(r + 1);
            }
            progress?.Report(requests);
        }

        /// <summary>The header of <see cref="WriteImpressionsCsv"/>.</summary>
        public static IReadOnlyList<string> CsvHeader()
        {
            var h = new List<string> { ImpressionColumns.RequestId, ImpressionColumns.UserId, ImpressionColumns.LiveId, ImpressionColumns.Time, ImpressionColumns.Position, ImpressionColumns.IsRandomized };
            h.AddRange(ImpressionColumns.StatFeatureNames);
            h.AddRange(new[]
            {
                ImpressionColumns.UserItemSeq, ImpressionColumns.UserLiveSeq, ImpressionColumns.LiveItemsOnSale, ImpressionColumns.LiveCoreItems,
                ImpressionColumns.Click, ImpressionColumns.Buy, ImpressionColumns.StayTime, ImpressionColumns.Follow, ImpressionColumns.Comment,
                ImpressionColumns.TrueAttraction, ImpressionColumns.TrueConversion, ImpressionColumns.TrueExamination, ImpressionColumns.TrueRelevance,
            });
            h.AddRange(ImpressionColumns.ObjectiveNames.Select(n => ImpressionColumns.TrueObjectives + "." + n));
            return h;
        }

        /// <summary>Writes the edges table (see <see cref="GetEdges"/>) as CSV with the header <c>SourceId,SourceType,TargetId,TargetType,Weight</c>.</summary>
        /// <param name="path">Destination file (overwritten).</param>
        public void WriteEdgesCsv(string path)
        {
            if (string.IsNullOrEmpty(path))
                throw new ArgumentException("A file path is required.", nameof(path));
            var e = Edges();
            using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16);
            writer.Write("SourceId,SourceType,TargetId,TargetType,Weight\n");
            for (int i = 0; i < e.Count; i++)
                writer.Write($"{e.Source[i]},{EdgeTypes[e.SourceType[i]]},{e.Target[i]},{EdgeTypes[e.TargetType[i]]},{e.Weight[i].ToString("R", CultureInfo.InvariantCulture)}\n");
        }

        /// <summary>A readable multi-line summary of the options and the world (sizes, curve, rates), for logs and examples.</summary>
        public string Describe()
        {
            var o = _options;
            var w = World;
            var inv = CultureInfo.InvariantCulture;
            var sb = new StringBuilder();
            sb.AppendLine(inv, $"LiveStreamSimulator (seed {o.Seed})");
            sb.AppendLine(inv, $"  entities: {o.UserCount} users, {o.LiveCount} live rooms, {o.ItemCount} items, {o.CategoryCount} categories, {o.CommunityCount} communities, latent dim {o.LatentDimension}");
            sb.AppendLine(inv, $"  traffic: {o.RequestCount} requests x {o.ListSize} positions = {ImpressionCount} impressions over {o.TimeSpanHours} h; candidate pool {o.CandidatePoolSize}; randomized share {o.RandomizedShare:0.###}");
            sb.AppendLine(inv, $"  logging policy: {o.PolicyRelevanceWeight:0.###} x attraction logit + {o.PolicyPopularityWeight:0.###} x popularity + N(0, {o.PolicyNoise:0.###}^2)");
            sb.AppendLine("  examination by position: " + string.Join(" ", w.Examination.Select((e, i) => $"{i + 1}:{e.ToString("0.###", inv)}"))
                + (o.ExaminationCurve is null ? $"  [(1/position)^{o.PositionBiasExponent.ToString("0.###", inv)}]" : "  [explicit curve]"));
            sb.AppendLine(inv, $"  task correlations with the shared factor: conversion {o.ConversionCorrelation:0.##}, stay {o.StayCorrelation:0.##}, follow {o.FollowCorrelation:0.##}, comment {o.CommentCorrelation:0.##}; comment after buy +{o.CommentBuyDependence:0.##}·(1 - c); long stay >= {o.LongStaySeconds:0.#} s");
            sb.AppendLine(inv, $"  mean true attraction per room: {w.LiveMeanAttraction.Average():0.###}; mean P(buy|click): {w.LiveMeanConversion.Average():0.###}; relevance thresholds {string.Join("/", w.RelevanceThresholds.Select(t => t.ToString("0.###", inv)))}");
            sb.AppendLine(inv, $"  features: StatFeatures[{ImpressionColumns.StatFeatureCount}], UserItemSeq (<= {o.MaxItemSequenceLength}), UserLiveSeq (<= {o.MaxLiveSequenceLength}), LiveItemsOnSale (<= {o.MaxItemsOnSale}), LiveCoreItems (<= {o.CoreItemCount})");
            return sb.ToString();
        }

        private static string Join(uint[] data, int offset, int length)
        {
            if (length == 0)
                return "";
            var sb = new StringBuilder(length * 5);
            for (int i = 0; i < length; i++)
            {
                if (i > 0)
                    sb.Append(';');
                sb.Append(data[offset + i]);
            }
            return sb.ToString();
        }
    }
}
