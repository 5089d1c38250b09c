using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Gbdt;
using Xunit;

namespace MLNetRank.Tests.Gbdt
{
    public class GbdtHousekeepingTests
    {
        private sealed class ListProgress : IProgress<RankerProgress>
        {
            public List<RankerProgress> Values { get; } = new();
            public void Report(RankerProgress value) => Values.Add(value);
        }

        [Fact]
        public void FitReportsProgressToTheLogAndDisposeRemovesTheTemporaryOnnxFile()
        {
            var dir = Path.Combine(Path.GetTempPath(), "mlnetrank-gbdt-tmp-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var ml = new MLContext(seed: 3) { TempFilePath = dir };
                var log = new List<string>();
                ml.Log += (_, e) => { if (e.Source == "MLNetRank.Gbdt") log.Add(e.RawMessage); };
                var progress = new ListProgress();
                var data = GbdtTestData.Load(ml, GbdtTestData.Rows(300, 4, seed: 4), 4);
                var model = ml.Ranker().Transforms.EncodeGbdtLeaves(new GbdtLeafEncodingEstimator.Options
                {
                    NumberOfTrees = 3, NumberOfLeaves = 4, MinimumExampleCountPerLeaf = 5, Progress = progress,
                }).Fit(data);
                Assert.Equal(new[] { "training trees", "building the encoder", "done" }, progress.Values.Select(p => p.Stage));
                Assert.All(progress.Values, p => Assert.Equal("Gbdt", p.Component));
                Assert.All(progress.Values, p => Assert.Contains(p.Message, log));
                Assert.Equal(new double?[] { 0, null, 1 }, progress.Values.Select(p => p.Fraction));
                Assert.Contains(log, m => m.Contains("training 3 FastTree trees of 4 leaves"));
                // The ONNX model file lives in the context's temp folder (the process's MLNetRank-onnx-<pid> folder in it, the
                // one temp-file scheme of the ONNX bridge) while the transformer lives, and it still saves.
                Assert.Single(Directory.GetFiles(Path.Combine(dir, "MLNetRank-onnx-" + Environment.ProcessId)));
                Assert.Single(Directory.GetFiles(dir, "*", SearchOption.AllDirectories));
                using (var zip = new MemoryStream())
                    ml.Model.Save(model, data.Schema, zip);
                model.Dispose();
                Assert.Empty(Directory.GetFileSystemEntries(dir, "*", SearchOption.AllDirectories));
                Assert.Throws<ObjectDisposedException>(() => model.Transform(data));
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }
}
