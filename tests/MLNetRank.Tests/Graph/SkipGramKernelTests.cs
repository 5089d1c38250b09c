using System;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MLNetRank.Graph;
using Xunit;

namespace MLNetRank.Tests.Graph
{
    /// <summary>The skip-gram pair update's vector kernels (AVX-512, AVX2 + FMA) against the portable one.</summary>
    public class SkipGramKernelTests
    {
        private delegate bool Kernel(ref float l1, ref float syn1, int d, int[] nodes, int count, float a, float[] neu1e);

        private static (float[] L1, float[] Syn1, bool Finite) Run(Kernel kernel, int d, int[] nodes, float scale, int seed)
        {
            var rng = new Random(seed);
            var l1 = new float[d];
            var syn1 = new float[6 * d];
            for (int i = 0; i < d; i++)
                l1[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
            for (int i = 0; i < syn1.Length; i++)
                syn1[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
            bool finite = kernel(ref l1[0], ref syn1[0], d, nodes, nodes.Length, 0.025f, new float[d]);
            return (l1, syn1, finite);
        }

        private static bool Portable(ref float l1, ref float syn1, int d, int[] nodes, int count, float a, float[] neu1e)
            => SkipGramTrainer.RowsPortable(MemoryMarshal.CreateSpan(ref l1, d), ref syn1, d, nodes, count, a, neu1e);

        public static TheoryData<int, float> Cases => new()
        {
            { 16, 0.3f },   // one vector, no unrolled part
            { 48, 0.3f },   // unrolled pair + one more vector
            { 64, 0.3f },   // scores inside the sigmoid table's range
            { 64, 3f },     // scores beyond +-6: the clipped gradients
            { 128, 0.1f },
        };

        [Theory]
        [MemberData(nameof(Cases))]
        public void VectorKernelsUpdateTheRowsAsThePortableOne(int d, float scale)
        {
            // target 2, negatives 0, 5, 0 (a row drawn twice is updated twice, in order), 3
            var nodes = new[] { 2, 0, 5, 0, 3 };
            var expected = Run(Portable, d, nodes, scale, d);
            bool any = false;
            if (Vector512.IsHardwareAccelerated)
            {
                Check(Run(SkipGramTrainer.Rows512, d, nodes, scale, d));
                any = true;
            }
            if (Vector256.IsHardwareAccelerated && Fma.IsSupported && d % 8 == 0)
            {
                Check(Run(SkipGramTrainer.Rows256, d, nodes, scale, d));
                any = true;
            }
            Assert.True(any || !(Fma.IsSupported || Vector512.IsHardwareAccelerated), "no vector kernel ran on a CPU that has one");

            void Check((float[] L1, float[] Syn1, bool Finite) got)
            {
                Assert.True(got.Finite);
                Assert.True(expected.Finite);
                for (int i = 0; i < d; i++)
                    Assert.True(Math.Abs(got.L1[i] - expected.L1[i]) <= 1e-5f * (1 + Math.Abs(expected.L1[i])), $"l1[{i}]: {got.L1[i]} vs {expected.L1[i]}");
                for (int i = 0; i < expected.Syn1.Length; i++)
                    Assert.True(Math.Abs(got.Syn1[i] - expected.Syn1[i]) <= 1e-5f * (1 + Math.Abs(expected.Syn1[i])), $"syn1[{i}]: {got.Syn1[i]} vs {expected.Syn1[i]}");
                // the update moved the rows (the comparison is not between untouched copies)
                var untouched = Run((ref float a, ref float b, int dd, int[] n, int c, float lr, float[] e) => true, d, nodes, scale, d);
                Assert.NotEqual(untouched.L1, got.L1);
                Assert.NotEqual(untouched.Syn1, got.Syn1);
            }
        }

        [Fact]
        public void VectorKernelsReportANonFiniteScore()
        {
            const int d = 64;
            var nodes = new[] { 1, 2 };
            var kernels = new System.Collections.Generic.List<Kernel> { Portable };
            if (Vector512.IsHardwareAccelerated)
                kernels.Add(SkipGramTrainer.Rows512);
            if (Vector256.IsHardwareAccelerated && Fma.IsSupported)
                kernels.Add(SkipGramTrainer.Rows256);
            foreach (var k in kernels)
            {
                var l1 = new float[d];
                var syn1 = new float[3 * d];
                l1[5] = float.PositiveInfinity;
                syn1[d + 5] = 1f;
                Assert.False(k(ref l1[0], ref syn1[0], d, nodes, nodes.Length, 0.025f, new float[d]));
            }
        }
    }
}
