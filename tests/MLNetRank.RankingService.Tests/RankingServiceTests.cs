using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using LiveStreamRanking;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using Xunit;

namespace MLNetRank.RankingService.Tests
{
    /// <summary>A small final system (the main example's last stage) trained once, saved as a zip, and the offline scores
    /// of a few test requests.</summary>
    public sealed class FinalSystemFixture : IDisposable
    {
        public FinalSystemFixture()
        {
            var ml = new MLContext(seed: 3);
            Simulator = new LiveStreamSimulator(new LiveStreamSimulatorOptions { Seed = 3, RequestCount = 1_500, UserCount = 300, LiveCount = 60, ItemCount = 600 });
            var train = ml.Data.Cache(RankingPipelines.WithStayLabel(ml, Simulator.GetImpressions(ml, 0, 1_200)));
            Recipe = Stages.RecipeOf(Stages.LastAvailable);
            var sizes = new ModelSizes { LeafTrees = 8, LeafLeaves = 8, GraphDimension = 8, GraphWalksPerNode = 2, Epochs = 1, BatchSize = 256 };
            Model = RankingPipelines.Build(ml, Recipe, ml.Data.Cache(Simulator.GetEdges(ml)), sizes).Fit(train);
            Folder = Path.Combine(Path.GetTempPath(), $"mlnetrank-service-{Guid.NewGuid():N}");
            Directory.CreateDirectory(Folder);
            ZipPath = Path.Combine(Folder, "final.zip");
            ml.Model.Save(Model, train.Schema, ZipPath);
            Context = ml;
        }

        public MLContext Context { get; }
        public LiveStreamSimulator Simulator { get; }
        public Recipe Recipe { get; }
        public ITransformer Model { get; }
        public string Folder { get; }
        public string ZipPath { get; }

        /// <summary>Request <paramref name="index"/> of the simulator (a test-period list of 10 candidates).</summary>
        public IDataView Request(long index) => Context.Data.Cache(Simulator.GetImpressions(Context, index, 1));

        public void Dispose()
        {
            (Model as IDisposable)?.Dispose();
            try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The tests that share one trained final system.</summary>
    [CollectionDefinition(Name)]
    public sealed class FinalSystemCollection : ICollectionFixture<FinalSystemFixture>
    {
        public const string Name = "final system";
    }

    [Collection(FinalSystemCollection.Name)]
    public sealed class RankingServiceTests : IDisposable
    {
        private readonly FinalSystemFixture _f;
        private readonly WebApplicationFactory<global::RankingService.Program> _factory;
        private readonly HttpClient _client;

        public RankingServiceTests(FinalSystemFixture fixture)
        {
            _f = fixture;
            _factory = new WebApplicationFactory<global::RankingService.Program>()
                .WithWebHostBuilder(b => b.UseSetting("RankingService:ModelPath", fixture.ZipPath));
            _client = _factory.CreateClient();
        }

        public void Dispose()
        {
            _client.Dispose();
            _factory.Dispose();
        }

        /// <summary>The request's columns as the service's JSON: every column the model reads, by name.</summary>
        private static string Body(IDataView request, IReadOnlyList<RequestColumn> columns, Action<List<Dictionary<string, object>>>? edit = null)
        {
            int n = (int)request.GetRowCount()!.Value;
            var rows = Enumerable.Range(0, n).Select(_ => new Dictionary<string, object>()).ToList();
            foreach (var c in columns)
            {
                object[] values = c.RawItemType == typeof(float) && c.ValuesPerRow == 1 ? request.GetColumn<float>(c.Name).Cast<object>().ToArray()
                    : c.RawItemType == typeof(float) ? request.GetColumn<float[]>(c.Name).Cast<object>().ToArray()
                    : c.RawItemType == typeof(uint) && c.ValuesPerRow == 1 ? request.GetColumn<uint>(c.Name).Cast<object>().ToArray()
                    : c.RawItemType == typeof(uint) ? request.GetColumn<uint[]>(c.Name).Cast<object>().ToArray()
                    : c.RawItemType == typeof(int) ? request.GetColumn<int>(c.Name).Cast<object>().ToArray()
                    : c.RawItemType == typeof(bool) ? request.GetColumn<bool>(c.Name).Cast<object>().ToArray()
                    : throw new InvalidOperationException($"column {c} not handled by the test");
                for (int i = 0; i < n; i++)
                    rows[i][c.Name] = values[i];
            }
            edit?.Invoke(rows);
            return JsonSerializer.Serialize(new { candidates = rows });
        }

        private IReadOnlyList<RequestColumn> RequestColumns()
        {
            using var scorer = RequestScorer.Open(_f.ZipPath);
            return scorer.RequestColumns;
        }

        private async Task<(HttpStatusCode Status, JsonElement Json)> Post(string body)
        {
            using var content = new StringContent(body, Encoding.UTF8, "application/json");
            using var response = await _client.PostAsync("/rank", content);
            var text = await response.Content.ReadAsStringAsync();
            return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
        }

        [Fact]
        public async Task Rank_ScoresEqualTheOfflinePipeline_AndOrderByThem()
        {
            var columns = RequestColumns();
            Assert.Contains(columns, c => c.Name == "StatFeatures");
            foreach (long index in new long[] { 1_250, 1_333, 1_499 })
            {
                var request = _f.Request(index);
                var offline = _f.Model.Transform(request);
                var (status, json) = await Post(Body(request, columns));
                Assert.Equal(HttpStatusCode.OK, status);
                Assert.Equal(_f.Recipe.RankingScoreColumn, json.GetProperty("scoreColumn").GetString());
                var ranking = json.GetProperty("ranking").EnumerateArray().ToArray();
                Assert.Equal(10, ranking.Length);
                foreach (var output in new[] { "ClickProbability", "BuyJointProbability", "StayTimeScore" })
                {
                    var expected = offline.GetColumn<float[]>(output).Select(v => v[0]).ToArray();
                    foreach (var r in ranking)
                    {
                        int i = r.GetProperty("index").GetInt32();
                        float served = r.GetProperty("outputs").GetProperty(output).GetSingle();
                        Assert.True(Math.Abs(served - expected[i]) <= 1e-6f * Math.Max(1f, Math.Abs(expected[i])),
                            $"request {index}, candidate {i}, {output}: served {served}, offline {expected[i]}");
                    }
                }
                // Ranked by descending score.
                var scores = ranking.Select(r => r.GetProperty("score").GetSingle()).ToArray();
                Assert.Equal(scores.OrderByDescending(s => s).ToArray(), scores);
            }
        }

        [Fact]
        public async Task ConcurrentRequests_GiveTheSameScoresAsOneAtATime()
        {
            var columns = RequestColumns();
            var bodies = Enumerable.Range(0, 8).Select(k => Body(_f.Request(1_200 + 30 * k), columns)).ToArray();
            var serial = new List<string>();
            foreach (var b in bodies)
                serial.Add((await Post(b)).Json.GetProperty("ranking").GetRawText());
            var parallel = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () => (i % bodies.Length, (await Post(bodies[i % bodies.Length])).Json.GetProperty("ranking").GetRawText()))));
            foreach (var (k, text) in parallel)
                Assert.Equal(serial[k], text);
        }

        [Fact]
        public async Task HealthAndModelVersion()
        {
            string sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(_f.ZipPath))).ToLowerInvariant();
            var health = JsonDocument.Parse(await _client.GetStringAsync("/health")).RootElement;
            Assert.Equal("ok", health.GetProperty("status").GetString());
            Assert.Equal(sha[..12], health.GetProperty("modelVersion").GetString());
            var model = JsonDocument.Parse(await _client.GetStringAsync("/model")).RootElement;
            Assert.Equal(sha, model.GetProperty("sha256").GetString());
            var inputs = model.GetProperty("inputs").EnumerateArray().Select(e => e.GetProperty("name").GetString()).ToArray();
            Assert.Equal(RequestColumns().Select(c => c.Name), inputs);
            Assert.Contains("ClickProbability", model.GetProperty("outputs").EnumerateArray().Select(e => e.GetString()));
        }

        [Fact]
        public async Task MalformedRequests_Get400NamingTheField()
        {
            var columns = RequestColumns();
            var request = _f.Request(1_300);
            async Task Expect(string body, string field, string fragment)
            {
                var (status, json) = await Post(body);
                Assert.Equal(HttpStatusCode.BadRequest, status);
                Assert.Equal(field, json.GetProperty("field").GetString());
                string error = json.GetProperty("error").GetString()!;
                Assert.Contains(field, error);
                Assert.Contains(fragment, error);
            }
            await Expect(Body(request, columns, rows => rows[1].Remove("StatFeatures")), "candidates[1].StatFeatures", "missing");
            await Expect(Body(request, columns, rows => rows[2]["StatFeatures"] = new float[3]), "candidates[2].StatFeatures",
                $"{ImpressionColumns.StatFeatureCount} numbers, got 3");
            await Expect(Body(request, columns, rows => rows[0]["StatFeatures"] = Enumerable.Range(0, ImpressionColumns.StatFeatureCount).Select(i => i == 4 ? (object)"x" : 0.5f).ToArray()),
                "candidates[0].StatFeatures[4]", "String");
            await Expect(Body(request, columns, rows => rows[3]["UserId"] = "abc"), "candidates[3].UserId", "non-negative integer");
            await Expect(Body(request, columns, rows => rows[3]["LiveId"] = -4), "candidates[3].LiveId", "non-negative integer");
            // one user per request: the user's behaviour sequences (request-level inputs of the sequence layers) must agree
            await Expect(Body(request, columns, rows =>
                {
                    var clicked = (uint[])rows[0][ImpressionColumns.UserItemSeq];
                    Assert.NotEmpty(clicked); // same length, other items: the candidates stay in one group of equal lengths
                    rows[2][ImpressionColumns.UserItemSeq] = clicked.Select(v => v + 1).ToArray();
                }),
                $"candidates[2].{ImpressionColumns.UserItemSeq}", "same for every candidate");
            await Expect("{\"items\": []}", "candidates", "missing");
            await Expect("{\"candidates\": []}", "candidates", "empty");
            await Expect("{\"candidates\": [1, 2]}", "candidates[0]", "object");
            await Expect("{\"candidates\": [", "$", "not valid JSON");
        }
    }
}
