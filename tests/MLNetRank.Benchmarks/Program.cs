using System;
using System.Linq;
using System.Reflection;

namespace MLNetRank.Benchmarks
{
    /// <summary>A benchmark program: one component's figures for docs/benchmarks.md.</summary>
    public interface IBench
    {
        /// <summary>Name used on the command line, e.g. "gbdt-throughput".</summary>
        string Name { get; }

        /// <summary>One line: what it measures.</summary>
        string Description { get; }

        /// <summary>Runs it; prints a Markdown table; returns the process exit code.</summary>
        int Run(string[] args);
    }

    /// <summary>
    /// <c>dotnet run -c Release --project tests/MLNetRank.Benchmarks -- NAME [args]</c> runs one benchmark;
    /// with no name it lists them. Every benchmark class implementing <see cref="IBench"/> is found here.
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            var benches = typeof(Program).Assembly.GetTypes()
                .Where(t => typeof(IBench).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
                .Select(t => (IBench)Activator.CreateInstance(t)!)
                .OrderBy(b => b.Name, StringComparer.Ordinal)
                .ToList();
            if (args.Length == 0 || args[0] is "-h" or "--help" or "list")
            {
                Console.WriteLine("usage: dotnet run -c Release --project tests/MLNetRank.Benchmarks -- NAME [args]");
                foreach (var b in benches)
                    Console.WriteLine($"  {b.Name,-28} {b.Description}");
                return args.Length == 0 ? 1 : 0;
            }
            var bench = benches.FirstOrDefault(b => b.Name == args[0]);
            if (bench is null)
            {
                Console.Error.WriteLine($"unknown benchmark '{args[0]}'; run with no arguments for the list.");
                return 2;
            }
            Console.WriteLine($"# {bench.Name} — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
            return bench.Run(args.Skip(1).ToArray());
        }
    }
}
