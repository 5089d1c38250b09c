using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using LiveStreamRanking;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Simulation;
using MLNetRank.TestSupport;
using Xunit;

namespace MLNetRank.RankingService.Tests
{
    /// <summary>final.zip (the main example's last stage: metapath2vec lookups, GBDT leaves, the multi-task network with its
    /// sequence layers, the ensemble) loads in a
    /// process that has Microsoft.ML, its ONNX transformer and ONNX Runtime only, and scores exactly as the trained pipeline.</summary>
    [Collection(FinalSystemCollection.Name)]
    public sealed class FreshProcessTests
    {
        // A .NET 10 file-based app: reads rows (UserId, LiveId, StatFeatures and the four behaviour/room sequences), scores them with the loaded zip and writes
        // the task outputs with full precision, then lists any MLNetRank assembly it loaded.
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
var model = ml.Model.Load(args[0], out _);
int f = int.Parse(args[2]);
var rows = File.ReadAllLines(args[1]).Select(line =>
{
    // user|room|statistics|clicked items|watched rooms|items on sale|core items (space-separated values)
    var p = line.Split('|');
    uint[] Ids(string s) => s.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(uint.Parse).ToArray();
    return new Row
    {
        UserId = uint.Parse(p[0]), LiveId = uint.Parse(p[1]),
        StatFeatures = p[2].Split(' ').Select(x => float.Parse(x, CultureInfo.InvariantCulture)).ToArray(),
        UserItemSeq = Ids(p[3]), UserLiveSeq = Ids(p[4]), LiveItemsOnSale = Ids(p[5]), LiveCoreItems = Ids(p[6]),
    };
}).ToList();
var def = SchemaDefinition.Create(typeof(Row));
def[""StatFeatures""].ColumnType = new VectorDataViewType(NumberDataViewType.Single, f);
var output = model.Transform(ml.Data.LoadFromEnumerable(rows, def));
var names = args[4].Split(',');
using var writer = new StreamWriter(args[3]);
foreach (var name in names)
{
    var col = output.Schema[name];
    var values = col.Type is VectorDataViewType
        ? output.GetColumn<float[]>(col).Select(v => v[0]).ToArray()
        : output.GetColumn<float>(col).ToArray();
    writer.WriteLine(string.Join(' ', values.Select(v => BitConverter.SingleToInt32Bits(v).ToString(CultureInfo.InvariantCulture))));
}
Console.WriteLine(""MLNetRank assemblies: ["" + string.Join(',', AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).Where(n => n!.StartsWith(""MLNetRank""))) + ""]"");

public sealed class Row
{
    public uint UserId { get; set; }
    public uint LiveId { get; set; }
    public float[] StatFeatures { get; set; } = Array.Empty<float>();
    public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
    public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
    public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
    public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
}
";

        private readonly FinalSystemFixture _f;

        public FreshProcessTests(FinalSystemFixture fixture) => _f = fixture;

        [Fact]
        public async Task FinalZip_ScoresIdenticallyInAProcessWithoutMLNetRankOrTorchSharp()
        {
            var ml = _f.Context;
            var data = ml.Data.Cache(_f.Simulator.GetImpressions(ml, 1_200, 60));
            var users = data.GetColumn<uint>(ImpressionColumns.UserId).ToArray();
            var lives = data.GetColumn<uint>(ImpressionColumns.LiveId).ToArray();
            var stats = data.GetColumn<float[]>(ImpressionColumns.StatFeatures).ToArray();
            var sequences = new[] { ImpressionColumns.UserItemSeq, ImpressionColumns.UserLiveSeq, ImpressionColumns.LiveItemsOnSale, ImpressionColumns.LiveCoreItems }
                .Select(c => data.GetColumn<uint[]>(c).ToArray()).ToArray();
            var outputs = new[] { "ClickProbability", "BuyJointProbability", "StayTimeScore", _f.Recipe.RankingScoreColumn };
            var scored = _f.Model.Transform(data);

            var dir = Path.Combine(_f.Folder, "fresh");
            Directory.CreateDirectory(dir);
            string rows = Path.Combine(dir, "rows.txt"), result = Path.Combine(dir, "out.txt");
            File.WriteAllLines(rows, Enumerable.Range(0, users.Length).Select(i =>
                $"{users[i]}|{lives[i]}|" + string.Join(' ', stats[i].Select(v => v.ToString("R", CultureInfo.InvariantCulture)))
                + string.Concat(sequences.Select(s => "|" + string.Join(' ', s[i])))));
            // a fixed folder, so that `dotnet run` reuses its build cache across runs
            var appDir = Path.Combine(Path.GetTempPath(), "mlnetrank-final-zip-fresh-loader");
            string stdout = await FreshProcess.RunFileAppAsync(appDir, LoaderApp,
                $"\"{_f.ZipPath}\" \"{rows}\" {ImpressionColumns.StatFeatureCount} \"{result}\" {string.Join(',', outputs)}");
            Assert.Contains("MLNetRank assemblies: []", stdout);

            var lines = File.ReadAllLines(result);
            Assert.Equal(outputs.Length, lines.Length);
            for (int k = 0; k < outputs.Length; k++)
            {
                var expected = scored.Schema[outputs[k]].Type is VectorDataViewType
                    ? scored.GetColumn<float[]>(outputs[k]).Select(v => v[0]).ToArray()
                    : scored.GetColumn<float>(outputs[k]).ToArray();
                var fresh = lines[k].Split(' ').Select(s => BitConverter.Int32BitsToSingle(int.Parse(s, CultureInfo.InvariantCulture))).ToArray();
                Assert.Equal(expected, fresh);
            }
        }
    }
}
