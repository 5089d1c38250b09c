using Xunit;

namespace MLNetRank.Tests
{
    /// <summary>
    /// Test classes that train LightGBM run alone, never beside another test class. LightGBM's native library sizes its
    /// per-thread buffers by OpenMP's process-wide thread count, so two trainings with different thread counts in one
    /// process can write past those buffers (a CI run's test host died with a segfault in lib_lightgbm.so; ML.NET's own
    /// suite hit the same, dotnet/machinelearning#4918). The library serialises its own LightGBM fits (LightGbmGate);
    /// these tests also call ML.NET's LightGBM trainers directly, which no gate of ours covers.
    /// </summary>
    [CollectionDefinition(Name, DisableParallelization = true)]
    public sealed class LightGbmCollection
    {
        /// <summary>The collection's name.</summary>
        public const string Name = "LightGBM (not parallel)";
    }
}
