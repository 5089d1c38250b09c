using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Evaluation;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.TestSupport;
using MLNetRank.Torch.MultiTask;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>
    /// Taobao's "Lying Flat" MMoE: DIN's local activation unit on the user's histories inside an MMoE, the wide part routed
    /// to the experts and/or the gates (<see cref="WidePartRouting"/>), three objectives with 1:1 loss weights. Every variant
    /// trains, exports (ONNX = TorchSharp to 1e-5), serves through the request scorer, reloads in a new context and in a
    /// fresh process with identical scores; bad options are refused; on the simulator it learns each objective.
    /// </summary>
    [Collection("TorchSharp")]
    public class LyingFlatTests
    {
        private readonly ITestOutputHelper _out;

        public LyingFlatTests(ITestOutputHelper output) => _out = output;

        /// <summary>The three objectives of the tests and the bench (labels and their slot in <c>TrueObjectives</c>).</summary>
        internal static readonly (string Name, string Label, int TruthSlot)[] Objectives =
        {
            ("Click", ImpressionColumns.Click, 0), ("Buy", ImpressionColumns.Buy, 1), ("Follow", ImpressionColumns.Follow, 3),
        };

        /// <summary>Lying Flat on the simulator's columns: the statistics and the room id are the wide part (linear term,
        /// routed by <paramref name="routing"/>), DIN units attend over the user's watched rooms (query: the room id) and
        /// clicked items (query: the room's items on sale), MMoE, Click/Buy/Follow with weight 1 each.</summary>
        internal static MultiTaskEstimator.Options Options(WidePartRouting routing, int epochs = 1, int seed = 3, int dimension = 8)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = MultiTaskArchitecture.MMoE, WidePartRouting = routing, Epochs = epochs, BatchSize = 128,
                Experts = 3, ExpertLayers = new[] { 32, 16 }, TowerLayers = new[] { 8 }, ShuffleBufferSize = 2000, Seed = seed,
            };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures) { Wide = true });
            o.Features.Add(new CategoricalFeature(ImpressionColumns.LiveId, dimension) { Wide = true });
            o.Features.Add(new SequenceFeature(ImpressionColumns.LiveItemsOnSale, dimension) { MaximumLength = 8 });
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserItemSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveItemsOnSale, SameForAllCandidates = true, MaximumLength = 20,
                Pooling = new TargetAttentionPooling(ImpressionColumns.LiveItemsOnSale),
            });
            o.Features.Add(new SequenceFeature(ImpressionColumns.UserLiveSeq)
            {
                SharedEmbeddingWith = ImpressionColumns.LiveId, SameForAllCandidates = true,
                Pooling = new TargetAttentionPooling(ImpressionColumns.LiveId),
            });
            foreach (var (name, label, _) in Objectives)
                o.Tasks.Add(new TaskSpec(name, label) { Weight = 1f });
            return o;
        }

        [Theory]
        [InlineData(WidePartRouting.ExpertsAndGates)]
        [InlineData(WidePartRouting.ExpertsOnly)]
        [InlineData(WidePartRouting.GatesOnly)]
        [InlineData(WidePartRouting.LinearOnly)]
        public void Variants_TrainExportServeAndReload_WithIdenticalScores(WidePartRouting routing)
        {
            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(150));
            var data = sim.GetImpressions(ml);
            using var model = ml.Ranker().Trainers.MultiTask(Options(routing)).Fit(data);
            Assert.True(double.IsFinite(model.History[^1].TrainingLoss));
            var torch = model.TorchOutputs(data);
            var scored = model.Transform(data);
            Assert.Equal(6, model.OutputColumnNames.Count);   // Click, Buy, Follow: Score and Probability
            for (int k = 0; k < model.OutputColumnNames.Count; k++)
            {
                var onnx = SequenceNetworkTests.Column(scored, model.OutputColumnNames[k]);
                for (int i = 0; i < onnx.Length; i++)
                    Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])), $"{routing} {model.OutputColumnNames[k]} row {i}: ONNX {onnx[i]} vs TorchSharp {torch[k][i]}");
            }
            var path = Path.Combine(Path.GetTempPath(), $"lyingflat-{routing}-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var ml2 = new MLContext(seed: 9);
                var loaded = ml2.Model.Load(path, out _);
                var again = loaded.Transform(sim.GetImpressions(ml2));
                foreach (var name in model.OutputColumnNames)
                    Assert.Equal(SequenceNetworkTests.Column(scored, name), SequenceNetworkTests.Column(again, name));
                (loaded as IDisposable)?.Dispose();
                using var scorer = RequestScorer.Open(path);
                var batched = scorer.ScoreAll(data, batchSize: 8);
                for (int k = 0; k < model.OutputColumnNames.Count; k++)
                {
                    var b = (float[])batched[model.OutputColumnNames[k]];
                    for (int i = 0; i < b.Length; i++)
                        Assert.True(Math.Abs(b[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])), $"{routing} request scorer {model.OutputColumnNames[k]} row {i}: {b[i]} vs {torch[k][i]}");
                }
            }
            finally
            {
                File.Delete(path);
            }
        }

        [Fact]
        public void Routing_ChangesTheNetwork_AndTheCheckpointFingerprint()
        {
            // the four variants are four different functions of the same data and seed (the routing reaches the network)
            var ml = new MLContext(seed: 1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(60)).GetImpressions(ml);
            var scores = new Dictionary<WidePartRouting, float[]>();
            foreach (var r in Enum.GetValues<WidePartRouting>())
            {
                using var m = ml.Ranker().Trainers.MultiTask(Options(r)).Fit(data);
                scores[r] = SequenceNetworkTests.Column(m.Transform(data), "ClickScore");
            }
            var all = scores.Values.ToArray();
            for (int i = 0; i < all.Length; i++)
                for (int j = i + 1; j < all.Length; j++)
                    Assert.NotEqual(all[i], all[j]);
        }

        [Fact]
        public void BadOptions_AreRefused_NamingTheOption()
        {
            var ml = new MLContext(1);
            var o = Options(WidePartRouting.GatesOnly);
            o.Architecture = MultiTaskArchitecture.SharedBottom;
            var ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("WidePartRouting", ex.Message);
            Assert.Contains("SharedBottom", ex.Message);

            o = Options(WidePartRouting.ExpertsOnly);
            foreach (var f in o.Features)
                f.Wide = false;
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("WidePartRouting", ex.Message);
            Assert.Contains("Wide", ex.Message);

            o = new MultiTaskEstimator.Options { WidePartRouting = WidePartRouting.LinearOnly };
            o.Features.Add(new DenseFeature(ImpressionColumns.StatFeatures) { Wide = true });
            o.Tasks.Add(new TaskSpec("Click", ImpressionColumns.Click));
            ex = Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.MultiTask(o));
            Assert.Contains("no input", ex.Message);

            o = Options((WidePartRouting)17);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.MultiTask(o));
            // the default routing keeps working with any architecture (no wide feature needed)
            o = Options(WidePartRouting.ExpertsAndGates);
            o.Architecture = MultiTaskArchitecture.Ple;
            ml.Ranker().Trainers.MultiTask(o);
        }

        private const double Fraction = 0.5;   // observed 0.57-0.63 (800 training requests, 3 epochs): a network that does not learn an objective stays far below

        /// <summary>Known answer: the simulator's true probabilities. Each of the three objectives is learned: its expected
        /// AUC against the truth closes at least <see cref="Fraction"/> of the gap between chance (0.5) and the expected AUC
        /// of the position-free truth (the true probability given examination: what a scorer without the position can
        /// reach at best).</summary>
        [Fact]
        [Trait("Category", "Quality")]
        public void OnTheSimulator_EachObjectiveIsLearned()
        {
            var ml = new MLContext(seed: 1);
            var sim = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(1000));
            var train = ml.Data.Cache(sim.GetImpressions(ml, 0, 800));
            var test = ml.Data.Cache(sim.GetImpressions(ml, 800, 200));   // held-out requests of the same world
            var o = Options(WidePartRouting.ExpertsAndGates, epochs: 3);
            using var model = ml.Ranker().Trainers.MultiTask(o).Fit(train);
            var scored = model.Transform(test);
            var truth = test.GetColumn<float[]>(test.Schema[ImpressionColumns.TrueObjectives]).ToArray();
            var exam = test.GetColumn<float>(test.Schema[ImpressionColumns.TrueExamination]).ToArray();
            var failures = new List<string>();
            foreach (var (name, _, slot) in Objectives)
            {
                var p = truth.Select(t => t[slot]).ToArray();
                // the best a scorer without the position can do: the true probability given examination
                var blind = p.Select((v, i) => v / exam[i]).ToArray();
                double oracle = RankerMetrics.ExpectedAuc(blind, p);
                double auc = RankerMetrics.ExpectedAuc(SequenceNetworkTests.Column(scored, name + "Score"), p);
                _out.WriteLine($"{name}: expected AUC {auc:F4}, position-free truth {oracle:F4}, truth {RankerMetrics.ExpectedAuc(p, p):F4}");
                if (auc - 0.5 < Fraction * (oracle - 0.5))
                    failures.Add($"{name}: expected AUC {auc:F4} closes less than {Fraction:P0} of the way from 0.5 to the position-free truth's {oracle:F4}");
            }
            Assert.True(failures.Count == 0, string.Join("; ", failures));
        }

        private const string LoaderApp = @"#:package Microsoft.ML@5.0.1
#:package Microsoft.ML.OnnxTransformer@5.0.1
#:package Microsoft.ML.OnnxRuntime@1.31.1
#:property PublishAot=false
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

var ml = new MLContext();
var model = ml.Model.Load(args[0], out var schema);
var rows = JsonSerializer.Deserialize<Row[]>(File.ReadAllText(args[1]))!;
var output = model.Transform(ml.Data.LoadFromEnumerable(rows));
var names = args[3].Split(',');
using var cursor = output.GetRowCursor(names.Select(n => output.Schema[n]));
var getters = names.Select(n => cursor.GetGetter<VBuffer<float>>(output.Schema[n])).ToArray();
using var writer = new StreamWriter(args[2]);
VBuffer<float> v = default;
while (cursor.MoveNext())
    writer.WriteLine(string.Join(' ', getters.Select(g => { g(ref v); return v.GetValues()[0].ToString(""R"", CultureInfo.InvariantCulture); })));
Console.WriteLine(""MLNetRank assemblies: ["" + string.Join(',', AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).Where(n => n!.StartsWith(""MLNetRank"") || n!.StartsWith(""TorchSharp""))) + ""]"");

public sealed class Row
{
    [VectorType(25)] public float[] StatFeatures { get; set; } = new float[25];
    public uint LiveId { get; set; }
    [VectorType] public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
    [VectorType] public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
    [VectorType] public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
    [VectorType] public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
}
";

        [Fact]
        public async System.Threading.Tasks.Task SavedModel_ScoresIdenticallyInAFreshProcessWithoutMLNetRank()
        {
            var ml = new MLContext(seed: 1);
            var data = new LiveStreamSimulator(SequenceNetworkTests.SimOptions(120)).GetImpressions(ml);
            var dir = Path.Combine(Path.GetTempPath(), "mlnetrank-lyingflat-fresh-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string zip = Path.Combine(dir, "model.zip"), input = Path.Combine(dir, "rows.json"), result = Path.Combine(dir, "out.txt");
                var rows = ml.Data.CreateEnumerable<SequenceServingFixtureTests.Row>(ml.Data.TakeRows(data, 60), reuseRowObject: false).ToArray();
                string[] names;
                float[][] expected;
                using (var model = ml.Ranker().Trainers.MultiTask(Options(WidePartRouting.GatesOnly, epochs: 2)).Fit(data))
                {
                    ml.Model.Save(model, data.Schema, zip);
                    names = model.OutputColumnNames.ToArray();
                    var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
                    expected = names.Select(n => SequenceNetworkTests.Column(scored, n)).ToArray();
                }
                File.WriteAllText(input, JsonSerializer.Serialize(rows));
                string stdout = await FreshProcess.RunFileAppAsync(dir, LoaderApp, $"\"{zip}\" \"{input}\" \"{result}\" {string.Join(',', names)}");
                Assert.Contains("MLNetRank assemblies: []", stdout);
                var lines = File.ReadAllLines(result);
                Assert.Equal(rows.Length, lines.Length);
                for (int i = 0; i < lines.Length; i++)
                {
                    var values = lines[i].Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
                    for (int c = 0; c < names.Length; c++)
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
