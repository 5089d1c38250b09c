using System;
using System.Collections.Generic;
using Microsoft.ML;
using MLNetRank.Common;
using Xunit;

namespace MLNetRank.Tests.Common
{
    public class RankerLogTests
    {
        private sealed class ListProgress : IProgress<int>
        {
            public List<int> Values { get; } = new();
            public void Report(int value) => Values.Add(value);
        }

        [Fact]
        public void MessagesReachMLContextLogAndProgress()
        {
            var ml = new MLContext(seed: 1);
            var seen = new List<string>();
            ml.Log += (_, e) => { if (e.Source == "MLNetRank.Test") seen.Add($"{e.Kind}:{e.RawMessage}"); };
            var progress = new ListProgress();
            using (var log = new RankerLog(ml, "Test"))
            {
                log.Progress(progress, 3, "epoch 3");
                log.Warning("careful");
            }
            Assert.Contains("Info:epoch 3", seen);
            Assert.Contains("Warning:careful", seen);
            Assert.Equal(new[] { 3 }, progress.Values);
        }
    }
}
