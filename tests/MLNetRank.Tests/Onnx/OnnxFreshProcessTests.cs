using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Onnx
{
    public class OnnxFreshProcessTests
    {
        // A .NET 10 file-based app referencing only Microsoft.ML, Microsoft.ML.OnnxTransformer and ONNX Runtime: it loads the
        // zip, scores the rows and prints every output value (round-trip format) and any MLNetRank assembly loaded.
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
var model = ml.Model.Load(args[0], out var schema);
var rows = File.ReadAllLines(args[1]).Select(l => l.Split(' ')).Select(p => new Row
{
    Features = p.Take(5).Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(),
    UserId = uint.Parse(p[5], CultureInfo.InvariantCulture),
}).ToList();
var output = model.Transform(ml.Data.LoadFromEnumerable(rows));
var names = new[] { ""ClickScore"", ""ClickProbability"", ""BuyProbability"" };
using var cursor = output.GetRowCursor(names.Select(n => output.Schema[n]));
var getters = names.Select(n => cursor.GetGetter<VBuffer<float>>(output.Schema[n])).ToArray();
using var writer = new StreamWriter(args[2]);
VBuffer<float> v = default;
while (cursor.MoveNext())
{
    var values = getters.Select(g => { g(ref v); return v.GetValues()[0].ToString(""R"", CultureInfo.InvariantCulture); });
    writer.WriteLine(string.Join(' ', values));
}
Console.WriteLine(""Loaded: "" + model.GetType().Name);
Console.WriteLine(""MLNetRank assemblies: ["" + string.Join(',', AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).Where(n => n!.StartsWith(""MLNetRank""))) + ""]"");

public sealed class Row
{
    [VectorType(5)]
    public float[] Features { get; set; } = Array.Empty<float>();
    public uint UserId { get; set; }
}
";

        [Fact]
        [Trait("Category", "Quality")]
        public async System.Threading.Tasks.Task OnnxNetworkZipScoresIdenticallyInAFreshProcessWithoutMLNetRank()
        {
            var ml = new MLContext(seed: 1);
            var net = TinyRanker.Create(81);
            var rows = Rows.Make(50, 82);
            var data = ml.Data.LoadFromEnumerable(rows);
            var dir = Path.Combine(Path.GetTempPath(), "mlnetrank-onnx-fresh-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string zip = Path.Combine(dir, "model.zip"), input = Path.Combine(dir, "rows.txt"), result = Path.Combine(dir, "out.txt");
                float[][] expected;
                using (var model = ml.Ranker().Transforms.ApplyOnnxNetwork(net.Build()).Fit(data))
                {
                    ml.Model.Save(model, data.Schema, zip);
                    var scored = model.Transform(data);
                    expected = new[] { "ClickScore", "ClickProbability", "BuyProbability" }.Select(n => Rows.Column(scored, n)).ToArray();
                }
                File.WriteAllLines(input, rows.Select(r => string.Join(' ', r.Features.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + " " + r.UserId.ToString(CultureInfo.InvariantCulture)));
                string stdout = await FreshProcess.RunFileAppAsync(dir, LoaderApp, $"\"{zip}\" \"{input}\" \"{result}\"");
                Assert.Contains("Loaded: OnnxTransformer", stdout);
                Assert.Contains("MLNetRank assemblies: []", stdout);

                var lines = File.ReadAllLines(result);
                Assert.Equal(rows.Count, lines.Length);
                for (int i = 0; i < rows.Count; i++)
                {
                    var values = lines[i].Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                    for (int c = 0; c < 3; c++)
                        Assert.Equal(expected[c][i], values[c]);
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
