using System;
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation;

namespace MLNetRank.Benchmarks.Simulation
{
    /// <summary>
    /// Throughput of the live-stream simulator: world build time and impressions generated per second through an
    /// IDataView cursor (all columns read), at the default size and at a larger world.
    /// Usage: <c>sim-throughput [--requests 100000] [--scale 1]</c> (scale multiplies the entity counts of the default world).
    /// </summary>
    public sealed class SimulatorThroughputBench : IBench
    {
        public string Name => "sim-throughput";

        public string Description => "Live-stream simulator: world build time and impressions/s through a cursor";

        private static readonly Option<long> Requests = BenchOption.Of("--requests", 100_000L, "requests drawn");
        private static readonly Option<int> Scale = BenchOption.Of("--scale", 1, "multiplies the default world's entity counts (1: the default world only)");

        public int Run(ParseResult args)
        {
            long requests = args.GetValue(Requests);
            int scale = args.GetValue(Scale);
            Console.WriteLine();
            Console.WriteLine("```");
            Console.Write(new LiveStreamSimulator(new LiveStreamSimulatorOptions()).Describe());
            Console.WriteLine("```");
            Console.WriteLine();
            Console.WriteLine("| world | requests x positions | world build (s) | rows | cursor time (s) | impressions/s | managed memory after (MB) |");
            Console.WriteLine("|---|---|---|---|---|---|---|");
            foreach (int s in scale == 1 ? new[] { 1 } : new[] { 1, scale })
            {
                var o = new LiveStreamSimulatorOptions
                {
                    UserCount = 2000 * s, LiveCount = 300 * s, ItemCount = 3000 * s, CategoryCount = 30 * Math.Max(1, s / 4),
                    RequestCount = requests,
                };
                var sw = Stopwatch.StartNew();
                var sim = new LiveStreamSimulator(o);
                double build = sw.Elapsed.TotalSeconds;
                var view = sim.GetImpressions(new MLContext(1));
                var sc = view.Schema;
                sw.Restart();
                long rows = 0, clicks = 0;
                using (var c = view.GetRowCursor(sc))
                {
                    var gStat = c.GetGetter<VBuffer<float>>(sc["StatFeatures"]);
                    var gSeq = c.GetGetter<VBuffer<uint>>(sc["UserItemSeq"]);
                    var gLseq = c.GetGetter<VBuffer<uint>>(sc["UserLiveSeq"]);
                    var gSale = c.GetGetter<VBuffer<uint>>(sc["LiveItemsOnSale"]);
                    var gCore = c.GetGetter<VBuffer<uint>>(sc["LiveCoreItems"]);
                    var gClick = c.GetGetter<bool>(sc["Click"]);
                    var gLive = c.GetGetter<uint>(sc["LiveId"]);
                    var gTa = c.GetGetter<float>(sc["TrueAttraction"]);
                    VBuffer<float> f = default;
                    VBuffer<uint> v = default;
                    bool click = false;
                    uint live = 0;
                    float ta = 0;
                    while (c.MoveNext())
                    {
                        gStat(ref f); gSeq(ref v); gLseq(ref v); gSale(ref v); gCore(ref v); gClick(ref click); gLive(ref live); gTa(ref ta);
                        rows++;
                        if (click) clicks++;
                    }
                }
                double t = sw.Elapsed.TotalSeconds;
                long mem = GC.GetTotalMemory(true) / (1024 * 1024);
                Console.WriteLine($"| {o.UserCount} users, {o.LiveCount} rooms, {o.ItemCount} items | {requests} x {o.ListSize} | {build:0.00} | {rows} | {t:0.00} | {rows / t:N0} | {mem} |");
                GC.KeepAlive(sim);
            }
            return 0;
        }
    }
}
