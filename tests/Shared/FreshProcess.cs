using System;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace MLNetRank.TestSupport
{
    /// <summary>
    /// Runs a .NET 10 file-based app (<c>dotnet run load.cs -- args</c>) in its own process, so a test can load a
    /// saved model where no MLNetRank (or TorchSharp) assembly exists.
    /// </summary>
    internal static class FreshProcess
    {
        /// <summary>
        /// Writes <paramref name="appSource"/> to <c>load.cs</c> in <paramref name="workingDirectory"/> (unchanged files
        /// are kept, so <c>dotnet run</c> reuses its build cache), runs it with <paramref name="arguments"/> for at most
        /// five minutes, and returns its standard output; throws with both outputs when it fails.
        /// </summary>
        public static async Task<string> RunFileAppAsync(string workingDirectory, string appSource, string arguments)
        {
            Directory.CreateDirectory(workingDirectory);
            var app = Path.Combine(workingDirectory, "load.cs");
            if (!File.Exists(app) || File.ReadAllText(app) != appSource)
                File.WriteAllText(app, appSource);
            var psi = new ProcessStartInfo("dotnet", $"run load.cs -- {arguments}")
            {
                WorkingDirectory = workingDirectory,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            psi.Environment["DOTNET_NOLOGO"] = "1";
            using var p = Process.Start(psi)!;
            var stdoutTask = p.StandardOutput.ReadToEndAsync();
            var stderrTask = p.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
            await p.WaitForExitAsync(timeout.Token);
            string stdout = await stdoutTask, stderr = await stderrTask;
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"loader failed ({p.ExitCode}): {stdout}\n{stderr}");
            return stdout;
        }
    }
}
