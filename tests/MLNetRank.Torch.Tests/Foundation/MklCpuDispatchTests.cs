using System;
using System.Runtime.InteropServices;
using Xunit;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Tests.Foundation
{
    /// <summary>
    /// On a non-Intel x64 Linux CPU, oneMKL inside libtorch must be told to use the CPU's vector kernels
    /// (<see cref="MklCpuDispatch"/>), and its matrix products must still be right.
    /// </summary>
    public class MklCpuDispatchTests
    {
        [Fact]
        public void NonIntelLinuxCpusGetTheFixAndIntelOrOtherSystemsAreLeftAlone()
        {
            string outcome = MklCpuDispatch.Prepare();
            Assert.Equal(outcome, MklCpuDispatch.Prepare());          // once per process
            string? vendor = MklCpuDispatch.CpuVendor();
            bool expected = OperatingSystem.IsLinux() && RuntimeInformation.ProcessArchitecture == Architecture.X64
                && vendor is not null && vendor != "GenuineIntel"
                && !MklCpuDispatch.IsOptOut(Environment.GetEnvironmentVariable(MklCpuDispatch.EnvironmentVariable));
            // a hardened kernel may refuse writable code pages: then the fix must say so and leave oneMKL alone
            if (expected && outcome.Contains("cannot be made writable", StringComparison.Ordinal))
                expected = false;
            Assert.True(expected == MklCpuDispatch.Applied, $"vendor {vendor}: {outcome}");
            Assert.Contains(expected ? "handled like an Intel one" : "left alone", outcome);
        }

        [Fact]
        public void MatrixProductsAgreeWithADoublePrecisionProduct()
        {
            // shapes of the MMoE, forward and both backward products (transposed operands)
            var rng = new Random(3);
            foreach (var (m, k, n) in new[] { (256, 148, 256), (256, 256, 128), (128, 256, 256), (148, 256, 256), (7, 5, 3) })
            {
                var a = new float[m * k];
                var b = new float[k * n];
                for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
                for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
                using var scope = NewDisposeScope();
                var c = mm(tensor(a, m, k), tensor(b, k, n)).data<float>().ToArray();
                var ct = mm(tensor(b, k, n).t(), tensor(a, m, k).t()).data<float>().ToArray();   // (AB)^T = B^T A^T
                double worst = 0;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double s = 0;
                        for (int t = 0; t < k; t++)
                            s += (double)a[i * k + t] * b[t * n + j];
                        worst = Math.Max(worst, Math.Max(Math.Abs(c[i * n + j] - s), Math.Abs(ct[j * m + i] - s)));
                    }
                Assert.True(worst < 1e-4, $"[{m} x {k}] x [{k} x {n}]: max |error| {worst} ({MklCpuDispatch.Prepare()})");
            }
        }

        [Theory]
        [InlineData("0", true)]
        [InlineData("off", true)]
        [InlineData(" FALSE ", true)]
        [InlineData("1", false)]
        [InlineData("", false)]
        [InlineData(null, false)]
        public void TheEnvironmentVariableTurnsTheFixOff(string? value, bool off) => Assert.Equal(off, MklCpuDispatch.IsOptOut(value));
    }
}
