using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MLNetRank.Serving;

namespace RankingService
{
    /// <summary>
    /// A bounded load test on loopback: starts the service on a free port, sends <c>POST /rank</c> requests from 1, 4 and 16
    /// concurrent clients (each level stops after <c>--requests</c> requests or <c>--seconds</c> seconds, whichever comes
    /// first), and prints throughput and latency percentiles as a Markdown table. Options: <c>--model PATH</c>,
    /// <c>--candidates N</c> (default 100), <c>--requests N</c> (per level, default 3000), <c>--seconds S</c> (per level,
    /// default 20), <c>--clients 1,4,16</c>.
    /// </summary>
    public static class LoadTest
    {
        /// <summary>Runs the load test; returns the exit code.</summary>
        public static async Task<int> RunAsync(string[] args)
        {
            string model = Path.Combine("artifacts", "example", "final.zip");
            int candidates = 100, maxRequests = 3000;
            double seconds = 20;
            int[] levels = { 1, 4, 16 };
            for (int i = 0; i < args.Length; i++)
            {
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                switch (args[i])
                {
                    case "--load-test": break;
                    case "--model": model = Next(); break;
                    case "--candidates": candidates = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--requests": maxRequests = int.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--seconds": seconds = double.Parse(Next(), CultureInfo.InvariantCulture); break;
                    case "--clients": levels = Next().Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                    default: throw new ArgumentException($"Unknown load-test argument '{args[i]}'.");
                }
            }

            var app = Program.Create(new[] { "--urls", "http://127.0.0.1:0", "--RankingService:ModelPath", model, "--Logging:LogLevel:Default", "Warning" });
            await app.StartAsync();
            try
            {
                string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
                var host = app.Services.GetRequiredService<ModelHost>();
                string body = SampleBody(host.InputColumns, candidates, seed: 1);
                using var http = new HttpClient { BaseAddress = new Uri(address) };
                Console.WriteLine($"service at {address}, model {host.Version} ({host.ModelPath}), {candidates} candidates per request, " +
                    $"per level at most {maxRequests} requests or {seconds:0} s; {Environment.ProcessorCount} cores, load average {LoadAverage()}");
                // Warm-up (JIT, ONNX Runtime sessions, connection pool).
                for (int i = 0; i < 50; i++)
                    await Post(http, body);

                Console.WriteLine();
                Console.WriteLine("| concurrent clients | requests | requests/s | candidates/s | p50 ms | p99 ms |");
                Console.WriteLine("|---:|---:|---:|---:|---:|---:|");
                foreach (int clients in levels)
                {
                    var latencies = new List<double>[clients];
                    int sent = 0;
                    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
                    var wall = Stopwatch.StartNew();
                    var workers = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
                    {
                        var mine = latencies[c] = new List<double>();
                        while (!stop.IsCancellationRequested && Interlocked.Increment(ref sent) <= maxRequests)
                        {
                            var sw = Stopwatch.StartNew();
                            await Post(http, body);
                            mine.Add(sw.Elapsed.TotalMilliseconds);
                        }
                    })).ToArray();
                    await Task.WhenAll(workers);
                    double elapsed = wall.Elapsed.TotalSeconds;
                    var all = latencies.SelectMany(l => l).OrderBy(x => x).ToArray();
                    Console.WriteLine(string.Format(CultureInfo.InvariantCulture, "| {0} | {1} | {2:N0} | {3:N0} | {4:0.00} | {5:0.00} |",
                        clients, all.Length, all.Length / elapsed, all.Length * candidates / elapsed, Percentile(all, 0.5), Percentile(all, 0.99)));
                }
                Console.WriteLine();
                Console.WriteLine($"load average at the end: {LoadAverage()}");
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
            return 0;
        }

        private static async Task Post(HttpClient http, string body)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/rank", content);
            if (!response.IsSuccessStatusCode)
                throw new InvalidOperationException($"POST /rank failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            await response.Content.ReadAsByteArrayAsync();
        }

        private static double Percentile(double[] sorted, double q)
            => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];

        private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

        /// <summary>A request body of <paramref name="count"/> candidates with deterministic pseudo-random values of the
        /// model's input columns (ids 1..500, numbers in [0, 1), sequences of 5 ids). A request is one user's: the columns
        /// named <c>User...</c> (the simulator's user id and behaviour sequences, request-level inputs of the sequence layers)
        /// take the first candidate's values in every candidate.</summary>
        public static string SampleBody(IReadOnlyList<RequestColumn> columns, int count, int seed)
        {
            var rng = new Random(seed);
            var candidates = new List<Dictionary<string, object>>();
            for (int i = 0; i < count; i++)
            {
                var c = new Dictionary<string, object>();
                foreach (var col in columns)
                {
                    if (i > 0 && col.Name.StartsWith("User", StringComparison.Ordinal))
                    {
                        c[col.Name] = candidates[0][col.Name];
                        continue;
                    }
                    object One() => col.RawItemType == typeof(float) || col.RawItemType == typeof(double) ? Math.Round(rng.NextDouble(), 4)
                        : col.RawItemType == typeof(bool) ? rng.Next(2) == 1
                        : col.RawItemType == typeof(ReadOnlyMemory<char>) ? "v" + rng.Next(100)
                        : rng.Next(1, 501);
                    int n = col.IsVariableSize ? 5 : col.ValuesPerRow;
                    c[col.Name] = n == 1 && !col.IsVariableSize ? One() : Enumerable.Range(0, n).Select(_ => One()).ToArray();
                }
                candidates.Add(c);
            }
            return JsonSerializer.Serialize(new { candidates });
        }
    }
}
