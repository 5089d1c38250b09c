using System.Runtime.CompilerServices;

namespace MLNetRank.Common
{
    /// <summary>
    /// SplitMix64 (Steele, Lea and Flood, 2014), the project's one implementation: a small, fast, seedable generator
    /// (metapath2vec's walks, sampling and initialisation; the simulator's seeding of xoshiro256**) and its finalizer
    /// <see cref="Mix"/> (the multi-task trainer's validation split and id hashing). Compiled into MLNetRank and, as a
    /// linked source file, into MLNetRank.Simulation (which does not reference the core).
    /// </summary>
    internal struct SplitMix64
    {
        private ulong _state;

        public SplitMix64(ulong seed) => _state = seed;

        public static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong Next()
        {
            _state += 0x9E3779B97F4A7C15UL;
            return Mix(_state);
        }

        /// <summary>Uniform in [0, n).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int NextInt(int n) => (int)(((Next() >> 32) * (ulong)(uint)n) >> 32);

        /// <summary>Uniform in [0, n) for a 64-bit range.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public long NextLong(long n) => (long)(Next() % (ulong)n);

        /// <summary>Uniform in [0, 1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float NextFloat() => (Next() >> 40) * (1f / (1 << 24));
    }
}
