using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Notebooks.Tests
{
    /// <summary>
    /// Packs the MLNetRank packages from the working tree once per test run, with a version no earlier run used
    /// (<c>0.1.0-nb.&lt;UTC time&gt;.&lt;process id&gt;</c>), into a temporary folder that serves as a local NuGet feed.
    /// A fresh version means the NuGet cache cannot hand a notebook a stale package. The sources are copied first, so the
    /// pack never rewrites the build outputs of the working tree while other test projects run. On dispose, the feed and
    /// this version's folders in the global NuGet packages folder are removed (they are this run's own).
    /// </summary>
    public sealed class PackedFeed : IDisposable
    {
        public static readonly string[] PackageIds = { "MLNetRank", "MLNetRank.Torch", "MLNetRank.Simulation" };

        public string Version { get; }
        public string Folder { get; }
        public string RepoRoot { get; }
        private readonly string _work;

        public PackedFeed()
        {
            RepoRoot = TestData.RepoRoot() ?? throw new InvalidOperationException("repository root (MLNetRank.sln) not found above " + AppContext.BaseDirectory);
            Version = $"0.1.0-nb.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
            _work = Path.Combine(Path.GetTempPath(), "mlnetrank-nb-" + Guid.NewGuid().ToString("N")[..12]);
            Folder = Path.Combine(_work, "feed");
            Directory.CreateDirectory(Folder);
            var src = Path.Combine(_work, "repo");
            foreach (var f in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "NuGet.config", "LICENSE" })
                File.Copy(Path.Combine(RepoRoot, f), Path.Combine(src.CreateDirectory(), f));
            CopyTree(Path.Combine(RepoRoot, "build"), Path.Combine(src, "build"));
            Directory.CreateDirectory(Path.Combine(src, "artifacts", "packages")); // the local feed NuGet.config names
            foreach (var id in PackageIds)
                CopyTree(Path.Combine(RepoRoot, "src", id), Path.Combine(src, "src", id));
            // MLNetRank.Torch packs its dependencies (MLNetRank) by project reference: packing it builds both.
            foreach (var id in PackageIds)
                Run("dotnet", $"pack src/{id}/{id}.csproj -c Release -o \"{Folder}\" -p:Version={Version} " +
                              "-p:EnableSourceControlManagerQueries=false -p:EnableSourceLink=false -p:ContinuousIntegrationBuild=false", src);
            var packed = Directory.GetFiles(Folder, "*.nupkg").Select(Path.GetFileName).ToArray();
            foreach (var id in PackageIds)
                if (!packed.Contains($"{id}.{Version}.nupkg"))
                    throw new InvalidOperationException($"{id}.{Version}.nupkg was not packed; the feed holds: {string.Join(", ", packed)}");
        }

        internal static string Run(string file, string args, string cwd, TimeSpan? timeout = null, System.Collections.Generic.IDictionary<string, string>? environment = null)
        {
            var psi = new ProcessStartInfo(file, args)
            {
                WorkingDirectory = cwd,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            psi.Environment["DOTNET_NOLOGO"] = "1";
            if (environment is not null)
                foreach (var (k, v) in environment)
                    psi.Environment[k] = v;
            using var p = Process.Start(psi)!;
            var o = p.StandardOutput.ReadToEndAsync();
            var e = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit((int)(timeout ?? TimeSpan.FromMinutes(10)).TotalMilliseconds))
            {
                p.Kill(entireProcessTree: true);
                throw new TimeoutException($"{file} {args} did not finish in time\n{o.Result}\n{e.Result}");
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{file} {args} failed ({p.ExitCode}) in {cwd}:\n{o.Result}\n{e.Result}");
            return o.Result;
        }

        private static void CopyTree(string from, string to)
        {
            Directory.CreateDirectory(to);
            foreach (var d in Directory.GetDirectories(from))
            {
                var name = Path.GetFileName(d);
                if (name is "bin" or "obj")
                    continue;
                CopyTree(d, Path.Combine(to, name));
            }
            foreach (var f in Directory.GetFiles(from))
                File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        }

        public static string GlobalPackagesFolder() =>
            Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } p
                ? p : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");

        public void Dispose()
        {
            try { Directory.Delete(_work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            foreach (var id in PackageIds)
            {
                var d = Path.Combine(GlobalPackagesFolder(), id.ToLowerInvariant(), Version.ToLowerInvariant());
                try { if (Directory.Exists(d)) Directory.Delete(d, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }
    }

    internal static class PathExtensions
    {
        public static string CreateDirectory(this string path)
        {
            Directory.CreateDirectory(path);
            return path;
        }
    }

    [CollectionDefinition(Name)]
    public sealed class PackedFeedCollection : ICollectionFixture<PackedFeed>
    {
        public const string Name = "packed MLNetRank packages";
    }
}
