using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit;
using Xunit.Abstractions;

namespace MLNetRank.Simulation.Tests.Simulation
{
    public class PipelineInteropTests
    {
        private readonly ITestOutputHelper _out;

        public PipelineInteropTests(ITestOutputHelper output) => _out = output;

        private sealed class ImpressionRow
        {
            public uint RequestId { get; set; }
            public uint LiveId { get; set; }
            public int Position { get; set; }
            [VectorType(25)]
            public float[] StatFeatures { get; set; } = Array.Empty<float>();
            public uint[] UserItemSeq { get; set; } = Array.Empty<uint>();
            public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
            public bool Click { get; set; }
            public float StayTime { get; set; }
            public float TrueRelevance { get; set; }
        }

        [Fact]
        public void Impressions_WorkWithMlNetOperations()
        {
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(SimHelpers.Small(requests: 200));
            var view = sim.GetImpressions(ml);
            var rows = ml.Data.CreateEnumerable<ImpressionRow>(view, reuseRowObject: false).ToList();
            Assert.Equal(1600, rows.Count);
            Assert.All(rows, r => Assert.NotEmpty(r.UserItemSeq));
            Assert.Equal(rows.Count(r => r.Click), rows.Count(r => r.StayTime > 0));
            // caching, filtering, taking, shuffling through a pool
            var cached = ml.Data.Cache(view);
            Assert.Equal(1600, cached.GetColumn<uint>("LiveId").Count());
            var top = ml.Data.FilterRowsByColumn(view, "TrueExamination", lowerBound: 0.99); // position 1 (examination 1)
            var topPositions = top.GetColumn<int>("Position").ToArray();
            Assert.Equal(200, topPositions.Length);
            Assert.All(topPositions, p => Assert.Equal(1, p));
            Assert.Equal(80, ml.Data.TakeRows(view, 80).GetColumn<float>("Time").Count());
            var shuffled = ml.Data.ShuffleRows(view, seed: 3);
            Assert.Equal(rows.Sum(r => (double)r.LiveId), shuffled.GetColumn<uint>("LiveId").Sum(x => (double)x));
        }

        [Fact]
        [Trait("Category", "Quality")]
        public void Impressions_TrainAnMlNetRanker_ThatBeatsRandomOrder()
        {
            var ml = new MLContext(1);
            var sim = new LiveStreamSimulator(SimHelpers.Small(requests: 3000));
            var train = sim.GetImpressions(ml, 0, 2400);
            var test = sim.GetImpressions(ml, 2400, 600);
            var pipe = ml.Transforms.Conversion.MapValueToKey("GroupId", "RequestId")
                .Append(ml.Transforms.CopyColumns("Label", "TrueRelevance"))
                .Append(ml.Ranking.Trainers.FastTree(labelColumnName: "Label", featureColumnName: "StatFeatures", rowGroupColumnName: "GroupId", numberOfTrees: 30, numberOfLeaves: 8));
            var model = pipe.Fit(train);
            var scored = model.Transform(test);
            double ndcgModel = ml.Ranking.Evaluate(scored, "Label", "GroupId").NormalizedDiscountedCumulativeGains[2];
            // random order baseline: score = a hash of the live id (independent of relevance)
            var randomScored = ml.Transforms.Conversion.MapValueToKey("GroupId", "RequestId")
                .Append(ml.Transforms.CopyColumns("Label", "TrueRelevance"))
                .Append(ml.Transforms.Conversion.ConvertType("LiveF", "LiveId", DataKind.Single))
                .Append(ml.Transforms.CustomMapping<LiveInput, ScoreOutput>((i, o) => o.Score = (float)((i.LiveF * 2654435761.0) % 1000.0), null))
                .Fit(test).Transform(test);
            double ndcgRandom = ml.Ranking.Evaluate(randomScored, "Label", "GroupId").NormalizedDiscountedCumulativeGains[2];
            _out.WriteLine($"NDCG@3 on TrueRelevance: FastTree on StatFeatures {ndcgModel:0.000}, arbitrary order {ndcgRandom:0.000}");
            Assert.True(ndcgModel > ndcgRandom + 0.1, $"{ndcgModel} vs {ndcgRandom}");
        }

        private sealed class LiveInput
        {
            public float LiveF { get; set; }
        }

        private sealed class ScoreOutput
        {
            public float Score { get; set; }
        }

        [Fact]
        public void TaskCorrelation_Knob_ChangesHowConversionTracksAttraction()
        {
            double Corr(double rho)
            {
                var o = SimHelpers.Small(requests: 400);
                o.ConversionCorrelation = rho;
                var rows = SimHelpers.Read(new LiveStreamSimulator(o).GetImpressions(new MLContext(1)));
                static double Logit(double p) => Math.Log(p / (1 - p));
                return SimHelpers.Pearson(rows.Select(r => Logit(r.TrueAttraction)).ToList(), rows.Select(r => Logit(r.TrueConversion)).ToList());
            }
            double low = Corr(0.0), high = Corr(0.95);
            _out.WriteLine($"corr(logit attraction, logit conversion): rho 0 -> {low:0.000}, rho 0.95 -> {high:0.000}");
            Assert.True(high > low + 0.3, $"{high} vs {low}");
            Assert.InRange(low, -0.25, 0.25);
        }
    }
}
