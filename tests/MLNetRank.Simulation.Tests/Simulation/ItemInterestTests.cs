using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    /// <summary>The item-level interest knob (<see cref="LiveStreamSimulatorOptions.ItemInterestScale"/>).</summary>
    public class ItemInterestTests
    {
        private readonly ITestOutputHelper _out;

        public ItemInterestTests(ITestOutputHelper output) => _out = output;

        private static double Logit(double p) => Math.Log(p / (1 - p));

        /// <summary>The raw interest recomputed here from the row's own columns and the exposed taste groups.</summary>
        private static double Raw(World w, Row r)
        {
            if (r.ItemSeq.Length == 0 || r.OnSale.Length == 0)
                return 0;
            var groups = r.ItemSeq.Select(w.ItemTasteGroupOf).ToHashSet();
            return r.OnSale.Count(i => groups.Contains(w.ItemTasteGroupOf(i))) / (double)r.OnSale.Length;
        }

        [Fact]
        public void Knob_AddsScaledInterestToTheAttractionLogit_AndGroundTruthExposesIt()
        {
            const double kappa = 1.5;
            var on = SimHelpers.Small(requests: 400);
            on.ItemInterestScale = kappa;
            var simOn = new LiveStreamSimulator(on);
            var simOff = new LiveStreamSimulator(SimHelpers.Small(requests: 400));
            var rows = SimHelpers.Read(simOn.GetImpressions(new MLContext(1)));
            var z = new List<double>();
            var raw = new List<double>();
            foreach (var r in rows)
            {
                double zi = simOn.World.TrueItemInterest(r.UserId, r.LiveId, r.Time);
                z.Add(zi);
                raw.Add(Raw(simOn.World, r));
                // the row's truth = the world's truth; the knob adds exactly kappa * z to the logit of the knob-off world
                Assert.True(Math.Abs(simOn.World.TrueAttraction(r.UserId, r.LiveId, r.Time) - r.TrueAttraction) < 1e-6);
                double delta = Logit(r.TrueAttraction) - Logit(simOff.World.TrueAttraction(r.UserId, r.LiveId, r.Time));
                Assert.True(Math.Abs(delta - kappa * zi) < 1e-3, $"logit shift {delta}, expected {kappa * zi}");
                // the knob changes attraction only: conversion is the knob-off world's
                Assert.True(Math.Abs(simOff.World.TrueConversion(r.UserId, r.LiveId, r.Time) - r.TrueConversion) < 1e-6);
            }
            // the exposed z is the standardized share of on-sale items whose taste group is in the row's UserItemSeq
            double cRaw = SimHelpers.Pearson(z, raw);
            // standardized over random pairs: the uniformly drawn (randomized) lists have mean ~0, sd ~1 (the logged lists favour
            // rooms of higher interest, as the policy ranks by the true attraction)
            var zr = rows.Zip(z).Where(p => p.First.IsRandomized).Select(p => p.Second).ToList();
            double mean = zr.Average(), sd = Math.Sqrt(zr.Sum(v => (v - mean) * (v - mean)) / (zr.Count - 1));
            double meanLogged = rows.Zip(z).Where(p => !p.First.IsRandomized).Average(p => p.Second);
            // the statistics do not summarise it: the category-match slot barely correlates with it
            double cMatch = SimHelpers.Pearson(z, rows.Select(r => (double)r.Stat[23]).ToList());
            // and clicks follow it: CTR in the top third of z against the bottom third (randomized and logged lists alike)
            var byZ = rows.Zip(z).OrderBy(p => p.Second).ToArray();
            int third = byZ.Length / 3;
            double low = byZ.Take(third).Average(p => p.First.Click ? 1.0 : 0.0), high = byZ.Skip(byZ.Length - third).Average(p => p.First.Click ? 1.0 : 0.0);
            _out.WriteLine($"rows {rows.Count}: corr(z, recomputed share) {cRaw:0.0000}, z on randomized lists mean {mean:0.000} sd {sd:0.000} ({zr.Count} rows), on logged lists mean {meanLogged:0.000}, corr(z, category match) {cMatch:0.000}, CTR low/high third {low:0.0000}/{high:0.0000}");
            Assert.True(cRaw > 0.9999, $"corr(z, share) {cRaw}");
            Assert.InRange(mean, -0.3, 0.3);
            Assert.InRange(sd, 0.7, 1.3);
            Assert.True(meanLogged > mean, "the logging policy ranks by the true attraction, interest included");
            Assert.True(Math.Abs(cMatch) < 0.2, $"corr with the category-match slot {cMatch}");
            Assert.True(high > 1.5 * low, $"CTR high third {high} vs low third {low}");
        }

        [Fact]
        public void KnobZero_LeavesTheRowsBitIdentical_AndStillExposesTheInterest()
        {
            var a = SimHelpers.Read(new LiveStreamSimulator(SimHelpers.Small(requests: 60)).GetImpressions(new MLContext(1)));
            var o = SimHelpers.Small(requests: 60);
            o.ItemInterestScale = 0.8;
            var simOn = new LiveStreamSimulator(o);
            var b = SimHelpers.Read(simOn.GetImpressions(new MLContext(1)));
            var off = new LiveStreamSimulator(SimHelpers.Small(requests: 60));
            var c = SimHelpers.Read(off.GetImpressions(new MLContext(1)));
            // same seed, knob 0: every row equal (the taste groups use their own random stream)
            Assert.Equal(a.Count, c.Count);
            for (int i = 0; i < a.Count; i++)
            {
                Assert.Equal(a[i].LiveId, c[i].LiveId);
                Assert.Equal(a[i].Click, c[i].Click);
                Assert.Equal(a[i].TrueAttraction, c[i].TrueAttraction);
                Assert.Equal(a[i].Stat, c[i].Stat);
            }
            // knob on: same users, times and sequences, but other attractions (so the test above can fail)
            Assert.Equal(a.Select(r => r.UserId), b.Select(r => r.UserId));
            Assert.Contains(Enumerable.Range(0, a.Count), i => a[i].TrueAttraction != b[i].TrueAttraction);
            // the interest is exposed with the knob off too, and the same as with it on (it does not depend on the knob)
            var r0 = a[5];
            Assert.Equal(simOn.World.TrueItemInterest(r0.UserId, r0.LiveId, r0.Time), off.World.TrueItemInterest(r0.UserId, r0.LiveId, r0.Time), 12);
            Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(new LiveStreamSimulatorOptions { ItemInterestScale = double.NaN }));
            Assert.Throws<ArgumentOutOfRangeException>(() => off.World.ItemTasteGroupOf(0));
        }
    }
}
