using System;

namespace MLNetRank.Common
{
    /// <summary>
    /// Serialises the library's LightGBM trainings within a process. LightGBM's native library sizes per-thread buffers by
    /// OpenMP's process-wide thread count, which another training (or another library) can change while it runs; two
    /// concurrent trainings with different <c>NumberOfThreads</c> can then crash the process (dotnet/machinelearning#4918).
    /// FastTree and the trained models' scoring are not affected and are not gated.
    /// </summary>
    internal static class LightGbmGate
    {
        private static readonly object Lock = new();

        /// <summary>Runs <paramref name="fit"/> while no other LightGBM training of this library runs in the process.</summary>
        public static T Fit<T>(Func<T> fit)
        {
            lock (Lock)
                return fit();
        }
    }
}
