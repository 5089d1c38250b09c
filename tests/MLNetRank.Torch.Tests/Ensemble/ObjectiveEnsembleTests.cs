using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.TestSupport;
using MLNetRank.Torch.Ensemble;
using MLNetRank.Torch.MultiTask;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Torch.Tests.Ensemble
{
    public sealed class ObjectiveEnsembleTests
    {
        private readonly ITestOutputHelper _out;

        public ObjectiveEnsembleTests(ITestOutputHelper output) => _out = output;

        private sealed class TwoScores
        {
            public float P { get; set; }
            [VectorType(1)]
            public float[] X { get; set; } = new float[1];
            public bool A { get; set; }
            public float B { get; set; }
            public double Bad { get; set; }
        }

        private static ObjectiveEnsembleEstimator.Options Two(ObjectiveEnsembleMethod method)
        {
            var o = new ObjectiveEnsembleEstimator.Options { Method = method, TwoStep = false, Epochs = 2, Seed = 1 };
            o.Objectives.Add(new EnsembleObjective("A", "P", "A") { Weight = 2f });
            o.Objectives.Add(new EnsembleObjective("B", "X", "B", ObjectiveScoreKind.Logit) { Weight = 0.5f, LabelThreshold = 30 });
            return o;
        }

        private static List<TwoScores> TwoRows(int n, int seed)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, n).Select(i =>
            {
                float p = (float)rng.NextDouble(), x = (float)(rng.NextDouble() * 8 - 4);
                return new TwoScores { P = p, X = new[] { x }, A = rng.NextDouble() < p, B = rng.NextDouble() < 1 / (1 + Math.Exp(-x)) ? 60f : 5f };
            }).ToList();
        }

        [Fact]
        public void FixedFormulas_GiveTheDocumentedValues_WithoutLabels()
        {
            var ml = new MLContext(1);
            var rows = new List<TwoScores>
            {
                new() { P = 0.2f, X = new[] { 1.5f } },
                new() { P = 0.9f, X = new[] { -2f } },
                new() { P = 0f, X = new[] { 0f } },
            };
            var data = ml.Data.LoadFromEnumerable(rows);
            // labels are not read by a fixed formula: a data view without them fits
            var scoresOnly = ml.Transforms.DropColumns("A", "B").Fit(data).Transform(data);
            using var sum = ml.Ranker().Trainers.ObjectiveEnsemble(Two(ObjectiveEnsembleMethod.WeightedLogitSum)).Fit(scoresOnly);
            using var product = ml.Ranker().Trainers.ObjectiveEnsemble(Two(ObjectiveEnsembleMethod.WeightedProbabilityProduct)).Fit(scoresOnly);
            var s = EnsembleSimulation.Column(sum.Transform(scoresOnly), "Score");
            var p = EnsembleSimulation.Column(product.Transform(scoresOnly), "Score");
            for (int i = 0; i < rows.Count; i++)
            {
                double q = Math.Clamp(rows[i].P, 1e-6, 1 - 1e-6), x = rows[i].X[0];
                double logitSum = 2 * Math.Log(q / (1 - q)) + 0.5 * x;
                double prod = Math.Pow(Math.Max(rows[i].P, 1e-6), 2) * Math.Pow(1 / (1 + Math.Exp(-x)), 0.5);
                Assert.Equal(logitSum, s[i], 3);
                Assert.True(Math.Abs(prod - p[i]) <= 1e-5 * Math.Max(1e-12, prod) + 1e-12, $"row {i}: product {p[i]} != {prod}");
            }
            Assert.Equal(new Dictionary<string, double> { ["A"] = 2, ["B"] = 0.5 }, sum.LogitWeights);
            Assert.Empty(sum.History);
        }

        [Fact]
        public void LearnedTwoStep_OnnxEqualsTorchSharp_WritesSubScores_AndReportsProgress()
        {
            var ml = new MLContext(1);
            var (trainRows, _) = EnsembleSimulation.Make(seed: 9, requests: 600, trainShare: 1);
            var data = ml.Data.LoadFromEnumerable(trainRows);
            var o = EnsembleSimulation.Options(ObjectiveEnsembleMethod.HarmonRank, twoStep: true, epochs: 3);
            var reports = new List<ObjectiveEnsembleProgress>();
            o.Progress = new SyncProgress<ObjectiveEnsembleProgress>(reports.Add);
            using var model = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(data);
            Assert.Equal(new[] { 1, 2, 3 }, reports.Select(r => r.Epoch));
            Assert.All(reports, r => Assert.True(double.IsFinite(r.Loss) && r.TrainingAucSum > 2.5 && r.TrainingAucSum <= 5));
            Assert.Equal(new[] { "Score", "ClickSubScore", "BuySubScore", "LongStaySubScore", "FollowSubScore", "CommentSubScore" }, model.OutputColumnNames);
            var scored = model.Transform(data);
            foreach (var name in model.OutputColumnNames)
                Assert.True(scored.Schema[name].Type is VectorDataViewType { Size: 1 } v && v.ItemType == NumberDataViewType.Single, $"{name}: {scored.Schema[name].Type}");
            var onnx = EnsembleSimulation.Column(scored, "Score");
            var raw = trainRows.SelectMany(r => new[] { r.ClickProbability, r.BuyProbability, r.LongStayProbability, r.FollowProbability, r.CommentProbability }).ToArray();
            var torch = model.TorchScores(raw);
            double maxDiff = onnx.Zip(torch, (a, b) => Math.Abs(a - b)).Max();
            _out.WriteLine($"max |ONNX - TorchSharp| = {maxDiff:E2} over {onnx.Length} rows");
            Assert.True(maxDiff < 1e-4, $"ONNX and TorchSharp scores differ by {maxDiff}");
            Assert.Equal(25, model.LabelCorrelations.Count);
            // buy and comment are partly dependent in this world: their label correlation is clearly positive
            Assert.True(model.LabelCorrelations[1 * 5 + 4] > 0.1, $"buy-comment correlation {model.LabelCorrelations[1 * 5 + 4]}");
        }

        private sealed class SyncProgress<T> : IProgress<T>
        {
            private readonly Action<T> _a;
            public SyncProgress(Action<T> a) => _a = a;
            public void Report(T value) => _a(value);
        }

        [Fact]
        public void SameSeed_SameModel_OtherSeed_OtherModel()
        {
            var (rows, _) = EnsembleSimulation.Make(seed: 4, requests: 400, trainShare: 1);
            byte[] Fit(int seed, bool twoStep)
            {
                var ml = new MLContext(seed: 1);
                var o = EnsembleSimulation.Options(ObjectiveEnsembleMethod.HarmonRank, twoStep, epochs: 2);
                o.Seed = seed;
                using var m = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(ml.Data.LoadFromEnumerable(rows));
                return m.OnnxModel.ToArray();
            }
            foreach (bool twoStep in new[] { false, true })
            {
                Assert.Equal(Fit(5, twoStep), Fit(5, twoStep));
                Assert.NotEqual(Fit(5, twoStep), Fit(6, twoStep));
            }
            // no explicit seed: drawn from the MLContext, so the same context seed gives the same model
            byte[] FromContext(int contextSeed)
            {
                var ml = new MLContext(seed: contextSeed);
                var o = EnsembleSimulation.Options(ObjectiveEnsembleMethod.BinaryCrossEntropy, false, epochs: 1);
                o.Seed = null;
                using var m = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(ml.Data.LoadFromEnumerable(rows));
                return m.OnnxModel.ToArray();
            }
            Assert.Equal(FromContext(3), FromContext(3));
            Assert.NotEqual(FromContext(3), FromContext(4));
        }

        [Fact]
        public void GroupColumn_TrainsOnWithinRequestPairs_AndBeatsEverySingleScoreOnGroupAuc()
        {
            var (trainRows, testRows) = EnsembleSimulation.Make(seed: 12, requests: 1500);
            var ml = new MLContext(1);
            var o = EnsembleSimulation.Options(ObjectiveEnsembleMethod.HarmonRank, twoStep: false, epochs: 4);
            o.GroupColumnName = "RequestId";
            using var model = ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(ml.Data.LoadFromEnumerable(trainRows));
            var fused = EnsembleSimulation.GroupAucs(testRows, EnsembleSimulation.Column(model.Transform(ml.Data.LoadFromEnumerable(testRows)), "Score")).Average();
            double best = Enumerable.Range(0, 5).Max(k => EnsembleSimulation.GroupAucs(testRows, EnsembleSimulation.Single(testRows, k)).Average());
            _out.WriteLine($"mean GAUC: fused {fused:0.0000}, best single {best:0.0000}");
            Assert.True(fused > best, $"fused mean GAUC {fused:0.0000} <= best single {best:0.0000}");
        }

        [Fact]
        public void BadInput_ClearErrors_NamingTheColumn()
        {
            var ml = new MLContext(1);
            var rows = TwoRows(200, 3);
            var data = ml.Data.LoadFromEnumerable(rows);
            var learned = Two(ObjectiveEnsembleMethod.HarmonRank);

            // missing or mistyped score column: at GetOutputSchema and at Fit
            var o = Two(ObjectiveEnsembleMethod.HarmonRank);
            o.Objectives.Add(new EnsembleObjective("C", "Missing", "A"));
            var est = ml.Ranker().Trainers.ObjectiveEnsemble(o);
            Assert.Contains("'Missing'", Assert.Throws<ArgumentOutOfRangeException>(() => est.GetOutputSchema(Shapes.Of(data.Schema))).Message);
            Assert.Contains("'Missing'", Assert.Throws<ArgumentOutOfRangeException>(() => est.Fit(data)).Message);
            o = Two(ObjectiveEnsembleMethod.WeightedLogitSum);
            o.Objectives.Add(new EnsembleObjective("C", "Bad", "A"));
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(data));
            Assert.Contains("'Bad'", e.Message);
            Assert.Contains("Double", e.Message);

            // a label column is needed by learned methods only
            var noLabel = ml.Transforms.DropColumns("B").Fit(data).Transform(data);
            Assert.Contains("'B'", Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(learned).Fit(noLabel)).Message);

            // one-class label
            var oneClass = ml.Data.LoadFromEnumerable(rows.Select(r => new TwoScores { P = r.P, X = r.X, A = false, B = r.B }));
            var ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(learned).Fit(oneClass));
            Assert.Contains("'A'", ex.Message);
            Assert.Contains("only negatives", ex.Message);

            // non-finite score, probability out of range
            var nan = rows.Select(r => new TwoScores { P = r.P, X = r.X, A = r.A, B = r.B }).ToList();
            nan[17].X = new[] { float.NaN };
            ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(learned).Fit(ml.Data.LoadFromEnumerable(nan)));
            Assert.Contains("'X'", ex.Message);
            Assert.Contains("row 17", ex.Message);
            var over = rows.Select(r => new TwoScores { P = r.P, X = r.X, A = r.A, B = r.B }).ToList();
            over[5].P = 1.5f;
            ex = Assert.Throws<InvalidOperationException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(learned).Fit(ml.Data.LoadFromEnumerable(over)));
            Assert.Contains("'P'", ex.Message);
            Assert.Contains("[0, 1]", ex.Message);

            // options
            var dup = new ObjectiveEnsembleEstimator.Options();
            dup.Objectives.Add(new EnsembleObjective("A", "P", "A"));
            dup.Objectives.Add(new EnsembleObjective("A", "X", "B"));
            Assert.Contains("'A'", Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(dup)).Message);
            var neg = Two(ObjectiveEnsembleMethod.WeightedLogitSum);
            neg.Objectives[0].Weight = -1;
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(neg));
            var clash = Two(ObjectiveEnsembleMethod.WeightedLogitSum);
            clash.OutputColumnName = "P";
            Assert.Contains("'P'", Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(clash)).Message);
            Assert.Throws<ArgumentException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(new ObjectiveEnsembleEstimator.Options()));
            var temp = Two(ObjectiveEnsembleMethod.HarmonRank);
            temp.Temperature = 0;
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(temp));
        }

        [Fact]
        public void Cancellation_StopsTraining()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(TwoRows(2000, 4));
            using var cts = new CancellationTokenSource();
            var o = Two(ObjectiveEnsembleMethod.HarmonRank);
            o.Epochs = 1000;
            o.BatchSize = 64;
            o.CancellationToken = cts.Token;
            o.Progress = new SyncProgress<ObjectiveEnsembleProgress>(p => { if (p.Epoch == 2) cts.Cancel(); });
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Assert.ThrowsAny<OperationCanceledException>(() => ml.Ranker().Trainers.ObjectiveEnsemble(o).Fit(data));
            _out.WriteLine($"cancelled after {sw.Elapsed.TotalSeconds:0.0} s");
        }

        /// <summary>A five-task multi-task network and the ensemble in one pipeline; the zip served by the request scorer.</summary>
        [Fact]
        [Trait("Category", "Quality")]
        public void AfterMultiTask_InOnePipeline_SavedZipServedByTheRequestScorer()
        {
            var ml = new MLContext(seed: 1);
            var world = EnsembleSimulation.World(21, 900);
            world.UserCount = 400;
            world.LiveCount = 80;
            world.ItemCount = 800;
            var sim = new LiveStreamSimulator(world);
            IDataView train = ml.Data.Cache(sim.GetImpressions(ml, 0, 700)), test = ml.Data.Cache(sim.GetImpressions(ml, 700, 200));
            var ensemble = new ObjectiveEnsembleEstimator.Options { Method = ObjectiveEnsembleMethod.HarmonRank, Epochs = 2, Seed = 3 };
            foreach (var n in new[] { "Click", "Buy", "Follow", "Comment" })
                ensemble.Objectives.Add(new EnsembleObjective(n, n + "Probability", n));
            ensemble.Objectives.Add(new EnsembleObjective("LongStay", "StayScore", "StayTime", ObjectiveScoreKind.Logit) { LabelThreshold = 60 });
            var pipeline = ml.Ranker().Trainers.MultiTask(new MultiTaskEstimator.Options
                {
                    Architecture = MultiTaskArchitecture.SharedBottom,
                    Epochs = 1,
                    ExpertLayers = new[] { 16 },
                    TowerLayers = new[] { 8 },
                    Features = { new DenseFeature("StatFeatures") },
                    Tasks =
                    {
                        new TaskSpec("Click", "Click"), new TaskSpec("Buy", "Buy"), new TaskSpec("Follow", "Follow"), new TaskSpec("Comment", "Comment"),
                        new TaskSpec("Stay", "StayTime", MultiTaskKind.Regression) { LabelTransform = LabelTransform.Log1p },
                    },
                })
                .Append(ml.Ranker().Trainers.ObjectiveEnsemble(ensemble));
            Assert.Contains(pipeline.GetOutputSchema(Shapes.Of(train.Schema)), c => c.Name == "Score");
            var model = pipeline.Fit(train);
            var scored = model.Transform(test);
            var expected = new[] { "Score", "ClickSubScore", "CommentSubScore" }.Select(c => EnsembleSimulation.Column(scored, c)).ToArray();
            var path = Path.Combine(Path.GetTempPath(), $"mlnetrank-ensemble-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, train.Schema, path);
                var loaded = new MLContext().Model.Load(path, out _);
                Assert.Equal(expected[0], EnsembleSimulation.Column(loaded.Transform(test), "Score"));
                (loaded as IDisposable)?.Dispose();

                using var scorer = RequestScorer.Open(path);
                Assert.Contains(scorer.OutputColumns, c => c.Name == "Score");
                int n = (int)(test.GetRowCount() ?? 0);
                var got = new[] { new List<float>(), new List<float>(), new List<float>() };
                using var request = scorer.CreateRequest(10);
                for (int start = 0; start < n; start += 10)
                {
                    request.Load(ml.Data.TakeRows(start == 0 ? test : ml.Data.SkipRows(test, start), 10));
                    scorer.Score(request);
                    for (int c = 0; c < 3; c++)
                        got[c].AddRange(request.GetOutput<float>(new[] { "Score", "ClickSubScore", "CommentSubScore" }[c]).ToArray());
                }
                for (int c = 0; c < 3; c++)
                {
                    double diff = got[c].Zip(expected[c], (a, b) => Math.Abs(a - b)).Max();
                    Assert.True(diff <= 1e-5, $"request scorer differs from ML.NET by {diff}");
                }
            }
            finally
            {
                File.Delete(path);
                (model as IDisposable)?.Dispose();
            }
        }

        private const string LoaderApp = @"#:package Microsoft.ML@5.0.1
#:package Microsoft.ML.OnnxTransformer@5.0.1
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
var rows = File.ReadAllLines(args[1]).Select(l => l.Split(' ').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray())
    .Select(p => new Row { ClickProbability = p[0], BuyProbability = p[1], LongStayProbability = p[2], FollowProbability = p[3], CommentProbability = p[4] }).ToList();
var output = model.Transform(ml.Data.LoadFromEnumerable(rows));
var names = args[3].Split(',');
using var cursor = output.GetRowCursor(names.Select(n => output.Schema[n]));
var getters = names.Select(n => cursor.GetGetter<VBuffer<float>>(output.Schema[n])).ToArray();
using var writer = new StreamWriter(args[2]);
VBuffer<float> v = default;
while (cursor.MoveNext())
    writer.WriteLine(string.Join(' ', getters.Select(g => { g(ref v); return v.GetValues()[0].ToString(""R"", CultureInfo.InvariantCulture); })));
Console.WriteLine(""Loaded: "" + model.GetType().Name);
Console.WriteLine(""MLNetRank assemblies: ["" + string.Join(',', AppDomain.CurrentDomain.GetAssemblies().Select(x => x.GetName().Name).Where(n => n!.StartsWith(""MLNetRank""))) + ""]"");

public sealed class Row
{
    public float ClickProbability { get; set; }
    public float BuyProbability { get; set; }
    public float LongStayProbability { get; set; }
    public float FollowProbability { get; set; }
    public float CommentProbability { get; set; }
}
";

        [Fact]
        [Trait("Category", "Quality")]
        public async System.Threading.Tasks.Task SavedTwoStepEnsemble_ScoresIdenticallyInAFreshProcessWithoutMLNetRank()
        {
            var (trainRows, testRows) = EnsembleSimulation.Make(seed: 8, requests: 500);
            var ml = new MLContext(1);
            var train = ml.Data.LoadFromEnumerable(trainRows);
            var test = ml.Data.LoadFromEnumerable(testRows);
            var dir = Path.Combine(Path.GetTempPath(), "mlnetrank-ensemble-fresh-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                string zip = Path.Combine(dir, "model.zip"), input = Path.Combine(dir, "rows.txt"), result = Path.Combine(dir, "out.txt");
                string[] names;
                float[][] expected;
                using (var model = ml.Ranker().Trainers.ObjectiveEnsemble(EnsembleSimulation.Options(ObjectiveEnsembleMethod.HarmonRank, twoStep: true, epochs: 2)).Fit(train))
                {
                    ml.Model.Save(model, train.Schema, zip);
                    names = model.OutputColumnNames.ToArray();
                    var scored = model.Transform(test);
                    expected = names.Select(n => EnsembleSimulation.Column(scored, n)).ToArray();
                }
                File.WriteAllLines(input, testRows.Select(r => string.Join(' ', new[] { r.ClickProbability, r.BuyProbability, r.LongStayProbability, r.FollowProbability, r.CommentProbability }
                    .Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
                string stdout = await FreshProcess.RunFileAppAsync(dir, LoaderApp, $"\"{zip}\" \"{input}\" \"{result}\" {string.Join(',', names)}");
                Assert.Contains("Loaded: OnnxTransformer", stdout);
                Assert.Contains("MLNetRank assemblies: []", stdout);
                var lines = File.ReadAllLines(result);
                Assert.Equal(testRows.Count, lines.Length);
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
