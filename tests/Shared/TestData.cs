using System;
using System.IO;

namespace MLNetRank.TestSupport
{
    /// <summary>
    /// Locates the public data sets in <c>../shared/data</c> (beside the repository root), or in the folder
    /// named by the <c>MLNETRANK_SHARED_DATA</c> environment variable. Tests that need them call
    /// <see cref="RequireFolder"/>, which fails with a clear message where the folder is absent (never a silent pass).
    /// </summary>
    internal static class TestData
    {
        public static string? RepoRoot()
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MLNetRank.sln")))
                dir = dir.Parent;
            return dir?.FullName;
        }

        public static string? SharedDataFolder()
        {
            var env = Environment.GetEnvironmentVariable("MLNETRANK_SHARED_DATA");
            if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
                return env;
            var root = RepoRoot();
            if (root is null)
                return null;
            var candidate = Path.GetFullPath(Path.Combine(root, "..", "shared", "data"));
            return Directory.Exists(candidate) ? candidate : null;
        }

        public const string MissingMessage =
            "The shared data folder was not found: expected ../shared/data beside the repository root, " +
            "or a folder named by MLNETRANK_SHARED_DATA. These tests use the public data sets kept there.";

        /// <summary>The path of <paramref name="relative"/> inside shared/data; throws a clear error when absent.</summary>
        public static string RequireFolder(string relative)
        {
            var data = SharedDataFolder() ?? throw new InvalidOperationException(MissingMessage);
            var path = Path.Combine(data, relative);
            if (!File.Exists(path) && !Directory.Exists(path))
                throw new InvalidOperationException($"Shared data '{relative}' not found under {data}.");
            return path;
        }
    }
}
