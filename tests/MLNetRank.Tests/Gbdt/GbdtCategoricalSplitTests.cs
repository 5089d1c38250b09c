using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using MLNetRank.Gbdt;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    [Collection(LightGbmCollection.Name)]
    public class GbdtCategoricalSplitTests
    {
        private sealed class Row
        {
            public string Color { get; set; } = "";
            public float X { get; set; }
            public bool Label { get; set; }
        }

        private static List<Row> Rows(int n, int seed)
        {
            var rng = new Random(seed);
            string[] colors = Enumerable.Range(0, 12).Select(i => "c" + i).ToArray();
            var good = new HashSet<string> { "c1", "c4", "c5", "c9" };
            var rows = new List<Row>();
            for (int i = 0; i < n; i++)
            {
                string c = colors[rng.Next(colors.Length)];
                float x = rng.NextDouble() < 0.1 ? float.NaN : (float)rng.NextDouble();
                double logit = (good.Contains(c) ? 2.0 : -1.5) + (float.IsNaN(x) ? 0.5 : 2 * (x - 0.5));
                rows.Add(new Row { Color = c, X = x, Label = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) });
            }
            return rows;
        }

        [Theory]
        [InlineData(false)]
        [InlineData(true)]
        public void CategoricalSplitsEncodeAsMLNetEvaluatesThem(bool lightGbm)
        {
            var ml = new MLContext(seed: 17);
            var prep = ml.Transforms.Categorical.OneHotEncoding("ColorVec", "Color")
                .Append(ml.Transforms.Concatenate("Features", "X", "ColorVec"));
            var train = ml.Data.LoadFromEnumerable(Rows(3000, 18));
            var prepModel = prep.Fit(train);
            var trainFeatures = prepModel.Transform(train);
            TreeEnsembleModelParameters trees = lightGbm
                ? ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                {
                    UseCategoricalSplit = true, NumberOfIterations = 8, NumberOfLeaves = 6, MinimumExampleCountPerLeaf = 10,
                    MinimumExampleCountPerGroup = 10, Seed = 1, NumberOfThreads = 1, Deterministic = true, Silent = true,
                }).Fit(trainFeatures).Model.SubModel
                : ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
                {
                    CategoricalSplit = true, NumberOfTrees = 8, NumberOfLeaves = 6, MinimumExampleCountPerLeaf = 10, NumberOfThreads = 1,
                }).Fit(trainFeatures).Model.SubModel;
            var treeList = trees is TreeEnsembleModelParametersBasedOnRegressionTree r ? r.TrainedTreeEnsemble.Trees : throw new InvalidOperationException();
            // The models really use categorical splits: otherwise the test would prove nothing new.
            Assert.Contains(treeList, t => Enumerable.Range(0, t.NumberOfNodes).Any(i => t.CategoricalSplitFlags[i]));

            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(trees, indicatorColumnName: "Ind").Fit(trainFeatures);
            var test = prepModel.Transform(ml.Data.LoadFromEnumerable(Rows(600, 19)));
            var reference = ml.Transforms.FeaturizeByPretrainTreeEnsemble(new PretrainedTreeFeaturizationEstimator.Options
            {
                InputColumnName = "Features", ModelParameters = trees, TreesColumnName = null, PathsColumnName = null, LeavesColumnName = "Ref",
            }).Fit(test).Transform(test);
            var expected = GbdtTestData.ReadVectors<float>(reference, "Ref");
            var transformed = model.Transform(test);
            Assert.Equal(expected, GbdtTestData.ReadVectors<float>(transformed, "Ind"));
            var keys = GbdtTestData.ReadVectors<uint>(transformed, "LeafIds");
            var features = GbdtTestData.ReadVectors<float>(test, "Features");
            var leaves = new int[model.Encoder.TreeCount];
            var fromZip = new int[model.Encoder.TreeCount];
            using var zip = new System.IO.MemoryStream();
            ml.Model.Save(model, trainFeatures.Schema, zip);
            zip.Position = 0;
            var saved = Assert.Single(SavedGbdtLeafEncoder.Load(zip)).Encoder;
            var batch = model.EncodeToArray(test, out int n);
            Assert.Equal(expected.Count, n);
            for (int i = 0; i < expected.Count; i++)
            {
                var want = GbdtTestData.LeavesFromOneHot(expected[i], model.LeafCounts);
                model.Encoder.Encode(features[i], leaves);
                Assert.Equal(want, leaves);
                saved.Encode(features[i], fromZip);
                Assert.Equal(want, fromZip);
                Assert.Equal(want, batch.Skip(i * leaves.Length).Take(leaves.Length));
                Assert.Equal(want.Select(l => (uint)(l + 1)), keys[i]);
            }
        }
    }
}
