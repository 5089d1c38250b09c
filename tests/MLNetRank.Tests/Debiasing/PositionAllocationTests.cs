using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Debiasing;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    public class PositionAllocationTests
    {
        /// <summary>Brute force: the best value over all ordered choices of S distinct candidates.</summary>
        private static double BruteForce(float[][] s, int slots, float[]? values)
        {
            int n = s.Length, cols = s[0].Length;
            double best = double.NegativeInfinity;
            var used = new bool[n];
            void Go(int slot, double acc)
            {
                if (slot == slots)
                {
                    best = Math.Max(best, acc);
                    return;
                }
                for (int c = 0; c < n; c++)
                {
                    if (used[c])
                        continue;
                    used[c] = true;
                    Go(slot + 1, acc + (values?[slot] ?? 1f) * (double)s[c][Math.Min(slot, cols - 1)]);
                    used[c] = false;
                }
            }
            Go(0, 0);
            return best;
        }

        private static float[] Flat(float[][] s) => s.SelectMany(r => r).ToArray();

        [Fact]
        public void GreedyFillsSlotsInOrderAndCanDifferFromTheSingleTowerOrder()
        {
            // one column for slot 1, one "K+" column for the later slots
            var s = new[]
            {
                new[] { 0.50f, 0.10f },
                new[] { 0.40f, 0.35f },
                new[] { 0.45f, 0.05f },
            };
            var greedy = PositionAllocation.Greedy(s, slots: 2);
            Assert.Equal(new[] { 0, 1 }, greedy);
            // the single-tower order (column 0) shows candidates 0 and 2: 0.50 + 0.05 expected clicks
            Assert.Equal(0.55, PositionAllocation.Value(Flat(s), 3, new[] { 0, 2 }), 6);
            Assert.Equal(0.85, PositionAllocation.Value(Flat(s), 3, greedy), 6);
            // and here greedy is the brute-force optimum
            Assert.Equal(BruteForce(s, 2, null), PositionAllocation.Value(Flat(s), 3, greedy), 6);
            Assert.Equal(new[] { 0, 1 }, PositionAllocation.Optimal(s, slots: 2));
        }

        [Fact]
        public void GreedyIsNotOptimalInGeneralAndOptimalIs()
        {
            // candidate 0 is best at slot 1 by a little and at slot 2 by a lot: greedy spends it on slot 1
            var s = new[]
            {
                new[] { 0.90f, 0.80f, 0.10f },
                new[] { 0.85f, 0.20f, 0.10f },
                new[] { 0.30f, 0.25f, 0.20f },
            };
            var greedy = PositionAllocation.Greedy(s);
            Assert.Equal(new[] { 0, 2, 1 }, greedy);
            Assert.Equal(1.25, PositionAllocation.Value(Flat(s), 3, greedy), 6);
            var optimal = PositionAllocation.Optimal(s);
            Assert.Equal(new[] { 1, 0, 2 }, optimal);
            Assert.Equal(1.85, PositionAllocation.Value(Flat(s), 3, optimal), 6);
            Assert.Equal(1.85, BruteForce(s, 3, null), 6);
            // here greedy is even below the plain column-0 order (0, 1, 2): 1.30
            Assert.Equal(1.30, PositionAllocation.Value(Flat(s), 3, new[] { 0, 1, 2 }), 6);
        }

        [Fact]
        public void UnderAPositionBasedModelGreedyAndOptimalSortByAttraction()
        {
            // p(c, s) = attraction_c x examination_s: every slot ranks the candidates alike
            var a = new[] { 0.2f, 0.9f, 0.5f, 0.7f };
            var e = new[] { 1f, 0.6f, 0.3f };
            var s = a.Select(x => e.Select(y => x * y).ToArray()).ToArray();
            Assert.Equal(new[] { 1, 3, 2 }, PositionAllocation.Greedy(s));
            Assert.Equal(new[] { 1, 3, 2 }, PositionAllocation.Optimal(s));
            Assert.Equal(BruteForce(s, 3, null), PositionAllocation.Value(Flat(s), 4, new[] { 1, 3, 2 }), 6);
        }

        [Fact]
        public void SlotValuesOrderTheGreedyAndWeightTheObjective()
        {
            var s = new[] { new[] { 0.6f, 0.5f }, new[] { 0.5f, 0.1f } };
            Assert.Equal(new[] { 0, 1 }, PositionAllocation.Greedy(s));
            // slot 2 is worth 3: it is filled first and takes candidate 0
            var values = new[] { 1f, 3f };
            Assert.Equal(new[] { 1, 0 }, PositionAllocation.Greedy(s, slotValues: values));
            Assert.Equal(2.0, PositionAllocation.Value(Flat(s), 2, new[] { 1, 0 }, values), 6);
            Assert.Equal(0.9, PositionAllocation.Value(Flat(s), 2, new[] { 0, 1 }, values), 6);
            Assert.Equal(new[] { 1, 0 }, PositionAllocation.Optimal(s, slotValues: values));
        }

        [Fact]
        public void SlotsPastTheLastColumnShareIt()
        {
            var s = new[]
            {
                new[] { 0.9f, 0.1f }, new[] { 0.8f, 0.7f }, new[] { 0.1f, 0.6f }, new[] { 0.2f, 0.5f }, new[] { 0.3f, 0.4f },
            };
            Assert.Equal(new[] { 0, 1, 2, 3 }, PositionAllocation.Greedy(s, slots: 4));
            Assert.Equal(new[] { 0, 1, 2, 3 }, PositionAllocation.Greedy(Flat(s), 5, 4));
            Assert.Equal(0.9 + 0.7 + 0.6 + 0.5, PositionAllocation.Value(Flat(s), 5, new[] { 0, 1, 2, 3 }), 6);
        }

        [Fact]
        public void TiesGoToTheLowerIndex()
        {
            var s = Enumerable.Range(0, 4).Select(_ => new[] { 0.5f, 0.5f, 0.5f }).ToArray();
            Assert.Equal(new[] { 0, 1, 2 }, PositionAllocation.Greedy(s));
        }

        [Fact]
        public void OptimalEqualsBruteForceOnRandomMatrices()
        {
            var rng = new Random(12);
            for (int trial = 0; trial < 300; trial++)
            {
                int n = rng.Next(1, 7), slots = rng.Next(1, n + 1), cols = rng.Next(1, slots + 1);
                var s = Enumerable.Range(0, n).Select(_ => Enumerable.Range(0, cols).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
                float[]? values = rng.Next(2) == 0 ? null : Enumerable.Range(0, slots).Select(_ => (float)(rng.NextDouble() * 3)).ToArray();
                var optimal = PositionAllocation.Optimal(s, slots, values);
                var greedy = PositionAllocation.Greedy(s, slots, values);
                Assert.Equal(slots, optimal.Distinct().Count());
                Assert.Equal(slots, greedy.Distinct().Count());
                double best = BruteForce(s, slots, values);
                double vo = PositionAllocation.Value(Flat(s), n, optimal, values);
                double vg = PositionAllocation.Value(Flat(s), n, greedy, values);
                Assert.True(Math.Abs(vo - best) < 1e-5, $"trial {trial}: optimal {vo} vs brute force {best}");
                Assert.True(vg <= best + 1e-6, $"trial {trial}: greedy {vg} above the optimum {best}");
            }
        }

        [Fact]
        public void BadInputFailsWithTheProblemNamed()
        {
            var ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Greedy(new[] { new[] { 1f, 2f }, new[] { 1f } }));
            Assert.Contains("Candidate 1 has 1 scores", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Optimal(new[] { new[] { 1f, float.NaN }, new[] { 1f, 2f } }));
            Assert.Contains("candidate 0, column 1", ex.Message);
            Assert.Contains("finite", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Greedy(new[] { new[] { 1f, 2f, 3f }, new[] { 1f, 2f, 3f } }));
            Assert.Contains("fewer candidates (2) than slots (3)", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Greedy(new float[] { 1, 2, 3 }, 2, 1));
            Assert.Contains("not a positive multiple", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Greedy(new[] { new[] { 1f, 2f }, new[] { 1f, 2f } }, slotValues: new[] { 1f }));
            Assert.Contains("1 slot values for 2 slots", ex.Message);
            ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Optimal(new[] { new[] { 1f, 2f }, new[] { 1f, 2f } }, slotValues: new[] { 1f, -1f }));
            Assert.Contains("slot 2", ex.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => PositionAllocation.Greedy(Array.Empty<float[]>()));
            Assert.Throws<ArgumentOutOfRangeException>(() => PositionAllocation.Greedy(new float[] { 1, 2 }, 0, 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => PositionAllocation.Greedy(new float[] { 1, 2 }, 2, 0));
            ex = Assert.Throws<ArgumentException>(() => PositionAllocation.Value(new float[] { 1, 2, 3 }, 3, new[] { 1, 1 }));
            Assert.Contains("distinct", ex.Message);
        }
    }
}
