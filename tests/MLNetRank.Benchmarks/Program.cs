using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Linq;
using System.Reflection;

namespace MLNetRank.Benchmarks
{
    /// <summary>A benchmark program: one component's figures for docs/benchmarks.md.</summary>
    /// <remarks>
    /// Its command-line options are the <see cref="Option"/> fields of the class (static or instance, in declaration
    /// order), made with <see cref="BenchOption"/>: the program parses <c>--key value</c> with System.CommandLine, prints
    /// <c>NAME --help</c> (every option with its default) and rejects unknown options before <see cref="Run"/> starts.
    /// </remarks>
    public interface IBench
    {
        /// <summary>Name used on the command line, e.g. "gbdt-throughput".</summary>
        string Name { get; }

        /// <summary>One line: what it measures.</summary>
        string Description { get; }

        /// <summary>Runs it with the parsed options (read them with <c>args.GetValue(Field)</c>); prints a Markdown
        /// table; returns the process exit code.</summary>
        int Run(ParseResult args);
    }

    /// <summary>
    /// <c>dotnet run -c Release --project tests/MLNetRank.Benchmarks -- NAME [--key value ...]</c> runs one benchmark;
    /// <c>list</c> (or no name) lists them, <c>NAME --help</c> lists a benchmark's options with their defaults. Every
    /// class implementing <see cref="IBench"/> is found here.
    /// </summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
            CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
            var benches = typeof(Program).Assembly.GetTypes()
                .Where(t => typeof(IBench).IsAssignableFrom(t) && !t.IsAbstract && !t.IsInterface)
                .Select(t => (IBench)Activator.CreateInstance(t)!)
                .OrderBy(b => b.Name, StringComparer.Ordinal)
                .ToList();
            var root = new RootCommand("MLNetRank benchmarks: figures for docs/benchmarks*.md. NAME --help lists a benchmark's options.");
            foreach (var bench in benches)
                root.Subcommands.Add(CommandOf(bench));
            var list = new Command("list", "Lists the benchmarks.");
            list.SetAction(_ => List(benches, 0));
            root.Subcommands.Add(list);
            root.SetAction(_ => List(benches, 1));
            return root.Parse(args).Invoke();
        }

        /// <summary>The benchmark's command: its <see cref="Option"/> fields, and a header line before it runs.</summary>
        internal static Command CommandOf(IBench bench)
        {
            var command = new Command(bench.Name, bench.Description);
            foreach (var option in OptionsOf(bench))
                command.Options.Add(option);
            command.SetAction(parsed =>
            {
                // a check of documented command lines (docs/benchmarks*.md): parse, report the values, run nothing
                if (Environment.GetEnvironmentVariable("MLNETRANK_BENCH_PARSE_ONLY") == "1")
                {
                    Console.WriteLine($"{bench.Name}: " + string.Join(" ", command.Options.Select(o => $"{o.Name}={Show(parsed.GetValue<object?>(o.Name))}")));
                    return 0;
                }
                Console.WriteLine($"# {bench.Name} — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");
                return bench.Run(parsed);
            });
            return command;
        }

        private static string Show(object? value) => value is System.Collections.IEnumerable e and not string
            ? string.Join(",", e.Cast<object>()) : value?.ToString() ?? "";

        private static IEnumerable<Option> OptionsOf(IBench bench)
        {
            var seen = new HashSet<Option>();
            for (var type = bench.GetType(); type is not null && type != typeof(object); type = type.BaseType)
                foreach (var field in type.GetFields(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly)
                    .Where(f => typeof(Option).IsAssignableFrom(f.FieldType))
                    .OrderBy(f => f.MetadataToken))
                    if (field.GetValue(field.IsStatic ? null : bench) is Option option && seen.Add(option))
                        yield return option;
        }

        private static int List(IReadOnlyList<IBench> benches, int exitCode)
        {
            Console.WriteLine("usage: dotnet run -c Release --project tests/MLNetRank.Benchmarks -- NAME [--key value ...]   (NAME --help: its options)");
            foreach (var b in benches)
                Console.WriteLine($"  {b.Name,-28} {b.Description}");
            return exitCode;
        }
    }

    /// <summary>Option declarations for benchmarks: <c>--key value</c> with a default that <c>--help</c> shows.</summary>
    internal static class BenchOption
    {
        /// <summary>An option with a default value.</summary>
        public static Option<T> Of<T>(string name, T defaultValue, string description)
            => new(name) { Description = description, DefaultValueFactory = _ => defaultValue };

        /// <summary>An option without a default (null when not given).</summary>
        public static Option<T?> Optional<T>(string name, string description)
            => new(name) { Description = description };

        /// <summary>An option the user must give.</summary>
        public static Option<T> Required<T>(string name, string description)
            => new(name) { Description = description, Required = true };

        /// <summary>A switch: true when present.</summary>
        public static Option<bool> Flag(string name, string description)
            => new(name) { Description = description };

        /// <summary>A comma-separated list, e.g. <c>--batch 256,1024</c>.</summary>
        public static Option<T[]> List<T>(string name, T[] defaultValue, string description) where T : IParsable<T>
            => new(name)
            {
                Description = description,
                DefaultValueFactory = _ => defaultValue,
                CustomParser = result =>
                {
                    var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : string.Join(",", result.Tokens.Select(t => t.Value));
                    var values = new List<T>();
                    foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!T.TryParse(part, CultureInfo.InvariantCulture, out var v))
                        {
                            result.AddError($"{name}: '{part}' is not a {typeof(T).Name}.");
                            return defaultValue;
                        }
                        values.Add(v);
                    }
                    return values.ToArray();
                },
                HelpName = "v1,v2,...",
            };

        /// <summary>An option limited to the given values.</summary>
        public static Option<string> OneOf(string name, string defaultValue, string description, params string[] values)
        {
            var option = Of(name, defaultValue, description);
            option.AcceptOnlyFromAmong(values);
            return option;
        }
    }
}
