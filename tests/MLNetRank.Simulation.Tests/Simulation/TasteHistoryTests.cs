using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using Microsoft.ML;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    /// <summary>Taste-shaped click histories (<see cref="LiveStreamSimulatorOptions.TasteHistoryShare"/>,
    /// <see cref="LiveStreamSimulatorOptions.TasteGroupsPerUser"/>, <see cref="World.UserTasteGroups"/>).</summary>
    public class TasteHistoryTests
    {
        private readonly ITestOutputHelper _out;

        public TasteHistoryTests(ITestOutputHelper output) => _out = output;

        /// <summary>SHA-256 of the impressions CSV (every column) and the edges CSV (built from the background histories).</summary>
        private static string Fingerprint(LiveStreamSimulator sim)
        {
            string dir = Path.Combine(Path.GetTempPath(), "mlnetrank-taste-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string imp = Path.Combine(dir, "imp.csv"), edges = Path.Combine(dir, "edges.csv");
                sim.WriteImpressionsCsv(imp);
                sim.WriteEdgesCsv(edges);
                var bytes = File.ReadAllBytes(imp).Concat(File.ReadAllBytes(edges)).ToArray();
                return Convert.ToHexString(SHA256.HashData(bytes))[..16];
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        /// <summary>Fingerprints of <see cref="SimHelpers.Small"/> (seed 7, 120 requests) taken with the simulator of main 1701aec,
        /// before the taste option existed: κ = 0 and κ = 1.5 (the interest's calibration reads the histories).</summary>
        private const string Main1701aecKappa0 = "1B9A128DB96FC9BC", Main1701aecKappa15 = "2CDD660BE0B723C0";

        [Fact]
        public void ShareZero_RowsAndEdgesAreBitIdenticalToTheSimulatorBeforeTheOption()
        {
            var plain = SimHelpers.Small(requests: 120);
            var kappa = SimHelpers.Small(requests: 120);
            kappa.ItemInterestScale = 1.5;
            string f0 = Fingerprint(new LiveStreamSimulator(plain)), f15 = Fingerprint(new LiveStreamSimulator(kappa));
            _out.WriteLine($"fingerprints: kappa 0 {f0}, kappa 1.5 {f15}");
            Assert.Equal(Main1701aecKappa0, f0);
            Assert.Equal(Main1701aecKappa15, f15);
            // share 0 with another number of groups per user: still the same rows (the users' tastes shape nothing)
            var other = SimHelpers.Small(requests: 120);
            other.ItemInterestScale = 1.5;
            other.TasteHistoryShare = 0;
            other.TasteGroupsPerUser = 5;
            Assert.Equal(Main1701aecKappa15, Fingerprint(new LiveStreamSimulator(other)));
            // and the fingerprint can fail: a share above 0 changes the histories, hence the edges and UserItemSeq
            other.TasteHistoryShare = 0.3;
            Assert.NotEqual(Main1701aecKappa15, Fingerprint(new LiveStreamSimulator(other)));
        }

        [Theory]
        [InlineData(0.3, 2)]
        [InlineData(0.7, 3)]
        public void Share_ConcentratesTheHistoriesInTheUsersTasteGroups_AndKeepsTheOtherClicks(double share, int groupsPerUser)
        {
            var offOptions = SimHelpers.Small(requests: 200);
            offOptions.TasteGroupsPerUser = groupsPerUser;
            var onOptions = SimHelpers.Small(requests: 200);
            onOptions.TasteGroupsPerUser = groupsPerUser;
            onOptions.TasteHistoryShare = share;
            var off = new LiveStreamSimulator(offOptions);
            var on = new LiveStreamSimulator(onOptions);
            World w0 = off.World, w1 = on.World;
            int events = 0, changed = 0, inTasteOff = 0, inTasteOn = 0, changedOutOfTaste = 0;
            for (uint user = 1; user <= w1.UserCount; user++)
            {
                var groups = w1.UserTasteGroups(user);
                Assert.Equal(groups, w0.UserTasteGroups(user));   // the taste does not depend on the share
                Assert.Equal(groupsPerUser, groups.Distinct().Count());
                Assert.All(groups, g => Assert.InRange(g, 0, offOptions.ItemCount / 30 - 1));
                int u = (int)user - 1;
                int s0 = w0.ItemHistoryOffsets[u], e0 = w0.ItemHistoryOffsets[u + 1], s1 = w1.ItemHistoryOffsets[u];
                Assert.Equal(e0 - s0, w1.ItemHistoryOffsets[u + 1] - s1);   // same number of clicks
                for (int k = 0; k < e0 - s0; k++)
                {
                    Assert.Equal(w0.ItemHistoryTimes[s0 + k], w1.ItemHistoryTimes[s1 + k]);   // at the same times
                    int a = w0.ItemHistoryItems[s0 + k], b = w1.ItemHistoryItems[s1 + k];
                    bool bIn = groups.Contains(w1.ItemTasteGroupOf((uint)b + 1));
                    events++;
                    inTasteOff += groups.Contains(w0.ItemTasteGroupOf((uint)a + 1)) ? 1 : 0;
                    inTasteOn += bIn ? 1 : 0;
                    if (a != b)
                    {
                        changed++;
                        changedOutOfTaste += bIn ? 0 : 1;   // a replaced click is always an item of the user's taste
                    }
                }
            }
            double pOff = (double)inTasteOff / events, pOn = (double)inTasteOn / events, pChanged = (double)changed / events;
            // a taste click replaces the click drawn without the option; it lands in the taste groups; the others stay
            double expected = share + (1 - share) * pOff;
            _out.WriteLine($"share {share}, {groupsPerUser} groups/user, {events} clicks: in the user's groups {pOff:0.000} -> {pOn:0.000} (expected {expected:0.000}), changed {pChanged:0.000}");
            Assert.Equal(0, changedOutOfTaste);
            Assert.InRange(pOn, expected - 0.02, expected + 0.02);
            Assert.InRange(pChanged, share * (1 - pOff) - 0.03, share + 0.01);
            Assert.True(pOff < 0.25, $"without the option the histories ignore the taste groups ({pOff})");

            // the rows: same users, rooms, positions and clicks (κ = 0: the histories do not enter the attraction), the same
            // sequence lengths, but other item sequences
            var a0 = SimHelpers.Read(off.GetImpressions(new MLContext(1)));
            var a1 = SimHelpers.Read(on.GetImpressions(new MLContext(1)));
            Assert.Equal(a0.Count, a1.Count);
            Assert.Equal(a0.Select(r => (r.UserId, r.LiveId, r.Position, r.Click, r.Buy, r.TrueAttraction)), a1.Select(r => (r.UserId, r.LiveId, r.Position, r.Click, r.Buy, r.TrueAttraction)));
            Assert.Equal(a0.Select(r => r.ItemSeq.Length), a1.Select(r => r.ItemSeq.Length));
            Assert.Contains(Enumerable.Range(0, a0.Count), i => !a0[i].ItemSeq.SequenceEqual(a1[i].ItemSeq));
        }

        [Fact]
        public void InvalidTasteOptions_ThrowNamingTheOption()
        {
            foreach (double bad in new[] { -0.1, 1.01, double.NaN })
            {
                var o = SimHelpers.Small();
                o.TasteHistoryShare = bad;
                var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(o));
                Assert.Equal(nameof(LiveStreamSimulatorOptions.TasteHistoryShare), ex.ParamName);
            }
            foreach (int bad in new[] { 0, -1 })
            {
                var o = SimHelpers.Small();
                o.TasteGroupsPerUser = bad;
                var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LiveStreamSimulator(o));
                Assert.Equal(nameof(LiveStreamSimulatorOptions.TasteGroupsPerUser), ex.ParamName);
            }
            var ok = SimHelpers.Small(requests: 10);   // 500 items: 16 taste groups
            ok.TasteGroupsPerUser = 40;                // more than there are: every user has every group
            ok.TasteHistoryShare = 1;
            var sim = new LiveStreamSimulator(ok);
            Assert.Equal(Enumerable.Range(0, 16), sim.World.UserTasteGroups(1).OrderBy(g => g));
            Assert.Throws<ArgumentOutOfRangeException>(() => sim.World.UserTasteGroups(0));
            Assert.Throws<ArgumentOutOfRangeException>(() => sim.World.UserTasteGroups((uint)ok.UserCount + 1));
        }
    }
}
