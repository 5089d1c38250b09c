using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Gbdt;
using MLNetRank.Graph;
using MLNetRank.Tests.Gbdt;
using MLNetRank.Tests.Graph;
using Xunit;

namespace MLNetRank.Tests.Common
{
    /// <summary>
    /// Issue 15: scoring data whose input column has another type than in training (a String id where an integer was trained)
    /// fails at the schema check, naming the column and both types — not deep in ML.NET ("Invalid TValue in GetGetter")
    /// when a cursor reaches the column. The multi-task transformer's case is in MLNetRank.Torch.Tests (ReliabilityTests).
    /// </summary>
    public class ScoringSchemaCheckTests
    {
        private sealed class TextUserLiveRow
        {
            public string UserId { get; set; } = "";
            public uint LiveId { get; set; }
        }

        private sealed class UserOnlyRow
        {
            public uint UserId { get; set; }
        }

        [Fact]
        public void Metapath2VecNamesAStringIdWhereItWasTrainedOnIntegers()
        {
            var ml = new MLContext(1);
            var planted = new PlantedGraph(3, 60, 12, 30, 3, 3, 0.9, 1);
            var model = ml.Ranker().Transforms.Metapath2Vec(planted.EdgesView(ml), GraphTestUtil.Small("User-Live-User"),
                new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("LiveEmbedding", "LiveId"))
                .Fit(GraphTestUtil.Rows(ml, (0, 0)));

            // the trained types score
            var good = model.Transform(GraphTestUtil.Rows(ml, (1, 2)));
            Assert.Single(good.GetColumn<float[]>("UserEmbedding"));

            var text = ml.Data.LoadFromEnumerable(new[] { new TextUserLiveRow { UserId = "1", LiveId = 2 } });
            foreach (var call in new Action[] { () => model.Transform(text), () => model.GetOutputSchema(text.Schema), () => model.GetRowToRowMapper(text.Schema) })
            {
                var ex = Assert.Throws<ArgumentOutOfRangeException>(call);
                Assert.Equal("UserId", ex.ParamName);
                Assert.Contains("'UserId'", ex.Message);
                Assert.Contains("String", ex.Message);
                Assert.Contains("UInt32", ex.Message);
            }

            var missing = ml.Data.LoadFromEnumerable(new[] { new UserOnlyRow { UserId = 1 } });
            var ex2 = Assert.Throws<ArgumentOutOfRangeException>(() => model.Transform(missing));
            Assert.Contains("'LiveId'", ex2.Message);
            Assert.Contains("UInt32", ex2.Message);
        }

        private sealed class DoubleFeatures
        {
            [VectorType(4)]
            public double[] Features { get; set; } = new double[4];
        }

        private sealed class TextFeatures
        {
            public string Features { get; set; } = "";
        }

        [Fact]
        public void GbdtLeafEncoderNamesAFeatureColumnOfAnotherTypeThanInTraining()
        {
            var ml = new MLContext(1);
            var data = GbdtTestData.Load(ml, GbdtTestData.Rows(400, 4, 1), 4);
            using var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options { NumberOfTrees = 3, NumberOfLeaves = 4 }).Fit(data);
            Assert.Equal(400, model.Transform(data).GetColumn<uint[]>(model.OutputColumnName).Count());

            var bad = new IDataView[]
            {
                ml.Data.LoadFromEnumerable(new[] { new DoubleFeatures() }),
                ml.Data.LoadFromEnumerable(new[] { new TextFeatures { Features = "1 2 3 4" } }),
                GbdtTestData.Load(ml, GbdtTestData.Rows(3, 5, 1), 5),     // five features where four were trained
            };
            foreach (var view in bad)
                foreach (var call in new Action[] { () => model.Transform(view), () => model.GetOutputSchema(view.Schema), () => model.GetRowToRowMapper(view.Schema) })
                {
                    var ex = Assert.Throws<ArgumentOutOfRangeException>(call);
                    Assert.Equal("Features", ex.ParamName);
                    Assert.Contains("'Features'", ex.Message);
                    Assert.Contains("4 Single", ex.Message);
                }
        }
    }
}
