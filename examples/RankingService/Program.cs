using System;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace RankingService
{
    /// <summary>
    /// A ranking service over the main example's <c>final.zip</c>: ASP.NET Core minimal API, the model loaded once and
    /// served by the request scorer.
    /// <list type="bullet">
    /// <item><c>POST /rank</c> with <c>{"candidates": [{"UserId": 7, "LiveId": 12, "StatFeatures": [25 numbers]}, ...]}</c>
    /// returns the candidates ranked by the model's score (400 naming the field for a malformed request).</item>
    /// <item><c>GET /health</c>, <c>GET /model</c> (version = SHA-256 of the zip, input columns, outputs).</item>
    /// </list>
    /// <c>dotnet run -c Release --project examples/RankingService -- --load-test</c> runs a bounded loopback load test instead.
    /// </summary>
    public partial class Program
    {
        /// <summary>Entry point.</summary>
        public static async Task<int> Main(string[] args)
        {
            if (args.Contains("--load-test"))
                return await LoadTest.RunAsync(args);
            var app = Create(args);
            await app.RunAsync();
            return 0;
        }

        /// <summary>Builds the service (used by <see cref="Main"/> and the load test).</summary>
        public static WebApplication Create(string[] args)
        {
            var builder = WebApplication.CreateBuilder(args);
            builder.Services.Configure<RankingServiceOptions>(builder.Configuration.GetSection("RankingService"));
            builder.Services.AddSingleton(sp => new ModelHost(sp.GetRequiredService<IOptions<RankingServiceOptions>>().Value));
            var app = builder.Build();
            Map(app);
            // Load the model at start-up, not on the first request.
            _ = app.Services.GetRequiredService<ModelHost>();
            return app;
        }

        /// <summary>The endpoints.</summary>
        public static void Map(WebApplication app)
        {
            app.MapGet("/health", (ModelHost model) => Results.Ok(new { status = "ok", modelVersion = model.Version }));

            app.MapGet("/model", (ModelHost model) => Results.Ok(new
            {
                version = model.Version,
                sha256 = model.Sha256,
                path = model.ModelPath,
                loadedAtUtc = model.LoadedAtUtc,
                scoreColumn = model.ScoreColumn,
                maxCandidates = model.MaxCandidates,
                inputs = model.InputColumns.Select(c => new { name = c.Name, type = c.Type.ToString(), expected = ModelHost.Describe(c) }),
                outputs = model.Outputs,
            }));

            app.MapPost("/rank", async (HttpRequest http, ModelHost model) =>
            {
                JsonDocument document;
                try
                {
                    document = await JsonDocument.ParseAsync(http.Body);
                }
                catch (JsonException e)
                {
                    return Results.BadRequest(new { error = $"$: the body is not valid JSON ({e.Message})", field = "$" });
                }
                using (document)
                {
                    try
                    {
                        var ranked = model.Rank(document.RootElement);
                        return Results.Ok(new
                        {
                            modelVersion = model.Version,
                            scoreColumn = model.ScoreColumn,
                            ranking = ranked.Select(r => new { index = r.Index, score = r.Score, outputs = r.Outputs }),
                        });
                    }
                    catch (RequestValidationException e)
                    {
                        return Results.BadRequest(new { error = e.Message, field = e.Field });
                    }
                }
            });
        }
    }
}
