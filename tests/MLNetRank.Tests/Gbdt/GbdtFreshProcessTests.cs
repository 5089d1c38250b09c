using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Gbdt;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    [Collection(LightGbmCollection.Name)]
    public class GbdtFreshProcessTests
    {
        // A .NET 10 file-based app that references Microsoft.ML, Microsoft.ML.OnnxTransformer and ONNX Runtime only:
        // it loads the zip, scores the rows and prints the leaf ids, the hot indicator slots and any MLNetRank assembly loaded.
        private const string LoaderApp = @"#:package Microsoft.ML@6.0.0
#:package Microsoft.ML.OnnxTransformer@6.0.0
#:package Microsoft.ML.OnnxRuntime@1.31.1
#:property PublishAot=false
using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

var ml = new MLContext();
var model = ml.Model.Load(args[0], out var schema);
int f = int.Parse(args[2]);
var raw = File.ReadAllBytes(args[1]);
var values = new float[raw.Length / 4];
Buffer.BlockCopy(raw, 0, values, 0, raw.Length);
var rows = Enumerable.Range(0, values.Length / f).Select(r => new Row { Features = values.Skip(r * f).Take(f).ToArray() }).ToList();
var def = SchemaDefinition.Create(typeof(Row));
def[""Features""].ColumnType = new VectorDataViewType(NumberDataViewType.Single, f);
var output = model.Transform(ml.Data.LoadFromEnumerable(rows, def));
using var cursor = output.GetRowCursor(new[] { output.Schema[""LeafIds""], output.Schema[""LeafIndicators""] });
var ids = cursor.GetGetter<VBuffer<uint>>(output.Schema[""LeafIds""]);
var ind = cursor.GetGetter<VBuffer<float>>(output.Schema[""LeafIndicators""]);
VBuffer<uint> a = default;
VBuffer<float> b = default;
using var writer = new StreamWriter(args[3]);
while (cursor.MoveNext())
{
    ids(ref a);
    ind(ref b);
    var dense = b.DenseValues().ToArray();
    writer.WriteLine(string.Join(' ', a.DenseValues()) + '|' + string.Join(' ', Enumerable.Range(0, dense.Length).Where(i => dense[i] != 0)));
}
Console.WriteLine(""MLNetRank assemblies: ["" + string.Join(',', AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).Where(n => n!.StartsWith(""MLNetRank""))) + ""]"");

public sealed class Row
{
    public float[] Features { get; set; } = Array.Empty<float>();
}
";

        [Fact]
        [Trait("Category", "Quality")]
        public async System.Threading.Tasks.Task SavedModelScoresIdenticallyInAFreshProcessWithoutMLNetRank()
        {
            const int f = 5;
            var ml = new MLContext(seed: 7);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(800, f, seed: 8, nanRate: 0.1), f);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                Trainer = GbdtLeafTrainer.LightGbm, IndicatorColumnName = "LeafIndicators", NumberOfTrees = 6, NumberOfLeaves = 7,
                MinimumExampleCountPerLeaf = 5,
            }).Fit(data);
            var stress = GbdtTestData.StressRows(200, f, seed: 9);

            var dir = Path.Combine(Path.GetTempPath(), "mlnetrank-gbdt-fresh-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string zip = Path.Combine(dir, "model.zip"), rows = Path.Combine(dir, "rows.bin"), result = Path.Combine(dir, "out.txt");
                ml.Model.Save(model, data.Schema, zip);
                var flat = stress.SelectMany(r => r.Features).ToArray();
                var bytes = new byte[flat.Length * 4];
                Buffer.BlockCopy(flat, 0, bytes, 0, bytes.Length);
                File.WriteAllBytes(rows, bytes);
                // The app lives in a fixed folder so that `dotnet run` reuses its build cache across runs.
                var appDir = Path.Combine(Path.GetTempPath(), "mlnetrank-gbdt-fresh-loader");
                string stdout = await FreshProcess.RunFileAppAsync(appDir, LoaderApp, $"\"{zip}\" \"{rows}\" {f} \"{result}\"");
                Assert.Contains("MLNetRank assemblies: []", stdout);

                var lines = File.ReadAllLines(result);
                Assert.Equal(stress.Count, lines.Length);
                var leaves = new int[model.Encoder.TreeCount];
                for (int i = 0; i < stress.Count; i++)
                {
                    model.Encoder.Encode(stress[i].Features, leaves);
                    var parts = lines[i].Split('|');
                    Assert.Equal(leaves.Select(l => (l + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)), parts[0].Split(' '));
                    Assert.Equal(leaves.Select((l, t) => (model.Encoder.LeafOffsets[t] + l).ToString(System.Globalization.CultureInfo.InvariantCulture)), parts[1].Split(' '));
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
