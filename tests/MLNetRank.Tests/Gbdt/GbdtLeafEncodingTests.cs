using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using MLNetRank.Gbdt;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    [Collection(LightGbmCollection.Name)]
    public class GbdtLeafEncodingTests
    {
        private const int F = 6;

        /// <summary>SchemaShape.Create is internal to ML.NET (EstimatorChain calls it): tests reach it by reflection.</summary>
        private static SchemaShape ShapeOf(DataViewSchema schema)
            => (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)!
                .Invoke(null, new object[] { schema })!;

        private static GbdtLeafEncodingTransformer FitSmall(MLContext ml, IDataView data, GbdtLeafTrainer trainer = GbdtLeafTrainer.FastTree,
            string? indicator = "LeafIndicators", int trees = 8, int leaves = 8)
            => ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                Trainer = trainer,
                IndicatorColumnName = indicator,
                NumberOfTrees = trees,
                NumberOfLeaves = leaves,
                MinimumExampleCountPerLeaf = 5,
                NumberOfThreads = 1,
            }).Fit(data);

        /// <summary>An independent walker over the public tree API: x &lt;= threshold goes left, NaN goes right.</summary>
        private static int WalkFastTree(RegressionTreeBase tree, float[] x)
        {
            if (tree.NumberOfLeaves == 1)
                return 0;
            int node = 0;
            while (node >= 0)
                node = x[tree.NumericalSplitFeatureIndexes[node]] <= tree.NumericalSplitThresholds[node] ? tree.LeftChild[node] : tree.RightChild[node];
            return ~node;
        }

        [Fact]
        public void LeavesMatchAHandWalkOfTheTrainedTrees()
        {
            var ml = new MLContext(seed: 1);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(400, 3, seed: 2), 3);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                NumberOfTrees = 3,
                NumberOfLeaves = 4,
                MinimumExampleCountPerLeaf = 10,
                NumberOfThreads = 1,
            }).Fit(data);
            var trees = ((FastTreeBinaryModelParameters)model.ModelParameters).TrainedTreeEnsemble.Trees;
            Assert.Equal(3, trees.Count);
            Assert.Equal(trees.Select(t => t.NumberOfLeaves), model.LeafCounts);
            var rng = new Random(3);
            var leaves = new int[3];
            var reached = new HashSet<(int, int)>();
            for (int i = 0; i < 500; i++)
            {
                var x = new[] { (float)(rng.NextDouble() * 2 - 1), (float)(rng.NextDouble() * 2 - 1), i % 7 == 0 ? float.NaN : (float)(rng.NextDouble() * 2 - 1) };
                model.Encoder.Encode(x, leaves);
                for (int t = 0; t < 3; t++)
                {
                    Assert.Equal(WalkFastTree(trees[t], x), leaves[t]);
                    reached.Add((t, leaves[t]));
                }
            }
            // The rows reach (almost) every leaf, so the comparison covers the trees, not one path.
            Assert.True(reached.Count >= trees.Sum(t => t.NumberOfLeaves) - 1, $"reached {reached.Count} leaves");
            // FastTree's NaN rule: right at every node.
            for (int t = 0; t < 3; t++)
                for (int n = 0; n < trees[t].NumberOfNodes; n++)
                    Assert.False(model.Encoder.NanGoesLeft(t, n));
        }

        [Fact]
        public void HandMadeThresholdsSplitAsMLNetDoes()
        {
            // One tree, one split on feature 0: rows with x0 <= t go to leaf of LeftChild; the boundary value itself goes left.
            var ml = new MLContext(seed: 5);
            var rows = Enumerable.Range(0, 200).Select(i => new GbdtTestData.Row
            {
                Features = new[] { i < 100 ? 0f : 1f, 0.5f },
                Label = i >= 100,
            });
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                NumberOfTrees = 1, NumberOfLeaves = 2, MinimumExampleCountPerLeaf = 1, NumberOfThreads = 1,
            }).Fit(GbdtTestData.Load(ml, rows, 2));
            var tree = ((FastTreeBinaryModelParameters)model.ModelParameters).TrainedTreeEnsemble.Trees[0];
            Assert.Equal(2, tree.NumberOfLeaves);
            Assert.Equal(0, tree.NumericalSplitFeatureIndexes[0]);
            float t = tree.NumericalSplitThresholds[0];
            int left = ~tree.LeftChild[0], right = ~tree.RightChild[0];
            var leaf = new int[1];
            model.Encoder.Encode(new[] { t, 0f }, leaf);
            Assert.Equal(left, leaf[0]);
            model.Encoder.Encode(new[] { MathF.BitIncrement(t), 0f }, leaf);
            Assert.Equal(right, leaf[0]);
            model.Encoder.Encode(new[] { float.NaN, 0f }, leaf);
            Assert.Equal(right, leaf[0]);
            model.Encoder.Encode(new[] { float.NegativeInfinity, 0f }, leaf);
            Assert.Equal(left, leaf[0]);
            model.Encoder.Encode(new[] { float.PositiveInfinity, 0f }, leaf);
            Assert.Equal(right, leaf[0]);
        }

        [Theory]
        [InlineData(GbdtLeafTrainer.FastTree)]
        [InlineData(GbdtLeafTrainer.LightGbm)]
        public void FastEncoderEqualsBuiltInFeaturizerAndSavedChainOnNaNAndInfinity(GbdtLeafTrainer trainer)
        {
            var ml = new MLContext(seed: 11);
            // Training data with missing values, so LightGBM learns default directions for NaN.
            var train = GbdtTestData.Load(ml, GbdtTestData.Rows(1500, F, seed: 12, nanRate: 0.2), F);
            using var model = FitSmall(ml, train, trainer, trees: 10, leaves: 8);
            if (trainer == GbdtLeafTrainer.LightGbm)
            {
                // The probe found both NaN directions in use: the test exercises the learned rule, not a constant.
                var flags = Enumerable.Range(0, model.Encoder.TreeCount)
                    .SelectMany(t => Enumerable.Range(0, Math.Max(0, model.LeafCounts[t] - 1)).Select(n => model.Encoder.NanGoesLeft(t, n))).ToList();
                Assert.Contains(true, flags);
                Assert.Contains(false, flags);
            }

            var stress = GbdtTestData.StressRows(800, F, seed: 13);
            var test = GbdtTestData.Load(ml, stress, F);
            // Reference: ML.NET's own featurizer on the same model parameters.
            var builtIn = ml.Transforms.FeaturizeByPretrainTreeEnsemble(new PretrainedTreeFeaturizationEstimator.Options
            {
                InputColumnName = "Features", ModelParameters = model.ModelParameters, TreesColumnName = null, PathsColumnName = null, LeavesColumnName = "Ref",
            }).Fit(test).Transform(test);
            var reference = GbdtTestData.ReadVectors<float>(builtIn, "Ref");
            var transformed = model.Transform(test);
            var keys = GbdtTestData.ReadVectors<uint>(transformed, "LeafIds");
            var indicators = GbdtTestData.ReadVectors<float>(transformed, "LeafIndicators");
            // The saved chain of built-in transformers (ONNX tree ensemble) gives the same columns.
            var saved = model.SavedTransformer.Transform(test);
            Assert.Equal(keys, GbdtTestData.ReadVectors<uint>(saved, "LeafIds"));
            Assert.Equal(indicators, GbdtTestData.ReadVectors<float>(saved, "LeafIndicators"));
            Assert.Equal(saved.Schema["LeafIds"].Type, transformed.Schema["LeafIds"].Type);
            Assert.Equal(saved.Schema["LeafIndicators"].Type, transformed.Schema["LeafIndicators"].Type);
            var batch = model.EncodeToArray(test, out int rowCount);
            Assert.Equal(stress.Count, rowCount);
            var leaves = new int[model.Encoder.TreeCount];
            var oneHot = new float[model.Encoder.TotalLeafCount];
            for (int i = 0; i < stress.Count; i++)
            {
                var expected = GbdtTestData.LeavesFromOneHot(reference[i], model.LeafCounts);
                model.Encoder.Encode(stress[i].Features, leaves);
                Assert.Equal(expected, leaves);
                Assert.Equal(expected, batch.Skip(i * leaves.Length).Take(leaves.Length).ToArray());
                Assert.Equal(expected.Select(l => (uint)(l + 1)).ToArray(), keys[i]);
                model.Encoder.ToIndicator(leaves, oneHot);
                Assert.Equal(reference[i], oneHot);
                Assert.Equal(reference[i], indicators[i]);
            }
        }

        [Fact]
        public void FeatureColumnWithAnotherNameEncodesTheSameLeaves()
        {
            // Regression: a feature column not called "Features" (e.g. the simulator's "StatFeatures") used to crash Fit.
            var ml = new MLContext(seed: 3);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(600, F, seed: 8), F);
            var renamed = ml.Transforms.CopyColumns("StatFeatures", "Features").Fit(data).Transform(data);
            using var a = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { NumberOfTrees = 5, NumberOfLeaves = 4, Seed = 1 }).Fit(data);
            using var b = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { FeatureColumnName = "StatFeatures", NumberOfTrees = 5, NumberOfLeaves = 4, Seed = 1 }).Fit(renamed);
            Assert.Equal(a.EncodeToArray(data, out int n1), b.EncodeToArray(renamed, out int n2));
            Assert.Equal(n1, n2);
        }

        [Fact]
        public void BatchEncodingIsTheSameOnOneAndManyThreads()
        {
            var ml = new MLContext(seed: 3);
            using var model = FitSmall(ml, GbdtTestData.Load(ml, GbdtTestData.Rows(800, F, seed: 4), F), indicator: null);
            var rows = GbdtTestData.StressRows(1000, F, seed: 5);
            var features = rows.SelectMany(r => r.Features).ToArray();
            var one = new int[rows.Count * model.Encoder.TreeCount];
            var many = new int[one.Length];
            model.Encoder.EncodeBatch(features, rows.Count, one, maxDegreeOfParallelism: 1);
            model.Encoder.EncodeBatch(features, rows.Count, many, maxDegreeOfParallelism: 4);
            Assert.Equal(one, many);
            var spans = new int[one.Length];
            model.Encoder.EncodeBatch(features.AsSpan(), rows.Count, spans.AsSpan());
            Assert.Equal(one, spans);
            // The one-thread path walks blocks of rows (1000 rows = 7 full blocks + a partial one): every row, including
            // those at block edges, must get the leaves of the row-at-a-time path.
            var single = new int[model.Encoder.TreeCount];
            for (int r = 0; r < rows.Count; r++)
            {
                model.Encoder.Encode(rows[r].Features, single);
                Assert.Equal(single, one.Skip(r * single.Length).Take(single.Length));
            }
        }

        [Fact]
        public void OutputSchemaHasKeyCardinalitySlotNamesAndSizes()
        {
            var ml = new MLContext(seed: 21);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(600, F, seed: 22), F);
            var estimator = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                IndicatorColumnName = "LeafIndicators", NumberOfTrees = 12, NumberOfLeaves = 6, MinimumExampleCountPerLeaf = 5,
            });
            var shape = estimator.GetOutputSchema(ShapeOf(data.Schema));
            var keyShape = shape.Single(c => c.Name == "LeafIds");
            Assert.True(keyShape.IsKey);
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, keyShape.Kind);
            var indShape = shape.Single(c => c.Name == "LeafIndicators");
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, indShape.Kind);
            Assert.Equal(NumberDataViewType.Single, indShape.ItemType);

            using var model = estimator.Fit(data);
            var schema = model.GetOutputSchema(data.Schema);
            var keyType = Assert.IsType<VectorDataViewType>(schema["LeafIds"].Type);
            Assert.Equal(12, keyType.Size);
            var key = Assert.IsType<KeyDataViewType>(keyType.ItemType);
            Assert.Equal((ulong)model.LeafCounts.Max(), key.Count);
            Assert.All(model.LeafCounts, c => Assert.InRange(c, 2, 6));
            var indType = Assert.IsType<VectorDataViewType>(schema["LeafIndicators"].Type);
            Assert.Equal(model.LeafCounts.Sum(), indType.Size);
            Assert.Equal(NumberDataViewType.Single, indType.ItemType);
            var slotNames = default(VBuffer<ReadOnlyMemory<char>>);
            schema["LeafIndicators"].GetSlotNames(ref slotNames);
            var names = slotNames.DenseValues().Select(s => s.ToString()).ToArray();
            Assert.Equal(indType.Size, names.Length);
            Assert.Equal("Tree000Leaf000", names[0]);
            Assert.Equal(names, SlotNames(model.SavedTransformer.GetOutputSchema(data.Schema)["LeafIndicators"]));
            Assert.Equal(names, SlotNames(model.Transform(data).Schema["LeafIndicators"]));
            Assert.Equal($"Tree001Leaf000", names[model.LeafCounts[0]]);
            // Temporary columns are gone; the input columns stay.
            Assert.Null(schema.GetColumnOrNull("__GbdtLeafIndex_LeafIds"));
            Assert.NotNull(schema.GetColumnOrNull("Label"));
            // Every key stays within its own tree's leaf count.
            var keys = GbdtTestData.ReadVectors<uint>(model.Transform(data), "LeafIds");
            foreach (var row in keys)
                for (int t = 0; t < row.Length; t++)
                    Assert.InRange(row[t], 1u, (uint)model.LeafCounts[t]);
        }

        private static string[] SlotNames(DataViewSchema.Column column)
        {
            var names = default(VBuffer<ReadOnlyMemory<char>>);
            column.GetSlotNames(ref names);
            return names.DenseValues().Select(s => s.ToString()).ToArray();
        }

        [Fact]
        public void ParallelCursorsOverTheFastViewGiveTheSameRows()
        {
            var ml = new MLContext(seed: 35);
            var data = ml.Data.Cache(GbdtTestData.Load(ml, GbdtTestData.Rows(2000, F, seed: 36), F));
            using var model = FitSmall(ml, data);
            var view = model.Transform(data);
            var cols = new[] { view.Schema["LeafIds"], view.Schema["LeafIndicators"] };
            var seen = new List<(uint[], float[])>();
            foreach (var cursor in view.GetRowCursorSet(cols, 2))
            {
                using (cursor)
                {
                    var ids = cursor.GetGetter<VBuffer<uint>>(cols[0]);
                    var ind = cursor.GetGetter<VBuffer<float>>(cols[1]);
                    VBuffer<uint> a = default;
                    VBuffer<float> b = default;
                    while (cursor.MoveNext())
                    {
                        ids(ref a);
                        ind(ref b);
                        seen.Add((a.DenseValues().ToArray(), b.DenseValues().ToArray()));
                    }
                }
            }
            Assert.Equal(2000, seen.Count);
            var expected = GbdtTestData.ReadVectors<uint>(model.SavedTransformer.Transform(data), "LeafIds");
            Assert.Equal(expected.Select(k => string.Join(",", k)).OrderBy(k => k), seen.Select(r => string.Join(",", r.Item1)).OrderBy(k => k));
            var leaves = new int[model.Encoder.TreeCount];
            foreach (var (ids, ind) in seen)
            {
                for (int t = 0; t < leaves.Length; t++)
                    leaves[t] = (int)ids[t] - 1;
                var oneHot = new float[model.Encoder.TotalLeafCount];
                model.Encoder.ToIndicator(leaves, oneHot);
                Assert.Equal(oneHot, ind);
            }
        }

        [Fact]
        public void SavedModelLoadsAsBuiltInTransformersAndScoresIdentically()
        {
            var ml = new MLContext(seed: 31);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(700, F, seed: 32, nanRate: 0.1), F);
            using var model = FitSmall(ml, data, GbdtLeafTrainer.LightGbm);
            var test = GbdtTestData.Load(ml, GbdtTestData.StressRows(300, F, seed: 33), F);
            var before = model.Transform(test);
            var path = Path.Combine(Path.GetTempPath(), $"gbdt-roundtrip-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                var fresh = new MLContext(seed: 999);
                var loaded = fresh.Model.Load(path, out var inputSchema);
                Assert.Equal(F, ((VectorDataViewType)inputSchema["Features"].Type).Size);
                // No MLNetRank type anywhere in the loaded model: it is ML.NET's own chain.
                var types = new List<Type>();
                void Collect(ITransformer t)
                {
                    types.Add(t.GetType());
                    if (t is IEnumerable<ITransformer> chain)
                        foreach (var inner in chain)
                            Collect(inner);
                }
                Collect(loaded);
                Assert.DoesNotContain(types, t => t.Assembly == typeof(GbdtLeafEncoder).Assembly);
                Assert.Contains(types, t => t.Name == "OnnxTransformer");
                Assert.Contains(types, t => t.Name == "ValueToKeyMappingTransformer");
                Assert.All(types, t => Assert.StartsWith("Microsoft.ML", t.Assembly.GetName().Name));
                var after = loaded.Transform(fresh.Data.LoadFromEnumerable(GbdtTestData.StressRows(300, F, seed: 33),
                    SchemaFor(fresh)));
                Assert.Equal(GbdtTestData.ReadVectors<uint>(before, "LeafIds"), GbdtTestData.ReadVectors<uint>(after, "LeafIds"));
                Assert.Equal(GbdtTestData.ReadVectors<float>(before, "LeafIndicators"), GbdtTestData.ReadVectors<float>(after, "LeafIndicators"));
                Assert.Equal(before.Schema["LeafIds"].Type, after.Schema["LeafIds"].Type);
                (loaded as IDisposable)?.Dispose();
            }
            finally
            {
                File.Delete(path);
            }
        }

        private static SchemaDefinition SchemaFor(MLContext _)
        {
            var def = SchemaDefinition.Create(typeof(GbdtTestData.Row));
            def[nameof(GbdtTestData.Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, F);
            return def;
        }

        [Fact]
        public void ACursorOverOtherColumnsOnlyDoesNotThrow()
        {
            // ML.NET's tree featurizer throws when none of its outputs is active; the chain must survive a consumer that
            // reads only the input columns.
            var ml = new MLContext(seed: 41);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(300, F, seed: 42), F);
            using var model = FitSmall(ml, data, indicator: null);
            var transformed = model.Transform(data);
            int n = 0;
            using (var cursor = transformed.GetRowCursor(new[] { transformed.Schema["Label"] }))
            {
                var getter = cursor.GetGetter<bool>(transformed.Schema["Label"]);
                bool b = false;
                while (cursor.MoveNext())
                {
                    getter(ref b);
                    n++;
                }
            }
            Assert.Equal(300, n);
            Assert.Equal(300, ml.Data.CreateEnumerable<LabelOnly>(transformed, reuseRowObject: false).Count());
        }

        private sealed class LabelOnly
        {
            public bool Label { get; set; }
        }

        [Fact]
        public void PretrainedFastTreeModelIsEncodedWithoutTraining()
        {
            var ml = new MLContext(seed: 51);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(600, F, seed: 52), F);
            var trained = ml.BinaryClassification.Trainers.FastTree(numberOfLeaves: 5, numberOfTrees: 7, minimumExampleCountPerLeaf: 5).Fit(data);
            var noLabel = ml.Transforms.DropColumns("Label").Fit(data).Transform(data);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(trained.Model.SubModel, indicatorColumnName: "Ind").Fit(noLabel);
            Assert.Same(trained.Model.SubModel, model.ModelParameters);
            Assert.Equal(7, model.Encoder.TreeCount);
            var reference = ml.Transforms.FeaturizeByPretrainTreeEnsemble(new PretrainedTreeFeaturizationEstimator.Options
            {
                InputColumnName = "Features", ModelParameters = trained.Model.SubModel, TreesColumnName = null, PathsColumnName = null, LeavesColumnName = "Ref",
            }).Fit(noLabel).Transform(noLabel);
            Assert.Equal(GbdtTestData.ReadVectors<float>(reference, "Ref"), GbdtTestData.ReadVectors<float>(model.Transform(noLabel), "Ind"));
        }

        [Fact]
        public void SameSeedGivesSameTreesAndLeaves()
        {
            int[] Run(GbdtLeafTrainer trainer, int seed)
            {
                var ml = new MLContext(seed: seed);
                var data = GbdtTestData.Load(ml, GbdtTestData.Rows(600, F, seed: 62), F);
                using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
                {
                    Trainer = trainer, NumberOfTrees = 6, NumberOfLeaves = 8, MinimumExampleCountPerLeaf = 5, TrainingFraction = 0.7,
                }).Fit(data);
                return model.EncodeToArray(data, out _);
            }
            Assert.Equal(Run(GbdtLeafTrainer.FastTree, 61), Run(GbdtLeafTrainer.FastTree, 61));
            Assert.Equal(Run(GbdtLeafTrainer.LightGbm, 61), Run(GbdtLeafTrainer.LightGbm, 61));
            // the seed is used (here by the 70 % training sample): another context seed gives other trees
            Assert.NotEqual(Run(GbdtLeafTrainer.FastTree, 61), Run(GbdtLeafTrainer.FastTree, 62));
            Assert.NotEqual(Run(GbdtLeafTrainer.LightGbm, 61), Run(GbdtLeafTrainer.LightGbm, 62));
        }

        [Fact]
        public void FittingDataAndTrainingFractionChangeWhatTheTreesSee()
        {
            var ml = new MLContext(seed: 71);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(600, F, seed: 72), F);
            var other = GbdtTestData.Load(ml, GbdtTestData.Rows(600, F, seed: 73), F);
            var noLabel = ml.Transforms.DropColumns("Label").Fit(data).Transform(data);
            GbdtLeafEncodingEstimator.Options Opt() => new() { NumberOfTrees = 4, NumberOfLeaves = 6, MinimumExampleCountPerLeaf = 5, NumberOfThreads = 1, Seed = 5 };
            // The trees are fit on FittingData only: the data given to Fit needs no label.
            var o1 = Opt();
            o1.FittingData = other;
            using var onOther = ml.Ranker().Transforms.EncodeGbdtLeaves(o1).Fit(noLabel);
            using var onData = ml.Ranker().Transforms.EncodeGbdtLeaves(Opt()).Fit(data);
            var o3 = Opt();
            o3.TrainingFraction = 0.5;
            using var onHalf = ml.Ranker().Transforms.EncodeGbdtLeaves(o3).Fit(data);
            var t1 = ((FastTreeBinaryModelParameters)onOther.ModelParameters).TrainedTreeEnsemble.Trees[0].NumericalSplitThresholds;
            var t2 = ((FastTreeBinaryModelParameters)onData.ModelParameters).TrainedTreeEnsemble.Trees[0].NumericalSplitThresholds;
            var t3 = ((FastTreeBinaryModelParameters)onHalf.ModelParameters).TrainedTreeEnsemble.Trees[0].NumericalSplitThresholds;
            Assert.NotEqual(t2, t1);
            Assert.NotEqual(t2, t3);
        }

        [Fact]
        public void RegressionObjectiveTrainsOnASingleLabel()
        {
            var ml = new MLContext(seed: 81);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(500, F, seed: 82), F);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
            {
                Objective = GbdtLeafObjective.Regression, LabelColumnName = "Target", ExampleWeightColumnName = "Weight",
                NumberOfTrees = 5, NumberOfLeaves = 4, MinimumExampleCountPerLeaf = 5,
            }).Fit(data);
            Assert.IsType<FastTreeRegressionModelParameters>(model.ModelParameters);
            Assert.Equal(5, model.Encoder.TreeCount);
        }

        [Fact]
        public void SingleLabelAndWeightsTrainTheBinaryObjective()
        {
            // "Target" is a Single logit: > 0 means positive. The same trees come out as with the Boolean label it implies.
            var ml = new MLContext(seed: 85);
            var rows = GbdtTestData.Rows(500, F, seed: 86);
            rows.ForEach(r => r.Label = r.Target > 0);
            var data = GbdtTestData.Load(ml, rows, F);
            GbdtLeafEncodingEstimator.Options Opt(string label) => new()
            {
                LabelColumnName = label, ExampleWeightColumnName = "Weight", NumberOfTrees = 4, NumberOfLeaves = 5,
                MinimumExampleCountPerLeaf = 5, NumberOfThreads = 1, Seed = 3,
            };
            using var fromSingle = ml.Ranker().Transforms.EncodeGbdtLeaves(Opt("Target")).Fit(data);
            using var fromBool = ml.Ranker().Transforms.EncodeGbdtLeaves(Opt("Label")).Fit(data);
            Assert.IsType<FastTreeBinaryModelParameters>(fromSingle.ModelParameters);
            Assert.Equal(fromBool.EncodeToArray(data, out _), fromSingle.EncodeToArray(data, out _));
        }

        // ---- bad input ----

        [Fact]
        public void MissingOrMistypedColumnsFailWithTheColumnName()
        {
            var ml = new MLContext(seed: 91);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(100, F, seed: 92), F);
            var shape = ShapeOf(data.Schema);
            var missing = ml.Ranker().Transforms.EncodeGbdtLeaves(featureColumnName: "Nope");
            var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => missing.GetOutputSchema(shape));
            Assert.Contains("'Nope'", e1.Message);
            Assert.Contains("'Nope'", Assert.Throws<ArgumentOutOfRangeException>(() => missing.Fit(data)).Message);

            var wrongFeature = ml.Ranker().Transforms.EncodeGbdtLeaves(featureColumnName: "Weight");
            var e2 = Assert.Throws<ArgumentOutOfRangeException>(() => wrongFeature.GetOutputSchema(shape));
            Assert.Contains("'Weight'", e2.Message);
            Assert.Contains("vector of Single", e2.Message);

            var wrongLabel = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { Objective = GbdtLeafObjective.Regression, LabelColumnName = "Label" });
            var e3 = Assert.Throws<ArgumentOutOfRangeException>(() => wrongLabel.GetOutputSchema(shape));
            Assert.Contains("'Label'", e3.Message);
            Assert.Contains("Boolean", e3.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => wrongLabel.Fit(data));

            // A fitted transformer refuses data whose feature vector has another size.
            using var model = FitSmall(ml, GbdtTestData.Load(ml, GbdtTestData.Rows(300, F, seed: 93), F), indicator: null, trees: 2);
            var narrow = GbdtTestData.Load(ml, GbdtTestData.Rows(10, F - 1, seed: 94), F - 1);
            var e4 = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(narrow));
            Assert.Contains($"vector of {F} Single", e4.Message);
        }

        [Fact]
        public void EmptyDataSingleClassAndInfiniteFeaturesFailClearly()
        {
            var ml = new MLContext(seed: 101);
            var est = ml.Ranker().Transforms.EncodeGbdtLeaves(numberOfTrees: 2, numberOfLeaves: 4);
            var empty = GbdtTestData.Load(ml, new List<GbdtTestData.Row>(), F);
            Assert.Contains("No rows", Assert.Throws<InvalidOperationException>(() => est.Fit(empty)).Message);

            var oneClass = GbdtTestData.Rows(50, F, seed: 102);
            oneClass.ForEach(r => r.Label = true);
            var e = Assert.Throws<InvalidOperationException>(() => est.Fit(GbdtTestData.Load(ml, oneClass, F)));
            Assert.Contains("single class", e.Message);
            Assert.Contains("'Label'", e.Message);

            var inf = GbdtTestData.Rows(50, F, seed: 103);
            inf[17].Features[2] = float.PositiveInfinity;
            var e2 = Assert.Throws<InvalidOperationException>(() => est.Fit(GbdtTestData.Load(ml, inf, F)));
            Assert.Contains("infinite", e2.Message);
            Assert.Contains("row 17", e2.Message);

            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { TrainingFraction = 0 }));
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { NumberOfLeaves = 1 }));
            // An undefined trainer or objective is an options error at construction, not a surprise at Fit.
            var unknown = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { Trainer = (GbdtLeafTrainer)7 }));
            Assert.Contains("Unknown trainer 7", unknown.Message);
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { Objective = (GbdtLeafObjective)9 }));
        }

        [Fact]
        public void NaNFeaturesAreAcceptedForFittingAsMissing()
        {
            var ml = new MLContext(seed: 111);
            var rows = GbdtTestData.Rows(400, F, seed: 112, nanRate: 0.3);
            using var model = FitSmall(ml, GbdtTestData.Load(ml, rows, F), indicator: null, trees: 3);
            var leaves = new int[3];
            model.Encoder.Encode(Enumerable.Repeat(float.NaN, F).ToArray(), leaves);
            Assert.All(leaves.Select((l, t) => (l, t)), p => Assert.InRange(p.l, 0, model.LeafCounts[p.t] - 1));
        }
    }
}
