using System;
using MLNetRank.Common;

namespace MLNetRank.Simulation
{
    /// <summary>
    /// A small, fast, counter-seeded random generator (xoshiro256** seeded through SplitMix64). Streams are
    /// addressed by (seed, stream, index), so any request or entity pair can be regenerated on its own without
    /// replaying what came before: that is what lets the simulator stream any number of requests deterministically.
    /// </summary>
    internal struct SimRandom
    {
        private ulong _s0, _s1, _s2, _s3;

        /// <summary>Stream tags: one per kind of randomness, so different uses never share draws.</summary>
        internal const ulong StreamWorld = 1, StreamRequest = 2, StreamPair = 3, StreamOnSale = 4, StreamHistory = 5, StreamLiveHistory = 6, StreamCalibration = 7, StreamTaste = 8;

        public static SimRandom Create(int seed, ulong stream, ulong index, ulong index2 = 0)
        {
            ulong x = Mix(unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ Mix(stream + 0x632BE59BD9B4E019UL) ^ Mix(index * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL) ^ Mix(index2 * 0xABC98388FB8FAC03UL + 0x2545F4914F6CDD1DUL));
            var r = new SimRandom();
            var seeder = new SplitMix64(x);
            r._s0 = seeder.Next();
            r._s1 = seeder.Next();
            r._s2 = seeder.Next();
            r._s3 = seeder.Next();
            if ((r._s0 | r._s1 | r._s2 | r._s3) == 0)
                r._s0 = 1;
            return r;
        }

        private static ulong Mix(ulong z) => SplitMix64.Mix(z);

        private static ulong Rotl(ulong x, int k) => (x << k) | (x >> (64 - k));

        public ulong NextULong()
        {
            unchecked
            {
                ulong result = Rotl(_s1 * 5, 7) * 9;
                ulong t = _s1 << 17;
                _s2 ^= _s0;
                _s3 ^= _s1;
                _s1 ^= _s2;
                _s0 ^= _s3;
                _s2 ^= t;
                _s3 = Rotl(_s3, 45);
                return result;
            }
        }

        /// <summary>Uniform in [0, 1).</summary>
        public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Uniform integer in [0, n).</summary>
        public int Next(int n)
        {
            if (n <= 0)
                throw new ArgumentOutOfRangeException(nameof(n));
            return (int)((NextULong() >> 33) * (ulong)n >> 31);
        }

        /// <summary>Uniform integer in [lo, hi] (inclusive).</summary>
        public int Next(int lo, int hi) => lo + Next(hi - lo + 1);

        public bool Bernoulli(double p) => NextDouble() < p;

        /// <summary>Standard normal (Box–Muller; one value per call, so the stream position is fixed).</summary>
        public double NextGaussian()
        {
            double u1 = 1.0 - NextDouble();
            double u2 = NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
        }

        /// <summary>Poisson draw (Knuth for small means, a rounded normal approximation above 30).</summary>
        public int Poisson(double lambda)
        {
            if (lambda <= 0)
                return 0;
            if (lambda > 30)
                return Math.Max(0, (int)Math.Round(lambda + Math.Sqrt(lambda) * NextGaussian()));
            double l = Math.Exp(-lambda), p = 1.0;
            int k = 0;
            do
            {
                k++;
                p *= NextDouble();
            } while (p > l);
            return k - 1;
        }

        /// <summary>Binomial draw (exact for n &lt;= 64, normal approximation beyond).</summary>
        public int Binomial(int n, double p)
        {
            if (n <= 0 || p <= 0)
                return 0;
            if (p >= 1)
                return n;
            if (n <= 64)
            {
                int k = 0;
                for (int i = 0; i < n; i++)
                    if (NextDouble() < p)
                        k++;
                return k;
            }
            double mean = n * p, sd = Math.Sqrt(n * p * (1 - p));
            return Math.Clamp((int)Math.Round(mean + sd * NextGaussian()), 0, n);
        }

        /// <summary>Index drawn from non-negative weights (linear scan).</summary>
        public int Categorical(ReadOnlySpan<double> weights, double total)
        {
            double u = NextDouble() * total;
            for (int i = 0; i < weights.Length; i++)
            {
                u -= weights[i];
                if (u < 0)
                    return i;
            }
            return weights.Length - 1;
        }
    }
}
