using System;
using System.Globalization;

namespace MLNetRank.Benchmarks
{
    /// <summary>Number formats shared by the benches' tables.</summary>
    internal static class BenchFormat
    {
        /// <summary>A signed difference to 4 decimals ("+0.0012", "-0.0030"); a value that rounds to zero keeps its sign
        /// ("-0.0000" for a small loss; .NET's "+0.0000;-0.0000" format printed it as "-+0.0000").</summary>
        public static string Signed(double value)
        {
            double r = Math.Round(value, 4, MidpointRounding.AwayFromZero);   // as the format rounds
            if (r == 0)
                return value < 0 ? "-0.0000" : "+0.0000";
            return r.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture);
        }
    }
}
