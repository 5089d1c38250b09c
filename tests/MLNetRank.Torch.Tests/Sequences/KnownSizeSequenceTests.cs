using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Serving;
using MLNetRank.Simulation;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.Sequences
{
    /// <summary>
    /// A sequence feature on a known-size vector column (e.g. <c>[VectorType(20)] uint[]</c>, a history padded to a fixed
    /// length) scores through ML.NET's OnnxTransformer and the request scorer as TorchSharp does. Before the fix the graph
    /// declared every sequence's length symbolic, and ML.NET shaped a known-size column's tensor from it: Transform failed
    /// with "Length of memory (20) must match product of dimensions (0)".
    /// </summary>
    [Collection("TorchSharp")]
    public class KnownSizeSequenceTests
    {
        private const int HistoryLength = 20;

        private sealed class Row
        {
            public uint RequestId { get; set; }
            [VectorType(25)] public float[] StatFeatures { get; set; } = new float[25];
            public uint LiveId { get; set; }
            public uint[] LiveItemsOnSale { get; set; } = Array.Empty<uint>();
            public uint[] LiveCoreItems { get; set; } = Array.Empty<uint>();
            [VectorType(HistoryLength)] public uint[] UserItemSeq { get; set; } = new uint[HistoryLength];
            public uint[] UserLiveSeq { get; set; } = Array.Empty<uint>();
            public bool Click { get; set; }
            public bool Buy { get; set; }
        }

        /// <summary>The simulator's rows with the user's clicked items as a known-size column: the last 20 ids, left-padded with 0.</summary>
        private static IDataView KnownSize(MLContext ml, IDataView impressions)
        {
            var rows = ml.Data.CreateEnumerable<Row>(impressions, reuseRowObject: false, ignoreMissingColumns: true).Select(r =>
            {
                var last = r.UserItemSeq.Skip(Math.Max(0, r.UserItemSeq.Length - HistoryLength)).ToArray();
                r.UserItemSeq = new uint[HistoryLength - last.Length].Concat(last).ToArray();
                return r;
            }).ToList();
            return ml.Data.LoadFromEnumerable(rows);
        }

        [Theory]
        [InlineData("mean")]
        [InlineData("transformer")]
        [InlineData("native-transformer")]
        public void KnownSizeHistory_ScoresThroughMLNetAndTheRequestScorerAsTorchSharp(string layer)
        {
            var ml = new MLContext(seed: 1);
            var data = KnownSize(ml, new LiveStreamSimulator(SequenceNetworkTests.SimOptions(150)).GetImpressions(ml));
            var itemType = (VectorDataViewType)data.Schema[ImpressionColumns.UserItemSeq].Type;
            Assert.Equal(HistoryLength, itemType.Size);
            var options = layer == "native-transformer" ? NativeTransformerServingTests.Options() : SequenceNetworkTests.Options(layer);
            using var model = ml.Ranker().Trainers.MultiTask(options).Fit(data);
            var torch = model.TorchOutputs(data);
            var scored = model.Transform(data);
            var path = Path.Combine(Path.GetTempPath(), $"seq-known-{layer}-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                using var scorer = RequestScorer.Open(path);
                // d = 16: the request scorer evaluates the transformer natively, reading the known-size column's rows
                Assert.Equal(layer == "native-transformer", scorer.NativeBlocks.Count > 0);
                var batched = scorer.ScoreAll(data, batchSize: 8);
                for (int k = 0; k < model.OutputColumnNames.Count; k++)
                {
                    var name = model.OutputColumnNames[k];
                    var onnx = SequenceNetworkTests.Column(scored, name);
                    var b = (float[])batched[name];
                    Assert.Equal(torch[k].Length, onnx.Length);
                    Assert.Equal(torch[k].Length, b.Length);
                    for (int i = 0; i < onnx.Length; i++)
                    {
                        double tol = 1e-5 * Math.Max(1, Math.Abs(torch[k][i]));
                        Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= tol, $"{layer} {name} row {i}: ML.NET {onnx[i]} vs TorchSharp {torch[k][i]}");
                        Assert.True(Math.Abs(b[i] - torch[k][i]) <= tol, $"{layer} {name} row {i}: request scorer {b[i]} vs TorchSharp {torch[k][i]}");
                    }
                }
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
