using Microsoft.ML;
using MLNetRank.Common;
using Xunit;

namespace MLNetRank.Tests.Common
{
    public class ContextSeedTests
    {
        [Fact]
        public void SameSeedSameDraws_DifferentSeedDifferentDraws()
        {
            var a = new MLContext(seed: 7);
            var b = new MLContext(seed: 7);
            var c = new MLContext(seed: 8);
            int a1 = ContextSeed.Draw(a), a2 = ContextSeed.Draw(a);
            int b1 = ContextSeed.Draw(b), b2 = ContextSeed.Draw(b);
            int c1 = ContextSeed.Draw(c);
            Assert.Equal(a1, b1);
            Assert.Equal(a2, b2);
            Assert.NotEqual(a1, a2);
            Assert.NotEqual(a1, c1);
            Assert.True(a1 >= 0);
        }

        [Fact]
        public void ExplicitSeedWins()
        {
            Assert.Equal(42, ContextSeed.Resolve(new MLContext(seed: 1), 42));
        }
    }
}
