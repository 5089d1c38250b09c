using System;
using System.IO;
using Microsoft.ML;
using MLNetRank.Onnx;
using MLNetRank.Serving;
using MLNetRank.Torch.MultiTask;
using Xunit;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>
    /// The exported graph evaluated on many rows per ONNX Runtime call (the request scorer's batches) equals TorchSharp:
    /// ML.NET's OnnxTransformer feeds one row per call, so batch-dependent mistakes in the graph (e.g. the experts' mixture,
    /// written as one batched MatMul per gate) would only show here.
    /// </summary>
    [Collection("TorchSharp")]
    public class BatchedExportTests
    {
        [Theory]
        [InlineData(MultiTaskArchitecture.MMoE)]
        [InlineData(MultiTaskArchitecture.Ple)]
        public void BatchedOnnxOutputEqualsTorchSharpOutput(MultiTaskArchitecture arch)
        {
            var ml = new MLContext(seed: 1);
            var data = Fixture.Load(ml, Fixture.Make(300, 1));
            using var model = ml.Ranker().Trainers.MultiTask(Fixture.FullOptions(arch, epochs: 1)).Fit(data);
            var torch = model.TorchOutputs(data);
            var path = Path.Combine(Path.GetTempPath(), $"mtl-batched-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(model, data.Schema, path);
                using var scorer = RequestScorer.Open(path);
                var scored = scorer.ScoreAll(data, batchSize: 64);
                for (int k = 0; k < model.OutputColumnNames.Count; k++)
                {
                    var name = model.OutputColumnNames[k];
                    var onnx = (float[])scored[name];
                    Assert.Equal(torch[k].Length, onnx.Length);
                    for (int i = 0; i < onnx.Length; i++)
                        Assert.True(Math.Abs(onnx[i] - torch[k][i]) <= 1e-5 * Math.Max(1, Math.Abs(torch[k][i])),
                            $"{arch} {name} row {i}: batched ONNX {onnx[i]} vs TorchSharp {torch[k][i]}");
                }
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
