using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    /// <summary>Memory measurements are process-wide, so this collection runs alone.</summary>
    [CollectionDefinition("Memory", DisableParallelization = true)]
    public sealed class MemoryCollection
    {
    }

    [Collection("Memory")]
    public class StreamingMemoryTests
    {
        private readonly ITestOutputHelper _out;

        public StreamingMemoryTests(ITestOutputHelper output) => _out = output;

        [Fact]
        public void Streaming_MemoryStaysFlat_AndRowsDoNotAllocate()
        {
            var sim = new LiveStreamSimulator(SimHelpers.Small(requests: 20_000));
            var view = sim.GetImpressions(new MLContext(1));
            var s = view.Schema;
            using var c = view.GetRowCursor(s);
            var g = c.GetGetter<VBuffer<float>>(s["StatFeatures"]);
            var gs = c.GetGetter<VBuffer<uint>>(s["UserItemSeq"]);
            var gl = c.GetGetter<VBuffer<uint>>(s["LiveItemsOnSale"]);
            var gc = c.GetGetter<bool>(s["Click"]);
            VBuffer<float> f = default;
            VBuffer<uint> seq = default, sale = default;
            bool click = false;
            long rows = 0, clicks = 0, baseline = 0, allocatedBefore = 0;
            while (c.MoveNext())
            {
                g(ref f); gs(ref seq); gl(ref sale); gc(ref click);
                if (click) clicks++;
                if (++rows == 20_000)
                {
                    baseline = GC.GetTotalMemory(true);
                    allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                }
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
            long after = GC.GetTotalMemory(true);
            _out.WriteLine($"rows {rows}, clicks {clicks}, heap after 20k rows {baseline / 1024} KiB, after {rows} rows {after / 1024} KiB; allocated {allocated / (double)(rows - 20_000):0.0} bytes/row");
            Assert.Equal(160_000, rows);
            Assert.True(after - baseline < 2_000_000, $"memory grew by {(after - baseline) / 1024} KiB while streaming 140k rows");
            Assert.True(allocated / (double)(rows - 20_000) < 64, $"{allocated / (double)(rows - 20_000)} bytes allocated per row");
        }
    }
}
