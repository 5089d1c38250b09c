using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.Data;
using MLNetRank.Serving;

namespace RankingService
{
    /// <summary>Settings of the service (section <c>RankingService</c> of the configuration, e.g. the environment variable
    /// <c>RankingService__ModelPath</c>).</summary>
    public sealed class RankingServiceOptions
    {
        /// <summary>The model zip (the main example's <c>final.zip</c> by default).</summary>
        public string ModelPath { get; set; } = Path.Combine("artifacts", "example", "final.zip");

        /// <summary>The output column that orders the candidates; null picks <c>Score</c> (a fused ranking score) when the
        /// model has it, else <c>ClickProbability</c>.</summary>
        public string? ScoreColumn { get; set; }

        /// <summary>Most candidates in one request.</summary>
        public int MaxCandidates { get; set; } = 1000;
    }

    /// <summary>A bad request: the message names the JSON field.</summary>
    public sealed class RequestValidationException : Exception
    {
        /// <summary>A validation error on <paramref name="field"/>.</summary>
        public RequestValidationException(string field, string message) : base($"{field}: {message}")
        {
            Field = field;
        }

        /// <summary>The JSON path of the bad field, e.g. <c>candidates[3].StatFeatures</c>.</summary>
        public string Field { get; }
    }

    /// <summary>One candidate's place in the ranking.</summary>
    /// <param name="Index">Index of the candidate in the request.</param>
    /// <param name="Score">Its ranking score.</param>
    /// <param name="Outputs">Every scalar output of the model for it (task probabilities, stay time, ...).</param>
    public sealed record RankedCandidate(int Index, float Score, IReadOnlyDictionary<string, float> Outputs);

    /// <summary>
    /// The loaded model: the zip is opened once with the request scorer (one batched ONNX Runtime call per network per
    /// request). Thread-safe: each call takes a <see cref="ScoringRequest"/> from a pool (one per concurrent caller).
    /// </summary>
    public sealed class ModelHost : IDisposable
    {
        private readonly RequestScorer _scorer;
        private readonly ConcurrentBag<ScoringRequest> _pool = new();
        private readonly string[] _scalarOutputs;

        /// <summary>Opens <paramref name="options"/>' model.</summary>
        public ModelHost(RankingServiceOptions options)
        {
            if (options.MaxCandidates < 1)
                throw new ArgumentOutOfRangeException(nameof(options), "RankingService:MaxCandidates must be >= 1.");
            if (!File.Exists(options.ModelPath))
                throw new FileNotFoundException($"RankingService:ModelPath '{Path.GetFullPath(options.ModelPath)}' does not exist; run the main example " +
                    "(dotnet run -c Release --project examples/LiveStreamRanking) to write final.zip, or set RankingService__ModelPath.", options.ModelPath);
            byte[] bytes = File.ReadAllBytes(options.ModelPath);
            Sha256 = Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();
            ModelPath = Path.GetFullPath(options.ModelPath);
            LoadedAtUtc = DateTime.UtcNow;
            MaxCandidates = options.MaxCandidates;
            _scorer = RequestScorer.Open(new MemoryStream(bytes));
            var outputs = _scorer.OutputColumns;
            _scalarOutputs = outputs.Where(c => c.ValuesPerRow == 1 && c.RawItemType == typeof(float)).Select(c => c.Name).ToArray();
            ScoreColumn = options.ScoreColumn
                ?? (_scalarOutputs.Contains("Score") ? "Score" : _scalarOutputs.Contains("ClickProbability") ? "ClickProbability" : null)
                ?? throw new InvalidOperationException($"The model has neither a 'Score' nor a 'ClickProbability' output; set RankingService:ScoreColumn to one of {string.Join(", ", _scalarOutputs)}.");
            if (!_scalarOutputs.Contains(ScoreColumn))
                throw new InvalidOperationException($"RankingService:ScoreColumn '{ScoreColumn}' is not a scalar Single output of the model; its outputs: {string.Join(", ", _scalarOutputs)}.");
        }

        /// <summary>SHA-256 of the zip (hex): the model version.</summary>
        public string Sha256 { get; }

        /// <summary>Short model version: the first 12 hex digits of <see cref="Sha256"/>.</summary>
        public string Version => Sha256[..12];

        /// <summary>Full path of the zip.</summary>
        public string ModelPath { get; }

        /// <summary>When the model was loaded.</summary>
        public DateTime LoadedAtUtc { get; }

        /// <summary>The ranking score column.</summary>
        public string ScoreColumn { get; }

        /// <summary>Most candidates per request.</summary>
        public int MaxCandidates { get; }

        /// <summary>Columns each candidate must carry.</summary>
        public IReadOnlyList<RequestColumn> InputColumns => _scorer.RequestColumns;

        /// <summary>Scalar outputs returned per candidate.</summary>
        public IReadOnlyList<string> Outputs => _scalarOutputs;

        /// <summary>Parses, validates and scores a request body <c>{"candidates": [{column: value, ...}, ...]}</c>; returns the
        /// candidates by descending score (ties by index).</summary>
        /// <exception cref="RequestValidationException">A malformed request, naming the field.</exception>
        public IReadOnlyList<RankedCandidate> Rank(JsonElement body)
        {
            if (body.ValueKind != JsonValueKind.Object)
                throw new RequestValidationException("$", "expected a JSON object {\"candidates\": [...]}.");
            if (!TryGetProperty(body, "candidates", out var candidates))
                throw new RequestValidationException("candidates", "missing; expected an array of candidate objects.");
            if (candidates.ValueKind != JsonValueKind.Array)
                throw new RequestValidationException("candidates", $"expected an array, got {candidates.ValueKind}.");
            int n = candidates.GetArrayLength();
            if (n == 0)
                throw new RequestValidationException("candidates", "empty; expected at least one candidate.");
            if (n > MaxCandidates)
                throw new RequestValidationException("candidates", $"{n} candidates; at most {MaxCandidates} per request.");

            if (!_pool.TryTake(out var request))
                request = _scorer.CreateRequest(MaxCandidates);
            try
            {
                request.Count = n;
                int row = 0;
                foreach (var candidate in candidates.EnumerateArray())
                {
                    string at = $"candidates[{row}]";
                    if (candidate.ValueKind != JsonValueKind.Object)
                        throw new RequestValidationException(at, $"expected an object, got {candidate.ValueKind}.");
                    foreach (var column in _scorer.RequestColumns)
                    {
                        if (!TryGetProperty(candidate, column.Name, out var value))
                            throw new RequestValidationException($"{at}.{column.Name}", $"missing; expected {Describe(column)}.");
                        Fill(request, column, row, value, $"{at}.{column.Name}");
                    }
                    row++;
                }
                try
                {
                    _scorer.Score(request);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("SameForAllCandidates", StringComparison.Ordinal))
                {
                    // A request-level input (the user's behaviour sequences: one user per request) differs between candidates.
                    throw RequestLevelMismatch(e.Message);
                }
                var score = request.GetOutput<float>(ScoreColumn);
                var outputs = _scalarOutputs.Select(o => (Name: o, Values: request.GetOutput<float>(o).ToArray())).ToArray();
                var ranked = new RankedCandidate[n];
                for (int i = 0; i < n; i++)
                {
                    var dict = new Dictionary<string, float>(outputs.Length, StringComparer.Ordinal);
                    foreach (var (name, values) in outputs)
                        dict[name] = values[i];
                    ranked[i] = new RankedCandidate(i, score[i], dict);
                }
                return ranked.OrderByDescending(r => r.Score).ThenBy(r => r.Index).ToArray();
            }
            finally
            {
                _pool.Add(request);
            }
        }

        /// <summary>The 400 for a request-level input (declared <c>SameForAllCandidates</c>: the user's sequences) that differs
        /// between candidates, naming the request column and the first differing candidate from the scorer's message.</summary>
        private RequestValidationException RequestLevelMismatch(string message)
        {
            var column = _scorer.RequestColumns.Where(c => message.Contains(c.Name, StringComparison.Ordinal))
                .OrderByDescending(c => c.Name.Length).FirstOrDefault()?.Name;
            var rows = System.Text.RegularExpressions.Regex.Match(message, @"rows (\d+) and (\d+)");
            string field = column is null ? "candidates" : rows.Success ? $"candidates[{rows.Groups[2].Value}].{column}" : $"candidates[].{column}";
            string first = rows.Success ? $"candidates[{rows.Groups[1].Value}]" : "the first candidate";
            return new RequestValidationException(field, $"must be the same for every candidate of a request (a request-level input: one user per request); it differs from {first}'s.");
        }

        private static bool TryGetProperty(JsonElement obj, string name, out JsonElement value)
        {
            if (obj.TryGetProperty(name, out value))
                return true;
            foreach (var p in obj.EnumerateObject())
                if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = p.Value;
                    return true;
                }
            return false;
        }

        /// <summary>What a column expects, in words.</summary>
        public static string Describe(RequestColumn c)
        {
            string item = c.RawItemType == typeof(bool) ? "true/false" : c.RawItemType == typeof(float) || c.RawItemType == typeof(double) ? "number" : "non-negative integer";
            if (c.RawItemType == typeof(int) || c.RawItemType == typeof(long))
                item = "integer";
            if (c.RawItemType == typeof(ReadOnlyMemory<char>))
                item = "string";
            return c.ValuesPerRow == 1 ? $"a {item}" : c.IsVariableSize ? $"an array of {item}s (any length)" : $"an array of {c.ValuesPerRow} {item}s";
        }

        private static void Fill(ScoringRequest request, RequestColumn column, int row, JsonElement value, string field)
        {
            var t = column.RawItemType;
            if (t == typeof(float)) Set<float>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.Number && e.TryGetSingle(out var v) && float.IsFinite(v) ? v : throw Bad(field, column));
            else if (t == typeof(double)) Set<double>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var v) && double.IsFinite(v) ? v : throw Bad(field, column));
            else if (t == typeof(uint)) Set<uint>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.Number && e.TryGetUInt32(out var v) ? v : throw Bad(field, column));
            else if (t == typeof(int)) Set<int>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var v) ? v : throw Bad(field, column));
            else if (t == typeof(long)) Set<long>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out var v) ? v : throw Bad(field, column));
            else if (t == typeof(ulong)) Set<ulong>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.Number && e.TryGetUInt64(out var v) ? v : throw Bad(field, column));
            else if (t == typeof(bool)) Set<bool>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.True || (e.ValueKind == JsonValueKind.False ? false : throw Bad(field, column)));
            else if (t == typeof(ReadOnlyMemory<char>)) Set<ReadOnlyMemory<char>>(request, column, row, value, field, e => e.ValueKind == JsonValueKind.String ? e.GetString()!.AsMemory() : throw Bad(field, column));
            else throw new InvalidOperationException($"Model input column '{column.Name}' has type {column.Type}, which this service does not read from JSON.");
        }

        private static RequestValidationException Bad(string field, RequestColumn column) => new(field, $"expected {Describe(column)}.");

        private static void Set<T>(ScoringRequest request, RequestColumn column, int row, JsonElement value, string field, Func<JsonElement, T> read)
        {
            if (column.ValuesPerRow == 1)
            {
                if (value.ValueKind == JsonValueKind.Array)
                    throw new RequestValidationException(field, $"expected {Describe(column)}, got an array.");
                request.SetValue(column.Name, row, read(value));
                return;
            }
            if (value.ValueKind != JsonValueKind.Array)
                throw new RequestValidationException(field, $"expected {Describe(column)}, got {value.ValueKind}.");
            int length = value.GetArrayLength();
            if (!column.IsVariableSize && length != column.ValuesPerRow)
                throw new RequestValidationException(field, $"expected {Describe(column)}, got {length}.");
            var values = new T[length];
            int i = 0;
            foreach (var e in value.EnumerateArray())
            {
                try
                {
                    values[i] = read(e);
                }
                catch (RequestValidationException)
                {
                    throw new RequestValidationException($"{field}[{i}]", $"expected {Describe(column)}; this element is {e.ValueKind} '{e.GetRawText()}'.");
                }
                i++;
            }
            request.SetValues<T>(column.Name, row, values);
        }

        /// <inheritdoc/>
        public void Dispose()
        {
            while (_pool.TryTake(out var r))
                r.Dispose();
            _scorer.Dispose();
        }
    }
}
