using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Debiasing;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Debiasing
{
    /// <summary>
    /// A dual-learning model saved by ML.NET (the ranker and its propensity curve, two zips) loads in another process that
    /// references only Microsoft.ML, the ONNX transformer and ONNX Runtime, and gives the same scores and propensities.
    /// </summary>
    public class DualLearningFreshProcessTests
    {
        private const int Dim = 5;

        // A .NET 10 file-based app without MLNetRank: loads both zips, scores the rows, prints one line per row with the
        // score and the propensity (round-trip format) and the MLNetRank assemblies it loaded (none expected).
        private const string LoaderApp = @"#:package Microsoft.ML@6.0.0
#:package Microsoft.ML.OnnxTransformer@6.0.0
#:package Microsoft.ML.OnnxRuntime@1.31.1
#:property PublishAot=false
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

var ml = new MLContext();
var ranker = ml.Model.Load(args[0], out _);
var curve = ml.Model.Load(args[1], out _);
var rows = File.ReadAllLines(args[2]).Select(l => l.Split(' ')).Select(p => new Row
{
    Features = p.Take(5).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(),
    Position = int.Parse(p[5], CultureInfo.InvariantCulture),
}).ToList();
var data = ml.Data.LoadFromEnumerable(rows);
var scores = ranker.Transform(data).GetColumn<float[]>(""Score"").Select(v => v[0]).ToArray();
var propensities = curve.Transform(data).GetColumn<float>(""Propensity"").ToArray();
File.WriteAllLines(args[3], scores.Select((s, i) => s.ToString(""R"", CultureInfo.InvariantCulture) + "" "" + propensities[i].ToString(""R"", CultureInfo.InvariantCulture)));
Console.WriteLine(""MLNetRank assemblies: ["" + string.Join(',', AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).Where(n => n!.StartsWith(""MLNetRank""))) + ""]"");

public sealed class Row
{
    [VectorType(5)]
    public float[] Features { get; set; } = Array.Empty<float>();
    public int Position { get; set; }
}
";

        private sealed class Impression
        {
            [VectorType(Dim)]
            public float[] Features { get; set; } = Array.Empty<float>();
            public int Position { get; set; }
            public bool Click { get; set; }
            public uint Session { get; set; }
        }

        [Fact]
        [Trait("Category", "Quality")]
        public async System.Threading.Tasks.Task SavedRankerAndCurve_ScoreIdenticallyInAFreshProcessWithoutMLNetRank()
        {
            // position-based clicks on 8 shown documents: P(click) = (1/rank) · σ(x0 − x2)
            var rng = new Random(3);
            var log = new System.Collections.Generic.List<Impression>();
            for (int s = 0; s < 1500; s++)
                for (int r = 1; r <= 8; r++)
                {
                    var x = Enumerable.Range(0, Dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
                    bool click = rng.NextDouble() < 1.0 / r / (1 + Math.Exp(-(x[0] - x[2])));
                    log.Add(new Impression { Features = x, Position = r, Click = click, Session = (uint)s });
                }
            var ml = new MLContext(5);
            var view = ml.Data.LoadFromEnumerable(log);
            var dir = Path.Combine(Path.GetTempPath(), "mlnetrank-dla-fresh-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string rankerZip = Path.Combine(dir, "ranker.zip"), curveZip = Path.Combine(dir, "curve.zip");
                string input = Path.Combine(dir, "rows.txt"), result = Path.Combine(dir, "out.txt");
                // rows to score: positions 1..12 (8 and beyond share the last bucket (MaximumPosition = 7)), one with a missing feature
                var rows = Enumerable.Range(0, 24).Select(i => new Impression
                {
                    Features = i == 0 ? new[] { float.NaN, 0.5f, 0f, 0f, 0f } : log[i * 7].Features,
                    Position = i % 12 + 1,
                }).ToList();
                var rowView = ml.Data.LoadFromEnumerable(rows);
                float[] scores, curve;
                using (var model = ml.Ranker().Trainers.DualLearning(new DualLearningEstimator.Options { MaximumPosition = 7, Epochs = 3, Seed = 2 }).Fit(view))
                {
                    ml.Model.Save(model, view.Schema, rankerZip);
                    ml.Model.Save(model.PropensityTransformer, view.Schema, curveZip);
                    scores = model.Transform(rowView).GetColumn<float[]>("Score").Select(v => v[0]).ToArray();
                    curve = model.PropensityTransformer.Transform(rowView).GetColumn<float>("Propensity").ToArray();
                    Assert.Equal(1f, curve[0]);
                    Assert.True(curve[1] < 0.8f && curve[11] < curve[1], $"learned curve {string.Join(", ", curve.Take(12))}");
                }
                File.WriteAllLines(input, rows.Select(r => string.Join(' ', r.Features.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))
                    + " " + r.Position.ToString(CultureInfo.InvariantCulture)));
                string stdout = await FreshProcess.RunFileAppAsync(dir, LoaderApp, $"\"{rankerZip}\" \"{curveZip}\" \"{input}\" \"{result}\"");
                Assert.Contains("MLNetRank assemblies: []", stdout);
                var lines = File.ReadAllLines(result);
                Assert.Equal(rows.Count, lines.Length);
                for (int i = 0; i < rows.Count; i++)
                {
                    var v = lines[i].Split(' ').Select(t => float.Parse(t, CultureInfo.InvariantCulture)).ToArray();
                    Assert.Equal(scores[i], v[0]);
                    Assert.Equal(curve[i], v[1]);
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
